//! The model's side of `exitmm bench`: set a process up with a given load, then time its exit
//! (`do_exit`, the kernel model's work only: no status or report rendering).

use crate::{Options, Sim};
use exitmm_kernel::exit::TeardownReport;
use exitmm_script::Role;
use std::time::{Duration, Instant};

/// What the exiting process holds (`N` is pages, or VMAs for [`Load::Vmas`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Load {
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

impl Load {
    /// Every load, in the order `exitmm bench` sweeps them.
    pub const ALL: [Load; 7] = [
        Load::Anon,
        Load::Thp,
        Load::Swapped,
        Load::SharedAnon,
        Load::Locked,
        Load::Memfd,
        Load::Vmas,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Load::Anon => "anon 4K",
            Load::Swapped => "swapped",
            Load::Thp => "THP",
            Load::Vmas => "1-page VMAs",
            Load::SharedAnon => "shared anon",
            Load::Locked => "mlocked",
            Load::Memfd => "memfd shared",
        }
    }

    /// What one unit is.
    pub fn unit(self) -> &'static str {
        if self == Load::Vmas {
            "VMA"
        } else {
            "page"
        }
    }

    /// The script that sets the load up (everything but the exit).
    pub fn script(self, n: u64) -> String {
        let len = n * 4096;
        match self {
            Load::Anon => format!("mmap 0 {len} rw private,anon\ntouch 0 {len} w\n"),
            Load::Swapped => format!(
                "swapon {}\nmmap 0 {len} rw private,anon\ntouch 0 {len} w\nmadvise 0 {len} pageout\n",
                (n + 16) * 4096
            ),
            Load::Thp => format!(
                "thp on\nmmap 0 {len} rw private,anon\nmadvise 0 {len} hugepage\ntouch 0 {len} w 2M\n"
            ),
            Load::Vmas => (0..n)
                .map(|i| format!("mmap {} 4K rw private,anon\ntouch {} 4K w\n", i * 8192, i * 8192))
                .collect(),
            Load::SharedAnon => format!("mmap 0 {len} rw shared,anon\ntouch 0 {len} w\n"),
            Load::Locked => format!("mmap 0 {len} rw private,anon,locked\n"),
            Load::Memfd => format!("memfd f {len}\nmmap 0 {len} rw shared f\ntouch 0 {len} w\n"),
        }
    }
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
        check: false,
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
