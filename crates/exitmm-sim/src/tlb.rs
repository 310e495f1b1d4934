//! Simulated CPUs with TLBs and paging-structure caches, x86's TLB-shootdown policy, and a
//! use-after-free detector driven by frame generations.
//!
//! Each CPU caches translations `(mm, page) → (frame, frame generation, writable)` and, for
//! the walk, `(mm, 2 MiB slot) → (PTE table frame, its generation)`. Entries are filled by
//! accesses (and by speculative walks of lazy-TLB CPUs) and evicted at random, from a seeded
//! generator, so runs are reproducible. Every freed frame gets a new generation; a hit on an
//! entry whose generation is stale is a use-after-free: the report names the CPU, the address,
//! the frame and the kernel step that freed it.

use crate::gen::Rng;
use exitmm_kernel::arch::MmId;
use exitmm_kernel::page::Pfn;
use exitmm_kernel::pgtable as pt;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Read access to page-table memory, for the hardware walker.
pub trait Tables {
    /// The entries of table frame `pfn`.
    fn table(&self, pfn: Pfn) -> &[u64; 512];
}

/// x86's `tlb_single_page_flush_ceiling`: ranged flushes of more pages flush the whole mm.
pub const SINGLE_PAGE_FLUSH_CEILING: u64 = 33;

#[derive(Clone, Copy, Debug)]
struct Entry {
    pfn: Pfn,
    gen: u32,
    write: bool,
}

/// Entries a CPU's TLB holds (an x86 second-level TLB holds about this many).
pub const TLB_ENTRIES: usize = 1536;
/// Entries a CPU's walk cache holds (x86 PDE caches are a few dozen entries).
pub const WALK_CACHE_ENTRIES: usize = 32;

/// A cache of one CPU, split per mm so that flushing an mm is dropping its map; it holds at
/// most `cap` entries, and a fill into a full cache evicts one at random.
#[derive(Debug)]
struct Cache {
    maps: BTreeMap<MmId, BTreeMap<u64, Entry>>,
    len: usize,
    cap: usize,
}

impl Cache {
    fn new(cap: usize) -> Self {
        Cache {
            maps: BTreeMap::new(),
            len: 0,
            cap,
        }
    }

    fn get(&self, mm: MmId, key: u64) -> Option<Entry> {
        self.maps.get(&mm)?.get(&key).copied()
    }

    fn insert(&mut self, mm: MmId, key: u64, e: Entry, rng: &mut Rng) {
        if self.len >= self.cap {
            if let Some((m, k)) = self.pick(rng) {
                self.remove(m, k);
            }
        }
        if self.maps.entry(mm).or_default().insert(key, e).is_none() {
            self.len += 1;
        }
    }

    fn drop_mm(&mut self, mm: MmId) {
        if let Some(t) = self.maps.remove(&mm) {
            self.len -= t.len();
        }
    }

    /// Drops the keys in `[lo, hi)` of `mm`.
    fn drop_range(&mut self, mm: MmId, lo: u64, hi: u64) {
        if let Some(t) = self.maps.get_mut(&mm) {
            let mut tail = t.split_off(&lo);
            let mut after = tail.split_off(&hi);
            t.append(&mut after);
            self.len -= tail.len();
            if t.is_empty() {
                self.maps.remove(&mm);
            }
        }
    }

    /// A key picked from the seeded generator in O(log n): the first key at or after a random
    /// point of the key space of a random mm (wrapping around), so runs are reproducible.
    fn pick(&self, rng: &mut Rng) -> Option<(MmId, u64)> {
        let n = self.maps.len() as u64;
        let (mm, t) = self.maps.iter().nth(rng.below(n.max(1)) as usize)?;
        let (lo, hi) = (*t.keys().next()?, *t.keys().next_back()?);
        let point = lo.wrapping_add(rng.below(hi.wrapping_sub(lo).max(1)));
        t.range(point..)
            .next()
            .or_else(|| t.iter().next())
            .map(|(k, _)| (*mm, *k))
    }

    fn remove(&mut self, mm: MmId, key: u64) {
        if let Some(t) = self.maps.get_mut(&mm) {
            if t.remove(&key).is_some() {
                self.len -= 1;
            }
            if t.is_empty() {
                self.maps.remove(&mm);
            }
        }
    }
}

/// Sets and ways of a CPU's TLB (128 x 12 = 1,536 entries, like an x86 second-level TLB).
const TLB_SETS: usize = 128;
const TLB_WAYS: usize = TLB_ENTRIES / TLB_SETS;

#[derive(Clone, Copy, Debug)]
struct Slot {
    mm: MmId,
    page: u64,
    e: Entry,
}

/// A set-associative TLB: a page can live in the `TLB_WAYS` slots of one set; a fill into a
/// full set replaces a way chosen by the seeded generator.
#[derive(Debug)]
struct Tlb {
    slots: Vec<Option<Slot>>,
}

impl Tlb {
    fn new() -> Self {
        Tlb {
            slots: vec![None; TLB_ENTRIES],
        }
    }

    fn set(page: u64) -> std::ops::Range<usize> {
        let s = ((page >> pt::PAGE_SHIFT) as usize) % TLB_SETS;
        s * TLB_WAYS..(s + 1) * TLB_WAYS
    }

    fn get(&self, mm: MmId, page: u64) -> Option<Entry> {
        self.slots[Self::set(page)]
            .iter()
            .flatten()
            .find(|s| s.mm == mm && s.page == page)
            .map(|s| s.e)
    }

    fn insert(&mut self, mm: MmId, page: u64, e: Entry, rng: &mut Rng) {
        let ways = &mut self.slots[Self::set(page)];
        let i = ways
            .iter()
            .position(|s| s.is_some_and(|s| s.mm == mm && s.page == page))
            .or_else(|| ways.iter().position(|s| s.is_none()))
            .unwrap_or_else(|| rng.below(TLB_WAYS as u64) as usize);
        ways[i] = Some(Slot { mm, page, e });
    }

    fn drop_mm(&mut self, mm: MmId) {
        for s in &mut self.slots {
            if s.is_some_and(|s| s.mm == mm) {
                *s = None;
            }
        }
    }

    /// INVLPG of every page in `[lo, hi)` (or a scan, when that is fewer steps).
    fn drop_range(&mut self, mm: MmId, lo: u64, hi: u64) {
        let pages = (hi - lo) >> pt::PAGE_SHIFT;
        if pages as usize <= TLB_SETS {
            let mut p = lo;
            while p < hi {
                for s in &mut self.slots[Self::set(p)] {
                    if s.is_some_and(|s| s.mm == mm && s.page == p) {
                        *s = None;
                    }
                }
                p += pt::PAGE_SIZE;
            }
        } else {
            for s in &mut self.slots {
                if s.is_some_and(|s| s.mm == mm && s.page >= lo && s.page < hi) {
                    *s = None;
                }
            }
        }
    }

    fn range(&self, mm: MmId, lo: u64, hi: u64) -> impl Iterator<Item = (u64, Entry)> + '_ {
        self.slots
            .iter()
            .flatten()
            .filter(move |s| s.mm == mm && s.page >= lo && s.page < hi)
            .map(|s| (s.page, s.e))
    }

    /// Evicts the entry in a random slot, if that slot holds one.
    fn evict(&mut self, rng: &mut Rng) {
        let i = rng.below(TLB_ENTRIES as u64) as usize;
        self.slots[i] = None;
    }
}

/// One simulated CPU.
#[derive(Debug)]
pub struct Cpu {
    tlb: Tlb,
    /// PDE cache: 2 MiB slot -> PTE table.
    psc: Cache,
    /// PDPTE cache: 1 GiB slot -> PMD table.
    pdpte: Cache,
    /// The mm whose page tables are loaded (CR3), if any.
    pub loaded: Option<MmId>,
    /// Running a kernel thread with `loaded` kept as `active_mm` (lazy TLB).
    pub lazy: bool,
}

/// What went wrong, as the detector saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The CPU whose cached entry was stale.
    pub cpu: usize,
    /// The mm and address used.
    pub mm: MmId,
    /// Virtual address.
    pub va: u64,
    /// The frame the stale entry pointed at.
    pub pfn: Pfn,
    /// What the entry was: a user page, or a page table reached through the walk cache.
    pub kind: &'static str,
    /// The kernel step that freed the frame (or, for a stale writable entry, released the lock).
    pub step: &'static str,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.kind.starts_with("a user page") || self.kind.starts_with("a page table")
        {
            "use-after-free"
        } else {
            "stale translation"
        };
        write!(
            f,
            "{what}: CPU {} used {} at {:#x} (mm {}) -> frame {}; step: {}",
            self.cpu, self.kind, self.va, self.mm, self.pfn, self.step
        )
    }
}

/// Shootdown counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlbStats {
    /// IPIs sent to other CPUs.
    pub ipis: u64,
    /// Full (whole-mm) flushes, per CPU reached.
    pub full: u64,
    /// Ranged flushes, per CPU reached.
    pub ranged: u64,
    /// Accesses that hit.
    pub hits: u64,
    /// Accesses that walked.
    pub walks: u64,
}

/// One `flush_tlb_mm_range`, as a trace shows it: who flushed, in which kernel step, and which
/// other CPUs it sent an IPI to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlushEvent {
    /// The kernel step that flushed.
    pub step: &'static str,
    /// The CPU the kernel ran on.
    pub cpu: usize,
    /// The CPUs that got an IPI.
    pub ipis: Vec<usize>,
    /// A whole-mm flush (else a range).
    pub full: bool,
}

/// Faults injected into the arch flush code (the kernel's own injections live in its Config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchInject {
    /// Flushes do not IPI other CPUs.
    pub skip_ipi: bool,
    /// Flushes that freed page tables do not reach lazy-TLB CPUs.
    pub skip_lazy_flush: bool,
}

/// A frame's generation, bumped at every free, in the low 24 bits (a stale entry goes unseen
/// only if its frame was freed a multiple of 2^24 times since the entry was filled), and the
/// step that last freed it (an index into `Cpus::steps`) in the high 8: four bytes a frame.
#[derive(Clone, Copy, Debug, Default)]
struct FrameGen(u32);

impl FrameGen {
    const GEN_MASK: u32 = (1 << 24) - 1;

    fn gen(self) -> u32 {
        self.0 & Self::GEN_MASK
    }

    fn by(self) -> usize {
        (self.0 >> 24) as usize
    }

    fn freed(self, by: u8) -> Self {
        FrameGen((self.gen() + 1) & Self::GEN_MASK | (by as u32) << 24)
    }
}

/// A task that keeps touching memory on another CPU while the kernel works.
#[derive(Clone, Debug)]
pub struct Runner {
    /// Its name in the script.
    pub name: String,
    /// Its CPU.
    pub cpu: usize,
    /// Its mm.
    pub mm: MmId,
    /// The range it touches, and whether it writes.
    pub start: u64,
    /// Length of the range.
    pub len: u64,
    /// Writes (else reads).
    pub write: bool,
}

/// The CPUs.
#[derive(Debug)]
pub struct Cpus {
    /// The CPUs.
    pub cpus: Vec<Cpu>,
    /// The CPU the kernel is running on.
    pub current: usize,
    cpumask: HashMap<MmId, BTreeSet<usize>>,
    pgd: HashMap<MmId, Pfn>,
    /// Generation and the step that last freed it, by PFN, of every frame a TLB or walk
    /// cache has held (one store per free). A frame beyond it was never cached, so no entry
    /// can be stale for it and its frees need no record: the first fill finds generation 0.
    gens: Vec<FrameGen>,
    steps: Vec<&'static str>,
    /// The kernel step now running.
    pub step: &'static str,
    rng: Rng,
    /// Tasks running on other CPUs during kernel work.
    pub runners: Vec<Runner>,
    /// Injected arch faults.
    pub inject: ArchInject,
    /// Counters.
    pub stats: TlbStats,
    /// Violations found.
    pub violations: Vec<Violation>,
    /// Every flush, when a trace asks for them (`None`: not kept).
    pub flush_log: Option<Vec<FlushEvent>>,
}

impl Cpus {
    /// `n` CPUs, with a seeded generator for fills and evictions.
    pub fn new(n: usize, seed: u64) -> Self {
        Cpus {
            cpus: (0..n.max(1))
                .map(|_| Cpu {
                    tlb: Tlb::new(),
                    psc: Cache::new(WALK_CACHE_ENTRIES),
                    pdpte: Cache::new(WALK_CACHE_ENTRIES / 4),
                    loaded: None,
                    lazy: false,
                })
                .collect(),
            current: 0,
            cpumask: HashMap::new(),
            pgd: HashMap::new(),
            gens: Vec::new(),
            steps: vec!["?"],
            step: "-",
            rng: Rng::new(seed),
            runners: Vec::new(),
            inject: ArchInject::default(),
            stats: TlbStats::default(),
            violations: Vec::new(),
            flush_log: None,
        }
    }

    fn gen(&self, pfn: Pfn) -> u32 {
        self.gens.get(pfn as usize).map_or(0, |g| g.gen())
    }

    /// The generation of a frame about to be cached; from now on its frees are recorded.
    fn gen_cached(&mut self, pfn: Pfn) -> u32 {
        let i = pfn as usize;
        if self.gens.len() <= i {
            self.gens
                .resize((i + 1).next_power_of_two().max(1024), FrameGen::default());
        }
        self.gens[i].gen()
    }

    /// A frame was freed: new generation, and remember who freed it.
    pub fn frame_freed(&mut self, pfn: Pfn) {
        let i = pfn as usize;
        if self.gens.len() <= i {
            // Never cached: nothing can hold a stale translation to it.
            return;
        }
        let last = self.steps.len() - 1;
        let step = if std::ptr::eq(self.steps[last], self.step) {
            last
        } else {
            match self.steps.iter().position(|s| *s == self.step) {
                Some(k) => k,
                None => {
                    self.steps.push(self.step);
                    self.steps.len() - 1
                }
            }
        };
        self.gens[i] = self.gens[i].freed(step as u8);
    }

    /// `switch_mm` on `cpu`: load `mm` (with its PGD); the old mm keeps the CPU in its mask only
    /// while lazy.
    pub fn switch_mm(&mut self, cpu: usize, mm: MmId, pgd: Pfn) {
        self.pgd.insert(mm, pgd);
        let c = &mut self.cpus[cpu];
        if let Some(old) = c.loaded {
            if old != mm {
                if let Some(m) = self.cpumask.get_mut(&old) {
                    m.remove(&cpu);
                }
                // The CPU starts the new mm with nothing cached for it.
                c.tlb.drop_mm(mm);
                c.psc.drop_mm(mm);
                c.pdpte.drop_mm(mm);
            }
        }
        if c.lazy && c.loaded == Some(mm) {
            // Back from lazy mode: flushes it skipped are caught up (x86's tlb_gen check).
            c.tlb.drop_mm(mm);
            c.psc.drop_mm(mm);
            c.pdpte.drop_mm(mm);
        }
        c.loaded = Some(mm);
        c.lazy = false;
        self.cpumask.entry(mm).or_default().insert(cpu);
    }

    /// `enter_lazy_tlb`: `cpu` runs a kernel thread and keeps its mm loaded.
    pub fn enter_lazy(&mut self, cpu: usize) {
        self.cpus[cpu].lazy = true;
    }

    /// The mm is gone (`__mmdrop`): no CPU may keep it loaded.
    pub fn mm_gone(&mut self, mm: MmId) {
        for c in &mut self.cpus {
            if c.loaded == Some(mm) {
                c.loaded = None;
                c.lazy = false;
            }
            c.tlb.drop_mm(mm);
            c.psc.drop_mm(mm);
            c.pdpte.drop_mm(mm);
        }
        self.cpumask.remove(&mm);
        self.runners.retain(|r| r.mm != mm);
    }

    /// `flush_tlb_mm_range` (x86): the local CPU invalidates; every other CPU in the mm's
    /// cpumask gets an IPI, except lazy ones when no page table was freed; more than
    /// [`SINGLE_PAGE_FLUSH_CEILING`] pages become a full flush.
    pub fn flush(&mut self, mm: MmId, range: Option<(u64, u64, u32)>, freed_tables: bool) {
        let targets: Vec<usize> = self
            .cpumask
            .get(&mm)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default();
        let full = match range {
            None => true,
            Some((s, e, shift)) => (e.saturating_sub(s) >> shift) > SINGLE_PAGE_FLUSH_CEILING,
        };
        let (s, e) = match range {
            Some((s, e, _)) if !full => (s, e),
            _ => (0, u64::MAX),
        };
        let mut must_hold_nothing = Vec::new();
        let mut ipis = Vec::new();
        for cpu in targets {
            let lazy = self.cpus[cpu].lazy;
            if cpu != self.current {
                if lazy && !freed_tables {
                    continue; // it will flush when it switches back (tlb_gen), if ever
                }
                must_hold_nothing.push(cpu);
                if (lazy && self.inject.skip_lazy_flush) || self.inject.skip_ipi {
                    continue; // injected: the flush never reaches this CPU
                }
                self.stats.ipis += 1;
                if self.flush_log.is_some() {
                    ipis.push(cpu);
                }
            } else {
                must_hold_nothing.push(cpu);
            }
            let c = &mut self.cpus[cpu];
            if full {
                self.stats.full += 1;
            } else {
                self.stats.ranged += 1;
            }
            if full {
                c.tlb.drop_mm(mm);
                c.psc.drop_mm(mm);
                c.pdpte.drop_mm(mm);
            } else {
                c.tlb.drop_range(mm, s, e);
                // INVLPG drops the paging-structure entries for those addresses too.
                c.psc
                    .drop_range(mm, s >> pt::PMD_SHIFT, ((e - 1) >> pt::PMD_SHIFT) + 1);
                c.pdpte
                    .drop_range(mm, s >> pt::PUD_SHIFT, ((e - 1) >> pt::PUD_SHIFT) + 1);
            }
        }
        if let Some(log) = self.flush_log.as_mut() {
            log.push(FlushEvent {
                step: self.step,
                cpu: self.current,
                ipis,
                full,
            });
        }
        // After the flush, no CPU it had to reach may still translate the range.
        for cpu in must_hold_nothing {
            let stale = self.cpus[cpu].tlb.range(mm, s, e).next();
            if let Some((va, entry)) = stale {
                let pfn = entry.pfn;
                self.violations.push(Violation {
                    cpu,
                    mm,
                    va,
                    pfn,
                    kind: "a stale translation after a TLB flush",
                    step: self.step,
                });
            }
        }
    }

    /// A memory access by `cpu` to `va` of `mm`, through its TLB: a hit checks the frame's
    /// generation; a miss walks the tables (through the walk cache, checking the tables'
    /// generations) and fills. Returns false if the page is not mapped (a fault).
    pub fn access(
        &mut self,
        tables: &dyn Tables,
        cpu: usize,
        mm: MmId,
        va: u64,
        write: bool,
    ) -> bool {
        self.access_as(tables, cpu, mm, va, write, false)
    }

    /// `access`, or (`walk_only`) a speculative page walk that does not look in the TLB.
    fn access_as(
        &mut self,
        tables: &dyn Tables,
        cpu: usize,
        mm: MmId,
        va: u64,
        write: bool,
        walk_only: bool,
    ) -> bool {
        let page = va & !(pt::PAGE_SIZE - 1);
        if let Some(e) = self.cpus[cpu].tlb.get(mm, page).filter(|_| !walk_only) {
            if !write || e.write {
                self.stats.hits += 1;
                if e.gen != self.gen(e.pfn) {
                    self.report(cpu, mm, va, e.pfn, "a user page");
                }
                return true;
            }
        }
        self.stats.walks += 1;
        // The walk: PDE cache (-> PTE table), else PDPTE cache (-> PMD table), else from the PGD;
        // a cached entry to a freed table is a use-after-free of that table.
        let slot = va >> pt::PMD_SHIFT;
        let cached = self.cpus[cpu].psc.get(mm, slot);
        let pte_table = match self.checked_table(cached, cpu, mm, va) {
            Err(()) => return false,
            Ok(Some(t)) => t,
            Ok(None) => {
                let gslot = va >> pt::PUD_SHIFT;
                let cached = self.cpus[cpu].pdpte.get(mm, gslot);
                let pmd_table = match self.checked_table(cached, cpu, mm, va) {
                    Err(()) => return false,
                    Ok(Some(t)) => t,
                    Ok(None) => {
                        let Some(&pgd) = self.pgd.get(&mm) else {
                            return false;
                        };
                        let e = tables.table(pgd)[pt::Level::Pgd.index(va)];
                        if !pt::present(e) {
                            return false;
                        }
                        let e = tables.table(pt::pfn_of(e))[pt::Level::Pud.index(va)];
                        if pt::leaf(e) {
                            // A 1 GiB leaf: no PMD table to cache.
                            return self.fill_huge(cpu, mm, page, e, write);
                        }
                        if !pt::present(e) {
                            return false;
                        }
                        let t = pt::pfn_of(e);
                        let gen = self.gen_cached(t);
                        self.cpus[cpu].pdpte.insert(
                            mm,
                            gslot,
                            Entry {
                                pfn: t,
                                gen,
                                write: false,
                            },
                            &mut self.rng,
                        );
                        t
                    }
                };
                let e = tables.table(pmd_table)[pt::Level::Pmd.index(va)];
                if pt::leaf(e) {
                    // A 2 MiB leaf: no PTE table to cache.
                    return self.fill_huge(cpu, mm, page, e, write);
                }
                if !pt::present(e) {
                    return false;
                }
                let t = pt::pfn_of(e);
                let gen = self.gen_cached(t);
                self.cpus[cpu].psc.insert(
                    mm,
                    slot,
                    Entry {
                        pfn: t,
                        gen,
                        write: false,
                    },
                    &mut self.rng,
                );
                t
            }
        };
        let e = tables.table(pte_table)[pt::Level::Pte.index(va)];
        if !pt::present(e) || (write && e & pt::RW == 0) {
            return false;
        }
        let pfn = pt::pfn_of(e);
        let gen = self.gen_cached(pfn);
        self.cpus[cpu].tlb.insert(
            mm,
            page,
            Entry {
                pfn,
                gen,
                write: e & pt::RW != 0,
            },
            &mut self.rng,
        );
        true
    }

    /// The end of a walk that met a huge leaf `e`: the TLB caches the translation of `page`,
    /// to the folio's head (whose generation the kernel bumps when the folio is freed).
    fn fill_huge(&mut self, cpu: usize, mm: MmId, page: u64, e: u64, write: bool) -> bool {
        if write && e & pt::RW == 0 {
            return false;
        }
        let pfn = pt::pfn_of(e);
        let gen = self.gen_cached(pfn);
        self.cpus[cpu].tlb.insert(
            mm,
            page,
            Entry {
                pfn,
                gen,
                write: e & pt::RW != 0,
            },
            &mut self.rng,
        );
        true
    }

    /// A walk-cache entry, if any, checked against its table's generation: `Err` (and a report)
    /// when the cached table has been freed.
    fn checked_table(
        &mut self,
        cached: Option<Entry>,
        cpu: usize,
        mm: MmId,
        va: u64,
    ) -> Result<Option<Pfn>, ()> {
        match cached {
            Some(e) if e.gen != self.gen(e.pfn) => {
                self.report(cpu, mm, va, e.pfn, "a page table");
                Err(())
            }
            Some(e) => Ok(Some(e.pfn)),
            None => Ok(None),
        }
    }

    fn report(&mut self, cpu: usize, mm: MmId, va: u64, pfn: Pfn, kind: &'static str) {
        let step = self.steps[self.gens.get(pfn as usize).map_or(0, |g| g.by())];
        self.violations.push(Violation {
            cpu,
            mm,
            va,
            pfn,
            kind,
            step,
        });
    }

    /// A point where other CPUs run: every runner touches a random page of its range, lazy CPUs
    /// may walk speculatively, and a random entry may be evicted.
    pub fn others_run(&mut self, tables: &dyn Tables) {
        self.runners_run(tables);
        self.lazy_walks_and_evictions(tables);
    }

    /// Right after a user page was freed: the tasks on other CPUs run. (A freed page cannot
    /// make a walk-cache entry stale, so lazy CPUs' walks wait for the next table free, flush
    /// or scheduling point.)
    #[inline]
    pub fn runners_run(&mut self, tables: &dyn Tables) {
        if !self.runners.is_empty() {
            self.runners_access(tables);
        }
    }

    fn runners_access(&mut self, tables: &dyn Tables) {
        for i in 0..self.runners.len() {
            let Runner {
                cpu,
                mm,
                start,
                len,
                write,
                ..
            } = self.runners[i];
            if cpu == self.current || self.cpus[cpu].loaded != Some(mm) || len == 0 {
                continue;
            }
            let va =
                start.wrapping_add(self.rng.below(len.div_ceil(pt::PAGE_SIZE)) << pt::PAGE_SHIFT);
            self.access(tables, cpu, mm, va, write);
        }
    }

    fn lazy_walks_and_evictions(&mut self, tables: &dyn Tables) {
        for cpu in 0..self.cpus.len() {
            if cpu == self.current || !self.cpus[cpu].lazy {
                continue;
            }
            // Only walks: a lazy CPU runs kernel code, which never uses its leftover user
            // translations (they are flushed when it switches back), but the hardware may walk
            // page tables speculatively at any time, which is why freed tables must reach it.
            if let Some((mm, slot)) = self.cpus[cpu].psc.pick(&mut self.rng) {
                self.access_as(tables, cpu, mm, slot << pt::PMD_SHIFT, false, true);
            }
            if let Some((mm, gslot)) = self.cpus[cpu].pdpte.pick(&mut self.rng) {
                self.access_as(tables, cpu, mm, gslot << pt::PUD_SHIFT, false, true);
            }
        }
        // Hardware evicts entries when it likes.
        if self.rng.chance(1, 16) {
            let cpu = self.rng.below(self.cpus.len() as u64) as usize;
            self.cpus[cpu].tlb.evict(&mut self.rng);
        }
    }

    /// At a PTE-lock release after dirty shared pages were zapped: no CPU may still hold a
    /// writable translation into `[start, end)` (it could dirty a page the kernel has already
    /// taken out of the mapping).
    pub fn check_no_writable(&mut self, mm: MmId, start: u64, end: u64) {
        for cpu in 0..self.cpus.len() {
            // A lazy CPU runs no user code: its entries cannot write (it flushes on return).
            if self.cpus[cpu].lazy || self.cpus[cpu].loaded != Some(mm) {
                continue;
            }
            let stale: Vec<(u64, Entry)> = self.cpus[cpu]
                .tlb
                .range(mm, start, end)
                .filter(|(_, e)| e.write)
                .collect();
            for (va, e) in stale {
                self.violations.push(Violation {
                    cpu,
                    mm,
                    va,
                    pfn: e.pfn,
                    kind: "a writable translation after the PTE lock was dropped",
                    step: "zap_pte_range",
                });
            }
        }
    }

    /// CPUs in `mm`'s cpumask.
    pub fn cpus_of(&self, mm: MmId) -> usize {
        self.cpumask.get(&mm).map(|m| m.len()).unwrap_or(0)
    }
}
