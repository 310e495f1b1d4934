//! The TLB model's detector, proven by fault injection: each injected fault is caught by its
//! scenario on every seed tried, and the same scenarios run clean without injection.

use exitmm_sim::{Options, Sim, SimError, INJECTIONS, TLB_INJECTIONS};
use std::path::PathBuf;

fn scenario(name: &str) -> exitmm_script::Script {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/scenarios")
        .join(format!("{name}.mm"));
    exitmm_script::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(script: &exitmm_script::Script, inject: Option<&str>, seed: u64) -> Result<(), SimError> {
    let mut o = Options {
        seed,
        ..Options::default()
    };
    if let Some(i) = inject {
        o.inject(i).unwrap();
    }
    Sim::new(&o).run(script).map(|_| ())
}

/// Which scenario proves which injection.
const PROOFS: [(&str, &str); 6] = [
    ("free-before-flush", "tlb_reader_during_munmap"),
    ("skip-ipi", "tlb_reader_during_munmap"),
    ("skip-lazy-flush", "tlb_lazy_cpu_at_exit"),
    ("free-table-before-flush", "tlb_lazy_cpu_at_exit"),
    ("drop-dirty-force-flush", "tlb_dirty_shared_writer"),
    ("skip-unshare-flush", "tlb_unshared_pmd_table"),
];

#[test]
fn every_injection_is_caught_on_every_seed() {
    assert_eq!(PROOFS.len(), TLB_INJECTIONS.len());
    for (inject, name) in PROOFS {
        let s = scenario(name);
        for seed in 1..=20 {
            match run(&s, Some(inject), seed) {
                Err(SimError::UseAfterFree { reports, .. }) => {
                    assert!(reports[0].contains("CPU "), "{inject}: {}", reports[0]);
                    assert!(reports[0].contains("frame "), "{inject}: {}", reports[0]);
                }
                other => panic!("{inject} on {name}, seed {seed}: not caught ({other:?})"),
            }
        }
    }
}

#[test]
fn the_demo_catches_every_injection() {
    let demo = exitmm_script::parse(exitmm_sim::DEMO).unwrap();
    // The exit/OOM races are found by exploring schedules (tests/races.rs), not in one run.
    for inject in INJECTIONS
        .iter()
        .filter(|i| !exitmm_sim::RACE_INJECTIONS.contains(i))
    {
        let inject = *inject;
        let r = run(&demo, Some(inject), 1);
        let caught = if TLB_INJECTIONS.contains(&inject) {
            matches!(r, Err(SimError::UseAfterFree { .. }))
        } else {
            // untrack-after-zap: the leaked reservation is an invariant violation.
            matches!(&r, Err(SimError::Invariant { violations, .. })
                if violations.iter().any(|v| v.contains("PAT memtype")))
        };
        assert!(caught, "{inject}: {r:?}");
    }
}

#[test]
fn without_injection_nothing_is_reported() {
    let demo = exitmm_script::parse(exitmm_sim::DEMO).unwrap();
    for name in [
        "tlb_reader_during_munmap",
        "tlb_lazy_cpu_at_exit",
        "tlb_dirty_shared_writer",
        "tlb_unshared_pmd_table",
    ] {
        let s = scenario(name);
        for seed in 1..=20 {
            run(&s, None, seed).unwrap_or_else(|e| panic!("{name}, seed {seed}: {e}"));
        }
    }
    for seed in 1..=5 {
        run(&demo, None, seed).unwrap_or_else(|e| panic!("demo, seed {seed}: {e}"));
    }
}

#[test]
fn runs_are_reproducible_from_the_seed() {
    let s = scenario("tlb_lazy_cpu_at_exit");
    let once = |seed| {
        let mut o = Options {
            seed,
            ..Options::default()
        };
        o.inject("skip-lazy-flush").unwrap();
        Sim::new(&o).run(&s).unwrap_err().to_string()
    };
    assert_eq!(once(7), once(7));
}
