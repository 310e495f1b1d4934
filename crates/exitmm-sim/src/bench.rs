//! The model's side of `exitmm bench`: set a process up with a given load, then time its exit
//! (`do_exit`, the kernel model's work only: no status or report rendering).

use crate::{Options, Sim};
use exitmm_kernel::exit::TeardownReport;
pub use exitmm_script::ExitLoad as Load;
use exitmm_script::Role;
use std::time::{Duration, Instant};

/// A simulation whose parent holds `load` (`n` units), ready to exit; `cpus` as for
/// [`model_exit`].
pub fn setup(load: Load, n: u64, cpus: usize) -> Sim {
    let script = exitmm_script::parse(&load.script(n)).expect("bench script");
    let mut sim = Sim::new(&options(n, cpus));
    for l in &script.lines {
        sim.step(l).expect("bench setup");
    }
    sim
}

fn options(n: u64, cpus: usize) -> Options {
    let mut opts = Options {
        check: crate::Check::Off,
        cpus: (cpus > 0).then_some(cpus),
        ..Options::default()
    };
    opts.config.max_map_count = opts.config.max_map_count.max(n as u32 + 16);
    opts.config.ram_bytes = opts.config.ram_bytes.max((2 * n + (1 << 16)) * 4096);
    opts
}

/// Sets `load` up and times the exit, best of `runs`. `cpus`: simulated CPUs with TLBs (0:
/// none). Returns the best time and the last run's report.
pub fn model_exit(load: Load, n: u64, runs: u32, cpus: usize) -> (Duration, TeardownReport) {
    let mut best = Duration::MAX;
    let mut report = TeardownReport::default();
    for _ in 0..runs.max(1) {
        let mut sim = setup(load, n, cpus);
        let t = Instant::now();
        report = sim.exit_role(Role::P);
        best = best.min(t.elapsed());
    }
    (best, report)
}
