//! Times the model's setup of a process holding N pages of a load (its mmap and the faults
//! that populate it, as `exitmm bench` sets it up), for profiling the fault path with `perf`:
//! `cargo run --release -p exitmm-sim --example fault_profile -- anon 1048576 5`.
//! With `PERF_CTL=FIFO` (perf record -D -1 --control fifo:FIFO) perf records the setups only.

use exitmm_sim::bench::{load_by_short_name, setup, SHORT_NAMES};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let name = a.get(1).map_or("anon", String::as_str);
    let Some(load) = load_by_short_name(name) else {
        eprintln!(
            "fault_profile: no load '{name}' (one of: {})",
            SHORT_NAMES.join(", ")
        );
        std::process::exit(2);
    };
    let n = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let runs: u32 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut ctl = std::env::var("PERF_CTL").ok().map(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .expect("fifo")
    });
    let best = exitmm_host::on_this_cpu(|| {
        let mut best = Duration::MAX;
        for _ in 0..runs.max(1) {
            if let Some(f) = ctl.as_mut() {
                f.write_all(b"enable\n").expect("ctl");
            }
            let t = Instant::now();
            let sim = setup(load, n, 0);
            best = best.min(t.elapsed());
            if let Some(f) = ctl.as_mut() {
                f.write_all(b"disable\n").expect("ctl");
            }
            drop(sim);
        }
        best
    });
    println!(
        "{n} {}s ({}): setup best {:.3} ms, {:.2} ns/{}",
        load.unit(),
        load.name(),
        best.as_secs_f64() * 1e3,
        best.as_nanos() as f64 / n as f64,
        load.unit()
    );
}
