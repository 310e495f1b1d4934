//! When the invariants are recomputed: every op (tests), amortized (the CLI's default), off.

use exitmm_sim::{Check, Options, Sim, SimError};

fn opts(check: Check) -> Options {
    Options {
        check,
        ..Options::default()
    }
}

/// `n` one-page VMAs, each mapped and written, then the exit.
fn many_vmas(n: u64) -> exitmm_script::Script {
    let mut src = String::new();
    for i in 0..n {
        let a = 0x1000_0000 + i * 0x2000;
        src += &format!("mmap {a:#x} 4K rw private,anon,fixed\ntouch {a:#x} 4K w\n");
    }
    src += "exit\n";
    exitmm_script::parse(&src).unwrap()
}

#[test]
fn amortized_checks_cost_a_bounded_share_of_the_ops() {
    let s = many_vmas(3000);
    let ops = s.lines.len() as u64;
    let mut every = Sim::new(&opts(Check::EveryOp));
    let r_every = every.run(&s).unwrap();
    assert_eq!(every.checks_run(), ops);
    let mut amortized = Sim::new(&opts(Check::Amortized));
    let r_amortized = amortized.run(&s).unwrap();
    let n = amortized.checks_run();
    // Ops since the last check reach 1/16 of the state: about 16 ln(state) checks, and the
    // state here is the VMAs plus the frames in use (pages, tables, the zero page...).
    assert!(n > 16 && n < 250, "{n} checks for {ops} ops");
    let mut off = Sim::new(&opts(Check::Off));
    let r_off = off.run(&s).unwrap();
    assert_eq!(off.checks_run(), 0);
    // What a run prints does not depend on when it checks.
    let recs =
        |r: &[exitmm_sim::OpResult]| r.iter().map(|o| o.records.join("\n")).collect::<Vec<_>>();
    assert_eq!(recs(&r_every), recs(&r_amortized));
    assert_eq!(recs(&r_every), recs(&r_off));
}

#[test]
fn an_amortized_check_still_catches_a_violation() {
    let demo = exitmm_script::parse(exitmm_sim::DEMO).unwrap();
    let run = |check| {
        let mut o = opts(check);
        o.inject("untrack-after-zap").unwrap();
        Sim::new(&o).run(&demo)
    };
    // The leaked PAT reservation is an invariant violation: found at the latest by the check
    // after the exit that leaks it.
    for check in [Check::EveryOp, Check::Amortized] {
        match run(check) {
            Err(SimError::Invariant { violations, .. }) => {
                assert!(
                    violations.iter().any(|v| v.contains("PAT memtype")),
                    "{violations:?}"
                )
            }
            other => panic!("{check:?}: not caught ({other:?})"),
        }
    }
    assert!(run(Check::Off).is_ok());
}
