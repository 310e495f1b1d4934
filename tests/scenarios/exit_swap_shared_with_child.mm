# Swapped-out pages shared with a forked child that exits first. All 16 pages are swapped out;
# fork duplicates the 16 swap entries (each slot's count goes to 2, and neither side's entry is
# exclusive any more).
swapon 64M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 64K pageout
fork
child dump
# expect: D C VmSize=64 VmRSS=0 RssAnon=0 RssFile=0 RssShmem=0 VmPTE=12 VmLck=0 VmPin=0 VmData=64 VmStk=0 VmExe=0 VmLib=0 VmSwap=64
# The child reads page 0. Its slot is shared (count 2), so the swap-in goes through the swap
# cache with the VMA's first readahead window: 8 pages centred 3 before the fault, cut at the
# VMA's start, so pages 0-4 are read into the cache. Page 0 is mapped read-only (not exclusive,
# the cache holds it too) and its slot keeps the cached folio; the slot's count drops to 1.
child touch 0 4K r
# expect: D C VmSize=64 VmRSS=4 RssAnon=4 RssFile=0 RssShmem=0 VmPTE=12 VmLck=0 VmPin=0 VmData=64 VmStk=0 VmExe=0 VmLib=0 VmSwap=60
census
# 1 folio mapped (anonymous now), 4 read ahead and not mapped (no rmap yet): 5 in the cache.
# expect: K P census frames_anon=1 frames_pgtable=8 swap_slots=16 frames_swapcache=5
child_exit
# The child's zap: its one present page goes into the gather and is only released (the swap
# cache still holds it: the parent's entry names its slot); each of its 15 swap entries takes
# its slot's count from 2 to 1, which frees nothing.
# expect: X C unmap_vmas vmas=1 ptes=1 anon=1 file=0 shmem=0 swap=15 zero=0 pfn=0 hugetlb=0
# expect: X C tlb_finish_mmu flushes=1 pages_freed=0 pages_released=1
# expect: X C check_mm ok=1
census
# expect: K P census frames_anon=1 frames_pgtable=4 swap_slots=16 frames_swapcache=5
exit
# Now each of the parent's 16 swap entries is its slot's last reference: free_swap_and_cache
# frees every slot, and the 5 cached folios (mapped nowhere) leave the cache and are freed
# with them, outside the gather, which gets nothing.
# expect: X P unmap_vmas vmas=1 ptes=0 anon=0 file=0 shmem=0 swap=16 zero=0 pfn=0 hugetlb=0
# expect: X P free_pgtables pte=1 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=1 pages_freed=0 pages_released=0
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pgtable=0 swap_slots=0 frames_swapcache=0
