# A ring cannot grow (VM_DONTEXPAND): mremap to a larger size is EFAULT, moved or in place. It
# can move at its own size (the entries move with their tables), and shrinking would split it.
perf_ring ev 8
mmap 0 36K rw shared ev
mremap 0 36K 72K maymove fixed=1G
mremap 0 36K 72K
mremap 0 36K 36K maymove fixed=1G
dump
pagemap 1G 36K
mremap 1G 36K 16K
dump
