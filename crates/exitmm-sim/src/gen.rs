//! A generator of random scripts over every operation, flag and advice of the v1 language
//! (model-only ops excepted), reproducible from a seed.
//!
//! Each op is drawn from [`WEIGHTS`]; `fork` and `child_exit` are drawn apart from it (one
//! chance in [`FORK_ONE_IN`] each), and while a child lives half the ops run in it. Addresses
//! sit on the 4 KiB grid, biased towards 2 MiB, 1 GiB and 512 GiB boundaries (a new PMD, PUD
//! or top-level table) and towards earlier mappings (the same 2 MiB slot, overlapping, or
//! adjacent), so that ops collide, split, merge and share page tables. Lengths are small; the
//! only large mappings are `noreserve` reservations of a few GiB, which stay cheap because
//! nothing populates them whole: once a script holds one, `mlockall` populates nothing (only
//! `onfault` forms), and locked or populated mappings stay small. So every script stays within
//! the kernel runner's footprint cap.

use exitmm_script::HugeSize;
use std::fmt::Write;

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One of `items`, by weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total as u64) as u32;
        for &(t, w) in items {
            if x < w {
                return t;
            }
            x -= w;
        }
        unreachable!("weights add up")
    }
}

/// Settings for generated scripts.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Most ops per script.
    pub max_ops: usize,
    /// Bytes that may be mlocked in total (RLIMIT_MEMLOCK; scripts stay below it).
    pub memlock_limit: u64,
    /// The huge page sizes scripts may use (the host's pools can be set); none: no hugetlb ops.
    pub hugetlb: Vec<HugeSize>,
    /// The kernel runner's footprint cap: huge pages held stay within it.
    pub cap: u64,
    /// Perf ring buffers (`perf_ring`, and mappings of them).
    pub perf: bool,
    /// Code files and uprobes (`codefile`, `uprobe`, `uprobe_remove`, `call`).
    pub uprobes: bool,
    /// Device regions (`iomap`, `pat`): model only, for the model's own property tests.
    pub iomap: bool,
    /// A swap device (`swapon`), `madvise pageout` and `meminfo SwapFree`.
    pub swap: bool,
    /// Transparent huge pages (`thp on`, `VM_HUGEPAGE` regions and what splits them).
    pub thp: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            max_ops: 40,
            memlock_limit: 8 << 20,
            hugetlb: Vec::new(),
            cap: 1 << 30,
            perf: false,
            uprobes: false,
            iomap: false,
            swap: false,
            thp: false,
        }
    }
}

impl GenOptions {
    /// The defaults with hugetlb ops of `sizes`.
    pub fn with_hugetlb(sizes: &[HugeSize]) -> Self {
        GenOptions {
            hugetlb: sizes.to_vec(),
            ..GenOptions::default()
        }
    }
}

/// The hugetlb kinds of op, drawn instead of a [`WEIGHTS`] kind one time in
/// [`HUGETLB_ONE_IN`] when the script has a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HugeKind {
    /// `mmap ... hugetlb[=SIZE]`, mostly aligned, with random flags.
    Mmap,
    /// A shared GiB of 2 MiB pages, touched, then forked and read by the child (PMD sharing).
    SharedGib,
    /// `memfd NAME SIZE hugetlb[=SIZE] [fill]`.
    Memfd,
    /// A touch of an earlier hugetlb mapping.
    Touch,
    /// `munmap`, `mprotect`, `madvise` or `mremap` of an earlier hugetlb mapping, aligned or not.
    Modify,
    /// `hugetlb_stat`.
    Stat,
    /// `hugetlb_pool` again (growing, or shrinking below what is in use: surplus).
    Resize,
}

/// How often each hugetlb kind is drawn (out of the sum, 20).
pub const HUGETLB_WEIGHTS: [(HugeKind, u32); 7] = [
    (HugeKind::Mmap, 5),
    (HugeKind::SharedGib, 1),
    (HugeKind::Memfd, 2),
    (HugeKind::Touch, 4),
    (HugeKind::Modify, 4),
    (HugeKind::Stat, 3),
    (HugeKind::Resize, 1),
];

/// The PFN-map and uprobe kinds of op, drawn instead of a [`WEIGHTS`] kind one time in
/// [`SPECIAL_ONE_IN`] when the options allow them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialKind {
    /// `perf_ring NAME PAGES`, then its one `mmap` (mostly right; sometimes private, of the
    /// wrong length or executable: the kernel's errors). A ring is mapped once: a second
    /// mapping of a buffer leaks into the user's `locked_vm` on 6.18 (the runner refuses it).
    PerfRing,
    /// An op on a ring mapping: touch, munmap, mprotect, madvise, mlock, mremap, pagemap,
    /// whole or in part.
    RingModify,
    /// `close` of a descriptor.
    Close,
    /// `codefile NAME SIZE`.
    Codefile,
    /// `mmap` of a code file, mostly private and executable.
    CodeMap,
    /// `uprobe NAME FOFF`.
    Uprobe,
    /// `uprobe_remove NAME FOFF`.
    UprobeRemove,
    /// `call OFF` into a code mapping (or just past one).
    Call,
    /// An op on a code mapping: touch r, munmap, mprotect, madvise dontneed, mremap, pagemap.
    CodeModify,
    /// `iomap` and a mapping of it, or `pat` (model only).
    Iomap,
}

/// How often each special kind is drawn (out of the sum).
pub const SPECIAL_WEIGHTS: [(SpecialKind, u32); 10] = [
    (SpecialKind::PerfRing, 3),
    (SpecialKind::RingModify, 5),
    (SpecialKind::Close, 1),
    (SpecialKind::Codefile, 2),
    (SpecialKind::CodeMap, 3),
    (SpecialKind::Uprobe, 3),
    (SpecialKind::UprobeRemove, 2),
    (SpecialKind::Call, 4),
    (SpecialKind::CodeModify, 3),
    (SpecialKind::Iomap, 2),
];

/// One op in this many is a special one, when the options allow them.
pub const SPECIAL_ONE_IN: u64 = 4;

/// One op in this many is a hugetlb one, in a script with a pool.
pub const HUGETLB_ONE_IN: u64 = 3;

/// One script in this many with 1 GiB pages available uses them (and no 2 MiB pool).
pub const HUGE_1G_ONE_IN: u64 = 6;

/// The kinds of op a script is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `mmap ... anon` with random flags.
    MmapAnon,
    /// `mmap` of a file.
    MmapFile,
    /// A `noreserve` reservation of 1 to 6 GiB.
    Reservation,
    /// `touch`.
    Touch,
    /// `munmap`.
    Munmap,
    /// `mprotect`.
    Mprotect,
    /// `mlock` (a third `onfault`).
    Mlock,
    /// `munlock`.
    Munlock,
    /// `mlockall` with one of its seven flag combinations.
    Mlockall,
    /// `munlockall`.
    Munlockall,
    /// `madvise` with one of the 18 advices.
    Madvise,
    /// `mremap`: in place, moved, `dontunmap`, or with OLDLEN 0.
    Mremap,
    /// A new `memfd` or `shmfile`.
    MakeFile,
    /// `pagemap`.
    Pagemap,
    /// `dump`.
    Dump,
    /// `commit` or `meminfo Committed_AS`.
    Commit,
    /// `nop`.
    Nop,
    /// A shared mapping written by one process, then forked and read by the child.
    SharedWriteForkRead,
    /// File I/O on a file of the script (`write`, `truncate`, `fallocate`, `fsync`, `reopen`)
    /// or `msync` of a range.
    FileIo,
    /// SysV shared memory: `shmget`, `shmat` (now and then `rdonly`), `shmdt`, `shmrm`.
    Shm,
    /// Raw flag values (`mmap ... raw=`, `madvise ... raw=`, `mlock2`, `mlockall raw=`).
    Raw,
    /// `setrlimit` and `drop_cap ipc_lock`.
    Limits,
}

/// How often each kind of op is drawn (out of the sum, 100).
pub const WEIGHTS: [(Kind, u32); 22] = [
    (Kind::MmapAnon, 10),
    (Kind::MmapFile, 6),
    (Kind::Reservation, 2),
    (Kind::Touch, 12),
    (Kind::Munmap, 6),
    (Kind::Mprotect, 6),
    (Kind::Mlock, 4),
    (Kind::Munlock, 2),
    (Kind::Mlockall, 2),
    (Kind::Munlockall, 1),
    (Kind::Madvise, 12),
    (Kind::Mremap, 8),
    (Kind::MakeFile, 2),
    (Kind::Pagemap, 5),
    (Kind::Dump, 3),
    (Kind::Commit, 2),
    (Kind::Nop, 1),
    (Kind::SharedWriteForkRead, 5),
    (Kind::FileIo, 6),
    (Kind::Shm, 2),
    (Kind::Raw, 2),
    (Kind::Limits, 1),
];

/// `fork` (when no child lives) and `child_exit` (when one does): one chance in this many per
/// op, each.
pub const FORK_ONE_IN: u64 = 20;

/// Protections, by weight.
const PROTS: [(&str, u32); 8] = [
    ("rw", 8),
    ("r", 4),
    ("none", 2),
    ("rwx", 1),
    ("w", 1),
    ("x", 1),
    ("rx", 1),
    ("wx", 1),
];

/// Every advice of script.md, by weight (dontneed twice: it is what most programs use).
const ADVICES: [(&str, u32); 18] = [
    ("dontneed", 2),
    ("dontneed_locked", 1),
    ("free", 1),
    ("remove", 1),
    ("dontfork", 1),
    ("dofork", 1),
    ("wipeonfork", 1),
    ("keeponfork", 1),
    ("populate_read", 1),
    ("populate_write", 1),
    ("hugepage", 1),
    ("nohugepage", 1),
    ("normal", 1),
    ("random", 1),
    ("sequential", 1),
    ("willneed", 1),
    ("dontdump", 1),
    ("dodump", 1),
];

/// `mlockall`'s flag combinations, each as likely. The three without `onfault` that include
/// `current` or `future` populate, so they are only drawn while the script holds no
/// reservation.
const MLOCKALLS: [&str; 7] = [
    "current",
    "future",
    "current future",
    "onfault",
    "current onfault",
    "future onfault",
    "current future onfault",
];

struct State {
    /// Starts and ends of earlier mappings, for neighbour placements.
    edges: Vec<u64>,
    /// Shared mappings made so far (start, len), for OLDLEN 0 duplicates.
    shared: Vec<(u64, u64)>,
    /// Files by name, with their sizes and, for hugetlb memfds, their page size.
    files: Vec<(String, u64, Option<HugeSize>)>,
    /// The script's huge page size and pool, if it has one.
    huge: Option<(HugeSize, u64)>,
    /// Hugetlb mappings made so far.
    huge_regions: Vec<(u64, u64)>,
    /// An upper bound of the huge page bytes the script may hold (every hugetlb mmap and fill,
    /// never less), kept within the runner's cap.
    huge_bound: u64,
    child: bool,
    locked: u64,
    /// A reservation was made: nothing may populate everything any more.
    reserved: bool,
    /// `mlockall future` (populating) is in force in some process: no reservation may be made.
    future_locked: bool,
    /// Perf rings by name, with their pages and the role that opened them.
    rings: Vec<(String, u64, bool)>,
    /// Ring mappings made (start, len).
    ring_regions: Vec<(u64, u64)>,
    /// Code files by name, with their sizes.
    codes: Vec<(String, u64)>,
    /// Code mappings made (start, len).
    code_regions: Vec<(u64, u64)>,
    /// Probes registered (file, offset).
    probes: Vec<(String, u64)>,
    /// Device regions by name, with their sizes.
    devices: Vec<(String, u64)>,
    /// The script made a swap device.
    swapon: bool,
    /// Private anonymous mappings made (start, len): what pageout mostly aims at.
    private_anon: Vec<(u64, u64)>,
    /// The script turned THP on.
    thp: bool,
    /// `VM_HUGEPAGE` regions made for THPs (start, len), 2 MiB aligned.
    thp_regions: Vec<(u64, u64)>,
    /// SysV segments made (named `g0`, `g1`, ...).
    segs: u64,
    /// Where segments were attached.
    shm_at: Vec<u64>,
    /// `drop_cap ipc_lock` was drawn.
    cap_dropped: bool,
    /// `mlockall current` was drawn.
    locked_current: bool,
}

const K4: u64 = 4096;
const M2: u64 = 2 << 20;
const G1: u64 = 1 << 30;
const G512: u64 = 512 << 30;

fn offset(r: &mut Rng, st: &State) -> u64 {
    let base = match r.below(20) {
        0..=5 => *r.pick(&[0, M2, 2 * M2, 3 * M2]),
        6..=8 => *r.pick(&[G1 - M2, G1, G1 + M2]),
        9..=10 => *r.pick(&[G512 - M2, G512, G512 + M2, 2 * G512 - M2, 2 * G512]),
        11..=16 if !st.edges.is_empty() => *r.pick(&st.edges),
        _ => r.below(16) * M2,
    };
    let delta = r.below(48) as i64 - 16;
    (base as i64 + delta * K4 as i64).max(0) as u64
}

fn length(r: &mut Rng) -> u64 {
    match r.below(10) {
        0..=5 => (1 + r.below(16)) * K4,
        6..=8 => (1 + r.below(256)) * K4,
        _ => (1 + r.below(4)) * M2,
    }
}

fn num(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else if v.is_multiple_of(1 << 30) {
        format!("{}G", v >> 30)
    } else if v.is_multiple_of(1 << 20) {
        format!("{}M", v >> 20)
    } else if v.is_multiple_of(4096) {
        format!("{}K", v >> 10)
    } else {
        format!("{v:#x}")
    }
}

/// The `mmap` FLAGS word: `private` or `shared` (1 in 4), then each optional flag with its own
/// chance; any combination can come out.
fn map_flags(r: &mut Rng, anon: bool) -> (String, bool) {
    let shared = r.chance(1, 4);
    let mut f = String::from(if shared { "shared" } else { "private" });
    if anon {
        f.push_str(",anon");
    }
    for (flag, one_in) in [
        ("populate", 8),
        ("locked", 10),
        ("noreserve", 6),
        ("growsdown", 10),
        ("fixed", 5),
    ] {
        if r.chance(1, one_in) {
            f.push(',');
            f.push_str(flag);
        }
    }
    (f, shared)
}

fn mmap_anon(r: &mut Rng, st: &mut State) -> String {
    let (o, l) = (offset(r, st), length(r));
    let (flags, shared) = map_flags(r, true);
    st.edges.push(o);
    st.edges.push(o + l);
    if shared {
        st.shared.push((o, l));
    } else {
        st.private_anon.push((o, l));
    }
    format!("mmap {} {} {} {flags}", num(o), num(l), r.weighted(&PROTS))
}

fn mmap_file(r: &mut Rng, st: &mut State) -> String {
    let (o, l) = (offset(r, st), length(r));
    let (flags, shared) = map_flags(r, false);
    let (name, size, huge) = st.files[r.below(st.files.len() as u64) as usize].clone();
    // Mostly inside the file, sometimes past its end (SIGBUS on touch); a hugetlb file mostly at
    // a huge page boundary (anything else is EINVAL).
    let foff = match huge {
        Some(h) if !r.chance(1, 5) => r.below(size / h.bytes() + 1) * h.bytes(),
        _ => r.below(size / K4 + 4) * K4,
    };
    if let (Some(h), false) = (huge, flags.contains("growsdown")) {
        if o.is_multiple_of(h.bytes()) {
            st.huge_bound += h.round_up(l).unwrap_or(l);
        }
    }
    st.edges.push(o);
    st.edges.push(o + l);
    if shared {
        st.shared.push((o, l));
    }
    format!(
        "mmap {} {} {} {flags} {name} {}",
        num(o),
        num(l),
        r.weighted(&PROTS),
        num(foff)
    )
}

/// A file op on one of the script's shmem files (hugetlbfs files only get what the model
/// has for them: `fsync`, `reopen`, and `write`, which they refuse), or `msync`.
fn file_io(r: &mut Rng, st: &mut State) -> String {
    let files: Vec<(String, u64, Option<HugeSize>)> = st.files.clone();
    if files.is_empty() || r.chance(1, 4) {
        let flags = *r.pick(&[
            "sync",
            "sync",
            "async",
            "invalidate",
            "sync,invalidate",
            "async,invalidate",
            "sync,async",
        ]);
        let o = offset(r, st);
        let o = if r.chance(1, 10) { o + 2048 } else { o };
        return format!("msync {} {} {flags}", num(o), num(length(r)));
    }
    let (name, size, huge) = files[r.below(files.len() as u64) as usize].clone();
    // Offsets inside the file or a little past its end, now and then not page aligned.
    let foff = |r: &mut Rng| {
        let o = r.below(size / K4 + 8) * K4;
        if r.chance(1, 6) {
            o + r.below(K4)
        } else {
            o
        }
    };
    let len = |r: &mut Rng| {
        if r.chance(1, 6) {
            1 + r.below(3 * K4)
        } else {
            (1 + r.below(16)) * K4
        }
    };
    if let Some(h) = huge.filter(|_| r.chance(1, 2)) {
        // A hugetlbfs file shrinks (whole huge pages, or EINVAL) or has a hole punched: both
        // only give huge pages back, so the pool bound holds.
        let hb = h.bytes();
        return if r.chance(1, 2) {
            let to = r.below(size / hb + 1) * hb;
            let to = if r.chance(1, 5) {
                to + K4
            } else {
                to.min(size)
            };
            format!("truncate {name} {}", num(to))
        } else {
            let o = r.below(size / hb + 1) * hb;
            format!("fallocate {name} {} {} punch keep", num(o), num(hb))
        };
    }
    let kinds: &[u32] = if huge.is_some() {
        &[0, 3, 4]
    } else {
        &[0, 0, 1, 2, 2, 3, 4]
    };
    match *r.pick(kinds) {
        0 => format!("write {name} {} {}", num(foff(r)), num(len(r))),
        1 => format!("truncate {name} {}", num(foff(r))),
        2 => {
            let how = *r.pick(&["", "", " keep", " punch keep", " punch keep", " punch"]);
            format!("fallocate {name} {} {}{how}", num(foff(r)), num(len(r)))
        }
        3 => format!("fsync {name}"),
        _ => {
            let alias = format!("d{}", st.files.len());
            let mode = *r.pick(&["ro", "ro", "wo", "rw"]);
            // A write-only descriptor maps nothing; the others map like the file.
            if mode != "wo" {
                st.files.push((alias.clone(), size, huge));
            }
            format!("reopen {name} {alias} {mode}")
        }
    }
}

/// Raw values: mmap flags from the bits do_mmap judges (map types good and bad, unknown
/// bits, MAP_SHARED_VALIDATE, MAP_STACK, MAP_SYNC, MAP_NONBLOCK), advice numbers (valid ones
/// the model has, and invalid ones), mlock2 and mlockall flags.
fn raw_op(r: &mut Rng, st: &mut State, opts: &GenOptions) -> String {
    match r.below(4) {
        0 => {
            let (o, l) = (offset(r, st), length(r));
            st.edges.push(o);
            st.edges.push(o + l);
            let ty = *r.pick(&[0x1u64, 0x2, 0x2, 0x3, 0x0, 0x4]);
            let extra = *r.pick(&[
                0u64,
                0x10,
                0x20000,
                0x80000,
                0x8000,
                0x18000,
                0x40,
                0x800,
                0x1000_0000,
                0x100,
            ]);
            let with_file = !st.files.is_empty() && r.chance(1, 3);
            let raw = ty | extra | if with_file { 0 } else { 0x20 };
            let file = if with_file {
                let (name, _, _) = st.files[r.below(st.files.len() as u64) as usize].clone();
                format!(" {name}")
            } else {
                String::new()
            };
            if ty & 1 != 0 {
                st.shared.push((o, l));
            }
            format!(
                "mmap {} {} {} raw={raw:#x}{file}",
                num(o),
                num(l),
                r.weighted(&PROTS)
            )
        }
        1 => {
            let a = *r.pick(&[
                0u64, 1, 2, 3, 4, 5, 8, 10, 11, 13, 14, 15, 16, 17, 18, 19, 26, 99,
            ]);
            format!("madvise {} {} raw={a}", num(offset(r, st)), num(length(r)))
        }
        2 => {
            let (o, l) = (offset(r, st), length(r));
            let f = *r.pick(&[0u64, 1, 1, 2, 3]);
            if st.locked + l > opts.memlock_limit {
                format!("munlock {} {}", num(o), num(l))
            } else {
                st.locked += l;
                format!("mlock2 {} {} raw={f:#x}", num(o), num(l))
            }
        }
        _ => {
            // Populating flags (current without onfault, or future) would populate a
            // reservation whole: as for the named mlockall, then only what cannot.
            let f = *r.pick(&[0u64, 4, 8, 6, 5, 9]);
            let populates = f & 1 != 0 && f & 4 == 0;
            if (st.reserved && (populates || f & 2 != 0))
                || st.locked > opts.memlock_limit
                || (st.cap_dropped && f & 1 != 0)
            {
                "munlockall".into()
            } else {
                st.locked_current |= f & 1 != 0;
                format!("mlockall raw={f:#x}")
            }
        }
    }
}

/// A SysV op: a new segment (up to 64 KiB, any size), an attachment of one at a random
/// place, a detach at an earlier attachment (or anywhere), or `IPC_RMID`.
fn shm_op(r: &mut Rng, st: &mut State) -> String {
    if st.segs == 0 || r.chance(1, 5) {
        st.segs += 1;
        let size = if r.chance(1, 3) {
            1 + r.below(64 * K4)
        } else {
            (1 + r.below(16)) * K4
        };
        return format!("shmget g{} {}", st.segs - 1, num(size));
    }
    let seg = format!("g{}", r.below(st.segs));
    match r.below(4) {
        0 | 1 => {
            let o = offset(r, st);
            st.edges.push(o);
            st.shared.push((o, 16 * K4));
            st.shm_at.push(o);
            let ro = if r.chance(1, 4) { " rdonly" } else { "" };
            format!("shmat {seg} {}{ro}", num(o))
        }
        2 => {
            let o = match st.shm_at.len() {
                0 => offset(r, st),
                n if !r.chance(1, 5) => st.shm_at[r.below(n as u64) as usize],
                _ => offset(r, st),
            };
            format!("shmdt {}", num(o))
        }
        _ => format!("shmrm {seg}"),
    }
}

fn mremap(r: &mut Rng, st: &mut State) -> String {
    let (o, l, n) = (offset(r, st), length(r), length(r));
    let to = offset(r, st);
    st.edges.push(to);
    match r.below(10) {
        // In place: grow (ENOMEM if it cannot) or shrink.
        0..=2 => format!("mremap {} {} {}", num(o), num(l), num(n)),
        // Moved (and resized) to a fixed place, over whatever is there.
        3..=5 => format!(
            "mremap {} {} {} maymove fixed={}",
            num(o),
            num(l),
            num(n),
            num(to)
        ),
        6..=7 => format!(
            "mremap {} {} {} maymove fixed={} dontunmap",
            num(o),
            num(l),
            num(l),
            num(to)
        ),
        // OLDLEN 0: duplicate a shared mapping (a private one is EINVAL); without maymove
        // there is nowhere to grow (ENOMEM).
        _ => {
            let src = if st.shared.is_empty() || r.chance(1, 4) {
                o
            } else {
                let (s, sl) = *r.pick(&st.shared);
                s + r.below(sl / K4) * K4
            };
            if r.chance(1, 5) {
                format!("mremap {} 0 {}", num(src), num(n))
            } else {
                format!("mremap {} 0 {} maymove fixed={}", num(src), num(n), num(to))
            }
        }
    }
}

fn op(r: &mut Rng, st: &mut State, opts: &GenOptions, out: &mut Vec<String>) {
    let kind = r.weighted(&WEIGHTS);
    let line = match kind {
        Kind::MmapAnon => mmap_anon(r, st),
        Kind::MmapFile => mmap_file(r, st),
        Kind::Reservation => {
            if st.future_locked {
                // Locked by default: the mapping would be populated whole.
                mmap_anon(r, st)
            } else {
                st.reserved = true;
                let o = *r.pick(&[2 * G1, 4 * G1, 16 * G1, G512 - 2 * G1, G512 + G1]);
                let l = (1 + r.below(6)) * G1;
                st.edges.push(o);
                st.edges.push(o + l);
                let kind = if r.chance(1, 4) { "shared" } else { "private" };
                let fixed = if r.chance(1, 4) { ",fixed" } else { "" };
                format!("mmap {} {} rw {kind},anon,noreserve{fixed}", num(o), num(l))
            }
        }
        Kind::Touch => {
            let (o, l) = (offset(r, st), length(r));
            let stride = *r.pick(&[K4, K4, 3 * K4, 16 * K4]);
            let w = if r.chance(1, 2) { "w" } else { "r" };
            let grow = if r.chance(1, 8) { " grow" } else { "" };
            format!("touch {} {} {w} {}{grow}", num(o), num(l), num(stride))
        }
        Kind::Munmap => format!("munmap {} {}", num(offset(r, st)), num(length(r))),
        Kind::Mprotect => format!(
            "mprotect {} {} {}",
            num(offset(r, st)),
            num(length(r)),
            r.weighted(&PROTS)
        ),
        Kind::Mlock => {
            let (o, l) = (offset(r, st), length(r));
            if st.locked + l > opts.memlock_limit {
                format!("munlock {} {}", num(o), num(l))
            } else {
                st.locked += l;
                let onfault = if r.chance(1, 3) { " onfault" } else { "" };
                format!("mlock {} {}{onfault}", num(o), num(l))
            }
        }
        Kind::Munlock => format!("munlock {} {}", num(offset(r, st)), num(length(r))),
        Kind::Mlockall => {
            let f = *r.pick(&MLOCKALLS);
            let populates = !f.contains("onfault") && f != "future";
            if (st.reserved && (populates || f == "future"))
                || st.locked > opts.memlock_limit
                || (st.cap_dropped && f.contains("current"))
            {
                "munlockall".into()
            } else {
                if f.contains("future") && !f.contains("onfault") {
                    st.future_locked = true;
                }
                st.locked_current |= f.contains("current");
                format!("mlockall {f}")
            }
        }
        Kind::Munlockall => "munlockall".into(),
        Kind::Madvise => format!(
            "madvise {} {} {}",
            num(offset(r, st)),
            num(length(r)),
            r.weighted(&ADVICES)
        ),
        Kind::Mremap => mremap(r, st),
        Kind::MakeFile => {
            let name = format!("h{}", st.files.len());
            let size = (1 + r.below(64)) * K4;
            st.files.push((name.clone(), size, None));
            let (op, fill) = (
                *r.pick(&["memfd", "shmfile"]),
                if r.chance(1, 2) { " fill" } else { "" },
            );
            format!("{op} {name} {}{fill}", num(size))
        }
        Kind::Pagemap => {
            let o = offset(r, st);
            format!(
                "pagemap {} {}",
                num(o & !(M2 - 1)),
                num(M2.min(length(r) + 64 * K4))
            )
        }
        Kind::Dump => "dump".into(),
        Kind::FileIo => file_io(r, st),
        Kind::Shm => shm_op(r, st),
        Kind::Raw => raw_op(r, st, opts),
        // Once mlockall current has locked the runner's own memory too (the model has none),
        // a lock limit would count it on the kernel only: no drop_cap after it, and no
        // mlockall current after a drop_cap.
        Kind::Limits if st.locked_current => "nop".into(),
        Kind::Limits => match r.below(6) {
            0 => {
                st.cap_dropped = true;
                "drop_cap ipc_lock".into()
            }
            1 | 2 => {
                let v = *r.pick(&["4M", "8M", "16M", "0"]);
                format!("setrlimit memlock {v}")
            }
            3 => format!("setrlimit data {}", *r.pick(&["16M", "256M", "4G", "inf"])),
            _ => format!("setrlimit as {}", *r.pick(&["64M", "1G", "64G", "inf"])),
        },
        Kind::Commit => (*r.pick(&["commit", "meminfo Committed_AS"])).into(),
        // process_mrelease of the live parent: EINVAL whatever the flags.
        Kind::Nop if r.chance(1, 4) => (*r.pick(&["mrelease P", "mrelease P 1"])).into(),
        Kind::Nop => "nop".into(),
        Kind::SharedWriteForkRead => {
            // The dirty state of shared pages: written by one process (some by write faults,
            // some through already-writable PTEs), then only read by a child.
            let l = (4 + r.below(28)) * K4;
            let o = offset(r, st) & !(M2 - 1);
            let map = if r.chance(1, 2) || st.files.is_empty() {
                format!("mmap {} {} rw shared,anon,fixed", num(o), num(l))
            } else {
                let (name, _, _) = st.files[r.below(2) as usize].clone();
                format!("mmap {} {} rw shared,fixed {name}", num(o), num(l))
            };
            st.edges.push(o);
            st.edges.push(o + l);
            st.shared.push((o, l));
            let half = (l / 2) & !(K4 - 1);
            let pre = if st.child { "child " } else { "" };
            out.push(format!("{pre}{map}"));
            out.push(format!("{pre}touch {} {} w", num(o), num(half)));
            out.push(format!("{pre}touch {} {} r", num(o + half), num(l - half)));
            out.push(format!("{pre}touch {} {} w", num(o + half), num(K4)));
            if !st.child {
                out.push("fork".into());
                st.child = true;
                out.push(format!("child touch {} {} r", num(o), num(l)));
                out.push("child dump".into());
            }
            return;
        }
    };
    if st.child && r.chance(1, 2) {
        out.push(format!("child {line}"));
    } else {
        out.push(line);
    }
}

/// Scripts with a swap device, where the host can make one (one in this many).
pub const SWAPON_ONE_IN: u64 = 3;
/// Swap ops (pageout, `meminfo SwapFree`) in a script with a device: one op in this many.
pub const SWAP_OP_ONE_IN: u64 = 4;

/// Scripts with THP on, where the host has THP (one in this many).
pub const THP_ONE_IN: u64 = 3;
/// THP ops in such a script: one op in this many.
pub const THP_OP_ONE_IN: u64 = 3;

/// A THP op: a new `VM_HUGEPAGE` region (2 MiB aligned, 2-6 MiB), touches in one (whole THPs
/// or a few pages), and what splits, moves or frees them: part or all of a region unmapped,
/// protected, advised, moved; and now and then the process's THP switched.
fn thp_op(r: &mut Rng, st: &mut State, out: &mut Vec<String>) {
    let child = st.child && r.chance(1, 3);
    let pre = if child { "child " } else { "" };
    if st.thp_regions.is_empty() || r.chance(1, 5) {
        let o = (16 + r.below(64)) * M2;
        let l = (1 + r.below(3)) * M2;
        st.edges.push(o);
        st.edges.push(o + l);
        st.private_anon.push((o, l));
        st.thp_regions.push((o, l));
        out.push(format!("{pre}mmap {} {} rw private,anon", num(o), num(l)));
        out.push(format!("{pre}madvise {} {} hugepage", num(o), num(l)));
        return;
    }
    let (o, l) = *r.pick(&st.thp_regions);
    let part = |r: &mut Rng| -> (u64, u64) {
        let pages = l / K4;
        let first = r.below(pages);
        (o + first * K4, (1 + r.below((pages - first).min(768))) * K4)
    };
    let line = match r.below(14) {
        0..=3 => format!("touch {} {} w {}", num(o), num(l), num(M2)),
        4 => format!("touch {} {} r {}", num(o), num(l), num(M2)),
        5 => {
            let (a, n) = part(r);
            format!("touch {} {} {}", num(a), num(n), *r.pick(&["r", "w"]))
        }
        6 => {
            let (a, n) = part(r);
            format!("munmap {} {}", num(a), num(n))
        }
        7 => {
            let (a, n) = part(r);
            format!(
                "mprotect {} {} {}",
                num(a),
                num(n),
                *r.pick(&["r", "rw", "none"])
            )
        }
        8 => {
            let (a, n) = if r.chance(1, 2) { part(r) } else { (o, l) };
            let advice = *r.pick(&[
                "dontneed",
                "free",
                "pageout",
                "nohugepage",
                "populate_write",
            ]);
            format!("madvise {} {} {advice}", num(a), num(n))
        }
        9 => {
            let to = (96 + r.below(32)) * M2 + if r.chance(1, 3) { K4 } else { 0 };
            st.edges.push(to);
            format!(
                "mremap {} {} {} maymove fixed={}",
                num(o),
                num(l),
                num(l),
                num(to)
            )
        }
        10 => format!("mlock {} {}", num(o), num(l.min(st_lock_room(st)))),
        11 => "fork".into(),
        12 => format!("thp {}", *r.pick(&["on", "off"])),
        _ => format!("pagemap {} {}", num(o), num(l.min(2 * M2))),
    };
    if line == "fork" {
        if !st.child {
            out.push(line);
            st.child = true;
        }
        return;
    }
    if line.starts_with("mlock") && line.ends_with(" 0") {
        return;
    }
    if line.starts_with("mlock") {
        st.locked += l.min(st_lock_room(st));
    }
    out.push(format!("{pre}{line}"));
}

/// What may still be mlocked within the generator's RLIMIT_MEMLOCK budget (8 MiB).
fn st_lock_room(st: &State) -> u64 {
    (8u64 << 20).saturating_sub(st.locked) & !(K4 - 1)
}

/// A swap op: `madvise pageout` of a range (three in four) or `meminfo SwapFree`.
fn swap_op(r: &mut Rng, st: &mut State, out: &mut Vec<String>) {
    let line = if r.below(4) < 3 {
        // Mostly part of a private anonymous mapping, sometimes anywhere (shmem pages too).
        let (o, l) = match st.private_anon.is_empty() || r.chance(1, 4) {
            true => (offset(r, st), length(r)),
            false => {
                let (o, l) = *r.pick(&st.private_anon);
                let pages = (l / K4).max(1);
                let first = r.below(pages);
                (o + first * K4, (1 + r.below(pages - first)) * K4)
            }
        };
        format!("madvise {} {} pageout", num(o), num(l))
    } else {
        "meminfo SwapFree".into()
    };
    if st.child && r.chance(1, 3) {
        out.push(format!("child {line}"));
    } else {
        out.push(line);
    }
}

/// A hugetlb op (the script has a pool).
fn huge_op(r: &mut Rng, st: &mut State, opts: &GenOptions, out: &mut Vec<String>) {
    let (size, pool) = st.huge.expect("a pool");
    let hb = size.bytes();
    let word = size.word();
    let region = |r: &mut Rng, st: &State| -> (u64, u64) {
        match st.huge_regions.is_empty() {
            true => (r.below(8) * hb, hb),
            false => *r.pick(&st.huge_regions),
        }
    };
    let line = match r.weighted(&HUGETLB_WEIGHTS) {
        HugeKind::Mmap | HugeKind::SharedGib if st.huge_bound + hb > opts.cap / 2 => {
            format!("hugetlb_stat {word}")
        }
        HugeKind::Mmap => {
            let pages = 1 + r.below(3);
            let mut o = match r.below(3) {
                0 if !st.huge_regions.is_empty() => region(r, st).0,
                _ => (8 + r.below(24)) * hb.max(M2 * 4),
            };
            if r.chance(1, 6) {
                o += (1 + r.below(15)) * K4; // unaligned: EINVAL
            }
            let len = pages * hb - if r.chance(1, 3) { r.below(16) * K4 } else { 0 };
            let kind = if r.chance(1, 2) { "shared" } else { "private" };
            let mut flags = format!("{kind},anon,hugetlb={word}");
            for (f, one_in) in [
                ("noreserve", 3),
                ("fixed", 4),
                ("populate", 8),
                ("locked", 10),
            ] {
                if r.chance(1, one_in) {
                    flags.push(',');
                    flags.push_str(f);
                }
            }
            st.huge_regions.push((o, pages * hb));
            st.edges.push(o);
            st.edges.push(o + pages * hb);
            st.huge_bound += pages * hb;
            format!(
                "mmap {} {} {} {flags}",
                num(o),
                num(len),
                r.weighted(&PROTS)
            )
        }
        HugeKind::SharedGib => {
            // The runner bounds the GiB by its whole length, so nothing else may hold huge
            // pages: no other region and no hugetlb file (one not filled may be faulted later).
            let huge_files = st.files.iter().any(|f| f.2.is_some());
            if size != HugeSize::M2 || st.child || st.huge_bound > 0 || huge_files {
                format!("hugetlb_stat {word}")
            } else {
                // The whole GiB, so that a forked child shares the PMD table. Like any large
                // reservation, nothing may populate everything afterwards.
                st.huge_bound = opts.cap;
                st.reserved = true;
                let o = (1 + r.below(3)) * G1;
                st.huge_regions.push((o, G1));
                out.push(format!(
                    "mmap {} 1G rw shared,anon,hugetlb,noreserve",
                    num(o)
                ));
                out.push(format!(
                    "touch {} {} w 2M",
                    num(o),
                    num(M2 * (1 + r.below(pool)))
                ));
                out.push("fork".into());
                st.child = true;
                let w = if r.chance(1, 2) { "w" } else { "r" };
                out.push(format!("child touch {} {} {w} 2M", num(o), num(M2 * 2)));
                out.push(format!("child pagemap {} {}", num(o), num(M2 * 2)));
                return;
            }
        }
        HugeKind::Memfd => {
            let pages = 1 + r.below(pool.min(3));
            if st.huge_bound + pages * hb > opts.cap / 2 {
                format!("hugetlb_stat {word}")
            } else {
                let name = format!("h{}", st.files.len());
                st.files.push((name.clone(), pages * hb, Some(size)));
                let fill = r.chance(1, 2);
                // Filled now or faulted through a mapping later: bound it either way.
                st.huge_bound += pages * hb;
                format!(
                    "memfd {name} {} hugetlb={word}{}",
                    num(pages * hb),
                    if fill { " fill" } else { "" }
                )
            }
        }
        HugeKind::Touch => {
            let (o, l) = region(r, st);
            let stride = *r.pick(&[hb, K4 * 64, hb]);
            let w = if r.chance(1, 2) { "w" } else { "r" };
            format!(
                "touch {} {} {w} {}",
                num(o),
                num(l.min(4 * hb)),
                num(stride)
            )
        }
        HugeKind::Modify => {
            let (o, l) = region(r, st);
            let (a, n) = if r.chance(1, 3) {
                (o + r.below((l / K4).max(1)) * K4, (1 + r.below(512)) * K4)
            } else {
                let pages = (l / hb).max(1);
                (o + r.below(pages) * hb, (1 + r.below(pages)) * hb)
            };
            match r.below(5) {
                0 => format!("munmap {} {}", num(a), num(n)),
                1 => format!("mprotect {} {} {}", num(a), num(n), r.weighted(&PROTS)),
                2 => format!("madvise {} {} {}", num(a), num(n), r.weighted(&ADVICES)),
                // A hugetlb VMA is never locked, but what the region holds now may not be
                // hugetlb any more (a later mapping over it): stay within the lock budget.
                3 => {
                    let n = n.min(st_lock_room(st)).max(K4);
                    st.locked += n;
                    format!("mlock {} {}", num(a), num(n))
                }
                _ => {
                    let to = (32 + r.below(16)) * hb.max(M2 * 4);
                    st.huge_regions.push((to, n));
                    format!(
                        "mremap {} {} {} maymove fixed={}",
                        num(a),
                        num(n),
                        num(n),
                        num(to)
                    )
                }
            }
        }
        HugeKind::Stat => format!("hugetlb_stat {word}"),
        HugeKind::Resize => {
            let n = if size == HugeSize::G1 {
                r.below(2)
            } else {
                r.below(9)
            };
            format!("hugetlb_pool {word} {}", n.min(pool))
        }
    };
    if st.child && r.chance(1, 2) && !line.starts_with("hugetlb_") {
        out.push(format!("child {line}"));
    } else {
        out.push(line);
    }
}

/// A PFN-map, uprobe or device op (the options allow some).
fn special_op(r: &mut Rng, st: &mut State, opts: &GenOptions, out: &mut Vec<String>) {
    let mut kinds: Vec<(SpecialKind, u32)> = SPECIAL_WEIGHTS
        .iter()
        .copied()
        .filter(|(k, _)| match k {
            SpecialKind::PerfRing | SpecialKind::RingModify => opts.perf,
            SpecialKind::Iomap => opts.iomap,
            SpecialKind::Close => true,
            _ => opts.uprobes,
        })
        .collect();
    if kinds.is_empty() {
        kinds.push((SpecialKind::Close, 1));
    }
    let pre = if st.child && r.chance(1, 2) {
        "child "
    } else {
        ""
    };
    let in_child = !pre.is_empty();
    let region = |r: &mut Rng, v: &[(u64, u64)], st: &State| match v.is_empty() {
        true => (offset(r, st), (1 + r.below(8)) * K4),
        false => *r.pick(v),
    };
    let line = match r.weighted(&kinds) {
        SpecialKind::PerfRing => {
            let name = format!("e{}", st.rings.len());
            let pages = *r.pick(&[0, 1, 2, 4, 8, 8, 16]);
            // A ring is opened and mapped in the process that runs the op; rings opened in a
            // child are never mapped in the parent and the other way round, so no buffer is
            // ever mapped twice.
            st.rings.push((name.clone(), pages, in_child));
            out.push(format!("{pre}perf_ring {name} {pages}"));
            let o = offset(r, st);
            let len = match r.below(10) {
                0 => (2 + pages) * K4, // not 1 + 2^n pages: EINVAL
                _ => (1 + pages) * K4,
            };
            let prot = *r.pick(&["rw", "rw", "rw", "r", "r", "rx"]);
            let kind = if r.chance(1, 8) { "private" } else { "shared" };
            let fixed = if r.chance(1, 6) { ",fixed" } else { "" };
            st.ring_regions.push((o, len));
            st.edges.push(o);
            st.edges.push(o + len);
            format!("mmap {} {} {prot} {kind}{fixed} {name}", num(o), num(len))
        }
        SpecialKind::RingModify => {
            let (o, l) = region(r, &st.ring_regions, st);
            let part = (r.below((l / K4).max(1)) * K4, (1 + r.below(2)) * K4);
            let (a, n) = if r.chance(1, 2) {
                (o, l)
            } else {
                (o + part.0, part.1)
            };
            match r.below(9) {
                0 => format!("touch {} {} {}", num(a), num(n), r.pick(&["r", "w"])),
                1 => format!("munmap {} {}", num(a), num(n)),
                2 => format!("mprotect {} {} {}", num(a), num(n), r.weighted(&PROTS)),
                3 => format!("madvise {} {} {}", num(a), num(n), r.weighted(&ADVICES)),
                4 => {
                    let n = n.min(st_lock_room(st)).max(K4);
                    st.locked += n;
                    format!("mlock {} {}", num(a), num(n))
                }
                5 => {
                    let to = offset(r, st);
                    st.edges.push(to);
                    match r.below(3) {
                        0 => format!("mremap {} {} {}", num(a), num(n), num(n * 2)),
                        1 => format!("mremap {} {} {}", num(a), num(n), num(K4)),
                        _ => {
                            st.ring_regions.push((to, n));
                            format!(
                                "mremap {} {} {} maymove fixed={}",
                                num(a),
                                num(n),
                                num(n),
                                num(to)
                            )
                        }
                    }
                }
                6 => "dump".into(),
                _ => format!("pagemap {} {}", num(o), num(l)),
            }
        }
        SpecialKind::Close => {
            let mut names: Vec<String> = st.rings.iter().map(|(n, _, _)| n.clone()).collect();
            names.extend(st.codes.iter().map(|(n, _)| n.clone()));
            names.extend(st.files.iter().map(|(n, _, _)| n.clone()));
            match names.is_empty() {
                true => "nop".into(),
                false => format!("close {}", r.pick(&names)),
            }
        }
        SpecialKind::Codefile => {
            let name = format!("c{}", st.codes.len());
            let size = (1 + r.below(16)) * K4;
            st.codes.push((name.clone(), size));
            format!("codefile {name} {}", num(size))
        }
        SpecialKind::CodeMap => {
            if st.codes.is_empty() {
                let name = format!("c{}", st.codes.len());
                st.codes.push((name.clone(), 4 * K4));
                out.push(format!("{pre}codefile {name} 16K"));
            }
            let (name, size) = r.pick(&st.codes).clone();
            let o = offset(r, st);
            let l = match r.below(4) {
                0 => (1 + r.below(4)) * K4,
                _ => size,
            };
            let foff = if r.chance(1, 4) {
                r.below(size / K4) * K4
            } else {
                0
            };
            let prot = *r.pick(&["rx", "rx", "rx", "r", "x", "rwx", "rw"]);
            let kind = if r.chance(1, 4) { "shared" } else { "private" };
            let fixed = if r.chance(1, 4) { ",fixed" } else { "" };
            st.code_regions.push((o, l));
            st.edges.push(o);
            st.edges.push(o + l);
            format!(
                "mmap {} {} {prot} {kind}{fixed} {name} {}",
                num(o),
                num(l),
                num(foff)
            )
        }
        SpecialKind::Uprobe => {
            if st.codes.is_empty() {
                "nop".into()
            } else {
                let (name, size) = r.pick(&st.codes).clone();
                let foff = match r.below(8) {
                    0 => size + K4, // past the end: EINVAL
                    1..=3 => r.below(size / K4) * K4 + r.below(64),
                    _ => r.below(size),
                };
                st.probes.push((name.clone(), foff));
                format!("uprobe {name} {foff:#x}")
            }
        }
        SpecialKind::UprobeRemove => {
            if st.probes.is_empty() || r.chance(1, 8) {
                match st.codes.first() {
                    Some((n, _)) => format!("uprobe_remove {n} 0x10"),
                    None => "nop".into(),
                }
            } else {
                let i = r.below(st.probes.len() as u64) as usize;
                let (name, foff) = st.probes.remove(i);
                format!("uprobe_remove {name} {foff:#x}")
            }
        }
        SpecialKind::Call => {
            let (o, l) = region(r, &st.code_regions, st);
            // Mostly where a probe may sit; sometimes just past the mapping (a hole: SIGSEGV).
            let at = match r.below(6) {
                0 => o + l,
                _ => {
                    let probe = st.probes.iter().find(|_| r.chance(1, 2)).map(|p| p.1);
                    o + probe.map_or(r.below(l), |p| p % l.max(1))
                }
            };
            format!("call {}", num(at))
        }
        SpecialKind::CodeModify => {
            let (o, l) = region(r, &st.code_regions, st);
            let (a, n) = if r.chance(1, 2) {
                (o, l)
            } else {
                (o + r.below((l / K4).max(1)) * K4, K4)
            };
            match r.below(7) {
                0 => format!("touch {} {} r", num(a), num(n)),
                1 => format!("munmap {} {}", num(a), num(n)),
                2 => format!(
                    "mprotect {} {} {}",
                    num(a),
                    num(n),
                    r.pick(&["rx", "r", "rw", "none"])
                ),
                3 => format!("madvise {} {} dontneed", num(a), num(n)),
                4 => {
                    let to = offset(r, st);
                    st.edges.push(to);
                    st.code_regions.push((to, n));
                    format!(
                        "mremap {} {} {} maymove fixed={}",
                        num(a),
                        num(n),
                        num(n),
                        num(to)
                    )
                }
                _ => format!("pagemap {} {}", num(o), num(l)),
            }
        }
        SpecialKind::Iomap => {
            if st.devices.is_empty() || r.chance(1, 3) {
                let name = format!("d{}", st.devices.len());
                let size = (1 + r.below(64)) * K4;
                st.devices.push((name.clone(), size));
                out.push(format!(
                    "{pre}iomap {name} {} {}",
                    num(size),
                    r.pick(&["uc", "wc", "wb"])
                ));
                let o = offset(r, st);
                st.edges.push(o);
                st.edges.push(o + size);
                st.ring_regions.push((o, size));
                let kind = if r.chance(1, 4) { "private" } else { "shared" };
                format!("mmap {} {} rw {kind} {name}", num(o), num(size))
            } else {
                "pat".into()
            }
        }
    };
    out.push(format!("{pre}{line}"));
}

/// A random script from `seed`: two files, then ops in the parent and (after a `fork`) the
/// child, with at most one child at a time.
pub fn script(seed: u64, opts: &GenOptions) -> String {
    let mut r = Rng::new(seed);
    let mut st = State {
        edges: Vec::new(),
        shared: Vec::new(),
        files: Vec::new(),
        huge: None,
        huge_regions: Vec::new(),
        huge_bound: 0,
        child: false,
        locked: 0,
        reserved: false,
        future_locked: false,
        rings: Vec::new(),
        ring_regions: Vec::new(),
        codes: Vec::new(),
        code_regions: Vec::new(),
        probes: Vec::new(),
        devices: Vec::new(),
        swapon: false,
        private_anon: Vec::new(),
        thp: false,
        thp_regions: Vec::new(),
        segs: 0,
        shm_at: Vec::new(),
        cap_dropped: false,
        locked_current: false,
    };
    let mut out = Vec::new();
    let (f, g) = ((1 + r.below(64)) * K4, (1 + r.below(64)) * K4);
    out.push(format!("memfd f {} fill", num(f)));
    out.push(format!("shmfile g {}", num(g)));
    st.files.push(("f".into(), f, None));
    st.files.push(("g".into(), g, None));
    if !opts.hugetlb.is_empty() && r.chance(1, 2) {
        let size = if opts.hugetlb.contains(&HugeSize::G1) && r.below(HUGE_1G_ONE_IN) == 0 {
            HugeSize::G1
        } else {
            opts.hugetlb[0]
        };
        let pool = if size == HugeSize::G1 {
            1
        } else {
            1 + r.below(8)
        };
        out.push(format!("hugetlb_pool {} {pool}", size.word()));
        st.huge = Some((size, pool));
    }
    if opts.swap && r.below(SWAPON_ONE_IN) == 0 {
        // Devices from 3 slots (full at once) to 16383.
        let size = *r.pick(&[16 * K4 / 4, 64 * K4, 256 * K4, 16 << 20, 64 << 20]);
        out.push(format!("swapon {}", num(size)));
        st.swapon = true;
    }
    if opts.thp && r.below(THP_ONE_IN) == 0 {
        out.push("thp on".into());
        st.thp = true;
    }
    let n = 1 + r.below(opts.max_ops as u64) as usize;
    for _ in 0..n {
        if !st.child && r.below(FORK_ONE_IN) == 0 {
            out.push("fork".into());
            st.child = true;
            continue;
        }
        if st.child && r.below(FORK_ONE_IN) == 0 {
            out.push("child_exit".into());
            st.child = false;
            continue;
        }
        if st.thp && r.below(THP_OP_ONE_IN) == 0 {
            thp_op(&mut r, &mut st, &mut out);
        } else if st.swapon && r.below(SWAP_OP_ONE_IN) == 0 {
            swap_op(&mut r, &mut st, &mut out);
        } else if st.huge.is_some() && r.below(HUGETLB_ONE_IN) == 0 {
            huge_op(&mut r, &mut st, opts, &mut out);
        } else if (opts.perf || opts.uprobes || opts.iomap) && r.below(SPECIAL_ONE_IN) == 0 {
            special_op(&mut r, &mut st, opts, &mut out);
        } else {
            op(&mut r, &mut st, opts, &mut out);
        }
    }
    if st.child {
        out.push("child dump".into());
        out.push("child_exit".into());
    }
    out.push("dump".into());
    let mut s = String::new();
    let _ = writeln!(s, "# generated: seed {seed}");
    for l in out {
        let _ = writeln!(s, "{l}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_script_and_scripts_parse() {
        let o = GenOptions::default();
        assert_eq!(script(7, &o), script(7, &o));
        assert_ne!(script(7, &o), script(8, &o));
        for seed in 0..500 {
            let s = script(seed, &o);
            exitmm_script::parse(&s).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{s}"));
            assert!(!exitmm_script::parse(&s).unwrap().model_only());
        }
    }

    #[test]
    fn every_op_flag_and_advice_comes_out() {
        let o = GenOptions::default();
        let all: String = (0..3000).map(|s| script(s, &o)).collect();
        let mut want: Vec<String> = [
            "mmap ",
            "memfd ",
            "shmfile ",
            "touch ",
            "munmap ",
            "mprotect ",
            "mlock ",
            "munlock ",
            "munlockall",
            "madvise ",
            "mremap ",
            "fork",
            "child ",
            "child_exit",
            "dump",
            "pagemap ",
            "commit",
            "meminfo Committed_AS",
            "nop",
            "mrelease P",
            "write ",
            "truncate ",
            "fallocate ",
            " punch keep",
            "fsync ",
            "reopen ",
            " ro\n",
            "msync ",
            "sync,invalidate",
            "shmget ",
            "shmat ",
            " rdonly",
            "shmdt ",
            "shmrm ",
            " grow",
            "raw=0x",
            "mlock2 ",
            "mlockall raw=",
            "setrlimit ",
            "drop_cap ipc_lock",
            " onfault",
            ",populate",
            ",locked",
            ",noreserve",
            ",growsdown",
            ",fixed",
            "shared,anon",
            "private,anon",
            " maymove fixed=",
            " dontunmap",
            " none",
            " 0 ",
            " fill",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        want.extend(ADVICES.iter().map(|(a, _)| format!(" {a}\n")));
        want.extend(MLOCKALLS.iter().map(|m| format!("mlockall {m}\n")));
        want.extend(PROTS.iter().map(|(p, _)| format!(" {p} ")));
        for w in &want {
            assert!(all.contains(w.as_str()), "no generated script has '{w}'");
        }
        // Reservations of GiB, and addresses past the first 512 GiB table entry.
        assert!(all.contains("G rw private,anon,noreserve"));
        assert!(all
            .lines()
            .any(|l| l.starts_with("mmap 512") || l.starts_with("mmap 1024G")));
        assert!(
            all.contains("mremap ") && all.contains(" 0 ") && all.contains("fork\nchild touch")
        );
    }
}
