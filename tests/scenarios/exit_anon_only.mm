# Exit of a process with private anonymous memory and zero-page PTEs.
mmap 0 4M rw private,anon
# 1024 written pages: PTE tables for [0,2M) and [2M,4M), one PMD table, one PUD table.
touch 0 4M w
mmap 1G 64K r private,anon
# 16 reads map the zero page: not RSS, nothing to free; a PTE table and a 2nd PMD table (2nd GiB).
touch 1G 64K r
exit
# Every present PTE is cleared: 1024 anon + 16 zero-page PTEs.
# expect: X P unmap_vmas vmas=2 ptes=1040 anon=1024 file=0 shmem=0 swap=0 zero=16
# free_pgd_range(0, top): every table goes: 3 PTE, 2 PMD, 1 PUD.
# expect: X P free_pgtables pte=3 pmd=2 pud=1
# 1024 pages fit in the gather (8 + 19 x 510): no forced flush, one full-mm flush at the end;
# 1016 pages past the 8 local slots need two batch pages (510 + 506).
# expect: X P tlb_finish_mmu flushes=1 pages_freed=1024 batches=2 forced=0
# expect: X P remove_vma vmas=2
# Only the writable private mapping was charged (VM_ACCOUNT): 1024 pages.
# expect: X P vm_unacct_memory pages=1024
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
