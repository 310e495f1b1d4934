//! The cost model: what each teardown step costs on a real machine, fitted by `exitmm
//! calibrate` from timed kills of designed workloads, and applied to the counts a model
//! exit reports (`X` lines) to predict how long the kernel takes.
//!
//! `exitmm calibrate` kills real processes of designed shapes (`tools/workload.c`), each at
//! two sizes, and times SIGKILL to reap. The base is the exit of the workload process holding
//! nothing extra; every other coefficient is the least-squares line through a workload's points
//! that starts at the base, per unit, less what the anonymous pages it also holds cost
//! (one-page VMAs, mlocked pages).

use exitmm_kernel::memory::ZapStats;

/// The per-step costs, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Costs {
    /// Fixed cost of an exit (signal delivery, `do_exit`, the reap), from the intercept.
    pub base_ns: f64,
    /// Per private anonymous 4 KiB page whose PTE is cleared and whose page is freed.
    pub anon_page_ns: f64,
    /// Per PTE cleared whose page another mm keeps (shared after fork; file pages).
    pub kept_pte_ns: f64,
    /// Per shmem page mapped (PTE cleared, and the page freed when its object goes).
    pub shmem_page_ns: f64,
    /// Per swap entry freed.
    pub swap_entry_ns: f64,
    /// Per PMD-mapped THP (512 pages) zapped and freed.
    pub thp_ns: f64,
    /// Per hugetlb page unmapped.
    pub hugetlb_page_ns: f64,
    /// Per VMA, beyond its pages.
    pub vma_ns: f64,
    /// Per mlocked page, beyond its freeing (munlock).
    pub locked_page_ns: f64,
    /// Where the figures come from (machine, kernel, date, or "shipped").
    pub source: String,
    /// Coefficients not measured, and what stands in for them.
    pub unmeasured: Vec<String>,
}

/// The defaults shipped with exitmm: `exitmm calibrate` on the machine this project was
/// developed on (see the file for its kernel and date).
pub const SHIPPED: &str = include_str!("costs-default.json");

const FIELDS: [&str; 9] = [
    "base_ns",
    "anon_page_ns",
    "kept_pte_ns",
    "shmem_page_ns",
    "swap_entry_ns",
    "thp_ns",
    "hugetlb_page_ns",
    "vma_ns",
    "locked_page_ns",
];

impl Costs {
    fn slots(&mut self) -> [&mut f64; 9] {
        [
            &mut self.base_ns,
            &mut self.anon_page_ns,
            &mut self.kept_pte_ns,
            &mut self.shmem_page_ns,
            &mut self.swap_entry_ns,
            &mut self.thp_ns,
            &mut self.hugetlb_page_ns,
            &mut self.vma_ns,
            &mut self.locked_page_ns,
        ]
    }

    /// Reads a costs file (the JSON `exitmm calibrate` writes).
    pub fn from_json(text: &str) -> Result<Costs, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("costs file: {e}"))?;
        let mut c = Costs {
            base_ns: 0.0,
            anon_page_ns: 0.0,
            kept_pte_ns: 0.0,
            shmem_page_ns: 0.0,
            swap_entry_ns: 0.0,
            thp_ns: 0.0,
            hugetlb_page_ns: 0.0,
            vma_ns: 0.0,
            locked_page_ns: 0.0,
            source: v["source"].as_str().unwrap_or("?").to_string(),
            unmeasured: v["unmeasured"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        };
        for (name, slot) in FIELDS.iter().zip(c.slots()) {
            *slot = v[name]
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("costs file: '{name}' missing or not a number >= 0"))?;
        }
        Ok(c)
    }

    /// The shipped defaults.
    pub fn shipped() -> Costs {
        Costs::from_json(SHIPPED).expect("the shipped costs file parses")
    }

    /// As JSON, the format [`Costs::from_json`] reads.
    pub fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("source".into(), self.source.clone().into());
        let mut c = self.clone();
        for (name, slot) in FIELDS.iter().zip(c.slots()) {
            m.insert((*name).into(), ((*slot * 100.0).round() / 100.0).into());
        }
        m.insert(
            "unmeasured".into(),
            serde_json::Value::Array(self.unmeasured.iter().map(|s| s.clone().into()).collect()),
        );
        serde_json::to_string_pretty(&serde_json::Value::Object(m)).expect("json") + "\n"
    }
}

/// What one exit report says it did, in the units the costs are per.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExitCounts {
    /// Private anonymous pages whose PTEs were cleared and which were freed.
    pub anon_freed: u64,
    /// PTEs cleared whose pages stay (anonymous ones shared with another mm, file, zero, PFN).
    pub kept_ptes: u64,
    /// shmem PTEs cleared.
    pub shmem: u64,
    /// Swap entries freed.
    pub swap: u64,
    /// PMD-mapped THPs.
    pub thps: u64,
    /// hugetlb pages.
    pub hugetlb: u64,
    /// VMAs removed.
    pub vmas: u64,
    /// Pages munlocked.
    pub locked: u64,
}

/// One VMA's `unmap_single_vma` line: its start offset and what the zap cleared.
pub type VmaCounts = (u64, ZapStats);

fn key(line: &str, k: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
        .and_then(|v| {
            let v = v.split('-').next().unwrap_or(v);
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(0)
}

/// The counts of the exit report of `role` (`P` or `C`) in records output, and its VMAs'.
pub fn exit_counts(records: &str, role: char) -> (ExitCounts, Vec<VmaCounts>) {
    let prefix = format!("X {role} ");
    let mut c = ExitCounts::default();
    let mut vmas = Vec::new();
    let mut anon = 0;
    let mut freed = 0;
    for l in records.lines().filter(|l| l.starts_with(&prefix)) {
        let step = l[prefix.len()..].split_whitespace().next().unwrap_or("");
        match step {
            "unmap_single_vma" => {
                let v = ZapStats {
                    ptes: key(l, "ptes"),
                    anon: key(l, "anon"),
                    file: key(l, "file"),
                    shmem: key(l, "shmem"),
                    swap: key(l, "swap"),
                    zero: key(l, "zero"),
                    pfn: key(l, "pfn"),
                    huge_pmd: key(l, "huge_pmd"),
                    hugetlb: key(l, "hugetlb"),
                    ..Default::default()
                };
                anon += v.anon.saturating_sub(v.huge_pmd * 512);
                c.kept_ptes += v.file + v.zero + v.pfn;
                c.shmem += v.shmem;
                c.swap += v.swap;
                c.thps += v.huge_pmd;
                c.hugetlb += v.hugetlb;
                vmas.push((key(l, "vma"), v));
            }
            "tlb_finish_mmu" => freed += key(l, "pages_freed"),
            "remove_vma" => c.vmas += key(l, "vmas"),
            "munlock_vma_pages_all" => c.locked += key(l, "pages"),
            _ => {}
        }
    }
    // The gather's freed pages are the anonymous ones (and THPs, one each) whose last
    // reference went; the other anonymous PTEs left their pages to another mm.
    let anon_freed = freed.saturating_sub(c.thps).min(anon);
    c.anon_freed = anon_freed;
    c.kept_ptes += anon - anon_freed;
    (c, vmas)
}

/// A predicted exit: the total and its parts, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// From SIGKILL to the memory being freed.
    pub total_ns: f64,
    /// By step: `(step, units, ns)`.
    pub by_step: Vec<(&'static str, u64, f64)>,
}

/// Applies the costs to an exit's counts.
pub fn predict(c: &ExitCounts, k: &Costs) -> Prediction {
    let step = |name, n: u64, per: f64| (name, n, n as f64 * per);
    let by_step = vec![
        step("exit (signal, do_exit, reap)", 1, k.base_ns),
        step("zap + free anon pages", c.anon_freed, k.anon_page_ns),
        step("zap PTEs of kept pages", c.kept_ptes, k.kept_pte_ns),
        step("zap + release shmem pages", c.shmem, k.shmem_page_ns),
        step("free swap entries", c.swap, k.swap_entry_ns),
        step("zap_huge_pmd (THPs)", c.thps, k.thp_ns),
        step("hugetlb pages", c.hugetlb, k.hugetlb_page_ns),
        step("munlock pages", c.locked, k.locked_page_ns),
        step("per VMA (tree, tables, remove_vma)", c.vmas, k.vma_ns),
    ];
    Prediction {
        total_ns: by_step.iter().map(|s| s.2).sum(),
        by_step,
    }
}

/// The predicted cost of one VMA's pages (no per-exit base).
pub fn vma_cost(v: &ZapStats, anon_freed_share: f64, k: &Costs) -> f64 {
    let anon = v.anon.saturating_sub(v.huge_pmd * 512) as f64;
    anon * (anon_freed_share * k.anon_page_ns + (1.0 - anon_freed_share) * k.kept_pte_ns)
        + (v.file + v.zero + v.pfn) as f64 * k.kept_pte_ns
        + v.shmem as f64 * k.shmem_page_ns
        + v.swap as f64 * k.swap_entry_ns
        + v.huge_pmd as f64 * k.thp_ns
        + v.hugetlb as f64 * k.hugetlb_page_ns
        + k.vma_ns
}

/// Timings of designed exits: per workload, `(units, ns)` points (each the trimmed mean of
/// its runs), and the exit of a process that holds nothing extra.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// The exit of the workload process with nothing mapped beyond its program.
    pub base: Option<f64>,
    /// Anonymous pages.
    pub anon: Vec<(u64, f64)>,
    /// Anonymous pages another process keeps.
    pub kept: Vec<(u64, f64)>,
    /// shmem pages.
    pub shmem: Vec<(u64, f64)>,
    /// Swapped-out pages.
    pub swap: Vec<(u64, f64)>,
    /// Pages in THPs.
    pub thp: Vec<(u64, f64)>,
    /// One-page VMAs.
    pub vmas: Vec<(u64, f64)>,
    /// mlocked pages.
    pub locked: Vec<(u64, f64)>,
}

/// The cost per unit of a workload: the least-squares line through its points that starts
/// at the base (`Σ n·(t − base) / Σ n²`), so fixed costs stay out of it.
fn per_unit(points: &[(u64, f64)], base: f64) -> Option<f64> {
    let den: f64 = points.iter().map(|&(n, _)| (n as f64).powi(2)).sum();
    let num: f64 = points.iter().map(|&(n, t)| n as f64 * (t - base)).sum();
    (den > 0.0).then(|| (num / den).max(0.0))
}

/// Fits the costs to the timings; what was not timed keeps `fallback`'s figure and is listed.
pub fn fit(t: &Timings, fallback: &Costs, source: String) -> Costs {
    let mut c = fallback.clone();
    c.source = source;
    let mut notes = Vec::new();
    let mut set = |v: &mut f64, s: Option<f64>, name: &str| match s {
        Some(s) => *v = s,
        None => notes.push(c_unmeasured(name, "not timed on this host")),
    };
    set(&mut c.base_ns, t.base, "base_ns");
    let b = c.base_ns;
    set(&mut c.anon_page_ns, per_unit(&t.anon, b), "anon_page_ns");
    set(&mut c.kept_pte_ns, per_unit(&t.kept, b), "kept_pte_ns");
    set(&mut c.shmem_page_ns, per_unit(&t.shmem, b), "shmem_page_ns");
    set(&mut c.swap_entry_ns, per_unit(&t.swap, b), "swap_entry_ns");
    set(
        &mut c.thp_ns,
        per_unit(&t.thp, b).map(|s| s * 512.0),
        "thp_ns",
    );
    // One-page VMAs and mlocked pages hold anonymous pages too: what they cost beyond them.
    let anon = c.anon_page_ns;
    set(
        &mut c.vma_ns,
        per_unit(&t.vmas, b).map(|s| (s - anon).max(0.0)),
        "vma_ns",
    );
    set(
        &mut c.locked_page_ns,
        per_unit(&t.locked, b).map(|s| (s - anon).max(0.0)),
        "locked_page_ns",
    );
    c.hugetlb_page_ns = c.thp_ns;
    notes.push(c_unmeasured(
        "hugetlb_page_ns",
        "no hugetlb exit is timed: a THP's cost stands in",
    ));
    c.unmeasured = notes;
    c
}

fn c_unmeasured(name: &str, why: &str) -> String {
    format!("{name}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_costs_parse_and_round_trip() {
        let c = Costs::shipped();
        assert!(c.anon_page_ns > 0.0 && c.base_ns >= 0.0);
        assert_eq!(
            Costs::from_json(&c.to_json()).unwrap().anon_page_ns,
            c.anon_page_ns
        );
        assert!(Costs::from_json("{\"base_ns\": -1}").is_err());
    }

    #[test]
    fn fit_takes_lines_through_the_base() {
        let t = Timings {
            base: Some(50_000.0),
            anon: vec![(1000, 150_000.0), (3000, 350_000.0)],
            vmas: vec![(100, 90_000.0), (300, 170_000.0)],
            thp: vec![(512, 60_000.0), (1536, 80_000.0)],
            ..Default::default()
        };
        let c = fit(&t, &Costs::shipped(), "test".into());
        assert_eq!(c.base_ns, 50_000.0);
        assert_eq!(c.anon_page_ns, 100.0); // both points on base + 100 n
                                           // 400 ns per one-page VMA through the base, less its page's 100.
        assert_eq!(c.vma_ns, 300.0);
        // (512·10,000 + 1536·30,000) / (512² + 1536²) per page, times 512.
        let per = (512.0 * 10_000.0 + 1536.0 * 30_000.0) / (512.0f64.powi(2) + 1536.0f64.powi(2));
        assert!((c.thp_ns - per * 512.0).abs() < 1e-6);
        assert!(c.unmeasured.iter().any(|u| u.starts_with("swap_entry_ns")));
    }

    #[test]
    fn exit_counts_split_freed_and_kept_anon_pages() {
        let rec = "X P munlock_vma_pages_all vmas=1 pages=8\n\
                   X P unmap_single_vma vma=0-0x400000 branch=page_range ptes=1030 anon=1024 file=6 shmem=0 swap=2 zero=0 pfn=0 huge_pmd=1 hugetlb=0\n\
                   X P tlb_finish_mmu flushes=1 pages_freed=301\n\
                   X P remove_vma vmas=1\n";
        let (c, v) = exit_counts(rec, 'P');
        assert_eq!(v.len(), 1);
        assert_eq!(c.thps, 1);
        assert_eq!(c.anon_freed, 300); // 301 freed, one of them the THP
        assert_eq!(c.kept_ptes, 6 + (512 - 300));
        assert_eq!((c.swap, c.vmas, c.locked), (2, 1, 8));
        let p = predict(&c, &Costs::shipped());
        let sum: f64 = p.by_step.iter().map(|s| s.2).sum();
        assert!((p.total_ns - sum).abs() < 1e-6 && p.total_ns > 0.0);
    }
}
