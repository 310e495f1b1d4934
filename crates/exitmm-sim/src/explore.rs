//! `exitmm explore`: run a script under many schedules of its concurrent actors and check each.
//!
//! Every schedule re-runs the whole script from a fresh machine (stateless model checking).
//! After each, the checks are: no op failed (`check_invariants`, the TLB model's use-after-free
//! detector, the kernel-side race detectors — a walk through a freed page table, a sleep in a
//! non-blocking section, a secondary MMU using a freed page, `exit_mmap` in a
//! `process_mrelease` caller, an OOM victim's mm freed without `MMF_OOM_SKIP` — and no
//! deadlock), and, when every process has exited, every frame back in the allocator.

use crate::sched::{self, Controller, Mode};
use crate::{Options, Sim, SimError};
use exitmm_script::Script;
use std::collections::HashSet;

/// How schedules are generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first over every schedule with at most this many preemptions.
    Dfs {
        /// The preemption bound.
        preemptions: u32,
    },
    /// Uniformly random choices, seeds `seed`, `seed + 1`, ...
    Random {
        /// First seed.
        seed: u64,
    },
    /// PCT with the given depth, seeds `seed`, `seed + 1`, ...
    Pct {
        /// First seed.
        seed: u64,
        /// Bug depth.
        depth: u32,
    },
}

/// A failing schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What the checks saw.
    pub what: String,
    /// The schedule (for `exitmm run --schedule`).
    pub schedule: String,
    /// Its length in steps.
    pub steps: usize,
}

/// What an exploration found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Schedules run.
    pub schedules: u64,
    /// Distinct schedules among them.
    pub distinct: u64,
    /// The depth-first search ran out of schedules (every one within the bound was run).
    pub complete: bool,
    /// After how many schedules the first failure was found.
    pub first_failure_at: Option<u64>,
    /// The shortest failing schedule found.
    pub failure: Option<Failure>,
    /// Failing schedules seen.
    pub failures: u64,
}

/// Runs `script` once under `mode`; returns the failure, if any, and the controller.
pub fn run_once(script: &Script, opts: &Options, mode: Mode) -> (Option<String>, Controller) {
    let mut o = opts.clone();
    o.sched = mode;
    let mut sim = Sim::new(&o);
    sim.kernel.mem.drain_pcp();
    // What is free once every process is gone: what is free now, plus the first process's
    // PGD, which Sim::new allocated.
    let boot_free = sim.kernel.mem.nr_free() + 1;
    let mut failure = None;
    for l in &script.lines {
        if let Err(e) = sim.step(l) {
            failure = Some(describe(&e));
            break;
        }
    }
    if failure.is_none() && sim.ctl.diverged {
        failure =
            Some("the schedule does not fit this script (a replayed choice could not run)".into());
    }
    let pools = script
        .lines
        .iter()
        .any(|l| matches!(l.op, exitmm_script::Op::HugetlbPool { .. }));
    if failure.is_none() && sim.procs.iter().all(|p| p.is_none()) && !pools {
        sim.kernel.mem.drain_pcp();
        let free = sim.kernel.mem.nr_free();
        if free != boot_free {
            failure = Some(format!(
                "every process has exited but {} frames are not back in the allocator",
                boot_free as i64 - free as i64
            ));
        }
    }
    (
        failure,
        std::mem::replace(&mut sim.ctl, Controller::new(Mode::Fifo)),
    )
}

fn describe(e: &SimError) -> String {
    e.to_string()
}

/// Explores `script` under `strategy`, up to `max` schedules; after the first failure, up to
/// `shrink` more in search of a shorter failing schedule.
pub fn explore(
    script: &Script,
    opts: &Options,
    strategy: Strategy,
    max: u64,
    shrink: u64,
    mut progress: impl FnMut(u64),
) -> Report {
    let mut rep = Report::default();
    let mut seen = HashSet::new();
    let mut prefix: Vec<u8> = Vec::new();
    // PCT spreads its change points over the length of an ordinary run.
    let fifo_steps = run_once(script, opts, Mode::Fifo).1.trace.len().max(1) as u32;
    let mut limit = max;
    let mut i = 0u64;
    while i < limit {
        let mode = match strategy {
            Strategy::Dfs { .. } => Mode::Replay(prefix.clone()),
            Strategy::Random { seed } => Mode::Random(seed.wrapping_add(i)),
            Strategy::Pct { seed, depth } => Mode::Pct {
                seed: seed.wrapping_add(i),
                depth,
                steps: fifo_steps,
            },
        };
        let (failure, ctl) = run_once(script, opts, mode);
        i += 1;
        rep.schedules = i;
        let schedule = ctl.schedule();
        if seen.insert(schedule.clone()) {
            rep.distinct += 1;
        }
        progress(i);
        if let Some(what) = failure {
            rep.failures += 1;
            if rep.first_failure_at.is_none() {
                rep.first_failure_at = Some(i);
                limit = limit.min(i + shrink);
            }
            let steps = ctl.trace.len();
            if rep.failure.as_ref().is_none_or(|f| steps < f.steps) {
                rep.failure = Some(Failure {
                    what,
                    schedule,
                    steps,
                });
            }
        }
        if let Strategy::Dfs { preemptions } = strategy {
            match sched::dfs_next(&ctl.trace, preemptions) {
                Some(p) => prefix = p,
                None => {
                    rep.complete = true;
                    break;
                }
            }
        }
    }
    rep
}
