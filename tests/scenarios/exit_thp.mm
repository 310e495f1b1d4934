# Exit with THPs. Two written 2 MiB ranges are THPs (one order-9 page each, PMD-mapped), a
# read one maps the huge zero page; each PMD has a PTE table deposited beside it, so VmPTE is
# the PUD and PMD tables plus three deposits.
mmap 0 6M rw private,anon
madvise 0 6M hugepage
thp on
touch 0 4M w 2M
touch 4M 4K r
# expect: D P VmSize=6144 VmRSS=4096 RssAnon=4096 RssFile=0 RssShmem=0 VmPTE=20
fork
# The child's copy_huge_pmd: each PMD shared (write-protected), a deposit of its own for each.
child dump
# expect: D C VmSize=6144 VmRSS=4096 RssAnon=4096 RssFile=0 RssShmem=0 VmPTE=20
child_exit
# The child's zap meets three PMD leaves whose whole 2 MiB it unmaps: zap_huge_pmd clears each
# and frees its deposited table at once (free_pgtables then finds only the PMD and PUD
# tables). Each THP is one entry of the gather, 512 pages whose references it drops; the
# parent still maps them, so none is freed. The huge zero page is only unmapped.
# expect: X C unmap_vmas vmas=1 ptes=0 anon=1024 file=0 shmem=0 swap=0 zero=0 pfn=0 hugetlb=0
# expect: X C unmap_single_vma vma=0-0x600000 branch=page_range uprobe_munmap=0 untrack_pfn=0 ptes=0 anon=1024 huge_pmd=3
# expect: X C free_pgtables pte=0 pmd=1 pud=1
# expect: X C tlb_finish_mmu flushes=1 pages_freed=0 pages_released=1024
# expect: X C check_mm ok=1
exit
# The parent's exit: the same walk, and now the THPs' last references go: 1024 pages freed.
# expect: X P unmap_vmas vmas=1 ptes=0 anon=1024 file=0 shmem=0 swap=0 zero=0 pfn=0 hugetlb=0
# expect: X P free_pgtables pte=0 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=1 pages_freed=1024 pages_released=1024
# expect: X P check_mm ok=1
census
# The huge zero page stays (only its shrinker frees it) and is not counted.
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
