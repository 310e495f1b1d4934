# Exit with three device regions mapped, each reserved once with x86 PAT. The device memory
# lies above the model's 16 GiB of RAM; each mmap is one remap_pfn_range of the whole VMA, so
# track_pfn_remap reserves the range (VM_PAT, 5.10) with the driver's type. The model's MTRRs
# leave memory above RAM uncached, so a write-back request gets UC- (pat_x_mtrr_type).
iomap bar 64K wc
iomap fb 2M uc
iomap rom 4K wb
mmap 0 64K rw shared bar
mmap 2M 2M rw shared fb
mmap 8M 4K r shared rom
pat
# expect: K P pat [mem 0x0000000400000000-0x0000000400010000] write-combining
# expect: K P pat [mem 0x0000000400200000-0x0000000400400000] uncached-minus
# expect: K P pat [mem 0x0000000400400000-0x0000000400401000] uncached-minus
# Every entry is present from mmap on: no RSS, 16 + 512 + 1 raw PFNs, their tables in VmPTE.
# expect: D P VmSize=2116 VmRSS=0 RssAnon=0 RssFile=0 RssShmem=0 VmPTE=20
pagemap 0 64K
# expect: G P 0 pppppppppppppppp
exit
# untrack_pfn runs for each VMA before its zap: it finds the physical address of vm_start
# through the page table (follow_phys) and frees a reservation of the VMA's size: an exact
# match each time.
# expect: X P unmap_vmas vmas=3 ptes=529 anon=0 file=0 shmem=0 swap=0 zero=0 pfn=529
# expect: X P unmap_single_vma vma=0-0x10000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=16 pfn=16 pat_freed=1
# expect: X P unmap_single_vma vma=0x200000-0x400000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=512 pfn=512 pat_freed=1
# expect: X P unmap_single_vma vma=0x800000-0x801000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=1 pfn=1 pat_freed=1
# [0, 2M), [2M, 4M), [8M, 10M): three PTE tables, one PMD and one PUD table.
# expect: X P free_pgtables pte=3 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=1 pages_freed=0 pages_released=0
# expect: X P remove_vma vmas=3 perf_pages_freed=0 pat_untracked=0
# expect: X P check_mm ok=1
pat
# Every reservation was released, once: the memtype list is empty.
# expect-no: K P pat
