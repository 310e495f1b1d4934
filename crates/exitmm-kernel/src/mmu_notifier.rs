//! mm/mmu_notifier.c: secondary MMUs (KVM, IOMMU, GPU drivers) subscribe to an mm and are told
//! when its mappings go. The model keeps the subscription list and counts what each subscriber
//! was told; no script op subscribes yet, so at exit the list is usually empty.

use crate::mm_types::Mm;
use alloc::vec::Vec;

/// One subscription and what it has been told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Who subscribed (the caller's id).
    pub owner: u32,
    /// `invalidate_range_start` calls received, with their ranges.
    pub invalidations: Vec<(u64, u64)>,
    /// `release` was called.
    pub released: bool,
}

/// `struct mmu_notifier_subscriptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscriptions {
    /// Live subscriptions.
    pub list: Vec<Subscription>,
    /// Subscriptions unlinked by `mmu_notifier_release` (kept so tests can see what they got).
    pub released: Vec<Subscription>,
}

/// `mmu_notifier_register`.
pub fn mmu_notifier_register(mm: &mut Mm, owner: u32) {
    mm.notifiers.list.push(Subscription {
        owner,
        ..Subscription::default()
    });
}

/// `mmu_notifier_invalidate_range_start` with an `MMU_NOTIFY_UNMAP` range.
pub fn invalidate_range_start(mm: &mut Mm, start: u64, end: u64) {
    for s in &mut mm.notifiers.list {
        s.invalidations.push((start, end));
    }
}

/// `mmu_notifier_release`: every subscriber's `release`, then unlink them all. Returns how many
/// there were.
pub fn mmu_notifier_release(mm: &mut Mm) -> usize {
    let n = mm.notifiers.list.len();
    for mut s in core::mem::take(&mut mm.notifiers.list) {
        s.released = true;
        mm.notifiers.released.push(s);
    }
    n
}
