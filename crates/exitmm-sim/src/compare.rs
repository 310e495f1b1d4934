//! Comparing records of the model with the kernel's, by the rules of script.md: `R`, `D`, `T`,
//! `M`, `G` lines exactly; `V` lines without `Referenced`, `LazyFree`, `KSM`, `THPeligible` and
//! with `VmFlags` reduced to the compared mnemonics; `K Committed_AS` as deltas between
//! consecutive `commit`s; `X` and census lines (model only) not at all.

/// The VmFlags mnemonics that are compared.
pub const COMPARED_FLAGS: [&str; 18] = [
    "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "lo", "lf", "dc", "ac", "nr", "hg", "nh",
    "wf", "dd",
];

/// The first difference found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The op's header (`# <line> <text>`), or a description.
    pub op: String,
    /// The model's line (normalised).
    pub model: String,
    /// The kernel's line (normalised).
    pub kernel: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n  model:  {}\n  kernel: {}",
            self.op, self.model, self.kernel
        )
    }
}

/// Normalise a line for comparison; `None` for lines that are not compared.
fn normalise(line: &str) -> Option<String> {
    if line.starts_with("X ") || line.contains(" census ") {
        return None;
    }
    if line.starts_with("K ") && line.contains("Committed_AS=") {
        return None; // compared as deltas, separately
    }
    if !line.starts_with("V ") {
        return Some(line.to_string());
    }
    let mut out = Vec::new();
    for w in line.split(' ') {
        let key = w.split('=').next().unwrap_or("");
        match key {
            "Referenced" | "LazyFree" | "KSM" | "THPeligible" => {}
            "VmFlags" => {
                let flags: Vec<&str> = w["VmFlags=".len()..]
                    .split('.')
                    .filter(|f| COMPARED_FLAGS.contains(f))
                    .collect();
                out.push(format!("VmFlags={}", flags.join(".")));
            }
            _ => out.push(w.to_string()),
        }
    }
    Some(out.join(" "))
}

fn blocks(records: &str) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = Vec::new();
    for l in records.lines() {
        if l.starts_with("# kernel ") {
            continue;
        }
        if let Some(h) = l.strip_prefix("# ") {
            v.push((h.to_string(), Vec::new()));
        } else if let Some(b) = v.last_mut() {
            b.1.push(l.to_string());
        }
    }
    v
}

fn commits(records: &str) -> Vec<(String, i64)> {
    let mut head = String::new();
    let mut v = Vec::new();
    for l in records.lines() {
        if let Some(h) = l.strip_prefix("# ") {
            head = h.to_string();
        } else if l.starts_with("K ") && !l.contains(" census ") {
            if let Some(x) = l.split("Committed_AS=").nth(1) {
                v.push((head.clone(), x.trim().parse().unwrap_or(i64::MIN)));
            }
        }
    }
    v
}

/// Compares the model's records with the kernel's; `Ok` when equal on every compared field.
pub fn compare(model: &str, kernel: &str) -> Result<(), Mismatch> {
    let (m, k) = (blocks(model), blocks(kernel));
    for (i, ((mh, ml), (kh, kl))) in m.iter().zip(k.iter()).enumerate() {
        if mh != kh {
            return Err(Mismatch {
                op: format!("op {}", i + 1),
                model: format!("# {mh}"),
                kernel: format!("# {kh}"),
            });
        }
        let ml: Vec<String> = ml.iter().filter_map(|l| normalise(l)).collect();
        let kl: Vec<String> = kl.iter().filter_map(|l| normalise(l)).collect();
        for j in 0..ml.len().max(kl.len()) {
            let (a, b) = (
                ml.get(j).cloned().unwrap_or_default(),
                kl.get(j).cloned().unwrap_or_default(),
            );
            if a != b {
                return Err(Mismatch {
                    op: format!("# {mh}"),
                    model: a,
                    kernel: b,
                });
            }
        }
    }
    if m.len() != k.len() {
        return Err(Mismatch {
            op: "number of ops".into(),
            model: m.len().to_string(),
            kernel: k.len().to_string(),
        });
    }
    let (mc, kc) = (commits(model), commits(kernel));
    for i in 1..mc.len().min(kc.len()) {
        let (dm, dk) = (mc[i].1 - mc[i - 1].1, kc[i].1 - kc[i - 1].1);
        if dm != dk {
            return Err(Mismatch {
                op: format!("# {} (Committed_AS since the previous commit)", mc[i].0),
                model: format!("delta {dm} kB"),
                kernel: format!("delta {dk} kB"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_what_is_not_compared_and_catches_what_is() {
        let k = "# kernel x\n# 1 nop\nK P Committed_AS=1000\nV P 0-0x1000 rw-p Rss=4 Referenced=4 VmFlags=rd.wr.mr.mw.me.ac.sd\nR P rc=0 err=0\n# 2 commit\nK P Committed_AS=1004\n";
        let m = "# 1 nop\nK P Committed_AS=0\nV P 0-0x1000 rw-p Rss=4 Referenced=0 VmFlags=rd.wr.mr.mw.me.ac\nR P rc=0 err=0\nX P unmap_vmas ptes=1\n# 2 commit\nK P Committed_AS=4\n";
        assert_eq!(compare(m, k), Ok(()));
        let bad = m.replace("Rss=4", "Rss=8");
        assert!(compare(&bad, k).unwrap_err().model.contains("Rss=8"));
        let bad = m.replace("Committed_AS=4", "Committed_AS=8");
        assert!(compare(&bad, k).unwrap_err().op.contains("Committed_AS"));
        let bad = m.replace("# 2 commit", "# 2 nop");
        assert!(compare(&bad, k).is_err());
    }
}
