//! Runs an exitmm script on the real kernel of this machine, through the static C runner in
//! `tools/kernel-runner.c`, and returns its records (format v1).
//!
//! The script is parsed once, by `exitmm-script`; this crate sends the runner a digested form
//! (numbers resolved, flags as bits) so that the C side needs no parser of its own.

#![forbid(unsafe_code)]

#[cfg(target_os = "linux")]
pub mod snapshot;
#[cfg(target_os = "linux")]
pub mod workload;
use exitmm_script::{Advice, HugeSize, Line, Op, Script};
use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

/// Default cap on what a script may make resident or charge on the host (touched pages,
/// `populate`, `locked`, committed memory; not the size of its reservations): 1 GiB.
pub const DEFAULT_FOOTPRINT_CAP: u64 = 1 << 30;

/// The runner's exit code when it refuses a script (footprint cap, arena, its own limits).
const EXIT_REFUSED: i32 = 6;

/// The runner's exit code when the host lacks what the script needs (root, huge pages of a
/// size, a pool of N of them); its one line names what.
pub(crate) const EXIT_UNAVAILABLE: i32 = 7;
/// The runner's exit code when the kernel gave fewer huge pages than `hugetlb_pool` asked.
pub(crate) const EXIT_POOL_SHORT: i32 = 8;

/// Why a script could not be run on the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// This machine cannot run the kernel side (not Linux x86-64, no C compiler, not root...).
    Unavailable(String),
    /// The script holds an op that only the model can run.
    ModelOnly {
        /// Script line number.
        line: usize,
        /// The op's name.
        op: &'static str,
    },
    /// The runner refused the script: an op would pass the footprint cap, map outside the
    /// arena, or pass one of the runner's own limits. The runner's one line says which op.
    Refused(String),
    /// The kernel could not allocate the huge page pool the script asked for this time
    /// (memory too fragmented): not the script's fault, and not the model's.
    PoolShort(String),
    /// The runner failed.
    Runner(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Unavailable(w) => write!(f, "kernel side unavailable here: {w}"),
            HostError::ModelOnly { line, op } => {
                write!(
                    f,
                    "line {line}: '{op}' runs only on the model, not on the kernel"
                )
            }
            HostError::Refused(w) => write!(f, "{w}"),
            HostError::PoolShort(w) => write!(f, "{w}"),
            HostError::Runner(w) => write!(f, "kernel runner: {w}"),
        }
    }
}

impl std::error::Error for HostError {}

/// Linux's `MADV_*` number for an advice.
pub fn madv_number(a: Advice) -> u32 {
    match a {
        Advice::Normal => 0,
        Advice::Random => 1,
        Advice::Sequential => 2,
        Advice::WillNeed => 3,
        Advice::DontNeed => 4,
        Advice::Free => 8,
        Advice::Remove => 9,
        Advice::DontFork => 10,
        Advice::DoFork => 11,
        Advice::HugePage => 14,
        Advice::NoHugePage => 15,
        Advice::DontDump => 16,
        Advice::DoDump => 17,
        Advice::WipeOnFork => 18,
        Advice::KeepOnFork => 19,
        Advice::PopulateRead => 22,
        Advice::PopulateWrite => 23,
        Advice::DontNeedLocked => 24,
        Advice::PageOut => 21,
    }
}

fn prot_bits(p: exitmm_script::Prot) -> u64 {
    p.read as u64 | (p.write as u64) << 1 | (p.exec as u64) << 2
}

/// The digested form of one line: `line \t role \t op \t args \t text`.
fn digest_line(l: &Line) -> Result<String, HostError> {
    let (name, args): (&str, String) = match &l.op {
        Op::Mmap {
            off,
            len,
            prot,
            flags,
            file,
            foff,
        } => {
            let f = flags.shared as u64
                | (flags.anon as u64) << 1
                | (flags.populate as u64) << 2
                | (flags.locked as u64) << 3
                | (flags.noreserve as u64) << 4
                | (flags.growsdown as u64) << 5
                | (flags.fixed as u64) << 6
                | (flags.hugetlb.is_some() as u64) << 7
                | ((flags.hugetlb == Some(HugeSize::G1)) as u64) << 8
                | (flags.raw.is_some() as u64) << 9;
            let name = file
                .as_deref()
                .map(|n| format!(" ={n}"))
                .unwrap_or_default();
            (
                "mmap",
                format!(
                    "{off} {len} {} {f} {foff} {}{name}",
                    prot_bits(*prot),
                    flags.raw.unwrap_or(0)
                ),
            )
        }
        Op::MakeFile {
            name,
            size,
            fill,
            tmpfs,
            hugetlb,
        } => (
            "file",
            format!(
                "{size} {} {} {} ={name}",
                *fill as u8,
                *tmpfs as u8,
                hugetlb.map_or(0, |h| h.shift())
            ),
        ),
        Op::Touch {
            off,
            len,
            write,
            stride,
            grow,
        } => (
            "touch",
            format!("{off} {len} {} {stride} {}", *write as u8, *grow as u8),
        ),
        Op::Munmap { off, len } => ("munmap", format!("{off} {len}")),
        Op::Mprotect { off, len, prot } => {
            ("mprotect", format!("{off} {len} {}", prot_bits(*prot)))
        }
        Op::Mlock { off, len, onfault } => ("mlock", format!("{off} {len} {}", *onfault as u8)),
        Op::Munlock { off, len } => ("munlock", format!("{off} {len}")),
        Op::Mlockall {
            current,
            future,
            onfault,
        } => (
            "mlockall",
            format!("{} {} {}", *current as u8, *future as u8, *onfault as u8),
        ),
        Op::Munlockall => ("munlockall", String::new()),
        Op::Madvise { off, len, advice } => {
            ("madvise", format!("{off} {len} {}", madv_number(*advice)))
        }
        Op::Mremap {
            off,
            old_len,
            new_len,
            maymove,
            fixed,
            dontunmap,
        } => (
            "mremap",
            format!(
                "{off} {old_len} {new_len} {} {} {} {}",
                *maymove as u8,
                fixed.is_some() as u8,
                fixed.unwrap_or(0),
                *dontunmap as u8
            ),
        ),
        Op::Fork => ("fork", String::new()),
        Op::ChildExit => ("child_exit", String::new()),
        Op::Dump => ("dump", String::new()),
        Op::Pagemap { off, len } => ("pagemap", format!("{off} {len}")),
        Op::Commit => ("commit", String::new()),
        Op::Meminfo { key } => ("meminfo", format!("={key}")),
        Op::Nop => ("nop", String::new()),
        Op::HugetlbPool { size, n } => ("hugetlb_pool", format!("{} {n}", size.kb())),
        Op::HugetlbStat { size } => ("hugetlb_stat", format!("{}", size.kb())),
        Op::PerfRing { name, pages } => ("perf_ring", format!("{pages} ={name}")),
        Op::Close { name } => ("close", format!("={name}")),
        Op::Codefile { name, size } => ("codefile", format!("{size} ={name}")),
        Op::Uprobe { name, foff } => ("uprobe", format!("{foff} ={name}")),
        Op::UprobeRemove { name, foff } => ("uprobe_remove", format!("{foff} ={name}")),
        Op::Call { off } => ("call", format!("{off}")),
        Op::Mrelease { target, flags } => (
            "mrelease",
            format!("{} {flags}", (*target == exitmm_script::Role::C) as u8),
        ),
        Op::Swapon { size } => ("swapon", format!("{size}")),
        Op::Thp { on } => ("thp", format!("{}", *on as u8)),
        Op::Msync { off, len, flags } => ("msync", format!("{off} {len} {}", flags.bits())),
        Op::Write { name, foff, len } => ("write", format!("{foff} {len} ={name}")),
        Op::Truncate { name, size } => ("truncate", format!("{size} ={name}")),
        Op::Fallocate {
            name,
            foff,
            len,
            punch,
            keep,
        } => (
            "fallocate",
            format!("{foff} {len} {} ={name}", *punch as u8 | (*keep as u8) << 1),
        ),
        Op::Fsync { name } => ("fsync", format!("={name}")),
        Op::Shmget {
            name,
            size,
            hugetlb,
        } => ("shmget", format!("{size} {} ={name}", *hugetlb as u8)),
        Op::Shmat { name, off, rdonly } => ("shmat", format!("{off} {} ={name}", *rdonly as u8)),
        Op::Shmdt { off } => ("shmdt", format!("{off}")),
        Op::MadviseRaw { off, len, advice } => ("madvise", format!("{off} {len} {advice}")),
        // a[3] marks a raw value (in a[2] for mlock2, a[4] for mlockall, whose a[0..3] are
        // its named bits, for the footprint check).
        Op::Mlock2Raw { off, len, flags } => ("mlock", format!("{off} {len} {flags} 1")),
        Op::MlockallRaw { flags } => (
            "mlockall",
            format!(
                "{} {} {} 1 {flags}",
                flags & 1,
                (flags >> 1) & 1,
                (flags >> 2) & 1
            ),
        ),
        Op::BrkStart { off } => ("brk_start", format!("{off}")),
        Op::Brk { off } => ("brk", format!("{off}")),
        Op::Setrlimit { resource, value } => (
            "setrlimit",
            format!(
                "{} {} {}",
                match resource {
                    exitmm_script::Rlimit::Memlock => 0,
                    exitmm_script::Rlimit::As => 1,
                    exitmm_script::Rlimit::Data => 2,
                },
                value.is_none() as u8,
                value.unwrap_or(0)
            ),
        ),
        Op::DropCapIpcLock => ("drop_cap", String::new()),
        Op::Shmrm { name } => ("shmrm", format!("={name}")),
        Op::Reopen { name, alias, mode } => (
            "reopen",
            format!(
                "{} ={name} ={alias}",
                match mode {
                    exitmm_script::OpenMode::Ro => 0,
                    exitmm_script::OpenMode::Wo => 1,
                    exitmm_script::OpenMode::Rw => 2,
                }
            ),
        ),
        _ => {
            return Err(HostError::ModelOnly {
                line: l.line,
                op: l.op.name(),
            })
        }
    };
    Ok(format!(
        "{}\t{}\t{name}\t{args}\t{}\n",
        l.line,
        l.role.letter(),
        l.text
    ))
}

/// Digests a whole script for the runner.
pub fn digest(script: &Script) -> Result<String, HostError> {
    script.lines.iter().map(digest_line).collect()
}

/// Whether the kernel side can run here; `Err` says why not.
pub fn available() -> Result<&'static str, HostError> {
    let missing = env!("EXITMM_KERNEL_RUNNER_MISSING");
    if !missing.is_empty() {
        return Err(HostError::Unavailable(missing.to_string()));
    }
    Ok(env!("EXITMM_KERNEL_RUNNER"))
}

/// `uname -r` of this machine, for the first line of golden files.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs `script` on this machine's kernel and returns the records it printed. `footprint_cap`
/// bounds, in bytes, what the script may make resident or charge (see [`DEFAULT_FOOTPRINT_CAP`]);
/// an op that would pass it, or map outside the arena, is [`HostError::Refused`].
pub fn run(script: &Script, footprint_cap: u64) -> Result<String, HostError> {
    run_with(script, footprint_cap, &[])
}

/// [`run`] with more runner arguments (`-H`: stay in the host's namespaces, as where unshare is
/// not permitted).
fn run_with(script: &Script, footprint_cap: u64, extra: &[&str]) -> Result<String, HostError> {
    let runner = available()?;
    let input = digest(script)?;
    let mut cmd = Command::new(runner);
    cmd.arg("-c").arg(footprint_cap.to_string()).args(extra);
    if script
        .lines
        .iter()
        .any(|l| matches!(l.op, Op::HugetlbPool { .. }))
    {
        // The runner starts its janitor, which restores the pools however the run ends.
        cmd.arg("-P");
    }
    if script.lines.iter().any(|l| {
        matches!(
            l.op,
            Op::Codefile { .. } | Op::Uprobe { .. } | Op::UprobeRemove { .. }
        )
    }) {
        // The janitor also removes the run's uprobe events and codefiles however it ends.
        cmd.arg("-U");
    }
    if script
        .lines
        .iter()
        .any(|l| matches!(l.op, Op::Swapon { .. }))
    {
        // The janitor swaps off and removes the run's zram device however it ends.
        cmd.arg("-S");
    }
    if script
        .lines
        .iter()
        .any(|l| matches!(l.op, Op::Shmget { .. }))
    {
        // Outside a private IPC namespace the janitor removes the run's segments.
        cmd.arg("-I");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HostError::Unavailable(format!("cannot start {runner}: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| HostError::Runner(e.to_string()))?;
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let msg = stderr
            .lines()
            .next()
            .unwrap_or("failed")
            .trim_start_matches("kernel-runner: ")
            .to_string();
        if out.status.code() == Some(EXIT_REFUSED) {
            return Err(HostError::Refused(msg));
        }
        if out.status.code() == Some(EXIT_POOL_SHORT) {
            return Err(HostError::PoolShort(msg));
        }
        if out.status.code() == Some(EXIT_UNAVAILABLE) {
            return Err(HostError::Unavailable(msg));
        }
        if msg.contains("needs CAP_SYS_ADMIN") || msg.contains("needs 4 KiB") {
            return Err(HostError::Unavailable(msg));
        }
        return Err(HostError::Runner(msg));
    }
    String::from_utf8(out.stdout).map_err(|e| HostError::Runner(e.to_string()))
}

/// The exitmm uprobe events registered on this machine now (lines of tracefs `uprobe_events`
/// in group `exitmm`, any run's): none is left once every run has ended, however it ended.
/// The runner reads them in a mount namespace of its own, mounting tracefs there if needed.
pub fn uprobe_events() -> Result<Vec<String>, HostError> {
    let runner = available()?;
    let out = Command::new(runner)
        .arg("-E")
        .output()
        .map_err(|e| HostError::Unavailable(format!("cannot start {runner}: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let msg = stderr
        .lines()
        .next()
        .unwrap_or("failed")
        .trim_start_matches("kernel-runner: ")
        .to_string();
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()),
        Some(EXIT_UNAVAILABLE) => Err(HostError::Unavailable(msg)),
        _ => Err(HostError::Runner(msg)),
    }
}

/// Times, on this machine's kernel, the exit of a process that wrote `pages` anonymous pages:
/// `repeats` runs, each the nanoseconds from the child's last message to `waitpid` returning.
pub fn time_exit(pages: u64, repeats: u32) -> Result<Vec<u64>, HostError> {
    time_exits("-t", pages, repeats)
}

/// [`time_exit`] of a child whose `pages` pages are all swapped out first (`MADV_PAGEOUT` to a
/// zram device made for the run): its exit frees swap entries. Needs root and zram.
pub fn time_exit_swapped(pages: u64, repeats: u32) -> Result<Vec<u64>, HostError> {
    time_exits("-T", pages, repeats)
}

/// [`time_exit`] of a child whose `pages` pages (a multiple of 512) are THPs: it turns THP on,
/// advises `MADV_HUGEPAGE` and writes one byte per 2 MiB.
pub fn time_exit_thp(pages: u64, repeats: u32) -> Result<Vec<u64>, HostError> {
    time_exits("-M", pages, repeats)
}

pub use exitmm_script::ExitLoad;

/// Runs `f` with the calling thread pinned to the CPU it is on, then gives the thread its
/// affinity back: a timed setup and exit of the model then stay on one CPU and its caches (the
/// scheduler may otherwise move the thread between the load's setup and its exit). If the
/// affinity cannot be read or set, `f` runs unpinned.
#[cfg(target_os = "linux")]
pub fn on_this_cpu<R>(f: impl FnOnce() -> R) -> R {
    use rustix::thread::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    let Ok(old) = sched_getaffinity(None) else {
        return f();
    };
    let mut one = CpuSet::new();
    one.set(sched_getcpu());
    let pinned = sched_setaffinity(None, &one).is_ok();
    let r = f();
    if pinned {
        let _ = sched_setaffinity(None, &old);
    }
    r
}

/// Times, on this machine's kernel, the exit of a child that set up `n` units of `load`.
pub fn time_exit_of(load: ExitLoad, n: u64, repeats: u32) -> Result<Vec<u64>, HostError> {
    let mode = match load {
        ExitLoad::Anon => "-t",
        ExitLoad::Swapped => "-T",
        ExitLoad::Thp => "-M",
        ExitLoad::Vmas => "-V",
        ExitLoad::SharedAnon => "-A",
        ExitLoad::Locked => "-L",
        ExitLoad::Memfd => "-F",
    };
    time_exits(mode, n, repeats)
}

fn time_exits(mode: &str, pages: u64, repeats: u32) -> Result<Vec<u64>, HostError> {
    let runner = available()?;
    let out = Command::new(runner)
        .args([mode, &pages.to_string(), &repeats.to_string()])
        .output()
        .map_err(|e| HostError::Unavailable(format!("cannot start {runner}: {e}")))?;
    if !out.status.success() {
        return Err(HostError::Runner(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("exit_ns "))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of the kernel side in this binary one at a time: the footprint cap counts the
    /// host's Committed_AS delta, which another test's run would move.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static KERNEL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        KERNEL.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn digest_resolves_numbers_and_flags() {
        let s = exitmm_script::parse("memfd f 1M fill\nmmap 2M 4K rw shared f 4K\nchild_exit")
            .unwrap_err();
        assert_eq!(s.line, 3);
        let s = exitmm_script::parse(
            "memfd f 1M fill\nmmap 2M 4K rw shared f 4K\nmadvise 0 4K dontneed",
        )
        .unwrap();
        let d = digest(&s).unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines[0], "1\tP\tfile\t1048576 1 0 0 =f\tmemfd f 1M fill");
        assert_eq!(
            lines[1],
            "2\tP\tmmap\t2097152 4096 3 1 4096 0 =f\tmmap 2M 4K rw shared f 4K"
        );
        assert_eq!(lines[2], "3\tP\tmadvise\t0 4096 4\tmadvise 0 4K dontneed");
        // A raw value: the named bits it holds (shared 1, anon 2) and raw 512, then itself.
        let s = exitmm_script::parse("mmap 0 4K rw raw=0x80021\nmlockall raw=0x5").unwrap();
        let d = digest(&s).unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(
            lines[0],
            "1\tP\tmmap\t0 4096 3 515 0 524321\tmmap 0 4K rw raw=0x80021"
        );
        assert_eq!(lines[1], "2\tP\tmlockall\t1 0 1 1 5\tmlockall raw=0x5");
    }

    #[test]
    fn digest_hugetlb_ops() {
        let s = exitmm_script::parse(
            "hugetlb_pool 2M 8\nhugetlb_stat 1G\nmmap 0 3M rw private,anon,hugetlb\n\
             mmap 1G 1G rw shared,anon,hugetlb=1G,fixed\nmemfd g 4M hugetlb fill\n\
             memfd h 1G hugetlb=1G\nchild_exit",
        )
        .unwrap_err();
        assert_eq!(s.line, 7);
        let s = exitmm_script::parse(
            "hugetlb_pool 2M 8\nhugetlb_stat 1G\nmmap 0 3M rw private,anon,hugetlb\n\
             mmap 1G 1G rw shared,anon,hugetlb=1G,fixed\nmemfd g 4M hugetlb fill\n\
             memfd h 1G hugetlb=1G",
        )
        .unwrap();
        let d = digest(&s).unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines[0], "1\tP\thugetlb_pool\t2048 8\thugetlb_pool 2M 8");
        assert_eq!(lines[1], "2\tP\thugetlb_stat\t1048576\thugetlb_stat 1G");
        // flags: private 0, anon 2, hugetlb 128 (+ 256 for 1G), fixed 64
        assert_eq!(
            lines[2],
            "3\tP\tmmap\t0 3145728 3 130 0 0\tmmap 0 3M rw private,anon,hugetlb"
        );
        assert_eq!(
            lines[3],
            "4\tP\tmmap\t1073741824 1073741824 3 451 0 0\tmmap 1G 1G rw shared,anon,hugetlb=1G,fixed"
        );
        // file: SIZE fill tmpfs log2(huge page size)
        assert_eq!(
            lines[4],
            "5\tP\tfile\t4194304 1 0 21 =g\tmemfd g 4M hugetlb fill"
        );
        assert_eq!(
            lines[5],
            "6\tP\tfile\t1073741824 0 0 30 =h\tmemfd h 1G hugetlb=1G"
        );
    }

    fn nr_hugepages_2m() -> Option<String> {
        std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").ok()
    }

    #[test]
    fn hugetlb_pools_are_set_and_restored() {
        let _serial = serial();
        let before = nr_hugepages_2m();
        // Reservations the host kernel leaked before (they hold free pages until reboot).
        let r0: u64 =
            std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        let (n, r1, r2) = (2 + r0, 2 + r0, 1 + r0);
        let src = format!(
            "hugetlb_pool 2M {n}\nmmap 0 3M rw private,anon,hugetlb\nhugetlb_stat 2M\n\
             touch 0 4K w\npagemap 2044K 8K\nhugetlb_stat 2M\ndump\n"
        );
        let Some(r) = on_kernel(&src, DEFAULT_FOOTPRINT_CAP) else {
            return;
        };
        let out = r.unwrap();
        for want in [
            format!("# 1 hugetlb_pool 2M {n}\nK P hugetlb size=2048 total={n} free={n} resv={r0} surp=0\n"),
            // LEN rounded up to 2M: two pages reserved
            format!("# 3 hugetlb_stat 2M\nK P hugetlb size=2048 total={n} free={n} resv={r1} surp=0\n"),
            "G P 0x1ff000 H.\n".into(),
            format!("K P hugetlb size=2048 total={n} free={} resv={r2} surp=0\n", n - 1),
            "M P 0-0x400000 rw-p off=0x0 ino=file name=/anon_hugepage (deleted)\n".into(),
            " Locked=0 Shared_Hugetlb=0 Private_Hugetlb=2048 KernelPageSize=2048 MMUPageSize=2048 THPeligible=0 ".into(),
            " AnonHugePages=0 hugetlb=2048\n".into(),
        ] {
            assert!(out.contains(&want), "{want}\n{out}");
        }
        assert_eq!(nr_hugepages_2m(), before, "the pool was not restored");
        // A pool past the footprint cap is refused before it is set.
        let Some(Err(HostError::Refused(why))) =
            on_kernel("hugetlb_pool 2M 1000\n", DEFAULT_FOOTPRINT_CAP)
        else {
            panic!("not refused");
        };
        assert!(
            why.starts_with("'hugetlb_pool 2M 1000' would pass the footprint cap"),
            "{why}"
        );
        // So is a hugetlb mapping whose rounded length would pass it.
        let Some(Err(HostError::Refused(why))) = on_kernel(
            "hugetlb_pool 2M 1\nmmap 0 1G+4K rw private,anon,hugetlb\n",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            panic!("not refused");
        };
        assert!(why.contains("up to 1075838976 more by this op"), "{why}");
        assert_eq!(nr_hugepages_2m(), before, "the pool was not restored");
    }

    #[test]
    fn model_only_ops_are_refused() {
        let _serial = serial();
        let s = exitmm_script::parse("nop\nexit").unwrap();
        assert_eq!(
            digest(&s).unwrap_err(),
            HostError::ModelOnly {
                line: 2,
                op: "exit"
            }
        );
    }

    /// Runs `src` on the kernel; `None` where the kernel side cannot run here.
    fn on_kernel(src: &str, cap: u64) -> Option<Result<String, HostError>> {
        if let Err(e) = available() {
            eprintln!("skipped: {e}");
            return None;
        }
        match run(&exitmm_script::parse(src).unwrap(), cap) {
            Err(HostError::Unavailable(w)) => {
                eprintln!("skipped: {w}");
                None
            }
            r => Some(r),
        }
    }

    #[test]
    fn the_cap_counts_what_is_resident_or_charged_not_reservations() {
        let _serial = serial();
        let src = "mmap 0 4G rw private,anon,noreserve\ntouch 0 4K w\ntouch 2G 4K w\n\
                   touch 0xfffff000 4K w\nmmap 8G 64M rw private,anon\ntouch 8G 64M w\n";
        let Some(r) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
            return;
        };
        let out = r.unwrap();
        assert!(
            out.contains("# 3 touch 2G 4K w\nR P rc=0 err=0\nD P VmSize=4194304 VmRSS=8 "),
            "{out}"
        );
        // 64M charged + 64M resident against a 100M cap: the touch is refused, naming --cap.
        let Some(Err(HostError::Refused(why))) = on_kernel(src, 100 << 20) else {
            panic!("not refused");
        };
        assert!(
            why.starts_with("'touch 8G 64M w' would pass the footprint cap of 104857600 bytes"),
            "{why}"
        );
        assert!(why.contains("--cap BYTES"), "{why}");
        // A charged mapping larger than the cap is refused before it is made.
        let Some(Err(HostError::Refused(why))) =
            on_kernel("mmap 0 2G rw private,anon\n", DEFAULT_FOOTPRINT_CAP)
        else {
            panic!("not refused");
        };
        assert!(
            why.starts_with("'mmap 0 2G rw private,anon' would pass"),
            "{why}"
        );
    }

    #[test]
    fn nothing_maps_outside_the_arena() {
        let _serial = serial();
        // Up to the end of the arena (32 TiB) is fine, and shows in M lines and status.
        let Some(r) = on_kernel(
            "mmap 0x1fffffffe000 8K rw private,anon\ntouch 0x1fffffffe000 8K w\ndump\n\
             munmap 0x1fffffffe000 8K",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            return;
        };
        let out = r.unwrap();
        assert!(
            out.contains("M P 0x1fffffffe000-0x200000000000 rw-p"),
            "{out}"
        );
        assert!(out.contains("D P VmSize=8 VmRSS=8 RssAnon=8"), "{out}");
        // Past it (but below TASK_SIZE): refused before the kernel sees it, in either role.
        for (src, op) in [
            (
                "mmap 0x1ffffffff000 8K rw private,anon",
                "mmap 0x1ffffffff000 8K rw private,anon",
            ),
            (
                "fork\nchild mmap 40T 4K r private,anon",
                "child mmap 40T 4K r private,anon",
            ),
            (
                "mmap 0x1ffffffff000 4K rw private,anon\nmremap 0x1ffffffff000 4K 8K",
                "mremap 0x1ffffffff000 4K 8K",
            ),
            (
                "mmap 0 4K rw private,anon\nmremap 0 4K 4K maymove fixed=33T",
                "mremap 0 4K 4K maymove fixed=33T",
            ),
        ] {
            let Some(Err(HostError::Refused(why))) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
                panic!("{src}: not refused");
            };
            assert_eq!(why, format!("'{op}' maps outside the arena [0, 32T)"));
        }
        // What the kernel refuses anyway reaches it: past TASK_SIZE, or overflowing.
        let Some(r) = on_kernel(
            "mmap 120T 16T rw private,anon,noreserve\nmmap 0 0xfffffffffffff000 r private,anon\n\
             mmap 0 4K rw private,anon\nmremap 0 4K 4K maymove fixed=0xffffe00000000000",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            return;
        };
        let out = r.unwrap();
        assert_eq!(out.matches("R P rc=-12 err=ENOMEM").count(), 2, "{out}");
        assert!(
            out.contains("maymove fixed=0xffffe00000000000\nR P rc=-22 err=EINVAL"),
            "{out}"
        );
    }

    #[test]
    fn runs_a_small_script_on_this_kernel() {
        let _serial = serial();
        if let Err(e) = available() {
            eprintln!("skipped: {e}");
            return;
        }
        let s =
            exitmm_script::parse("mmap 0 8K rw private,anon\ntouch 0 8K w\npagemap 0 8K").unwrap();
        match run(&s, DEFAULT_FOOTPRINT_CAP) {
            Ok(out) => {
                assert!(
                    out.contains(
                        "# 2 touch 0 8K w\nR P rc=0 err=0\nD P VmSize=8 VmRSS=8 RssAnon=8"
                    ),
                    "{out}"
                );
                assert!(out.contains("G P 0 AA\n"), "{out}");
            }
            Err(HostError::Unavailable(w)) => eprintln!("skipped: {w}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn digest_pfn_map_and_uprobe_ops() {
        let s = exitmm_script::parse(
            "perf_ring ev 8\nmmap 0 36K rw shared ev\nclose ev\ncodefile code 16K\n\
             uprobe code 0x1000\nuprobe_remove code 4K\nfork\nchild call 0x2000",
        )
        .unwrap();
        let d = digest(&s).unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines[0], "1\tP\tperf_ring\t8 =ev\tperf_ring ev 8");
        assert_eq!(
            lines[1],
            "2\tP\tmmap\t0 36864 3 1 0 0 =ev\tmmap 0 36K rw shared ev"
        );
        assert_eq!(lines[2], "3\tP\tclose\t=ev\tclose ev");
        assert_eq!(lines[3], "4\tP\tcodefile\t16384 =code\tcodefile code 16K");
        assert_eq!(lines[4], "5\tP\tuprobe\t4096 =code\tuprobe code 0x1000");
        assert_eq!(
            lines[5],
            "6\tP\tuprobe_remove\t4096 =code\tuprobe_remove code 4K"
        );
        assert_eq!(lines[7], "8\tC\tcall\t8192\tchild call 0x2000");
        // iomap and pat stay the model's.
        for (src, op) in [("nop\niomap bar 64K wc", "iomap"), ("nop\npat", "pat")] {
            let s = exitmm_script::parse(src).unwrap();
            assert_eq!(
                digest(&s).unwrap_err(),
                HostError::ModelOnly { line: 2, op }
            );
        }
    }

    /// The record lines (D or T) of `role` after op `n` of `out`.
    fn after_op<'a>(out: &'a str, n: usize, kind: &str) -> &'a str {
        let head = format!("# {n} ");
        let rest = &out[out
            .find(&head)
            .unwrap_or_else(|| panic!("no op {n}\n{out}"))..];
        rest.lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} after op {n}\n{out}"))
    }

    #[test]
    fn perf_ring_is_a_pfn_map_read_by_the_role() {
        let _serial = serial();
        let src = "perf_ring ev 8\nmmap 0 36K rw shared ev\ndump\npagemap 0 36K\n\
                   mprotect 0 36K none\npagemap 0 36K\nmprotect 0 36K r\nfork\n\
                   child perf_ring ev2 8\nchild mmap 1M 36K r shared ev2\nchild pagemap 1M 36K\n\
                   close ev\ntouch 0 36K r\n";
        let Some(r) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
            return;
        };
        let out = r.unwrap();
        // Mapped at mmap as raw PFNs: page tables, no RSS.
        assert!(
            after_op(&out, 2, "D P")
                .starts_with("D P VmSize=36 VmRSS=0 RssAnon=0 RssFile=0 RssShmem=0 VmPTE=12 "),
            "{out}"
        );
        assert!(
            out.contains("M P 0-0x9000 rw-s off=0x0 ino=file name=anon_inode:[perf_event]\n"),
            "{out}"
        );
        assert!(
            out.contains(" VmFlags=rd.wr.sh.mr.mw.ms.pf.io.dc.de.dd\n"),
            "{out}"
        );
        assert!(out.contains("G P 0 ppppppppp\n"), "{out}");
        // The reads that tell 'p' move nothing.
        for kind in ["D P", "T P"] {
            assert_eq!(after_op(&out, 3, kind), after_op(&out, 4, kind), "{out}");
        }
        assert!(out.contains("G P 0 ?????????\n"), "PROT_NONE: {out}");
        // The child's own ring, read by the child (the parent's mapping is VM_DONTCOPY).
        assert!(out.contains("G C 0x100000 ppppppppp\n"), "{out}");
        for kind in ["D C", "T C"] {
            assert_eq!(after_op(&out, 10, kind), after_op(&out, 11, kind), "{out}");
        }
        // A mapping keeps the ring once its descriptor is closed.
        assert!(
            out.contains("# 13 touch 0 36K r\nR P rc=0 err=0\n"),
            "{out}"
        );
        // A second mapping of a ring still mapped would leak into the user's locked_vm until
        // reboot: refused before the kernel sees it, in either role.
        for (src, op) in [
            (
                "perf_ring ev 8\nmmap 0 36K rw shared ev\nmmap 1M 36K r shared ev\n",
                "mmap 1M 36K r shared ev",
            ),
            (
                "perf_ring ev 8\nmmap 0 36K rw shared ev\nfork\nchild mmap 0 36K r shared ev\n",
                "child mmap 0 36K r shared ev",
            ),
        ] {
            let Some(Err(HostError::Refused(why))) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
                panic!("{src}: not refused");
            };
            assert!(
                why.starts_with(&format!("'{op}' maps perf ring ev again")),
                "{why}"
            );
        }
        // The first mmap sizes the ring: another length is EINVAL (no charge, not refused);
        // unmapped, the next mmap makes a new ring.
        let Some(r) = on_kernel(
            "perf_ring ev 8\nmmap 0 20K rw shared ev\nmmap 1M 36K rw shared ev\nmunmap 0 20K\n\
             mmap 0 36K rw shared ev\n",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            return;
        };
        let out = r.unwrap();
        assert!(
            out.contains("# 3 mmap 1M 36K rw shared ev\nR P rc=-22 err=EINVAL\n"),
            "{out}"
        );
        assert!(
            out.contains("# 5 mmap 0 36K rw shared ev\nR P rc=0 err=0\n"),
            "{out}"
        );
    }

    /// Uprobe tests run one at a time: each checks that no exitmm event is left on the host.
    static UPROBES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// The host's exitmm uprobe events; `None` (saying why) where they cannot be read.
    fn events_or_skip() -> Option<Vec<String>> {
        match uprobe_events() {
            Ok(v) => Some(v),
            Err(HostError::Unavailable(w)) => {
                eprintln!("skipped: {w}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_uprobe_hit_maps_the_xol_area_and_nothing_is_left() {
        let _serial = serial();
        let _one = UPROBES.lock().unwrap_or_else(|e| e.into_inner());
        if events_or_skip().is_none() {
            return;
        }
        let src = "codefile code 16K\nmmap 0 16K rx private code\nuprobe code 0x1000\n\
                   pagemap 0 16K\ncall 0x1000\ndump\nuprobe_remove code 0x1000\ncall 0x1000\n\
                   uprobe_remove code 0x1000\nuprobe nope 0\ncall 0x8000\n";
        let Some(r) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
            return;
        };
        let out = r.unwrap();
        // The registration breaks the page into an anonymous copy at once.
        assert!(
            after_op(&out, 3, "D P")
                .starts_with("D P VmSize=16 VmRSS=4 RssAnon=4 RssFile=0 RssShmem=0 VmPTE=12 "),
            "{out}"
        );
        assert!(out.contains("G P 0 .A..\n"), "{out}");
        // The first hit maps the XOL area: outside the arena, in D lines only.
        let d = after_op(&out, 5, "D P");
        assert!(
            d.starts_with("D P VmSize=20 VmRSS=8 RssAnon=4 RssFile=4 RssShmem=0 VmPTE=12 "),
            "{out}"
        );
        assert!(
            d.contains(" VmLib=20 ") && d.ends_with(" maps_lines=2"),
            "{out}"
        );
        assert!(
            out.contains("M P 0-0x4000 r-xp off=0x0 ino=file name=/dev/shm/code\nM P nvma=1\n"),
            "{out}"
        );
        // Removal leaves the copy; a second removal finds nothing.
        assert!(
            after_op(&out, 7, "D P").starts_with("D P VmSize=20 VmRSS=8 RssAnon=4 "),
            "{out}"
        );
        assert!(
            out.contains("# 9 uprobe_remove code 0x1000\nR P rc=-2 err=ENOENT\n"),
            "{out}"
        );
        assert!(
            out.contains("# 10 uprobe nope 0\nR P rc=-9 err=EBADF\n"),
            "{out}"
        );
        assert!(
            out.contains("# 11 call 0x8000\nR P sigsegv_at=0x8000\nR P rc=-14 err=EFAULT\n"),
            "{out}"
        );
        assert_eq!(events_or_skip(), Some(vec![]), "uprobe events left behind");
        // Never a jump into code that is not a codefile's.
        let Some(Err(HostError::Refused(why))) = on_kernel(
            "mmap 0 4K rwx private,anon\ncall 0\n",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            panic!("not refused");
        };
        assert!(why.contains("not in a codefile mapping"), "{why}");
        let Some(Err(HostError::Refused(why))) = on_kernel(
            "codefile code 8K\nmmap 0 8K rwx private code\ntouch 4K 4K w\ncall 4K\n",
            DEFAULT_FOOTPRINT_CAP,
        ) else {
            panic!("not refused");
        };
        assert!(why.contains("the byte there is 0x01"), "{why}");
    }

    /// The runner (with `flag`) running `src`, its stdin left open so that it waits for more
    /// once it has printed the records of the op whose header starts with `op`; with what it
    /// printed. `None` (saying why) where the host cannot run it.
    fn runner_paused_after(
        runner: &str,
        flags: &[&str],
        src: &str,
        op: &str,
    ) -> Option<(std::process::Child, std::process::ChildStdin, String)> {
        use std::io::BufRead;
        let s = exitmm_script::parse(src).unwrap();
        let mut child = Command::new(runner)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(digest(&s).unwrap().as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = String::new();
        while !seen.contains(op) || !seen.ends_with("hugetlb=0\n") {
            match lines.next() {
                Some(Ok(l)) => seen += &(l + "\n"),
                _ => {
                    let out = child.wait_with_output().unwrap();
                    let why = String::from_utf8_lossy(&out.stderr).to_string();
                    assert_eq!(out.status.code(), Some(EXIT_UNAVAILABLE), "{why}\n{seen}");
                    eprintln!("skipped: {why}");
                    return None;
                }
            }
        }
        Some((child, stdin, seen))
    }

    #[test]
    fn the_janitor_removes_the_uprobes_of_a_killed_runner() {
        let _serial = serial();
        let _one = UPROBES.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(runner) = available() else {
            return eprintln!("skipped: {}", available().unwrap_err());
        };
        if events_or_skip().is_none() {
            return;
        }
        let src = "codefile code 16K\nmmap 0 16K rx private code\nuprobe code 0x1000\n";
        let Some((mut child, stdin, seen)) =
            runner_paused_after(runner, &["-U"], src, "# 3 uprobe")
        else {
            return;
        };
        assert!(
            seen.contains("# 3 uprobe code 0x1000\nR P rc=0 err=0\n"),
            "{seen}"
        );
        let ours = format!("exitmm/e{}_", child.id());
        let mine = |v: &[String]| v.iter().filter(|l| l.contains(&ours)).count();
        assert_eq!(mine(&events_or_skip().unwrap()), 1, "registered");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(stdin);
        let t0 = std::time::Instant::now();
        while mine(&events_or_skip().unwrap()) > 0 {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "the janitor left {ours}*"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    #[test]
    fn codefiles_and_shmfiles_on_the_hosts_dev_shm_keep_their_names() {
        let _serial = serial();
        let _one = UPROBES.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = available() {
            return eprintln!("skipped: {e}");
        }
        if events_or_skip().is_none() {
            return;
        }
        let src = "codefile code 8K\nshmfile s 8K fill\nmmap 0 8K rx private code\n\
                   mmap 1M 8K rw shared s\nuprobe code 0\ncall 0\ndump\n";
        let s = exitmm_script::parse(src).unwrap();
        // In the run's own tmpfs and, as where unshare is denied, on the host's /dev/shm
        // under unique names shown as the script's.
        for extra in [&[][..], &["-H"][..]] {
            let out = match run_with(&s, DEFAULT_FOOTPRINT_CAP, extra) {
                Ok(o) => o,
                Err(HostError::Unavailable(w)) => return eprintln!("skipped: {w}"),
                Err(e) => panic!("{extra:?}: {e}"),
            };
            assert!(
                out.contains(
                    "M P 0-0x2000 r-xp off=0x0 ino=file name=/dev/shm/code\n\
                     M P 0x100000-0x102000 rw-s off=0x0 ino=file name=/dev/shm/s (deleted)\n"
                ),
                "{extra:?}\n{out}"
            );
            assert!(out.contains("# 6 call 0\nR P rc=0 err=0\n"), "{out}");
            let left: Vec<String> = std::fs::read_dir("/dev/shm")
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| n.starts_with("exitmm-"))
                        .collect()
                })
                .unwrap_or_default();
            assert!(left.is_empty(), "{extra:?}: left in /dev/shm: {left:?}");
            assert_eq!(events_or_skip(), Some(vec![]), "{extra:?}: events left");
        }
    }

    /// Swap tests run one at a time: each checks that the host's swap devices and zram disks
    /// are as they were.
    static SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// The host's swap devices (`/proc/swaps` without its header) and zram disks.
    fn swap_state() -> (Vec<String>, Vec<String>) {
        let swaps = std::fs::read_to_string("/proc/swaps")
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        let mut zram: Vec<String> = std::fs::read_dir("/sys/block")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with("zram"))
                    .collect()
            })
            .unwrap_or_default();
        zram.sort();
        (swaps, zram)
    }

    #[test]
    fn a_pageout_swaps_out_to_the_runs_own_zram_and_nothing_is_left() {
        let _serial = serial();
        let _one = SWAP.lock().unwrap_or_else(|e| e.into_inner());
        let before = swap_state();
        let src = "swapon 16M\nmeminfo SwapFree\nmmap 0 64K rw private,anon\ntouch 0 64K w\n\
                   madvise 0 32K pageout\npagemap 0 64K\nmeminfo SwapFree\ntouch 0 4K r\n\
                   meminfo SwapFree\n";
        let Some(r) = on_kernel(src, DEFAULT_FOOTPRINT_CAP) else {
            return;
        };
        let out = r.unwrap();
        assert!(
            after_op(&out, 5, "D P").contains(" RssAnon=32 ")
                && after_op(&out, 5, "D P").contains(" VmSwap=32 "),
            "{out}"
        );
        assert!(out.contains("G P 0 ssssssssAAAAAAAA\n"), "{out}");
        let free = |n| -> i64 {
            after_op(&out, n, "K P")
                .split("SwapFree=")
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{out}"))
        };
        // A 16 MiB device: 4095 slots (the header is not swap); 8 used, then one swapped in
        // (a slot referenced once is freed as its page comes back).
        assert_eq!(free(2), 4095 * 4, "{out}");
        assert_eq!(free(7), free(2) - 32, "{out}");
        assert_eq!(free(9), free(7) + 4, "{out}");
        assert_eq!(
            swap_state(),
            before,
            "the run left a swap device or zram disk"
        );
    }

    #[test]
    fn the_janitor_removes_the_swap_device_of_a_killed_runner() {
        let _serial = serial();
        let _one = SWAP.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(runner) = available() else {
            return eprintln!("skipped: {}", available().unwrap_err());
        };
        let before = swap_state();
        let src = "swapon 16M\nmmap 0 64K rw private,anon\ntouch 0 64K w\nmadvise 0 64K pageout\n";
        let Some((mut child, stdin, seen)) =
            runner_paused_after(runner, &["-S"], src, "# 4 madvise")
        else {
            return;
        };
        assert!(seen.contains(" VmSwap=64 "), "{seen}");
        assert_ne!(swap_state(), before, "the device is on while the run lives");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(stdin);
        let t0 = std::time::Instant::now();
        while swap_state() != before {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "the janitor left {:?} (before: {before:?})",
                swap_state()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The host's SysV segments (`/proc/sysvipc/shm` without its header).
    fn shm_state() -> Vec<String> {
        std::fs::read_to_string("/proc/sysvipc/shm")
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn sysv_segments_go_with_the_run() {
        let _serial = serial();
        let before = shm_state();
        let src = "shmget a 64K\nshmat a 0\ntouch 0 64K w\nshmget b 8K\nshmat b 1M rdonly\n\
                   shmrm b\ndump\n";
        let s = exitmm_script::parse(src).unwrap();
        // In the run's own IPC namespace and, as where unshare is denied, in the host's.
        for extra in [&[][..], &["-H"][..]] {
            let out = match run_with(&s, DEFAULT_FOOTPRINT_CAP, extra) {
                Ok(o) => o,
                Err(HostError::Unavailable(w)) => return eprintln!("skipped: {w}"),
                Err(e) => panic!("{extra:?}: {e}"),
            };
            assert!(
                out.contains("K P shm a nattch=1 size=65536\n")
                    && out.contains("# 6 shmrm b\nK P shm b nattch=1 size=8192\nR P rc=0")
                    && out.contains("name=/SYSV00000000 (deleted)\n"),
                "{extra:?}\n{out}"
            );
            assert_eq!(shm_state(), before, "{extra:?}: the run left a segment");
        }
    }

    #[test]
    fn the_janitor_removes_the_segments_of_a_killed_runner() {
        let _serial = serial();
        let Ok(runner) = available() else {
            return eprintln!("skipped: {}", available().unwrap_err());
        };
        let before = shm_state();
        let src = "shmget a 64K\nshmat a 0\ntouch 0 64K w\n";
        // In the host's IPC namespace (-H), where only the janitor can remove them.
        let Some((mut child, stdin, seen)) =
            runner_paused_after(runner, &["-H", "-I"], src, "# 3 touch")
        else {
            return;
        };
        assert!(seen.contains(" RssShmem=64 "), "{seen}");
        assert_ne!(
            shm_state(),
            before,
            "the segment exists while the run lives"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(stdin);
        let t0 = std::time::Instant::now();
        while shm_state() != before {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "the janitor left {:?} (before: {before:?})",
                shm_state()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
