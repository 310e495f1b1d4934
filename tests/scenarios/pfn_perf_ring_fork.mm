# fork copies the ring's VMA and, since it is VM_PFNMAP, its raw entries (copy_page_range
# copies a PFN map's page tables): the child sees the same pages present, with no RSS; the
# child's own ring is its own.
perf_ring ev 8
mmap 0 36K rw shared ev
fork
child dump
child pagemap 0 36K
child perf_ring ev2 8
child mmap 1M 36K rw shared ev2
child dump
child pagemap 1M 36K
child_exit
pagemap 0 36K
