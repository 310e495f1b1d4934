//! Times the model's exit of a process holding N pages (or VMAs) of a load, for profiling with
//! `perf`: `cargo run --release -p exitmm-sim --example exit_profile -- anon 1048576 5 [CPUS]`
//! (loads: anon, thp, swapped, shared, mlocked, memfd, vmas; `exitmm bench`'s, in its order).
//! With `PERF_CTL=FIFO` (perf record -D -1 --control fifo:FIFO) perf records the exits only.

use exitmm_sim::bench::{load_by_short_name, model_exit, setup, SHORT_NAMES};
use std::io::Write;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let name = a.get(1).map_or("anon", String::as_str);
    let Some(load) = load_by_short_name(name) else {
        eprintln!(
            "exit_profile: no load '{name}' (one of: {})",
            SHORT_NAMES.join(", ")
        );
        std::process::exit(2);
    };
    let n = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let runs = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let cpus = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    if let Ok(ctl) = std::env::var("PERF_CTL") {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(ctl)
            .expect("fifo");
        for _ in 0..runs {
            let mut sim = setup(load, n, cpus);
            f.write_all(b"enable\n").expect("ctl");
            sim.exit_role(exitmm_script::Role::P);
            f.write_all(b"disable\n").expect("ctl");
        }
        return;
    }
    let (t, _) = exitmm_host::on_this_cpu(|| model_exit(load, n, runs, cpus));
    println!(
        "{n} {}s ({}): best {:.3} ms, {:.2} ns/{}",
        load.unit(),
        load.name(),
        t.as_secs_f64() * 1e3,
        t.as_nanos() as f64 / n as f64,
        load.unit()
    );
}
