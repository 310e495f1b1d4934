//! The mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h).
//!
//! Why it exists. Unmapping memory is three steps that must happen in this order:
//!
//! 1. unhook the page from the page table (clear the PTE),
//! 2. invalidate every TLB that may still hold a translation to it,
//! 3. free the page.
//!
//! Free before the flush, and another CPU can still read (or write!) the frame after it has
//! been handed to someone else. Flushing the TLB once per page would be correct but slow, so the
//! zap walk *gathers*: it clears many PTEs, queues their pages here, records the address range
//! it touched, and then one flush covers them all before the queued pages are released. Page
//! tables follow the same rule (clear the parent entry, flush — including paging-structure
//! caches and lazy-TLB CPUs — then free).
//!
//! In this model the rule is carried by types: a cleared PTE yields a [`ZappedPage`], which can
//! only be handed to [`MmuGather::remove_page`]; the only code that drops those references is
//! `tlb_batch_pages_flush`, and it needs a [`TlbFlushed`] proof that only
//! [`MmuGather::tlb_flush_mmu_tlbonly`] can produce. Everything else here is bookkeeping with
//! Linux's sizes: 8 on-stack slots, batches of 510 (each a real frame), at most 19 of them, and
//! table batches of 509.

use crate::arch::{Hardware, MmId};
use crate::page::{PageFlags, Pfn};
use crate::page_alloc::PhysMem;
use crate::pgtable::{Level, PAGE_SHIFT, PMD_SHIFT, PUD_SHIFT};
use alloc::vec::Vec;

/// `MMU_GATHER_BUNDLE`: slots of the on-stack first batch.
pub const MMU_GATHER_BUNDLE: usize = 8;
/// `MAX_GATHER_BATCH`: slots of one batch page.
pub const MAX_GATHER_BATCH: usize = 510;
/// `MAX_GATHER_BATCH_COUNT`: extra batches before a flush is forced.
pub const MAX_GATHER_BATCH_COUNT: usize = 19;
/// `MAX_TABLE_BATCH`: page-table pages per table batch.
pub const MAX_TABLE_BATCH: usize = 509;

/// A page whose PTE has been cleared and whose mapping reference must still be dropped. Only
/// the gather can consume it.
#[must_use = "a zapped page must go to the gather, which frees it after the TLB flush"]
#[derive(Debug)]
pub struct ZappedPage(Pfn, u32);

impl ZappedPage {
    /// Made only by the zap walk, right after it cleared the PTE mapping `pfn`.
    pub(crate) fn new(pfn: Pfn) -> Self {
        ZappedPage(pfn, 1)
    }

    /// A transparent huge page whose PMD `zap_huge_pmd` just cleared: the `nr` frames from
    /// `head`, one entry of the gather (`tlb_remove_page_size`), a reference dropped on each.
    pub(crate) fn folio(head: Pfn, nr: u32) -> Self {
        ZappedPage(head, nr)
    }
}

/// A page-table frame whose parent entry has been cleared.
#[must_use = "a detached page table must go to the gather"]
#[derive(Debug)]
pub struct DetachedTable(Pfn, Level);

impl DetachedTable {
    /// Made only by `free_p?d_range` right after it cleared the parent entry.
    pub(crate) fn new(pfn: Pfn, level: Level) -> Self {
        DetachedTable(pfn, level)
    }
}

/// Proof that the TLB has just been flushed for everything gathered so far.
pub struct TlbFlushed(());

struct Batch {
    /// The frame holding this batch (none for the on-stack one).
    frame: Option<Pfn>,
    /// Gathered pages: a frame and how many frames from it (a THP is one entry of 512).
    pages: Vec<(Pfn, u32)>,
    max: usize,
}

/// What one gather did, for the teardown report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatherStats {
    /// Leaf TLB entries removed (`tlb_remove_tlb_entry`: PTEs cleared).
    pub entries: u64,
    /// Huge leaf entries removed (`tlb_remove_huge_tlb_entry`: hugetlb PMDs and PUDs cleared).
    pub huge_entries: u64,
    /// Of `entries`, raw PFN entries of `VM_PFNMAP` VMAs (no page behind them).
    pub pfn_entries: u64,
    /// PMD leaves of THPs (and the huge zero page) cleared (`tlb_remove_pmd_tlb_entry`).
    pub thp_pmds: u64,
    /// Base pages those THP PMDs mapped (the huge zero page's not counted).
    pub thp_pages: u64,
    /// TLB flushes issued.
    pub flushes: u64,
    /// Pages whose last reference the gather dropped (they went back to the allocator).
    pub pages_freed: u64,
    /// Pages whose reference the gather dropped (freed or not).
    pub pages_released: u64,
    /// Page-table pages freed, by level: [PTE, PMD, PUD].
    pub tables_freed: [u64; 3],
    /// Batch frames allocated.
    pub batches: u64,
    /// Flushes forced because the gather was full.
    pub forced: u64,
}

/// `struct mmu_gather`.
pub struct MmuGather {
    mm: MmId,
    /// Whole address space is going (exit).
    pub fullmm: bool,
    freed_tables: bool,
    cleared_ptes: bool,
    cleared_pmds: bool,
    cleared_puds: bool,
    start: u64,
    end: u64,
    batches: Vec<Batch>,
    active: usize,
    tables: Vec<Pfn>,
    table_frame: Option<Pfn>,
    /// Hugetlb folios whose last reference a flush dropped: the kernel returns them to their
    /// pool (their destructor is `free_huge_folio`, not the buddy allocator).
    hugetlb_freed: Vec<Pfn>,
    inject: crate::Inject,
    /// Counters for the report.
    pub stats: GatherStats,
}

impl MmuGather {
    /// `tlb_gather_mmu` (5.10) / `tlb_gather_mmu_fullmm` (5.12+); the caller increments `tlb_flush_pending`.
    /// `inject` is empty except when a test breaks the gather's rule on purpose.
    pub fn new(mm: MmId, fullmm: bool, inject: crate::Inject) -> Self {
        let mut g = MmuGather {
            mm,
            fullmm,
            freed_tables: false,
            cleared_ptes: false,
            cleared_pmds: false,
            cleared_puds: false,
            start: 0,
            end: 0,
            batches: alloc::vec![Batch {
                frame: None,
                pages: Vec::with_capacity(MMU_GATHER_BUNDLE),
                max: MMU_GATHER_BUNDLE
            }],
            active: 0,
            tables: Vec::new(),
            table_frame: None,
            hugetlb_freed: Vec::new(),
            inject,
            stats: GatherStats::default(),
        };
        g.reset_range();
        g
    }

    /// `__tlb_reset_range`.
    fn reset_range(&mut self) {
        if self.fullmm {
            self.start = u64::MAX;
            self.end = u64::MAX;
        } else {
            self.start = crate::pgtable::TASK_SIZE;
            self.end = 0;
        }
        self.freed_tables = false;
        self.cleared_ptes = false;
        self.cleared_pmds = false;
        self.cleared_puds = false;
    }

    /// `__tlb_adjust_range`.
    #[inline]
    fn adjust_range(&mut self, addr: u64, size: u64) {
        self.start = self.start.min(addr);
        self.end = self.end.max(addr + size);
    }

    /// `tlb_remove_tlb_entry` (5.10/6.x): a PTE at `addr` was cleared.
    #[inline]
    pub fn remove_tlb_entry(&mut self, addr: u64) {
        self.remove_tlb_entries(addr, addr, 1);
    }

    /// `tlb_remove_tlb_entry` (5.10/6.x) for `n` cleared PTEs, the lowest at `first` and the
    /// highest at `last`: what `n` calls of [`MmuGather::remove_tlb_entry`] do, done once
    /// (`zap_pte_range` counts a pass's entries and gives them here before it flushes).
    #[inline]
    pub fn remove_tlb_entries(&mut self, first: u64, last: u64, n: u64) {
        if n == 0 {
            return;
        }
        self.adjust_range(first, last + (1 << PAGE_SHIFT) - first);
        self.cleared_ptes = true;
        self.stats.entries += n;
    }

    /// `tlb_remove_pmd_tlb_entry`: the PMD leaf of a THP mapping `pages` base pages (0 for the
    /// huge zero page) at `addr` was cleared.
    pub fn remove_pmd_tlb_entry(&mut self, addr: u64, pages: u64) {
        self.adjust_range(addr, 1 << PMD_SHIFT);
        self.cleared_pmds = true;
        self.stats.thp_pmds += 1;
        self.stats.thp_pages += pages;
    }

    /// `tlb_remove_huge_tlb_entry`: a huge leaf of `1 << shift` bytes at `addr` was cleared.
    pub fn remove_huge_tlb_entry(&mut self, addr: u64, shift: u32) {
        self.adjust_range(addr, 1 << shift);
        self.stats.huge_entries += 1;
        if shift == PUD_SHIFT {
            self.cleared_puds = true;
        } else {
            self.cleared_pmds = true;
        }
    }

    /// `tlb_unshare_pmd_ptdesc` (6.18.y): the PMD table of the 1 GiB at `base` is no longer
    /// this mm's: flush its range, walk caches included, as for a freed table.
    pub fn unshare_table(&mut self, base: u64) {
        self.adjust_range(base, 1 << PUD_SHIFT);
        self.cleared_pmds = true;
        self.freed_tables = true;
    }

    /// The hugetlb folios released since the last call (see `hugetlb_freed`).
    pub fn take_hugetlb_freed(&mut self) -> Vec<Pfn> {
        core::mem::take(&mut self.hugetlb_freed)
    }

    /// `__tlb_remove_page` (5.10): queue a zapped page. Returns true when the gather is full and the
    /// caller must flush (`tlb_flush_mmu`) before queueing more.
    #[inline]
    pub fn remove_page(&mut self, page: ZappedPage, mem: &mut PhysMem) -> bool {
        let b = &mut self.batches[self.active];
        b.pages.push((page.0, page.1));
        if b.pages.len() < b.max {
            return false;
        }
        !self.next_batch(mem)
    }

    /// `tlb_next_batch` (5.10, without 6.x's delayed-rmap limit): move to the next batch, allocating a batch frame if needed.
    #[inline(never)]
    fn next_batch(&mut self, mem: &mut PhysMem) -> bool {
        if self.active + 1 < self.batches.len() {
            self.active += 1;
            return true;
        }
        if self.batches.len() - 1 == MAX_GATHER_BATCH_COUNT {
            return false;
        }
        let Ok(frame) = mem.alloc_pages(0) else {
            return false;
        };
        self.stats.batches += 1;
        self.batches.push(Batch {
            frame: Some(frame),
            pages: Vec::with_capacity(MAX_GATHER_BATCH),
            max: MAX_GATHER_BATCH,
        });
        self.active += 1;
        true
    }

    /// `p?d_free_tlb` → `tlb_remove_table` (5.10/6.x): queue a detached page table at `addr`.
    pub fn free_table<H: Hardware>(
        &mut self,
        t: DetachedTable,
        addr: u64,
        hw: &mut H,
        mem: &mut PhysMem,
    ) {
        let span = match t.1 {
            Level::Pte => 1u64 << PMD_SHIFT,
            Level::Pmd => 1u64 << PUD_SHIFT,
            _ => 1u64 << crate::pgtable::PGDIR_SHIFT,
        };
        self.adjust_range(addr & !(span - 1), span);
        match t.1 {
            Level::Pte => self.cleared_pmds = true,
            Level::Pmd => self.cleared_puds = true,
            _ => {}
        }
        self.freed_tables = true;
        if self.table_frame.is_none() {
            match mem.alloc_pages(0) {
                Ok(f) => self.table_frame = Some(f),
                Err(_) => {
                    // tlb_remove_table_one: invalidate, then free this one table now.
                    let proof = self.tlb_flush_mmu_tlbonly(hw);
                    self.free_one_table(&proof, t.0, t.1, hw, mem);
                    return;
                }
            }
        }
        self.tables.push(t.0);
        self.stats.tables_freed[t.1 as usize - 1] += 1;
        if self.tables.len() == MAX_TABLE_BATCH {
            let proof = self.tlb_flush_mmu_tlbonly(hw);
            self.tlb_table_flush(&proof, hw, mem);
        }
    }

    fn free_one_table<H: Hardware>(
        &mut self,
        _proof: &TlbFlushed,
        pfn: Pfn,
        level: Level,
        hw: &mut H,
        mem: &mut PhysMem,
    ) {
        self.stats.tables_freed[level as usize - 1] += 1;
        release_table(pfn, hw, mem);
    }

    /// `tlb_flush_mmu_tlbonly` (5.5+): flush the TLB for the gathered range, if anything was cleared.
    pub fn tlb_flush_mmu_tlbonly<H: Hardware>(&mut self, hw: &mut H) -> TlbFlushed {
        if !(self.freed_tables || self.cleared_ptes || self.cleared_pmds || self.cleared_puds) {
            return TlbFlushed(());
        }
        self.stats.flushes += 1;
        if self.fullmm {
            hw.flush_tlb_mm(self.mm);
        } else {
            let stride = if self.cleared_ptes {
                PAGE_SHIFT
            } else if self.cleared_pmds {
                PMD_SHIFT
            } else {
                PUD_SHIFT
            };
            hw.flush_tlb_range(self.mm, self.start, self.end, stride, self.freed_tables);
        }
        self.reset_range();
        TlbFlushed(())
    }

    /// `tlb_table_flush` (5.10/6.x): free the queued page tables (after the flush and, in Linux, an RCU
    /// grace period; nothing here walks tables locklessly, so the flush is the quiescence point).
    fn tlb_table_flush<H: Hardware>(&mut self, _proof: &TlbFlushed, hw: &mut H, mem: &mut PhysMem) {
        for pfn in core::mem::take(&mut self.tables) {
            release_table(pfn, hw, mem);
        }
        if let Some(f) = self.table_frame.take() {
            put_frame(f, mem);
        }
    }

    /// `tlb_batch_pages_flush` (5.10/6.x): drop the gathered pages' references (`free_pages_and_swap_cache`).
    fn tlb_batch_pages_flush<H: Hardware>(
        &mut self,
        _proof: &TlbFlushed,
        hw: &mut H,
        mem: &mut PhysMem,
    ) {
        // Counted in locals, added to the stats once.
        let (mut released, mut freed) = (0u64, 0u64);
        let plain = mem.frees_are_plain();
        for b in &mut self.batches {
            for (head, nr) in b.pages.drain(..) {
                if plain && nr == 1 {
                    // The last reference to a base page whose free has nothing else to tell
                    // (the usual case in an exit): the same put and free as below, with the
                    // checks for the rest done once per flush.
                    let p = mem.page_mut(head);
                    if p.refcount == 1
                        && !p.flags.intersects(PageFlags::HUGETLB | PageFlags::RESERVED)
                    {
                        p.refcount = 0;
                        PhysMem::free_page_prepare(p);
                        mem.free_prepared_plain(head);
                        hw.frame_freed(head);
                        released += 1;
                        freed += 1;
                        continue;
                    }
                }
                if nr == 512 && mem.free_large_folio(head) {
                    // The whole THP, held by nobody else: freed as one folio.
                    released += 512;
                    freed += 512;
                    for pfn in head..head + 512 {
                        hw.frame_freed(pfn);
                    }
                    continue;
                }
                released += nr as u64;
                for pfn in head..head + nr {
                    let p = mem.page_mut(pfn);
                    if p.flags.contains(PageFlags::HUGETLB) {
                        p.refcount -= 1;
                        if p.refcount == 0 {
                            self.hugetlb_freed.push(pfn);
                            freed += 1;
                        }
                        continue;
                    }
                    if put_page(pfn, mem, hw) {
                        freed += 1;
                    }
                }
            }
        }
        self.stats.pages_released += released;
        self.stats.pages_freed += freed;
        self.active = 0;
    }

    /// `tlb_flush_mmu` (5.10/6.x): flush, then free what was gathered.
    pub fn tlb_flush_mmu<H: Hardware>(&mut self, hw: &mut H, mem: &mut PhysMem) {
        // Injected faults: free first, flush after (the one place a proof is forged).
        if self.inject.contains(crate::Inject::FREE_TABLE_BEFORE_FLUSH) {
            self.tlb_table_flush(&TlbFlushed(()), hw, mem);
        }
        if self.inject.contains(crate::Inject::FREE_BEFORE_FLUSH) {
            self.tlb_batch_pages_flush(&TlbFlushed(()), hw, mem);
        }
        let proof = self.tlb_flush_mmu_tlbonly(hw);
        self.tlb_table_flush(&proof, hw, mem);
        self.tlb_batch_pages_flush(&proof, hw, mem);
    }

    /// A flush forced because the gather was full (counted for the report).
    pub fn forced_flush<H: Hardware>(&mut self, hw: &mut H, mem: &mut PhysMem) {
        self.stats.forced += 1;
        hw.note_step("tlb_flush_mmu");
        self.tlb_flush_mmu(hw, mem);
    }

    /// `tlb_finish_mmu` (5.10/6.x, with the nested-flush rule): the last flush and free.
    /// `nested` is `mm_tlb_flush_nested`: another gather is in flight on this mm, so flush
    /// everything. Then [`MmuGather::release`] gives the batch frames back.
    pub fn finish<H: Hardware>(&mut self, nested: bool, hw: &mut H, mem: &mut PhysMem) {
        hw.note_step("tlb_finish_mmu");
        if nested {
            self.fullmm = true;
            self.reset_range();
            self.freed_tables = true;
        }
        self.tlb_flush_mmu(hw, mem);
    }

    /// `tlb_batch_list_free`: the batch frames go; returns what the gather did.
    pub fn release(mut self, mem: &mut PhysMem) -> GatherStats {
        debug_assert!(
            self.hugetlb_freed.is_empty(),
            "hugetlb folios not given back"
        );
        for b in self.batches.drain(..) {
            if let Some(f) = b.frame {
                put_frame(f, mem);
            }
        }
        self.stats
    }
}

/// `put_page`: drop one reference; free the frame on the last one (and tell the hardware).
/// Returns true if freed.
#[inline]
pub(crate) fn put_page<H: Hardware>(pfn: Pfn, mem: &mut PhysMem, hw: &mut H) -> bool {
    let p = mem.page_mut(pfn);
    debug_assert!(p.refcount > 0, "put_page on a free frame {pfn}");
    if p.flags.contains(PageFlags::RESERVED) {
        return false;
    }
    p.refcount -= 1;
    if p.refcount == 0 {
        // One metadata lookup for the put and the free.
        PhysMem::free_page_prepare(p);
        mem.free_prepared(pfn, 0);
        hw.frame_freed(pfn);
        true
    } else {
        false
    }
}

fn put_frame(pfn: Pfn, mem: &mut PhysMem) {
    mem.page_mut(pfn).refcount = 0;
    mem.free_pages(pfn, 0);
}

/// `pagetable_dtor_free`: the table frame returns to the allocator.
fn release_table<H: Hardware>(pfn: Pfn, hw: &mut H, mem: &mut PhysMem) {
    hw.table_free(pfn);
    put_frame(pfn, mem);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testhw::{HwCall, TestHw};
    use alloc::vec;

    fn mem() -> PhysMem {
        PhysMem::new(128 << 20)
    }

    fn page(mem: &mut PhysMem) -> Pfn {
        mem.alloc_pages(0).unwrap()
    }

    #[test]
    fn pages_are_freed_only_after_the_flush_that_covers_them() {
        let (mut hw, mut mem) = (TestHw::default(), mem());
        let mut g = MmuGather::new(1, false, crate::Inject::empty());
        let p = page(&mut mem);
        g.remove_tlb_entry(0x1000);
        assert!(!g.remove_page(ZappedPage::new(p), &mut mem));
        let free = mem.nr_free();
        g.finish(false, &mut hw, &mut mem);
        let stats = g.release(&mut mem);
        assert_eq!(
            hw.log,
            vec![HwCall::FlushRange {
                mm: 1,
                start: 0x1000,
                end: 0x2000,
                freed_tables: false
            }]
        );
        assert_eq!((stats.flushes, stats.pages_freed), (1, 1));
        assert_eq!(mem.nr_free(), free + 1);
    }

    #[test]
    fn nested_gathers_flush_the_whole_mm_with_tables() {
        // Another gather in flight on this mm (tlb_flush_pending > 1): it may have cleared PTEs
        // this one did not see, so this one flushes everything.
        let (mut hw, mut mem) = (TestHw::default(), mem());
        let mut g = MmuGather::new(1, false, crate::Inject::empty());
        g.remove_tlb_entry(0x5000);
        g.finish(true, &mut hw, &mut mem);
        g.release(&mut mem);
        assert_eq!(hw.log, vec![HwCall::FlushMm(1)]);
        // Even with nothing cleared here.
        let mut hw = TestHw::default();
        let mut g = MmuGather::new(1, false, crate::Inject::empty());
        g.finish(true, &mut hw, &mut mem);
        g.release(&mut mem);
        assert_eq!(hw.log, vec![HwCall::FlushMm(1)]);
    }

    #[test]
    fn a_gather_that_cleared_nothing_does_not_flush() {
        let (mut hw, mut mem) = (TestHw::default(), mem());
        let mut g = MmuGather::new(1, false, crate::Inject::empty());
        g.finish(false, &mut hw, &mut mem);
        let stats = g.release(&mut mem);
        assert!(hw.log.is_empty());
        assert_eq!(stats.flushes, 0);
    }

    #[test]
    fn batch_sizes_are_linuxs() {
        let (mut hw, mut mem) = (TestHw::default(), mem());
        let mut g = MmuGather::new(1, true, crate::Inject::empty());
        let mut n = 0;
        loop {
            let p = page(&mut mem);
            g.remove_tlb_entry(0);
            n += 1;
            if g.remove_page(ZappedPage::new(p), &mut mem) {
                break;
            }
        }
        assert_eq!(
            n,
            MMU_GATHER_BUNDLE + MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH
        );
        assert_eq!(n, 9698);
        assert_eq!(g.stats.batches, 19);
        g.finish(false, &mut hw, &mut mem);
        g.release(&mut mem);
    }
}
