//! Every script the random generator makes (the ones `exitmm diff --random` compares with the
//! kernel) runs on the model: nothing unsupported, every invariant holds after every op, and
//! each exit's per-VMA lines add up (checked in `prop.rs` too). `EXITMM_GEN_SCRIPTS` sets how
//! many (default 2,000).

use exitmm_sim::gen::{script, GenOptions};
use exitmm_sim::{records, Options};

#[test]
fn generated_scripts_run_on_the_model_with_every_invariant() {
    let n: u64 = std::env::var("EXITMM_GEN_SCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let opts = Options::default();
    let mut failures = Vec::new();
    for seed in 0..n {
        let text = script(0x6E_0000_0000 + seed, &GenOptions::default());
        let s = exitmm_script::parse(&text).expect("generated scripts parse");
        if let Err(e) = records(&s, &opts) {
            failures.push(format!("{e}\n{text}"));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}
