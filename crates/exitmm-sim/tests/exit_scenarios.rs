//! Model-only scenarios (those with `exit`, `oom_victim` or `census`) carry their expectations
//! as comments derived from the kernel's rules: `# expect: <record line>` must match a line the
//! model prints (same leading words, every `key=value` present), in order; `# expect-no:` must
//! match none.

use exitmm_sim::{records, Options};
use std::path::PathBuf;

fn fields(line: &str) -> (Vec<&str>, Vec<&str>) {
    line.split_whitespace().partition(|w| !w.contains('='))
}

fn matches(expect: &str, line: &str) -> bool {
    let (ew, ekv) = fields(expect);
    let (lw, lkv) = fields(line);
    ew == lw && ekv.iter().all(|kv| lkv.contains(kv))
}

#[test]
fn model_only_scenarios_meet_their_expectations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        if path.extension().is_none_or(|e| e != "mm") || path.with_extension("kernel").exists() {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let script = exitmm_script::parse(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            script.model_only(),
            "{name}: no .kernel file, yet the kernel could run it: record it"
        );
        let out = records(&script, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lines: Vec<&str> = out.lines().collect();
        let expects: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        let nots: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("# expect-no: "))
            .collect();
        assert!(
            !expects.is_empty(),
            "{name}: a model-only scenario needs '# expect:' lines"
        );
        let mut at = 0;
        for e in &expects {
            match lines[at..].iter().position(|l| matches(e, l)) {
                Some(i) => at += i + 1,
                None => failures.push(format!("{name}: expected (in order) `{e}`")),
            }
        }
        for n in &nots {
            if let Some(l) = lines.iter().find(|l| matches(n, l)) {
                failures.push(format!("{name}: `{l}` should not be there"));
            }
        }
        checked += 1;
    }
    eprintln!("{checked} model-only scenarios checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
