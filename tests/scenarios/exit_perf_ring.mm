# Exit with a perf ring buffer mapped and its event still open. The ring's 1 + 8 pages belong
# to perf: mmap mapped them all at once as raw PFNs (VM_PFNMAP), so no page of them is in RSS,
# but their page tables are in VmPTE.
perf_ring ev 8
mmap 0 36K rw shared ev
# expect: D P VmSize=36 VmRSS=0 RssAnon=0 RssFile=0 RssShmem=0 VmPTE=12 VmLck=0 VmPin=0
# The user page (offset 0) may be written (perf_mmap_pfn_mkwrite); a data page may not.
touch 0 4K w
touch 8K 4K w
# expect: R P sigbus_at=0x2000
pagemap 0 36K
# expect: G P 0 ppppppppp
census
# The PGD, and the PUD, PMD and PTE tables of the ring: 4 table frames; 9 ring pages.
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=4 frames_hugetlb=0 frames_perf=9
exit
# The zap clears 9 raw PFN entries: vm_normal_page() is NULL for each, so nothing is counted
# down and nothing goes into the gather. untrack_pfn is called (a VM_PFNMAP VMA) but finds no
# VM_PAT: map_range remapped one page at a time, never the whole VMA, and RAM is never
# reserved anyway. uprobe_munmap is called too (the VMA has a file, the event's anon inode).
# expect: X P unmap_vmas vmas=1 ptes=9 anon=0 file=0 shmem=0 swap=0 zero=0 pfn=9 hugetlb=0
# expect: X P unmap_single_vma vma=0-0x9000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=9 anon=0 pfn=9 pat_freed=0
# expect: X P free_pgtables pte=1 pmd=1 pud=1
# One flush at the end; the gather holds no page, so it frees none.
# expect: X P tlb_finish_mmu flushes=1 pages_freed=0 pages_released=0 forced=0
# The ring's pages outlive the zap and the flush: the VMA's close (perf_mmap_close, the
# buffer's last mapping) frees them in remove_vma.
# expect: X P remove_vma vmas=1 perf_pages_freed=9
# The descriptor goes with the files; the event is released then (no pages left to free).
# expect: X P exit_files files=1
# expect: X P exit_task_work files_released=1 perf_pages_freed=0
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 frames_hugetlb=0 frames_perf=0
