# 10,240 pages overflow the gather: 8 local slots + 19 batches of 510 = 9,698 pages, then a
# forced flush and free, then the rest, then the final flush.
mmap 0 40M rw private,anon
touch 0 40M w
exit
# expect: X P unmap_vmas vmas=1 ptes=10240 anon=10240
# 40 MiB = 20 PTE tables under one PMD table.
# expect: X P free_pgtables pte=20 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=2 pages_freed=10240 batches=19 forced=1
