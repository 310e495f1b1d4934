//! Every script the random generator makes (the ones `exitmm diff --random` compares with the
//! kernel) runs on the model: nothing unsupported, every invariant holds after every op, and
//! once every process has exited, the huge page pools are whole again. `EXITMM_GEN_SCRIPTS` sets how
//! many (default 2,000).

use exitmm_sim::gen::{script, GenOptions};
use exitmm_sim::{run_records, Options};

#[test]
fn generated_scripts_run_on_the_model_with_every_invariant() {
    let n: u64 = std::env::var("EXITMM_GEN_SCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let opts = Options::default();
    let mut failures = Vec::new();
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
