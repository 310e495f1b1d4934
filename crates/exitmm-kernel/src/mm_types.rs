//! `struct mm_struct` and `struct vm_area_struct` (include/linux/mm_types.h, mm.h).

use crate::page::Pfn;
use alloc::collections::BTreeMap;

/// Index of a file (shmem inode) in the kernel's file table.
pub type FileId = u32;
/// Identifies an anon_vma.
pub type AnonVmaId = u32;

bitflags::bitflags! {
    /// `vm_flags` with Linux's bit values (x86-64, 6.x).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct VmFlags: u64 {
        #[allow(missing_docs)] const READ = 0x1;
        #[allow(missing_docs)] const WRITE = 0x2;
        #[allow(missing_docs)] const EXEC = 0x4;
        #[allow(missing_docs)] const SHARED = 0x8;
        #[allow(missing_docs)] const MAYREAD = 0x10;
        #[allow(missing_docs)] const MAYWRITE = 0x20;
        #[allow(missing_docs)] const MAYEXEC = 0x40;
        #[allow(missing_docs)] const MAYSHARE = 0x80;
        #[allow(missing_docs)] const GROWSDOWN = 0x100;
        #[allow(missing_docs)] const PFNMAP = 0x400;
        #[allow(missing_docs)] const LOCKED = 0x2000;
        #[allow(missing_docs)] const IO = 0x4000;
        #[allow(missing_docs)] const SEQ_READ = 0x8000;
        #[allow(missing_docs)] const RAND_READ = 0x10000;
        #[allow(missing_docs)] const DONTCOPY = 0x20000;
        #[allow(missing_docs)] const DONTEXPAND = 0x40000;
        #[allow(missing_docs)] const LOCKONFAULT = 0x80000;
        #[allow(missing_docs)] const ACCOUNT = 0x100000;
        #[allow(missing_docs)] const NORESERVE = 0x200000;
        #[allow(missing_docs)] const HUGETLB = 0x400000;
        /// `VM_SYNC` (`MAP_SYNC`).
        const SYNC = 0x800000;
        #[allow(missing_docs)] const WIPEONFORK = 0x2000000;
        #[allow(missing_docs)] const DONTDUMP = 0x4000000;
        /// `VM_PAT` (`VM_ARCH_1` on x86, 5.10): the VMA holds a PAT reservation.
        const PAT = 0x1000000;
        #[allow(missing_docs)] const MIXEDMAP = 0x10000000;
        #[allow(missing_docs)] const HUGEPAGE = 0x20000000;
        #[allow(missing_docs)] const NOHUGEPAGE = 0x40000000;
    }
}

impl VmFlags {
    /// `VM_ACCESS_FLAGS`.
    pub const ACCESS: VmFlags = VmFlags::READ.union(VmFlags::WRITE).union(VmFlags::EXEC);
    /// `VM_LOCKED_MASK`.
    pub const LOCKED_MASK: VmFlags = VmFlags::LOCKED.union(VmFlags::LOCKONFAULT);
    /// `VM_SPECIAL`: never merged, never expanded.
    pub const SPECIAL: VmFlags = VmFlags::IO
        .union(VmFlags::DONTEXPAND)
        .union(VmFlags::PFNMAP)
        .union(VmFlags::MIXEDMAP);

    /// The smaps `VmFlags` mnemonics, in bit order as `show_smap_vma_flags` prints them.
    pub const MNEMONICS: [(VmFlags, &'static str); 26] = [
        (VmFlags::READ, "rd"),
        (VmFlags::WRITE, "wr"),
        (VmFlags::EXEC, "ex"),
        (VmFlags::SHARED, "sh"),
        (VmFlags::MAYREAD, "mr"),
        (VmFlags::MAYWRITE, "mw"),
        (VmFlags::MAYEXEC, "me"),
        (VmFlags::MAYSHARE, "ms"),
        (VmFlags::GROWSDOWN, "gd"),
        (VmFlags::PFNMAP, "pf"),
        (VmFlags::LOCKED, "lo"),
        (VmFlags::IO, "io"),
        (VmFlags::SEQ_READ, "sr"),
        (VmFlags::RAND_READ, "rr"),
        (VmFlags::DONTCOPY, "dc"),
        (VmFlags::DONTEXPAND, "de"),
        (VmFlags::LOCKONFAULT, "lf"),
        (VmFlags::ACCOUNT, "ac"),
        (VmFlags::NORESERVE, "nr"),
        (VmFlags::HUGETLB, "ht"),
        (VmFlags::SYNC, "sf"),
        (VmFlags::PAT, "ar"),
        (VmFlags::WIPEONFORK, "wf"),
        (VmFlags::DONTDUMP, "dd"),
        (VmFlags::HUGEPAGE, "hg"),
        (VmFlags::NOHUGEPAGE, "nh"),
    ];
}

/// A virtual memory area: `[start, end)` with one set of flags and one backing.
///
/// Guarded by the owning mm's `mmap_lock` (write to change, read to walk). Invariants:
/// `start < end`, both page aligned; VMAs of one mm never overlap; `pgoff` is the file offset
/// in pages for file VMAs and `start >> PAGE_SHIFT` (at creation) for anonymous ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    /// `vm_start`.
    pub start: u64,
    /// `vm_end`.
    pub end: u64,
    /// `vm_flags`.
    pub flags: VmFlags,
    /// `vm_pgoff`, in pages.
    pub pgoff: u64,
    /// `vm_file` (shmem inode), or `None` for private anonymous memory.
    pub file: Option<FileId>,
    /// `anon_vma`: present once a private page has been written (or after fork of one).
    pub anon_vma: Option<AnonVmaId>,
    /// True when `anon_vma_chain` is not singular (the VMA was made by fork).
    pub anon_chain_forked: bool,
    /// The hugetlb state (`vm_private_data` of a `VM_HUGETLB` VMA), `None` for other VMAs.
    pub hugetlb: Option<HugetlbVma>,
    /// `pfnmap_track_ctx` (6.16+): the PAT reservation this PFN-map VMA shares.
    pub pfnmap_ctx: Option<crate::pat::CtxId>,
    /// A special mapping the kernel installed (`vm_ops` of `_install_special_mapping`).
    pub special: Option<Special>,
    /// `swap_readahead_info`: the last swap fault's page address, readahead window and hits
    /// (`SWAP_RA_VAL`); 0 until the first swap-in through the swap cache.
    pub swap_readahead_info: u64,
    /// An attachment of a System V segment (`vm_ops == &shm_vm_ops`): its close is
    /// `shm_close`, so no merge may remove it (`can_merge_remove_vma`).
    pub shm: bool,
}

/// Special mappings (`struct vm_special_mapping`) the model installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// The uprobes XOL area, `[uprobes]`.
    Uprobes,
}

/// Index of a private hugetlb reservation map in the kernel's table.
pub type ResvId = u32;

/// What a hugetlb VMA's `vm_private_data` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugetlbVma {
    /// The huge page size (`hstate_vma`).
    pub size: crate::hugetlb::HugeSize,
    /// Private mappings: the reservation map this VMA owns (`HPAGE_RESV_OWNER`); `None` for
    /// a fork child or a `MAP_NORESERVE` mapping, which own no reservations.
    pub resv: Option<ResvId>,
    /// `HPAGE_RESV_UNMAPPED`: the owner's COW took a page away from this (child) VMA; any
    /// later fault on a missing page here is SIGBUS.
    pub unmapped: bool,
    /// Shared mappings: the hugetlb vma_lock exists, so the VMA can give its PMD tables to
    /// another mapping of the same file (`huge_pmd_share`).
    pub lock: bool,
}

impl Vma {
    /// `vma_pages`.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> 12
    }

    /// `vma_is_anonymous`: no file at all (shared anonymous memory has a shmem file).
    pub fn is_anonymous(&self) -> bool {
        self.file.is_none()
    }

    /// File page offset of `addr` in this VMA (`linear_page_index`).
    pub fn linear_index(&self, addr: u64) -> u64 {
        ((addr - self.start) >> 12) + self.pgoff
    }
}

bitflags::bitflags! {
    /// `mm->flags` bits the model uses.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct MmFlags: u32 {
        /// `MMF_OOM_VICTIM` (5.10: set by `mark_oom_victim`).
        const OOM_VICTIM = 1 << 0;
        /// `MMF_OOM_SKIP`.
        const OOM_SKIP = 1 << 1;
        /// `MMF_UNSTABLE`.
        const UNSTABLE = 1 << 2;
        /// `MMF_HAS_UPROBES`: a breakpoint may be installed in this mm.
        const HAS_UPROBES = 1 << 3;
        /// `MMF_RECALC_UPROBES`: whether it still has one must be worked out again.
        const RECALC_UPROBES = 1 << 4;
        /// `MMF_DISABLE_THP_COMPLETELY` (`prctl(PR_SET_THP_DISABLE)`; inherited at fork).
        const DISABLE_THP = 1 << 5;
        /// `MMF_HUGE_ZERO_FOLIO`: this mm has used the huge zero page.
        const HUGE_ZERO_FOLIO = 1 << 6;
        /// `MMF_OOM_REAP_QUEUED`: the mm is queued for the OOM reaper.
        const OOM_REAP_QUEUED = 1 << 7;
    }
}

/// Resident-set counter indices (`MM_FILEPAGES`, `MM_ANONPAGES`, `MM_SWAPENTS`, `MM_SHMEMPAGES`).
pub const MM_FILEPAGES: usize = 0;
/// See [`MM_FILEPAGES`].
pub const MM_ANONPAGES: usize = 1;
/// See [`MM_FILEPAGES`].
pub const MM_SWAPENTS: usize = 2;
/// See [`MM_FILEPAGES`].
pub const MM_SHMEMPAGES: usize = 3;
/// `resident_page_types[]`, for check_mm's messages.
pub const RESIDENT_PAGE_TYPES: [&str; 4] = [
    "MM_FILEPAGES",
    "MM_ANONPAGES",
    "MM_SWAPENTS",
    "MM_SHMEMPAGES",
];

/// An address space.
///
/// Counters are caches of what the structures hold; `check_invariants` recomputes each:
/// `rss[t]` = present PTEs mapping pages of type t; `pgtables_bytes` = 4096 × (PTE + PMD + PUD
/// tables reachable from `pgd`); `total_vm` = Σ vma pages; `data_vm`/`exec_vm`/`stack_vm` =
/// Σ pages of VMAs in each class; `locked_vm` = Σ pages of `VM_LOCKED` VMAs +
/// `locked_vm_unlocked` (while the mm is live; exit does not decrement it); `map_count` =
/// number of VMAs.
#[derive(Debug)]
pub struct Mm {
    /// This mm's id (its ASID, for the hardware).
    pub id: u32,
    /// `mm_users`.
    pub users: u32,
    /// `mm_count`.
    pub count: u32,
    /// The PGD frame (freed by `__mmdrop`, never by `free_pgtables`).
    pub pgd: Pfn,
    /// The VMA tree, by start address. Guarded by `mmap_lock`.
    pub vmas: BTreeMap<u64, Vma>,
    /// The key (start) of the VMA `vma_at` found last: a one-entry cache in the role of 5.10's
    /// per-task `vmacache` (mm/vmacache.c). It is checked against the tree on every use, so
    /// no change to the tree can make it answer wrongly, and nothing has to invalidate it.
    pub vma_hint: core::cell::Cell<u64>,
    /// `map_count`.
    pub map_count: u32,
    /// `rss_stat`, in pages.
    pub rss: [i64; 4],
    /// `pgtables_bytes`.
    pub pgtables_bytes: i64,
    /// `total_vm`, pages.
    pub total_vm: i64,
    /// `data_vm`, pages.
    pub data_vm: i64,
    /// `exec_vm`, pages.
    pub exec_vm: i64,
    /// `stack_vm`, pages.
    pub stack_vm: i64,
    /// `locked_vm`, pages.
    pub locked_vm: i64,
    /// `pinned_vm`, pages.
    pub pinned_vm: i64,
    /// `hiwater_rss`, pages.
    pub hiwater_rss: i64,
    /// `hiwater_vm`, pages.
    pub hiwater_vm: i64,
    /// `def_flags` (`VM_LOCKED`/`VM_LOCKONFAULT` after `mlockall(MCL_FUTURE)`).
    pub def_flags: VmFlags,
    /// `mm->flags`.
    pub flags: MmFlags,
    /// `tlb_flush_pending`: gathers in flight on this mm.
    pub tlb_flush_pending: u32,
    /// `notifier_subscriptions`.
    pub notifiers: crate::mmu_notifier::Subscriptions,
    /// `hugetlb_usage`, in base pages (`HugetlbPages` in status): hugetlb pages this mm
    /// faulted in or inherited at fork, less those it unmapped. A page reached through a PMD
    /// table shared with another mm counts in the mm that faulted it.
    pub hugetlb_usage: i64,
    /// How far `hugetlb_usage` is from the huge pages this mm's tables map (`check_invariants`
    /// recomputes `hugetlb_usage - drift` from them): a shared PMD table's pages count only in
    /// the mm that faulted them, so sharing a populated table, another sharer's fault into it,
    /// and unsharing it move the tables' figure but not the counter.
    pub hugetlb_usage_drift: i64,
    /// Pages `locked_vm` still counts although no `VM_LOCKED` VMA holds them: 6.18's
    /// `MREMAP_DONTUNMAP` clears the lock flags of the source VMA without decrementing
    /// `locked_vm` ("Because we won't unmap we don't need to touch locked_vm").
    pub locked_vm_unlocked: i64,
    /// `uprobes_state.xol_area`.
    pub xol_area: Option<crate::uprobes::XolArea>,
    /// `mmap_lock`.
    pub mmap_lock: crate::sched::RwSem,
    /// `start_brk`: where the heap starts (0: the process has none the model knows).
    pub start_brk: u64,
    /// `brk`: the program break.
    pub brk: u64,
    /// The owning process's resource limits and capabilities, as the mm code reads them
    /// from `current` (one process per mm in the model).
    pub limits: Limits,
}

/// One resource limit (`struct rlimit`), in bytes; `u64::MAX` is `RLIM_INFINITY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlim {
    /// `rlim_cur`.
    pub cur: u64,
    /// `rlim_max`.
    pub max: u64,
}

impl Rlim {
    /// `RLIM_INFINITY` both ways.
    pub const INFINITY: Rlim = Rlim {
        cur: u64::MAX,
        max: u64::MAX,
    };

    /// The soft limit in pages (`rlimit(X) >> PAGE_SHIFT`).
    pub fn pages(self) -> u64 {
        self.cur >> 12
    }
}

/// The limits and capabilities the mm code checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_MEMLOCK`.
    pub memlock: Rlim,
    /// `RLIMIT_AS`.
    pub as_: Rlim,
    /// `RLIMIT_DATA`.
    pub data: Rlim,
    /// `CAP_IPC_LOCK`: no lock limit applies.
    pub cap_ipc_lock: bool,
    /// `CAP_SYS_RESOURCE`: hard limits may be raised.
    pub cap_sys_resource: bool,
}

impl Mm {
    /// `get_mm_rss`.
    pub fn rss_pages(&self) -> i64 {
        self.rss[MM_FILEPAGES] + self.rss[MM_ANONPAGES] + self.rss[MM_SHMEMPAGES]
    }

    /// `find_vma`: the first VMA with `end > addr`.
    pub fn find_vma(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
            .or_else(|| self.vmas.range(addr..).next().map(|(_, v)| v))
    }

    /// The VMA containing `addr`.
    pub fn vma_at(&self, addr: u64) -> Option<&Vma> {
        let hint = self.vma_hint.get();
        if hint <= addr {
            // VMAs do not overlap: one that starts at or below `addr` and ends above it is
            // the one containing it.
            if let Some(v) = self.vmas.get(&hint).filter(|v| v.end > addr) {
                return Some(v);
            }
        }
        let (&start, v) = self
            .vmas
            .range(..=addr)
            .next_back()
            .filter(|(_, v)| v.end > addr)?;
        self.vma_hint.set(start);
        Some(v)
    }

    /// Start addresses of the VMAs overlapping `[start, end)`.
    pub fn overlapping(&self, start: u64, end: u64) -> alloc::vec::Vec<u64> {
        match self.find_vma(start) {
            Some(v) if v.start < end => self.vmas.range(v.start..end).map(|(s, _)| *s).collect(),
            _ => alloc::vec::Vec::new(),
        }
    }

    /// `update_hiwater_rss`.
    pub fn update_hiwater_rss(&mut self) {
        self.hiwater_rss = self.hiwater_rss.max(self.rss_pages());
    }
}
