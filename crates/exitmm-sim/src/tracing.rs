//! What a trace of a run needs besides the records: the machine's state after every op and
//! every TLB flush the op made (with the IPIs it sent), collected while the script runs.

use crate::tlb::FlushEvent;
use crate::{OpResult, Options, Sim, SimError};
use exitmm_script::{Role, Script};

/// The machine after one op.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Free frames of simulated RAM.
    pub free_frames: u64,
    /// `Committed_AS`, kB.
    pub committed_kb: u64,
    /// Swap slots in use, kB.
    pub swap_kb: u64,
}

/// A script run for a trace.
pub struct TraceRun {
    /// Per op, as [`Sim::run`] gives them.
    pub results: Vec<OpResult>,
    /// Per op, the machine after it.
    pub samples: Vec<Sample>,
    /// Per op, the flushes it made, in order.
    pub flushes: Vec<Vec<FlushEvent>>,
    /// Per op, whose teardown its `report` is (the child's for `child_exit`).
    pub report_roles: Vec<Role>,
    /// Simulated CPUs (0: no TLB model, so no flushes are seen).
    pub cpus: usize,
}

/// Runs `script` keeping what a trace shows.
pub fn trace_run(script: &Script, opts: &Options) -> Result<TraceRun, SimError> {
    let mut sim = Sim::new(opts);
    if let Some(c) = sim.kernel.hw.cpus.as_mut() {
        c.flush_log = Some(Vec::new());
    }
    let cpus = sim.kernel.hw.cpus.as_ref().map_or(0, |c| c.cpus.len());
    let mut run = TraceRun {
        results: Vec::new(),
        samples: Vec::new(),
        flushes: Vec::new(),
        report_roles: Vec::new(),
        cpus,
    };
    for line in &script.lines {
        let r = sim.step(line)?;
        run.report_roles.push(crate::role_of_exit(&line.op, r.role));
        run.results.push(r);
        run.samples.push(Sample {
            free_frames: sim.kernel.mem.nr_free(),
            committed_kb: (sim.kernel.committed * 4) as u64,
            swap_kb: sim.kernel.swap_inuse() * 4,
        });
        run.flushes.push(
            sim.kernel
                .hw
                .cpus
                .as_mut()
                .and_then(|c| c.flush_log.as_mut())
                .map(std::mem::take)
                .unwrap_or_default(),
        );
    }
    if let Some(l) = script.lines.last() {
        sim.finish_checks(l)?;
    }
    Ok(run)
}
