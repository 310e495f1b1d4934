//! `exitmm snapshot PID`: reads a live process's address space from `/proc` (`maps`, `smaps`,
//! `pagemap`, `/proc/kpagecount`, `/proc/kpageflags`) and writes a script that rebuilds it in the
//! model: every VMA at the same place within its 512 GiB region (so that its page tables are the
//! live ones, table for table), each present page by kind, runs of like pages as one line.
//!
//! What the script cannot reproduce is listed in its header (`# not reproduced: ...`).

use procfs::process::{MMPermissions, MMapPath, MemoryMap, PageInfo, Process, VmFlags};
use procfs::{KPageCount, KPageFlags, PhysicalPageFlags};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Why a snapshot could not be taken, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// No process has that PID.
    NoSuchProcess(i32),
    /// Reading the process's `/proc` files (or the PFN files) was refused: it needs root.
    Permission(i32, String),
    /// A kernel thread has no user address space.
    KernelThread(i32),
    /// The address space has something the script cannot express.
    Unsupported(String),
    /// Reading `/proc` failed otherwise.
    Io(String),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::NoSuchProcess(p) => write!(f, "no process {p}"),
            SnapshotError::Permission(p, what) => {
                write!(
                    f,
                    "process {p}: permission denied reading {what} (needs root)"
                )
            }
            SnapshotError::KernelThread(p) => {
                write!(f, "process {p} is a kernel thread: it has no user memory")
            }
            SnapshotError::Unsupported(m) => write!(f, "cannot snapshot: {m}"),
            SnapshotError::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// What `/proc/PID/status` and `maps` said about the live process when it was read (kB, as
/// `/proc` prints them), to compare with the model's replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// `RssAnon`.
    pub rss_anon: u64,
    /// `RssFile`.
    pub rss_file: u64,
    /// `RssShmem`.
    pub rss_shmem: u64,
    /// `VmPTE`.
    pub vm_pte: u64,
    /// `VmSwap`.
    pub vm_swap: u64,
    /// `HugetlbPages`.
    pub hugetlb: u64,
    /// VMAs in the mm (`maps` lines without the `[vsyscall]` gate area, which is no VMA of
    /// the mm).
    pub vmas: u64,
}

/// A snapshot: the script and what the live process reported.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The process.
    pub pid: i32,
    /// The script that rebuilds its address space (no `exit` at the end).
    pub script: String,
    /// The live figures, read after the pages were (status before and after the page scan
    /// must agree, or the snapshot is retried).
    pub live: Live,
    /// What the script cannot reproduce (also in its header).
    pub notes: Vec<String>,
    /// Present pages by kind: `(kind word, pages)`.
    pub pages: Vec<(&'static str, u64)>,
    /// Every VMA's arena offset in the script and its kind (`anon`, `stack`, `heap`,
    /// `shared_anon`, `file`, `shmem_file`, `sysv`, `hugetlb`, `pfn`, `vdso`).
    pub vmas: Vec<(u64, &'static str)>,
    /// The `vm.max_map_count` a replay needs: the host's at the snapshot, and at least one
    /// more than the process's VMAs.
    pub max_map_count: u32,
}

/// Linux's default `vm.max_map_count`, the model's too.
const DEFAULT_MAX_MAP_COUNT: u32 = 65_530;

/// The kind of one virtual page, from pagemap and the PFN's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Hole,
    Zero,
    Anon,
    AnonShared,
    File,
    Shmem,
    Swap,
    Thp,
    ThpShared,
    Hugetlb,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Hole => "hole",
            Kind::Zero => "zero",
            Kind::Anon => "anon",
            Kind::AnonShared => "anon_shared",
            Kind::File => "file",
            Kind::Shmem => "shmem",
            Kind::Swap => "swap",
            Kind::Thp => "thp",
            Kind::ThpShared => "thp_shared",
            Kind::Hugetlb => "hugetlb",
        }
    }
}

/// What backs a VMA, as the script makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Backing {
    /// Private anonymous (also `[heap]`, `[stack]`, named anon).
    Anon,
    /// The heap: `brk_start` + `brk`.
    Heap,
    /// Shared anonymous (`/dev/zero (deleted)`).
    SharedAnon,
    /// A file stand-in (index into the files).
    File(usize),
    /// A SysV segment (index into the files).
    Sysv(usize),
    /// Anonymous hugetlb (`MAP_HUGETLB`).
    HugetlbAnon(u64),
    /// A PFN map (`VM_PFNMAP`): a device region stand-in.
    Pfn,
}

/// A stand-in file.
#[derive(Clone, Debug)]
struct StandIn {
    name: String,
    /// `diskfile`, `memfd`, `shmfile`, `memfd ... hugetlb=`, `shmget`.
    kind: FileKind,
    size: u64,
    path: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Disk,
    Memfd,
    Tmpfs,
    MemfdHugetlb(u64),
    Sysv,
    SysvHugetlb,
}

struct VmaPlan {
    start: u64,
    end: u64,
    off: u64,
    perms: String,
    flags: VmFlags,
    backing: Backing,
    foff: u64,
    /// `s` in maps: a shared mapping.
    shared: bool,
    /// Runs of pages: (first page index in the VMA, pages, kind).
    runs: Vec<(u64, u64, Kind)>,
}

const REGION_SHIFT: u32 = 39; // one PGD entry: 512 GiB
const ARENA_REGIONS: u64 = 64; // the arena is 32 TiB
const PAGEMAP_CHUNK: usize = 1 << 18; // pages read from pagemap at a time

fn io(pid: i32, what: &str, e: procfs::ProcError) -> SnapshotError {
    match e {
        procfs::ProcError::NotFound(_) => SnapshotError::NoSuchProcess(pid),
        procfs::ProcError::PermissionDenied(_) => SnapshotError::Permission(pid, what.into()),
        e => SnapshotError::Io(format!("process {pid}: reading {what}: {e}")),
    }
}

/// Takes a snapshot of process `pid`.
pub fn snapshot(pid: i32) -> Result<Snapshot, SnapshotError> {
    let proc = Process::new(pid).map_err(|e| io(pid, "/proc/PID", e))?;
    let stat = proc.stat().map_err(|e| io(pid, "stat", e))?;
    const PF_KTHREAD: u32 = 0x0020_0000;
    if stat.flags & PF_KTHREAD != 0 {
        return Err(SnapshotError::KernelThread(pid));
    }
    if stat.state == 'Z' {
        return Err(SnapshotError::Unsupported(format!(
            "process {pid} is a zombie: its memory is gone"
        )));
    }
    // The page scan takes a moment; a process that changes meanwhile is read again.
    let mut last = None;
    for _ in 0..3 {
        let before = live_figures(&proc, pid)?;
        let snap = scan(&proc, pid)?;
        let after = live_figures(&proc, pid)?;
        if before == after {
            return Ok(finish(pid, snap, after));
        }
        last = Some((snap, after));
    }
    let (snap, after) = last.expect("three tries");
    let mut s = finish(pid, snap, after);
    s.notes
        .push("the process changed while it was read (three tries): figures may differ".into());
    Ok(s)
}

fn live_figures(proc: &Process, pid: i32) -> Result<Live, SnapshotError> {
    let st = proc.status().map_err(|e| io(pid, "status", e))?;
    let maps = proc.maps().map_err(|e| io(pid, "maps", e))?;
    let vmas = maps
        .0
        .iter()
        .filter(|m| m.pathname != MMapPath::Vsyscall)
        .count() as u64;
    Ok(Live {
        rss_anon: st.rssanon.unwrap_or(0),
        rss_file: st.rssfile.unwrap_or(0),
        rss_shmem: st.rssshmem.unwrap_or(0),
        vm_pte: st.vmpte.unwrap_or(0),
        vm_swap: st.vmswap.unwrap_or(0),
        hugetlb: st.hugetlbpages.unwrap_or(0),
        vmas,
    })
}

struct Scan {
    vmas: Vec<VmaPlan>,
    files: Vec<StandIn>,
    notes: Vec<String>,
    thp_on: bool,
}

fn path_of(m: &MemoryMap) -> String {
    match &m.pathname {
        MMapPath::Path(p) => p.to_string_lossy().into_owned(),
        MMapPath::Heap => "[heap]".into(),
        MMapPath::Stack => "[stack]".into(),
        MMapPath::TStack(t) => format!("[stack:{t}]"),
        MMapPath::Vdso => "[vdso]".into(),
        MMapPath::Vvar => "[vvar]".into(),
        MMapPath::Vsyscall => "[vsyscall]".into(),
        MMapPath::Rollup => "[rollup]".into(),
        MMapPath::Anonymous => String::new(),
        MMapPath::Vsys(k) => format!("/SYSV{:08x} (deleted)", *k as u32),
        MMapPath::Other(o) => format!("[{o}]"),
    }
}

fn stand_in_name(path: &str, used: &mut BTreeMap<String, u32>) -> String {
    let base: String = path
        .rsplit('/')
        .next()
        .unwrap_or("f")
        .trim_end_matches(" (deleted)")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let base = if base.is_empty() { "f".into() } else { base };
    let n = used.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base
    } else {
        format!("{base}.{n}")
    }
}

/// The stand-in of the mapping's inode (one per device and inode, made at its first VMA), as
/// the VMA's backing.
fn stand_in(
    files: &mut Vec<StandIn>,
    by_inode: &mut BTreeMap<(i32, i32, u64), usize>,
    names: &mut BTreeMap<String, u32>,
    m: &MemoryMap,
    path: &str,
    kind: FileKind,
) -> Backing {
    let id = *by_inode
        .entry((m.dev.0, m.dev.1, m.inode))
        .or_insert_with(|| {
            files.push(StandIn {
                name: stand_in_name(path, names),
                kind,
                size: 0,
                path: path.to_string(),
            });
            files.len() - 1
        });
    if matches!(kind, FileKind::Sysv | FileKind::SysvHugetlb) {
        Backing::Sysv(id)
    } else {
        Backing::File(id)
    }
}

fn scan(proc: &Process, pid: i32) -> Result<Scan, SnapshotError> {
    let smaps = proc.smaps().map_err(|e| io(pid, "smaps", e))?;
    let mut rd = Reader {
        pagemap: proc.pagemap().map_err(|e| io(pid, "pagemap", e))?,
        kflags: KPageFlags::new().map_err(|e| io(pid, "/proc/kpageflags", e))?,
        kcount: KPageCount::new().map_err(|e| io(pid, "/proc/kpagecount", e))?,
        pid,
        window: None,
    };
    let mut notes = Vec::new();
    let mut files: Vec<StandIn> = Vec::new();
    let mut by_inode: BTreeMap<(i32, i32, u64), usize> = BTreeMap::new();
    let mut names = BTreeMap::new();
    let mut heap_seen = false;
    let mut thp_on = false;

    // Regions: each 512 GiB PGD entry in use gets an arena slot, consecutive ones side by side,
    // others one empty slot apart.
    let mut regions: Vec<u64> = Vec::new();
    for m in smaps.0.iter().filter(|m| m.pathname != MMapPath::Vsyscall) {
        let (s, e) = m.address;
        for r in (s >> REGION_SHIFT)..=((e - 1) >> REGION_SHIFT) {
            if regions.last() != Some(&r) {
                regions.push(r);
            }
        }
    }
    regions.sort_unstable();
    regions.dedup();
    let mut slot_of = BTreeMap::new();
    let mut slot = 0u64;
    for (i, &r) in regions.iter().enumerate() {
        if i > 0 {
            slot += if r == regions[i - 1] + 1 { 1 } else { 2 };
        }
        slot_of.insert(r, slot);
    }
    if slot >= ARENA_REGIONS {
        return Err(SnapshotError::Unsupported(format!(
            "the address space uses {} separate 512 GiB regions; the 32 TiB arena holds {}",
            regions.len(),
            ARENA_REGIONS / 2
        )));
    }
    let relocate = |a: u64| -> u64 {
        (slot_of[&(a >> REGION_SHIFT)] << REGION_SHIFT) | (a & ((1 << REGION_SHIFT) - 1))
    };

    let mut vmas = Vec::new();
    for m in &smaps.0 {
        let path = path_of(m);
        if m.pathname == MMapPath::Vsyscall {
            continue; // the gate area: no VMA of the mm
        }
        let (start, end) = m.address;
        let flags = m.extension.vm_flags;
        let shared = m.perms.contains(MMPermissions::SHARED);
        let ext = &m.extension.map;
        let kernel_page = ext.get("KernelPageSize").copied().unwrap_or(4096);
        let backing = if flags.contains(VmFlags::PF) {
            Backing::Pfn
        } else if flags.contains(VmFlags::HT) {
            if path.starts_with("/anon_hugepage") || path.is_empty() {
                Backing::HugetlbAnon(kernel_page)
            } else {
                let kind = if path.starts_with("/SYSV") {
                    FileKind::SysvHugetlb
                } else {
                    FileKind::MemfdHugetlb(kernel_page)
                };
                stand_in(&mut files, &mut by_inode, &mut names, m, &path, kind)
            }
        } else if m.inode == 0 {
            match &m.pathname {
                MMapPath::Heap if !heap_seen && !shared => {
                    heap_seen = true;
                    Backing::Heap
                }
                _ if shared => Backing::SharedAnon,
                MMapPath::Vdso => {
                    // The vDSO's pages are kernel pages mapped like a file's (RssFile).
                    files.push(StandIn {
                        name: stand_in_name("vdso", &mut names),
                        kind: FileKind::Disk,
                        size: 0,
                        path: path.clone(),
                    });
                    Backing::File(files.len() - 1)
                }
                MMapPath::Anonymous | MMapPath::Heap | MMapPath::Stack | MMapPath::TStack(_) => {
                    Backing::Anon
                }
                MMapPath::Other(o) if o.starts_with("anon:") => Backing::Anon,
                _ => {
                    notes.push(format!(
                        "{path} at {start:#x}: a special mapping, made an empty anonymous one"
                    ));
                    Backing::Anon
                }
            }
        } else if path == "/dev/zero (deleted)" || path.starts_with("/dev/zero") {
            Backing::SharedAnon
        } else {
            let kind = if matches!(m.pathname, MMapPath::Vsys(_)) {
                FileKind::Sysv
            } else if path.starts_with("/memfd:") {
                FileKind::Memfd
            } else if path.starts_with("/dev/shm/") {
                FileKind::Tmpfs
            } else {
                FileKind::Disk
            };
            if kind == FileKind::Disk && path.starts_with("/dev/") {
                notes.push(format!(
                    "{path} at {start:#x}: a device mapping, made a regular file's"
                ));
            }
            stand_in(&mut files, &mut by_inode, &mut names, m, &path, kind)
        };
        let foff = match backing {
            Backing::File(_) | Backing::Sysv(_) => m.offset,
            _ => 0,
        };
        if let Backing::File(id) | Backing::Sysv(id) = backing {
            let f = &mut files[id];
            f.size = f.size.max(foff + (end - start));
        }
        let runs = if backing == Backing::Pfn {
            Vec::new() // pagemap reads PFN maps as not present
        } else {
            page_runs(&mut rd, m, &backing)?
        };
        if runs
            .iter()
            .any(|r| matches!(r.2, Kind::Thp | Kind::ThpShared))
        {
            thp_on = true;
            if !flags.contains(VmFlags::HG) {
                notes.push(format!(
                    "THPs at {start:#x} in a VMA without hg: the model gives THPs only with \
                     madvise hugepage (host enabled=madvise), so they are made 4K pages"
                ));
            }
        }
        vmas.push(VmaPlan {
            start,
            end,
            off: relocate(start),
            perms: perms_word(&m.perms),
            flags,
            backing,
            foff,
            shared,
            runs,
        });
    }
    // THPs in VMAs without hg become 4K pages.
    for v in &mut vmas {
        if !v.flags.contains(VmFlags::HG) {
            for r in &mut v.runs {
                r.2 = match r.2 {
                    Kind::Thp => Kind::Anon,
                    Kind::ThpShared => Kind::AnonShared,
                    k => k,
                };
            }
        }
    }
    Ok(Scan {
        vmas,
        files,
        notes,
        thp_on,
    })
}

fn perms_word(p: &MMPermissions) -> String {
    let mut s = String::new();
    if p.contains(MMPermissions::READ) {
        s.push('r');
    }
    if p.contains(MMPermissions::WRITE) {
        s.push('w');
    }
    if p.contains(MMPermissions::EXECUTE) {
        s.push('x');
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// A window of pagemap entries with the flags and map counts of their frames: read once for
/// many small VMAs (one `read` of pagemap costs a page-table walk and its locking, so a
/// process of 10^5 VMAs is read in a few windows, not 10^5 reads).
struct Window {
    /// First virtual page number (512-aligned, so a PMD mapping never straddles two windows).
    first: usize,
    infos: Vec<PageInfo>,
    frames: Vec<Option<(PhysicalPageFlags, u64)>>,
}

/// Pages below `TASK_SIZE` (x86-64, 4-level: 128 TiB less one page): pagemap ends there.
const USER_PAGES: usize = (1 << 35) - 1;

struct Reader {
    pagemap: procfs::process::PageMap,
    kflags: KPageFlags,
    kcount: KPageCount,
    pid: i32,
    window: Option<Window>,
}

impl Reader {
    /// The window holding page `p`, read if it is not the current one.
    fn window_at(&mut self, p: usize) -> Result<&Window, SnapshotError> {
        let fresh = match &self.window {
            Some(w) => p < w.first || p >= w.first + w.infos.len(),
            None => true,
        };
        if fresh {
            let first = p & !511;
            let end = (first + PAGEMAP_CHUNK).min(USER_PAGES);
            self.window = Some(self.read(first, end - first)?);
        }
        Ok(self.window.as_ref().expect("just read"))
    }

    fn read(&mut self, first: usize, len: usize) -> Result<Window, SnapshotError> {
        let pid = self.pid;
        let infos = self
            .pagemap
            .get_range_info(first..first + len)
            .map_err(|e| io(pid, "pagemap", e))?;
        // The PFNs of present pages, read from kpageflags/kpagecount in sorted runs.
        let mut pfns: Vec<(u64, usize)> = infos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                PageInfo::MemoryPage(f)
                    if f.contains(procfs::process::MemoryPageFlags::PRESENT) =>
                {
                    Some((f.get_page_frame_number().0, i))
                }
                _ => None,
            })
            .collect();
        if pfns.iter().any(|&(p, _)| p == 0) {
            return Err(SnapshotError::Permission(
                pid,
                "PFNs in pagemap (they read as 0)".into(),
            ));
        }
        pfns.sort_unstable();
        let mut frames: Vec<Option<(PhysicalPageFlags, u64)>> = vec![None; infos.len()];
        let mut i = 0;
        while i < pfns.len() {
            let lo = pfns[i].0;
            let mut j = i;
            while j + 1 < pfns.len() && pfns[j + 1].0 <= pfns[j].0 + 64 {
                j += 1;
            }
            let hi = pfns[j].0 + 1;
            let fl = self
                .kflags
                .get_range_info(procfs::process::Pfn(lo), procfs::process::Pfn(hi))
                .map_err(|e| io(pid, "/proc/kpageflags", e))?;
            let ct = self
                .kcount
                .get_count_in_range(procfs::process::Pfn(lo), procfs::process::Pfn(hi))
                .map_err(|e| io(pid, "/proc/kpagecount", e))?;
            for &(p, idx) in &pfns[i..=j] {
                let k = (p - lo) as usize;
                frames[idx] = Some((fl[k], ct[k]));
            }
            i = j + 1;
        }
        Ok(Window {
            first,
            infos,
            frames,
        })
    }
}

const PMD_SIZE: u64 = 1 << 21;

/// The 2 MiB regions (address / 2 MiB) in which some VMA has a present page or a swap entry.
fn regions_in_use(vmas: &[VmaPlan]) -> std::collections::BTreeSet<u64> {
    let mut used = std::collections::BTreeSet::new();
    for w in vmas {
        for &(i, n, _) in &w.runs {
            let (a, b) = (w.start + i * 4096, w.start + (i + n) * 4096);
            used.extend(a / PMD_SIZE..b.div_ceil(PMD_SIZE));
        }
    }
    used
}

/// The 2 MiB regions of PFN map `v` that none of `used` is: a page table there exists in the
/// process only if it touched `v` there, which pagemap cannot show (it reports a PFN map's
/// pages as absent).
fn pfn_regions_alone(used: &std::collections::BTreeSet<u64>, v: &VmaPlan) -> u64 {
    (v.start / PMD_SIZE..v.end.div_ceil(PMD_SIZE))
        .filter(|r| !used.contains(r))
        .count() as u64
}

/// The VMA's pages by kind, as runs.
fn page_runs(
    rd: &mut Reader,
    m: &MemoryMap,
    backing: &Backing,
) -> Result<Vec<(u64, u64, Kind)>, SnapshotError> {
    let (start, end) = m.address;
    let first = (start / 4096) as usize;
    let last = (end / 4096) as usize;
    let mut runs: Vec<(u64, u64, Kind)> = Vec::new();
    let mut push = |i: u64, n: u64, k: Kind| match runs.last_mut() {
        Some(r) if r.2 == k && r.0 + r.1 == i => r.1 += n,
        _ => runs.push((i, n, k)),
    };
    let hugetlb =
        matches!(backing, Backing::HugetlbAnon(_)) || m.extension.vm_flags.contains(VmFlags::HT);
    let mut p = first;
    while p < last {
        let w = rd.window_at(p)?;
        let stop = last.min(w.first + w.infos.len());
        while p < stop {
            let idx = p - w.first;
            let vi = (p - first) as u64;
            let kind = match (&w.infos[idx], w.frames[idx]) {
                (PageInfo::SwapPage(_), _) => Kind::Swap,
                (PageInfo::MemoryPage(_), None) => Kind::Hole,
                (PageInfo::MemoryPage(mf), Some((fl, count))) => {
                    if hugetlb || fl.contains(PhysicalPageFlags::HUGE) {
                        Kind::Hugetlb
                    } else if fl.contains(PhysicalPageFlags::ZERO_PAGE) {
                        Kind::Zero
                    } else if fl.contains(PhysicalPageFlags::ANON) {
                        // A PMD-mapped THP: 512 aligned pages of one compound page.
                        if fl.contains(PhysicalPageFlags::THP)
                            && p.is_multiple_of(512)
                            && p + 512 <= last
                            && pmd_mapped(&w.infos[idx..idx + 512], mf.get_page_frame_number().0)
                        {
                            let k = if count > 1 {
                                Kind::ThpShared
                            } else {
                                Kind::Thp
                            };
                            push(vi, 512, k);
                            p += 512;
                            continue;
                        }
                        if count > 1 {
                            Kind::AnonShared
                        } else {
                            Kind::Anon
                        }
                    } else if fl.contains(PhysicalPageFlags::SWAPBACKED) {
                        Kind::Shmem
                    } else {
                        Kind::File
                    }
                }
            };
            push(vi, 1, kind);
            p += 1;
        }
    }
    Ok(runs.into_iter().filter(|r| r.2 != Kind::Hole).collect())
}

/// 512 present pages whose frames are consecutive from an aligned head: one PMD mapping.
fn pmd_mapped(infos: &[PageInfo], head: u64) -> bool {
    head.is_multiple_of(512)
        && infos.iter().enumerate().all(|(i, p)| match p {
            PageInfo::MemoryPage(f) => {
                f.contains(procfs::process::MemoryPageFlags::PRESENT)
                    && f.get_page_frame_number().0 == head + i as u64
            }
            _ => false,
        })
}

fn finish(pid: i32, scan: Scan, live: Live) -> Snapshot {
    let Scan {
        vmas,
        files,
        mut notes,
        thp_on,
    } = scan;
    let mut body = String::new();
    let mut pages: BTreeMap<Kind, u64> = BTreeMap::new();
    for v in &vmas {
        for r in &v.runs {
            *pages.entry(r.2).or_default() += r.1;
        }
    }
    // Devices and pools first.
    let swapped = pages.get(&Kind::Swap).copied().unwrap_or(0);
    if swapped > 0 {
        let _ = writeln!(body, "swapon {}M", (swapped * 4096).div_ceil(1 << 20) + 1);
    }
    let mut pool: BTreeMap<u64, u64> = BTreeMap::new();
    for v in &vmas {
        if let Backing::HugetlbAnon(h) = v.backing {
            *pool.entry(h).or_default() += (v.end - v.start).div_ceil(h);
        }
    }
    for f in &files {
        if let FileKind::MemfdHugetlb(h) = f.kind {
            *pool.entry(h).or_default() += f.size.div_ceil(h);
        }
        if f.kind == FileKind::SysvHugetlb {
            *pool.entry(2 << 20).or_default() += f.size.div_ceil(2 << 20);
        }
    }
    for (h, n) in &pool {
        let _ = writeln!(body, "hugetlb_pool {} {n}", huge_word(*h));
    }
    // Stand-in files.
    for f in &files {
        let _ = writeln!(body, "# {} = {}", f.name, f.path);
        let size = f.size.div_ceil(4096) * 4096;
        let _ = match f.kind {
            FileKind::Disk => writeln!(body, "diskfile {} {}", f.name, num(size)),
            FileKind::Memfd => writeln!(body, "memfd {} {}", f.name, num(size)),
            FileKind::Tmpfs => writeln!(body, "shmfile {} {}", f.name, num(size)),
            FileKind::MemfdHugetlb(h) => writeln!(
                body,
                "memfd {} {} hugetlb={}",
                f.name,
                num(size.div_ceil(h) * h),
                huge_word(h)
            ),
            FileKind::Sysv => writeln!(body, "shmget {} {}", f.name, num(size)),
            FileKind::SysvHugetlb => writeln!(body, "shmget {} {} hugetlb", f.name, num(size)),
        };
    }
    // Every VMA, mapped with the protection its pages need to be made; the final one comes
    // at the end.
    let needs_write = |v: &VmaPlan| {
        v.runs.iter().any(|r| {
            matches!(
                r.2,
                Kind::Anon | Kind::AnonShared | Kind::Thp | Kind::ThpShared | Kind::Swap
            )
        })
    };
    let mut fix_prot = Vec::new();
    let in_use = regions_in_use(&vmas);
    for v in &vmas {
        let len = v.end - v.start;
        let mut prot = v.perms.clone();
        let mut want = String::new();
        let has = |c: char| v.perms.contains(c);
        if has('r') || !v.runs.is_empty() {
            want.push('r');
        }
        if has('w') || needs_write(v) {
            want.push('w');
        }
        if has('x') {
            want.push('x');
        }
        if want.is_empty() {
            want.push_str("none");
        }
        if want != prot {
            fix_prot.push((v.off, len, prot.clone()));
            prot = want;
        }
        let shared = matches!(v.backing, Backing::SharedAnon | Backing::Pfn) || v.shared;
        let mut fl = vec![if shared { "shared" } else { "private" }];
        match &v.backing {
            Backing::Heap => {
                let _ = writeln!(body, "brk_start {}", hex(v.off));
                let _ = writeln!(body, "brk {}", hex(v.off + len));
                if v.perms != "rw" {
                    fix_prot.push((v.off, len, v.perms.clone()));
                }
                continue;
            }
            Backing::Anon | Backing::SharedAnon | Backing::HugetlbAnon(_) => {
                fl.push("anon");
                if let Backing::HugetlbAnon(h) = v.backing {
                    fl.push(if h == 1 << 30 {
                        "hugetlb=1G"
                    } else {
                        "hugetlb=2M"
                    });
                } else {
                    if v.flags.contains(VmFlags::GD) {
                        fl.push("growsdown");
                    }
                    let unaccounted = if shared {
                        v.flags.contains(VmFlags::NR)
                    } else {
                        !v.flags.contains(VmFlags::AC) && prot.contains('w')
                    };
                    if unaccounted {
                        fl.push("noreserve");
                    }
                }
                let _ = writeln!(
                    body,
                    "mmap {} {} {prot} {}",
                    hex(v.off),
                    num(len),
                    fl.join(",")
                );
            }
            Backing::File(id) => {
                if !shared && !v.flags.contains(VmFlags::AC) && prot.contains('w') {
                    fl.push("noreserve");
                }
                let _ = writeln!(
                    body,
                    "mmap {} {} {prot} {} {} {}",
                    hex(v.off),
                    num(len),
                    fl.join(","),
                    files[*id].name,
                    hex(v.foff)
                );
            }
            Backing::Sysv(id) => {
                let ro = if prot.contains('w') { "" } else { " rdonly" };
                let _ = writeln!(body, "shmat {} {}{ro}", files[*id].name, hex(v.off));
            }
            Backing::Pfn => {
                let name = format!("pfn{:x}", v.start >> 12);
                let _ = writeln!(body, "iomap {name} {} wb", num(len));
                let _ = writeln!(
                    body,
                    "mmap {} {} {prot} shared {name}",
                    hex(v.off),
                    num(len)
                );
                if !v.shared {
                    notes.push(format!(
                        "PFN map {:#x}-{:#x}: private in the process, a shared device mapping \
                         here",
                        v.start, v.end
                    ));
                }
                let alone = pfn_regions_alone(&in_use, v);
                if alone > 0 {
                    notes.push(format!(
                        "PFN map {:#x}-{:#x}: populated here (remap_pfn_range); in the process a \
                         special mapping such as [vvar] is filled on fault, which pagemap does not \
                         show, and {alone} of its 2 MiB regions hold no other present page: if \
                         it never read them, VmPTE here is up to {} kB more than live",
                        v.start,
                        v.end,
                        4 * alone
                    ));
                }
            }
        }
        if v.flags.contains(VmFlags::HG) {
            let _ = writeln!(body, "madvise {} {} hugepage", hex(v.off), num(len));
        }
        if v.flags.contains(VmFlags::NH) {
            let _ = writeln!(body, "madvise {} {} nohugepage", hex(v.off), num(len));
        }
    }
    // Pages mapped by another process too: made before a fork, so that the child shares them.
    let shared_kinds = [Kind::AnonShared, Kind::ThpShared];
    let any_shared = vmas
        .iter()
        .any(|v| v.runs.iter().any(|r| shared_kinds.contains(&r.2)));
    let mut thp = false;
    let mut touches = |body: &mut String, pred: &dyn Fn(Kind) -> bool| {
        for v in &vmas {
            for &(i, n, k) in v.runs.iter().filter(|r| pred(r.2)) {
                let want_thp = matches!(k, Kind::Thp | Kind::ThpShared);
                if thp_on && want_thp != thp {
                    thp = want_thp;
                    let _ = writeln!(body, "thp {}", if thp { "on" } else { "off" });
                }
                let off = v.off + i * 4096;
                let len = n * 4096;
                let (rw, stride) = match k {
                    Kind::Zero | Kind::File => ("r", 4096),
                    Kind::Shmem => (if v.perms.contains('w') { "w" } else { "r" }, 4096),
                    Kind::Thp | Kind::ThpShared => ("w", 2 << 20),
                    Kind::Hugetlb => {
                        let h = match v.backing {
                            Backing::HugetlbAnon(h) => h,
                            Backing::File(id) | Backing::Sysv(id) => match files[id].kind {
                                FileKind::MemfdHugetlb(h) => h,
                                _ => 2 << 20,
                            },
                            _ => 2 << 20,
                        };
                        ("w", h)
                    }
                    _ => ("w", 4096),
                };
                if k == Kind::Hugetlb {
                    // One touch per huge page the run meets.
                    let h = stride;
                    let a = off / h * h;
                    let b = (off + len).div_ceil(h) * h;
                    let _ = writeln!(body, "touch {} {} {rw} {}", hex(a), num(b - a), num(h));
                } else if stride == 4096 {
                    let _ = writeln!(body, "touch {} {} {rw}", hex(off), num(len));
                } else {
                    let _ = writeln!(body, "touch {} {} {rw} {}", hex(off), num(len), num(stride));
                }
            }
        }
    };
    if any_shared {
        body.push_str("# pages another process maps too: made before the fork that shares them\n");
        touches(&mut body, &|k| shared_kinds.contains(&k));
        body.push_str("fork\n");
    }
    touches(&mut body, &|k| !shared_kinds.contains(&k));
    if thp {
        body.push_str("thp off\n");
    }
    // Swapped-out pages: written above, paged out now.
    for v in &vmas {
        for &(i, n, k) in &v.runs {
            if k == Kind::Swap {
                let _ = writeln!(
                    body,
                    "madvise {} {} pageout",
                    hex(v.off + i * 4096),
                    num(n * 4096)
                );
            }
        }
    }
    for (off, len, prot) in fix_prot {
        let _ = writeln!(body, "mprotect {} {} {prot}", hex(off), num(len));
    }
    for v in &vmas {
        if v.flags.contains(VmFlags::LO) {
            let covered: u64 = v.runs.iter().map(|r| r.1).sum();
            let whole = (v.end - v.start) / 4096;
            let onfault = if covered < whole { " onfault" } else { "" };
            let _ = writeln!(
                body,
                "mlock {} {}{onfault}",
                hex(v.off),
                num(v.end - v.start)
            );
        }
    }
    notes.push(
        "file pages other processes also map are mapped once here (RSS equal, Pss not)".into(),
    );
    if vmas
        .iter()
        .any(|v| matches!(v.backing, Backing::SharedAnon | Backing::File(_)))
    {
        notes.push(
            "shmem pages swapped out and file pages cached but not mapped are not seen".into(),
        );
    }
    let mut head = String::new();
    let _ = writeln!(head, "# exitmm snapshot of process {pid}");
    let _ = writeln!(
        head,
        "# live: VMAs={} RssAnon={} RssFile={} RssShmem={} VmPTE={} VmSwap={} HugetlbPages={} (kB)",
        live.vmas,
        live.rss_anon,
        live.rss_file,
        live.rss_shmem,
        live.vm_pte,
        live.vm_swap,
        live.hugetlb
    );
    let kinds: Vec<String> = pages
        .iter()
        .map(|(k, n)| format!("{}={n}", k.word()))
        .collect();
    let _ = writeln!(head, "# present pages: {}", kinds.join(" "));
    let _ = writeln!(
        head,
        "# each 512 GiB region keeps its place within the region: offsets are the live addresses \
         moved to the arena"
    );
    // The model's vm.max_map_count is the host's default; a process with more VMAs (on a
    // host whose limit was raised) needs its replay told.
    let host_max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_MAX_MAP_COUNT);
    let max_map_count = host_max.max(live.vmas as u32 + 1);
    if max_map_count > DEFAULT_MAX_MAP_COUNT {
        let _ = writeln!(
            head,
            "# vm.max_map_count={max_map_count} (the model's default is {DEFAULT_MAX_MAP_COUNT}): \
             replay with exitmm run --max-map-count {max_map_count}"
        );
    }
    for n in &notes {
        let _ = writeln!(head, "# not reproduced: {n}");
    }
    head.push_str(&body);
    let vma_kinds = vmas
        .iter()
        .map(|v| {
            let k = match &v.backing {
                Backing::Anon if v.flags.contains(VmFlags::GD) => "stack",
                Backing::Anon => "anon",
                Backing::Heap => "heap",
                Backing::SharedAnon => "shared_anon",
                Backing::File(id) => match files[*id].kind {
                    FileKind::Disk if files[*id].path == "[vdso]" => "vdso",
                    FileKind::Disk => "file",
                    FileKind::MemfdHugetlb(_) => "hugetlb",
                    _ => "shmem_file",
                },
                Backing::Sysv(_) => "sysv",
                Backing::HugetlbAnon(_) => "hugetlb",
                Backing::Pfn => "pfn",
            };
            (v.off, k)
        })
        .collect();
    Snapshot {
        vmas: vma_kinds,
        max_map_count,
        pid,
        script: head,
        live,
        notes,
        pages: pages.iter().map(|(k, n)| (k.word(), *n)).collect(),
    }
}

fn huge_word(h: u64) -> &'static str {
    if h == 1 << 30 {
        "1G"
    } else {
        "2M"
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// A size as the script writes it: the largest binary unit that divides it.
fn num(v: u64) -> String {
    for (shift, s) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if v != 0 && v.is_multiple_of(1 << shift) {
            return format!("{}{s}", v >> shift);
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(start: u64, end: u64, backing: Backing, runs: Vec<(u64, u64, Kind)>) -> VmaPlan {
        VmaPlan {
            start,
            end,
            off: start,
            perms: "r--p".into(),
            flags: VmFlags::empty(),
            backing,
            foff: 0,
            shared: false,
            runs,
        }
    }

    #[test]
    fn a_pfn_map_alone_in_a_region_is_told_apart() {
        const M: u64 = 1 << 21;
        // [vvar] straddling a 2 MiB boundary: its low half alone, its high half beside a
        // vDSO page that is present.
        let vvar = plan(3 * M - 0x2000, 3 * M + 0x2000, Backing::Pfn, vec![]);
        let vdso = plan(3 * M + 0x4000, 3 * M + 0x6000, Backing::Pfn, vec![]);
        let code = plan(
            3 * M + 0x6000,
            3 * M + 0x8000,
            Backing::Heap,
            vec![(1, 1, Kind::File)],
        );
        let vmas = vec![vvar, vdso, code];
        let used = regions_in_use(&vmas);
        assert_eq!(used.iter().copied().collect::<Vec<_>>(), [3]);
        assert_eq!(pfn_regions_alone(&used, &vmas[0]), 1);
        assert_eq!(pfn_regions_alone(&used, &vmas[1]), 0);
        // A swap entry needs its table as a present page does.
        let far = plan(9 * M, 9 * M + 0x1000, Backing::Pfn, vec![]);
        let swapped = plan(
            9 * M + 0x1000,
            9 * M + 0x3000,
            Backing::Heap,
            vec![(1, 1, Kind::Swap)],
        );
        let vmas = vec![far, swapped];
        assert_eq!(pfn_regions_alone(&regions_in_use(&vmas), &vmas[0]), 0);
    }
}
