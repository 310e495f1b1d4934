//! exitmm-kernel: the kernel-side model of Linux process address spaces and their teardown.
//!
//! `no_std` + `alloc`. Hardware (table memory, TLBs) is reached only through
//! [`arch::Hardware`]. One module per kernel file, named after it; one function per kernel step,
//! named after the kernel function it follows.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod arch;
pub mod check;
pub mod exit;
pub mod fork;
pub mod huge_memory;
pub mod hugetlb;
pub mod hugetlbfs;
pub mod iomap;
pub mod madvise;
pub mod memory;
pub mod mlock;
pub mod mm_types;
pub mod mmap;
pub mod mmu_gather;
pub mod mmu_notifier;
pub mod mprotect;
pub mod mremap;
pub mod msync;
pub mod oom_kill;
pub mod page;
pub mod page_alloc;
pub mod pat;
pub mod perf_event;
pub mod pgtable;
pub mod sched;
pub mod shm;
pub mod shmem;
pub mod swap;
pub mod swapfile;
pub mod sys;
pub mod task_mmu;
#[cfg(test)]
pub(crate) mod testhw;
pub mod uprobes;
pub mod util;
pub mod xarray;

use alloc::boxed::Box;
use alloc::vec::Vec;
use arch::{Hardware, MmId};
use mm_types::{Mm, MmFlags, VmFlags};
use page::{PageFlags, Pfn};
use page_alloc::PhysMem;

/// Linux error numbers the model returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EINVAL = 22,
    EFBIG = 27,
    ENOSYS = 38,
    EOVERFLOW = 75,
    ENOSPC = 28,
    ENODEV = 19,
    EOPNOTSUPP = 95,
    ENOTSUPP = 524,
}

impl Errno {
    /// The errno number.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The symbolic name.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::ESRCH => "ESRCH",
            Errno::EINTR => "EINTR",
            Errno::EIO => "EIO",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::EFBIG => "EFBIG",
            Errno::ENOSYS => "ENOSYS",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::ENOSPC => "ENOSPC",
            Errno::ENODEV => "ENODEV",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::ENOTSUPP => "ENOTSUPP",
        }
    }
}

bitflags::bitflags! {
    /// Faults injected into the kernel's teardown on purpose, to prove the detectors catch them.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Inject: u16 {
        /// The gather frees its pages before the TLB flush that covers them.
        const FREE_BEFORE_FLUSH = 1 << 0;
        /// The gather frees page tables before the TLB flush.
        const FREE_TABLE_BEFORE_FLUSH = 1 << 1;
        /// `zap_pte_range` drops the PTE lock after clearing dirty shared PTEs without the
        /// forced TLB flush.
        const DROP_DIRTY_FORCE_FLUSH = 1 << 2;
        /// The hugetlb unmap drops `i_mmap_rwsem` after unsharing a PMD table without the
        /// TLB flush that must precede it (CVE-2021-4002).
        const SKIP_UNSHARE_FLUSH = 1 << 3;
        /// `unmap_single_vma` calls `untrack_pfn` after the zap instead of before it (5.10
        /// tracking): its page-table lookup finds nothing and the reservation leaks.
        const UNTRACK_AFTER_ZAP = 1 << 4;
        /// 5.10 `exit_mmap` munlocks before the OOM self-reap (the pre-4.17 order behind
        /// CVE-2018-1000200): the reaper, which skips `VM_LOCKED`, races the munlock walk.
        const MUNLOCK_BEFORE_REAP = 1 << 5;
        /// 5.10 `exit_mmap` sets `MMF_OOM_SKIP` without the empty `mmap_write_lock` barrier.
        const NO_OOM_BARRIER = 1 << 6;
        /// The reaper does not re-check `MMF_OOM_SKIP` after taking `mmap_read_lock`.
        const NO_SKIP_RECHECK = 1 << 7;
        /// `process_mrelease` pins the mm with `mmget` (the July 2021 posting), not `mmgrab`.
        const MRELEASE_MMGET = 1 << 8;
        /// `__oom_reap_task_mm` uses the blocking `mmu_notifier_invalidate_range_start`.
        const BLOCKING_NOTIFIER_IN_REAPER = 1 << 9;
        /// The zap paths do not tell secondary MMUs (`invalidate_range_start` skips them).
        const SKIP_SECONDARY_INVALIDATE = 1 << 10;
    }
}

/// Behaviours that differ between kernels or configurations: each a switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Simulated RAM in bytes.
    pub ram_bytes: u64,
    /// `vm.overcommit_memory` (0 guess, 1 always, 2 never).
    pub overcommit_memory: u8,
    /// `vm.overcommit_ratio`.
    pub overcommit_ratio: u64,
    /// `CONFIG_PT_RECLAIM` (6.14+): `madvise(MADV_DONTNEED)` frees empty PTE tables.
    pub pt_reclaim: bool,
    /// `fault_around_bytes / PAGE_SIZE`.
    pub fault_around_pages: u64,
    /// `vm.max_map_count`.
    pub max_map_count: u32,
    /// `RLIMIT_MEMLOCK` in bytes for a process without `CAP_IPC_LOCK`; `None` = a process
    /// with it (root), whose limit is then [`Config::memlock_rlimit`] and applies only once
    /// it drops the capability.
    pub memlock_limit: Option<u64>,
    /// A root process's `RLIMIT_MEMLOCK` (soft and hard): 8 MiB (`MLOCK_LIMIT`), as here.
    pub memlock_rlimit: u64,
    /// Processes hold `CAP_SYS_RESOURCE` (may raise hard limits). This host's sandbox
    /// withholds it, so by default they do not.
    pub cap_sys_resource: bool,
    /// Faults to inject (none by default).
    pub inject: Inject,
    /// Which kernel's exit/OOM protocol to follow (`--linux`; 5.10, the seed's, by default).
    pub linux: Linux,
    /// The huge page pools as the host kernel has them before a script runs, per size
    /// (`HugeSize::index`): their pages, how many are surplus, and reservations nobody owns (a
    /// kernel that leaked some, see `Kernel::hugetlb_resv_leaked`). Empty pools by default.
    pub hugetlb_baseline: [HugetlbBaseline; 2],
    /// `vm.page-cluster`: swap readahead reads up to `1 << page_cluster` pages.
    pub page_cluster: u32,
    /// `RLIMIT_STACK` in bytes: how far a growsdown VMA may grow (the runner's: 8 MiB).
    pub stack_limit: u64,
    /// `transparent_hugepage/enabled`.
    pub thp_enabled: huge_memory::ThpEnabled,
    /// `transparent_hugepage/use_zero_page`: a read fault maps the huge zero page.
    pub thp_use_zero_page: bool,
    /// Which kernel's PFN-map PAT tracking to follow (5.10's `VM_PAT` by default, the seed's).
    pub pat: pat::PatTracking,
    /// `kernel.perf_event_mlock_kb`: ring-buffer memory a user may map per CPU before the
    /// rest is charged to the mapping mm's `pinned_vm`.
    pub perf_event_mlock_kb: u64,
    /// Online CPUs (the perf limit scales with them).
    pub online_cpus: u64,
    /// Pages the user's perf `locked_vm` already holds when the model starts (other processes
    /// of the same user, and what the host kernel leaked into it): see
    /// [`Kernel::perf_user_locked_leaked`].
    pub perf_user_locked_baseline: i64,
}

/// The kernel version whose exit/OOM protocol the model follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Linux {
    /// The seed's: no `mmap_lock` in `exit_mmap`, the OOM self-reap, `MMF_OOM_SKIP` and the
    /// write-lock barrier, the munlock pass; the reaper skips `VM_LOCKED` and walks upwards.
    #[default]
    V5_10,
    /// 6.0+: the unmap under `mmap_read_lock`, `MMF_OOM_SKIP` after it, `mmap_write_lock`
    /// around `free_pgtables` and VMA removal; the reaper walks from the top (6.18).
    V6_18,
}

impl Linux {
    /// `5.10` or `6.18`.
    pub fn name(self) -> &'static str {
        match self {
            Linux::V5_10 => "5.10",
            Linux::V6_18 => "6.18",
        }
    }
}

/// One pool's state at boot (`Config::hugetlb_baseline`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HugetlbBaseline {
    /// `nr_hugepages` (all free).
    pub nr: u64,
    /// `surplus_hugepages`.
    pub surplus: u64,
    /// `resv_hugepages`: reservations with no owner.
    pub resv: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ram_bytes: 16 << 30,
            overcommit_memory: 0,
            overcommit_ratio: 50,
            pt_reclaim: true,
            fault_around_pages: 16,
            max_map_count: 65530,
            memlock_limit: None,
            memlock_rlimit: 8 << 20,
            cap_sys_resource: false,
            inject: Inject::empty(),
            linux: Linux::V5_10,
            hugetlb_baseline: Default::default(),
            page_cluster: 3,
            stack_limit: 8 << 20,
            thp_enabled: huge_memory::ThpEnabled::Madvise,
            thp_use_zero_page: true,
            pat: pat::PatTracking::VmPat,
            perf_event_mlock_kb: 516,
            online_cpus: 1,
            perf_user_locked_baseline: 0,
        }
    }
}

/// The whole kernel: global state and every address space. No global statics, so two kernels
/// can live in one process.
pub struct Kernel<H: Hardware> {
    /// The machine.
    pub hw: H,
    /// Physical memory.
    pub mem: PhysMem,
    /// The shared zero page.
    pub zero_pfn: Pfn,
    /// Address spaces by id; a freed slot is `None`. Taken out while an operation runs on it.
    pub mms: Vec<Option<Box<Mm>>>,
    /// Shmem inodes (memfd, tmpfs files, shared anonymous objects).
    pub files: shmem::Files,
    /// System V shared memory segments by id; a destroyed one is `None`.
    pub shm_segs: Vec<Option<shm::ShmSegment>>,
    /// `vm_committed_as`, in pages.
    pub committed: i64,
    /// Pages `vm_committed_as` holds that no structure accounts for: 6.18's mremap, moving a
    /// range it has just shrunk, charges the shrunk tail again (`vrm_calc_charge` uses the
    /// delta worked out before `shrink_vma`), and nothing ever returns that charge.
    pub committed_leaked: i64,
    /// anon_vma reference counts (VMAs using each), by id.
    pub anon_vmas: Vec<u32>,
    /// The huge page pools, one per size (`hstates[]`), indexed by `HugeSize::index`.
    pub hstates: [hugetlb::Hstate; 2],
    /// Files whose last reference `fput` dropped, to be released by `task_work_run` when the
    /// task returns to user space.
    pub delayed_fput: Vec<mm_types::FileId>,
    /// What the cleanup of the last mmap a file refused did (`unmap_region` of the VMA the
    /// file's `mmap` turned down), for the report; taken by whoever reports it.
    pub mmap_cleanup: Option<memory::VmaUnmap>,
    /// The report of the last truncation or hole punch (`unmap_mapping_range` over every
    /// mapping, then `shmem_truncate_range`); taken by whoever reports it.
    pub truncate_report: Option<exit::TeardownReport>,
    /// Hugetlb reservations (`resv_huge_pages`, per size) no mapping will ever give back: 6.18's
    /// mremap of part of a private hugetlb VMA drops the whole old VMA's reservation map
    /// (`clear_vma_resv_huge_pages`), so the part left behind keeps its reservations, unowned;
    /// and whatever the host kernel had leaked before the model started (`Config`).
    pub hugetlb_resv_leaked: [u64; 2],
    /// Private hugetlb reservation maps (`struct resv_map`), by id; a freed slot is `None`.
    pub resv_maps: Vec<Option<hugetlb::ResvMap>>,
    /// x86 PAT: the memtype tree and the PFN-map tracking contexts.
    pub pat: pat::Pat,
    /// `user->locked_vm` of the (one) user running the scripts, in pages: perf ring buffers
    /// charged to the user rather than to an mm.
    pub perf_user_locked_vm: i64,
    /// Of `perf_user_locked_vm`, what second mappings of a buffer charged: 6.18 charges each
    /// mapping of an existing buffer its whole size, and the close of the buffer's last
    /// mapping gives back only the first charge.
    pub perf_user_locked_leaked: i64,
    /// The next free physical address above RAM for a device region (`iomap`).
    pub iomem_next: u64,
    /// Registered uprobes: (inode, file offset) → consumers.
    pub uprobes: alloc::collections::BTreeMap<(mm_types::FileId, u64), u32>,
    /// Page contents that hold uprobe breakpoints: content tag → (the tag of the same page
    /// without them, the page offsets holding `int3`).
    pub uprobe_contents: alloc::collections::BTreeMap<u32, uprobes::BreakpointPage>,
    /// The model's own, not a kernel setting: runs of plain anonymous write faults take
    /// [`Kernel::anon_write_faults`] (true, the default); false sends every access down the
    /// whole fault path (tests compare the two).
    pub anon_fault_runs: bool,
    /// Accesses [`Kernel::anon_write_faults`] has done so far (tests check that it ran).
    pub anon_fault_run_pages: u64,
    /// The swap device (`swapon`), if any.
    pub swap: Option<swapfile::SwapInfo>,
    /// PTE tables deposited for PMD-mapped THPs: (PMD table, entry) → table.
    pub thp_deposits: alloc::collections::BTreeMap<(Pfn, u16), Pfn>,
    /// The huge zero page's first frame, once allocated.
    pub huge_zero: Option<Pfn>,
    /// Tasks (`task_struct`s) by id; a freed slot is `None`.
    pub tasks: Vec<Option<oom_kill::Task>>,
    /// Model time in milliseconds (timers, the reaper's retries).
    pub now_ms: u64,
    /// What the kernel would print (`pr_info`/`pr_err` of the OOM killer and reaper).
    pub log: Vec<alloc::string::String>,
    /// Races the kernel-side detectors saw: a walk through a page table that was unlinked or
    /// freed under it, a sleep in a non-blocking section, `exit_mmap` in the wrong context, a
    /// secondary MMU using a freed page.
    pub races: Vec<alloc::string::String>,
    /// What `__mmdrop` reported when the last `mm_count` reference went outside the exit path
    /// (the OOM killer's `signal->oom_mm`, a `process_mrelease` caller): by mm.
    pub late_mmdrop: Vec<(MmId, exit::TeardownReport)>,
    /// Settings.
    pub config: Config,
    next_content: u32,
    /// The PMD table the running `handle_mm_fault` walked to (mm id, `addr >> PMD_SHIFT`, table):
    /// its store then reads two levels instead of walking four. Faults never free a PMD table.
    pub(crate) fault_pmd: Option<(u32, u64, Pfn)>,
    /// The PTE the running `handle_mm_fault` just made or updated, where the fault ended at
    /// the PTE level without leaving that table (the anonymous fault, a present PTE's access
    /// bits): its store then reads no table. `None` after every other path.
    pub(crate) fault_pte: Option<u64>,
    /// Inside [`Kernel::access_run`]: the PMD table the run's last fault walked to (mm id,
    /// `addr >> PUD_SHIFT`, table), which the next fault in the same 1 GiB takes instead of
    /// walking the two levels above it again. `None` outside a run.
    pub(crate) run_pmd: Option<(u32, u64, Pfn)>,
    /// An access run is going on.
    pub(crate) in_access_run: bool,
}

/// Why a fault failed (`VM_FAULT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `VM_FAULT_SIGSEGV`: no VMA, or the VMA forbids the access.
    Segv,
    /// `VM_FAULT_SIGBUS`: beyond end of file.
    Bus,
    /// `VM_FAULT_OOM`.
    Oom,
}

impl<H: Hardware> Kernel<H> {
    /// Boots a kernel on `hw` with `config`: sets up physical memory and the zero page.
    pub fn new(hw: H, config: Config) -> Self {
        let mut mem = PhysMem::new(config.ram_bytes);
        let zero_pfn = mem
            .alloc_pages(0)
            .expect("boot: no memory for the zero page");
        mem.page_mut(zero_pfn).flags = PageFlags::RESERVED | PageFlags::UPTODATE;
        let mut k = Kernel {
            hw,
            mem,
            zero_pfn,
            mms: Vec::new(),
            files: shmem::Files::default(),
            committed: 0,
            committed_leaked: 0,
            hstates: hugetlb::HugeSize::ALL.map(hugetlb::Hstate::new),
            hugetlb_resv_leaked: [0; 2],
            resv_maps: Vec::new(),
            mmap_cleanup: None,
            truncate_report: None,
            delayed_fput: Vec::new(),
            anon_vmas: Vec::new(),
            pat: Default::default(),
            perf_user_locked_vm: config.perf_user_locked_baseline,
            perf_user_locked_leaked: config.perf_user_locked_baseline,
            iomem_next: config.ram_bytes.next_multiple_of(1 << 30),
            uprobes: Default::default(),
            uprobe_contents: Default::default(),
            anon_fault_runs: true,
            anon_fault_run_pages: 0,
            swap: None,
            thp_deposits: Default::default(),
            huge_zero: None,
            tasks: Vec::new(),
            now_ms: 0,
            log: Vec::new(),
            races: Vec::new(),
            late_mmdrop: Vec::new(),
            shm_segs: Vec::new(),
            config,
            next_content: 1,
            fault_pmd: None,
            fault_pte: None,
            run_pmd: None,
            in_access_run: false,
        };
        k.hugetlb_boot();
        k
    }

    /// `mm_alloc` + `mm_init`: a new, empty address space with its PGD; `mm_users = 1`.
    pub fn mm_alloc(&mut self) -> Result<MmId, Errno> {
        let pgd = self.mem.alloc_pages(0).map_err(|_| Errno::ENOMEM)?;
        self.mem.page_mut(pgd).flags = PageFlags::PGTABLE;
        self.hw.table_alloc(pgd);
        let id = self
            .mms
            .iter()
            .position(|m| m.is_none())
            .unwrap_or(self.mms.len());
        let mm = Box::new(Mm {
            id: id as MmId,
            users: 1,
            count: 1,
            pgd,
            vmas: Default::default(),
            vma_hint: Default::default(),
            map_count: 0,
            rss: [0; 4],
            pgtables_bytes: 0,
            total_vm: 0,
            data_vm: 0,
            exec_vm: 0,
            stack_vm: 0,
            locked_vm: 0,
            pinned_vm: 0,
            hiwater_rss: 0,
            hiwater_vm: 0,
            def_flags: VmFlags::empty(),
            flags: MmFlags::empty(),
            tlb_flush_pending: 0,
            notifiers: Default::default(),
            hugetlb_usage: 0,
            hugetlb_usage_drift: 0,
            locked_vm_unlocked: 0,
            xol_area: None,
            mmap_lock: Default::default(),
            start_brk: 0,
            brk: 0,
            limits: self.initial_limits(),
        });
        if id == self.mms.len() {
            self.mms.push(Some(mm));
        } else {
            self.mms[id] = Some(mm);
        }
        Ok(id as MmId)
    }

    /// The limits a new process starts with (`init`'s, inherited): see [`Config::memlock_limit`].
    fn initial_limits(&self) -> mm_types::Limits {
        let memlock = self
            .config
            .memlock_limit
            .unwrap_or(self.config.memlock_rlimit);
        mm_types::Limits {
            memlock: mm_types::Rlim {
                cur: memlock,
                max: memlock,
            },
            as_: mm_types::Rlim::INFINITY,
            data: mm_types::Rlim::INFINITY,
            cap_ipc_lock: self.config.memlock_limit.is_none(),
            cap_sys_resource: self.config.cap_sys_resource,
        }
    }

    /// The address space `id`.
    pub fn mm(&self, id: MmId) -> &Mm {
        self.mms[id as usize].as_deref().expect("no such mm")
    }

    /// The address space `id`, mutable.
    pub fn mm_mut(&mut self, id: MmId) -> &mut Mm {
        self.mms[id as usize].as_deref_mut().expect("no such mm")
    }

    /// Runs `f` with the mm taken out of the table, so `f` may borrow the rest of the kernel.
    pub fn with_mm<R>(&mut self, id: MmId, f: impl FnOnce(&mut Self, &mut Mm) -> R) -> R {
        let mut mm = self.mms[id as usize]
            .take()
            .expect("no such mm (or already taken)");
        let r = f(self, &mut mm);
        self.mms[id as usize] = Some(mm);
        r
    }

    /// A fresh content tag for a page that was just written.
    pub fn new_content(&mut self) -> u32 {
        self.next_content = self.next_content.wrapping_add(1).max(1);
        self.next_content
    }

    /// `anon_vma_alloc`.
    pub(crate) fn anon_vma_alloc(&mut self) -> mm_types::AnonVmaId {
        self.anon_vmas.push(1);
        (self.anon_vmas.len() - 1) as mm_types::AnonVmaId
    }

    /// Another VMA now uses `av`.
    pub(crate) fn anon_vma_get(&mut self, av: Option<mm_types::AnonVmaId>) {
        if let Some(a) = av {
            self.anon_vmas[a as usize] += 1;
        }
    }

    /// `unlink_anon_vmas` for one VMA: drop its use of `av`.
    pub(crate) fn anon_vma_put(&mut self, av: Option<mm_types::AnonVmaId>) {
        if let Some(a) = av {
            self.anon_vmas[a as usize] -= 1;
        }
    }
}
