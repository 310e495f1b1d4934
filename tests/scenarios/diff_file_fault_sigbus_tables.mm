# Found by exitmm diff: a file fault allocates its PTE table only when it maps a page, so a
# SIGBUS leaves the PUD and PMD tables but no PTE table; do_cow_fault prepares the anon_vma
# first, so fork then copies the empty upper levels.
shmfile g 4096
mmap 16392K 860K rw private g 4096
touch 16512K 60K w 4096
fork
child nop
child_exit
memfd f 4096 fill
mmap 0 6M r private f 4096
touch 2068K 32K r 4096
