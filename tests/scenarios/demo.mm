# exitmm demo: how Linux tears down a process's memory when the process exits.
#
# This is a script of operations, run on exitmm's model of the kernel. Each operation prints a
# line: its script line number, the process it ran in (P the parent, C the child), the op, and
# ok or the errno it got; then, in brackets, what /proc/PID/status would show for that process
# (sizes in kB; VmPTE is the page tables). An exit prints the kernel's teardown as a call tree,
# one line per kernel function in the order Linux 5.10 runs it (the seed: do_exit -> exit_mm ->
# mmput -> __mmput -> exit_mmap), with what each one did. The figures are not typed in: the
# model computes them from real x86-64 page tables, per-page reference counts and a buddy
# allocator, and checks every counter against those structures after every operation.
#
# A swap device for the run (phase 7 pages memory out to it); it must come before any fork.
swapon 64M
#
# Phase 1 - CPUs and TLBs. The model runs 4 CPUs, each with its own TLB. Two threads of this
# process keep reading and writing memory on CPUs 1 and 2 while the main thread (CPU 0) unmaps
# it: every munmap must shoot down their TLB entries before the pages are freed.
mmap 64M 64K rw private,anon
touch 64M 64K w
mmap 66M 64K rw shared,anon
touch 66M 64K w
thread reader 1
background reader 64M 16K r
thread writer 2
background writer 66M 16K w
nop
nop
munmap 64M 64K
munmap 66M 64K
thread_exit reader
thread_exit writer
#
# Phase 2 - an address space with one of each kind of memory.
# A memfd of 1 MiB, written whole: 256 pages in its page cache (not mapped yet, so not in RSS).
memfd data 1M fill
# 4 MiB of private anonymous memory, written: 1024 anonymous pages. Its page tables: two PTE
# tables (each maps 2 MiB), one PMD table, one PUD table: VmPTE=16 kB.
mmap 0 4M rw private,anon
touch 0 4M w
# Shared anonymous memory is a shmem object: writing 256 kB of it gives 64 shmem pages.
mmap 4M 1M rw shared,anon
touch 4M 256K w
# The memfd, mapped read-only and shared. 16 read faults map 16 cached pages (fault-around
# maps up to 16 neighbours per fault, here the same 16).
mmap 8M 1M r shared data
touch 8M 64K r
# 256 kB locked with mlock: mlock populates it at once, 64 pages, and counts VmLck=256.
mmap 16M 256K rw private,anon
mlock 16M 256K
# 64 kB read but never written: 16 PTEs point at the shared zero page, which is not in RSS; at
# 1 GiB it needs a PMD table and a PTE table of its own (VmPTE 28 -> 36 kB).
mmap 1G 64K r private,anon
touch 1G 64K r
# A third thread reads on CPU 3 and exits: CPU 3 keeps the mm loaded "lazily", so the exit's
# final TLB flush must reach it too.
thread helper 3
background helper 0 4M r
nop
nop
thread_exit helper
dump
# Committed memory (Committed_AS) in pages: the memfd charges per page allocated (256), shared
# anonymous memory its whole size at mmap (256), private writable mappings theirs (VM_ACCOUNT:
# 1024 + 64): 1600 pages, 6400 kB.
commit
# expect: K P Committed_AS=6400
#
# Phase 3 - huge pages (hugetlb) and a page table shared by two processes. A pool of 2 MiB
# huge pages, and a shared mapping of them holding a whole GiB: hugetlb pages are mapped by PMD
# entries (no PTE tables) and are not in RSS (HugetlbPages counts them).
hugetlb_pool 2M 4
mmap 2G 1G rw shared,anon,hugetlb,noreserve
touch 2G 4M w 2M
# fork does not copy a shared hugetlb mapping; the child's first fault finds the parent's PMD
# table for that GiB and shares it (huge_pmd_share): it maps both pages without faulting them.
fork
child touch 2G 4K r
# A thread of the parent on CPU 1 reads the huge pages through its TLB and walk cache.
thread hreader 1
background hreader 2G 4M r
nop
# The parent unmaps the GiB: its PMD table is shared, so huge_pmd_unshare only drops the
# parent's pointer to it, and the TLB is flushed before the file's i_mmap_rwsem is released
# (CVE-2021-4002: `exitmm demo --inject skip-unshare-flush` leaves CPU 1 reading a table the
# child is about to free).
munmap 2G 1G
thread_exit hreader
child_exit
# Read the child's teardown: its hugetlb VMA takes the hugetlb branch of unmap_single_vma,
# under i_mmap_lock_write: the table is the child's alone now, so its 2 huge leaves are
# cleared (hugetlb=2). free_pgtables frees the 3 PTE tables fork copied (the private VMAs at 0
# and 16M), the PMD tables of the first GiB and of the hugetlb GiB, and the PUD table. The 2
# huge pages are only released (pages_released counts them with the 1088 COW-shared anon
# pages): they stay in the page cache of the mapping's file until its last reference goes
# with this VMA.
# expect: X C unmap_single_vma vma=0x80000000-0xc0000000 branch=hugetlb uprobe_munmap=1 ptes=0 hugetlb=2 unshared=0
# expect: X C free_pgtables pte=3 pmd=2 pud=1
# expect: X C tlb_finish_mmu pages_freed=0 pages_released=1090
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=4 free=4 resv=0 surp=0
#
# Phase 4 - a child that is an OOM victim. fork copies the page tables of VMAs that hold
# anonymous pages; those pages are now shared, write-protected, by both processes. The child
# writes 64 kB: 16 copy-on-write faults give it 16 pages of its own.
fork
child touch 0 64K w
# The child is marked an OOM victim (mark_oom_victim): its exit takes exit_mmap's OOM branch.
child oom_victim
child_exit
# Read the child's teardown. Right after mmu_notifier_release, __oom_reap_task_mm reaps what
# the OOM reaper would: private, unlocked VMAs (fork cleared VM_LOCKED in the child, so the
# locked one is reapable): 1024 + 64 = 1088 PTEs, but only the 16 COW copies were the child's
# alone (pages_freed=16); the rest stay mapped by the parent. Then MMF_OOM_SKIP and the
# mmap_write_lock barrier, so that a reaper holding the lock is waited out and no reaper comes
# back. No munlock pass: the child's locked_vm is 0. unmap_vmas then finds no PTEs left: its
# five VMAs each show ptes=0. The shared VMAs (4M, 8M) have no PTE tables in the child at all
# (fork does not copy page tables of shared memory: the child faults them in when it touches
# them). free_pgtables frees the three PTE tables fork copied, one PMD and one PUD table;
# vm_unacct_memory returns the 1088 pages fork charged for the child's private VMAs.
# expect: X C __oom_reap_task_mm ptes=1088 anon=1088 shmem=0 pages_freed=16
# expect: X C unmap_vmas vmas=5 ptes=0
# expect: X C unmap_single_vma vma=0-0x400000 branch=page_range uprobe_munmap=0 ptes=0
# expect: X C unmap_single_vma vma=0x400000-0x500000 branch=page_range uprobe_munmap=1 ptes=0
# expect: X C free_pgtables pte=3 pmd=1 pud=1
# expect: X C vm_unacct_memory pages=1088
#
# Phase 5 - a child that unmaps everything, then exits with an empty mm: exit_mmap stops
# right after arch_exit_mmap ("Can happen if dup_mmap() received an OOM", says the kernel).
fork
child munmap 0 2G
child_exit
# expect: X C exit_mmap vmas=0
# expect: X C check_mm ok=1
#
# Phase 6 - memory the process maps but does not own: a perf ring buffer, a device region,
# and a breakpoint in its code. A new child drops what fork gave it, then maps them.
fork
child munmap 0 2G
# A perf event's ring buffer of 1 + 8 pages: perf allocates them, and mmap maps them all at
# once as raw PFNs (VM_PFNMAP, VM_IO): they are not the process's pages, so not in its RSS,
# but their page tables are in its VmPTE; G shows them as p.
child perf_ring ev 8
child mmap 0 36K rw shared ev
child pagemap 0 36K
# expect: G C 0 ppppppppp
# A simulated device's 2 MiB frame buffer (above RAM), write-combining: its mmap is one
# remap_pfn_range of the whole VMA, so x86 PAT reserves the range with that memory type.
child iomap fb 2M wc
child mmap 2M 2M rw shared fb
child pat
# expect: K C pat [mem 0x0000000400000000-0x0000000400200000] write-combining
# Code: a file of x86 `ret` instructions, mapped r-x, with a uprobe at offset 0x1000 (as
# `perf probe` or bpftrace set one): the breakpoint is written into a private copy of the page,
# an anonymous page in the VMA. The call hits it: the `ret` is single-stepped out of line, in
# the XOL area the first hit creates (a one-page [uprobes] VMA at the top of the address
# space, outside the arena: D lines only).
child codefile code 16K
child mmap 4M 16K rx private code
child uprobe code 0x1000
child call 4M+0x1000
# Removing the probe writes the original byte back into the copy; 6.18 drops the copy only if
# nothing else holds it, and removal's own read marks the page accessed a second time, which
# queues it in the CPU's lru_activate batch: that batch's reference keeps the copy.
child uprobe_remove code 0x1000
child_exit
# Read the child's teardown. __mmput clears the uprobe state before exit_mmap (the XOL
# area's page stays mapped until the zap). In unmap_vmas, 5.10's unmap_single_vma calls
# untrack_pfn for each VM_PFNMAP VMA before zapping it: for the frame buffer it finds the
# physical address through the page table and frees the PAT reservation (pat_freed=1; with
# `--inject untrack-after-zap` the lookup comes after the zap, finds nothing, and the
# reservation leaks: check_invariants catches it). The ring's 9 entries and the frame buffer's
# 512 are raw PFNs (pfn=): nothing to count down, nothing for the gather. The ring's pages
# outlive the zap and the flush: the close of its last mapping frees them, in remove_vma.
# expect: X C uprobe_clear_state xol_area=1
# expect: X C unmap_single_vma vma=0-0x9000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=9 pfn=9 pat_freed=0
# expect: X C unmap_single_vma vma=0x200000-0x400000 branch=page_range uprobe_munmap=1 untrack_pfn=1 ptes=512 pfn=512 pat_freed=1
# expect: X C unmap_single_vma vma=0x400000-0x404000 branch=page_range uprobe_munmap=1 untrack_pfn=0 ptes=1 anon=1
# expect: X C unmap_single_vma vma=0x6fffffffe000-0x6ffffffff000 branch=page_range uprobe_munmap=0 ptes=1 file=1
# expect: X C tlb_finish_mmu flushes=1 pages_freed=2 pages_released=2
# expect: X C remove_vma vmas=4 perf_pages_freed=9
pat
# expect-no: K P pat
# The census counts every frame of the machine by owner: before the parent exits, its pages,
# the memfd's cache and the page tables are all there.
census
#
# Phase 7 - transparent huge pages and swap, in a child. With THP on, a write fault in a
# VM_HUGEPAGE region maps a whole 2 MiB THP with one PMD entry, and a PTE table is deposited
# beside it for the day the PMD is split (VmPTE counts it). MADV_PAGEOUT writes private
# anonymous pages to the swap device: their PTEs now hold swap entries (VmSwap), the pages are
# free.
fork
child thp on
child mmap 96M 4M rw private,anon
child madvise 96M 4M hugepage
child touch 96M 4M w 2M
child mmap 104M 64K rw private,anon
child touch 104M 64K w
child madvise 104M 64K pageout
child pagemap 104M 64K
# expect: G C 0x6800000 ssssssssssssssss
child_exit
# Read the child's teardown. zap_pmd_range meets the two THPs' PMD entries: zap_huge_pmd clears
# each, frees its deposited table at once and puts the THP in the gather as one entry of 512
# pages (huge_pmd=2, anon=1024). zap_pte_range meets the 16 swap entries: each frees its slot
# (free_swap_and_cache) and needs no TLB flush: a swap entry was never in a TLB (swap=16).
# expect: X C unmap_single_vma vma=0x6000000-0x6400000 branch=page_range uprobe_munmap=0 untrack_pfn=0 ptes=0 anon=1024 huge_pmd=2
# expect: X C unmap_single_vma vma=0x6800000-0x6810000 branch=page_range uprobe_munmap=0 untrack_pfn=0 ptes=0 anon=0 swap=16
census
# expect: K P census swap_slots=0 frames_swapcache=0
#
# Phase 8 - the parent exits.
exit
# Read the parent's teardown. locked_vm is not 0, so 5.10 first runs the munlock pass over the
# one VM_LOCKED VMA (64 pages). unmap_vmas then visits the five VMAs, one unmap_single_vma
# line each: 1024 anonymous PTEs at 0; 64 shmem PTEs at 4M (uprobe_munmap=1: every VMA with
# a file, and shared anonymous memory has one, gets that call; at exit it returns at once);
# 16 at 8M; 64 anonymous at 16M; 16 zero-page PTEs at 1G. Beneath each, the walk down the
# levels: the PGD entry, the P4D folded into it, the PUD and PMD tables, and the PTE tables
# whose entries it cleared. free_pgtables frees 6 PTE tables, 2 PMD tables and the PUD table.
# tlb_finish_mmu: 2 flushes, because the 64 shared PTEs were dirty: the TLB must be flushed
# before their PTE lock is dropped (forced=1), then the final flush; only then are pages
# freed: the 1088 anonymous ones were the parent's alone now; the 80 shmem pages are only
# released (their page cache keeps them). ipis= and cpus= show the shootdown reaching the
# CPUs that ran this mm, CPU 3 among them.
# expect: X P munlock_vma_pages_all vmas=1 pages=64
# expect: X P unmap_vmas vmas=5 ptes=1184 anon=1088 file=0 shmem=80 zero=16
# expect: X P unmap_single_vma vma=0-0x400000 branch=page_range ptes=1024 anon=1024
# expect: X P unmap_single_vma vma=0x400000-0x500000 branch=page_range uprobe_munmap=1 ptes=64 shmem=64
# expect: X P unmap_single_vma vma=0x800000-0x900000 branch=page_range ptes=16 shmem=16
# expect: X P unmap_single_vma vma=0x1000000-0x1040000 branch=page_range ptes=64 anon=64
# expect: X P unmap_single_vma vma=0x40000000-0x40010000 branch=page_range ptes=16 zero=16
# expect: X P free_pgtables pte=6 pmd=2 pud=1
# expect: X P tlb_finish_mmu flushes=2 pages_freed=1088 pages_released=1168 forced=1
# expect: X P vm_unacct_memory pages=1088
# expect: X P check_mm ok=1
# After the exit, exit_files closed the memfd: its last reference gone, its 256 cached pages
# were freed and their charge returned. What is left is the child's codefile: its name under
# /dev/shm keeps the inode, with its 4 cached pages and their 16 kB charge.
census
# expect: K P census frames_anon=0 frames_pagecache=4 frames_pgtable=0 Committed_AS=16
#
# Try: `exitmm demo --records` (the same as records), `exitmm demo --inject skip-lazy-flush`
# (break a TLB rule on purpose and watch the model catch it), `exitmm run FILE` for your own
# scripts (tests/scenarios has many), `exitmm diff FILE` to check one against this kernel,
# `exitmm demo oom` for an OOM kill racing the exit, the reaper and process_mrelease.
