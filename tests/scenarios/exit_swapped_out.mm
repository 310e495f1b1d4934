# Exit with pages swapped out. MADV_PAGEOUT of 12 of the 16 pages gave each a slot on the
# device (its swap entry in the PTE, exclusive) and freed the page after the synchronous write:
# RssAnon falls by 48 kB and VmSwap rises by as much; the swap cache holds nothing.
swapon 64M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 48K pageout
# expect: D P VmSize=64 VmRSS=16 RssAnon=16 RssFile=0 RssShmem=0 VmPTE=12 VmLck=0 VmPin=0 VmData=64 VmStk=0 VmExe=0 VmLib=0 VmSwap=48
pagemap 0 64K
# expect: G P 0 ssssssssssssAAAA
census
# The PGD, PUD, PMD and PTE tables; 4 resident pages; 12 slots in use.
# expect: K P census frames_anon=4 frames_pagecache=0 frames_pgtable=4 swap_slots=12 frames_swapcache=0
exit
# zap_pte_range meets 4 present PTEs (into the gather, freed after the flush) and 12 swap
# entries: each is MM_SWAPENTS - 1 and free_swap_and_cache, which frees the slot (no other PTE
# names it, nothing is cached); a swap entry was never in a TLB, so it adds nothing to the
# gather. check_mm finds MM_SWAPENTS back at 0.
# expect: X P unmap_vmas vmas=1 ptes=4 anon=4 file=0 shmem=0 swap=12 zero=0 pfn=0 hugetlb=0
# expect: X P unmap_single_vma vma=0-0x10000 branch=page_range uprobe_munmap=0 untrack_pfn=0 ptes=4 anon=4 swap=12
# expect: X P free_pgtables pte=1 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=1 pages_freed=4 pages_released=4
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pgtable=0 swap_slots=0 frames_swapcache=0
