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
    /// Per PTE cleared whose anonymous page another mm keeps (shared after fork).
    pub kept_pte_ns: f64,
    /// Per PTE of a page cache page cleared (the page stays cached).
    pub file_pte_ns: f64,
    /// Per special PTE cleared (the zero page, a PFN map): no page behind it to put.
    pub zero_pte_ns: f64,
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
    /// Per page table freed by `free_pgtables` (mostly PTE tables), beyond its pages.
    pub table_ns: f64,
    /// Per forced TLB flush inside the zap (a PTE table that held a dirty shared PTE: the
    /// flush before the PTE lock goes, and the delayed rmap removal and dirtying it brings).
    pub flush_ns: f64,
    /// Per flush IPI sent to another CPU that has the mm loaded or lazily kept.
    pub ipi_ns: f64,
    /// Where the figures come from (machine, kernel, date, or "shipped").
    pub source: String,
    /// Coefficients not measured, and what stands in for them.
    pub unmeasured: Vec<String>,
}

/// The defaults shipped with exitmm: `exitmm calibrate` on the machine this project was
/// developed on (see the file for its kernel and date).
pub const SHIPPED: &str = include_str!("costs-default.json");

const FIELDS: [&str; 14] = [
    "base_ns",
    "anon_page_ns",
    "kept_pte_ns",
    "file_pte_ns",
    "zero_pte_ns",
    "shmem_page_ns",
    "swap_entry_ns",
    "thp_ns",
    "hugetlb_page_ns",
    "vma_ns",
    "locked_page_ns",
    "table_ns",
    "flush_ns",
    "ipi_ns",
];

impl Costs {
    fn slots(&mut self) -> [&mut f64; 14] {
        [
            &mut self.base_ns,
            &mut self.anon_page_ns,
            &mut self.kept_pte_ns,
            &mut self.file_pte_ns,
            &mut self.zero_pte_ns,
            &mut self.shmem_page_ns,
            &mut self.swap_entry_ns,
            &mut self.thp_ns,
            &mut self.hugetlb_page_ns,
            &mut self.vma_ns,
            &mut self.locked_page_ns,
            &mut self.table_ns,
            &mut self.flush_ns,
            &mut self.ipi_ns,
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
            file_pte_ns: 0.0,
            zero_pte_ns: 0.0,
            shmem_page_ns: 0.0,
            swap_entry_ns: 0.0,
            thp_ns: 0.0,
            hugetlb_page_ns: 0.0,
            vma_ns: 0.0,
            locked_page_ns: 0.0,
            table_ns: 0.0,
            flush_ns: 0.0,
            ipi_ns: 0.0,
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
                .ok_or_else(|| {
                    format!(
                        "costs file: '{name}' missing or not a number >= 0 (a file from an \
                         older exitmm lacks it: run exitmm calibrate again)"
                    )
                })?;
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
    /// PTEs of anonymous pages cleared whose pages stay (shared with another mm).
    pub kept_ptes: u64,
    /// PTEs of page cache pages cleared.
    pub file_ptes: u64,
    /// Special PTEs cleared (zero page, PFN maps).
    pub zero_ptes: u64,
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
    /// Page tables freed (`free_pgtables`).
    pub tables: u64,
    /// Forced TLB flushes during the zap (the final one is in the base).
    pub forced_flushes: u64,
    /// Flush IPIs to other CPUs (the model's TLB model; none without it).
    pub ipis: u64,
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
                c.file_ptes += v.file;
                c.zero_ptes += v.zero + v.pfn;
                c.shmem += v.shmem;
                c.swap += v.swap;
                c.thps += v.huge_pmd;
                c.hugetlb += v.hugetlb;
                vmas.push((key(l, "vma"), v));
            }
            "tlb_finish_mmu" => {
                freed += key(l, "pages_freed");
                c.forced_flushes += key(l, "forced");
                c.ipis += key(l, "ipis");
            }
            "free_pgtables" => {
                c.tables += key(l, "pte") + key(l, "pmd") + key(l, "pud") + key(l, "p4d")
            }
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
        step("zap PTEs of kept anon pages", c.kept_ptes, k.kept_pte_ns),
        step("zap PTEs of file pages", c.file_ptes, k.file_pte_ns),
        step("zap zero-page and PFN PTEs", c.zero_ptes, k.zero_pte_ns),
        step("zap + release shmem pages", c.shmem, k.shmem_page_ns),
        step("free swap entries", c.swap, k.swap_entry_ns),
        step("zap_huge_pmd (THPs)", c.thps, k.thp_ns),
        step("hugetlb pages", c.hugetlb, k.hugetlb_page_ns),
        step("munlock pages", c.locked, k.locked_page_ns),
        step("per VMA (tree, remove_vma)", c.vmas, k.vma_ns),
        step("free_pgtables (tables)", c.tables, k.table_ns),
        step("forced TLB flushes", c.forced_flushes, k.flush_ns),
        step("flush IPIs", c.ipis, k.ipi_ns),
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
        + v.file as f64 * k.file_pte_ns
        + (v.zero + v.pfn) as f64 * k.zero_pte_ns
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
    /// Page cache pages mapped (read).
    pub file: Vec<(u64, f64)>,
    /// Zero-page PTEs (anonymous memory read, never written).
    pub zero: Vec<(u64, f64)>,
    /// shmem pages, written (dirty shared PTEs: a forced flush per PTE table).
    pub shmem: Vec<(u64, f64)>,
    /// Swapped-out pages.
    pub swap: Vec<(u64, f64)>,
    /// Pages in THPs.
    pub thp: Vec<(u64, f64)>,
    /// 2 MiB hugetlb pages.
    pub hugetlb: Vec<(u64, f64)>,
    /// One-page VMAs.
    pub vmas: Vec<(u64, f64)>,
    /// mlocked pages.
    pub locked: Vec<(u64, f64)>,
    /// Anonymous pages one per PTE table.
    pub sparse: Vec<(u64, f64)>,
    /// shmem pages one per PTE table, written (each table: a forced flush).
    pub sparse_shm: Vec<(u64, f64)>,
    /// shmem pages one per PTE table, only read (clean PTEs: no forced flush).
    pub sparse_shm_ro: Vec<(u64, f64)>,
    /// A flush IPI: an munmap's flush with a thread of the mm running on another CPU, less the
    /// same munmap without it (ns per munmap).
    pub ipi: Option<f64>,
}

/// The cost per unit of a workload: the least-squares line through its points that starts
/// at the base (`Σ n·(t − base) / Σ n²`), so fixed costs stay out of it.
fn per_unit(points: &[(u64, f64)], base: f64) -> Option<f64> {
    let den: f64 = points.iter().map(|&(n, _)| (n as f64).powi(2)).sum();
    let num: f64 = points.iter().map(|&(n, t)| n as f64 * (t - base)).sum();
    (den > 0.0).then(|| (num / den).max(0.0))
}

/// Fits the costs to the timings; what was not timed keeps `fallback`'s figure and is listed.
///
/// Each shape's per-unit figure holds more than its own step, and the fit takes the other
/// steps out: a dense page brings 1/512 of a PTE table (one table maps 512 pages), a written
/// dense shmem page also 1/512 of a forced flush, a one-page VMA (a page apart) its page and
/// 1/256 of a table, an mlocked page its anonymous page and 1/512 of a table. The table is
/// what a page one per table (`sparse`) costs beyond a dense one; the flush is what a written
/// sparse shmem page costs beyond a read one.
pub fn fit(t: &Timings, fallback: &Costs, source: String) -> Costs {
    let mut c = fallback.clone();
    c.source = source;
    let mut notes = Vec::new();
    let mut set = |v: &mut f64, s: Option<f64>, name: &str| match s {
        Some(s) => *v = s.max(0.0),
        None => notes.push(c_unmeasured(name, "not timed on this host")),
    };
    set(&mut c.base_ns, t.base, "base_ns");
    let b = c.base_ns;
    let dense = per_unit(&t.anon, b);
    let sparse = per_unit(&t.sparse, b);
    // sparse = anon + table, dense = anon + table / 512
    set(
        &mut c.table_ns,
        dense.zip(sparse).map(|(d, s)| (s - d) * 512.0 / 511.0),
        "table_ns",
    );
    let table = c.table_ns;
    set(
        &mut c.anon_page_ns,
        dense.map(|d| d - table / 512.0),
        "anon_page_ns",
    );
    set(
        &mut c.kept_pte_ns,
        per_unit(&t.kept, b).map(|k| k - table / 512.0),
        "kept_pte_ns",
    );
    set(
        &mut c.file_pte_ns,
        per_unit(&t.file, b).map(|k| k - table / 512.0),
        "file_pte_ns",
    );
    set(
        &mut c.zero_pte_ns,
        per_unit(&t.zero, b).map(|k| k - table / 512.0),
        "zero_pte_ns",
    );
    set(
        &mut c.flush_ns,
        per_unit(&t.sparse_shm, b)
            .zip(per_unit(&t.sparse_shm_ro, b))
            .map(|(w, r)| w - r),
        "flush_ns",
    );
    let flush = c.flush_ns;
    set(
        &mut c.shmem_page_ns,
        per_unit(&t.shmem, b).map(|s| s - (table + flush) / 512.0),
        "shmem_page_ns",
    );
    set(
        &mut c.swap_entry_ns,
        per_unit(&t.swap, b).map(|s| s - table / 512.0),
        "swap_entry_ns",
    );
    set(
        &mut c.thp_ns,
        per_unit(&t.thp, b).map(|s| s * 512.0),
        "thp_ns",
    );
    set(
        &mut c.hugetlb_page_ns,
        per_unit(&t.hugetlb, b),
        "hugetlb_page_ns",
    );
    let anon = c.anon_page_ns;
    set(
        &mut c.vma_ns,
        per_unit(&t.vmas, b).map(|s| s - anon - table / 256.0),
        "vma_ns",
    );
    set(
        &mut c.locked_page_ns,
        per_unit(&t.locked, b).map(|s| s - anon - table / 512.0),
        "locked_page_ns",
    );
    set(&mut c.ipi_ns, t.ipi, "ipi_ns");
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
    fn fit_takes_lines_through_the_base_and_takes_the_other_steps_out() {
        // Made from known costs: anon page 99, table 512 (a dense page: 99 + 1 = 100, a
        // sparse one 611), forced flush 2,560 (a dense written shmem page: 800 + 1 + 5),
        // shmem page 800, one-page VMA 299 (with its page and 1/256 of a table: 400).
        let line = |per: f64, ns: [u64; 2]| ns.map(|n| (n, 50_000.0 + per * n as f64)).to_vec();
        let t = Timings {
            base: Some(50_000.0),
            anon: line(100.0, [1000, 3000]),
            sparse: line(611.0, [10, 40]),
            sparse_shm: line(800.0 + 512.0 + 2560.0, [10, 40]),
            sparse_shm_ro: line(800.0 + 512.0, [10, 40]),
            shmem: line(806.0, [1000, 3000]),
            vmas: line(400.0, [100, 300]),
            thp: vec![(512, 60_000.0), (1536, 80_000.0)],
            ipi: Some(3_000.0),
            ..Default::default()
        };
        let c = fit(&t, &Costs::shipped(), "test".into());
        let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert_eq!(c.base_ns, 50_000.0);
        assert!(near(c.table_ns, 512.0), "{}", c.table_ns);
        assert!(near(c.anon_page_ns, 99.0), "{}", c.anon_page_ns);
        assert!(near(c.flush_ns, 2560.0), "{}", c.flush_ns);
        assert!(near(c.shmem_page_ns, 800.0), "{}", c.shmem_page_ns);
        assert!(near(c.vma_ns, 299.0), "{}", c.vma_ns);
        assert_eq!(c.ipi_ns, 3_000.0);
        // (512·10,000 + 1536·30,000) / (512² + 1536²) per page, times 512.
        let per = (512.0 * 10_000.0 + 1536.0 * 30_000.0) / (512.0f64.powi(2) + 1536.0f64.powi(2));
        assert!(near(c.thp_ns, per * 512.0));
        // not timed: kept from the fallback, and said so
        assert_eq!(c.swap_entry_ns, Costs::shipped().swap_entry_ns);
        assert!(c.unmeasured.iter().any(|u| u.starts_with("swap_entry_ns")));
        assert!(c
            .unmeasured
            .iter()
            .any(|u| u.starts_with("hugetlb_page_ns")));
        assert!(!c.unmeasured.iter().any(|u| u.starts_with("flush_ns")));
    }

    #[test]
    fn exit_counts_split_freed_and_kept_anon_pages() {
        let rec = "X P munlock_vma_pages_all vmas=1 pages=8\n\
                   X P unmap_single_vma vma=0-0x400000 branch=page_range ptes=1030 anon=1024 file=6 shmem=0 swap=2 zero=0 pfn=0 huge_pmd=1 hugetlb=0\n\
                   X P free_pgtables pte=2 pmd=1 pud=1\n\
                   X P tlb_finish_mmu flushes=3 pages_freed=301 forced=2 ipis=4\n\
                   X P remove_vma vmas=1\n";
        let (c, v) = exit_counts(rec, 'P');
        assert_eq!(v.len(), 1);
        assert_eq!(c.thps, 1);
        assert_eq!(c.anon_freed, 300); // 301 freed, one of them the THP
        assert_eq!((c.kept_ptes, c.file_ptes), (512 - 300, 6));
        assert_eq!((c.swap, c.vmas, c.locked), (2, 1, 8));
        assert_eq!((c.tables, c.forced_flushes, c.ipis), (4, 2, 4));
        let p = predict(&c, &Costs::shipped());
        let sum: f64 = p.by_step.iter().map(|s| s.2).sum();
        assert!((p.total_ns - sum).abs() < 1e-6 && p.total_ns > 0.0);
    }
}
