//! The exitmm script language: syntax and AST only, no kernel knowledge.
//!
//! One operation per line, `#` comments, numbers with `K M G T P` suffixes that may be summed
//! with `+`. The format is specified in `shared/spec/script.md`; this crate turns a file into a
//! [`Script`] of [`Line`]s, or a [`ParseError`] naming the line and the problem.

#![forbid(unsafe_code)]

use std::fmt;

/// Which process an operation runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The parent process, the one every script starts with.
    P,
    /// The child made by `fork`.
    C,
}

impl Role {
    /// The one-letter name used in records.
    pub fn letter(self) -> char {
        match self {
            Role::P => 'P',
            Role::C => 'C',
        }
    }
}

/// Protection bits of `mmap`/`mprotect`, as written (`r`, `w`, `x` or `none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    /// `PROT_READ`.
    pub read: bool,
    /// `PROT_WRITE`.
    pub write: bool,
    /// `PROT_EXEC`.
    pub exec: bool,
}

/// A huge page size of hugetlb (`2M` or `1G` in scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HugeSize {
    /// 2 MiB pages (x86-64 PMD size; the default of `hugetlb` without a size).
    M2,
    /// 1 GiB pages (x86-64 PUD size).
    G1,
}

impl HugeSize {
    /// Both sizes, smaller first.
    pub const ALL: [HugeSize; 2] = [HugeSize::M2, HugeSize::G1];

    /// The page size in bytes.
    pub fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// The page size in kB, as sysfs names it (`hugepages-<kB>kB`) and smaps prints it.
    pub fn kb(self) -> u64 {
        self.bytes() >> 10
    }

    /// log2 of the page size: what `MAP_HUGE_*`/`MFD_HUGE_*` carry (`21`, `30`).
    pub fn shift(self) -> u32 {
        match self {
            HugeSize::M2 => 21,
            HugeSize::G1 => 30,
        }
    }

    /// The script word (`2M`, `1G`).
    pub fn word(self) -> &'static str {
        match self {
            HugeSize::M2 => "2M",
            HugeSize::G1 => "1G",
        }
    }

    /// `LEN` rounded up to this page size (`None` on overflow), as the kernel rounds a
    /// hugetlb mapping's length.
    pub fn round_up(self, len: u64) -> Option<u64> {
        let m = self.bytes() - 1;
        len.checked_add(m).map(|l| l & !m)
    }

    /// Parses `2M` or `1G` (exactly these words).
    pub fn parse(s: &str) -> Result<HugeSize, String> {
        match s {
            "2M" => Ok(HugeSize::M2),
            "1G" => Ok(HugeSize::G1),
            _ => Err(format!("huge page SIZE must be 2M or 1G, got '{s}'")),
        }
    }
}

/// The `FLAGS` word of `mmap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MapFlags {
    /// `MAP_SHARED` (otherwise `MAP_PRIVATE`).
    pub shared: bool,
    /// `MAP_ANONYMOUS`.
    pub anon: bool,
    /// `MAP_POPULATE`.
    pub populate: bool,
    /// `MAP_LOCKED`.
    pub locked: bool,
    /// `MAP_NORESERVE`.
    pub noreserve: bool,
    /// `MAP_GROWSDOWN`.
    pub growsdown: bool,
    /// `MAP_FIXED` (otherwise `MAP_FIXED_NOREPLACE`).
    pub fixed: bool,
    /// `MAP_HUGETLB` with `MAP_HUGE_2MB`/`MAP_HUGE_1GB` (`hugetlb`, `hugetlb=2M`,
    /// `hugetlb=1G`); only with `anon`.
    pub hugetlb: Option<HugeSize>,
    /// `raw=0xN`: the flags value as given, for the kernel to judge (the fields above are
    /// read off it; a raw value without `MAP_FIXED` gets `MAP_FIXED_NOREPLACE` added).
    pub raw: Option<u64>,
}

/// mmap(2) flag bits (x86-64 uapi) that raw values are read with.
pub mod map_bits {
    /// `MAP_SHARED`.
    pub const SHARED: u64 = 0x01;
    /// `MAP_PRIVATE`.
    pub const PRIVATE: u64 = 0x02;
    /// `MAP_SHARED_VALIDATE`.
    pub const SHARED_VALIDATE: u64 = 0x03;
    /// `MAP_TYPE`.
    pub const TYPE: u64 = 0x0f;
    /// `MAP_FIXED`.
    pub const FIXED: u64 = 0x10;
    /// `MAP_ANONYMOUS`.
    pub const ANONYMOUS: u64 = 0x20;
    /// `MAP_GROWSDOWN`.
    pub const GROWSDOWN: u64 = 0x100;
    /// `MAP_LOCKED`.
    pub const LOCKED: u64 = 0x2000;
    /// `MAP_NORESERVE`.
    pub const NORESERVE: u64 = 0x4000;
    /// `MAP_POPULATE`.
    pub const POPULATE: u64 = 0x8000;
    /// `MAP_NONBLOCK`.
    pub const NONBLOCK: u64 = 0x10000;
    /// `MAP_STACK`.
    pub const STACK: u64 = 0x20000;
    /// `MAP_HUGETLB`.
    pub const HUGETLB: u64 = 0x40000;
    /// `MAP_SYNC`.
    pub const SYNC: u64 = 0x80000;
    /// `MAP_FIXED_NOREPLACE`.
    pub const FIXED_NOREPLACE: u64 = 0x100000;
    /// `MAP_HUGE_SHIFT`.
    pub const HUGE_SHIFT: u32 = 26;
    /// `LEGACY_MAP_MASK`: what `MAP_SHARED` keeps and `MAP_SHARED_VALIDATE` accepts.
    pub const LEGACY_MASK: u64 = SHARED
        | PRIVATE
        | FIXED
        | ANONYMOUS
        | 0x800 // MAP_DENYWRITE
        | 0x1000 // MAP_EXECUTABLE
        | 0x400_0000 // MAP_UNINITIALIZED
        | GROWSDOWN
        | LOCKED
        | NORESERVE
        | POPULATE
        | NONBLOCK
        | STACK
        | HUGETLB;
}

/// The `ADVICE` word of `madvise`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Advice {
    DontNeed,
    DontNeedLocked,
    Free,
    Remove,
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
    PopulateRead,
    PopulateWrite,
    HugePage,
    NoHugePage,
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontDump,
    DoDump,
    /// `MADV_PAGEOUT`.
    PageOut,
}

impl Advice {
    /// Every advice with its script word.
    pub const ALL: [(&'static str, Advice); 19] = [
        ("dontneed", Advice::DontNeed),
        ("dontneed_locked", Advice::DontNeedLocked),
        ("free", Advice::Free),
        ("remove", Advice::Remove),
        ("dontfork", Advice::DontFork),
        ("dofork", Advice::DoFork),
        ("wipeonfork", Advice::WipeOnFork),
        ("keeponfork", Advice::KeepOnFork),
        ("populate_read", Advice::PopulateRead),
        ("populate_write", Advice::PopulateWrite),
        ("hugepage", Advice::HugePage),
        ("nohugepage", Advice::NoHugePage),
        ("normal", Advice::Normal),
        ("random", Advice::Random),
        ("sequential", Advice::Sequential),
        ("willneed", Advice::WillNeed),
        ("dontdump", Advice::DontDump),
        ("pageout", Advice::PageOut),
        ("dodump", Advice::DoDump),
    ];

    /// The script word for this advice.
    pub fn word(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(w, _)| *w)
            .unwrap_or("?")
    }
}

/// One operation of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    /// `mmap OFF LEN PROT FLAGS [FILE [FOFF]]`.
    Mmap {
        off: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<String>,
        foff: u64,
    },
    /// `memfd NAME SIZE [hugetlb[=2M|1G]] [fill]` (`tmpfs: false`) or `shmfile NAME SIZE
    /// [fill]` (`tmpfs: true`). `hugetlb` is an `MFD_HUGETLB` memfd of that page size (SIZE a
    /// multiple of it); its `fill` faults in every huge page.
    MakeFile {
        name: String,
        size: u64,
        fill: bool,
        tmpfs: bool,
        hugetlb: Option<HugeSize>,
    },
    /// `touch OFF LEN r|w [STRIDE] [grow]`; `grow`: an address below a `growsdown` VMA grows
    /// it (stack expansion) instead of being refused as unmapped.
    Touch {
        off: u64,
        len: u64,
        write: bool,
        stride: u64,
        grow: bool,
    },
    /// `munmap OFF LEN`.
    Munmap { off: u64, len: u64 },
    /// `mprotect OFF LEN PROT`.
    Mprotect { off: u64, len: u64, prot: Prot },
    /// `mlock OFF LEN [onfault]`.
    Mlock { off: u64, len: u64, onfault: bool },
    /// `munlock OFF LEN`.
    Munlock { off: u64, len: u64 },
    /// `mlockall FLAG...`.
    Mlockall {
        current: bool,
        future: bool,
        onfault: bool,
    },
    /// `munlockall`.
    Munlockall,
    /// `madvise OFF LEN ADVICE`.
    Madvise { off: u64, len: u64, advice: Advice },
    /// `mremap OFF OLDLEN NEWLEN [maymove] [fixed=NEWOFF] [dontunmap]`.
    Mremap {
        off: u64,
        old_len: u64,
        new_len: u64,
        maymove: bool,
        fixed: Option<u64>,
        dontunmap: bool,
    },
    /// `fork`.
    Fork,
    /// `child_exit`.
    ChildExit,
    /// `dump`.
    Dump,
    /// `pagemap OFF LEN`.
    Pagemap { off: u64, len: u64 },
    /// `commit`.
    Commit,
    /// `meminfo KEY`.
    Meminfo { key: String },
    /// `nop`.
    Nop,
    /// `hugetlb_pool SIZE N`: the persistent pool of SIZE pages set to N (prints the pool line).
    HugetlbPool { size: HugeSize, n: u64 },
    /// `hugetlb_stat SIZE`: prints `K <role> hugetlb size=<kB> total=.. free=.. resv=.. surp=..`.
    HugetlbStat { size: HugeSize },
    /// `exit` (model only).
    Exit,
    /// `oom_victim` (model only).
    OomVictim,
    /// `census` (model only).
    Census,
    /// `cpu N` (model only): the role's next ops run on CPU N.
    Cpu { n: u32 },
    /// `thread NAME CPU` (model only): a thread sharing the role's mm, running on CPU.
    Thread { name: String, cpu: u32 },
    /// `access OFF LEN r|w` (model only): the role touches memory through its CPU's TLB.
    Access { off: u64, len: u64, write: bool },
    /// `background NAME OFF LEN r|w` (model only): thread NAME keeps touching the range
    /// through its TLB whenever other CPUs get to run while the kernel works.
    Background {
        name: String,
        off: u64,
        len: u64,
        write: bool,
    },
    /// `thread_exit NAME` (model only): the thread exits; its CPU goes lazy with the mm.
    ThreadExit { name: String },
    /// `perf_ring NAME PAGES`: a perf event (software `dummy`, disabled) whose ring buffer,
    /// once mapped, has 1 + PAGES pages (PAGES 0 or a power of two).
    PerfRing { name: String, pages: u64 },
    /// `close NAME`: close the role's descriptor NAME (a mapping keeps the object alive).
    Close { name: String },
    /// `iomap NAME SIZE uc|wc|wb` (model only): a simulated device region above RAM.
    Iomap {
        name: String,
        size: u64,
        mtype: MemType,
    },
    /// `pat` (model only): the x86 PAT memtype list.
    Pat,
    /// `codefile NAME SIZE`: a tmpfs file of SIZE bytes, each the x86 `ret` instruction.
    Codefile { name: String, size: u64 },
    /// `diskfile NAME SIZE` (model only): a regular file of SIZE bytes on a disk filesystem,
    /// the stand-in a snapshot uses for a real process's mapped files. Its page-cache pages are
    /// not swap-backed (they count in `RssFile`) and charge nothing to `Committed_AS`; a fault
    /// within `i_size` reads its page into the cache.
    Diskfile { name: String, size: u64 },
    /// `uprobe NAME FOFF`: register a uprobe at file offset FOFF of NAME.
    Uprobe { name: String, foff: u64 },
    /// `uprobe_remove NAME FOFF`: unregister it.
    UprobeRemove { name: String, foff: u64 },
    /// `call OFF`: call the code at arena offset OFF.
    Call { off: u64 },
    /// `swapon SIZE`: a swap device of SIZE bytes for the run (at most one, before any fork).
    Swapon { size: u64 },
    /// `thp on|off`: whether the role's process may get transparent huge pages.
    Thp { on: bool },
    /// `oom_score_adj N` (model only): the role's `oom_score_adj`, −1000 … 1000.
    OomScoreAdj { adj: i64 },
    /// `oom_kill [ROLE]` (model only): the OOM killer, choosing by `oom_badness` without ROLE.
    OomKill { target: Option<Role> },
    /// `kill ROLE` (model only): SIGKILL; ROLE's exit starts as a concurrent actor.
    Kill { target: Role },
    /// `mrelease ROLE [FLAGS]`: `process_mrelease(pidfd of ROLE, FLAGS)` from the running role.
    Mrelease { target: Role, flags: u64 },
    /// `wait` (model only): run every started actor to its end.
    Wait,
    /// `secondary NAME OFF LEN [nonblock]` (model only): a device MMU mirroring the range,
    /// subscribed with an mmu notifier; `nonblock`: its invalidation must sleep.
    Secondary {
        name: String,
        off: u64,
        len: u64,
        nonblock: bool,
    },
    /// `msync OFF LEN sync|async|invalidate` (the first two combine with `invalidate`:
    /// `sync,invalidate`).
    Msync {
        off: u64,
        len: u64,
        flags: MsyncFlags,
    },
    /// `write NAME FOFF LEN`: pwrite LEN bytes (0x5a) into descriptor NAME at FOFF.
    Write { name: String, foff: u64, len: u64 },
    /// `truncate NAME SIZE`: ftruncate.
    Truncate { name: String, size: u64 },
    /// `fallocate NAME FOFF LEN [punch] [keep]`.
    Fallocate {
        name: String,
        foff: u64,
        len: u64,
        punch: bool,
        keep: bool,
    },
    /// `fsync NAME`.
    Fsync { name: String },
    /// `reopen NAME AS ro|wo|rw`: a second descriptor AS of NAME's file, with that mode.
    Reopen {
        name: String,
        alias: String,
        mode: OpenMode,
    },
    /// `shmget NAME SIZE [hugetlb]`: a SysV segment (`IPC_PRIVATE`, 0600), named NAME.
    Shmget {
        name: String,
        size: u64,
        hugetlb: bool,
    },
    /// `shmat NAME OFF [rdonly]`.
    Shmat {
        name: String,
        off: u64,
        rdonly: bool,
    },
    /// `shmdt OFF`.
    Shmdt { off: u64 },
    /// `shmrm NAME`: `IPC_RMID`.
    Shmrm { name: String },
    /// `madvise OFF LEN raw=N`: an advice value as the kernel takes it.
    MadviseRaw { off: u64, len: u64, advice: u64 },
    /// `mlock2 OFF LEN raw=0xN`: mlock2(2) with raw flags.
    Mlock2Raw { off: u64, len: u64, flags: u64 },
    /// `mlockall raw=0xN` (`raw=0`: the call without flags).
    MlockallRaw { flags: u64 },
    /// `brk_start OFF`: the role's heap starts (and its break is) at OFF.
    BrkStart { off: u64 },
    /// `brk OFF`: brk(2) to OFF.
    Brk { off: u64 },
    /// `setrlimit memlock|as|data N`: soft and hard limit to N bytes (`None`: `inf`).
    Setrlimit {
        resource: Rlimit,
        value: Option<u64>,
    },
    /// `drop_cap ipc_lock`.
    DropCapIpcLock,
    /// `device_access NAME OFF LEN r|w` (model only): the device touches the range through
    /// its own translations.
    DeviceAccess {
        name: String,
        off: u64,
        len: u64,
        write: bool,
    },
}

/// `msync` flags (`MS_SYNC`, `MS_ASYNC`, `MS_INVALIDATE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MsyncFlags {
    /// `MS_SYNC`.
    pub sync: bool,
    /// `MS_ASYNC`.
    pub async_: bool,
    /// `MS_INVALIDATE`.
    pub invalidate: bool,
}

impl MsyncFlags {
    /// The flags as msync(2) takes them.
    pub fn bits(self) -> u64 {
        (self.async_ as u64) | (self.invalidate as u64) << 1 | (self.sync as u64) << 2
    }
}

/// The resource limits scripts set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rlimit {
    /// `RLIMIT_MEMLOCK`.
    Memlock,
    /// `RLIMIT_AS`.
    As,
    /// `RLIMIT_DATA`.
    Data,
}

impl Rlimit {
    /// The word scripts write.
    pub fn word(self) -> &'static str {
        match self {
            Rlimit::Memlock => "memlock",
            Rlimit::As => "as",
            Rlimit::Data => "data",
        }
    }
}

/// The access mode a descriptor was opened with (`O_RDONLY`, `O_WRONLY`, `O_RDWR`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OpenMode {
    /// `O_RDONLY`.
    Ro,
    /// `O_WRONLY`.
    Wo,
    /// `O_RDWR`.
    #[default]
    Rw,
}

impl OpenMode {
    /// `FMODE_READ`.
    pub fn read(self) -> bool {
        self != OpenMode::Wo
    }
    /// `FMODE_WRITE`.
    pub fn write(self) -> bool {
        self != OpenMode::Ro
    }
    /// The word scripts write.
    pub fn word(self) -> &'static str {
        match self {
            OpenMode::Ro => "ro",
            OpenMode::Wo => "wo",
            OpenMode::Rw => "rw",
        }
    }
}

/// What the exiting process holds (`N` is pages, or VMAs for [`ExitLoad::Vmas`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitLoad {
    /// `N` private anonymous 4 KiB pages, written.
    Anon,
    /// `N` such pages swapped out.
    Swapped,
    /// `N` pages in THPs (`N` a multiple of 512).
    Thp,
    /// `N` one-page VMAs a page apart, each written.
    Vmas,
    /// A shared anonymous mapping of `N` pages, written.
    SharedAnon,
    /// A private mapping of `N` pages, mlocked (populated by `MAP_LOCKED`).
    Locked,
    /// A memfd of `N` pages mapped shared and written.
    Memfd,
}

impl ExitLoad {
    /// Every load, in the order `exitmm bench` sweeps them.
    pub const ALL: [ExitLoad; 7] = [
        ExitLoad::Anon,
        ExitLoad::Thp,
        ExitLoad::Swapped,
        ExitLoad::SharedAnon,
        ExitLoad::Locked,
        ExitLoad::Memfd,
        ExitLoad::Vmas,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            ExitLoad::Anon => "anon 4K",
            ExitLoad::Swapped => "swapped",
            ExitLoad::Thp => "THP",
            ExitLoad::Vmas => "1-page VMAs",
            ExitLoad::SharedAnon => "shared anon",
            ExitLoad::Locked => "mlocked",
            ExitLoad::Memfd => "memfd shared",
        }
    }

    /// What one unit is.
    pub fn unit(self) -> &'static str {
        if self == ExitLoad::Vmas {
            "VMA"
        } else {
            "page"
        }
    }

    /// The script that sets the load up (everything but the exit).
    pub fn script(self, n: u64) -> String {
        let len = n * 4096;
        match self {
            ExitLoad::Anon => format!("mmap 0 {len} rw private,anon\ntouch 0 {len} w\n"),
            ExitLoad::Swapped => format!(
                "swapon {}\nmmap 0 {len} rw private,anon\ntouch 0 {len} w\nmadvise 0 {len} pageout\n",
                (n + 16) * 4096
            ),
            ExitLoad::Thp => format!(
                "thp on\nmmap 0 {len} rw private,anon\nmadvise 0 {len} hugepage\ntouch 0 {len} w 2M\n"
            ),
            ExitLoad::Vmas => (0..n)
                .map(|i| format!("mmap {} 4K rw private,anon\ntouch {} 4K w\n", i * 8192, i * 8192))
                .collect(),
            ExitLoad::SharedAnon => format!("mmap 0 {len} rw shared,anon\ntouch 0 {len} w\n"),
            ExitLoad::Locked => format!("mmap 0 {len} rw private,anon,locked\n"),
            ExitLoad::Memfd => format!("memfd f {len}\nmmap 0 {len} rw shared f\ntouch 0 {len} w\n"),
        }
    }
}

/// The memory type of an `iomap` device region (x86 PAT cache modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemType {
    /// Uncached (`_PAGE_CACHE_MODE_UC_MINUS`, as `ioremap` and `pgprot_noncached` give).
    Uc,
    /// Write-combining.
    Wc,
    /// Write-back.
    Wb,
}

impl MemType {
    /// The script word.
    pub fn word(self) -> &'static str {
        match self {
            MemType::Uc => "uc",
            MemType::Wc => "wc",
            MemType::Wb => "wb",
        }
    }
}

impl Op {
    /// True for operations only the model can run (the kernel runner refuses them).
    pub fn model_only(&self) -> bool {
        matches!(
            self,
            Op::Exit
                | Op::OomVictim
                | Op::Census
                | Op::Cpu { .. }
                | Op::Thread { .. }
                | Op::Access { .. }
                | Op::Background { .. }
                | Op::ThreadExit { .. }
                | Op::Iomap { .. }
                | Op::Diskfile { .. }
                | Op::Pat
                | Op::OomScoreAdj { .. }
                | Op::OomKill { .. }
                | Op::Kill { .. }
                | Op::Wait
                | Op::Secondary { .. }
                | Op::DeviceAccess { .. }
        )
    }

    /// The op's first word, as written in scripts.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Mmap { .. } => "mmap",
            Op::MakeFile { tmpfs: false, .. } => "memfd",
            Op::MakeFile { tmpfs: true, .. } => "shmfile",
            Op::Touch { .. } => "touch",
            Op::Munmap { .. } => "munmap",
            Op::Mprotect { .. } => "mprotect",
            Op::Mlock { .. } => "mlock",
            Op::Munlock { .. } => "munlock",
            Op::Mlockall { .. } => "mlockall",
            Op::Munlockall => "munlockall",
            Op::Madvise { .. } => "madvise",
            Op::Mremap { .. } => "mremap",
            Op::Fork => "fork",
            Op::ChildExit => "child_exit",
            Op::Dump => "dump",
            Op::Pagemap { .. } => "pagemap",
            Op::Commit => "commit",
            Op::Meminfo { .. } => "meminfo",
            Op::Nop => "nop",
            Op::HugetlbPool { .. } => "hugetlb_pool",
            Op::HugetlbStat { .. } => "hugetlb_stat",
            Op::Exit => "exit",
            Op::OomVictim => "oom_victim",
            Op::Census => "census",
            Op::Cpu { .. } => "cpu",
            Op::Thread { .. } => "thread",
            Op::Access { .. } => "access",
            Op::Background { .. } => "background",
            Op::ThreadExit { .. } => "thread_exit",
            Op::PerfRing { .. } => "perf_ring",
            Op::Close { .. } => "close",
            Op::Iomap { .. } => "iomap",
            Op::Pat => "pat",
            Op::Codefile { .. } => "codefile",
            Op::Diskfile { .. } => "diskfile",
            Op::Swapon { .. } => "swapon",
            Op::Thp { .. } => "thp",
            Op::Uprobe { .. } => "uprobe",
            Op::UprobeRemove { .. } => "uprobe_remove",
            Op::Call { .. } => "call",
            Op::OomScoreAdj { .. } => "oom_score_adj",
            Op::OomKill { .. } => "oom_kill",
            Op::Kill { .. } => "kill",
            Op::Mrelease { .. } => "mrelease",
            Op::Wait => "wait",
            Op::Secondary { .. } => "secondary",
            Op::DeviceAccess { .. } => "device_access",
            Op::Msync { .. } => "msync",
            Op::Write { .. } => "write",
            Op::Truncate { .. } => "truncate",
            Op::Fallocate { .. } => "fallocate",
            Op::Fsync { .. } => "fsync",
            Op::Reopen { .. } => "reopen",
            Op::Shmget { .. } => "shmget",
            Op::Shmat { .. } => "shmat",
            Op::Shmdt { .. } => "shmdt",
            Op::Shmrm { .. } => "shmrm",
            Op::MadviseRaw { .. } => "madvise",
            Op::Mlock2Raw { .. } => "mlock2",
            Op::MlockallRaw { .. } => "mlockall",
            Op::BrkStart { .. } => "brk_start",
            Op::Brk { .. } => "brk",
            Op::Setrlimit { .. } => "setrlimit",
            Op::DropCapIpcLock => "drop_cap",
        }
    }
}

/// One line of a script that holds an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub line: usize,
    /// The operation text as written (comment and surrounding blanks removed).
    pub text: String,
    /// The process it runs in.
    pub role: Role,
    /// The operation.
    pub op: Op,
}

/// A whole-line comment of a script (`# ...`), kept so that a transcript can show it where it
/// stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// 1-based line number in the file.
    pub line: usize,
    /// The text after `#`, with the one space after it removed.
    pub text: String,
}

impl Comment {
    /// True for the machine-checked expectations of model-only scenarios (`# expect: ...`,
    /// `# expect-no: ...`), which tests read and transcripts leave out.
    pub fn is_expectation(&self) -> bool {
        self.text.starts_with("expect:") || self.text.starts_with("expect-no:")
    }
}

/// A parsed script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The operations in file order.
    pub lines: Vec<Line>,
    /// The whole-line comments in file order.
    pub comments: Vec<Comment>,
}

impl Script {
    /// True if any op can only run on the model.
    pub fn model_only(&self) -> bool {
        self.lines.iter().any(|l| l.op.model_only())
    }
}

/// A script that does not parse: the line and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in one line.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// The longest range `touch` and `pagemap` take (the kernel runner reads at most this much).
pub const MAX_SPAN: u64 = 1 << 30;

/// Parses a number: decimal or `0x` hex, optional `K M G T P` suffix, terms summed with `+`.
pub fn parse_number(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("empty number".into());
    }
    let mut total: u64 = 0;
    for term in s.split('+') {
        let (digits, mult) = match term.chars().last() {
            Some('K') | Some('k') => (&term[..term.len() - 1], 1u64 << 10),
            Some('M') | Some('m') => (&term[..term.len() - 1], 1u64 << 20),
            Some('G') | Some('g') => (&term[..term.len() - 1], 1u64 << 30),
            Some('T') | Some('t') => (&term[..term.len() - 1], 1u64 << 40),
            Some('P') | Some('p') => (&term[..term.len() - 1], 4096),
            _ => (term, 1),
        };
        let v = if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            u64::from_str_radix(hex, 16)
        } else {
            digits.parse::<u64>()
        }
        .map_err(|_| format!("bad number '{s}'"))?;
        let v = v
            .checked_mul(mult)
            .ok_or_else(|| format!("number '{s}' overflows 64 bits"))?;
        total = total
            .checked_add(v)
            .ok_or_else(|| format!("number '{s}' overflows 64 bits"))?;
    }
    Ok(total)
}

fn parse_prot(s: &str) -> Result<Prot, String> {
    if s == "none" {
        return Ok(Prot::default());
    }
    let mut p = Prot::default();
    for c in s.chars() {
        match c {
            'r' => p.read = true,
            'w' => p.write = true,
            'x' => p.exec = true,
            _ => return Err(format!("bad PROT '{s}': use any of r w x, or none")),
        }
    }
    Ok(p)
}

impl MapFlags {
    /// The named flags a raw value holds (the kernel decides what the rest means).
    pub fn from_raw(raw: u64) -> MapFlags {
        use map_bits as b;
        let t = raw & b::TYPE;
        MapFlags {
            shared: t == b::SHARED || t == b::SHARED_VALIDATE,
            anon: raw & b::ANONYMOUS != 0,
            populate: raw & (b::POPULATE | b::NONBLOCK) == b::POPULATE,
            locked: raw & b::LOCKED != 0,
            noreserve: raw & b::NORESERVE != 0,
            growsdown: raw & b::GROWSDOWN != 0,
            fixed: raw & b::FIXED != 0,
            hugetlb: (raw & b::HUGETLB != 0).then_some(match (raw >> b::HUGE_SHIFT) & 0x3f {
                30 => HugeSize::G1,
                _ => HugeSize::M2,
            }),
            raw: Some(raw),
        }
    }
}

fn parse_map_flags(s: &str) -> Result<MapFlags, String> {
    let mut f = MapFlags::default();
    let (mut private, mut shared) = (false, false);
    for w in s.split(',') {
        match w {
            "private" => private = true,
            "shared" => shared = true,
            "anon" => f.anon = true,
            "populate" => f.populate = true,
            "locked" => f.locked = true,
            "noreserve" => f.noreserve = true,
            "growsdown" => f.growsdown = true,
            "fixed" => f.fixed = true,
            h if h == "hugetlb" || h.starts_with("hugetlb=") => {
                if f.hugetlb.is_some() {
                    return Err("mmap: more than one hugetlb flag".into());
                }
                f.hugetlb = Some(match h.strip_prefix("hugetlb=") {
                    None => HugeSize::M2,
                    Some(size) => HugeSize::parse(size).map_err(|e| format!("mmap: {e}"))?,
                });
            }
            _ => return Err(format!("bad mmap flag '{w}'")),
        }
    }
    if private == shared {
        return Err("mmap FLAGS need exactly one of private, shared".into());
    }
    f.shared = shared;
    Ok(f)
}

fn want(words: &[&str], min: usize, max: usize, usage: &str) -> Result<(), String> {
    if words.len() < min || words.len() > max {
        Err(format!("usage: {usage}"))
    } else {
        Ok(())
    }
}

fn num(w: &str, what: &str) -> Result<u64, String> {
    parse_number(w).map_err(|e| format!("{what}: {e}"))
}

fn role_word(w: &str, op: &str) -> Result<Role, String> {
    match w {
        "P" => Ok(Role::P),
        "C" => Ok(Role::C),
        x => Err(format!("{op}: the process is P or C, got '{x}'")),
    }
}

fn check_name(n: &str) -> Result<String, String> {
    if n.is_empty()
        || n.len() > 200
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(format!("bad file name '{n}': use letters, digits, _ - ."));
    }
    Ok(n.to_string())
}

fn parse_op(words: &[&str]) -> Result<Op, String> {
    let args = &words[1..];
    let op = match words[0] {
        "mmap" => {
            let usage = "mmap OFF LEN PROT FLAGS [FILE [FOFF]]";
            want(args, 4, 6, usage)?;
            let file = args.get(4).map(|n| check_name(n)).transpose()?;
            if let Some(r) = args[3].strip_prefix("raw=") {
                let raw = num(r, "raw=")?;
                return Ok(Op::Mmap {
                    off: num(args[0], "OFF")?,
                    len: num(args[1], "LEN")?,
                    prot: parse_prot(args[2])?,
                    flags: MapFlags::from_raw(raw),
                    file,
                    foff: args
                        .get(5)
                        .map(|w| num(w, "FOFF"))
                        .transpose()?
                        .unwrap_or(0),
                });
            }
            let flags = parse_map_flags(args[3])?;
            if flags.hugetlb.is_some() && !flags.anon {
                return Err(
                    "mmap: 'hugetlb' (MAP_HUGETLB) needs 'anon'; map a hugetlb memfd as a FILE"
                        .into(),
                );
            }
            if flags.anon && file.is_some() {
                return Err("mmap: 'anon' takes no FILE".into());
            }
            if !flags.anon && file.is_none() {
                return Err("mmap: give a FILE or the 'anon' flag".into());
            }
            Op::Mmap {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                prot: parse_prot(args[2])?,
                flags,
                file,
                foff: args
                    .get(5)
                    .map(|w| num(w, "FOFF"))
                    .transpose()?
                    .unwrap_or(0),
            }
        }
        w @ ("memfd" | "shmfile") => {
            let usage = if w == "memfd" {
                "memfd NAME SIZE [hugetlb[=2M|1G]] [fill]"
            } else {
                "shmfile NAME SIZE [fill]"
            };
            want(args, 2, if w == "memfd" { 4 } else { 3 }, usage)?;
            let mut rest = &args[2..];
            let mut hugetlb = None;
            if let Some(h) = rest
                .first()
                .filter(|h| **h == "hugetlb" || h.starts_with("hugetlb="))
            {
                if w != "memfd" {
                    return Err(format!("{w}: no 'hugetlb' (only memfd takes it)"));
                }
                hugetlb = Some(match h.strip_prefix("hugetlb=") {
                    None => HugeSize::M2,
                    Some(size) => HugeSize::parse(size).map_err(|e| format!("{w}: {e}"))?,
                });
                rest = &rest[1..];
            }
            let fill = match rest {
                [] => false,
                [x] if *x == "fill" => true,
                [x] if hugetlb.is_none() && w == "memfd" => {
                    return Err(format!(
                        "{w}: expected 'hugetlb[=2M|1G]' or 'fill', got '{x}'"
                    ))
                }
                [x] => return Err(format!("{w}: expected 'fill', got '{x}'")),
                _ => return Err(format!("usage: {usage}")),
            };
            let size = num(args[1], "SIZE")?;
            if let Some(h) = hugetlb {
                if size % h.bytes() != 0 {
                    return Err(format!(
                        "{w}: SIZE of a hugetlb memfd must be a multiple of {}",
                        h.word()
                    ));
                }
            }
            Op::MakeFile {
                name: check_name(args[0])?,
                size,
                fill,
                tmpfs: w == "shmfile",
                hugetlb,
            }
        }
        "hugetlb_pool" => {
            want(args, 2, 2, "hugetlb_pool SIZE N (SIZE 2M or 1G)")?;
            Op::HugetlbPool {
                size: HugeSize::parse(args[0]).map_err(|e| format!("hugetlb_pool: {e}"))?,
                n: num(args[1], "N")?,
            }
        }
        "hugetlb_stat" => {
            want(args, 1, 1, "hugetlb_stat SIZE (SIZE 2M or 1G)")?;
            Op::HugetlbStat {
                size: HugeSize::parse(args[0]).map_err(|e| format!("hugetlb_stat: {e}"))?,
            }
        }
        "touch" => {
            let grow = args.len() > 3 && args[args.len() - 1] == "grow";
            let args = if grow { &args[..args.len() - 1] } else { args };
            want(args, 3, 4, "touch OFF LEN r|w [STRIDE] [grow]")?;
            let write = match args[2] {
                "r" => false,
                "w" => true,
                x => return Err(format!("touch: expected r or w, got '{x}'")),
            };
            let stride = args
                .get(3)
                .map(|w| num(w, "STRIDE"))
                .transpose()?
                .unwrap_or(4096);
            if stride == 0 {
                return Err("touch: STRIDE must be positive".into());
            }
            Op::Touch {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                write,
                stride,
                grow,
            }
        }
        "munmap" => {
            want(args, 2, 2, "munmap OFF LEN")?;
            Op::Munmap {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
            }
        }
        "mprotect" => {
            want(args, 3, 3, "mprotect OFF LEN PROT")?;
            Op::Mprotect {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                prot: parse_prot(args[2])?,
            }
        }
        "mlock" => {
            want(args, 2, 3, "mlock OFF LEN [onfault]")?;
            let onfault = match args.get(2) {
                None => false,
                Some(&"onfault") => true,
                Some(x) => return Err(format!("mlock: expected 'onfault', got '{x}'")),
            };
            Op::Mlock {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                onfault,
            }
        }
        "munlock" => {
            want(args, 2, 2, "munlock OFF LEN")?;
            Op::Munlock {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
            }
        }
        "mlockall" if args.len() == 1 && args[0].starts_with("raw=") => Op::MlockallRaw {
            flags: num(&args[0][4..], "raw=")?,
        },
        "mlock2" => {
            want(args, 3, 3, "mlock2 OFF LEN raw=0xN")?;
            let Some(r) = args[2].strip_prefix("raw=") else {
                return Err("mlock2: the flags are raw=0xN".into());
            };
            Op::Mlock2Raw {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                flags: num(r, "raw=")?,
            }
        }
        "madvise" if args.len() == 3 && args[2].starts_with("raw=") => Op::MadviseRaw {
            off: num(args[0], "OFF")?,
            len: num(args[1], "LEN")?,
            advice: num(&args[2][4..], "raw=")?,
        },
        "mlockall" => {
            want(args, 1, 3, "mlockall current|future|onfault ...")?;
            let (mut current, mut future, mut onfault) = (false, false, false);
            for a in args {
                match *a {
                    "current" => current = true,
                    "future" => future = true,
                    "onfault" => onfault = true,
                    x => return Err(format!("mlockall: bad flag '{x}'")),
                }
            }
            Op::Mlockall {
                current,
                future,
                onfault,
            }
        }
        "munlockall" => {
            want(args, 0, 0, "munlockall")?;
            Op::Munlockall
        }
        "madvise" => {
            want(args, 3, 3, "madvise OFF LEN ADVICE")?;
            let advice = Advice::ALL
                .iter()
                .find(|(w, _)| *w == args[2])
                .map(|(_, a)| *a)
                .ok_or_else(|| format!("madvise: unknown advice '{}'", args[2]))?;
            Op::Madvise {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                advice,
            }
        }
        "mremap" => {
            if args.len() < 3 {
                return Err(
                    "usage: mremap OFF OLDLEN NEWLEN [maymove] [fixed=NEWOFF] [dontunmap]".into(),
                );
            }
            let (mut maymove, mut fixed, mut dontunmap) = (false, None, false);
            for a in &args[3..] {
                if *a == "maymove" {
                    maymove = true;
                } else if *a == "dontunmap" {
                    dontunmap = true;
                } else if let Some(v) = a.strip_prefix("fixed=") {
                    fixed = Some(num(v, "NEWOFF")?);
                } else {
                    return Err(format!("mremap: bad option '{a}'"));
                }
            }
            Op::Mremap {
                off: num(args[0], "OFF")?,
                old_len: num(args[1], "OLDLEN")?,
                new_len: num(args[2], "NEWLEN")?,
                maymove,
                fixed,
                dontunmap,
            }
        }
        "pagemap" => {
            want(args, 2, 2, "pagemap OFF LEN")?;
            Op::Pagemap {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
            }
        }
        "cpu" => {
            want(args, 1, 1, "cpu N")?;
            let n = num(args[0], "N")?;
            if n >= 64 {
                return Err("cpu: N is below 64".into());
            }
            Op::Cpu { n: n as u32 }
        }
        "thread" => {
            want(args, 2, 2, "thread NAME CPU")?;
            let cpu = num(args[1], "CPU")?;
            if cpu >= 64 {
                return Err("thread: CPU is below 64".into());
            }
            Op::Thread {
                name: check_name(args[0])?,
                cpu: cpu as u32,
            }
        }
        "access" | "background" => {
            let (name, rest) = if words[0] == "background" {
                want(args, 4, 4, "background NAME OFF LEN r|w")?;
                (Some(check_name(args[0])?), &args[1..])
            } else {
                want(args, 3, 3, "access OFF LEN r|w")?;
                (None, args)
            };
            let write = match rest[2] {
                "r" => false,
                "w" => true,
                x => return Err(format!("{}: expected r or w, got '{x}'", words[0])),
            };
            let len = num(rest[1], "LEN")?;
            if len > MAX_SPAN {
                return Err(format!("{}: LEN is at most 1G", words[0]));
            }
            let off = num(rest[0], "OFF")?;
            match name {
                Some(name) => Op::Background {
                    name,
                    off,
                    len,
                    write,
                },
                None => Op::Access { off, len, write },
            }
        }
        "thread_exit" => {
            want(args, 1, 1, "thread_exit NAME")?;
            Op::ThreadExit {
                name: check_name(args[0])?,
            }
        }
        "perf_ring" => {
            want(args, 2, 2, "perf_ring NAME PAGES")?;
            let pages = num(args[1], "PAGES")?;
            if pages != 0 && !pages.is_power_of_two() {
                return Err("perf_ring: PAGES must be 0 or a power of two".into());
            }
            if pages > 1 << 18 {
                return Err("perf_ring: PAGES is at most 262144 (1 GiB)".into());
            }
            Op::PerfRing {
                name: check_name(args[0])?,
                pages,
            }
        }
        "msync" => {
            want(args, 3, 3, "msync OFF LEN sync|async|invalidate")?;
            let mut flags = MsyncFlags::default();
            for w in args[2].split(',') {
                let f = match w {
                    "sync" => &mut flags.sync,
                    "async" => &mut flags.async_,
                    "invalidate" => &mut flags.invalidate,
                    x => {
                        return Err(format!(
                            "msync: flags are sync, async and invalidate, joined by ',', got '{x}'"
                        ))
                    }
                };
                if *f {
                    return Err(format!("msync: '{w}' given twice"));
                }
                *f = true;
            }
            Op::Msync {
                off: num(args[0], "OFF")?,
                len: num(args[1], "LEN")?,
                flags,
            }
        }
        "write" => {
            want(args, 3, 3, "write NAME FOFF LEN")?;
            let len = num(args[2], "LEN")?;
            if len > MAX_SPAN {
                return Err("write: LEN is at most 1G".into());
            }
            Op::Write {
                name: check_name(args[0])?,
                foff: num(args[1], "FOFF")?,
                len,
            }
        }
        "truncate" => {
            want(args, 2, 2, "truncate NAME SIZE")?;
            Op::Truncate {
                name: check_name(args[0])?,
                size: num(args[1], "SIZE")?,
            }
        }
        "fallocate" => {
            want(args, 3, 5, "fallocate NAME FOFF LEN [punch] [keep]")?;
            let (mut punch, mut keep) = (false, false);
            for w in &args[3..] {
                let f = match *w {
                    "punch" => &mut punch,
                    "keep" => &mut keep,
                    x => return Err(format!("fallocate: 'punch' or 'keep', got '{x}'")),
                };
                if *f {
                    return Err(format!("fallocate: '{w}' given twice"));
                }
                *f = true;
            }
            let len = num(args[2], "LEN")?;
            if len > MAX_SPAN && !punch {
                return Err("fallocate: LEN is at most 1G (without punch)".into());
            }
            Op::Fallocate {
                name: check_name(args[0])?,
                foff: num(args[1], "FOFF")?,
                len,
                punch,
                keep,
            }
        }
        "fsync" => {
            want(args, 1, 1, "fsync NAME")?;
            Op::Fsync {
                name: check_name(args[0])?,
            }
        }
        "brk_start" => {
            want(args, 1, 1, "brk_start OFF")?;
            Op::BrkStart {
                off: num(args[0], "OFF")?,
            }
        }
        "brk" => {
            want(args, 1, 1, "brk OFF")?;
            Op::Brk {
                off: num(args[0], "OFF")?,
            }
        }
        "setrlimit" => {
            want(args, 2, 2, "setrlimit memlock|as|data N|inf")?;
            let resource = match args[0] {
                "memlock" => Rlimit::Memlock,
                "as" => Rlimit::As,
                "data" => Rlimit::Data,
                x => return Err(format!("setrlimit: memlock, as or data, got '{x}'")),
            };
            let value = match args[1] {
                "inf" => None,
                n => Some(num(n, "N")?),
            };
            Op::Setrlimit { resource, value }
        }
        "drop_cap" => {
            want(args, 1, 1, "drop_cap ipc_lock")?;
            if args[0] != "ipc_lock" {
                return Err(format!("drop_cap: only ipc_lock, got '{}'", args[0]));
            }
            Op::DropCapIpcLock
        }
        "shmget" => {
            want(args, 2, 3, "shmget NAME SIZE [hugetlb]")?;
            let hugetlb = match args.get(2) {
                None => false,
                Some(&"hugetlb") => true,
                Some(x) => return Err(format!("shmget: 'hugetlb' or nothing, got '{x}'")),
            };
            let size = num(args[1], "SIZE")?;
            if size > 4 * MAX_SPAN {
                return Err("shmget: SIZE is at most 4G".into());
            }
            Op::Shmget {
                name: check_name(args[0])?,
                size,
                hugetlb,
            }
        }
        "shmat" => {
            want(args, 2, 3, "shmat NAME OFF [rdonly]")?;
            let rdonly = match args.get(2) {
                None => false,
                Some(&"rdonly") => true,
                Some(x) => return Err(format!("shmat: 'rdonly' or nothing, got '{x}'")),
            };
            Op::Shmat {
                name: check_name(args[0])?,
                off: num(args[1], "OFF")?,
                rdonly,
            }
        }
        "shmdt" => {
            want(args, 1, 1, "shmdt OFF")?;
            Op::Shmdt {
                off: num(args[0], "OFF")?,
            }
        }
        "shmrm" => {
            want(args, 1, 1, "shmrm NAME")?;
            Op::Shmrm {
                name: check_name(args[0])?,
            }
        }
        "reopen" => {
            want(args, 3, 3, "reopen NAME AS ro|wo|rw")?;
            let mode = match args[2] {
                "ro" => OpenMode::Ro,
                "wo" => OpenMode::Wo,
                "rw" => OpenMode::Rw,
                x => return Err(format!("reopen: mode is ro, wo or rw, got '{x}'")),
            };
            Op::Reopen {
                name: check_name(args[0])?,
                alias: check_name(args[1])?,
                mode,
            }
        }
        "close" => {
            want(args, 1, 1, "close NAME")?;
            Op::Close {
                name: check_name(args[0])?,
            }
        }
        "iomap" => {
            want(args, 3, 3, "iomap NAME SIZE uc|wc|wb")?;
            let mtype = match args[2] {
                "uc" => MemType::Uc,
                "wc" => MemType::Wc,
                "wb" => MemType::Wb,
                x => {
                    return Err(format!(
                        "iomap: memory type must be uc, wc or wb, got '{x}'"
                    ))
                }
            };
            let size = num(args[1], "SIZE")?;
            if size == 0 || size % 4096 != 0 || size > 1 << 40 {
                return Err("iomap: SIZE must be a positive multiple of 4K, at most 1T".into());
            }
            Op::Iomap {
                name: check_name(args[0])?,
                size,
                mtype,
            }
        }
        "codefile" => {
            want(args, 2, 2, "codefile NAME SIZE")?;
            let size = num(args[1], "SIZE")?;
            if size > MAX_SPAN {
                return Err("codefile: SIZE is at most 1G".into());
            }
            Op::Codefile {
                name: check_name(args[0])?,
                size,
            }
        }
        "diskfile" => {
            want(args, 2, 2, "diskfile NAME SIZE")?;
            let size = num(args[1], "SIZE")?;
            if size > 1 << 44 {
                return Err("diskfile: SIZE is at most 16T".into());
            }
            Op::Diskfile {
                name: check_name(args[0])?,
                size,
            }
        }
        w @ ("uprobe" | "uprobe_remove") => {
            want(args, 2, 2, &format!("{w} NAME FOFF"))?;
            let (name, foff) = (check_name(args[0])?, num(args[1], "FOFF")?);
            if w == "uprobe" {
                Op::Uprobe { name, foff }
            } else {
                Op::UprobeRemove { name, foff }
            }
        }
        "swapon" => {
            want(args, 1, 1, "swapon SIZE")?;
            let size = num(args[0], "SIZE")?;
            // The header page and at least one slot; no more than the runner's zram may hold.
            if size < 2 * 4096 || size % 4096 != 0 || size > 4 * MAX_SPAN {
                return Err("swapon: SIZE is a multiple of 4K from 8K to 4G".into());
            }
            Op::Swapon { size }
        }
        "thp" => {
            want(args, 1, 1, "thp on|off")?;
            match args[0] {
                "on" => Op::Thp { on: true },
                "off" => Op::Thp { on: false },
                x => return Err(format!("thp: on or off, got '{x}'")),
            }
        }
        "oom_score_adj" => {
            want(args, 1, 1, "oom_score_adj N")?;
            let (neg, digits) = match args[0].strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, args[0]),
            };
            let n = num(digits, "N")? as i64;
            let adj = if neg { -n } else { n };
            if !(-1000..=1000).contains(&adj) {
                return Err("oom_score_adj: N is from -1000 to 1000".into());
            }
            Op::OomScoreAdj { adj }
        }
        "oom_kill" => {
            want(args, 0, 1, "oom_kill [P|C]")?;
            Op::OomKill {
                target: args.first().map(|r| role_word(r, "oom_kill")).transpose()?,
            }
        }
        "kill" => {
            want(args, 1, 1, "kill P|C")?;
            Op::Kill {
                target: role_word(args[0], "kill")?,
            }
        }
        "mrelease" => {
            want(args, 1, 2, "mrelease P|C [FLAGS]")?;
            Op::Mrelease {
                target: role_word(args[0], "mrelease")?,
                flags: args
                    .get(1)
                    .map(|f| num(f, "FLAGS"))
                    .transpose()?
                    .unwrap_or(0),
            }
        }
        "secondary" => {
            want(args, 3, 4, "secondary NAME OFF LEN [nonblock]")?;
            let nonblock = match args.get(3) {
                None => false,
                Some(&"nonblock") => true,
                Some(x) => return Err(format!("secondary: expected 'nonblock', got '{x}'")),
            };
            let len = num(args[2], "LEN")?;
            if len == 0 || len > MAX_SPAN {
                return Err("secondary: LEN is from 1 byte to 1G".into());
            }
            Op::Secondary {
                name: check_name(args[0])?,
                off: num(args[1], "OFF")?,
                len,
                nonblock,
            }
        }
        "device_access" => {
            want(args, 4, 4, "device_access NAME OFF LEN r|w")?;
            let write = match args[3] {
                "r" => false,
                "w" => true,
                x => return Err(format!("device_access: expected r or w, got '{x}'")),
            };
            let len = num(args[2], "LEN")?;
            if len > MAX_SPAN {
                return Err("device_access: LEN is at most 1G".into());
            }
            Op::DeviceAccess {
                name: check_name(args[0])?,
                off: num(args[1], "OFF")?,
                len,
                write,
            }
        }
        "call" => {
            want(args, 1, 1, "call OFF")?;
            Op::Call {
                off: num(args[0], "OFF")?,
            }
        }
        "meminfo" => {
            want(args, 1, 1, "meminfo KEY")?;
            if !args[0]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(' || c == ')')
            {
                return Err(format!("meminfo: bad key '{}'", args[0]));
            }
            Op::Meminfo {
                key: args[0].to_string(),
            }
        }
        w => {
            let op = match w {
                "fork" => Op::Fork,
                "child_exit" => Op::ChildExit,
                "dump" => Op::Dump,
                "commit" => Op::Commit,
                "nop" => Op::Nop,
                "exit" => Op::Exit,
                "oom_victim" => Op::OomVictim,
                "census" => Op::Census,
                "pat" => Op::Pat,
                "wait" => Op::Wait,
                _ => return Err(format!("unknown op '{w}'")),
            };
            want(args, 0, 0, w)?;
            op
        }
    };
    Ok(op)
}

/// Parses a whole script. Checks the sequencing rules too: one child at a time, `child` ops only
/// while a child exists, and nothing but `child ...`, `child_exit`, `census`, `hugetlb_stat` and
/// `pat` after `exit`.
pub fn parse(src: &str) -> Result<Script, ParseError> {
    let mut lines = Vec::new();
    let mut comments = Vec::new();
    let mut child = false;
    let mut parent_exited = false;
    let (mut forked, mut swapon) = (false, false);
    // A kill or OOM kill may have ended the child by the next `wait`: from then on whether
    // there is one is the runner's to check.
    let (mut killing, mut child_maybe_gone) = (false, false);
    for (i, raw) in src.lines().enumerate() {
        let line = i + 1;
        if let Some(c) = raw.trim_start().strip_prefix('#') {
            comments.push(Comment {
                line,
                text: c.strip_prefix(' ').unwrap_or(c).trim_end().to_string(),
            });
            continue;
        }
        let text = raw.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let err = |msg: String| ParseError { line, msg };
        let words: Vec<&str> = text.split_whitespace().collect();
        let (role, words) = if words[0] == "child" {
            if words.len() < 2 {
                return Err(err("usage: child OP ...".into()));
            }
            (Role::C, &words[1..])
        } else {
            (Role::P, &words[..])
        };
        let op = parse_op(words).map_err(err)?;
        match (&op, role) {
            (Op::Fork | Op::ChildExit, Role::C) => {
                return Err(err(format!(
                    "'{}' runs in the parent, not as 'child {}'",
                    op.name(),
                    op.name()
                )))
            }
            (Op::Census, Role::C) => {
                return Err(err("'census' is global: write it without 'child'".into()))
            }
            (Op::Kill { .. } | Op::OomKill { .. }, _) => killing = true,
            (Op::Wait, _) if killing => {
                killing = false;
                child_maybe_gone = true;
            }
            (Op::Fork, _) if child && child_maybe_gone => child_maybe_gone = false,
            (Op::Fork, _) if child => {
                return Err(err("fork: one child at a time; 'child_exit' first".into()))
            }
            (Op::Fork, _) => {
                child = true;
                forked = true;
            }
            (Op::Swapon { .. }, _) if swapon => {
                return Err(err("swapon: at most one swap device per script".into()))
            }
            (Op::Swapon { .. }, _) if forked || role == Role::C => {
                return Err(err("swapon: before the first fork, in the parent".into()))
            }
            (Op::Swapon { .. }, _) => swapon = true,
            (Op::ChildExit, _) if !child => {
                return Err(err("child_exit: there is no child".into()))
            }
            (Op::ChildExit, _) => child = false,
            (_, Role::C) if !child => {
                return Err(err("child: there is no child; 'fork' first".into()))
            }
            _ => {}
        }
        if parent_exited
            && role == Role::P
            && !matches!(
                op,
                Op::ChildExit | Op::Census | Op::HugetlbStat { .. } | Op::Pat
            )
        {
            return Err(err(format!(
                "'{}' after 'exit': the parent is gone",
                op.name()
            )));
        }
        if matches!(op, Op::Exit) && role == Role::P {
            parent_exited = true;
        }
        lines.push(Line {
            line,
            text: text.to_string(),
            role,
            op,
        });
    }
    Ok(Script { lines, comments })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_suffixes_and_sums() {
        assert_eq!(parse_number("4K").unwrap(), 4096);
        assert_eq!(parse_number("1G+4K").unwrap(), (1 << 30) + 4096);
        assert_eq!(parse_number("0x200000").unwrap(), 2 << 20);
        assert_eq!(parse_number("3P").unwrap(), 3 * 4096);
        assert_eq!(parse_number("2T").unwrap(), 2 << 40);
        assert!(parse_number("12Q").is_err());
        assert!(parse_number("").is_err());
        assert!(parse_number("1+").is_err());
        assert!(parse_number("99999999999999999999").is_err());
        assert!(parse_number("16777216T").is_err());
    }

    #[test]
    fn parses_ops_and_roles() {
        let s =
            parse("# hi\nmmap 0 2M rw private,anon # c\nfork\nchild touch 0 4K w\nchild_exit\n")
                .unwrap();
        assert_eq!(s.lines.len(), 4);
        assert_eq!(
            s.comments,
            vec![Comment {
                line: 1,
                text: "hi".into()
            }]
        );
        assert_eq!(s.lines[0].line, 2);
        assert_eq!(s.lines[0].text, "mmap 0 2M rw private,anon");
        assert_eq!(s.lines[2].role, Role::C);
        assert!(matches!(
            s.lines[2].op,
            Op::Touch {
                write: true,
                len: 4096,
                ..
            }
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("nop\nmmap 0 1M rw anon\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("private, shared"), "{}", e.msg);
        assert_eq!(parse("child nop").unwrap_err().line, 1);
        assert_eq!(parse("fork\nfork").unwrap_err().line, 2);
        assert_eq!(parse("exit\nnop").unwrap_err().line, 2);
        assert!(parse("exit\ncensus").is_ok());
        assert!(
            parse("exit\nhugetlb_stat 2M").is_ok(),
            "the pools are global"
        );
        assert!(parse("bogus 1 2").unwrap_err().msg.contains("unknown op"));
        assert!(parse("mremap 0 4K 8K fixed=zz").is_err());
    }

    #[test]
    fn hugetlb_pool_and_stat() {
        let s = parse("hugetlb_pool 2M 8\nhugetlb_pool 1G 0x1\nhugetlb_stat 2M\nhugetlb_stat 1G")
            .unwrap();
        let ops: Vec<&Op> = s.lines.iter().map(|l| &l.op).collect();
        assert_eq!(
            ops,
            [
                &Op::HugetlbPool {
                    size: HugeSize::M2,
                    n: 8
                },
                &Op::HugetlbPool {
                    size: HugeSize::G1,
                    n: 1
                },
                &Op::HugetlbStat { size: HugeSize::M2 },
                &Op::HugetlbStat { size: HugeSize::G1 },
            ]
        );
        assert_eq!(s.lines[0].op.name(), "hugetlb_pool");
        assert_eq!(s.lines[2].op.name(), "hugetlb_stat");
        // Neither is model-only: the kernel runner runs both.
        assert!(!s.model_only());
        assert_eq!(HugeSize::M2.kb(), 2048);
        assert_eq!(HugeSize::G1.bytes(), 1 << 30);
        assert_eq!(HugeSize::G1.round_up(1), Some(1 << 30));
        assert_eq!(HugeSize::M2.round_up(u64::MAX), None);
    }

    #[test]
    fn pfn_map_and_uprobe_ops() {
        let s = parse(
            "perf_ring ev 8\nclose ev\niomap bar 64K wc\npat\ncodefile code 16K\n\
             diskfile lib 8K\nuprobe code 0x1000\nuprobe_remove code 4K\ncall 0x2000\nexit\npat",
        )
        .unwrap();
        let ops: Vec<&Op> = s.lines.iter().map(|l| &l.op).collect();
        assert_eq!(
            ops,
            [
                &Op::PerfRing {
                    name: "ev".into(),
                    pages: 8
                },
                &Op::Close { name: "ev".into() },
                &Op::Iomap {
                    name: "bar".into(),
                    size: 64 << 10,
                    mtype: MemType::Wc
                },
                &Op::Pat,
                &Op::Codefile {
                    name: "code".into(),
                    size: 16 << 10
                },
                &Op::Diskfile {
                    name: "lib".into(),
                    size: 8 << 10
                },
                &Op::Uprobe {
                    name: "code".into(),
                    foff: 0x1000
                },
                &Op::UprobeRemove {
                    name: "code".into(),
                    foff: 4096
                },
                &Op::Call { off: 0x2000 },
                &Op::Exit,
                &Op::Pat,
            ]
        );
        assert!(s.lines[2].op.model_only() && s.lines[3].op.model_only());
        assert!(s.lines[5].op.model_only(), "diskfile is model-only");
        assert!(!s.lines[0].op.model_only() && !s.lines[6].op.model_only());
        for (src, want) in [
            ("nop\nperf_ring ev 3", "PAGES must be 0 or a power of two"),
            ("nop\niomap d 4K wt", "memory type must be uc, wc or wb"),
            ("nop\niomap d 100 uc", "positive multiple of 4K"),
            ("nop\nuprobe code", "usage: uprobe NAME FOFF"),
            ("nop\ncall", "usage: call OFF"),
            ("nop\nclose a b", "usage: close NAME"),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, 2, "{src}");
            assert!(e.msg.contains(want), "{src}: {}", e.msg);
        }
        assert!(
            parse("perf_ring ev 0").is_ok(),
            "a ring of the user page alone"
        );
    }

    #[test]
    fn swapon_once_before_any_fork_and_pageout_advice() {
        for (src, want) in [
            ("nop\nswapon 4K", "SIZE is a multiple of 4K from 8K to 4G"),
            ("nop\nswapon 10000", "SIZE is a multiple of 4K"),
            ("nop\nswapon 8G", "from 8K to 4G"),
            ("swapon 1M\nswapon 1M", "at most one swap device"),
            ("fork\nswapon 1M", "before the first fork"),
            ("nop\nswapon", "usage: swapon SIZE"),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, 2, "{src}");
            assert!(e.msg.contains(want), "{src}: {}", e.msg);
        }
        let s = parse("swapon 64M\nmmap 0 8K rw private,anon\nmadvise 0 8K pageout\n").unwrap();
        assert_eq!(s.lines[0].op, Op::Swapon { size: 64 << 20 });
        assert!(matches!(
            s.lines[2].op,
            Op::Madvise {
                advice: Advice::PageOut,
                ..
            }
        ));
    }

    #[test]
    fn hugetlb_pool_and_stat_errors_name_the_line() {
        for (src, want) in [
            ("nop\nhugetlb_pool 4M 1", "SIZE must be 2M or 1G, got '4M'"),
            (
                "nop\nhugetlb_pool 2048K 1",
                "SIZE must be 2M or 1G, got '2048K'",
            ),
            ("nop\nhugetlb_pool 2M", "usage: hugetlb_pool SIZE N"),
            ("nop\nhugetlb_pool 2M 1 2", "usage: hugetlb_pool SIZE N"),
            ("nop\nhugetlb_pool 2M x", "N: bad number 'x'"),
            ("nop\nhugetlb_stat", "usage: hugetlb_stat SIZE"),
            ("nop\nhugetlb_stat 1g", "SIZE must be 2M or 1G, got '1g'"),
            ("nop\nhugetlb_stat 2M 2M", "usage: hugetlb_stat SIZE"),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, 2, "{src}");
            assert!(e.msg.contains(want), "{src}: {}", e.msg);
        }
    }

    #[test]
    fn mmap_hugetlb_flags() {
        let flags = |src: &str| match parse(src).unwrap().lines[0].op {
            Op::Mmap { flags, .. } => flags,
            ref op => panic!("{op:?}"),
        };
        let f = flags("mmap 0 2M rw private,anon,hugetlb");
        assert_eq!(f.hugetlb, Some(HugeSize::M2));
        assert!(f.anon && !f.shared);
        assert_eq!(
            flags("mmap 0 2M rw shared,anon,hugetlb=2M").hugetlb,
            Some(HugeSize::M2)
        );
        let f = flags("mmap 1G 1G rw hugetlb=1G,anon,shared,populate");
        assert_eq!(f.hugetlb, Some(HugeSize::G1));
        assert!(f.shared && f.populate);
        assert_eq!(flags("mmap 0 4K rw private,anon").hugetlb, None);
        // An unaligned OFF or LEN is the kernel's to answer (EINVAL; LEN is rounded up).
        assert_eq!(
            flags("mmap 4K 4K rw private,anon,hugetlb").hugetlb,
            Some(HugeSize::M2)
        );
    }

    #[test]
    fn mmap_hugetlb_errors_name_the_line() {
        for (src, want) in [
            ("memfd f 2M\nmmap 0 2M rw shared,hugetlb f", "needs 'anon'"),
            ("nop\nmmap 0 2M rw shared,hugetlb", "needs 'anon'"),
            (
                "nop\nmmap 0 2M rw private,anon,hugetlb=4M",
                "2M or 1G, got '4M'",
            ),
            (
                "nop\nmmap 0 2M rw private,anon,hugetlb=",
                "2M or 1G, got ''",
            ),
            (
                "nop\nmmap 0 2M rw private,anon,hugetlb=2m",
                "2M or 1G, got '2m'",
            ),
            (
                "nop\nmmap 0 2M rw private,anon,hugetlb,hugetlb=1G",
                "more than one hugetlb flag",
            ),
            (
                "nop\nmmap 0 2M rw private,anon,hugetlbfs",
                "bad mmap flag 'hugetlbfs'",
            ),
            (
                "nop\nmmap 0 2M rw anon,hugetlb",
                "exactly one of private, shared",
            ),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, 2, "{src}");
            assert!(e.msg.contains(want), "{src}: {}", e.msg);
        }
    }

    #[test]
    fn memfd_hugetlb() {
        let file = |src: &str| match &parse(src).unwrap().lines[0].op {
            Op::MakeFile {
                size,
                fill,
                tmpfs,
                hugetlb,
                ..
            } => (*size, *fill, *tmpfs, *hugetlb),
            op => panic!("{op:?}"),
        };
        assert_eq!(
            file("memfd f 4M hugetlb"),
            (4 << 20, false, false, Some(HugeSize::M2))
        );
        assert_eq!(
            file("memfd f 4M hugetlb=2M fill"),
            (4 << 20, true, false, Some(HugeSize::M2))
        );
        assert_eq!(
            file("memfd f 1G hugetlb=1G fill"),
            (1 << 30, true, false, Some(HugeSize::G1))
        );
        assert_eq!(
            file("memfd f 0 hugetlb"),
            (0, false, false, Some(HugeSize::M2))
        );
        assert_eq!(file("memfd f 1M fill"), (1 << 20, true, false, None));
        assert_eq!(file("shmfile f 1M"), (1 << 20, false, true, None));
        let s = parse("memfd f 2M hugetlb").unwrap();
        assert_eq!(s.lines[0].op.name(), "memfd");
        assert!(!s.model_only());
    }

    #[test]
    fn memfd_hugetlb_errors_name_the_line() {
        for (src, want) in [
            ("nop\nmemfd f 3M hugetlb", "must be a multiple of 2M"),
            ("nop\nmemfd f 2M hugetlb=1G", "must be a multiple of 1G"),
            ("nop\nmemfd f 2M hugetlb=4M", "2M or 1G, got '4M'"),
            (
                "nop\nmemfd f 2M fill hugetlb",
                "usage: memfd NAME SIZE [hugetlb",
            ),
            (
                "nop\nmemfd f 2M hugetlb hugetlb",
                "expected 'fill', got 'hugetlb'",
            ),
            (
                "nop\nmemfd f 2M hugetlb fill x",
                "usage: memfd NAME SIZE [hugetlb",
            ),
            (
                "nop\nmemfd f 2M huge",
                "expected 'hugetlb[=2M|1G]' or 'fill'",
            ),
            ("nop\nshmfile f 2M hugetlb", "only memfd takes it"),
            (
                "nop\nshmfile f 2M fill hugetlb",
                "usage: shmfile NAME SIZE [fill]",
            ),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, 2, "{src}");
            assert!(e.msg.contains(want), "{src}: {}", e.msg);
        }
    }

    #[test]
    fn every_advice_word_round_trips() {
        for (w, a) in Advice::ALL {
            let s = parse(&format!("madvise 0 4K {w}")).unwrap();
            assert_eq!(
                s.lines[0].op,
                Op::Madvise {
                    off: 0,
                    len: 4096,
                    advice: a
                }
            );
            assert_eq!(a.word(), w);
        }
    }
}
