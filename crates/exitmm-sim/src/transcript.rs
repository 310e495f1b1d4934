//! The readable transcript of `exitmm run`: each op with its result and the process's memory
//! figures, and for an exit the teardown report as the seed's call tree.

use crate::OpResult;
use exitmm_kernel::exit::TeardownReport;
use std::fmt::Write;

/// Renders a teardown report as an indented call tree, one step a line, facts beside it.
pub fn report_tree(r: &TeardownReport, indent: usize) -> String {
    let mut s = String::new();
    for step in &r.steps {
        let pad = indent + 2 * step.depth as usize;
        let facts: Vec<String> = step.facts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let line = format!(
            "{:pad$}{:<24} {}",
            "",
            step.func,
            facts.join(" "),
            pad = pad
        );
        let _ = writeln!(s, "{}", line.trim_end());
        for m in &step.messages {
            let _ = writeln!(s, "{:pad$}  ! {m}", "", pad = pad);
        }
    }
    s
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

/// Renders the results of a run.
pub fn transcript(results: &[OpResult]) -> String {
    let mut s = String::new();
    for r in results {
        let verdict = r
            .records
            .iter()
            .find(|l| l.starts_with("R ") && l.contains(" rc="))
            .map(|l| {
                if r.rc == 0 {
                    "ok".to_string()
                } else {
                    field(l, "err").to_string()
                }
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:>4}  {} {:<44} {verdict}",
            r.line,
            r.role.letter(),
            r.text
        );
        for l in &r.records {
            if l.starts_with("R ") && !l.contains(" rc=") {
                let _ = writeln!(s, "        {}", &l[4..]);
            } else if l.starts_with("G ") || l.starts_with("M ") || l.starts_with("K ") {
                let _ = writeln!(s, "        {}", &l[2..]);
            }
        }
        if let Some(rep) = &r.report {
            s.push_str(&report_tree(rep, 8));
        }
        if let Some(d) = r.records.iter().find(|l| l.starts_with("D ")) {
            let _ = writeln!(
                s,
                "        [{}] VmSize={} VmRSS={} (anon {} file {} shmem {}) VmPTE={} VmLck={} VMAs={}",
                &d[2..3],
                field(d, "VmSize"),
                field(d, "VmRSS"),
                field(d, "RssAnon"),
                field(d, "RssFile"),
                field(d, "RssShmem"),
                field(d, "VmPTE"),
                field(d, "VmLck"),
                field(d, "maps_lines"),
            );
        }
    }
    s
}
