//! mm/mmu_notifier.c: secondary MMUs (KVM, IOMMU, GPU drivers) subscribe to an mm and are told
//! when its mappings go. A subscription may carry a [`Device`]: a secondary MMU with its own
//! translations (va → frame), filled by device faults and dropped on `invalidate_range_start`
//! and `release`. It holds no page references, as KVM's shadow tables don't: only the
//! notifiers keep it from using a freed page.

use crate::arch::{Hardware, MmId};
use crate::mm_types::Mm;
use crate::page::Pfn;
use crate::sched::{Cx, KCell};
use crate::{Errno, Inject, Kernel};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// A secondary MMU mirroring `[start, end)` of an mm.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// Its name in the script.
    pub name: String,
    /// The mirrored range.
    pub start: u64,
    /// End of the mirrored range.
    pub end: u64,
    /// Its `invalidate_range_start` must sleep (wait for the device): a non-blocking caller
    /// gets `-EAGAIN`.
    pub must_sleep: bool,
    /// Translations: page address → (frame, the frame's generation when it was filled).
    pub tlb: BTreeMap<u64, (Pfn, u16)>,
    /// Translations dropped by invalidations and release.
    pub dropped: u64,
}

/// One subscription and what it has been told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Who subscribed (the caller's id).
    pub owner: u32,
    /// `invalidate_range_start` calls received, with their ranges.
    pub invalidations: Vec<(u64, u64)>,
    /// `release` was called.
    pub released: bool,
    /// The secondary MMU behind it, if any.
    pub device: Option<Device>,
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

/// `mmu_notifier_register` of a secondary MMU.
pub fn register_device(mm: &mut Mm, owner: u32, device: Device) {
    mm.notifiers.list.push(Subscription {
        owner,
        device: Some(device),
        ..Subscription::default()
    });
}

/// `mmu_notifier_invalidate_range_start` with an `MMU_NOTIFY_UNMAP` range, from a context that
/// may sleep: every subscriber drops its translations of the range.
pub fn invalidate_range_start(mm: &mut Mm, start: u64, end: u64) {
    invalidate(mm, start, end, Inject::empty());
}

fn invalidate(mm: &mut Mm, start: u64, end: u64, inject: Inject) {
    for s in &mut mm.notifiers.list {
        s.invalidations.push((start, end));
        if let Some(d) = s.device.as_mut() {
            if inject.contains(Inject::SKIP_SECONDARY_INVALIDATE) {
                continue;
            }
            let gone: Vec<u64> = d.tlb.range(start..end).map(|(a, _)| *a).collect();
            d.dropped += gone.len() as u64;
            for a in gone {
                d.tlb.remove(&a);
            }
        }
    }
}

/// Whether some subscriber's invalidation of `[start, end)` would sleep.
fn would_sleep(mm: &Mm, start: u64, end: u64) -> bool {
    mm.notifiers.list.iter().any(|s| {
        s.device
            .as_ref()
            .is_some_and(|d| d.must_sleep && d.start < end && start < d.end)
    })
}

/// `mmu_notifier_invalidate_range_start` (blockable) or `..._nonblock` from a concurrent
/// path: a subscriber that must sleep sleeps (a blockable caller waits for the device), or
/// refuses with `-EAGAIN` when the caller may not block.
pub async fn mmu_notifier_invalidate_range_start<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    start: u64,
    end: u64,
    blockable: bool,
) -> Result<(), Errno> {
    let sleeps = would_sleep(k.borrow().mm(id), start, end);
    if sleeps {
        if !blockable {
            return Err(Errno::EAGAIN);
        }
        // The driver waits for the device to drop its translations.
        crate::sched::schedule_timeout(k, cx, 1).await;
    }
    let mut kk = k.borrow_mut();
    let inject = kk.config.inject;
    invalidate(kk.mm_mut(id), start, end, inject);
    Ok(())
}

/// `mmu_notifier_release`: every subscriber's `release` (a device drops every translation and
/// makes no new ones), then unlink them all; a device's driver then puts its subscription
/// (`mmu_notifier_put`), and with it the `mmgrab` its registration took. Returns how many
/// subscribers there were.
pub fn mmu_notifier_release(mm: &mut Mm) -> usize {
    let n = mm.notifiers.list.len();
    for mut s in core::mem::take(&mut mm.notifiers.list) {
        s.released = true;
        if let Some(d) = s.device.as_mut() {
            d.dropped += d.tlb.len() as u64;
            d.tlb.clear();
            mm.count -= 1;
        }
        mm.notifiers.released.push(s);
    }
    n
}

/// A device's accesses to `[start, start + len)` of mm `id`, a page at a time: through an
/// existing translation directly (the device needs no lock for that), else by a device fault
/// (`mmget_not_zero`, `mmap_read_lock`, the fault, `mmput` — which may be the last user's,
/// and then tears the mm down here, into `r`).
#[allow(clippy::too_many_arguments)]
pub async fn device_access<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    name: &str,
    start: u64,
    len: u64,
    write: bool,
    r: &mut crate::exit::TeardownReport,
) -> Result<DeviceAccess, Errno> {
    let mut acc = DeviceAccess::default();
    let mut va = start;
    while va < start.saturating_add(len) {
        crate::sched::point(cx, "device_access").await;
        let hit = {
            let mut kk = k.borrow_mut();
            if kk.mms[id as usize].is_none() || kk.find_device(id, name).is_none() {
                return Err(Errno::ENODEV); // released: the device makes no translations
            }
            kk.device_hit(id, name, va, &cx.name)
        };
        if hit {
            acc.hits += 1;
        } else {
            // The device's page request: pin the mm as a user, fault under the lock.
            {
                let mut kk = k.borrow_mut();
                let mm = kk.mm_mut(id);
                if mm.users == 0 {
                    return Err(Errno::EFAULT); // mmget_not_zero failed: the mm is exiting
                }
                mm.users += 1;
            }
            crate::sched::mmap_read_lock(k, cx, id).await;
            let f = k.borrow_mut().device_fault(id, name, va, write);
            crate::sched::mmap_read_unlock(k, id);
            crate::exit::mmput(k, cx, id, r, 0).await;
            f?;
            acc.faults += 1;
        }
        va += crate::pgtable::PAGE_SIZE;
    }
    Ok(acc)
}

/// What one device access did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceAccess {
    /// Pages reached through an existing translation.
    pub hits: u64,
    /// Translations filled by a device fault.
    pub faults: u64,
}

impl<H: Hardware> Kernel<H> {
    /// A device access to `va` through an existing translation: true if there was one. A
    /// translation to a frame freed since it was made is recorded as a race (`who` did it).
    pub fn device_hit(&mut self, id: MmId, name: &str, va: u64, who: &str) -> bool {
        let Some((si, _)) = self.find_device(id, name) else {
            return false;
        };
        let hit = self.mm(id).notifiers.list[si]
            .device
            .as_ref()
            .and_then(|d| d.tlb.get(&va).copied());
        let Some((pfn, gen)) = hit else {
            return false;
        };
        if !self.mem.device_gen_is(pfn, gen) || self.mem.page(pfn).refcount == 0 {
            self.races.push(alloc::format!(
                "{who}: device {name} used its translation of {va:#x} to frame {pfn}, which was \
                 freed after the translation was made (use-after-free through a secondary MMU)"
            ));
        }
        true
    }

    /// A device fault at `va` (the caller holds `mmap_read_lock` and a user reference): fault
    /// the page in for the device and record the translation. A reaped mm (`MMF_UNSTABLE`)
    /// refuses, as `check_stable_address_space` makes it.
    pub fn device_fault(
        &mut self,
        id: MmId,
        name: &str,
        va: u64,
        write: bool,
    ) -> Result<(), Errno> {
        let Some((si, _)) = self.find_device(id, name) else {
            return Err(Errno::ENODEV);
        };
        let pfn = self.with_mm(id, |k, mm| {
            if mm.flags.contains(crate::mm_types::MmFlags::UNSTABLE) {
                return Err(Errno::EFAULT);
            }
            k.handle_mm_fault(mm, va, write)
                .map_err(|_| Errno::EFAULT)?;
            let e = k.pte_at(mm, va);
            if !crate::pgtable::present(e) {
                return Err(Errno::EFAULT);
            }
            Ok(crate::pgtable::pfn_of(e))
        })?;
        let gen = self.mem.device_gen(pfn);
        let d = self.mm_mut(id).notifiers.list[si].device.as_mut().unwrap();
        d.tlb.insert(va, (pfn, gen));
        Ok(())
    }

    /// The subscription index and range of device `name` on mm `id`.
    pub fn find_device(&self, id: MmId, name: &str) -> Option<(usize, (u64, u64))> {
        self.mm(id)
            .notifiers
            .list
            .iter()
            .enumerate()
            .find_map(|(i, s)| {
                s.device
                    .as_ref()
                    .filter(|d| d.name == name)
                    .map(|d| (i, (d.start, d.end)))
            })
    }
}
