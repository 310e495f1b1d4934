# A process with a heap and a grown stack exits. brk makes the [heap] VMA (VM_ACCOUNT, data);
# the stack is a growsdown mapping that a touch below it grew by 8 pages (charged as it grew).
brk_start 1G
brk 1G+64K
touch 1G 64K w
mmap 2G 64K rw private,anon,growsdown
touch 2047M+992K 32K w grow
touch 2G 64K w
dump
commit
# 40 anonymous pages in three PTE tables (the heap's, and the stack's two on either side of
# 2G), under two PMD tables (1G-2G and 2G-3G) and the arena's one PUD table; both VMAs are
# accounted, 16 + 24 pages.
exit
# expect: X P unmap_vmas vmas=2 ptes=40 anon=40 file=0 shmem=0 swap=0 zero=0
# expect: X P free_pgtables pte=3 pmd=2 pud=1
# expect: X P tlb_finish_mmu pages_freed=40
# expect: X P remove_vma vmas=2
# expect: X P vm_unacct_memory pages=40
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pgtable=0 Committed_AS=0
