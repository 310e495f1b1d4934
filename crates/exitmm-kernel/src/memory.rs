//! mm/memory.c: page-table allocation, page faults, the zap walk (`unmap_vmas` →
//! `unmap_single_vma` → `unmap_page_range` → `zap_p4d/pud/pmd/pte_range`), `free_pgtables`
//! with `free_pgd_range`'s floor/ceiling rules, and fork's `copy_page_range`.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags, Vma, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS};
use crate::mmu_gather::{DetachedTable, MmuGather, ZappedPage};
use crate::page::{PageFlags, Pfn};
use crate::pgtable::{
    self as pt, addr_end, Level, PAGE_SIZE, PGDIR_SHIFT, PMD_SHIFT, PMD_SIZE, PUD_SHIFT,
};
use crate::{Errno, Fault, Kernel};
use alloc::vec::Vec;

/// What a zap walk cleared, by kind, for the teardown report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZapStats {
    /// Present PTEs cleared (of any kind, the zero page and raw PFNs included).
    pub ptes: u64,
    /// Of which anonymous pages.
    pub anon: u64,
    /// Of which file pages.
    pub file: u64,
    /// Of which shmem pages.
    pub shmem: u64,
    /// Swap entries cleared.
    pub swap: u64,
    /// Zero-page PTEs cleared.
    pub zero: u64,
    /// Raw PFN entries cleared (`VM_PFNMAP`: no page the kernel counts behind them).
    pub pfn: u64,
    /// PMD-mapped THPs zapped by `zap_huge_pmd`.
    pub huge_pmd: u64,
    /// Hugetlb pages unmapped by `__unmap_hugepage_range`.
    pub hugetlb: u64,
    /// Shared hugetlb PMD tables this mm stopped using (`huge_pmd_unshare`).
    pub unshared: u64,
    /// What each level of the walk visited.
    pub walk: WalkStats,
}

impl ZapStats {
    /// Adds `o` into `self` (the totals of several walks).
    pub fn add(&mut self, o: &ZapStats) {
        self.ptes += o.ptes;
        self.anon += o.anon;
        self.file += o.file;
        self.shmem += o.shmem;
        self.swap += o.swap;
        self.zero += o.zero;
        self.pfn += o.pfn;
        self.huge_pmd += o.huge_pmd;
        self.hugetlb += o.hugetlb;
        self.unshared += o.unshared;
        self.walk.add(&o.walk);
    }
}

/// The levels of one zap walk: how many tables each level walked and how many present entries
/// it found there. x86-64 has four levels, so the P4D is folded into the PGD: `zap_p4d_range`
/// walks one "entry" per call, the PGD entry itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// `unmap_page_range`: present PGD entries in the range.
    pub pgd_entries: u64,
    /// `zap_p4d_range`: P4D entries (= PGD entries, folded).
    pub p4d_entries: u64,
    /// `zap_pud_range`: PUD tables walked.
    pub pud_tables: u64,
    /// `zap_pud_range`: present PUD entries (each a PMD table below).
    pub pud_entries: u64,
    /// `zap_pmd_range`: PMD tables walked.
    pub pmd_tables: u64,
    /// `zap_pmd_range`: present PMD entries (PTE tables below, or huge PMDs).
    pub pmd_entries: u64,
    /// `zap_pte_range`: PTE tables walked.
    pub pte_tables: u64,
    /// `zap_pte_range`: passes over them (a forced flush ends a pass; the next one resumes).
    pub pte_passes: u64,
}

impl WalkStats {
    fn add(&mut self, o: &WalkStats) {
        self.pgd_entries += o.pgd_entries;
        self.p4d_entries += o.p4d_entries;
        self.pud_tables += o.pud_tables;
        self.pud_entries += o.pud_entries;
        self.pmd_tables += o.pmd_tables;
        self.pmd_entries += o.pmd_entries;
        self.pte_tables += o.pte_tables;
        self.pte_passes += o.pte_passes;
    }
}

/// Which branch of `unmap_single_vma` a VMA took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapBranch {
    /// `unmap_page_range`: the page-table walk.
    PageRange,
    /// `__unmap_hugepage_range_final` under `i_mmap_lock_write`.
    Hugetlb,
    /// A hugetlb VMA without a file (failed-mmap cleanup): nothing to unmap.
    Skip,
}

impl UnmapBranch {
    /// The name the report prints.
    pub fn name(self) -> &'static str {
        match self {
            UnmapBranch::PageRange => "page_range",
            UnmapBranch::Hugetlb => "hugetlb",
            UnmapBranch::Skip => "skip",
        }
    }
}

/// What `unmap_single_vma` did for one VMA: the report's per-VMA line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmaUnmap {
    /// `vm_start`.
    pub start: u64,
    /// `vm_end`.
    pub end: u64,
    /// The branch taken.
    pub branch: UnmapBranch,
    /// `uprobe_munmap` was called (the VMA has a file).
    pub uprobe_munmap: bool,
    /// `untrack_pfn` was called (a `VM_PFNMAP` VMA).
    pub untrack_pfn: bool,
    /// `untrack_pfn` gave a PAT reservation back.
    pub pat_freed: bool,
    /// `uprobe_munmap` went past its early returns (a live mm with uprobes: not at exit).
    pub uprobe_work: bool,
    /// What the zap cleared.
    pub zap: ZapStats,
}

/// `struct zap_details`: what a zap may skip or free besides the leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZapDetails {
    /// `reclaim_pt`: free PTE tables left empty (MADV_DONTNEED with PT_RECLAIM).
    pub reclaim_pt: bool,
    /// `even_cows`: zap anonymous (COW) pages too; false for `unmap_mapping_range`, which
    /// only takes page-cache pages out of the mappings of a file.
    pub even_cows: bool,
}

impl ZapDetails {
    /// Exit, munmap, the OOM reaper: everything, no table reclaim.
    pub const ALL: ZapDetails = ZapDetails {
        reclaim_pt: false,
        even_cows: true,
    };
}

/// `mm_counter(page)`: which RSS counter a page belongs to.
pub fn mm_counter(flags: PageFlags) -> usize {
    if flags.contains(PageFlags::ANON) {
        MM_ANONPAGES
    } else if flags.contains(PageFlags::SWAPBACKED) {
        MM_SHMEMPAGES
    } else {
        MM_FILEPAGES
    }
}

/// How a new PTE for `vma` is made writable: shared writable mappings map writable at once
/// (shmem needs no write notification); private ones only after a write fault.
fn vma_pte_writable(vma: &Vma) -> bool {
    vma.flags.contains(VmFlags::SHARED | VmFlags::WRITE)
}

impl<H: Hardware> Kernel<H> {
    /// `pte_alloc_one` / `pmd_alloc_one` / `pud_alloc_one`: a zeroed table frame, counted in
    /// `pgtables_bytes` (all three levels on x86-64).
    pub(crate) fn alloc_table(&mut self, mm: &mut Mm) -> Result<Pfn, Errno> {
        let pfn = self.mem.alloc_pages(0).map_err(|_| Errno::ENOMEM)?;
        self.mem.page_mut(pfn).flags = PageFlags::PGTABLE;
        self.hw.table_alloc(pfn);
        mm.pgtables_bytes += PAGE_SIZE as i64;
        Ok(pfn)
    }

    /// The table below entry `idx` of `table`, allocating it if none (`__pud_alloc`,
    /// `__pmd_alloc`, `__pte_alloc`).
    #[inline]
    pub(crate) fn table_below(
        &mut self,
        mm: &mut Mm,
        table: Pfn,
        idx: usize,
        alloc: bool,
    ) -> Result<Option<Pfn>, Errno> {
        let e = self.hw.table(table)[idx];
        if pt::present(e) {
            debug_assert!(!pt::leaf(e), "a huge leaf where a table was expected");
            return Ok(Some(pt::pfn_of(e)));
        }
        self.table_alloc_below(mm, table, idx, alloc)
    }

    /// [`Kernel::table_below`] where the entry is empty: the new table, if `alloc`.
    #[inline(never)]
    fn table_alloc_below(
        &mut self,
        mm: &mut Mm,
        table: Pfn,
        idx: usize,
        alloc: bool,
    ) -> Result<Option<Pfn>, Errno> {
        if !alloc {
            return Ok(None);
        }
        let t = self.alloc_table(mm)?;
        self.hw.table_mut(table)[idx] = pt::mk_table(t);
        Ok(Some(t))
    }

    /// Walks to the PMD table covering `addr`, allocating the missing levels when `alloc`.
    pub fn walk_to_pmd_table(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        alloc: bool,
    ) -> Result<Option<Pfn>, Errno> {
        let Some(pud) = self.table_below(mm, mm.pgd, Level::Pgd.index(addr), alloc)? else {
            return Ok(None);
        };
        self.table_below(mm, pud, Level::Pud.index(addr), alloc)
    }

    /// Walks to the PTE table covering `addr`, allocating the missing levels when `alloc`.
    pub fn walk_to_pte_table(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        alloc: bool,
    ) -> Result<Option<Pfn>, Errno> {
        let Some(pmd) = self.walk_to_pmd_table(mm, addr, alloc)? else {
            return Ok(None);
        };
        self.table_below(mm, pmd, Level::Pmd.index(addr), alloc)
    }

    /// The PTE table covering `addr`, if the walk reaches one (no allocation; a huge leaf on
    /// the way means there is none).
    pub fn pte_table(&self, mm: &Mm, addr: u64) -> Option<Pfn> {
        let mut t = mm.pgd;
        for l in [Level::Pgd, Level::Pud, Level::Pmd] {
            let e = self.hw.table(t)[l.index(addr)];
            if !pt::present(e) || pt::leaf(e) {
                return None;
            }
            t = pt::pfn_of(e);
        }
        Some(t)
    }

    /// The entry that ends the walk to `addr`, found in one walk, and the level of the table
    /// holding it: a huge leaf (PUD or PMD) or the PTE; `None` if a level is missing.
    pub fn leaf_at(&self, mm: &Mm, addr: u64) -> Option<(u64, Level)> {
        let mut t = mm.pgd;
        for l in [Level::Pgd, Level::Pud] {
            let e = self.hw.table(t)[l.index(addr)];
            if !pt::present(e) {
                return None;
            }
            if pt::leaf(e) {
                return Some((e, l));
            }
            t = pt::pfn_of(e);
        }
        self.leaf_below_pmd(t, addr)
    }

    /// [`Kernel::leaf_at`] from the PMD table covering `addr` down.
    fn leaf_below_pmd(&self, pmd: Pfn, addr: u64) -> Option<(u64, Level)> {
        let e = self.hw.table(pmd)[Level::Pmd.index(addr)];
        if !pt::present(e) {
            return None;
        }
        if pt::leaf(e) {
            return Some((e, Level::Pmd));
        }
        Some((
            self.hw.table(pt::pfn_of(e))[Level::Pte.index(addr)],
            Level::Pte,
        ))
    }

    /// The PTE for `addr` (0 if no table reaches it).
    pub fn pte_at(&self, mm: &Mm, addr: u64) -> u64 {
        self.pte_table(mm, addr)
            .map(|t| self.hw.table(t)[Level::Pte.index(addr)])
            .unwrap_or(0)
    }

    /// `anon_vma_prepare`: give the VMA at `start` an anon_vma, reusing a compatible
    /// neighbour's (`find_mergeable_anon_vma`) or allocating one.
    pub(crate) fn anon_vma_prepare(
        &mut self,
        mm: &mut Mm,
        start: u64,
    ) -> crate::mm_types::AnonVmaId {
        if let Some(a) = mm.vmas[&start].anon_vma {
            return a;
        }
        let vma = mm.vmas[&start].clone();
        let compatible = |a: &Vma, b: &Vma| {
            a.end == b.start
                && a.file == b.file
                && (a.flags ^ b.flags).difference(VmFlags::ACCESS).is_empty()
                && b.pgoff == a.pgoff + ((b.start - a.start) >> 12)
        };
        let next = mm.vmas.range(vma.end..).next().map(|(_, v)| v.clone());
        let prev = mm
            .vmas
            .range(..vma.start)
            .next_back()
            .map(|(_, v)| v.clone());
        let reuse = next
            .filter(|n| compatible(&vma, n) && n.anon_vma.is_some() && !n.anon_chain_forked)
            .and_then(|n| n.anon_vma)
            .or_else(|| {
                prev.filter(|p| compatible(p, &vma) && p.anon_vma.is_some() && !p.anon_chain_forked)
                    .and_then(|p| p.anon_vma)
            });
        let av = match reuse {
            Some(a) => {
                self.anon_vma_get(Some(a));
                a
            }
            None => self.anon_vma_alloc(),
        };
        mm.vmas.get_mut(&start).unwrap().anon_vma = Some(av);
        av
    }

    /// `handle_mm_fault` (6.18, mm/memory.c): resolve a user access to `addr`; a write then
    /// stores a byte there.
    pub fn handle_mm_fault(&mut self, mm: &mut Mm, addr: u64, write: bool) -> Result<(), Fault> {
        self.fault_pmd = None;
        self.fault_pte = None;
        let r = self.fault(mm, addr, write, false);
        if r.is_ok() && write {
            self.user_store(mm, addr);
        }
        self.fault_pmd = None;
        self.fault_pte = None;
        r
    }

    /// The task stores a byte at `addr` (present and writable now): the page's bytes are no
    /// longer what they were, so it gets a content tag of its own; a uprobe breakpoint at that
    /// very byte is overwritten, any other stays.
    fn user_store(&mut self, mm: &Mm, addr: u64) {
        let leaf = match (self.fault_pte, self.fault_pmd) {
            (Some(e), _) => Some((e, Level::Pte)),
            (None, Some((id, slot, pmd))) if id == mm.id && slot == addr >> PMD_SHIFT => {
                self.leaf_below_pmd(pmd, addr)
            }
            _ => self.leaf_at(mm, addr),
        };
        let pfn = match leaf {
            // A byte of one base page of a THP.
            Some((e, Level::Pmd)) if !self.is_huge_zero_pmd(e) => {
                pt::pfn_of(e) + ((addr >> 12) & 511) as Pfn
            }
            Some((e, Level::Pte)) if pt::present(e) && e & pt::SPECIAL == 0 => pt::pfn_of(e),
            _ => return,
        };
        let old = self.mem.page(pfn).content;
        let c = self.new_content();
        let bp = if self.uprobe_contents.is_empty() {
            None
        } else {
            self.uprobe_contents.get(&old).cloned()
        };
        if let Some(bp) = bp {
            let mut offsets = bp.offsets;
            offsets.remove(&((addr & (PAGE_SIZE - 1)) as u16));
            if !offsets.is_empty() {
                let base = self.new_content();
                self.uprobe_contents
                    .insert(c, crate::uprobes::BreakpointPage { base, offsets });
            }
        }
        self.mem.page_mut(pfn).content = c;
    }

    /// Not one kernel step: up to `max` write accesses of a task, a page apart from `addr`,
    /// each of which [`Kernel::handle_mm_fault`] would send to `do_anonymous_page` and then
    /// store through (a writable private anonymous VMA, a PMD entry that names a PTE table or
    /// is empty where no THP may be faulted, none PTEs, no uprobe breakpoint anywhere). They
    /// are done here one after another with the same steps and in the same order (the fault
    /// path's upper tables and PTE table where missing, `do_anonymous_page`'s `anon_vma`, new
    /// page and map, then the store's new content), but with the VMA, the PTE table and those
    /// checks looked up once per table instead of once per page. It stops at the first access
    /// that is not such a fault (at the VMA's or the table's end, at a present PTE) and returns
    /// how many it did; 0 means the next access takes the whole path. An access that fails (no
    /// table or page to allocate) fails as in the fault path, and comes back with the count.
    pub fn anon_write_faults(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        max: u64,
    ) -> (u64, Result<(), Fault>) {
        if max == 0 || !self.anon_fault_runs || !self.uprobe_contents.is_empty() {
            return (0, Ok(()));
        }
        let page = addr & !(PAGE_SIZE - 1);
        let Some(vma) = mm.vma_at(page) else {
            return (0, Ok(()));
        };
        if !vma.flags.contains(VmFlags::WRITE)
            || vma.flags.intersects(VmFlags::HUGETLB | VmFlags::PFNMAP)
            || vma.special.is_some()
            || vma.file.is_some()
        {
            return (0, Ok(()));
        }
        let mut vma = vma.clone();
        // __handle_mm_fault: the PUD and PMD levels first, allocated where missing.
        let pmd = match self.fault_pmd_table(mm, page) {
            Ok(t) => t,
            Err(f) => return (0, Err(f)),
        };
        let pe = self.hw.table(pmd)[Level::Pmd.index(page)];
        let table = if pt::leaf(pe) {
            // A huge PMD: do_huge_pmd_fault's business.
            return (0, Ok(()));
        } else if pt::present(pe) {
            // A PMD entry that names a PTE table: the fault path goes straight to it.
            pt::pfn_of(pe)
        } else if self.thp_fault_allowed(mm, &vma, page) {
            // An empty PMD entry where a THP may be faulted: create_huge_pmd's business.
            return (0, Ok(()));
        } else {
            // do_anonymous_page's pte_alloc.
            match self.pte_alloc(mm, pmd, page) {
                Ok(t) => t,
                Err(f) => return (0, Err(f)),
            }
        };
        let table_end = (page | (PMD_SIZE - 1)) + 1;
        let n = max.min((vma.end.min(table_end) - page) >> 12);
        let mut done = 0;
        let r = loop {
            if done == n {
                break Ok(());
            }
            let at = page + (done << 12);
            if !pt::none(self.hw.table(table)[Level::Pte.index(at)]) {
                break Ok(());
            }
            // do_anonymous_page (a write), as in the fault path.
            let c = self.new_content();
            let pfn = match self.alloc_anon_page(mm, &vma, at, c) {
                Ok(pfn) => pfn,
                Err(f) => break Err(f),
            };
            if vma.anon_vma.is_none() {
                // alloc_anon_page has just prepared it (anon_vma_prepare).
                vma.anon_vma = mm.vmas[&vma.start].anon_vma;
            }
            self.map_page(mm, &vma, table, at, pfn, true, true);
            // user_store: the new page's bytes change (no breakpoint to keep).
            let c = self.new_content();
            self.mem.page_mut(pfn).content = c;
            done += 1;
        };
        self.anon_fault_run_pages += done;
        (done, r)
    }

    /// The fault path; `force` is GUP's `FOLL_FORCE` (mlock/populate of a read-only VMA).
    pub(crate) fn fault(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        write: bool,
        force: bool,
    ) -> Result<(), Fault> {
        let addr = addr & !(PAGE_SIZE - 1);
        let vma = mm.vma_at(addr).cloned().ok_or(Fault::Segv)?;
        let allowed = if write {
            vma.flags.contains(VmFlags::WRITE) || (force && vma.flags.contains(VmFlags::MAYWRITE))
        } else {
            vma.flags.intersects(VmFlags::ACCESS) || force
        };
        if !allowed {
            return Err(Fault::Segv);
        }
        if vma.flags.contains(VmFlags::HUGETLB) {
            return self.hugetlb_fault(mm, &vma, addr, write);
        }
        if vma.special == Some(crate::mm_types::Special::Uprobes) {
            // special_mapping_fault → xol_fault (a write is refused: no VM_WRITE).
            if pt::present(self.pte_at(mm, addr)) {
                return Ok(());
            }
            return self.xol_fault(mm, addr);
        }
        if vma.flags.contains(VmFlags::PFNMAP) {
            // The drivers map every entry at mmap time and have no ->fault: a missing entry
            // is SIGBUS; a write to a present read-only one goes to do_wp_page.
            let e = self.pte_at(mm, addr);
            if !pt::present(e) {
                return Err(Fault::Bus);
            }
            if write && e & pt::RW == 0 {
                let table = self.pte_table(mm, addr).expect("present PTE has a table");
                return self.do_wp_page(mm, &vma, table, addr);
            }
            return Ok(());
        }
        // __handle_mm_fault allocates the PUD and PMD levels; the PTE table comes with the first
        // page mapped (do_anonymous_page's pte_alloc, finish_fault, filemap_map_pages).
        let pmd = self.fault_pmd_table(mm, addr)?;
        self.fault_pmd = Some((mm.id, addr >> PMD_SHIFT, pmd));
        // create_huge_pmd / a present huge PMD (6.18 __handle_mm_fault): a PMD THP where the
        // settings allow one; a split PMD goes on at the PTE level.
        let pe = self.hw.table(pmd)[Level::Pmd.index(addr)];
        if pt::leaf(pe) {
            if self.do_huge_pmd_fault(mm, &vma, pmd, addr, write)? {
                return Ok(());
            }
        } else if !pt::present(pe)
            && self.thp_fault_allowed(mm, &vma, addr)
            && self.do_huge_pmd_anonymous_page(mm, &vma, pmd, addr, write)?
        {
            return Ok(());
        }
        // The PTE table the PMD entry read above names, if any; if it named none, or a huge
        // leaf, the huge paths above may have changed it (a split, a fallback), so it is read
        // again.
        let pe = if pt::present(pe) && !pt::leaf(pe) {
            pe
        } else {
            self.hw.table(pmd)[Level::Pmd.index(addr)]
        };
        let existing = (pt::present(pe) && !pt::leaf(pe)).then(|| pt::pfn_of(pe));
        let idx = Level::Pte.index(addr);
        let e = existing.map(|t| self.hw.table(t)[idx]).unwrap_or(0);
        if pt::none(e) {
            return if vma.file.is_none() {
                let table = match existing {
                    Some(t) => t,
                    None => self.pte_alloc(mm, pmd, addr)?,
                };
                self.fault_pte = Some(self.do_anonymous_page(mm, &vma, table, addr, write)?);
                Ok(())
            } else if !write {
                self.do_read_fault(mm, &vma, pmd, addr)
            } else if vma.flags.contains(VmFlags::SHARED) {
                self.do_shared_fault(mm, &vma, pmd, addr)
            } else {
                self.do_cow_fault(mm, &vma, pmd, addr)
            };
        }
        let table = existing.expect("a present PTE has a table");
        if pt::is_swap(e) {
            return self.do_swap_page(mm, &vma, table, addr, write);
        }
        if write && e & pt::RW == 0 {
            return self.do_wp_page(mm, &vma, table, addr);
        }
        // No fault: the hardware sets the PTE's accessed (and, on a write, dirty) bit. The page
        // itself is not dirtied here: a shared page written through an already-writable PTE is
        // `PG_dirty` only once that PTE is zapped or cleaned (zap_pte_range's set_page_dirty),
        // so another process that only reads it sees it clean.
        let t = self.hw.table_mut(table);
        t[idx] |= pt::ACCESSED | if write { pt::DIRTY } else { 0 };
        self.fault_pte = Some(t[idx]);
        Ok(())
    }

    /// `__handle_mm_fault`'s walk to the PMD table (`pgd_offset`, `p4d_alloc`, `pud_alloc`,
    /// `pmd_alloc`), missing levels allocated. In an access run a fault in the same 1 GiB as
    /// the one before takes the table that one found: a fault only ever adds upper-level
    /// tables (none is freed or moved but by munmap, mremap, exit and hugetlb unsharing, which
    /// never run inside a run), so it is the table the walk would find (a debug build checks).
    fn fault_pmd_table(&mut self, mm: &mut Mm, addr: u64) -> Result<Pfn, Fault> {
        let key = (mm.id, addr >> PUD_SHIFT);
        if let Some((id, slot, t)) = self.run_pmd {
            if (id, slot) == key {
                debug_assert_eq!(self.pmd_table_of(mm, addr), Some(t), "a stale run hint");
                return Ok(t);
            }
        }
        let t = self
            .walk_to_pmd_table(mm, addr, true)
            .map_err(|_| Fault::Oom)?
            .expect("allocated");
        if self.in_access_run {
            self.run_pmd = Some((key.0, key.1, t));
        }
        Ok(t)
    }

    /// Runs `f`: one task's user accesses one after another with nothing else in between (a
    /// `touch` of a range: [`Kernel::handle_mm_fault`] and [`Kernel::expand_stack`] only).
    /// Its faults share the walk to the PMD table ([`Kernel::fault_pmd_table`]).
    pub fn access_run<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.in_access_run = true;
        self.run_pmd = None;
        let r = f(self);
        self.in_access_run = false;
        self.run_pmd = None;
        r
    }

    /// `follow_page_pte` with `FOLL_TOUCH`, as GUP does once the page at `addr` is present
    /// (`MADV_POPULATE_*`, `mm_populate`): a write dirties the page itself when its PTE is
    /// clean (`folio_mark_dirty`; the PTE is left as it is), and the page is marked accessed.
    pub(crate) fn gup_touch(&mut self, mm: &Mm, addr: u64, write: bool) {
        let e = self.pte_at(mm, addr);
        if !pt::present(e) || e & pt::SPECIAL != 0 {
            return;
        }
        let pfn = pt::pfn_of(e);
        let p = self.mem.page_mut(pfn);
        if write && e & pt::DIRTY == 0 {
            p.flags.insert(PageFlags::DIRTY);
        }
        self.folio_mark_accessed(pfn);
    }

    /// `pte_alloc`: the PTE table under `pmd` for `addr`, allocated if missing.
    fn pte_alloc(&mut self, mm: &mut Mm, pmd: Pfn, addr: u64) -> Result<Pfn, Fault> {
        Ok(self
            .table_below(mm, pmd, Level::Pmd.index(addr), true)
            .map_err(|_| Fault::Oom)?
            .expect("allocated"))
    }

    #[allow(clippy::too_many_arguments)]
    /// Map a freshly got page at `addr`: one more mapping, one more reference, one more RSS.
    /// Returns the PTE made.
    fn map_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        table: Pfn,
        addr: u64,
        pfn: Pfn,
        write: bool,
        dirty: bool,
    ) -> u64 {
        let p = self.mem.page_mut(pfn);
        p.mapcount += 1;
        if vma.flags.contains(VmFlags::LOCKED) {
            p.flags.insert(PageFlags::MLOCKED);
        }
        let counter = mm_counter(p.flags);
        mm.rss[counter] += 1;
        let e = pt::mk_pte(pfn, write, dirty, false);
        self.hw.table_mut(table)[Level::Pte.index(addr)] = e;
        e
    }

    /// A new anonymous page for `vma` at `addr` (refcount 1, not yet mapped).
    fn alloc_anon_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        addr: u64,
        content: u32,
    ) -> Result<Pfn, Fault> {
        // anon_vma_prepare's inline part: the VMA has one already.
        let av = match vma.anon_vma {
            Some(a) => a,
            None => self.anon_vma_prepare(mm, vma.start),
        };
        let pfn = self.mem.alloc_pages(0).map_err(|_| Fault::Oom)?;
        let p = self.mem.page_mut(pfn);
        p.flags = PageFlags::ANON
            | PageFlags::ANON_EXCLUSIVE
            | PageFlags::SWAPBACKED
            | PageFlags::UPTODATE
            | PageFlags::LRU;
        p.mapping = av;
        p.index = vma.linear_index(addr) as u32;
        p.content = content;
        self.folio_add_lru_vma(pfn, vma.flags);
        Ok(pfn)
    }

    /// `do_swap_page` (6.18): the page a swap PTE names comes back. A slot only this PTE names
    /// is read without the swap cache (the synchronous device's shortcut: a new exclusive
    /// folio, the slot freed at once); a shared slot goes through the swap cache and its
    /// readahead window, and the cached folio keeps the slot unless the write is the folio's
    /// last use of it (`should_try_to_free_swap`). An exclusive page of a writable VMA is
    /// mapped writable even on a read; anything else is mapped read-only, and a write then
    /// goes on to `do_wp_page`.
    fn do_swap_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        table: Pfn,
        addr: u64,
        write: bool,
    ) -> Result<(), Fault> {
        let e = self.hw.table(table)[Level::Pte.index(addr)];
        let slot = pt::swp_offset(e);
        let mut exclusive = e & pt::SWP_EXCLUSIVE != 0;
        let si = self.swap.as_ref().expect("a swap PTE implies a device");
        let (cached, count, content) = (
            si.cache.get(&slot).copied(),
            si.count[slot as usize],
            si.content[slot as usize],
        );
        let (pfn, in_cache) = match cached {
            Some(pfn) => {
                self.swap_update_readahead(mm, vma.start, pfn, addr);
                (pfn, true)
            }
            None if count == 1 => {
                // SWP_SYNCHRONOUS_IO and __swap_count == 1: no swap cache, a fresh folio.
                exclusive = true;
                (self.alloc_anon_page(mm, vma, addr, content)?, false)
            }
            None => (self.swap_vma_readahead(mm, vma.start, addr, slot)?, true),
        };
        if in_cache && !self.mem.page(pfn).flags.contains(PageFlags::ANON) {
            // folio_add_new_anon_rmap: a folio read into the swap cache joins the VMA.
            let av = self.anon_vma_prepare(mm, vma.start);
            let p = self.mem.page_mut(pfn);
            p.flags.insert(PageFlags::ANON);
            p.mapping = av;
            p.index = vma.linear_index(addr) as u32;
        }
        if in_cache {
            // The fault's reference (swap_cache_get_folio's), the mapping's once mapped.
            self.mem.page_mut(pfn).refcount += 1;
        }
        self.swap_free(slot);
        if in_cache {
            let si = self.swap.as_ref().expect("device");
            let locked = vma.flags.contains(VmFlags::LOCKED)
                || self.mem.page(pfn).flags.contains(PageFlags::MLOCKED);
            // should_try_to_free_swap: the folio's references are the cache's and the fault's.
            if si.vm_swap_full() || locked || (write && self.folio_ref_count(pfn) == 2) {
                self.folio_free_swap(pfn);
            }
        }
        // folio_ref_count == 1: nothing but this fault holds the folio.
        let sole = in_cache && self.folio_ref_count(pfn) == 1;
        let p = self.mem.page_mut(pfn);
        if exclusive || sole {
            p.flags.insert(PageFlags::ANON_EXCLUSIVE);
        } else {
            p.flags.remove(PageFlags::ANON_EXCLUSIVE);
        }
        let writable = (exclusive || sole) && vma.flags.contains(VmFlags::WRITE);
        mm.rss[MM_SWAPENTS] -= 1;
        self.map_page(mm, vma, table, addr, pfn, writable, write && writable);
        if write && !writable {
            return self.do_wp_page(mm, vma, table, addr);
        }
        Ok(())
    }

    /// `do_anonymous_page`: a read maps the shared zero page; a write gets a new zeroed page.
    /// Returns the PTE made.
    fn do_anonymous_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        table: Pfn,
        addr: u64,
        write: bool,
    ) -> Result<u64, Fault> {
        if !write {
            let e = pt::mk_pte(self.zero_pfn, false, false, true);
            self.hw.table_mut(table)[Level::Pte.index(addr)] = e;
            return Ok(e);
        }
        let c = self.new_content();
        let pfn = self.alloc_anon_page(mm, vma, addr, c)?;
        Ok(self.map_page(
            mm,
            vma,
            table,
            addr,
            pfn,
            vma.flags.contains(VmFlags::WRITE),
            true,
        ))
    }

    /// `__do_fault` → `shmem_fault`: the cached page for `addr`, allocated if a hole.
    fn do_fault_page(&mut self, vma: &Vma, addr: u64) -> Result<Pfn, Fault> {
        let file = vma.file.expect("file VMA");
        self.shmem_get_page(file, vma.linear_index(addr))
            // vmf_error: only ENOMEM is an OOM; a failed charge (ENOSPC) is SIGBUS.
            .map_err(|e| match e {
                Some(Errno::ENOMEM) => Fault::Oom,
                _ => Fault::Bus,
            })
    }

    /// `do_fault_around` → `filemap_map_pages`: map already-cached pages around `addr`, in a
    /// window of `fault_around_pages` aligned to its size, clamped to the VMA, the PTE table
    /// and the end of the file.
    fn do_fault_around(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        pmd: Pfn,
        addr: u64,
    ) -> Result<(), Fault> {
        let nr = self.config.fault_around_pages;
        let pte_off = Level::Pte.index(addr) as u64;
        let vma_off = (addr - vma.start) >> 12;
        let from = (pte_off & !(nr - 1)).max(pte_off - pte_off.min(vma_off));
        let to = (from + nr).min(512).min(pte_off + vma.pages() - vma_off) - 1;
        let file = vma.file.expect("file VMA");
        let file_end = self.files.get(file).size_pages();
        let writable = vma_pte_writable(vma);
        for i in from..=to {
            let a = (addr & !(PMD_SIZE - 1)) | (i << 12);
            let index = vma.linear_index(a);
            if index >= file_end {
                continue;
            }
            let Some(&pfn) = self.files.get(file).pages.get(&index) else {
                continue;
            };
            // next_uptodate_folio: a page fallocate left !uptodate waits for its own fault.
            if !self.mem.page(pfn).flags.contains(PageFlags::UPTODATE) {
                continue;
            }
            // filemap_map_pmd: the PTE table comes with the first page to map.
            let table = self.pte_alloc(mm, pmd, a)?;
            if !pt::none(self.hw.table(table)[i as usize]) {
                continue;
            }
            self.mem.page_mut(pfn).refcount += 1;
            self.map_page(mm, vma, table, a, pfn, writable, false);
        }
        Ok(())
    }

    /// `do_read_fault`: fault-around first, then the page itself if still unmapped.
    fn do_read_fault(&mut self, mm: &mut Mm, vma: &Vma, pmd: Pfn, addr: u64) -> Result<(), Fault> {
        if self.config.fault_around_pages > 1 {
            self.do_fault_around(mm, vma, pmd, addr)?;
            if !pt::none(self.pte_at(mm, addr)) {
                return Ok(());
            }
        }
        let pfn = self.do_fault_page(vma, addr)?;
        let table = self.pte_alloc(mm, pmd, addr)?; // finish_fault
        self.mem.page_mut(pfn).refcount += 1;
        self.map_page(mm, vma, table, addr, pfn, vma_pte_writable(vma), false);
        Ok(())
    }

    /// `do_shared_fault`: a write to a shared file page maps it writable and dirties it.
    fn do_shared_fault(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        pmd: Pfn,
        addr: u64,
    ) -> Result<(), Fault> {
        let pfn = self.do_fault_page(vma, addr)?;
        let table = self.pte_alloc(mm, pmd, addr)?;
        let c = self.new_content();
        let p = self.mem.page_mut(pfn);
        p.refcount += 1;
        p.flags.insert(PageFlags::DIRTY);
        p.content = c;
        self.map_page(mm, vma, table, addr, pfn, true, true);
        Ok(())
    }

    /// `do_cow_fault`: a write to a private file mapping copies the cached page.
    fn do_cow_fault(&mut self, mm: &mut Mm, vma: &Vma, pmd: Pfn, addr: u64) -> Result<(), Fault> {
        self.anon_vma_prepare(mm, vma.start); // first, as the kernel does: even a SIGBUS keeps it
        let src = self.do_fault_page(vma, addr)?;
        let content = self.mem.page(src).content;
        let pfn = self.alloc_anon_page(mm, vma, addr, content)?;
        let table = self.pte_alloc(mm, pmd, addr)?;
        // maybe_mkwrite: a forced write (GUP's FOLL_FORCE) into a read-only VMA leaves the
        // new page dirty but not writable.
        let w = vma.flags.contains(VmFlags::WRITE);
        self.map_page(mm, vma, table, addr, pfn, w, true);
        Ok(())
    }

    /// `do_wp_page`: a write to a present read-only PTE. Shared mappings make it writable;
    /// an exclusive anonymous page is reused; anything else (zero page, shared anon page, page
    /// cache page) is copied into a new anonymous page (`wp_page_copy`).
    fn do_wp_page(&mut self, mm: &mut Mm, vma: &Vma, table: Pfn, addr: u64) -> Result<(), Fault> {
        let idx = Level::Pte.index(addr);
        let e = self.hw.table(table)[idx];
        let old = pt::pfn_of(e);
        let special = e & pt::SPECIAL != 0;
        // maybe_mkwrite: only a VM_WRITE VMA gets a writable entry.
        let rw = if vma.flags.contains(VmFlags::WRITE) {
            pt::RW
        } else {
            0
        };
        if vma.flags.contains(VmFlags::SHARED) {
            if special && vma.flags.contains(VmFlags::PFNMAP) {
                // wp_pfn_shared: the driver's pfn_mkwrite decides (perf: only its user page).
                let perf = vma.file.is_some_and(|f| {
                    matches!(
                        self.files.get(f).driver,
                        Some(crate::shmem::Driver::Perf(_))
                    )
                });
                if perf && !self.perf_mmap_pfn_mkwrite(vma, addr) {
                    return Err(Fault::Bus);
                }
                self.hw.table_mut(table)[idx] |= rw | pt::DIRTY | pt::ACCESSED;
                return Ok(());
            }
            self.hw.table_mut(table)[idx] |= rw | pt::DIRTY | pt::ACCESSED;
            self.mem.page_mut(old).flags.insert(PageFlags::DIRTY);
            return Ok(());
        }
        if !special && self.mem.page(old).flags.contains(PageFlags::ANON) {
            let exclusive = self.mem.page(old).flags.contains(PageFlags::ANON_EXCLUSIVE);
            if exclusive || self.wp_can_reuse_anon_folio(old) {
                // wp_page_reuse: the page is this mapping's; it stays, now writable and dirty.
                self.mem
                    .page_mut(old)
                    .flags
                    .insert(PageFlags::ANON_EXCLUSIVE);
                self.hw.table_mut(table)[idx] |= rw | pt::DIRTY | pt::ACCESSED;
                return Ok(());
            }
        }
        let content = if special {
            0
        } else {
            self.mem.page(old).content
        };
        let pfn = self.alloc_anon_page(mm, vma, addr, content)?;
        // wp_page_copy: ptep_clear_flush first, then the old page's rmap and reference go.
        self.hw
            .flush_tlb_range(mm.id, addr, addr + PAGE_SIZE, 12, false);
        if !special {
            let p = self.mem.page_mut(old);
            p.mapcount -= 1;
            let counter = mm_counter(p.flags);
            mm.rss[counter] -= 1;
            // folio_remove_rmap_pte → munlock_vma_folio: leaving a VM_LOCKED mapping
            // munlocks the folio (the model keeps no mlock_count: one locked mapping).
            if p.mapcount == 0 || vma.flags.contains(VmFlags::LOCKED) {
                p.flags.remove(PageFlags::MLOCKED);
            }
            crate::mmu_gather::put_page(old, &mut self.mem, &mut self.hw);
        }
        let w = vma.flags.contains(VmFlags::WRITE);
        self.map_page(mm, vma, table, addr, pfn, w, true);
        Ok(())
    }

    /// `wp_can_reuse_anon_folio` (6.18): a small anonymous folio not known to be exclusive is
    /// reused only if its mapping holds the one reference left. A folio waiting in the CPU's
    /// LRU-add or mlock batch (not on an LRU list) makes it drain the batches first; one in the
    /// `lru_activate` batch is still on its list, and that batch's reference makes it a copy.
    fn wp_can_reuse_anon_folio(&mut self, pfn: Pfn) -> bool {
        if let Some(head) = self.mem.large_folio_of(pfn) {
            return self.wp_can_reuse_large_anon_folio(head);
        }
        if self.folio_ref_count(pfn) > 3 {
            return false;
        }
        if !self.folio_test_lru(pfn) {
            self.lru_add_drain();
        }
        let swapcache = self.folio_test_swapcache(pfn);
        if self.folio_ref_count(pfn) > 1 + swapcache as u32 {
            return false;
        }
        if swapcache {
            self.folio_free_swap(pfn);
        }
        self.folio_ref_count(pfn) == 1
    }

    /// `__wp_can_reuse_large_anon_folio` (6.18): a subpage of a large folio is reused only if
    /// this mm alone maps the folio (`folio_maybe_mapped_shared`), by more than one page, and
    /// nothing but those mappings holds it (large mapcount equals the reference count).
    fn wp_can_reuse_large_anon_folio(&self, head: Pfn) -> bool {
        let (mut mapcount, mut refs) = (0i64, 0i64);
        for f in head..head + crate::huge_memory::HPAGE_PMD_NR {
            if self.mem.large_folio_of(f) != Some(head) {
                continue;
            }
            let p = self.mem.page(f);
            mapcount += p.mapcount as i64;
            refs += p.refcount as i64;
        }
        mapcount > 1 && !self.folio_maybe_mapped_shared(head) && mapcount == refs
    }

    /// `remap_pfn_range` (6.18; 5.10 alike): map `pages` raw PFNs from `pfn` at `addr` into
    /// `vma` of `mm`, allocating the tables on the way. A COW (private writable) mapping must
    /// be remapped whole, and its `vm_pgoff` becomes the PFN. The PAT step decides the memory
    /// type; the VMA becomes `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`. Every entry is
    /// special: no page, no rmap, no RSS.
    #[allow(clippy::too_many_arguments)]
    pub fn remap_pfn_range(
        &mut self,
        mm: &mut Mm,
        vma: &mut Vma,
        addr: u64,
        pfn: u64,
        pages: u64,
        write: bool,
        want: crate::pat::CacheMode,
    ) -> Result<(), Errno> {
        if addr & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let cow = vma.flags & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE;
        if cow {
            if addr != vma.start || addr + (pages << 12) != vma.end {
                return Err(Errno::EINVAL);
            }
            vma.pgoff = pfn;
        }
        let mode = self.track_pfn_remap(vma, pfn, addr, pages, want)?;
        vma.flags |= VmFlags::IO | VmFlags::PFNMAP | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
        for i in 0..pages {
            let a = addr + (i << 12);
            let table = self.walk_to_pte_table(mm, a, true)?.expect("allocated");
            let idx = Level::Pte.index(a);
            assert!(
                pt::none(self.hw.table(table)[idx]),
                "remap_pfn_range over a present entry"
            );
            self.hw.table_mut(table)[idx] = pt::mk_pfn_pte(pfn + i, write, mode.pte_bits());
        }
        Ok(())
    }

    // ---------------------------------------------------------------- the zap walk

    /// `unmap_vmas` (5.10, mm/memory.c): zap every VMA of `vmas` (in address order) within
    /// `[start, end)`. Returns what each VMA's `unmap_single_vma` did.
    pub fn unmap_vmas(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        vmas: &[Vma],
        start: u64,
        end: u64,
    ) -> Vec<VmaUnmap> {
        // The notifier range covers [start, end) (MMU_NOTIFY_UNMAP).
        crate::mmu_notifier::invalidate_range_start(mm, start, end);
        let done = vmas
            .iter()
            .take_while(|v| v.start < end)
            .filter_map(|vma| self.unmap_single_vma(tlb, mm, vma, start, end))
            .collect();
        // mmu_notifier_invalidate_range_end: nothing more to tell a subscriber here.
        done
    }

    /// `unmap_single_vma` (5.10): clamp the range to the VMA, tell uprobes and PAT, and zap it
    /// by the VMA's branch. `None` if the VMA lies outside the range.
    pub fn unmap_single_vma(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        vma: &Vma,
        start_addr: u64,
        end_addr: u64,
    ) -> Option<VmaUnmap> {
        let start = vma.start.max(start_addr);
        if start >= vma.end {
            return None;
        }
        let end = vma.end.min(end_addr);
        if end <= vma.start {
            return None;
        }
        let mut done = VmaUnmap {
            start: vma.start,
            end: vma.end,
            branch: UnmapBranch::PageRange,
            uprobe_munmap: false,
            untrack_pfn: false,
            pat_freed: false,
            uprobe_work: false,
            zap: ZapStats::default(),
        };
        if vma.file.is_some() {
            done.uprobe_munmap = true;
            done.uprobe_work = self.uprobe_munmap(mm, vma, start, end);
        }
        let late_untrack = self
            .config
            .inject
            .contains(crate::Inject::UNTRACK_AFTER_ZAP);
        // 5.10 calls untrack_pfn for every PFN map (6.16+ has no such step here).
        let untrack = vma.flags.contains(VmFlags::PFNMAP)
            && self.config.pat == crate::pat::PatTracking::VmPat;
        if untrack && !late_untrack {
            done.untrack_pfn = true;
            done.pat_freed = self.untrack_pfn(mm, vma);
        }
        if start != end {
            if vma.flags.contains(VmFlags::HUGETLB) {
                // It is undesirable to test vm_file, as it should be non-null for a valid
                // hugetlb area; it is NULL only in mmap_region's error path, where no PTE was
                // set up: nothing to do then.
                match vma.file {
                    Some(f) => {
                        done.branch = UnmapBranch::Hugetlb;
                        self.i_mmap_lock_write(f);
                        done.zap = self.__unmap_hugepage_range_final(tlb, mm, vma, start, end);
                        self.i_mmap_unlock_write(f);
                    }
                    None => done.branch = UnmapBranch::Skip,
                }
            } else {
                self.unmap_page_range(tlb, &mut done.zap, mm, vma, start, end, ZapDetails::ALL);
            }
        }
        if untrack && late_untrack {
            // Injected: the lookup walks a page table the zap has just cleared.
            done.untrack_pfn = true;
            done.pat_freed = self.untrack_pfn(mm, vma);
        }
        Some(done)
    }

    /// `i_mmap_lock_write`: the file's `i_mmap_rwsem`, for write. Nothing else may hold it
    /// (the model runs one kernel path at a time, so a second holder is a bug).
    pub(crate) fn i_mmap_lock_write(&mut self, f: crate::mm_types::FileId) {
        let file = self.files.get_mut(f);
        assert!(!file.i_mmap_locked, "i_mmap_rwsem already held");
        file.i_mmap_locked = true;
    }

    /// `i_mmap_unlock_write`.
    pub(crate) fn i_mmap_unlock_write(&mut self, f: crate::mm_types::FileId) {
        let file = self.files.get_mut(f);
        assert!(file.i_mmap_locked, "i_mmap_rwsem not held");
        file.i_mmap_locked = false;
    }

    /// `__unmap_hugepage_range_final` (5.10): the unmap of a hugetlb VMA that is going away.
    /// 5.10 then clears the dying VMA's `VM_MAYSHARE` so that `huge_pmd_share` cannot hand
    /// its tables to anyone (6.x frees its vma_lock instead); here a VMA being unmapped is
    /// already out of its mm's tree, where `huge_pmd_share` looks for sources.
    #[allow(non_snake_case)]
    fn __unmap_hugepage_range_final(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
    ) -> ZapStats {
        self.__unmap_hugepage_range(tlb, mm, vma, start, end, None)
    }

    /// `unmap_page_range` (5.10; 6.x is the same walk): zap `[addr, end)` of `vma`, walking
    /// down from the PGD. `details` says what may be skipped (`zap_details`).
    #[allow(clippy::too_many_arguments)]
    pub fn unmap_page_range(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        vma: &Vma,
        mut addr: u64,
        end: u64,
        details: ZapDetails,
    ) {
        debug_assert!(addr < end);
        // tlb_start_vma: no-op for fullmm; the model flushes by range at the end anyway.
        loop {
            let next = addr_end(addr, end, PGDIR_SHIFT);
            let e = self.hw.table(mm.pgd)[Level::Pgd.index(addr)];
            if pt::present(e) {
                zap.walk.pgd_entries += 1;
                self.zap_p4d_range(tlb, zap, mm, vma, e, addr, next, details);
            }
            addr = next;
            if addr == end {
                break;
            }
        }
    }

    /// `zap_p4d_range` (5.10/6.x): with four levels the P4D is folded into the PGD, so the
    /// one P4D entry of `[addr, end)` is the PGD entry `pgd_entry` itself.
    #[allow(clippy::too_many_arguments)]
    fn zap_p4d_range(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        vma: &Vma,
        pgd_entry: u64,
        addr: u64,
        end: u64,
        details: ZapDetails,
    ) {
        zap.walk.p4d_entries += 1;
        let pud = pt::pfn_of(pgd_entry);
        self.zap_pud_range(tlb, zap, mm, vma, pud, addr, end, details);
    }

    /// `zap_pud_range` (5.10/6.x): every present PUD entry leads to a PMD table (no 1 GiB
    /// leaves: those are DAX and hugetlb only).
    #[allow(clippy::too_many_arguments)]
    fn zap_pud_range(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        vma: &Vma,
        pud: Pfn,
        mut addr: u64,
        end: u64,
        details: ZapDetails,
    ) {
        zap.walk.pud_tables += 1;
        loop {
            let next = addr_end(addr, end, PUD_SHIFT);
            let e = self.hw.table(pud)[Level::Pud.index(addr)];
            if pt::present(e) {
                zap.walk.pud_entries += 1;
                self.zap_pmd_range(tlb, zap, mm, vma, pt::pfn_of(e), addr, next, details);
            }
            addr = next;
            if addr == end {
                break;
            }
        }
    }

    /// `zap_pmd_range` (5.10, plus 6.14+'s PT_RECLAIM for MADV_DONTNEED).
    #[allow(clippy::too_many_arguments)]
    fn zap_pmd_range(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        vma: &Vma,
        pmd: Pfn,
        mut addr: u64,
        end: u64,
        details: ZapDetails,
    ) {
        zap.walk.pmd_tables += 1;
        loop {
            let next = addr_end(addr, end, PMD_SHIFT);
            let idx = Level::Pmd.index(addr);
            let mut e = self.hw.table(pmd)[idx];
            if pt::leaf(e) {
                zap.walk.pmd_entries += 1;
                if next - addr == PMD_SIZE {
                    self.zap_huge_pmd(tlb, zap, mm, pmd, idx, addr);
                    addr = next;
                    if addr == end {
                        break;
                    }
                    continue;
                }
                // Part of a THP: split it, then zap the part at the PTE level.
                self.split_huge_pmd_locked(mm, pmd, idx, addr & !(PMD_SIZE - 1));
                zap.walk.pmd_entries -= 1;
                e = self.hw.table(pmd)[idx];
            }
            if pt::present(e) {
                zap.walk.pmd_entries += 1;
                let table = pt::pfn_of(e);
                self.zap_pte_range(tlb, zap, mm, vma, table, addr, next, details);
                self.hw.cond_resched();
                // PT_RECLAIM (6.14+): a PTE table whose whole span was zapped and is now empty
                // goes at once (madvise only; exit frees tables in free_pgtables).
                if details.reclaim_pt
                    && next - addr == PMD_SIZE
                    && self.hw.table(table).iter().all(|&e| pt::none(e))
                {
                    self.hw.table_mut(pmd)[idx] = 0;
                    mm.pgtables_bytes -= PAGE_SIZE as i64;
                    tlb.free_table(
                        DetachedTable::new(table, Level::Pte),
                        addr,
                        &mut self.hw,
                        &mut self.mem,
                    );
                }
            }
            addr = next;
            if addr == end {
                break;
            }
        }
    }

    /// `zap_pte_range` (5.10: rmap dropped at the zap, forced flush before the PTE lock goes): clear every PTE in `[addr, end)` of one PTE table, queue the pages in
    /// the gather, and flush when the gather is full or a dirty file PTE was cleared.
    #[allow(clippy::too_many_arguments)]
    fn zap_pte_range(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        vma: &Vma,
        table: Pfn,
        mut addr: u64,
        end: u64,
        details: ZapDetails,
    ) {
        zap.walk.pte_tables += 1;
        loop {
            zap.walk.pte_passes += 1;
            let mut force_flush = false;
            let mut dirty_shared = false;
            let pass_start = addr;
            let mut rss = [0i64; 4];
            // Counted in locals and added to `zap` once per pass, as are the addresses of the
            // first and last PTE cleared (the gather's range).
            let (mut ptes, mut zero, mut raw, mut anon) = (0u64, 0u64, 0u64, 0i64);
            let (mut first, mut last) = (u64::MAX, 0u64);
            // pte_offset_map_lock: the model's page-table lock is the &mut borrow of the table.
            let mut i = Level::Pte.index(addr);
            // What the walk left to do outside the table's borrow (it needs the whole kernel).
            enum Slow {
                None,
                SwapEntry(u32),
                SwapCache(Pfn),
            }
            // The gather is full: flush before going on.
            let mut full = false;
            while addr != end {
                let mut slow = Slow::None;
                let t = self.hw.table_mut(table);
                while addr != end {
                    let e = t[i];
                    if pt::none(e) {
                        addr += PAGE_SIZE;
                        i += 1;
                        continue;
                    }
                    if pt::is_swap(e) {
                        // zap_nonpresent_ptes: a swap entry is dropped where COWs are zapped;
                        // it was never in a TLB, so nothing goes into the gather.
                        if details.even_cows {
                            t[i] = 0;
                            rss[MM_SWAPENTS] -= 1;
                            slow = Slow::SwapEntry(pt::swp_offset(e));
                        }
                        addr += PAGE_SIZE;
                        i += 1;
                        if details.even_cows {
                            break;
                        }
                        continue;
                    }
                    // should_zap_folio: without even_cows, anonymous (COW) pages stay mapped.
                    if !details.even_cows
                        && e & pt::SPECIAL == 0
                        && self.mem.page(pt::pfn_of(e)).flags.contains(PageFlags::ANON)
                    {
                        addr += PAGE_SIZE;
                        i += 1;
                        continue;
                    }
                    // ptep_get_and_clear_full + tlb_remove_tlb_entry
                    t[i] = 0;
                    first = first.min(addr);
                    last = addr;
                    ptes += 1;
                    let pfn = pt::pfn_of(e);
                    if e & pt::SPECIAL != 0 {
                        // vm_normal_page() is NULL: the zero page or a raw PFN, nothing to free.
                        if pfn == self.zero_pfn && !vma.flags.contains(VmFlags::PFNMAP) {
                            zero += 1;
                        } else {
                            raw += 1;
                        }
                        addr += PAGE_SIZE;
                        i += 1;
                        continue;
                    }
                    let page = self.mem.page_mut(pfn);
                    if !page.flags.contains(PageFlags::ANON) {
                        if e & pt::DIRTY != 0 {
                            force_flush = true;
                            dirty_shared = true;
                            page.flags.insert(PageFlags::DIRTY); // set_page_dirty
                        }
                        if e & pt::ACCESSED != 0 && !vma.flags.contains(VmFlags::SEQ_READ) {
                            page.flags.insert(PageFlags::REFERENCED); // mark_page_accessed
                        }
                    }
                    if page.flags.contains(PageFlags::ANON) {
                        anon += 1;
                    } else {
                        rss[mm_counter(page.flags)] -= 1;
                    }
                    // page_remove_rmap
                    page.mapcount -= 1;
                    let unmapped = page.mapcount == 0;
                    if unmapped || vma.flags.contains(VmFlags::LOCKED) {
                        // munlock_vma_folio, as above.
                        page.flags.remove(PageFlags::MLOCKED);
                    }
                    addr += PAGE_SIZE;
                    i += 1;
                    // free_swap_cache (as the gather frees its pages): a folio mapped nowhere
                    // leaves the swap cache if no swap PTE names its slot; the gather's own
                    // reference keeps it until the flush.
                    let swapcache =
                        unmapped && crate::swapfile::SwapInfo::caches(self.swap.as_ref(), pfn);
                    if tlb.remove_page(ZappedPage::new(pfn), &mut self.mem) {
                        force_flush = true;
                        full = true;
                    }
                    if swapcache {
                        slow = Slow::SwapCache(pfn);
                        break;
                    }
                    if full {
                        break;
                    }
                }
                match slow {
                    Slow::None => {}
                    Slow::SwapEntry(slot) => self.free_swap_and_cache(slot),
                    Slow::SwapCache(pfn) => {
                        self.folio_free_swap(pfn);
                    }
                }
                if full {
                    break;
                }
            }
            rss[MM_ANONPAGES] -= anon;
            for (c, d) in rss.iter().enumerate() {
                mm.rss[c] += d; // add_mm_rss_vec
            }
            tlb.remove_tlb_entries(first, last, ptes);
            zap.ptes += ptes;
            zap.zero += zero;
            zap.pfn += raw;
            tlb.stats.pfn_entries += raw;
            zap.anon += (-rss[MM_ANONPAGES]) as u64;
            zap.file += (-rss[MM_FILEPAGES]) as u64;
            zap.shmem += (-rss[MM_SHMEMPAGES]) as u64;
            zap.swap += (-rss[MM_SWAPENTS]) as u64;
            // 5.10: with force_flush the TLB is flushed while the PTE lock is still held (a
            // CPU with a stale writable entry could otherwise dirty a page whose mapping is
            // gone), then the lock goes, then the gathered pages are freed.
            let skip = dirty_shared
                && self
                    .config
                    .inject
                    .contains(crate::Inject::DROP_DIRTY_FORCE_FLUSH);
            if force_flush && !skip {
                tlb.tlb_flush_mmu_tlbonly(&mut self.hw);
            }
            self.hw.pte_unlock(mm.id, pass_start, addr, dirty_shared);
            if force_flush {
                tlb.forced_flush(&mut self.hw, &mut self.mem);
            }
            if addr == end {
                return;
            }
        }
    }

    /// `zap_page_range_single` (6.18) as madvise(MADV_DONTNEED) uses it: a non-fullmm gather over one
    /// VMA range, with PT_RECLAIM when configured.
    pub fn zap_page_range_single(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
        details: ZapDetails,
    ) -> ZapStats {
        let mut tlb = MmuGather::new(mm.id, false, self.config.inject);
        mm.tlb_flush_pending += 1;
        let mut zap = ZapStats::default();
        mm.update_hiwater_rss();
        crate::mmu_notifier::invalidate_range_start(mm, start, end);
        let details = ZapDetails {
            reclaim_pt: details.reclaim_pt && self.config.pt_reclaim,
            ..details
        };
        if vma.flags.contains(VmFlags::HUGETLB) {
            // hugetlb_zap_begin: i_mmap_rwsem for write around the zap and its flush.
            let f = vma.file.expect("hugetlb VMA with its file");
            self.i_mmap_lock_write(f);
            zap = self.__unmap_hugepage_range(&mut tlb, mm, vma, start, end, None);
            let nested = mm.tlb_flush_pending > 1;
            self.tlb_finish_mmu(tlb, nested);
            self.i_mmap_unlock_write(f);
            mm.tlb_flush_pending -= 1;
            return zap;
        }
        self.unmap_page_range(&mut tlb, &mut zap, mm, vma, start, end, details);
        let nested = mm.tlb_flush_pending > 1;
        self.tlb_finish_mmu(tlb, nested);
        mm.tlb_flush_pending -= 1;
        zap
    }

    /// `unmap_mapping_range` (mm/memory.c, 6.18): the pages `[first, last)` of `file` leave
    /// every mapping of it, in every mm (`current` is the caller's, lent out while it runs),
    /// through `zap_page_range_single` over each VMA's part of the range (the i_mmap walk).
    /// `even_cows`: private COW copies go too (truncation); a hole punch keeps them.
    pub fn unmap_mapping_range(
        &mut self,
        current: &mut Mm,
        file: crate::mm_types::FileId,
        first: u64,
        last: u64,
        even_cows: bool,
    ) -> Vec<VmaUnmap> {
        let details = ZapDetails {
            reclaim_pt: false,
            even_cows,
        };
        let mut done = Vec::new();
        let mut zap_in = |k: &mut Self, mm: &mut Mm| {
            let vmas: Vec<_> = mm
                .vmas
                .values()
                .filter(|v| v.file == Some(file))
                .cloned()
                .collect();
            for v in vmas {
                let (lo, hi) = (first.max(v.pgoff), last.min(v.pgoff + v.pages()));
                if lo < hi {
                    let s = v.start + ((lo - v.pgoff) << 12);
                    let e = v.start + ((hi - v.pgoff) << 12);
                    let zap = k.zap_page_range_single(mm, &v, s, e, details);
                    done.push(VmaUnmap {
                        start: s,
                        end: e,
                        branch: UnmapBranch::PageRange,
                        uprobe_munmap: false,
                        untrack_pfn: false,
                        pat_freed: false,
                        uprobe_work: false,
                        zap,
                    });
                }
            }
        };
        zap_in(self, current);
        for id in 0..self.mms.len() {
            if self.mms[id].is_some() {
                self.with_mm(id as u32, |k, mm| zap_in(k, mm));
            }
        }
        done
    }

    // ---------------------------------------------------------------- page-table freeing

    /// `free_pgtables` (5.10, list order; 6.x walks the maple tree the same way): for the VMAs being removed (address order), unlink them from the rmap
    /// and free the page tables only they used. `following` is the start of the first VMA that
    /// stays after them (the ceiling of the last cluster), or `ceiling`.
    pub fn free_pgtables(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        vmas: &[Vma],
        floor: u64,
        following: Option<u64>,
        ceiling: u64,
    ) {
        let mut i = 0;
        while i < vmas.len() {
            let addr = vmas[i].start;
            self.anon_vma_put(vmas[i].anon_vma); // unlink_anon_vmas; unlink_file_vma is a no-op here
                                                 // Cluster VMAs closer than PMD_SIZE: they may share a PTE table.
                                                 // hugetlb VMAs are freed alone (hugetlb_free_pgd_range, which is free_pgd_range on
                                                 // x86-64), and the clustering stops at one.
            let huge = |v: &Vma| v.flags.contains(VmFlags::HUGETLB);
            while !huge(&vmas[i])
                && i + 1 < vmas.len()
                && vmas[i + 1].start <= vmas[i].end + PMD_SIZE
                && !huge(&vmas[i + 1])
            {
                i += 1;
                self.anon_vma_put(vmas[i].anon_vma);
            }
            let next_start = if i + 1 < vmas.len() {
                Some(vmas[i + 1].start)
            } else {
                following
            };
            self.free_pgd_range(
                tlb,
                mm,
                addr,
                vmas[i].end,
                floor,
                next_start.unwrap_or(ceiling),
            );
            i += 1;
        }
    }

    /// `free_pgd_range` (unchanged 5.10 → 6.x): free the tables covering `[addr, end)` whose span lies within
    /// `[floor, ceiling)` after rounding (0 as ceiling means the top of the address space).
    pub fn free_pgd_range(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        addr: u64,
        end: u64,
        floor: u64,
        ceiling: u64,
    ) {
        let mut addr = addr & !(PMD_SIZE - 1);
        let mut end = end;
        let mut ceiling = ceiling;
        if addr < floor {
            addr = addr.wrapping_add(PMD_SIZE);
            if addr == 0 {
                return;
            }
        }
        if ceiling != 0 {
            ceiling &= !(PMD_SIZE - 1);
            if ceiling == 0 {
                return;
            }
        }
        if end.wrapping_sub(1) > ceiling.wrapping_sub(1) {
            end = end.wrapping_sub(PMD_SIZE);
        }
        if addr > end.wrapping_sub(1) {
            return;
        }
        loop {
            let next = addr_end(addr, end, PGDIR_SHIFT);
            let idx = Level::Pgd.index(addr);
            let e = self.hw.table(mm.pgd)[idx];
            if pt::present(e) {
                self.free_pud_range(tlb, mm, mm.pgd, idx, addr, next, floor, ceiling);
            }
            addr = next;
            if addr == end {
                break;
            }
        }
    }

    /// `free_p4d_range` + `free_pud_range` (5.10/6.x, P4D folded): free PMD tables below, then the PUD
    /// table itself if its 512 GiB span is within floor/ceiling.
    #[allow(clippy::too_many_arguments)]
    fn free_pud_range(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        pgd: Pfn,
        pgd_idx: usize,
        addr: u64,
        end: u64,
        floor: u64,
        ceiling: u64,
    ) {
        let pud = pt::pfn_of(self.hw.table(pgd)[pgd_idx]);
        let start = addr;
        let mut a = addr;
        loop {
            let next = addr_end(a, end, PUD_SHIFT);
            let idx = Level::Pud.index(a);
            if pt::present(self.hw.table(pud)[idx]) {
                self.free_pmd_range(tlb, mm, pud, idx, a, next, floor, ceiling);
            }
            a = next;
            if a == end {
                break;
            }
        }
        if !span_within(start, end, floor, ceiling, PGDIR_SHIFT) {
            return;
        }
        self.hw.table_mut(pgd)[pgd_idx] = 0;
        mm.pgtables_bytes -= PAGE_SIZE as i64; // mm_dec_nr_puds
        tlb.free_table(
            DetachedTable::new(pud, Level::Pud),
            start,
            &mut self.hw,
            &mut self.mem,
        );
    }

    /// `free_pmd_range` (5.10/6.x): free the PTE tables below, then the PMD table if its 1 GiB span is
    /// within floor/ceiling.
    #[allow(clippy::too_many_arguments)]
    fn free_pmd_range(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        pud: Pfn,
        pud_idx: usize,
        addr: u64,
        end: u64,
        floor: u64,
        ceiling: u64,
    ) {
        let pmd = pt::pfn_of(self.hw.table(pud)[pud_idx]);
        let start = addr;
        let mut a = addr;
        loop {
            let next = addr_end(a, end, PMD_SHIFT);
            let idx = Level::Pmd.index(a);
            if pt::present(self.hw.table(pmd)[idx]) {
                self.free_pte_range(tlb, mm, pmd, idx, a);
            }
            a = next;
            if a == end {
                break;
            }
        }
        if !span_within(start, end, floor, ceiling, PUD_SHIFT) {
            return;
        }
        self.hw.table_mut(pud)[pud_idx] = 0;
        mm.pgtables_bytes -= PAGE_SIZE as i64; // mm_dec_nr_pmds
        tlb.free_table(
            DetachedTable::new(pmd, Level::Pmd),
            start,
            &mut self.hw,
            &mut self.mem,
        );
    }

    /// `free_pte_range` (5.10/6.x): clear the PMD entry and free the PTE table.
    fn free_pte_range(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        pmd: Pfn,
        pmd_idx: usize,
        addr: u64,
    ) {
        let table = pt::pfn_of(self.hw.table(pmd)[pmd_idx]);
        self.hw.table_mut(pmd)[pmd_idx] = 0;
        mm.pgtables_bytes -= PAGE_SIZE as i64; // mm_dec_nr_ptes
        tlb.free_table(
            DetachedTable::new(table, Level::Pte),
            addr,
            &mut self.hw,
            &mut self.mem,
        );
    }

    // ---------------------------------------------------------------- fork

    /// `copy_page_range` (6.18, kernel fork path): copy `vma`'s page tables from `src` to `dst` (fork). Every PTE table
    /// the source has in the range gets a copy, even an empty one; anonymous pages become
    /// shared and write-protected in both (COW); the zero page stays the zero page.
    pub fn copy_page_range(&mut self, dst: &mut Mm, src: &mut Mm, vma: &Vma) -> Result<(), Errno> {
        if vma.flags.contains(VmFlags::HUGETLB) {
            return self.copy_hugetlb_page_range(dst, src, vma);
        }
        let cow = vma.flags & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE;
        // copy_p4d/pud/pmd_range: the child gets a table below every entry the parent has in
        // the range, level by level, even where nothing is mapped further down.
        let mut addr = vma.start;
        while addr < vma.end {
            let next = addr_end(addr, vma.end, PGDIR_SHIFT);
            if pt::present(self.hw.table(src.pgd)[Level::Pgd.index(addr)]) {
                self.copy_pud_range(dst, src, vma, addr, next, cow)?;
            }
            addr = next;
        }
        if cow {
            // The parent's writable translations are now read-only: flush them.
            self.hw
                .flush_tlb_range(src.id, vma.start, vma.end, 12, false);
        }
        Ok(())
    }

    /// `copy_pud_range`.
    fn copy_pud_range(
        &mut self,
        dst: &mut Mm,
        src: &mut Mm,
        vma: &Vma,
        mut addr: u64,
        end: u64,
        cow: bool,
    ) -> Result<(), Errno> {
        let src_pud = pt::pfn_of(self.hw.table(src.pgd)[Level::Pgd.index(addr)]);
        let dst_pud = self
            .table_below(dst, dst.pgd, Level::Pgd.index(addr), true)?
            .expect("allocated");
        while addr < end {
            let next = addr_end(addr, end, PUD_SHIFT);
            let e = self.hw.table(src_pud)[Level::Pud.index(addr)];
            if pt::present(e) {
                let dst_pmd = self
                    .table_below(dst, dst_pud, Level::Pud.index(addr), true)?
                    .expect("allocated");
                self.copy_pmd_range(dst, vma, pt::pfn_of(e), dst_pmd, addr, next, cow)?;
            }
            addr = next;
        }
        Ok(())
    }

    /// `copy_pmd_range` + `copy_pte_range`: every PTE table the parent has gets a copy; anonymous
    /// pages become shared and write-protected in both (COW); the zero page stays the zero page.
    #[allow(clippy::too_many_arguments)]
    fn copy_pmd_range(
        &mut self,
        dst: &mut Mm,
        vma: &Vma,
        src_pmd: Pfn,
        dst_pmd: Pfn,
        mut addr: u64,
        end: u64,
        cow: bool,
    ) -> Result<(), Errno> {
        while addr < end {
            let next = addr_end(addr, end, PMD_SHIFT);
            let e = self.hw.table(src_pmd)[Level::Pmd.index(addr)];
            if pt::leaf(e) {
                self.copy_huge_pmd(dst, src_pmd, dst_pmd, Level::Pmd.index(addr))?;
            } else if pt::present(e) {
                let src_table = pt::pfn_of(e);
                let dst_table = self
                    .table_below(dst, dst_pmd, Level::Pmd.index(addr), true)?
                    .expect("allocated");
                let mut a = addr;
                while a < next {
                    let i = Level::Pte.index(a);
                    let mut e = self.hw.table(src_table)[i];
                    if pt::is_swap(e) {
                        // copy_nonpresent_pte: swap_duplicate; neither side is exclusive now.
                        self.swap_duplicate(pt::swp_offset(e));
                        e &= !pt::SWP_EXCLUSIVE;
                        self.hw.table_mut(src_table)[i] = e;
                        self.hw.table_mut(dst_table)[i] = e;
                        dst.rss[MM_SWAPENTS] += 1;
                    } else if pt::present(e) {
                        if cow && e & pt::RW != 0 {
                            self.hw.table_mut(src_table)[i] &= !pt::RW; // ptep_set_wrprotect
                            e &= !pt::RW;
                        }
                        if vma.flags.contains(VmFlags::SHARED) {
                            e &= !pt::DIRTY;
                        }
                        e &= !pt::ACCESSED;
                        if e & pt::SPECIAL == 0 {
                            let p = self.mem.page_mut(pt::pfn_of(e));
                            // folio_try_dup_anon_rmap_pte: a shared anonymous page is nobody's
                            // alone any more.
                            p.flags.remove(PageFlags::ANON_EXCLUSIVE);
                            p.refcount += 1;
                            p.mapcount += 1;
                            dst.rss[mm_counter(p.flags)] += 1;
                        }
                        self.hw.table_mut(dst_table)[i] = e;
                    }
                    a += PAGE_SIZE;
                }
            }
            addr = next;
        }
        Ok(())
    }
}

/// The floor/ceiling test of `free_p?d_range` for the table covering `[start, end)` whose
/// span is `1 << shift`: its block must lie within `[floor, ceiling)`.
fn span_within(start: u64, end: u64, floor: u64, ceiling: u64, shift: u32) -> bool {
    let mask = !((1u64 << shift) - 1);
    let s = start & mask;
    if s < floor {
        return false;
    }
    let mut c = ceiling;
    if c != 0 {
        c &= mask;
        if c == 0 {
            return false;
        }
    }
    end.wrapping_sub(1) <= c.wrapping_sub(1)
}
