# A thread on CPU 2 reads memory, then exits: CPU 2 runs a kernel thread with the mm still
# loaded (lazy TLB). When the process exits and its page tables go, the flush must reach the
# lazy CPU too, or its walk caches would still lead into freed tables.
# Catches: skip-lazy-flush, free-table-before-flush, free-before-flush.
mmap 0 4M rw private,anon
touch 0 4M w 64K
thread helper 2
background helper 0 4M r
nop
nop
nop
thread_exit helper
exit
# expect: X P tlb_finish_mmu cpus=2
# expect: X P check_mm ok=1
