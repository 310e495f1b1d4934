//! Writes N generated scripts (seeds 1..=N, default generator options) into DIR, as
//! `DIR/SEED.mm`, for comparing two builds' records (`tools/identical-records.sh`):
//! `cargo run --release -p exitmm-sim --example gen_scripts -- DIR 2000`.

use exitmm_sim::gen::{script, GenOptions};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(n)) = (a.get(1), a.get(2).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("usage: gen_scripts DIR N");
        std::process::exit(2);
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("gen_scripts: {dir}: {e}");
        std::process::exit(1);
    }
    let opts = GenOptions::default();
    for seed in 1..=n {
        let path = format!("{dir}/{seed}.mm");
        if let Err(e) = std::fs::write(&path, script(seed, &opts)) {
            eprintln!("gen_scripts: {path}: {e}");
            std::process::exit(1);
        }
    }
}
