# Exit of a process with a probed mapping and an XOL area. The code file is all `ret`
# instructions; registering a probe at offset 0x1000 writes int3 into the mapping's page:
# uprobe_write breaks COW with a forced write fault, so the page becomes an anonymous copy in
# the VMA (RssAnon +4 kB) holding the breakpoint.
codefile code 16K
mmap 0 16K rx private code
uprobe code 0x1000
pagemap 0 16K
# expect: G P 0 .A..
# The call hits the breakpoint; the `ret` there is single-stepped out of line, so the first hit
# gets the mm its XOL area: a one-page [uprobes] VMA near the top of the address space (not in
# the arena: D lines only), its page faulted in by the step (RssFile +4 kB). Its page tables
# already exist in any real process (its stack is there), so VmPTE does not move.
call 0x1000
# expect: D P VmSize=20 VmRSS=8 RssAnon=4 RssFile=4 RssShmem=0 VmPTE=12 VmLck=0 VmPin=0 VmData=0 VmStk=0 VmExe=0 VmLib=20
exit
# __mmput clears the uprobe state first: the area's own reference to its page goes, while the
# PTE the step made keeps the page until the zap.
# expect: X P uprobe_clear_state xol_area=1
# expect: X P unmap_vmas vmas=2 ptes=2 anon=1 file=1 shmem=0 swap=0 zero=0 pfn=0
# uprobe_munmap is called for the file VMA and returns at once: mm_users is 0.
# expect: X P unmap_single_vma vma=0-0x4000 branch=page_range uprobe_munmap=1 untrack_pfn=0 ptes=1 anon=1 file=0
# expect: X P unmap_single_vma vma=0x6fffffffe000-0x6ffffffff000 branch=page_range uprobe_munmap=0 untrack_pfn=0 ptes=1 anon=0 file=1
# The arena's tables and the ones at the top: a PTE, PMD and PUD table each.
# expect: X P free_pgtables pte=2 pmd=2 pud=2
# The anonymous copy and the XOL page: the gather drops the last reference of both.
# expect: X P tlb_finish_mmu flushes=1 pages_freed=2 pages_released=2 forced=0
# expect: X P remove_vma vmas=2
# expect: X P check_mm ok=1
census
# The descriptor went with the files, but the probe still holds the code file (as its tracefs
# event holds the path): its 4 cached pages stay until the probe is removed.
# expect: K P census frames_anon=0 frames_pagecache=4 frames_pgtable=0 frames_hugetlb=0 frames_perf=0
