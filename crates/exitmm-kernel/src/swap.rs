//! mm/swap.c: the CPU's folio batches (`cpu_fbatches.lru_add` and `.lru_activate`, and
//! mm/mlock.c's `mlock_fbatch`), `folio_mark_accessed` and `lru_add_drain`.
//!
//! A new folio is not put on an LRU list at once: it waits, holding a reference, in the
//! batch of the CPU that made it, until the batch is full ([`PAGEVEC_SIZE`]) or something
//! drains it. The model keeps which folios sit in the batches (by frame, with a mark set
//! when the frame is freed), for the tests the kernel makes on a folio's reference count
//! (`folio_expected_ref_count`); it does not let the batch's reference delay a folio's freeing
//! (a folio freed while batched is simply gone from the batch: its entry still takes a place
//! until the batch moves, but names nothing). The scripts run on one CPU (the kernel runner
//! pins itself), so there is one set of batches.

use crate::arch::Hardware;
use crate::mm_types::VmFlags;
use crate::page::{PageFlags, Pfn};
use crate::Kernel;

/// `PAGEVEC_SIZE`: folios a batch holds before it is moved to the LRU lists.
pub const PAGEVEC_SIZE: usize = 31;

/// The CPU's batches: frames, each with whether it has been freed since it was added (then
/// the entry names nothing, and a later use of the frame is not in the batch).
#[derive(Clone, Debug, Default)]
pub struct FolioBatches {
    /// `lru_add`.
    pub lru_add: alloc::vec::Vec<(Pfn, bool)>,
    /// `mlock_fbatch` (new folios of `VM_LOCKED` VMAs).
    pub mlock: alloc::vec::Vec<(Pfn, bool)>,
    /// `lru_activate` (LRU folios `folio_mark_accessed` promotes).
    pub activate: alloc::vec::Vec<(Pfn, bool)>,
    /// The frames from `.0` on, `.1` of them, include every frame the batches hold (the span
    /// may be wider than needed after a batch moves; it is empty once all are empty), so a
    /// free outside it need not look at the entries.
    span: (Pfn, u32),
}

impl FolioBatches {
    /// No entries at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.lru_add.is_empty() && self.mlock.is_empty() && self.activate.is_empty()
    }

    /// An entry for `pfn` is about to join a batch: the span covers it.
    #[inline]
    fn note_added(&mut self, pfn: Pfn) {
        let (lo, n) = self.span;
        self.span = if n == 0 {
            (pfn, 1)
        } else {
            let (lo2, hi2) = (lo.min(pfn), (lo + (n - 1)).max(pfn));
            (lo2, hi2 - lo2 + 1)
        };
    }

    /// A batch has moved (been emptied): an empty set of batches has an empty span.
    fn moved(&mut self) {
        if self.is_empty() {
            self.span = (0, 0);
        }
    }

    /// Frame `pfn` was freed: its entries name nothing any more.
    #[inline(always)]
    pub fn frame_freed(&mut self, pfn: Pfn) {
        if pfn.wrapping_sub(self.span.0) < self.span.1 {
            self.mark_freed(pfn);
        }
    }

    #[inline(never)]
    fn mark_freed(&mut self, pfn: Pfn) {
        for b in [&mut self.lru_add, &mut self.mlock, &mut self.activate] {
            for e in b.iter_mut().filter(|e| e.0 == pfn) {
                e.1 = true;
            }
        }
    }

    /// Adds `pfn` to the LRU-add batch (for tests of the free paths).
    #[cfg(test)]
    pub(crate) fn test_add(&mut self, pfn: Pfn) {
        self.note_added(pfn);
        self.lru_add.push((pfn, false));
    }

    /// Entries of `b` that name `pfn` as it is now.
    fn holds(b: &[(Pfn, bool)], pfn: Pfn) -> usize {
        b.iter().filter(|&&e| e == (pfn, false)).count()
    }
}

impl<H: Hardware> Kernel<H> {
    /// `folio_add_lru_vma`: a new folio of a VMA joins the CPU's batch (the mlock batch for a
    /// locked VMA); a full batch is moved to the LRU lists.
    pub(crate) fn folio_add_lru_vma(&mut self, pfn: Pfn, vma_flags: VmFlags) {
        let locked = vma_flags & (VmFlags::LOCKED | VmFlags::SPECIAL) == VmFlags::LOCKED;
        self.folio_add_lru_to(pfn, locked);
    }

    /// `folio_add_lru`: a new page-cache folio joins the batch.
    pub(crate) fn folio_add_lru(&mut self, pfn: Pfn) {
        self.folio_add_lru_to(pfn, false);
    }

    fn folio_add_lru_to(&mut self, pfn: Pfn, mlock: bool) {
        self.mem.fbatches.note_added(pfn);
        let b = if mlock {
            &mut self.mem.fbatches.mlock
        } else {
            &mut self.mem.fbatches.lru_add
        };
        b.push((pfn, false));
        if b.len() >= PAGEVEC_SIZE {
            b.clear(); // folio_batch_move_lru
            self.mem.fbatches.moved();
        }
    }

    /// `lru_add_drain`: the CPU's batches go to the LRU lists (and `mlock_drain_local`);
    /// folios waiting for activation become active.
    pub fn lru_add_drain(&mut self) {
        self.mem.fbatches.lru_add.clear();
        self.mem.fbatches.mlock.clear();
        self.lru_add_drain_activate(); // the batches are empty after it: it resets the span
    }

    /// `folio_mark_accessed` (classic LRU; this host has no MGLRU): a first access sets
    /// `PG_referenced`; a second one promotes the folio: one still in the CPU's LRU-add batch
    /// is marked active there (`__lru_cache_activate_folio`), one on an LRU list joins the
    /// CPU's `lru_activate` batch, which holds a reference to it until drained.
    pub(crate) fn folio_mark_accessed(&mut self, pfn: Pfn) {
        let p = self.mem.page_mut(pfn);
        if !p.flags.contains(PageFlags::REFERENCED) {
            p.flags.insert(PageFlags::REFERENCED);
            return;
        }
        if p.flags.intersects(PageFlags::ACTIVE | PageFlags::MLOCKED) {
            return;
        }
        p.flags.remove(PageFlags::REFERENCED);
        if self.mem.fbatches.lru_add.contains(&(pfn, false)) {
            self.mem.page_mut(pfn).flags.insert(PageFlags::ACTIVE);
        } else if !self.mem.fbatches.mlock.contains(&(pfn, false)) {
            self.mem.fbatches.note_added(pfn);
            let b = &mut self.mem.fbatches.activate;
            b.push((pfn, false));
            if b.len() >= PAGEVEC_SIZE {
                self.lru_add_drain_activate();
            }
        }
    }

    /// A full `lru_activate` batch is moved (its folios become active).
    fn lru_add_drain_activate(&mut self) {
        for (pfn, freed) in core::mem::take(&mut self.mem.fbatches.activate) {
            let p = self.mem.page_mut(pfn);
            if !freed && p.refcount > 0 {
                p.flags.insert(PageFlags::ACTIVE);
            }
        }
        self.mem.fbatches.moved();
    }

    /// `folio_ref_count` as the kernel sees it: the references the model keeps on the frame,
    /// plus one for each of the CPU's batches the folio waits in.
    pub(crate) fn folio_ref_count(&self, pfn: Pfn) -> u32 {
        let b = &self.mem.fbatches;
        let batched = FolioBatches::holds(&b.lru_add, pfn)
            + FolioBatches::holds(&b.mlock, pfn)
            + FolioBatches::holds(&b.activate, pfn);
        self.mem.page(pfn).refcount + batched as u32
    }

    /// `folio_test_lru`: on an LRU list. A new folio waiting in the LRU-add or mlock batch is
    /// not yet; one queued in `lru_activate` still is (6.18 takes it off only as the batch
    /// moves).
    pub(crate) fn folio_test_lru(&self, pfn: Pfn) -> bool {
        let b = &self.mem.fbatches;
        self.mem.page(pfn).flags.contains(PageFlags::LRU)
            && FolioBatches::holds(&b.lru_add, pfn) + FolioBatches::holds(&b.mlock, pfn) == 0
    }
}
