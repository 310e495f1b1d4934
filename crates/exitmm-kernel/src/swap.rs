//! mm/swap.c: the CPU's folio batches (`cpu_fbatches.lru_add` and `.lru_activate`, and
//! mm/mlock.c's `mlock_fbatch`), `folio_mark_accessed` and `lru_add_drain`.
//!
//! A new folio is not put on an LRU list at once: it waits, holding a reference, in the
//! batch of the CPU that made it, until the batch is full ([`PAGEVEC_SIZE`]) or something
//! drains it. The model keeps which folios sit in the batches (by frame and generation), for
//! the tests the kernel makes on a folio's reference count (`folio_expected_ref_count`); it
//! does not let the batch's reference delay a folio's freeing (a folio freed while batched is
//! simply gone from the batch). The scripts run on one CPU (the kernel runner pins itself), so
//! there is one set of batches.

use crate::arch::Hardware;
use crate::mm_types::VmFlags;
use crate::page::{PageFlags, Pfn};
use crate::Kernel;

/// `PAGEVEC_SIZE`: folios a batch holds before it is moved to the LRU lists.
pub const PAGEVEC_SIZE: usize = 31;

/// The CPU's batches: frames with the generation they had when added.
#[derive(Clone, Debug, Default)]
pub struct FolioBatches {
    /// `lru_add`.
    pub lru_add: alloc::vec::Vec<(Pfn, u16)>,
    /// `mlock_fbatch` (new folios of `VM_LOCKED` VMAs).
    pub mlock: alloc::vec::Vec<(Pfn, u16)>,
    /// `lru_activate` (LRU folios `folio_mark_accessed` promotes).
    pub activate: alloc::vec::Vec<(Pfn, u16)>,
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
        let gen = self.mem.page(pfn).gen;
        let b = if mlock {
            &mut self.fbatches.mlock
        } else {
            &mut self.fbatches.lru_add
        };
        b.push((pfn, gen));
        if b.len() >= PAGEVEC_SIZE {
            b.clear(); // folio_batch_move_lru
        }
    }

    /// `lru_add_drain`: the CPU's batches go to the LRU lists (and `mlock_drain_local`);
    /// folios waiting for activation become active.
    pub fn lru_add_drain(&mut self) {
        self.fbatches.lru_add.clear();
        self.fbatches.mlock.clear();
        for (pfn, gen) in core::mem::take(&mut self.fbatches.activate) {
            let p = self.mem.page_mut(pfn);
            if p.gen == gen && p.refcount > 0 {
                p.flags.insert(PageFlags::ACTIVE);
            }
        }
    }

    /// `folio_mark_accessed` (classic LRU; this host has no MGLRU): a first access sets
    /// `PG_referenced`; a second one promotes the folio: one still in the CPU's LRU-add batch
    /// is marked active there (`__lru_cache_activate_folio`), one on an LRU list joins the
    /// CPU's `lru_activate` batch, which holds a reference to it until drained.
    pub(crate) fn folio_mark_accessed(&mut self, pfn: Pfn) {
        let gen = self.mem.page(pfn).gen;
        let p = self.mem.page_mut(pfn);
        if !p.flags.contains(PageFlags::REFERENCED) {
            p.flags.insert(PageFlags::REFERENCED);
            return;
        }
        if p.flags.intersects(PageFlags::ACTIVE | PageFlags::MLOCKED) {
            return;
        }
        p.flags.remove(PageFlags::REFERENCED);
        if self.fbatches.lru_add.contains(&(pfn, gen)) {
            self.mem.page_mut(pfn).flags.insert(PageFlags::ACTIVE);
        } else if !self.fbatches.mlock.contains(&(pfn, gen)) {
            let b = &mut self.fbatches.activate;
            b.push((pfn, gen));
            if b.len() >= PAGEVEC_SIZE {
                self.lru_add_drain_activate();
            }
        }
    }

    /// A full `lru_activate` batch is moved (its folios become active).
    fn lru_add_drain_activate(&mut self) {
        for (pfn, gen) in core::mem::take(&mut self.fbatches.activate) {
            let p = self.mem.page_mut(pfn);
            if p.gen == gen && p.refcount > 0 {
                p.flags.insert(PageFlags::ACTIVE);
            }
        }
    }

    /// `folio_ref_count` as the kernel sees it: the references the model keeps on the frame,
    /// plus one for each of the CPU's batches the folio waits in.
    pub(crate) fn folio_ref_count(&self, pfn: Pfn) -> u32 {
        let p = self.mem.page(pfn);
        let batched = self
            .fbatches
            .lru_add
            .iter()
            .chain(&self.fbatches.mlock)
            .chain(&self.fbatches.activate)
            .filter(|&&e| e == (pfn, p.gen))
            .count();
        p.refcount + batched as u32
    }

    /// `folio_test_lru`: on an LRU list. A new folio waiting in the LRU-add or mlock batch is
    /// not yet; one queued in `lru_activate` still is (6.18 takes it off only as the batch
    /// moves).
    pub(crate) fn folio_test_lru(&self, pfn: Pfn) -> bool {
        let p = self.mem.page(pfn);
        p.flags.contains(PageFlags::LRU)
            && !self
                .fbatches
                .lru_add
                .iter()
                .chain(&self.fbatches.mlock)
                .any(|&e| e == (pfn, p.gen))
    }
}
