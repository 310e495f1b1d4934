//! Every script the random generator makes (the ones `exitmm diff --random` compares with the
//! kernel) runs on the model: nothing unsupported, every invariant holds after every op, and
//! once every process has exited, the huge page pools are whole again. `EXITMM_GEN_SCRIPTS` sets how
//! many (default 2,000).

use exitmm_sim::gen::{script, GenOptions};
use exitmm_sim::{run_records, Options, Sim};
use std::fmt::Write as _;

/// The generator's three kinds of script: huge pages of both sizes, swap, THP (with swap).
fn gen_kinds() -> [GenOptions; 3] {
    let hugetlb =
        GenOptions::with_hugetlb(&[exitmm_script::HugeSize::M2, exitmm_script::HugeSize::G1]);
    let swap = GenOptions {
        swap: true,
        ..GenOptions::default()
    };
    let thp = GenOptions {
        swap: true,
        thp: true,
        ..GenOptions::default()
    };
    [hugetlb, swap, thp]
}

#[test]
fn generated_scripts_run_on_the_model_with_every_invariant() {
    let n: u64 = std::env::var("EXITMM_GEN_SCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let opts = Options::default();
    let mut failures = Vec::new();
    let [hugetlb, swap, thp] = gen_kinds();
    for seed in 0..n {
        // Half the scripts may use huge pages of both sizes, a quarter swap, a quarter THP
        // (with swap).
        let gen = match seed % 4 {
            0 | 2 => &hugetlb,
            1 => &swap,
            _ => &thp,
        };
        // Then the parent exits too (generated scripts end without a child).
        let text = script(0x6E_0000_0000 + seed, gen) + "exit\n";
        let s = exitmm_script::parse(&text).expect("generated scripts parse");
        match run_records(&s, &opts) {
            Err(e) => failures.push(format!("{e}\n{text}")),
            Ok((_, sim)) => {
                // Once every process has exited, the pools are whole: every folio free, and
                // no reservation left but those the kernel leaks.
                for h in &sim.kernel.hstates {
                    let leaked = sim.kernel.hugetlb_resv_leaked[h.size.index()];
                    if h.free_huge_pages != h.nr_huge_pages || h.resv_huge_pages != leaked {
                        failures.push(format!("{:?} pool not whole: {h:?}\n{text}", h.size));
                    }
                }
            }
        }
        if failures.len() >= 3 {
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// The short way through runs of plain anonymous write faults (`Kernel::anon_write_faults`)
/// changes nothing a run prints: every scenario, generated scripts of all four kinds (a
/// quarter of `EXITMM_GEN_SCRIPTS`) and as many scripts of anonymous memory only give the same
/// records, or the same error, with it and without it; and it does take the faults of most of
/// the anonymous ones. The records' `T` lines check the kept smaps totals too: with the short
/// way, a `touch` taken by it adds its pages to them, where without it they are walked.
#[test]
fn anon_fault_runs_change_no_record() {
    let n: u64 = std::env::var("EXITMM_GEN_SCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
        / 4;
    let [hugetlb, swap, thp] = gen_kinds();
    let mut texts: Vec<(String, Options, bool)> = (0..n)
        .map(|seed| {
            let gen = [&hugetlb, &swap, &hugetlb, &thp][(seed % 4) as usize];
            (
                script(0xA7_0000_0000 + seed, gen) + "exit\n",
                Options::default(),
                false,
            )
        })
        .collect();
    // Anonymous memory only, where the short path matters most: runs that cross VMA ends and
    // holes, present pages, zero pages, THP, mlock, COW after fork, swap, a split by mprotect;
    // a quarter with 128 MiB of RAM, which a run can exhaust in its middle.
    texts.extend((0..n).map(|seed| {
        let mut o = Options::default();
        if seed % 4 == 0 {
            o.config.ram_bytes = 128 << 20;
        }
        (anon_script(seed), o, true)
    }));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios");
    for e in std::fs::read_dir(dir).expect("scenarios") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "mm") {
            let text = std::fs::read_to_string(&p).expect("scenario");
            texts.push((text, Options::default(), false));
        }
    }
    let (mut short, mut used, mut totals, mut summed) = (0u64, 0u64, 0u64, 0u64);
    for (text, opts, anon) in &texts {
        let Ok(s) = exitmm_script::parse(text) else {
            continue;
        };
        let run = |runs: bool| {
            let mut sim = Sim::new(opts);
            sim.kernel.anon_fault_runs = runs;
            let r = sim
                .run(&s)
                .map(|r| r.iter().map(|o| o.records.join("\n")).collect::<Vec<_>>());
            (
                r.map_err(|e| e.to_string()),
                (sim.kernel.anon_fault_run_pages, sim.smaps_run_pages),
                mapped_pages(&sim),
            )
        };
        let ((with, (pages, added), pages_with), (without, none, pages_without)) =
            (run(true), run(false));
        assert_eq!(none, (0, 0));
        // What the records do not show: every mapped page's entry and metadata (its content
        // tag, the stand-in for its bytes, included).
        assert!(
            pages_with == pages_without,
            "pages differ with the short fault path:\n{text}"
        );
        assert_eq!(
            with, without,
            "records differ with the short fault path:\n{text}"
        );
        short += pages;
        used += u64::from(pages > 0 && *anon);
        totals += added;
        summed += u64::from(added > 0 && *anon);
    }
    assert!(
        used * 2 > n && short > 100 * n,
        "the short path ran in only {used} of {n} anonymous scripts ({short} accesses in all)"
    );
    assert!(
        summed * 5 > n && totals > 50 * n,
        "touches added to the smaps totals in only {summed} of {n} anonymous scripts \
         ({totals} pages in all)"
    );
}

/// A script of anonymous private memory for `anon_fault_runs_change_no_record`.
fn anon_script(seed: u64) -> String {
    let mut r = exitmm_sim::gen::Rng::new(0xA8_0000_0000 + seed);
    let mut s = String::new();
    if r.chance(1, 4) {
        s += "swapon 64M\n";
    }
    if r.chance(1, 3) {
        s += "thp on\n";
    }
    // Up to three VMAs at 2 MiB-aligned bases, some not a whole 2 MiB, one maybe too big for
    // the RAM of the small-RAM runs.
    let bases = [0u64, 4 << 20, 12 << 20];
    let mut vmas = Vec::new();
    for &b in &bases[..1 + r.below(3) as usize] {
        let len = if r.chance(1, 8) {
            200 << 20
        } else {
            (1 + r.below(900)) << 12
        };
        let flags = *r.pick(&["", ",locked", ",noreserve", ",populate"]);
        let _ = writeln!(s, "mmap {b} {len} rw private,anon{flags}");
        vmas.push((b, len >> 12));
    }
    let mut forked = false;
    for _ in 0..4 + r.below(12) {
        // A range that starts in a VMA and mostly stays in it; now and then it runs past the
        // end (into a hole: nothing is touched).
        let &(b, pages) = r.pick(&vmas);
        let first = r.below(pages);
        let past = if r.chance(1, 8) { 8 } else { 0 };
        let n = 1 + r.below(pages - first + past);
        let (off, len) = (b + (first << 12), n << 12);
        let line = match r.below(10) {
            0..=5 => format!("touch {off} {len} {}", r.pick(&["w", "w", "w", "r"])),
            6 => format!(
                "madvise {off} {len} {}",
                r.pick(&["hugepage", "dontneed", "free", "pageout"])
            ),
            7 => format!("mprotect {off} {len} {}", r.pick(&["r", "rw"])),
            8 if !forked => {
                forked = true;
                "fork\nchild touch 0 64K w".to_string()
            }
            _ => format!("munmap {off} {len}"),
        };
        s += &line;
        s.push('\n');
    }
    s += "dump\n";
    s
}

/// Every present leaf of every live mm: address, entry, and the metadata of the frame it maps.
fn mapped_pages(sim: &Sim) -> Vec<(u64, u64, Option<exitmm_kernel::page::Page>)> {
    let k = &sim.kernel;
    let mut out = Vec::new();
    for mm in k.mms.iter().flatten() {
        for v in mm.vmas.values() {
            for a in (v.start..v.end).step_by(4096) {
                if let Some((e, _)) = k.leaf_at(mm, a) {
                    let pfn = exitmm_kernel::pgtable::pfn_of(e);
                    let page = k.mem.has_section(pfn).then(|| *k.mem.page(pfn));
                    out.push((a, e, page));
                }
            }
        }
    }
    out
}

/// Backing the model's own host memory ahead of it (`exitmm_sim::backing`, from
/// `BACKING_MIN_RAM` of simulated RAM) changes nothing either: the anonymous scripts give the
/// same records and pages with the helper and with it stopped from the start.
#[test]
fn backing_changes_no_record() {
    let mut opts = Options::default();
    opts.config.ram_bytes = exitmm_sim::BACKING_MIN_RAM;
    for seed in 0..60 {
        let text = anon_script(seed);
        let s = exitmm_script::parse(&text).expect("parses");
        let run = |backed: bool| {
            let mut sim = Sim::new(&opts);
            if backed {
                // Now, not once the metadata in use reaches backing::START.
                let span = sim.kernel.mem.mem_map_reserve().expect("reserved");
                if !sim.kernel.hw.start_backing_now(span) {
                    eprintln!("skipped: the helper cannot run on this host");
                    return None;
                }
            } else {
                sim.kernel.hw.stop_backing();
            }
            let r = sim
                .run(&s)
                .map(|r| r.iter().map(|o| o.records.join("\n")).collect::<Vec<_>>());
            Some((r.map_err(|e| e.to_string()), mapped_pages(&sim)))
        };
        let Some(backed) = run(true) else {
            return;
        };
        assert!(Some(backed) == run(false), "backing changed a run:\n{text}");
    }
}

/// The helper starts only once the model's frame metadata reaches `backing::START` (a small
/// model, such as each schedule `explore` runs, never pays for it).
#[test]
fn backing_starts_only_for_a_large_model() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: the process has one CPU, where the helper never runs");
        return;
    }
    let mut opts = Options::default();
    opts.config.ram_bytes = exitmm_sim::BACKING_MIN_RAM;
    opts.check = exitmm_sim::Check::Off;
    let mut sim = Sim::new(&opts);
    let small = exitmm_script::parse("mmap 0 64M rw private,anon\ntouch 0 64M w\n").unwrap();
    sim.run(&small).unwrap();
    assert!(!sim.kernel.hw.backing_runs());
    // 12 GiB written: 66 MiB of metadata.
    let large =
        exitmm_script::parse("mmap 1G 12G rw private,anon,noreserve\ntouch 1G 12G w\n").unwrap();
    sim.run(&large).unwrap();
    assert!(sim.kernel.hw.backing_runs());
}
