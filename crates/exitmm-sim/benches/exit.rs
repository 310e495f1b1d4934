//! Exit of a process with N touched anonymous 4 KiB pages, N = 2^10 … 2^20: the model's
//! `do_exit` (criterion), and on the same run the host kernel's exit of a process that touched
//! the same N pages (through the kernel runner), as ns per page and their ratio. A second sweep
//! does the same with every page swapped out first (the exit frees swap entries), a third with
//! the pages in THPs (ns per 4 KiB of them).
//!
//! `cargo bench -p exitmm-sim --bench exit` (set EXITMM_BENCH_MAX_SHIFT to stop earlier).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use exitmm_kernel::mmap::{MapFlags, Prot};
use exitmm_kernel::{arch::MmId, Config, Kernel};
use exitmm_sim::machine::Machine;
use std::time::{Duration, Instant};

const ARENA: u64 = 0x1000_0000_0000;

fn max_shift() -> u32 {
    std::env::var("EXITMM_BENCH_MAX_SHIFT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// A kernel with one process that wrote `pages` anonymous pages.
fn setup(pages: u64) -> (Kernel<Machine>, MmId) {
    setup_with(pages, false)
}

/// [`setup`], or (`thp`) with THP on and the range `MADV_HUGEPAGE`, one write per 2 MiB, so
/// that every 512 pages are one THP.
fn setup_with(pages: u64, thp: bool) -> (Kernel<Machine>, MmId) {
    let mut k = Kernel::new(Machine::new(), Config::default());
    let id = k.mm_alloc().unwrap();
    let rw = Prot {
        read: true,
        write: true,
        exec: false,
    };
    k.with_mm(id, |k, mm| {
        k.do_mmap(mm, ARENA, pages * 4096, rw, MapFlags::default(), None, 0)
            .unwrap();
        let step = if thp {
            let advice = exitmm_kernel::madvise::Advice::HugePage;
            k.do_madvise(mm, ARENA, pages * 4096, advice).unwrap();
            512
        } else {
            1
        };
        for i in (0..pages).step_by(step) {
            k.handle_mm_fault(mm, ARENA + i * 4096, true).unwrap();
        }
        assert_eq!(mm.rss[1] as u64, pages);
    });
    (k, id)
}

fn model_exit_ns(pages: u64, runs: u32) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (mut k, id) = setup(pages);
        let t = Instant::now();
        let r = k.do_exit(id, &[]);
        best = best.min(t.elapsed());
        assert_eq!(r.fact("tlb_finish_mmu", "pages_freed"), Some(pages as i64));
    }
    best.as_nanos() as f64
}

/// The model's exit of a process whose `pages` pages (a multiple of 512) are THPs, best of
/// `runs`.
fn model_exit_thp_ns(pages: u64, runs: u32) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (mut k, id) = setup_with(pages, true);
        let t = Instant::now();
        let r = k.do_exit(id, &[]);
        best = best.min(t.elapsed());
        assert_eq!(r.fact("tlb_finish_mmu", "pages_freed"), Some(pages as i64));
    }
    best.as_nanos() as f64
}

/// The model's exit of a process whose `pages` pages were all swapped out, best of `runs`.
fn model_exit_swapped_ns(pages: u64, runs: u32) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (mut k, id) = setup(pages);
        k.sys_swapon((pages + 16) * 4096).unwrap();
        k.with_mm(id, |k, mm| {
            k.do_madvise(
                mm,
                ARENA,
                pages * 4096,
                exitmm_kernel::madvise::Advice::PageOut,
            )
            .unwrap()
        });
        assert_eq!(k.swap_inuse(), pages);
        let t = Instant::now();
        let r = k.do_exit(id, &[]);
        best = best.min(t.elapsed());
        assert_eq!(r.fact("unmap_vmas", "swap"), Some(pages as i64));
    }
    best.as_nanos() as f64
}

fn bench(c: &mut Criterion) {
    // EXITMM_BENCH_TABLES_ONLY=1: only the side-by-side tables (no criterion sampling).
    let tables_only = std::env::var("EXITMM_BENCH_TABLES_ONLY").is_ok();
    let mut g = c.benchmark_group("exit_anon_pages");
    for shift in (10..=max_shift()).step_by(2).filter(|_| !tables_only) {
        let pages = 1u64 << shift;
        g.throughput(Throughput::Elements(pages));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(if shift >= 18 { 20 } else { 5 }));
        g.bench_function(format!("model/{pages}"), |b| {
            b.iter_batched(
                || setup(pages),
                |(mut k, id)| k.do_exit(id, &[]),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    // The same run, side by side: best of 5 for the model, median of 5 for the kernel (less
    // the exit of a child with no pages).
    let base = exitmm_host::time_exit(0, 5).ok().map(|v| median(v) as f64);
    let plain: Vec<u32> = (10..=max_shift()).collect();
    let to_18: Vec<u32> = (10..=max_shift().min(18)).step_by(2).collect();
    let thp: Vec<u32> = (12..=max_shift()).step_by(2).collect();
    sweep(
        "pages",
        "",
        &plain,
        base,
        model_exit_ns,
        exitmm_host::time_exit,
    );
    // Swap entries: every page swapped out before the exit.
    sweep(
        "entries",
        "   (swapped out)",
        &to_18,
        base,
        model_exit_swapped_ns,
        exitmm_host::time_exit_swapped,
    );
    // THPs: one per 2 MiB of the range, per 4 KiB of them.
    sweep(
        "pages",
        "   (THPs, per 4K)",
        &thp,
        base,
        model_exit_thp_ns,
        exitmm_host::time_exit_thp,
    );

    // The TLB model's cost at exit, same run: 4 CPUs with TLBs against no CPUs.
    println!(
        "\n{:>9} {:>16} {:>16} {:>8}",
        "pages", "no CPUs ns/page", "4 CPUs ns/page", "added"
    );
    for shift in (10..=max_shift().min(18)).step_by(2) {
        let pages = 1u64 << shift;
        let (plain, tlb) = (sim_exit_ns(pages, false, 5), sim_exit_ns(pages, true, 5));
        println!(
            "{pages:>9} {plain:>16.1} {tlb:>16.1} {:>7.0}%",
            (tlb / plain - 1.0) * 100.0
        );
    }
}

/// One side-by-side table: for each `2^shift` pages, the model's exit (`model`, best of 5) and
/// the host kernel's (`kernel`, median of 5 less `base`), per page, and their ratio.
fn sweep(
    unit: &str,
    title: &str,
    shifts: &[u32],
    base: Option<f64>,
    model: fn(u64, u32) -> f64,
    kernel: fn(u64, u32) -> Result<Vec<u64>, exitmm_host::HostError>,
) {
    println!(
        "\n{unit:>9} {:>14} {:>14} {:>8}{title}",
        "model ns/page", "kernel ns/page", "ratio"
    );
    for &shift in shifts {
        let pages = 1u64 << shift;
        let m = model(pages, 5) / pages as f64;
        match (kernel(pages, 5), base) {
            (Ok(v), Some(b)) => {
                let k = (median(v) as f64 - b).max(0.0) / pages as f64;
                println!("{pages:>9} {m:>14.1} {k:>14.1} {:>8.2}", m / k);
            }
            (Err(e), _) => println!("{pages:>9} {m:>14.1} {:>14} (kernel side: {e})", "-"),
            (_, None) => println!("{pages:>9} {m:>14.1} {:>14}", "-"),
        }
    }
}

/// Exit through the simulator, ns per page, best of `runs`: without CPUs (pages written through
/// the fault path), or with 4 CPUs and TLB modelling (pages written through CPU 0's TLB, so it
/// caches all of them, and a helper thread's CPU left lazy with the mm and its walk caches).
fn sim_exit_ns(pages: u64, cpus: bool, runs: u32) -> f64 {
    let len = pages * 4096;
    let src = if cpus {
        format!("mmap 0 {len} rw private,anon\naccess 0 {len} w\nthread helper 1\nbackground helper 0 64K r\nnop\nnop\nthread_exit helper\nexit\n")
    } else {
        format!("mmap 0 {len} rw private,anon\ntouch 0 {len} w\nexit\n")
    };
    let script = exitmm_script::parse(&src).unwrap();
    let (setup, exit) = script.lines.split_at(script.lines.len() - 1);
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let opts = exitmm_sim::Options {
            cpus: cpus.then_some(4),
            check: exitmm_sim::Check::Off,
            ..exitmm_sim::Options::default()
        };
        let mut sim = exitmm_sim::Sim::new(&opts);
        for l in setup {
            sim.step(l).unwrap();
        }
        let t = Instant::now();
        sim.step(&exit[0]).unwrap();
        best = best.min(t.elapsed());
    }
    best.as_nanos() as f64 / pages as f64
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

criterion_group!(benches, bench);
criterion_main!(benches);
