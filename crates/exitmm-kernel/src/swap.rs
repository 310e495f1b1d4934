//! mm/swap.c: the CPU's folio batches (`cpu_fbatches.lru_add`, and mm/mlock.c's `mlock_fbatch`)
//! and `lru_add_drain`.
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
use crate::page::Pfn;
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

    /// `lru_add_drain`: the CPU's batches go to the LRU lists (and `mlock_drain_local`).
    pub fn lru_add_drain(&mut self) {
        self.fbatches.lru_add.clear();
        self.fbatches.mlock.clear();
    }

    /// Whether the folio at `pfn` still waits in one of the CPU's batches (which holds a
    /// reference to it).
    pub(crate) fn lru_batch_holds(&self, pfn: Pfn) -> bool {
        let gen = self.mem.page(pfn).gen;
        self.fbatches
            .lru_add
            .iter()
            .chain(&self.fbatches.mlock)
            .any(|&e| e == (pfn, gen))
    }
}
