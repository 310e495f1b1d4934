# A PMD table shared by a parent and its child, each exiting in turn: the parent first.
hugetlb_pool 2M 4
# A shared hugetlb VMA holding a whole 1 GiB-aligned GiB; the parent faults 2 pages into its
# PMD table.
mmap 1G 1G rw shared,anon,hugetlb,noreserve
touch 1G 4M w 2M
fork
# fork does not copy a shared hugetlb VMA; the child's first fault finds the parent's PMD
# table (huge_pmd_share) and hangs it under its own PUD entry: its VmPTE is 8 kB (PUD + the
# shared PMD), its HugetlbPages 0 (it faulted nothing in: the page was there).
child touch 1G 4K r
child nop
# expect: D C VmSize=1048576 VmRSS=0 RssAnon=0 RssFile=0 RssShmem=0 VmPTE=8
# expect: D C HugetlbPages=0
exit
# The parent's unmap finds the table shared: huge_pmd_unshare drops its PUD entry (the child
# keeps the table and both pages) instead of clearing leaves, and flushes before i_mmap_rwsem
# is dropped; so free_pgtables has only the PUD table to free, and no page is released.
# expect: X P unmap_vmas vmas=1 ptes=0 hugetlb=0
# expect: X P unmap_single_vma vma=0x40000000-0x80000000 branch=hugetlb uprobe_munmap=1 ptes=0 hugetlb=0 unshared=1
# expect: X P free_pgtables pte=0 pmd=0 pud=1
# Two flushes: the unshare's (before the lock goes), and the final one.
# expect: X P tlb_finish_mmu flushes=2 pages_freed=0 pages_released=0
# expect: X P check_mm ok=1
# The child now has the table to itself: both pages are mapped once.
child pagemap 1G 4M
child_exit
# The child's unmap clears the 2 leaves; free_pgtables frees the PMD table and the PUD table.
# expect: X C unmap_single_vma vma=0x40000000-0x80000000 branch=hugetlb uprobe_munmap=1 ptes=0 hugetlb=2 unshared=0
# expect: X C free_pgtables pte=0 pmd=1 pud=1
# The pages stay in the page cache until the inode goes with the child's fput (remove_vma).
# expect: X C tlb_finish_mmu flushes=1 pages_freed=0 pages_released=2
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=4 free=4 resv=0 surp=0
census
# expect: K P census frames_pgtable=0 frames_hugetlb=2048
