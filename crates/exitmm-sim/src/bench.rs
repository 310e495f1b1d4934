//! The model's side of `exitmm bench`: set a process up with a given load, then time its exit
//! (`do_exit`, the kernel model's work only: no status or report rendering).

use crate::{Options, Sim};
use exitmm_kernel::exit::TeardownReport;
pub use exitmm_script::ExitLoad as Load;
use exitmm_script::Role;
use std::time::{Duration, Instant};

/// The short names the profiling examples take for the loads, in [`Load::ALL`]'s order.
pub const SHORT_NAMES: [&str; 7] = [
    "anon", "thp", "swapped", "shared", "mlocked", "memfd", "vmas",
];

/// The load a short name stands for (`anon`, `thp`, `swapped`, `shared`, `mlocked`, `memfd`,
/// `vmas`).
pub fn load_by_short_name(name: &str) -> Option<Load> {
    SHORT_NAMES
        .iter()
        .position(|&s| s == name)
        .map(|i| Load::ALL[i])
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each short name is a word of the name of the load it stands for (so the two lists
    /// cannot drift out of order), and no two short names are the same.
    #[test]
    fn short_names_name_their_loads() {
        for (i, s) in SHORT_NAMES.iter().enumerate() {
            let load = load_by_short_name(s).expect("a short name");
            let name = load.name().to_lowercase();
            assert!(
                name.split([' ', '-']).any(|w| w == *s),
                "'{s}' does not name '{name}'"
            );
            assert_eq!(SHORT_NAMES.iter().position(|t| t == s), Some(i));
        }
        assert_eq!(load_by_short_name("none"), None);
    }
}
