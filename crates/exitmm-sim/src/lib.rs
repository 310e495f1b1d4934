//! exitmm-sim: runs exitmm scripts on the kernel model and renders what `/proc` would show,
//! in records format v1 (`shared/spec/script.md`) or as a readable transcript.

// One module asks the host to back memory (`backing`); nothing else may be unsafe.
#![deny(unsafe_code)]

pub mod backing;
pub mod bench;
pub mod compare;
pub mod cost;
pub mod explore;
pub mod gen;
pub mod machine;
pub mod report;
pub mod sched;
pub mod tlb;
pub mod tracing;
pub mod transcript;

use exitmm_kernel::arch::MmId;
use exitmm_kernel::exit::TeardownReport;
use exitmm_kernel::mm_types::{FileId, VmFlags};
use exitmm_kernel::mremap::MremapError;
use exitmm_kernel::pgtable as pt;
use exitmm_kernel::shmem::FileKind;
use exitmm_kernel::task_mmu::PSS_SHIFT;
use exitmm_kernel::{madvise, mmap, Config, Errno, Fault, Kernel};
use exitmm_script::{Advice, Line, Op, OpenMode, Role, Script};
use machine::Machine;
use std::collections::BTreeMap;
use std::fmt::Write;

fn facts_text(facts: &[(&'static str, i64)]) -> String {
    facts.iter().map(|(k, v)| format!(" {k}={v}")).collect()
}

/// Where a script's addresses start: offsets in scripts are from here (as on the kernel side).
pub const ARENA: u64 = 0x1000_0000_0000;
/// The end of the arena (32 TiB): `M`, `V`, `T` lines cover the VMAs inside it; what the
/// kernel maps elsewhere (the XOL area) shows in `D` lines only, as on the kernel side.
pub const ARENA_END: u64 = ARENA + (32 << 40);

/// Why a script could not run on the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// The script uses something the model does not implement yet; names it.
    Unsupported {
        /// Script line.
        line: usize,
        /// What is missing.
        what: String,
    },
    /// The script asks for something it cannot (an unknown thread, a CPU that does not exist).
    Invalid {
        /// Script line.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The TLB model caught a use-after-free (or a stale writable translation).
    UseAfterFree {
        /// Script line.
        line: usize,
        /// The detector's reports.
        reports: Vec<String>,
    },
    /// Concurrent actors raced into a bug (a race detector fired), or deadlocked.
    Race {
        /// Script line (the `wait` that ran them).
        line: usize,
        /// What the detectors saw.
        reports: Vec<String>,
    },
    /// An invariant broke (only with checking on): the line and the violations.
    Invariant {
        /// Script line.
        line: usize,
        /// What `check_invariants` reported.
        violations: Vec<String>,
    },
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Unsupported { line, what } => {
                write!(f, "line {line}: not modelled yet: {what}")
            }
            SimError::Invalid { line, what } => write!(f, "line {line}: {what}"),
            SimError::UseAfterFree { line, reports } => {
                write!(f, "line {line}: {}", reports.join("; "))
            }
            SimError::Race { line, reports } => {
                write!(f, "line {line}: race: {}", reports.join("; "))
            }
            SimError::Invariant { line, violations } => {
                write!(
                    f,
                    "line {line}: invariant broken: {}",
                    violations.join("; ")
                )
            }
        }
    }
}

impl std::error::Error for SimError {}

impl SimError {
    /// The script line the error is about.
    pub fn line(&self) -> usize {
        match self {
            SimError::Unsupported { line, .. }
            | SimError::Invalid { line, .. }
            | SimError::UseAfterFree { line, .. }
            | SimError::Race { line, .. }
            | SimError::Invariant { line, .. } => *line,
        }
    }
}

/// When the model's invariants (`check_invariants`, and the kept smaps totals against a walk)
/// are recomputed from the structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// After every op: what the tests use.
    EveryOp,
    /// After an op once the ops since the last check are at least 1/16 of the state a check
    /// walks (VMAs plus frames in use), after every exit, and at the end of the script: the
    /// checks then cost a bounded multiple of the ops, however many VMAs and pages there are,
    /// and a violation is reported with the last clean check before it.
    Amortized,
    /// Never.
    Off,
}

impl Check {
    /// `every`, `amortized` or `off`.
    pub fn parse(s: &str) -> Result<Check, String> {
        match s {
            "every" => Ok(Check::EveryOp),
            "amortized" => Ok(Check::Amortized),
            "off" => Ok(Check::Off),
            _ => Err(format!("'{s}': not every, amortized or off")),
        }
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Kernel settings.
    pub config: Config,
    /// When `check_invariants` runs: after every op (tests), amortized (the CLI), or never.
    pub check: Check,
    /// Simulated CPUs with TLBs (`None`: no TLB modelling).
    pub cpus: Option<usize>,
    /// Seed of the TLB model's fills and evictions.
    pub seed: u64,
    /// Faults injected into the arch flush code.
    pub arch_inject: tlb::ArchInject,
    /// How concurrent actors are scheduled (`--seed`, `--schedule`; FIFO by default).
    pub sched: sched::Mode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            check: Check::EveryOp,
            cpus: Some(4),
            seed: 1,
            arch_inject: tlb::ArchInject::default(),
            sched: sched::Mode::Fifo,
        }
    }
}

/// Simulated RAM from which [`Sim::new`] backs the model's own host memory ahead of it
/// ([`backing`], once the metadata in use reaches [`backing::START`]): below it the metadata
/// of all RAM is at most 1.4 GiB, and the helper thread would cost more than it saves for the
/// models such RAM holds.
pub const BACKING_MIN_RAM: u64 = 64 << 30;

/// The faults the TLB model's use-after-free detector must catch, by name.
pub const TLB_INJECTIONS: [&str; 6] = [
    "free-before-flush",
    "skip-ipi",
    "skip-lazy-flush",
    "free-table-before-flush",
    "drop-dirty-force-flush",
    "skip-unshare-flush",
];

/// The faults that can be injected, by name (`Options::inject`): the TLB ones,
/// `untrack-after-zap`, which `check_invariants` catches (a leaked PAT reservation), and the
/// historical races of exit against the OOM reaper, which `exitmm explore` finds
/// ([`RACE_INJECTIONS`]).
pub const INJECTIONS: [&str; 13] = [
    "free-before-flush",
    "skip-ipi",
    "skip-lazy-flush",
    "free-table-before-flush",
    "drop-dirty-force-flush",
    "skip-unshare-flush",
    "untrack-after-zap",
    "munlock-before-reap",
    "no-oom-barrier",
    "no-skip-recheck",
    "mrelease-mmget",
    "blocking-notifier-in-reaper",
    "skip-secondary-invalidate",
];

/// The injections of exit/OOM-reaper races, each found by `exitmm explore`.
pub const RACE_INJECTIONS: [&str; 6] = [
    "munlock-before-reap",
    "no-oom-barrier",
    "no-skip-recheck",
    "mrelease-mmget",
    "blocking-notifier-in-reaper",
    "skip-secondary-invalidate",
];

impl Options {
    /// Follow the PFN-map PAT tracking of `version`: `5.10` (`VM_PAT`, `untrack_pfn` in
    /// `unmap_single_vma`) or `6.18` (a refcounted `pfnmap_track_ctx`).
    pub fn pat(&mut self, version: &str) -> Result<(), String> {
        use exitmm_kernel::pat::PatTracking;
        self.config.pat = match version {
            "5.10" => PatTracking::VmPat,
            "6.18" => PatTracking::TrackCtx,
            x => return Err(format!("unknown PAT tracking '{x}' (5.10 or 6.18)")),
        };
        Ok(())
    }

    /// Follow the exit/OOM protocol of `version`: `5.10` (the seed's) or `6.18`.
    pub fn linux(&mut self, version: &str) -> Result<(), String> {
        use exitmm_kernel::Linux;
        self.config.linux = match version {
            "5.10" => Linux::V5_10,
            "6.18" => Linux::V6_18,
            x => return Err(format!("unknown kernel '{x}' (5.10 or 6.18)")),
        };
        Ok(())
    }

    /// Injects the fault named `name` (one of [`INJECTIONS`]); the detector must catch it.
    pub fn inject(&mut self, name: &str) -> Result<(), String> {
        use exitmm_kernel::Inject;
        let race = match name {
            "munlock-before-reap" => Some(Inject::MUNLOCK_BEFORE_REAP),
            "no-oom-barrier" => Some(Inject::NO_OOM_BARRIER),
            "no-skip-recheck" => Some(Inject::NO_SKIP_RECHECK),
            "mrelease-mmget" => Some(Inject::MRELEASE_MMGET),
            "blocking-notifier-in-reaper" => Some(Inject::BLOCKING_NOTIFIER_IN_REAPER),
            "skip-secondary-invalidate" => Some(Inject::SKIP_SECONDARY_INVALIDATE),
            _ => None,
        };
        if let Some(f) = race {
            let v510 = self.config.linux == exitmm_kernel::Linux::V5_10;
            if matches!(name, "munlock-before-reap" | "no-oom-barrier") && !v510 {
                return Err(format!(
                    "{name} breaks the 5.10 exit protocol (--linux 5.10): 6.18's exit_mmap has \
                     no munlock pass and no self-reap barrier"
                ));
            }
            // The kernel-side race detectors (and explore's checks) catch these.
            self.config.inject |= f;
            return Ok(());
        }
        match name {
            "free-before-flush" => self.config.inject |= Inject::FREE_BEFORE_FLUSH,
            "free-table-before-flush" => self.config.inject |= Inject::FREE_TABLE_BEFORE_FLUSH,
            "drop-dirty-force-flush" => self.config.inject |= Inject::DROP_DIRTY_FORCE_FLUSH,
            "skip-unshare-flush" => self.config.inject |= Inject::SKIP_UNSHARE_FLUSH,
            "untrack-after-zap" => {
                if self.config.pat != exitmm_kernel::pat::PatTracking::VmPat {
                    return Err(
                        "untrack-after-zap needs the 5.10 PAT tracking (--pat 5.10): \
                                6.16+ has no untrack_pfn in unmap_single_vma"
                            .into(),
                    );
                }
                self.config.inject |= Inject::UNTRACK_AFTER_ZAP;
                // check_invariants is the detector.
                return Ok(());
            }
            "skip-ipi" => self.arch_inject.skip_ipi = true,
            "skip-lazy-flush" => self.arch_inject.skip_lazy_flush = true,
            x => {
                return Err(format!(
                    "unknown fault '{x}' (one of: {})",
                    INJECTIONS.join(", ")
                ))
            }
        }
        if self.cpus.is_none() {
            return Err("injected faults need CPUs (--cpus N, N > 0)".into());
        }
        Ok(())
    }
}

/// A process of the script: its mm and its open files by name.
struct Process {
    mm: MmId,
    /// Its task (`task_struct`).
    task: exitmm_kernel::oom_kill::TaskId,
    /// SIGKILL was sent: its exit is a pending actor.
    killed: bool,
    fds: BTreeMap<String, FileId>,
    /// The access mode of each descriptor opened other than read-write (`reopen`).
    modes: BTreeMap<String, OpenMode>,
    /// The CPU its main thread runs on.
    cpu: usize,
    /// Its other threads, by name, with their CPUs.
    threads: BTreeMap<String, usize>,
}

/// One op's outcome, kept for the transcript.
#[derive(Debug, Clone)]
pub struct OpResult {
    /// Script line.
    pub line: usize,
    /// Op text.
    pub text: String,
    /// Role it ran in.
    pub role: Role,
    /// 0 or -errno.
    pub rc: i32,
    /// Records lines of this op (without the `#` header).
    pub records: Vec<String>,
    /// Teardown report, for `exit` / `child_exit`.
    pub report: Option<TeardownReport>,
    /// For `wait`: the teardown reports of the processes whose exits ran, by role.
    pub reports: Vec<(Role, TeardownReport)>,
}

/// A script run on the model.
pub struct Sim {
    /// The kernel.
    pub kernel: Kernel<Machine>,
    procs: [Option<Process>; 2],
    check: Check,
    /// Ops run since the last check, and the line of the last clean one (0: none yet).
    unchecked: u64,
    last_checked_line: usize,
    checks: u64,
    /// Code files made so far: they stay linked under `/dev/shm` (tracefs names them by
    /// path) for the whole run, so no other file of that name can be created.
    linked: std::collections::BTreeSet<String>,
    /// SysV segments by their script names (the IPC namespace is the run's: both roles see
    /// every segment).
    shm_names: BTreeMap<String, exitmm_kernel::shm::ShmId>,
    /// Each role has called brk (brk_start may no longer move its heap).
    brk_used: [bool; 2],
    /// Actors started since the last `wait`.
    pending: Vec<Pending>,
    /// Each role's smaps totals (the `T` line), by VMA, kept up to date from the ranges ops
    /// touch, so that a status line costs what the op changed rather than the VMA count.
    smaps: [SmapsCache; 2],
    /// The last op's `touch`, if every access of it was one of the kernel's runs of plain
    /// anonymous write faults ([`Kernel::anon_write_faults`]): each run's first address and
    /// pages. The smaps totals then grow by those pages instead of being walked again.
    touch_runs: Option<Vec<(u64, u64)>>,
    /// Pages the kept smaps totals took from `touch_runs` without a walk (for tests).
    pub smaps_run_pages: u64,
    /// Chooses who runs at each step of the actors; records the schedule.
    pub ctl: sched::Controller,
}

/// The `T` line's figures (kB), for one VMA or summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    nvma: i64,
    size: i64,
    rss: i64,
    pss: i64,
    anon: i64,
    locked_vm: i64,
    locked: i64,
    shared_clean: i64,
    shared_dirty: i64,
    private_clean: i64,
    private_dirty: i64,
    swap: i64,
    thp: i64,
    hugetlb: i64,
}

impl Totals {
    fn fields(&mut self) -> [&mut i64; 14] {
        [
            &mut self.nvma,
            &mut self.size,
            &mut self.rss,
            &mut self.pss,
            &mut self.anon,
            &mut self.locked_vm,
            &mut self.locked,
            &mut self.shared_clean,
            &mut self.shared_dirty,
            &mut self.private_clean,
            &mut self.private_dirty,
            &mut self.swap,
            &mut self.thp,
            &mut self.hugetlb,
        ]
    }

    fn add(&mut self, o: &Totals) {
        let mut o = *o;
        for (a, b) in self.fields().into_iter().zip(o.fields()) {
            *a += *b;
        }
    }

    fn sub(&mut self, o: &Totals) {
        let mut o = *o;
        for (a, b) in self.fields().into_iter().zip(o.fields()) {
            *a -= *b;
        }
    }
}

/// A role's smaps totals by VMA: start → (end, file, figures), and their sum.
#[derive(Clone, Debug, Default)]
struct SmapsCache {
    entries: BTreeMap<u64, (u64, Option<FileId>, Totals)>,
    total: Totals,
    /// Whether `entries` and `total` describe the mm as it is.
    valid: bool,
}

/// An actor an op started; it runs at the next `wait`.
#[derive(Clone, Debug)]
enum Pending {
    /// The process's exit after SIGKILL.
    Exit { role: Role },
    /// The OOM reaper's work on a victim.
    Reaper {
        task: exitmm_kernel::oom_kill::TaskId,
        victim: Role,
    },
    /// `process_mrelease` from `caller`.
    Mrelease {
        caller: Role,
        caller_task: Option<exitmm_kernel::oom_kill::TaskId>,
        target: Option<exitmm_kernel::oom_kill::TaskId>,
        target_role: Role,
        flags: u64,
    },
    /// Another thread of a killed process: a fault (touch) or an munmap, then its exit.
    Thread {
        role: Role,
        task: exitmm_kernel::oom_kill::TaskId,
        mm: MmId,
        start: u64,
        len: u64,
        write: bool,
        munmap: bool,
    },
    /// A device access through a secondary MMU.
    Device {
        role: Role,
        mm: MmId,
        name: String,
        start: u64,
        len: u64,
        write: bool,
    },
}

impl Pending {
    fn name(&self) -> String {
        match self {
            Pending::Exit { role } => format!("exit:{}", role.letter()),
            Pending::Reaper { victim, .. } => format!("oom_reaper:{}", victim.letter()),
            Pending::Mrelease {
                caller,
                target_role,
                ..
            } => format!("mrelease:{}>{}", caller.letter(), target_role.letter()),
            Pending::Thread { role, munmap, .. } => format!(
                "thread:{}:{}",
                role.letter(),
                if *munmap { "munmap" } else { "fault" }
            ),
            Pending::Device { name, .. } => format!("device:{name}"),
        }
    }

    fn kind(&self) -> exitmm_kernel::sched::ActorKind {
        use exitmm_kernel::sched::ActorKind as K;
        match self {
            Pending::Exit { .. } => K::Exit,
            Pending::Reaper { .. } => K::Reaper,
            Pending::Mrelease { .. } => K::Mrelease,
            Pending::Thread { .. } => K::Thread,
            Pending::Device { .. } => K::Device,
        }
    }

    fn role(&self) -> Role {
        match self {
            Pending::Exit { role }
            | Pending::Thread { role, .. }
            | Pending::Device { role, .. } => *role,
            Pending::Reaper { victim, .. } => *victim,
            Pending::Mrelease { caller, .. } => *caller,
        }
    }
}

fn idx(r: Role) -> usize {
    match r {
        Role::P => 0,
        Role::C => 1,
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // The helper backing the model's memory stops before that memory is freed.
        self.kernel.hw.stop_backing();
    }
}

impl Sim {
    /// A kernel with one process (the parent) and an empty address space.
    pub fn new(opts: &Options) -> Self {
        let machine = match opts.cpus {
            Some(n) => {
                let mut m = Machine::with_cpus(n, opts.seed);
                m.cpus.as_mut().unwrap().inject = opts.arch_inject;
                m
            }
            None => Machine::new(),
        };
        let mut kernel = Kernel::new(machine, opts.config.clone());
        // A large model's own memory is backed ahead of it on another host CPU.
        if opts.config.ram_bytes >= BACKING_MIN_RAM {
            if let Some(span) = kernel.mem.mem_map_reserve() {
                kernel.hw.start_backing(span);
            }
        }
        let mm = kernel.mm_alloc().expect("boot: first mm");
        let task = kernel.task_create(mm, "P");
        // The runner disables THP for its processes (`thp on` lets one have them).
        kernel
            .mm_mut(mm)
            .flags
            .insert(exitmm_kernel::mm_types::MmFlags::DISABLE_THP);
        let pgd = kernel.mm(mm).pgd;
        if let Some(c) = kernel.hw.cpus.as_mut() {
            c.switch_mm(0, mm, pgd);
        }
        Sim {
            kernel,
            procs: [
                Some(Process {
                    mm,
                    task,
                    killed: false,
                    fds: BTreeMap::new(),
                    modes: BTreeMap::new(),
                    cpu: 0,
                    threads: BTreeMap::new(),
                }),
                None,
            ],
            shm_names: BTreeMap::new(),
            brk_used: [false; 2],
            check: opts.check,
            unchecked: 0,
            last_checked_line: 0,
            checks: 0,
            linked: Default::default(),
            pending: Vec::new(),
            smaps: Default::default(),
            touch_runs: None,
            smaps_run_pages: 0,
            ctl: sched::Controller::new(opts.sched.clone()),
        }
    }

    /// Runs every line; returns the per-op results.
    pub fn run(&mut self, script: &Script) -> Result<Vec<OpResult>, SimError> {
        let r = script
            .lines
            .iter()
            .map(|l| self.step(l))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(l) = script.lines.last() {
            self.finish_checks(l)?;
        }
        Ok(r)
    }

    /// With [`Check::Amortized`], the check owed since the last one, at the end of a script
    /// whose last line is `last`.
    pub fn finish_checks(&mut self, last: &Line) -> Result<(), SimError> {
        if self.check == Check::Amortized && self.unchecked > 0 {
            self.check_now(last)?;
        }
        Ok(())
    }

    /// How many times the invariants were recomputed so far.
    pub fn checks_run(&self) -> u64 {
        self.checks
    }

    /// Whether the check is due after `line`.
    fn check_due(&mut self, line: &Line) -> bool {
        match self.check {
            Check::EveryOp => true,
            Check::Off => false,
            Check::Amortized => {
                self.unchecked += 1;
                let vmas: u64 = self
                    .kernel
                    .mms
                    .iter()
                    .flatten()
                    .map(|m| m.map_count as u64)
                    .sum();
                let state = vmas + self.kernel.mem.nr_frames() - self.kernel.mem.nr_free();
                matches!(line.op, Op::Exit | Op::ChildExit) || self.unchecked * 16 >= state
            }
        }
    }

    /// Recomputes the invariants from the structures: the kept smaps totals against a walk of
    /// every VMA, and `check_invariants`.
    fn check_now(&mut self, line: &Line) -> Result<(), SimError> {
        self.checks += 1;
        let mut violations = Vec::new();
        for r in [Role::P, Role::C] {
            if self.procs[idx(r)].is_some() && self.smaps[idx(r)].valid {
                let (kept, walked) = (self.smaps[idx(r)].total, self.walk_totals(r));
                if kept != walked {
                    violations.push(format!(
                        "smaps totals of {}: kept {kept:?}, a walk gives {walked:?}",
                        r.letter()
                    ));
                }
            }
        }
        if violations.is_empty() {
            violations = self.kernel.check_invariants();
        }
        if violations.is_empty() {
            self.unchecked = 0;
            self.last_checked_line = line.line;
            return Ok(());
        }
        if self.check == Check::Amortized && self.unchecked > 1 {
            violations.push(format!(
                "(checks are amortized: the last clean one was after line {}; --check every \
                 finds the op)",
                self.last_checked_line
            ));
        }
        Err(SimError::Invariant {
            line: line.line,
            violations,
        })
    }

    fn unsupported(line: &Line, what: impl Into<String>) -> SimError {
        SimError::Unsupported {
            line: line.line,
            what: what.into(),
        }
    }

    /// Runs one line.
    pub fn step(&mut self, line: &Line) -> Result<OpResult, SimError> {
        let role = line.role;
        let mut out = Vec::new();
        let mut report = None;
        self.kernel.truncate_report = None;
        self.touch_runs = None;
        let mut wait_reports = Vec::new();
        let mut status_role = Some(role);
        // Every op starts with the CPU's folio batches drained, as the kernel runner makes it
        // (its MADV_POPULATE_READ of a page of its own before each op): whether a new folio is
        // still batched must not depend on what else ran on the CPU.
        self.kernel.lru_add_drain();
        // The kernel runs this op on the CPU of the role's main thread.
        if let (Some(c), Some(p)) = (self.kernel.hw.cpus.as_mut(), self.procs[idx(role)].as_ref()) {
            c.current = p.cpu;
        }
        if let Some(e) = self.role_check(line) {
            return Err(e);
        }
        let rc: Result<(), Errno> = match &line.op {
            Op::Touch {
                off, len, write, ..
            } if self.proc(role).killed => {
                self.start_thread(role, *off, *len, *write, false, &mut out);
                Ok(())
            }
            Op::Munmap { off, len } if self.proc(role).killed => {
                self.start_thread(role, *off, *len, false, true, &mut out);
                Ok(())
            }
            Op::OomScoreAdj { adj } => {
                let t = self.proc(role).task;
                self.kernel.task_mut(t).oom_score_adj = *adj;
                Ok(())
            }
            Op::Kill { target } => match self.procs[idx(*target)].as_ref() {
                None => Err(Errno::ESRCH),
                Some(_) => {
                    self.kill(*target, &mut out);
                    Ok(())
                }
            },
            Op::OomKill { target } => self.oom_kill(role, *target, &mut out),
            Op::Mrelease { target, flags } => {
                let t = self.procs[idx(*target)].as_ref().map(|p| p.task);
                let a = Pending::Mrelease {
                    caller: role,
                    caller_task: Some(self.proc(role).task),
                    target: t,
                    target_role: *target,
                    flags: *flags,
                };
                if self.pending.is_empty() {
                    // Nothing else is running: the call returns its result at once.
                    let (mut outs, reports) = self.run_actors(line, vec![a], &mut out)?;
                    report = reports.into_iter().next().map(|(_, r)| r);
                    outs.remove(0).rc.map_or(Ok(()), Err)
                } else {
                    out.push(format!("A {} {} started", role.letter(), a.name()));
                    self.pending.push(a);
                    Ok(())
                }
            }
            Op::Wait => {
                let list = std::mem::take(&mut self.pending);
                let (_, reports) = self.run_actors(line, list, &mut out)?;
                for (r, rep) in &reports {
                    out.extend(report::x_lines(r.letter(), rep));
                }
                wait_reports = reports;
                if self.procs[idx(role)].is_none() {
                    status_role = None;
                }
                Ok(())
            }
            Op::Secondary {
                name,
                off,
                len,
                nonblock,
            } => {
                let mm = self.proc(role).mm;
                if self.kernel.find_device(mm, name).is_some() {
                    Err(Errno::EEXIST)
                } else {
                    let start = ARENA.wrapping_add(*off);
                    let m = self.kernel.mm_mut(mm);
                    m.count += 1; // the registration's mmgrab
                    exitmm_kernel::mmu_notifier::register_device(
                        m,
                        100,
                        exitmm_kernel::mmu_notifier::Device {
                            name: name.clone(),
                            start,
                            end: start.saturating_add(*len),
                            must_sleep: *nonblock,
                            ..Default::default()
                        },
                    );
                    Ok(())
                }
            }
            Op::DeviceAccess {
                name,
                off,
                len,
                write,
            } => {
                let a = Pending::Device {
                    role,
                    mm: self.proc(role).mm,
                    name: name.clone(),
                    start: ARENA.wrapping_add(*off),
                    len: *len,
                    write: *write,
                };
                if self.pending.is_empty() {
                    let (mut outs, _) = self.run_actors(line, vec![a], &mut out)?;
                    let o = outs.remove(0);
                    out.push(format!(
                        "R {} device={name}{}",
                        role.letter(),
                        facts_text(&o.facts)
                    ));
                    o.rc.map_or(Ok(()), Err)
                } else {
                    out.push(format!("A {} {} started", role.letter(), a.name()));
                    self.pending.push(a);
                    Ok(())
                }
            }
            Op::HugetlbPool { size, n } => {
                let h = huge_size(*size);
                self.kernel.set_max_huge_pages(h, *n);
                let got = self.kernel.hstate(h).nr_huge_pages;
                if got < *n {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: format!(
                            "hugetlb_pool {} {n}: the model's RAM holds only {got} (--ram)",
                            size.word()
                        ),
                    });
                }
                out.push(self.hugetlb_stat(role, h));
                Ok(())
            }
            Op::HugetlbStat { size } => {
                out.push(self.hugetlb_stat(role, huge_size(*size)));
                Ok(())
            }
            Op::MakeFile {
                name,
                size,
                fill,
                hugetlb: Some(huge),
                ..
            } => {
                if self.proc(role).fds.contains_key(name) {
                    Err(Errno::EEXIST)
                } else {
                    let h = huge_size(*huge);
                    match self
                        .kernel
                        .hugetlb_file_setup(name, FileKind::Memfd, *size, h)
                    {
                        Ok(id) => {
                            self.proc_mut(role).fds.insert(name.clone(), id);
                            if *fill {
                                self.kernel.hugetlbfs_fallocate(id)
                            } else {
                                Ok(())
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            Op::Mmap {
                off,
                len,
                prot,
                flags,
                file,
                foff,
            } => {
                let fmode = file
                    .as_ref()
                    .and_then(|n| self.fd(role, n))
                    .map(|(_, m)| m)
                    .unwrap_or_default();
                if flags.raw.is_some_and(|r| {
                    r & mmap::map_bits::TYPE == mmap::map_bits::DROPPABLE && flags.anon
                }) {
                    return Err(Self::unsupported(line, "mmap MAP_DROPPABLE"));
                }
                // A raw MAP_ANONYMOUS ignores the descriptor; without it, no FILE is fd -1.
                let file = if flags.anon { &None } else { file };
                let f = match file {
                    Some(name) => match self.proc(role).fds.get(name) {
                        Some(f) => Some(*f),
                        None => {
                            out.push(format!("R {} rc=-9 err=EBADF", role.letter()));
                            return Ok(self.finish(line, out, -9, Some(role), None));
                        }
                    },
                    None if flags.raw.is_some() && !flags.anon => {
                        out.push(format!("R {} rc=-9 err=EBADF", role.letter()));
                        return Ok(self.finish(line, out, -9, Some(role), None));
                    }
                    None => None,
                };
                let prot = mmap::Prot {
                    read: prot.read,
                    write: prot.write,
                    exec: prot.exec,
                };
                let mf = mmap::MapFlags {
                    shared: flags.shared,
                    populate: flags.populate,
                    locked: flags.locked,
                    noreserve: flags.noreserve,
                    growsdown: flags.growsdown,
                    fixed: flags.fixed,
                    hugetlb: flags.hugetlb.map(huge_size),
                    fmode,
                    raw: flags.raw,
                };
                let (addr, len, foff) = (ARENA.wrapping_add(*off), *len, *foff);
                let r = self.with_mm(role, |k, mm| {
                    k.do_mmap(mm, addr, len, prot, mf, f, foff).map(|_| ())
                });
                // A mapping the file refused was cleaned up by unmap_region: report its VMA.
                if let Some(done) = self.kernel.mmap_cleanup.take() {
                    report = Some(TeardownReport {
                        steps: vec![exitmm_kernel::exit::Step {
                            func: "unmap_region",
                            depth: 0,
                            facts: vec![("vmas", 1)],
                            messages: vec![],
                            vmas: vec![done],
                        }],
                    });
                }
                r
            }
            Op::MakeFile {
                name,
                size,
                fill,
                tmpfs,
                hugetlb: None,
            } => {
                if self.proc(role).fds.contains_key(name) || (*tmpfs && self.linked.contains(name))
                {
                    Err(Errno::EEXIST)
                } else {
                    let kind = if *tmpfs {
                        FileKind::Tmpfs
                    } else {
                        FileKind::Memfd
                    };
                    match self.kernel.shmem_file_setup(name, kind, *size, true) {
                        Ok(id) => {
                            self.proc_mut(role).fds.insert(name.clone(), id);
                            if *fill {
                                self.kernel.shmem_fill(id)
                            } else {
                                Ok(())
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            Op::Touch {
                off,
                len,
                write,
                stride,
                grow,
            } => self.touch(role, *off, *len, *write, *stride, *grow, &mut out),
            Op::Munmap { off, len } => {
                let a = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.do_munmap(mm, a, *len).map(|_| ()))
            }
            Op::Mprotect { off, len, prot } => {
                let p = mmap::Prot {
                    read: prot.read,
                    write: prot.write,
                    exec: prot.exec,
                };
                let a = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.do_mprotect(mm, a, *len, p))
            }
            Op::Mlock { off, len, onfault } => {
                let a = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.do_mlock(mm, a, *len, *onfault))
            }
            Op::Munlock { off, len } => {
                let a = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.do_munlock(mm, a, *len))
            }
            Op::Mlockall {
                current,
                future,
                onfault,
            } => self.with_mm(role, |k, mm| k.do_mlockall(mm, *current, *future, *onfault)),
            Op::Munlockall => self.with_mm(role, |k, mm| k.do_munlockall(mm)),
            Op::Madvise { off, len, advice } => {
                let a = match advice {
                    Advice::DontNeed => madvise::Advice::DontNeed,
                    Advice::DontNeedLocked => madvise::Advice::DontNeedLocked,
                    Advice::Free => madvise::Advice::Free,
                    Advice::Remove => madvise::Advice::Remove,
                    Advice::DontFork => madvise::Advice::DontFork,
                    Advice::DoFork => madvise::Advice::DoFork,
                    Advice::WipeOnFork => madvise::Advice::WipeOnFork,
                    Advice::KeepOnFork => madvise::Advice::KeepOnFork,
                    Advice::PopulateRead => madvise::Advice::PopulateRead,
                    Advice::PopulateWrite => madvise::Advice::PopulateWrite,
                    Advice::HugePage => madvise::Advice::HugePage,
                    Advice::NoHugePage => madvise::Advice::NoHugePage,
                    Advice::Normal => madvise::Advice::Normal,
                    Advice::Random => madvise::Advice::Random,
                    Advice::Sequential => madvise::Advice::Sequential,
                    Advice::WillNeed => madvise::Advice::WillNeed,
                    Advice::DontDump => madvise::Advice::DontDump,
                    Advice::DoDump => madvise::Advice::DoDump,
                    Advice::PageOut => madvise::Advice::PageOut,
                };
                let s = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.do_madvise(mm, s, *len, a))
            }
            Op::Mremap {
                off,
                old_len,
                new_len,
                maymove,
                fixed,
                dontunmap,
            } => {
                let a = ARENA.wrapping_add(*off);
                let fx = fixed.map(|f| ARENA.wrapping_add(f));
                let r = self.with_mm(role, |k, mm| {
                    k.do_mremap(mm, a, *old_len, *new_len, *maymove, fx, *dontunmap)
                });
                match r {
                    Ok(addr) => {
                        out.push(format!("R {} mremap_result={}", role.letter(), hex(addr - ARENA)));
                        Ok(())
                    }
                    Err(MremapError::Errno(e)) => Err(e),
                    Err(MremapError::UnhintedMove) => {
                        return Err(Self::unsupported(line, "mremap maymove without fixed= that cannot grow in place (the kernel would pick an address outside the arena)"))
                    }
                }
            }
            Op::Fork => {
                let pmm = self.proc(Role::P).mm;
                match self.kernel.dup_mm(pmm) {
                    Ok(child) => {
                        let fds = self.proc(Role::P).fds.clone();
                        let modes = self.proc(Role::P).modes.clone();
                        for f in fds.values() {
                            self.kernel.get_file(*f);
                        }
                        let cpu = self
                            .kernel
                            .hw
                            .cpus
                            .as_ref()
                            .map(|c| (self.proc(Role::P).cpu + 1) % c.cpus.len())
                            .unwrap_or(0);
                        let pgd = self.kernel.mm(child).pgd;
                        if let Some(c) = self.kernel.hw.cpus.as_mut() {
                            c.switch_mm(cpu, child, pgd);
                        }
                        let task = self.kernel.task_create(child, "C");
                        self.procs[1] = Some(Process {
                            mm: child,
                            task,
                            killed: false,
                            fds,
                            modes,
                            cpu,
                            threads: BTreeMap::new(),
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Op::ChildExit => {
                report = Some(self.exit_process(Role::C));
                status_role = Some(Role::P);
                if self.procs[0].is_none() {
                    status_role = None;
                }
                Ok(())
            }
            Op::Exit => {
                report = Some(self.exit_process(Role::P));
                status_role = None;
                Ok(())
            }
            Op::OomVictim => {
                let mm = self.proc(role).mm;
                self.kernel.mark_oom_victim(mm);
                Ok(())
            }
            Op::Dump => {
                self.dump(role, &mut out);
                Ok(())
            }
            Op::Pagemap { off, len } => {
                self.pagemap(role, *off, *len, &mut out);
                Ok(())
            }
            Op::Commit => {
                out.push(format!(
                    "K {} Committed_AS={}",
                    role.letter(),
                    self.kernel.committed * 4
                ));
                Ok(())
            }
            Op::Meminfo { key } => {
                let (free, total) = self.kernel.swap_totals();
                let kb = match key.as_str() {
                    "Committed_AS" => self.kernel.committed * 4,
                    "SwapFree" => free as i64 * 4,
                    "SwapTotal" => total as i64 * 4,
                    _ => {
                        return Err(Self::unsupported(
                            line,
                            format!(
                            "meminfo {key} (the model keeps Committed_AS, SwapFree and SwapTotal)"
                        ),
                        ))
                    }
                };
                out.push(format!("K {} {key}={kb}", role.letter()));
                Ok(())
            }
            Op::Swapon { size } => self.kernel.sys_swapon(*size),
            // prctl(PR_SET_THP_DISABLE): every process starts with it set, as the runner's.
            Op::Thp { on } => {
                let id = self.proc(role).mm;
                let mm = self.kernel.mm_mut(id);
                mm.flags
                    .set(exitmm_kernel::mm_types::MmFlags::DISABLE_THP, !*on);
                Ok(())
            }
            Op::Nop => Ok(()),
            Op::Census => {
                out.push(self.census(role));
                Ok(())
            }
            Op::Cpu { n } => {
                let n = self.cpu_index(line, *n)?;
                let (mm, old) = (self.proc(role).mm, self.proc(role).cpu);
                let pgd = self.kernel.mm(mm).pgd;
                let c = self.kernel.hw.cpus.as_mut().unwrap();
                if old != n
                    && !self.procs[idx(role)]
                        .as_ref()
                        .unwrap()
                        .threads
                        .values()
                        .any(|&t| t == old)
                {
                    c.enter_lazy(old); // the idle task keeps the mm as active_mm
                }
                c.switch_mm(n, mm, pgd);
                c.current = n;
                self.proc_mut(role).cpu = n;
                Ok(())
            }
            Op::Thread { name, cpu } => {
                let n = self.cpu_index(line, *cpu)?;
                if self.proc(role).threads.contains_key(name) {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: format!("thread {name} exists"),
                    });
                }
                let mm = self.proc(role).mm;
                let pgd = self.kernel.mm(mm).pgd;
                self.kernel.hw.cpus.as_mut().unwrap().switch_mm(n, mm, pgd);
                self.proc_mut(role).threads.insert(name.clone(), n);
                Ok(())
            }
            Op::ThreadExit { name } => {
                let Some(cpu) = self.proc_mut(role).threads.remove(name) else {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: format!("no thread {name}"),
                    });
                };
                let c = self.kernel.hw.cpus.as_mut().unwrap();
                c.runners.retain(|r| r.name != *name);
                c.enter_lazy(cpu);
                Ok(())
            }
            Op::Background {
                name,
                off,
                len,
                write,
            } => {
                let Some(&cpu) = self.proc(role).threads.get(name) else {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: format!("no thread {name}: start it with 'thread {name} CPU'"),
                    });
                };
                let mm = self.proc(role).mm;
                let start = ARENA.wrapping_add(*off);
                let c = self.kernel.hw.cpus.as_mut().unwrap();
                c.runners.retain(|r| r.name != *name);
                c.runners.push(tlb::Runner {
                    name: name.clone(),
                    cpu,
                    mm,
                    start,
                    len: *len,
                    write: *write,
                });
                Ok(())
            }
            Op::PerfRing { name, .. } => {
                if self.proc(role).fds.contains_key(name) {
                    Err(Errno::EEXIST)
                } else {
                    self.kernel.perf_event_open(name).map(|id| {
                        self.proc_mut(role).fds.insert(name.clone(), id);
                    })
                }
            }
            Op::Msync { off, len, flags } => {
                let s = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.sys_msync(mm, s, *len, flags.bits()))
            }
            Op::Write { name, foff, len } => match self.fd(role, name) {
                None => Err(Errno::EBADF),
                Some((f, mode)) => self
                    .kernel
                    .shmem_write(f, mode, *foff, *len)
                    .map_err(|e| e.expect("an errno")),
            },
            Op::Truncate { name, size } => match self.fd(role, name) {
                None => Err(Errno::EBADF),
                Some((f, mode)) => {
                    let r = self
                        .with_mm(role, |k, mm| k.shmem_setattr_size(mm, f, mode, *size))
                        .map_err(|e| e.expect("an errno"));
                    report = self.kernel.truncate_report.take();
                    r
                }
            },
            Op::Fallocate {
                name,
                foff,
                len,
                punch,
                keep,
            } => match self.fd(role, name) {
                None => Err(Errno::EBADF),
                Some((f, mode)) => {
                    let r = self
                        .with_mm(role, |k, mm| {
                            k.shmem_fallocate(mm, f, mode, *foff, *len, *punch, *keep)
                        })
                        .map_err(|e| e.expect("an errno"));
                    report = self.kernel.truncate_report.take();
                    r
                }
            },
            Op::Fsync { name } => match self.fd(role, name) {
                None => Err(Errno::EBADF),
                Some((f, _)) => self.kernel.vfs_fsync(f),
            },
            Op::MadviseRaw { off, len, advice } => match madvise::Advice::from_raw(*advice) {
                madvise::RawAdvice::Invalid => Err(Errno::EINVAL),
                madvise::RawAdvice::Unsupported(what) => {
                    return Err(Self::unsupported(line, format!("madvise {what}")))
                }
                madvise::RawAdvice::Known(a) => {
                    let s = ARENA.wrapping_add(*off);
                    self.with_mm(role, |k, mm| k.do_madvise(mm, s, *len, a))
                }
            },
            Op::Mlock2Raw { off, len, flags } => {
                let s = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.sys_mlock2(mm, s, *len, *flags))
            }
            Op::MlockallRaw { flags } => self.with_mm(role, |k, mm| k.sys_mlockall(mm, *flags)),
            Op::BrkStart { off } => {
                let mm = self.kernel.mm(self.proc(role).mm);
                if mm.brk != mm.start_brk || self.brk_used[idx(role)] {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: "brk_start comes before the role's first brk".into(),
                    });
                }
                let a = ARENA.wrapping_add(*off);
                self.with_mm(role, |k, mm| k.set_brk_start(mm, a))
            }
            Op::Brk { off } => {
                if self.kernel.mm(self.proc(role).mm).start_brk == 0 {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: "brk needs brk_start first (the model's processes have no heap of their own)".into(),
                    });
                }
                self.brk_used[idx(role)] = true;
                let a = ARENA.wrapping_add(*off);
                let b = self.with_mm(role, |k, mm| k.sys_brk(mm, a));
                out.push(format!(
                    "R {} brk={}",
                    role.letter(),
                    hex(b.wrapping_sub(ARENA))
                ));
                Ok(())
            }
            Op::Setrlimit { resource, value } => {
                let r = match resource {
                    exitmm_script::Rlimit::Memlock => exitmm_kernel::sys::Resource::Memlock,
                    exitmm_script::Rlimit::As => exitmm_kernel::sys::Resource::As,
                    exitmm_script::Rlimit::Data => exitmm_kernel::sys::Resource::Data,
                };
                let v = value.unwrap_or(u64::MAX);
                let lim = exitmm_kernel::mm_types::Rlim { cur: v, max: v };
                self.with_mm(role, |k, mm| k.do_prlimit(mm, r, lim))
            }
            Op::DropCapIpcLock => {
                self.with_mm(role, |k, mm| k.drop_cap_ipc_lock(mm));
                Ok(())
            }
            Op::Shmget {
                name,
                size,
                hugetlb,
            } => {
                let r = if self.shm_names.contains_key(name) {
                    Err(Errno::EEXIST)
                } else {
                    let h = hugetlb.then_some(exitmm_kernel::hugetlb::HugeSize::Huge2M);
                    self.kernel.newseg(*size, h).map(|id| {
                        self.shm_names.insert(name.clone(), id);
                    })
                };
                out.push(self.shm_line(role, name));
                r
            }
            Op::Shmat { name, off, rdonly } => {
                let r = match self.shm_names.get(name).copied() {
                    None => Err(Errno::EINVAL),
                    Some(id) => {
                        let a = ARENA.wrapping_add(*off);
                        self.with_mm(role, |k, mm| k.do_shmat(mm, id, a, *rdonly))
                    }
                };
                out.push(self.shm_line(role, name));
                r
            }
            Op::Shmdt { off } => {
                let a = ARENA.wrapping_add(*off);
                let r = self.with_mm(role, |k, mm| k.ksys_shmdt(mm, a));
                self.kernel.task_work_run();
                match r {
                    Ok(seg) => {
                        let name = self
                            .shm_names
                            .iter()
                            .find(|(_, &i)| Some(i) == seg)
                            .map(|(n, _)| n.clone());
                        if let Some(n) = name {
                            out.push(self.shm_line(role, &n));
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Shmrm { name } => {
                let r = match self.shm_names.get(name).copied() {
                    None => Err(Errno::EINVAL),
                    Some(id) => self.kernel.do_shm_rmid(id),
                };
                self.kernel.task_work_run();
                out.push(self.shm_line(role, name));
                r
            }
            Op::Reopen { name, alias, mode } => match self.fd(role, name) {
                None => Err(Errno::EBADF),
                Some(_) if self.proc(role).fds.contains_key(alias) => Err(Errno::EEXIST),
                Some((f, _)) => {
                    self.kernel.get_file(f);
                    let p = self.proc_mut(role);
                    p.fds.insert(alias.clone(), f);
                    if *mode != OpenMode::Rw {
                        p.modes.insert(alias.clone(), *mode);
                    }
                    Ok(())
                }
            },
            Op::Close { name } => match self.proc_mut(role).fds.remove(name) {
                Some(id) => {
                    self.proc_mut(role).modes.remove(name);
                    self.kernel.fput(id);
                    Ok(())
                }
                None => Err(Errno::EBADF),
            },
            Op::Iomap { name, size, mtype } => {
                if self.proc(role).fds.contains_key(name) {
                    Err(Errno::EEXIST)
                } else {
                    let mode = match mtype {
                        exitmm_script::MemType::Uc => exitmm_kernel::pat::CacheMode::UcMinus,
                        exitmm_script::MemType::Wc => exitmm_kernel::pat::CacheMode::Wc,
                        exitmm_script::MemType::Wb => exitmm_kernel::pat::CacheMode::Wb,
                    };
                    self.kernel.iomap_create(name, *size, mode).map(|id| {
                        self.proc_mut(role).fds.insert(name.clone(), id);
                    })
                }
            }
            Op::Pat => {
                for l in self.kernel.pat_memtype_list() {
                    out.push(format!("K {} pat {l}", role.letter()));
                }
                Ok(())
            }
            Op::Diskfile { name, size } => {
                if self.proc(role).fds.contains_key(name) {
                    Err(Errno::EEXIST)
                } else {
                    self.kernel
                        .shmem_file_setup(name, FileKind::Disk, *size, false)
                        .map(|id| {
                            self.proc_mut(role).fds.insert(name.clone(), id);
                        })
                }
            }
            Op::Codefile { name, size } => {
                if self.proc(role).fds.contains_key(name) || !self.linked.insert(name.clone()) {
                    Err(Errno::EEXIST)
                } else {
                    match self
                        .kernel
                        .shmem_file_setup(name, FileKind::Codefile, *size, true)
                    {
                        Ok(id) => {
                            self.proc_mut(role).fds.insert(name.clone(), id);
                            // The name under /dev/shm holds the inode (its pages and their
                            // charge) after the last descriptor is closed.
                            self.kernel.get_file(id);
                            self.kernel.shmem_fill(id)
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            Op::Uprobe { name, foff } | Op::UprobeRemove { name, foff } => {
                let register = matches!(line.op, Op::Uprobe { .. });
                match self.proc(role).fds.get(name).copied() {
                    None => Err(Errno::EBADF),
                    Some(f) if self.kernel.files.get(f).kind != FileKind::Codefile => {
                        Err(Errno::EINVAL)
                    }
                    Some(f) => self.with_mm(role, |k, mm| {
                        if register {
                            k.uprobe_register(mm, f, *foff)
                        } else {
                            k.uprobe_unregister(mm, f, *foff)
                        }
                    }),
                }
            }
            Op::Call { off } => {
                let a = ARENA.wrapping_add(*off);
                let target_ok = {
                    let mm = self.kernel.mm(self.proc(role).mm);
                    match mm.vma_at(a) {
                        Some(v) if v.flags.contains(VmFlags::EXEC) => v
                            .file
                            .is_some_and(|f| self.kernel.files.get(f).kind == FileKind::Codefile),
                        _ => true, // it faults
                    }
                };
                if !target_ok {
                    return Err(Self::unsupported(
                        line,
                        "call into an executable mapping that is not a codefile (the model knows only code made of ret instructions)",
                    ));
                }
                // A hole punched in a codefile (MADV_REMOVE, fallocate punch) reads as zero
                // bytes, which are no code either (unless a private copy of the page is mapped).
                let punched = {
                    let mm = self.kernel.mm(self.proc(role).mm);
                    mm.vma_at(a).is_some_and(|v| {
                        let Some(f) = v.file else { return false };
                        let file = self.kernel.files.get(f);
                        let idx = v.pgoff + ((a - v.start) >> 12);
                        let e = self.kernel.pte_at(mm, a);
                        let copied = pt::present(e)
                            && self
                                .kernel
                                .mem
                                .page(pt::pfn_of(e))
                                .flags
                                .contains(exitmm_kernel::page::PageFlags::ANON);
                        file.kind == FileKind::Codefile
                            && idx < file.size_pages()
                            && !file.pages.contains_key(&idx)
                            && !copied
                    })
                };
                if punched {
                    return Err(Self::unsupported(
                        line,
                        "call into a hole punched in a codefile (zero bytes, not code)",
                    ));
                }
                let below_exec_stack = {
                    let mm = self.kernel.mm(self.proc(role).mm);
                    mm.vma_at(a).is_none()
                        && mm
                            .find_vma(a)
                            .is_some_and(|v| v.flags.contains(VmFlags::GROWSDOWN | VmFlags::EXEC))
                };
                if below_exec_stack {
                    return Err(Self::unsupported(
                        line,
                        "call below an executable growsdown VMA: the grown stack's zero page would run as code",
                    ));
                }
                if !self.call_target_is_code(role, a) {
                    return Err(Self::unsupported(
                        line,
                        "call into code the script has written (the model keeps no bytes, only whether a page is still the file's)",
                    ));
                }
                let r = self.with_mm(role, |k, mm| k.uprobe_call(mm, a).map(|_| ()));
                signal(role, *off, r, &mut out)
            }
            Op::Access { off, len, write } => {
                if self.kernel.hw.cpus.is_none() {
                    return Err(SimError::Invalid {
                        line: line.line,
                        what: "access needs CPUs (--cpus)".into(),
                    });
                }
                self.access(role, *off, *len, *write, &mut out)
            }
        };
        // The syscall returns: its deferred task work (final fputs) runs.
        self.kernel.task_work_run();
        // Between ops, the other CPUs' tasks run too.
        self.kernel.hw.others_run();
        if let Some(r) = &report {
            out.extend(report::x_lines(role_of_exit(&line.op, role).letter(), r));
        }
        let code = match rc {
            Ok(()) => 0,
            Err(e) => -e.code(),
        };
        let rrole = if matches!(line.op, Op::ChildExit) {
            Role::P
        } else {
            role
        };
        out.push(format!(
            "R {} rc={} err={}",
            rrole.letter(),
            code,
            rc.err().map(|e| e.name()).unwrap_or("0")
        ));
        if let Some(c) = self.kernel.hw.cpus.as_mut() {
            if !c.violations.is_empty() {
                let mut reports: Vec<String> =
                    c.violations.drain(..).map(|v| v.to_string()).collect();
                reports.dedup();
                return Err(SimError::UseAfterFree {
                    line: line.line,
                    reports,
                });
            }
        }
        self.update_smaps(line);
        if self.check_due(line) {
            self.check_now(line)?;
        }
        let mut r = self.finish(line, out, code, status_role, report);
        r.reports = wait_reports;
        Ok(r)
    }

    fn finish(
        &self,
        line: &Line,
        mut out: Vec<String>,
        rc: i32,
        status_role: Option<Role>,
        report: Option<TeardownReport>,
    ) -> OpResult {
        if let Some(r) = status_role {
            if self.procs[idx(r)].is_some() {
                out.push(self.status_line(r));
                out.push(self.totals_line(r));
            }
        }
        OpResult {
            line: line.line,
            text: line.text.clone(),
            role: line.role,
            rc,
            records: out,
            report,
            reports: Vec::new(),
        }
    }

    /// Refuses an op of a process that is gone, or of a killed one (other than what its
    /// remaining threads may still do before `wait`), and exits while actors are pending.
    fn role_check(&self, line: &Line) -> Option<SimError> {
        let global = matches!(
            line.op,
            Op::Census
                | Op::HugetlbStat { .. }
                | Op::Pat
                | Op::Wait
                | Op::ChildExit
                | Op::HugetlbPool { .. }
        );
        let bad = |what: String| {
            Some(SimError::Invalid {
                line: line.line,
                what,
            })
        };
        if matches!(line.op, Op::Fork) && self.procs[1].is_some() {
            return bad("fork: one child at a time; the child is still there".into());
        }
        if matches!(line.op, Op::ChildExit) && self.procs[1].is_none() {
            return bad("child_exit: the child has exited".into());
        }
        if !global && self.procs[idx(line.role)].is_none() {
            return bad(format!(
                "{}: {} has exited",
                line.op.name(),
                line.role.letter()
            ));
        }
        if matches!(line.op, Op::Exit | Op::ChildExit | Op::Fork) && !self.pending.is_empty() {
            return bad(format!(
                "{}: actors are pending; 'wait' for them first",
                line.op.name()
            ));
        }
        if let Some(p) = self.procs[idx(line.role)].as_ref() {
            let allowed = matches!(
                line.op,
                Op::Touch { .. }
                    | Op::Munmap { .. }
                    | Op::DeviceAccess { .. }
                    | Op::Mrelease { .. }
                    | Op::Wait
                    | Op::Census
                    | Op::Kill { .. }
                    | Op::OomKill { .. }
            );
            if p.killed && !allowed {
                return bad(format!(
                    "{}: {} was killed: until 'wait' its threads may only touch, munmap, \
                     device_access or mrelease (as concurrent actors)",
                    line.op.name(),
                    line.role.letter()
                ));
            }
        }
        None
    }

    /// SIGKILL to `target`: its exit becomes a pending actor.
    fn kill(&mut self, target: Role, out: &mut Vec<String>) {
        let p = self.procs[idx(target)].as_mut().unwrap();
        if p.killed {
            return;
        }
        p.killed = true;
        let t = p.task;
        self.kernel.task_mut(t).sigkill = true;
        let a = Pending::Exit { role: target };
        out.push(format!("A {} {} started", target.letter(), a.name()));
        self.pending.push(a);
    }

    /// `oom_kill [ROLE]`: choose (or take) the victim, `__oom_kill_process`, start its exit
    /// and, when queued, the reaper.
    fn oom_kill(
        &mut self,
        role: Role,
        target: Option<Role>,
        out: &mut Vec<String>,
    ) -> Result<(), Errno> {
        use exitmm_kernel::oom_kill::OomChoice;
        let choice = match target {
            Some(r) => {
                let Some(p) = self.procs[idx(r)].as_ref() else {
                    return Err(Errno::ESRCH);
                };
                let total = self.kernel.oom_totalpages();
                let points = self.kernel.oom_badness(p.task, total).unwrap_or(i64::MIN);
                OomChoice::Victim(p.task, points)
            }
            None => self.kernel.select_bad_process(),
        };
        let (t, points) = match choice {
            OomChoice::Victim(t, p) => (t, p),
            OomChoice::Abort => {
                out.push(format!(
                    "R {} oom_victim=none reason=victim_pending",
                    role.letter()
                ));
                return Ok(());
            }
            OomChoice::None => {
                out.push(format!(
                    "R {} oom_victim=none reason=none_killable",
                    role.letter()
                ));
                return Ok(());
            }
        };
        let victim = if self.procs[0].as_ref().is_some_and(|p| p.task == t) {
            Role::P
        } else {
            Role::C
        };
        let pts = if points == i64::MIN {
            "-".to_string()
        } else {
            points.to_string()
        };
        out.push(format!(
            "R {} oom_victim={} points={pts}",
            role.letter(),
            victim.letter()
        ));
        let queue = self.kernel.__oom_kill_process(t);
        for l in self.kernel.log.drain(..) {
            out.push(format!("L {l}"));
        }
        self.kill(victim, out);
        if queue {
            let a = Pending::Reaper { task: t, victim };
            out.push(format!("A {} {} started", victim.letter(), a.name()));
            self.pending.push(a);
        }
        Ok(())
    }

    /// Another thread of the killed `role` faults (`touch`) or unmaps: it holds a user
    /// reference on the mm until it exits after its op.
    fn start_thread(
        &mut self,
        role: Role,
        off: u64,
        len: u64,
        write: bool,
        munmap: bool,
        out: &mut Vec<String>,
    ) {
        let (mm, task) = (self.proc(role).mm, self.proc(role).task);
        self.kernel.mm_mut(mm).users += 1;
        self.kernel.task_mut(task).threads += 1;
        let a = Pending::Thread {
            role,
            task,
            mm,
            start: ARENA.wrapping_add(off),
            len,
            write,
            munmap,
        };
        out.push(format!("A {} {} started", role.letter(), a.name()));
        self.pending.push(a);
    }

    /// Runs `list` as concurrent actors under the scheduler, to their ends. Prints the
    /// schedule (`S`), each actor's result in the order they finished (`A`) and the kernel's
    /// log (`L`); returns the actors' results (in `list` order) and the teardown report of
    /// each process whose exit ran.
    #[allow(clippy::type_complexity)]
    fn run_actors(
        &mut self,
        line: &Line,
        list: Vec<Pending>,
        out: &mut Vec<String>,
    ) -> Result<(Vec<sched::ActorOut>, Vec<(Role, TeardownReport)>), SimError> {
        use exitmm_kernel::sched::{Cx, KCell};
        use exitmm_kernel::{exit, mmu_notifier, oom_kill};
        // The exits: the other threads are killed first; every CPU that ran the mm goes
        // lazy with it.
        let mut exits = Vec::new();
        for a in &list {
            if let Pending::Exit { role } = a {
                let p = self.procs[idx(*role)].as_ref().unwrap();
                if let Some(c) = self.kernel.hw.cpus.as_mut() {
                    c.runners.retain(|r| r.mm != p.mm);
                    for &t in p.threads.values() {
                        c.enter_lazy(t);
                    }
                    c.enter_lazy(p.cpu);
                }
                let files: Vec<FileId> = p.fds.values().copied().collect();
                exits.push((*role, p.task, p.mm, files));
            }
        }
        let mm_role = |mm: MmId, procs: &[Option<Process>; 2]| {
            if procs[1].as_ref().is_some_and(|p| p.mm == mm) {
                Role::C
            } else {
                Role::P
            }
        };
        let cxs: Vec<Cx> = list.iter().map(|a| Cx::new(a.name(), a.kind())).collect();
        let schedule_start = self.ctl.trace.len();
        let now0 = self.kernel.now_ms;
        let kc: KCell<'_, Machine> = std::cell::RefCell::new(&mut self.kernel);
        let mut actors: Vec<sched::Actor<'_>> = Vec::new();
        for (i, a) in list.iter().enumerate() {
            let cx = &cxs[i];
            let k = &kc;
            let fut: std::pin::Pin<Box<dyn std::future::Future<Output = sched::ActorOut> + '_>> =
                match a.clone() {
                    Pending::Exit { role } => {
                        let (_, task, mm, files) =
                            exits.iter().find(|e| e.0 == role).cloned().unwrap();
                        Box::pin(async move {
                            let mut r = TeardownReport::default();
                            exit::do_exit(k, cx, Some(task), mm, files, &mut r).await;
                            sched::ActorOut {
                                report: Some(r),
                                ..Default::default()
                            }
                        })
                    }
                    Pending::Reaper { task, .. } => Box::pin(async move {
                        let res = oom_kill::oom_reaper(k, cx, task).await;
                        sched::ActorOut {
                            facts: vec![
                                ("attempts", res.attempts as i64),
                                ("gave_up", res.gave_up as i64),
                                ("timer_skip", res.skipped as i64),
                                ("ptes", res.ptes as i64),
                                ("pages_freed", res.pages_freed as i64),
                            ],
                            ..Default::default()
                        }
                    }),
                    Pending::Mrelease {
                        caller_task,
                        target,
                        flags,
                        ..
                    } => Box::pin(async move {
                        let mut r = TeardownReport::default();
                        let rc =
                            oom_kill::process_mrelease(k, cx, caller_task, target, flags, &mut r)
                                .await;
                        sched::ActorOut {
                            rc: rc.err(),
                            report: (!r.steps.is_empty()).then_some(r),
                            ..Default::default()
                        }
                    }),
                    Pending::Thread {
                        task,
                        mm,
                        start,
                        len,
                        write,
                        munmap,
                        ..
                    } => Box::pin(async move {
                        let mut r = TeardownReport::default();
                        let rc = if munmap {
                            oom_kill::thread_munmap(k, cx, task, mm, start, len, &mut r)
                                .await
                                .err()
                        } else {
                            oom_kill::thread_fault(k, cx, task, mm, start, len, write, &mut r)
                                .await
                                .err()
                                .map(|f| match f {
                                    exitmm_kernel::Fault::Bus => Errno::EIO,
                                    exitmm_kernel::Fault::Segv => Errno::EFAULT,
                                    exitmm_kernel::Fault::Oom => Errno::ENOMEM,
                                })
                        };
                        sched::ActorOut {
                            rc,
                            report: r.get("exit_mmap").is_some().then_some(r),
                            ..Default::default()
                        }
                    }),
                    Pending::Device {
                        mm,
                        name,
                        start,
                        len,
                        write,
                        ..
                    } => Box::pin(async move {
                        let mut r = TeardownReport::default();
                        let res = mmu_notifier::device_access(
                            k, cx, mm, &name, start, len, write, &mut r,
                        )
                        .await;
                        let acc = res.unwrap_or_default();
                        sched::ActorOut {
                            rc: res.err(),
                            facts: vec![("hits", acc.hits as i64), ("faults", acc.faults as i64)],
                            report: r.get("exit_mmap").is_some().then_some(r),
                        }
                    }),
                };
            actors.push(sched::Actor {
                cx,
                fut,
                out: None,
                finished_at: 0,
            });
        }
        let ran = sched::run(&kc, &mut actors, &mut self.ctl);
        let mut done: Vec<(usize, usize, sched::ActorOut)> = actors
            .iter_mut()
            .enumerate()
            .filter_map(|(i, a)| a.out.take().map(|o| (a.finished_at, i, o)))
            .collect();
        drop(actors);
        let schedule = sched::encode(
            &self.ctl.trace[schedule_start..]
                .iter()
                .map(|d| d.chosen)
                .collect::<Vec<_>>(),
        );
        if matches!(line.op, Op::Wait) {
            out.push(format!(
                "S schedule={schedule} steps={} time_ms={}",
                self.ctl.trace.len() - schedule_start,
                self.kernel.now_ms - now0
            ));
        }
        if self.ctl.diverged {
            return Err(SimError::Invalid {
                line: line.line,
                what: format!(
                    "the schedule does not fit this script: a replayed choice could not run \
                     (this wait took {schedule})"
                ),
            });
        }
        if let Err(what) = ran {
            return Err(SimError::Race {
                line: line.line,
                reports: vec![what],
            });
        }
        done.sort_by_key(|d| d.0);
        let mut reports: Vec<(Role, TeardownReport)> = Vec::new();
        for (_, i, o) in &done {
            let a = &list[*i];
            if !matches!(line.op, Op::Wait) {
                continue; // an op run on its own reports through its R line
            }
            out.push(format!(
                "A {} {} rc={} err={}{}",
                a.role().letter(),
                a.name(),
                o.rc.map_or(0, |e| -e.code()),
                o.rc.map_or("0", |e| e.name()),
                facts_text(&o.facts)
            ));
            if let Some(r) = &o.report {
                let mm = match a {
                    Pending::Exit { role } => self.proc(*role).mm,
                    Pending::Thread { mm, .. } | Pending::Device { mm, .. } => *mm,
                    Pending::Mrelease { target_role, .. } => self.proc(*target_role).mm,
                    Pending::Reaper { .. } => continue,
                };
                let role = mm_role(mm, &self.procs);
                match reports.iter_mut().find(|(r2, _)| *r2 == role) {
                    Some((_, rep)) => rep.steps.extend(r.steps.iter().cloned()),
                    None => reports.push((role, r.clone())),
                }
            }
        }
        // __mmdrop outside the exit (the reaper's put_task_struct dropped the oom_mm pin).
        for (mm, late) in std::mem::take(&mut self.kernel.late_mmdrop) {
            let role = mm_role(mm, &self.procs);
            let mut steps = vec![exitmm_kernel::exit::Step {
                func: "put_task_struct",
                depth: 1,
                facts: vec![],
                messages: vec![],
                vmas: vec![],
            }];
            steps.extend(late.steps.into_iter().map(|mut s| {
                s.depth += 2;
                s
            }));
            match reports.iter_mut().find(|(r2, _)| *r2 == role) {
                Some((_, rep)) => rep.steps.extend(steps),
                None => reports.push((role, TeardownReport { steps })),
            }
        }
        for l in self.kernel.log.drain(..) {
            out.push(format!("L {l}"));
        }
        for (role, ..) in &exits {
            self.procs[idx(*role)] = None;
        }
        if !self.kernel.races.is_empty() {
            return Err(SimError::Race {
                line: line.line,
                reports: std::mem::take(&mut self.kernel.races),
            });
        }
        let outs = {
            let mut v: Vec<(usize, sched::ActorOut)> =
                done.into_iter().map(|(_, i, o)| (i, o)).collect();
            v.sort_by_key(|x| x.0);
            v.into_iter().map(|x| x.1).collect()
        };
        Ok((outs, reports))
    }

    fn cpu_index(&self, line: &Line, n: u32) -> Result<usize, SimError> {
        match self.kernel.hw.cpus.as_ref() {
            None => Err(SimError::Invalid {
                line: line.line,
                what: "no CPUs are modelled (--cpus)".into(),
            }),
            Some(c) if n as usize >= c.cpus.len() => Err(SimError::Invalid {
                line: line.line,
                what: format!("there are {} CPUs: no CPU {n}", c.cpus.len()),
            }),
            Some(_) => Ok(n as usize),
        }
    }

    /// `access`: each page through the role's TLB; a miss on an unmapped page faults it in
    /// through the kernel, then the access is retried.
    fn access(
        &mut self,
        role: Role,
        off: u64,
        len: u64,
        write: bool,
        out: &mut Vec<String>,
    ) -> Result<(), Errno> {
        let (mm, cpu) = (self.proc(role).mm, self.proc(role).cpu);
        let start = ARENA.wrapping_add(off);
        let mut a = 0;
        while a < len {
            let va = start.wrapping_add(a);
            if !self.kernel.hw.access(cpu, mm, va, write) {
                let r = self.with_mm(role, |k, m| k.handle_mm_fault(m, va, write));
                signal(role, off.wrapping_add(a), r, out)?;
                self.kernel.hw.access(cpu, mm, va, write);
            }
            a += pt::PAGE_SIZE;
        }
        Ok(())
    }

    fn proc(&self, r: Role) -> &Process {
        self.procs[idx(r)].as_ref().expect("no such process")
    }

    fn proc_mut(&mut self, r: Role) -> &mut Process {
        self.procs[idx(r)].as_mut().expect("no such process")
    }

    /// `K <role> shm NAME nattch=.. size=..` from `IPC_STAT`, or `err=EINVAL` for a segment
    /// that is gone (or never was).
    fn shm_line(&self, role: Role, name: &str) -> String {
        let st = self
            .shm_names
            .get(name)
            .map_or(Err(Errno::EINVAL), |&id| self.kernel.shm_stat(id));
        match st {
            Ok(s) => format!(
                "K {} shm {name} nattch={} size={}",
                role.letter(),
                s.nattch,
                s.segsz
            ),
            Err(e) => format!("K {} shm {name} err={}", role.letter(), e.name()),
        }
    }

    /// The role's descriptor NAME: its file and the mode it was opened with.
    fn fd(&self, r: Role, name: &str) -> Option<(FileId, exitmm_kernel::shmem::FMode)> {
        let p = self.proc(r);
        let mode = p.modes.get(name).copied().unwrap_or_default();
        p.fds.get(name).map(|f| {
            (
                *f,
                exitmm_kernel::shmem::FMode {
                    read: mode.read(),
                    write: mode.write(),
                },
            )
        })
    }

    fn with_mm<R>(
        &mut self,
        role: Role,
        f: impl FnOnce(&mut Kernel<Machine>, &mut exitmm_kernel::mm_types::Mm) -> R,
    ) -> R {
        let id = self.proc(role).mm;
        self.kernel.with_mm(id, f)
    }

    /// `do_exit` of `role`'s process (as the `exit` op runs it, without rendering anything).
    pub fn exit_role(&mut self, role: Role) -> TeardownReport {
        self.exit_process(role)
    }

    /// `do_exit` of a process: the mm goes (`exit_mm`), then its files (`exit_files`).
    fn exit_process(&mut self, role: Role) -> TeardownReport {
        let p = self.procs[idx(role)].take().expect("process");
        // The other threads are killed first; every CPU that ran the mm goes lazy with it
        // (exit_mm's enter_lazy_tlb for the last thread).
        let before = self.kernel.hw.cpus.as_mut().map(|c| {
            c.runners.retain(|r| r.mm != p.mm);
            for &t in p.threads.values() {
                c.enter_lazy(t);
            }
            c.enter_lazy(p.cpu);
            c.current = p.cpu;
            (c.stats, c.cpus_of(p.mm))
        });
        let files: Vec<FileId> = p.fds.values().copied().collect();
        let mut r = self.kernel.do_exit(p.mm, &files);
        if let (Some((s0, cpus)), Some(c)) = (before, self.kernel.hw.cpus.as_ref()) {
            if let Some(step) = r.steps.iter_mut().find(|s| s.func == "tlb_finish_mmu") {
                step.facts.push(("ipis", (c.stats.ipis - s0.ipis) as i64));
                step.facts.push(("cpus", cpus as i64));
                step.facts.push(("full", (c.stats.full - s0.full) as i64));
                step.facts
                    .push(("ranged", (c.stats.ranged - s0.ranged) as i64));
            }
        }
        r
    }

    /// Whether the byte at `a` is still the code file's (`ret`), or a breakpoint of a probe:
    /// true unless the page there is a copy the script has written into.
    fn call_target_is_code(&self, role: Role, a: u64) -> bool {
        let mm = self.kernel.mm(self.proc(role).mm);
        let Some(v) = mm.vma_at(a) else { return true };
        let Some(f) = v.file else { return true };
        // Past the end of the file but inside its last page: zeros, not code.
        let foff = (v.linear_index(a) << 12) | (a & (pt::PAGE_SIZE - 1));
        let size = self.kernel.files.get(f).size;
        if foff >= size && foff < size.next_multiple_of(pt::PAGE_SIZE) {
            return false;
        }
        let e = self.kernel.pte_at(mm, a);
        if !pt::present(e) || e & pt::SPECIAL != 0 {
            return true;
        }
        let content = self.kernel.mem.page(pt::pfn_of(e)).content;
        let base = self
            .kernel
            .uprobe_contents
            .get(&content)
            .map_or(content, |b| b.base);
        let index = v.linear_index(a);
        self.kernel
            .files
            .get(f)
            .pages
            .get(&index)
            .is_none_or(|&p| self.kernel.mem.page(p).content == base)
    }

    #[allow(clippy::too_many_arguments)]
    fn touch(
        &mut self,
        role: Role,
        off: u64,
        len: u64,
        write: bool,
        stride: u64,
        grow: bool,
        out: &mut Vec<String>,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let start = ARENA.wrapping_add(off);
        // mincore over the page-aligned range: any hole is ENOMEM and nothing is touched.
        let Some(e) = start
            .checked_add(len)
            .and_then(|e| e.checked_add(pt::PAGE_SIZE - 1))
        else {
            return Err(Errno::ENOMEM);
        };
        let (s, e) = (start & !(pt::PAGE_SIZE - 1), e & !(pt::PAGE_SIZE - 1));
        {
            let mm = self.kernel.mm(self.proc(role).mm);
            let mut a = s;
            while a < e {
                match mm.vma_at(a) {
                    Some(v) => a = v.end,
                    // With grow, a hole right below a growsdown VMA is the stack's to take.
                    None => match mm.find_vma(a) {
                        Some(v) if grow && v.flags.contains(VmFlags::GROWSDOWN) => a = v.end,
                        _ => return Err(Errno::ENOMEM),
                    },
                }
            }
        }
        // The runs of the kernel's short way, while no access has taken the whole path.
        let mut runs = Some(Vec::new());
        // The mm is taken out of the kernel's table once for the whole range (nothing else
        // runs between two of the task's accesses).
        let rc = self.with_mm(role, |k, mm| {
            k.access_run(|k| {
                let mut a = 0;
                while a < len {
                    let addr = start + a;
                    // A run of plain anonymous write faults takes the kernel's short way (the
                    // same faults, the same order, the same result).
                    if write && stride == pt::PAGE_SIZE {
                        let (done, r) = k.anon_write_faults(mm, addr, (len - a).div_ceil(stride));
                        if let (Some(v), true) = (runs.as_mut(), done > 0) {
                            // One run on from the last (it may cross into the next VMA).
                            match v.last_mut() {
                                Some((at, n)) if *at + (*n << 12) == addr => *n += done,
                                _ => v.push((addr, done)),
                            }
                        }
                        a += done * stride;
                        if r.is_err() {
                            signal(role, off.wrapping_add(a), r, out)?;
                        }
                        if done > 0 {
                            continue;
                        }
                    }
                    runs = None;
                    // do_user_addr_fault → lock_mm_and_find_vma: an access below a growsdown VMA
                    // grows it first; if it cannot, SIGSEGV.
                    let r = if grow && mm.vma_at(addr).is_none() {
                        k.expand_stack(mm, addr).map_err(|_| Fault::Segv)
                    } else {
                        Ok(())
                    };
                    let r = r.and_then(|()| k.handle_mm_fault(mm, addr, write));
                    signal(role, off.wrapping_add(a), r, out)?;
                    a += stride;
                }
                Ok(())
            })
        });
        if rc.is_ok() {
            self.touch_runs = runs;
        }
        rc
    }

    fn status_line(&self, role: Role) -> String {
        let mm = self.kernel.mm(self.proc(role).mm);
        let t = self.kernel.task_mem(mm);
        format!(
            "D {} VmSize={} VmRSS={} RssAnon={} RssFile={} RssShmem={} VmPTE={} VmLck={} VmPin={} VmData={} VmStk={} VmExe={} VmLib={} VmSwap={} HugetlbPages={} maps_lines={}",
            role.letter(),
            t.vm_size,
            t.vm_rss,
            t.rss_anon,
            t.rss_file,
            t.rss_shmem,
            t.vm_pte,
            t.vm_lck,
            t.vm_pin,
            t.vm_data,
            t.vm_stk,
            t.vm_exe,
            t.vm_lib,
            t.vm_swap,
            t.hugetlb_pages,
            mm.vmas.len()
        )
    }

    fn totals_line(&self, role: Role) -> String {
        let c = &self.smaps[idx(role)];
        let t = if c.valid {
            c.total
        } else {
            self.walk_totals(role)
        };
        format!(
            "T {} nvma={} size={} rss={} pss={} anon={} file_shmem={} locked_vm={} Locked={} Shared_Clean={} Shared_Dirty={} Private_Clean={} Private_Dirty={} Swap={} AnonHugePages={} hugetlb={}",
            role.letter(),
            t.nvma,
            t.size,
            t.rss,
            t.pss,
            t.anon,
            t.rss - t.anon,
            t.locked_vm,
            t.locked,
            t.shared_clean,
            t.shared_dirty,
            t.private_clean,
            t.private_dirty,
            t.swap,
            t.thp,
            t.hugetlb
        )
    }

    /// The `T` figures of one VMA, in kB as smaps prints them.
    fn vma_totals(
        &self,
        mm: &exitmm_kernel::mm_types::Mm,
        v: &exitmm_kernel::mm_types::Vma,
    ) -> Totals {
        let size = ((v.end - v.start) >> 10) as i64;
        Totals {
            nvma: 1,
            size,
            locked_vm: if v.flags.contains(VmFlags::LOCKED) {
                size
            } else {
                0
            },
            ..totals_of(&self.kernel.smaps_vma(mm, v))
        }
    }

    /// The `T` figures walked over every VMA of the arena.
    fn walk_totals(&self, role: Role) -> Totals {
        let mm = self.kernel.mm(self.proc(role).mm);
        let mut t = Totals::default();
        for v in mm.vmas.range(ARENA..ARENA_END).map(|(_, v)| v) {
            t.add(&self.vma_totals(mm, v));
        }
        t
    }

    /// After an op: bring the kept smaps totals up to date. An op that changes only the VMAs
    /// and pages of its own range (with a page of margin, for the neighbours a merge extends)
    /// re-reads just the VMAs there, and every VMA that maps one of their files (a shared page's
    /// PSS and dirty state show in each mapping); anything else, or any op while a second
    /// process, a background thread or a THP could change what another mapping shows,
    /// re-reads all.
    fn update_smaps(&mut self, line: &Line) {
        let role = line.role;
        let local = self.procs[1].is_none()
            && self
                .kernel
                .hw
                .cpus
                .as_ref()
                .is_none_or(|c| c.runners.is_empty())
            && self.procs[idx(role)].is_some()
            && self.smaps[idx(role)].valid
            // A THP's split reaches its whole folio, whose pages an mremap or a VMA split
            // may have put in other VMAs: only without THPs (none now, none to come).
            && self.kernel.mm(self.proc(role).mm).flags.contains(
                exitmm_kernel::mm_types::MmFlags::DISABLE_THP,
            )
            && !self.kernel.mem.has_large_folios();
        let ranges: Option<Vec<(u64, u64)>> = match &line.op {
            Op::Dump
            | Op::Pagemap { .. }
            | Op::Commit
            | Op::Meminfo { .. }
            | Op::Nop
            | Op::Census
            | Op::Pat
            | Op::HugetlbStat { .. }
            | Op::HugetlbPool { .. }
            | Op::OomScoreAdj { .. }
            | Op::Secondary { .. }
            | Op::MakeFile { .. }
            | Op::Diskfile { .. }
            | Op::Codefile { .. } => Some(Vec::new()),
            Op::Mmap { off, len, .. }
            | Op::Touch { off, len, .. }
            | Op::Munmap { off, len }
            | Op::Mprotect { off, len, .. }
            | Op::Mlock { off, len, .. }
            | Op::Munlock { off, len }
            | Op::Madvise { off, len, .. }
            | Op::Access { off, len, .. }
            | Op::DeviceAccess { off, len, .. } => Some(vec![(*off, *len)]),
            _ => None,
        };
        for r in [Role::P, Role::C] {
            if r != role || !local || ranges.is_none() {
                self.smaps[idx(r)].valid = false;
            }
        }
        let runs = self.touch_runs.take();
        match ranges {
            Some(_) if local && runs.as_ref().is_some_and(|r| self.add_runs(role, r)) => {}
            Some(rs) if local => {
                let margin = pt::PAGE_SIZE;
                for (off, len) in rs {
                    let start = ARENA.wrapping_add(off);
                    let lo = (start & !(margin - 1)).saturating_sub(pt::PAGE_SIZE);
                    let hi = start
                        .saturating_add(len)
                        .saturating_add(margin)
                        .saturating_add(pt::PAGE_SIZE - 1)
                        & !(pt::PAGE_SIZE - 1);
                    self.refresh_range(role, lo.max(ARENA), hi.min(ARENA_END));
                }
            }
            _ => {
                for r in [Role::P, Role::C] {
                    if self.procs[idx(r)].is_some() {
                        self.rebuild_smaps(r);
                    }
                }
            }
        }
    }

    /// The kept totals grow by a `touch`'s runs of new anonymous pages (see `touch_runs`):
    /// the pages of a run in one VMA are alike (new, exclusive, dirty), so each VMA's part of a
    /// run adds its pages times its first page's figures. False (nothing changed) where that
    /// does not hold: a run in a VMA the totals do not know as it is, or a page whose figures
    /// are not one whole page.
    fn add_runs(&mut self, role: Role, runs: &[(u64, u64)]) -> bool {
        let mm = self.kernel.mm(self.proc(role).mm);
        let c = &self.smaps[idx(role)];
        let mut adds = Vec::with_capacity(runs.len());
        for &(start, pages) in runs {
            let end = start + (pages << 12);
            let mut addr = start;
            while addr < end {
                let Some(v) = mm.vma_at(addr) else {
                    return false;
                };
                if c.entries.get(&v.start).is_none_or(|e| e.0 != v.end) {
                    return false;
                }
                let s = self.kernel.smaps_pte(mm, v, addr);
                if s.pss != s.resident << PSS_SHIFT || s.resident != pt::PAGE_SIZE {
                    return false;
                }
                let n = (v.end.min(end) - addr) >> 12;
                let mut t = totals_of(&s);
                for f in t.fields() {
                    *f *= n as i64;
                }
                adds.push((v.start, t));
                addr = v.end.min(end);
            }
        }
        let c = &mut self.smaps[idx(role)];
        for (start, t) in adds {
            c.entries.get_mut(&start).expect("checked above").2.add(&t);
            c.total.add(&t);
        }
        self.smaps_run_pages += runs.iter().map(|r| r.1).sum::<u64>();
        true
    }

    fn rebuild_smaps(&mut self, role: Role) {
        let mm = self.kernel.mm(self.proc(role).mm);
        let mut c = SmapsCache {
            valid: true,
            ..Default::default()
        };
        for v in mm.vmas.range(ARENA..ARENA_END).map(|(_, v)| v) {
            let t = self.vma_totals(mm, v);
            c.total.add(&t);
            c.entries.insert(v.start, (v.end, v.file, t));
        }
        self.smaps[idx(role)] = c;
    }

    /// Re-reads the VMAs meeting `[lo, hi)`, and every VMA sharing a file with them.
    fn refresh_range(&mut self, role: Role, lo: u64, hi: u64) {
        if lo >= hi {
            return;
        }
        let mm = self.kernel.mm(self.proc(role).mm);
        let c = &mut self.smaps[idx(role)];
        let mut files = std::collections::BTreeSet::new();
        let drop_overlapping =
            |c: &mut SmapsCache,
             lo: u64,
             hi: u64,
             files: &mut std::collections::BTreeSet<FileId>| {
                let stale: Vec<u64> = c
                    .entries
                    .range(..hi)
                    .rev()
                    .take_while(|(_, (end, _, _))| *end > lo)
                    .map(|(s, _)| *s)
                    .collect();
                for s in stale {
                    let (_, f, t) = c.entries.remove(&s).unwrap();
                    c.total.sub(&t);
                    if let Some(f) = f {
                        files.insert(f);
                    }
                }
            };
        drop_overlapping(c, lo, hi, &mut files);
        let now: Vec<&exitmm_kernel::mm_types::Vma> = mm
            .vmas
            .range(..hi)
            .rev()
            .take_while(|(_, v)| v.end > lo)
            .map(|(_, v)| v)
            .filter(|v| v.start >= ARENA && v.start < ARENA_END)
            .collect();
        for v in &now {
            drop_overlapping(c, v.start, v.end, &mut files);
            if let Some(f) = v.file {
                files.insert(f);
            }
        }
        let mut fresh: Vec<(u64, u64, Option<FileId>, Totals)> = now
            .iter()
            .map(|v| (v.start, v.end, v.file, Totals::default()))
            .collect();
        if !files.is_empty() {
            // Every other mapping of those files shows their pages too.
            for v in mm.vmas.range(ARENA..ARENA_END).map(|(_, v)| v) {
                if v.file.is_some_and(|f| files.contains(&f))
                    && !fresh.iter().any(|x| x.0 == v.start)
                {
                    if let Some((_, _, t)) = c.entries.remove(&v.start) {
                        c.total.sub(&t);
                    }
                    fresh.push((v.start, v.end, v.file, Totals::default()));
                }
            }
        }
        for x in &mut fresh {
            let v = &mm.vmas[&x.0];
            x.3 = self.vma_totals(mm, v);
        }
        let c = &mut self.smaps[idx(role)];
        for (start, end, file, t) in fresh {
            c.total.add(&t);
            c.entries.insert(start, (end, file, t));
        }
    }

    fn dump(&self, role: Role, out: &mut Vec<String>) {
        let mm = self.kernel.mm(self.proc(role).mm);
        let maps = self.kernel.maps(mm, ARENA, ARENA_END);
        let r = role.letter();
        for m in &maps {
            out.push(format!(
                "M {r} {}-{} {} off={:#x} ino={} name={}",
                hex(m.vma.start - ARENA),
                hex(m.vma.end - ARENA),
                m.perms,
                m.offset,
                match m.vma.file {
                    // A SysV segment's inode number is its id: the first of a fresh IPC
                    // namespace is 0.
                    Some(f) if self.kernel.shm_of_file(f) == Some(0) => "0",
                    Some(_) => "file",
                    None => "0",
                },
                m.name.as_deref().unwrap_or("-")
            ));
        }
        out.push(format!("M {r} nvma={}", maps.len()));
        for m in &maps {
            let s = &m.stats;
            let kb = |b: u64| b >> 10;
            let h = hugetlb_smaps(m);
            let flags: Vec<&str> = VmFlags::MNEMONICS
                .iter()
                .filter(|(f, _)| m.vma.flags.contains(*f))
                .map(|(_, n)| *n)
                .collect();
            out.push(format!(
                "V {r} {}-{} {} Rss={} Pss={} Shared_Clean={} Shared_Dirty={} Private_Clean={} Private_Dirty={} Referenced={} Anonymous={} KSM=0 LazyFree={} AnonHugePages={} ShmemPmdMapped=0 FilePmdMapped=0 Swap={} Locked={} Shared_Hugetlb={} Private_Hugetlb={} KernelPageSize={} MMUPageSize={} THPeligible=0 VmFlags={}",
                hex(m.vma.start - ARENA),
                hex(m.vma.end - ARENA),
                m.perms,
                kb(s.resident),
                kb(s.pss >> PSS_SHIFT),
                kb(s.shared_clean),
                kb(s.shared_dirty),
                kb(s.private_clean),
                kb(s.private_dirty),
                kb(s.referenced),
                kb(s.anonymous),
                kb(s.lazyfree),
                kb(s.anon_huge),
                kb(s.swap),
                kb(s.pss_locked >> PSS_SHIFT),
                h.shared_kb,
                h.private_kb,
                h.kernel_page_kb,
                h.mmu_page_kb,
                flags.join(".")
            ));
        }
    }

    fn pagemap(&self, role: Role, off: u64, len: u64, out: &mut Vec<String>) {
        let mm = self.kernel.mm(self.proc(role).mm);
        let s = off & !(pt::PAGE_SIZE - 1);
        let e = off.saturating_add(len).saturating_add(pt::PAGE_SIZE - 1) & !(pt::PAGE_SIZE - 1);
        let mut g = String::with_capacity(((e - s) >> 12) as usize);
        let mut a = s;
        while a < e {
            let va = ARENA.wrapping_add(a);
            // A hugetlb VMA (`ht`): `H` if the subpage's huge page is mapped once, `h` if more
            // than once, as the kernel's pagemap_hugetlb_range sets PM_MMAP_EXCLUSIVE.
            if let Some(v) = mm.vma_at(va).filter(|v| v.flags.contains(VmFlags::HUGETLB)) {
                g.push(match self.kernel.hugetlb_pagemap(mm, v, va) {
                    None => '.',
                    Some(true) => 'H',
                    Some(false) => 'h',
                });
                a += pt::PAGE_SIZE;
                continue;
            }
            if let Some(e) = self.kernel.pmd_leaf_at(mm, va) {
                // A PMD-mapped THP shows as its subpages; the huge zero page as zero pages.
                g.push(if self.kernel.is_huge_zero_pmd(e) {
                    'z'
                } else {
                    // pagemap_pmd_range_thp asks of every subpage whether the PMD's first
                    // page (not the subpage) is mapped exactly once.
                    let f = pt::pfn_of(e);
                    if self.kernel.mem.page(f).mapcount == 1 {
                        'A'
                    } else {
                        'a'
                    }
                });
                a += pt::PAGE_SIZE;
                continue;
            }
            let pte = self.kernel.pte_at(mm, va);
            let pfnmap = mm.vma_at(va).filter(|v| v.flags.contains(VmFlags::PFNMAP));
            g.push(
                if pfnmap.is_some_and(|v| !v.flags.intersects(VmFlags::ACCESS)) {
                    '?' // a PFN map that can't be read
                } else if pt::is_swap(pte) {
                    's'
                } else if !pt::present(pte) {
                    '.'
                } else if pte & pt::SPECIAL != 0 {
                    if pfnmap.is_some() {
                        'p'
                    } else {
                        'z'
                    }
                } else {
                    let p = self.kernel.mem.page(pt::pfn_of(pte));
                    let anon = p.flags.contains(exitmm_kernel::page::PageFlags::ANON);
                    match (anon, p.mapcount == 1) {
                        (true, true) => 'A',
                        (true, false) => 'a',
                        (false, true) => 'F',
                        (false, false) => 'f',
                    }
                },
            );
            a += pt::PAGE_SIZE;
        }
        out.push(format!("G {} {} {g}", role.letter(), hex(s)));
    }

    /// `K <role> hugetlb size=<kB> total=.. free=.. resv=.. surp=..`: the pool's sysfs files.
    fn hugetlb_stat(&self, role: Role, h: exitmm_kernel::hugetlb::HugeSize) -> String {
        let p = self.kernel.hstate(h);
        format!(
            "K {} hugetlb size={} total={} free={} resv={} surp={}",
            role.letter(),
            h.bytes() >> 10,
            p.nr_huge_pages,
            p.free_huge_pages,
            p.resv_huge_pages,
            p.surplus_huge_pages
        )
    }

    /// The global frame census.
    pub fn census(&self, role: Role) -> String {
        use exitmm_kernel::page::PageFlags;
        let (mut anon, mut cache, mut tables) = (0, 0, 0);
        let hugetlb: u64 = self
            .kernel
            .hstates
            .iter()
            .map(|h| h.nr_huge_pages * h.size.pages())
            .sum();
        for (_, p) in self.kernel.mem.frames() {
            if p.refcount == 0 || p.flags.intersects(PageFlags::RESERVED | PageFlags::HUGETLB) {
                continue;
            }
            if p.flags.contains(PageFlags::PGTABLE) {
                tables += 1;
            } else if p.flags.contains(PageFlags::PAGECACHE) {
                cache += 1;
            } else if p.flags.contains(PageFlags::ANON) {
                anon += 1;
            }
        }
        // With a swap device: slots in use and folios in the swap cache (mapped or not).
        let swap = self.kernel.swap.as_ref().map_or(String::new(), |si| {
            format!(
                " swap_slots={} frames_swapcache={}",
                self.kernel.swap_inuse(),
                si.cache.len()
            )
        });
        format!(
            "K {} census frames_anon={anon} frames_pagecache={cache} frames_pgtable={tables} frames_hugetlb={hugetlb} frames_perf={} frames_free={} Committed_AS={}{swap}",
            role.letter(),
            self.kernel.perf_rb_pages(),
            self.kernel.mem.nr_free(),
            self.kernel.committed * 4
        )
    }
}

/// The hugetlb figures of one smaps entry, in kB: `Shared_Hugetlb`, `Private_Hugetlb`,
/// `KernelPageSize`, `MMUPageSize`.
struct HugetlbSmaps {
    shared_kb: u64,
    private_kb: u64,
    kernel_page_kb: u64,
    mmu_page_kb: u64,
}

/// Where the V and T lines get their hugetlb figures: the kernel's smaps stats
/// (`smaps_hugetlb_range`: a huge page mapped more than once is shared) and the VMA's page size
/// (`vma_kernel_pagesize`; `MMUPageSize` is the same on x86-64), all in bytes there.
fn hugetlb_smaps(m: &exitmm_kernel::task_mmu::MapsEntry) -> HugetlbSmaps {
    HugetlbSmaps {
        shared_kb: m.stats.shared_hugetlb >> 10,
        private_kb: m.stats.private_hugetlb >> 10,
        kernel_page_kb: m.page_size >> 10,
        mmu_page_kb: m.page_size >> 10,
    }
}

/// The kernel's huge page size for the script's.
fn huge_size(h: exitmm_script::HugeSize) -> exitmm_kernel::hugetlb::HugeSize {
    match h {
        exitmm_script::HugeSize::M2 => exitmm_kernel::hugetlb::HugeSize::Huge2M,
        exitmm_script::HugeSize::G1 => exitmm_kernel::hugetlb::HugeSize::Huge1G,
    }
}

/// What a failed fault does to the script: SIGSEGV (EFAULT) or SIGBUS (EIO) with an `R` line
/// naming the offset, or ENOMEM.
#[inline]
/// The `T` figures (kB, as smaps prints them) of smaps stats, but for the VMA count, size and
/// `locked_vm`, which come from the VMA itself.
fn totals_of(s: &exitmm_kernel::task_mmu::SmapsStats) -> Totals {
    let kb = |b: u64| (b >> 10) as i64;
    Totals {
        nvma: 0,
        size: 0,
        rss: kb(s.resident),
        pss: kb(s.pss >> PSS_SHIFT),
        anon: kb(s.anonymous),
        locked_vm: 0,
        locked: kb(s.pss_locked >> PSS_SHIFT),
        shared_clean: kb(s.shared_clean),
        shared_dirty: kb(s.shared_dirty),
        private_clean: kb(s.private_clean),
        private_dirty: kb(s.private_dirty),
        swap: kb(s.swap),
        thp: kb(s.anon_huge),
        hugetlb: kb(s.shared_hugetlb) + kb(s.private_hugetlb),
    }
}

fn signal(role: Role, off: u64, r: Result<(), Fault>, out: &mut Vec<String>) -> Result<(), Errno> {
    match r {
        Ok(()) => Ok(()),
        Err(Fault::Segv) => {
            out.push(format!("R {} sigsegv_at={}", role.letter(), hex(off)));
            Err(Errno::EFAULT)
        }
        Err(Fault::Bus) => {
            out.push(format!("R {} sigbus_at={}", role.letter(), hex(off)));
            Err(Errno::EIO)
        }
        Err(Fault::Oom) => Err(Errno::ENOMEM),
    }
}

/// The role whose teardown an op's report is: the child's for `child_exit`, else the op's.
pub fn role_of_exit(op: &Op, role: Role) -> Role {
    if matches!(op, Op::ChildExit) {
        Role::C
    } else {
        role
    }
}

/// `0` or `0x…`, as the records print offsets.
pub fn hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// The embedded demo scenario (`tests/scenarios/demo.mm`).
pub const DEMO: &str = include_str!("../../../tests/scenarios/demo.mm");

/// The second embedded scenario (`exitmm demo oom`): an OOM kill racing the victim's exit, the
/// reaper, process_mrelease and a secondary MMU.
pub const DEMO_OOM: &str = include_str!("../../../tests/scenarios/demo_oom.mm");

/// Runs `script` on the model and returns records format v1 (with `#` headers).
pub fn records(script: &Script, opts: &Options) -> Result<String, SimError> {
    run_records(script, opts).map(|(s, _)| s)
}

/// [`records`], and the simulator as the script left it.
pub fn run_records(script: &Script, opts: &Options) -> Result<(String, Sim), SimError> {
    let mut sim = Sim::new(opts);
    let mut s = String::new();
    for l in &script.lines {
        let r = sim.step(l)?;
        let _ = writeln!(s, "# {} {}", l.line, l.text);
        for rec in r.records {
            s.push_str(&rec);
            s.push('\n');
        }
    }
    if let Some(l) = script.lines.last() {
        sim.finish_checks(l)?;
    }
    Ok((s, sim))
}
