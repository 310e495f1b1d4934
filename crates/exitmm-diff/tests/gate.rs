//! CI gate: random scripts, model against this machine's kernel, zero differences. Skipped,
//! with the reason, where the kernel side cannot run or the host does what the model cannot.
//! `EXITMM_GATE_SCRIPTS` sets how many (default 300).

use exitmm_diff::{diff, probe, shrink, Verdict};
use exitmm_host::DEFAULT_FOOTPRINT_CAP;
use exitmm_sim::gen::script;

#[test]
fn random_scripts_equal_the_kernel() {
    let probe = match probe(DEFAULT_FOOTPRINT_CAP) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    if !probe.unmatched.is_empty() {
        eprintln!("skipped: {}", probe.unmatched.join("; "));
        return;
    }
    let want: u64 = std::env::var("EXITMM_GATE_SCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let opts = probe.gen_options(exitmm_host::DEFAULT_FOOTPRINT_CAP);
    let (mut equal, mut inconclusive, mut different) = (0u64, 0u64, Vec::new());
    let mut seed = 0xC1_0000_0000u64;
    while equal < want && inconclusive < want {
        let text = script(seed, &opts);
        let s = exitmm_script::parse(&text).unwrap();
        match diff(&s, &probe.config, DEFAULT_FOOTPRINT_CAP).expect("kernel side") {
            Verdict::Equal => equal += 1,
            Verdict::Inconclusive(why) => {
                inconclusive += 1;
                eprintln!("inconclusive (not counted): seed {seed}: {why}");
            }
            Verdict::HostUnsafe(why) => eprintln!("not run (not counted): seed {seed}: {why}"),
            Verdict::Different { mismatch, .. } => {
                let small = shrink(&text, &probe.config, DEFAULT_FOOTPRINT_CAP);
                different.push(format!("seed {seed}: {mismatch}\nshrunk:\n{small}"));
            }
        }
        seed += 1;
        if !different.is_empty() {
            break;
        }
    }
    eprintln!(
        "{equal} equal, {} different, {inconclusive} inconclusive",
        different.len()
    );
    assert!(
        different.is_empty(),
        "the model differs from the kernel:\n{}",
        different.join("\n")
    );
    assert!(
        equal >= want,
        "only {equal} conclusive comparisons ({inconclusive} inconclusive)"
    );
}
