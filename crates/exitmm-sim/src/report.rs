//! Rendering a teardown report: as records (`X` lines, every VMA listed) and as the seed's call
//! tree for the transcript, where `unmap_vmas` shows each VMA's `unmap_single_vma` with the
//! levels of its walk beneath it, and long runs of VMAs are folded.

use crate::{hex, ARENA};
use exitmm_kernel::exit::TeardownReport;
use exitmm_kernel::memory::{UnmapBranch, VmaUnmap, ZapStats};
use std::fmt::Write;

/// How many VMAs a transcript shows at each end of a folded run.
pub const FOLD_KEEP: usize = 3;
/// Runs longer than this are folded in the transcript (unless `all_vmas`).
pub const FOLD_OVER: usize = 2 * FOLD_KEEP + 2;

/// The per-VMA figures of a zap, in the order of the records' `unmap_single_vma` line.
fn kinds(z: &ZapStats) -> [(&'static str, u64); 9] {
    [
        ("ptes", z.ptes),
        ("anon", z.anon),
        ("file", z.file),
        ("shmem", z.shmem),
        ("swap", z.swap),
        ("zero", z.zero),
        ("pfn", z.pfn),
        ("huge_pmd", z.huge_pmd),
        ("hugetlb", z.hugetlb),
    ]
}

fn vma_range(v: &VmaUnmap) -> String {
    format!(
        "{}-{}",
        hex(v.start.wrapping_sub(ARENA)),
        hex(v.end.wrapping_sub(ARENA))
    )
}

/// The records' `unmap_single_vma` line for one VMA (after `X <role> `).
pub fn vma_record(v: &VmaUnmap) -> String {
    let mut l = format!(
        "unmap_single_vma vma={} branch={} uprobe_munmap={} untrack_pfn={}",
        vma_range(v),
        v.branch.name(),
        v.uprobe_munmap as u8,
        v.untrack_pfn as u8
    );
    for (k, n) in kinds(&v.zap) {
        let _ = write!(l, " {k}={n}");
    }
    let _ = write!(
        l,
        " unshared={} pat_freed={}",
        v.zap.unshared, v.pat_freed as u8
    );
    l
}

/// The `X` lines of a report, for `role`: every step, and every VMA under `unmap_vmas`.
pub fn x_lines(role: char, r: &TeardownReport) -> Vec<String> {
    let mut out =
        Vec::with_capacity(r.steps.len() + r.steps.iter().map(|s| s.vmas.len()).sum::<usize>());
    for s in &r.steps {
        let mut l = format!("X {role} {}", s.func);
        for (k, v) in &s.facts {
            let _ = write!(l, " {k}={v}");
        }
        out.push(l);
        for m in &s.messages {
            out.push(format!("X {role} message {m}"));
        }
        for v in &s.vmas {
            out.push(format!("X {role} {}", vma_record(v)));
        }
    }
    out
}

fn tree_line(s: &mut String, pad: usize, func: &str, facts: &str) {
    let line = format!("{:pad$}{func:<24} {facts}", "", pad = pad);
    let _ = writeln!(s, "{}", line.trim_end());
}

/// The facts of a zap as the transcript shows them: the total, then each non-zero kind.
fn zap_facts(z: &ZapStats) -> String {
    let mut f = format!("ptes={}", z.ptes);
    for (k, n) in kinds(z).iter().skip(1).filter(|(_, n)| *n != 0) {
        let _ = write!(f, " {k}={n}");
    }
    f
}

/// One VMA's subtree: `unmap_single_vma`, then `unmap_page_range` and the levels of the walk.
fn vma_tree(s: &mut String, pad: usize, v: &VmaUnmap) {
    let mut head = format!("vma={} branch={}", vma_range(v), v.branch.name());
    if v.uprobe_munmap {
        head.push_str(" uprobe_munmap=1");
    }
    if v.untrack_pfn {
        head.push_str(" untrack_pfn=1");
    }
    let _ = write!(head, " {}", zap_facts(&v.zap));
    tree_line(s, pad, "unmap_single_vma", &head);
    if v.uprobe_munmap {
        let what = if v.uprobe_work {
            "checked the range for probes"
        } else {
            "returned at once (no probes, or mm_users is 0)"
        };
        tree_line(s, pad + 2, "uprobe_munmap", what);
    }
    if v.untrack_pfn {
        let what = if v.pat_freed {
            "freed its PAT reservation (found through the page table)"
        } else {
            "freed nothing (no VM_PAT reservation, or none found)"
        };
        tree_line(s, pad + 2, "untrack_pfn", what);
    }
    match v.branch {
        UnmapBranch::PageRange => {}
        UnmapBranch::Hugetlb => {
            // The file's i_mmap_rwsem is held across the unmap and the flush of any PMD table
            // it unshared.
            tree_line(s, pad + 2, "i_mmap_lock_write", "");
            tree_line(
                s,
                pad + 2,
                "__unmap_hugepage_range_final",
                &format!("hugetlb={} unshared={}", v.zap.hugetlb, v.zap.unshared),
            );
            tree_line(s, pad + 2, "i_mmap_unlock_write", "");
            return;
        }
        UnmapBranch::Skip => return,
    }
    let w = &v.zap.walk;
    let z = &v.zap;
    let levels = [
        ("unmap_page_range", format!("pgd_entries={}", w.pgd_entries)),
        (
            "zap_p4d_range",
            format!("entries={} (folded into the PGD)", w.p4d_entries),
        ),
        (
            "zap_pud_range",
            format!("tables={} entries={}", w.pud_tables, w.pud_entries),
        ),
        (
            "zap_pmd_range",
            format!(
                "tables={} entries={} huge_pmd={}",
                w.pmd_tables, w.pmd_entries, z.huge_pmd
            ),
        ),
        (
            "zap_pte_range",
            format!(
                "tables={} passes={} cleared={}",
                w.pte_tables,
                w.pte_passes,
                z.ptes + z.swap
            ),
        ),
    ];
    for (i, (func, facts)) in levels.iter().enumerate() {
        tree_line(s, pad + 2 * (i + 1), func, facts);
    }
}

/// Renders a teardown report as an indented call tree, one step a line, facts beside it.
/// `unmap_vmas` lists its VMAs beneath it; more than [`FOLD_OVER`] are folded to the first
/// and last [`FOLD_KEEP`] and one line summing the rest, unless `all_vmas`.
pub fn tree(r: &TeardownReport, indent: usize, all_vmas: bool) -> String {
    let mut s = String::new();
    for step in &r.steps {
        let pad = indent + 2 * step.depth as usize;
        let facts: Vec<String> = step.facts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tree_line(&mut s, pad, step.func, &facts.join(" "));
        for m in &step.messages {
            let _ = writeln!(s, "{:pad$}  ! {m}", "", pad = pad);
        }
        let vmas = &step.vmas;
        let fold = !all_vmas && vmas.len() > FOLD_OVER;
        for (i, v) in vmas.iter().enumerate() {
            if fold && i == FOLD_KEEP {
                let hidden = &vmas[FOLD_KEEP..vmas.len() - FOLD_KEEP];
                let mut sum = ZapStats::default();
                for h in hidden {
                    sum.add(&h.zap);
                }
                let _ = writeln!(
                    s,
                    "{:pad$}... {} more VMAs ({}-{}), folded (--all-vmas lists them): {}",
                    "",
                    hidden.len(),
                    hex(hidden[0].start.wrapping_sub(ARENA)),
                    hex(hidden[hidden.len() - 1].end.wrapping_sub(ARENA)),
                    zap_facts(&sum),
                    pad = pad + 2
                );
            }
            if fold && i >= FOLD_KEEP && i < vmas.len() - FOLD_KEEP {
                continue;
            }
            vma_tree(&mut s, pad + 2, v);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use exitmm_kernel::exit::Step;

    fn report(n: u64) -> TeardownReport {
        let vmas = (0..n)
            .map(|i| VmaUnmap {
                start: ARENA + i * 0x2000,
                end: ARENA + i * 0x2000 + 0x1000,
                branch: UnmapBranch::PageRange,
                uprobe_munmap: false,
                untrack_pfn: false,
                pat_freed: false,
                uprobe_work: false,
                zap: ZapStats {
                    ptes: i,
                    anon: i,
                    ..ZapStats::default()
                },
            })
            .collect();
        TeardownReport {
            steps: vec![Step {
                func: "unmap_vmas",
                depth: 0,
                facts: vec![("vmas", n as i64)],
                messages: vec![],
                vmas,
            }],
        }
    }

    #[test]
    fn records_list_every_vma_with_the_spec_keys() {
        let lines = x_lines('C', &report(3));
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[3],
            "X C unmap_single_vma vma=0x4000-0x5000 branch=page_range uprobe_munmap=0 \
             untrack_pfn=0 ptes=2 anon=2 file=0 shmem=0 swap=0 zero=0 pfn=0 huge_pmd=0 hugetlb=0 \
             unshared=0 pat_freed=0"
        );
        assert_eq!(x_lines('P', &report(100_000)).len(), 100_001);
    }

    #[test]
    fn long_runs_fold_to_both_ends_and_a_sum() {
        let count = |t: &str| t.matches("unmap_single_vma").count();
        // Short runs are listed whole.
        assert_eq!(count(&tree(&report(FOLD_OVER as u64), 0, false)), FOLD_OVER);
        let t = tree(&report(1000), 0, false);
        assert_eq!(count(&t), 2 * FOLD_KEEP, "{t}");
        // The hidden VMAs 3..997 wrote 3 + ... + 996 pages.
        let hidden: u64 = (3..997).sum();
        assert!(
            t.contains(&format!(
                "... 994 more VMAs (0x6000-0x7c9000), folded (--all-vmas lists them): ptes={hidden} anon={hidden}"
            )),
            "{t}"
        );
        assert!(t.contains("vma=0x7ce000-0x7cf000"), "the last VMA is shown");
        assert_eq!(count(&tree(&report(1000), 0, true)), 1000);
    }
}
