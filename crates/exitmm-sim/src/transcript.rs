//! The readable transcript of `exitmm run`: each op with its result and the process's memory
//! figures, and for an exit the teardown report as the seed's call tree.

use crate::OpResult;
use exitmm_script::Comment;
use std::fmt::Write;

/// How a transcript is rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TranscriptOptions {
    /// List every VMA of a teardown report (long runs are folded otherwise).
    pub all_vmas: bool,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

/// Prints the script's comments that stand before `line` (all of them for `usize::MAX`),
/// each block after a blank line, as the script has them; expectations are left out.
fn comments_before(
    s: &mut String,
    comments: &mut std::iter::Peekable<std::slice::Iter<Comment>>,
    line: usize,
) {
    let mut prev: Option<usize> = None;
    while let Some(c) = comments.next_if(|c| c.line < line) {
        if c.is_expectation() {
            continue;
        }
        if prev.is_none_or(|p| p + 1 != c.line) && !s.is_empty() {
            s.push('\n');
        }
        let _ = writeln!(s, "{}", format!("      # {}", c.text).trim_end());
        prev = Some(c.line);
    }
}

/// Renders the results of a run, with the script's comments where they stand.
pub fn transcript(results: &[OpResult], comments: &[Comment], opts: TranscriptOptions) -> String {
    let mut s = String::new();
    let mut comments = comments.iter().peekable();
    for r in results {
        comments_before(&mut s, &mut comments, r.line);
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
            } else if let Some(rest) = l.strip_prefix("A ") {
                let _ = writeln!(s, "        actor {}", &rest[2..]);
            } else if let Some(rest) = l.strip_prefix("S ") {
                let _ = writeln!(s, "        {rest}");
            } else if let Some(rest) = l.strip_prefix("L ") {
                let _ = writeln!(s, "        kernel: {rest}");
            }
        }
        if let Some(rep) = &r.report {
            s.push_str(&crate::report::tree(rep, 8, opts.all_vmas));
        }
        for (role, rep) in &r.reports {
            let _ = writeln!(s, "        teardown of {}:", role.letter());
            s.push_str(&crate::report::tree(rep, 10, opts.all_vmas));
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
    comments_before(&mut s, &mut comments, usize::MAX);
    s
}
