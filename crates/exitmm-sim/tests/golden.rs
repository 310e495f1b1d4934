//! Every scenario under tests/scenarios with a `.kernel` golden file: the model's records must
//! equal the kernel's on every compared field. A scenario the model cannot run yet is reported
//! by name (and what it lacks), never passed silently.

use exitmm_sim::{compare::compare, records, Options, SimError};
use std::path::PathBuf;

fn scenarios() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mm") && p.with_extension("kernel").exists())
        .collect();
    v.sort();
    v
}

#[test]
fn model_matches_kernel_goldens() {
    let mut failures = Vec::new();
    let mut unsupported = Vec::new();
    let all = scenarios();
    assert!(
        all.len() >= 30,
        "expected at least 30 recorded scenarios, found {}",
        all.len()
    );
    for path in &all {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(path).unwrap();
        let script = exitmm_script::parse(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let golden = std::fs::read_to_string(path.with_extension("kernel")).unwrap();
        // The model boots with the pools the kernel had when the golden was recorded.
        let mut opts = Options::default();
        opts.config.hugetlb_baseline = exitmm_sim::compare::golden_baseline(&golden);
        let run = std::panic::catch_unwind(|| records(&script, &opts));
        let Ok(run) = run else {
            failures.push(format!("{name}: the model panicked"));
            continue;
        };
        match run {
            Ok(model) => {
                if let Err(m) = compare(&model, &golden) {
                    failures.push(format!("{name}: {m}"));
                }
            }
            Err(e @ SimError::Unsupported { .. }) => unsupported.push(format!("{name}: {e}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    for u in &unsupported {
        eprintln!("not modelled yet: {u}");
    }
    eprintln!(
        "{} scenarios: {} equal, {} different, {} not modelled",
        all.len(),
        all.len() - failures.len() - unsupported.len(),
        failures.len(),
        unsupported.len()
    );
    assert!(
        failures.is_empty(),
        "model differs from the kernel:\n{}",
        failures.join("\n")
    );
}
