//! mm/swapfile.c and mm/swap_state.c (6.18): one swap device, its swap map and the swap cache.
//!
//! The device is the kind the kernel runner makes, a zram disk: synchronous (`SWP_SYNCHRONOUS_IO`)
//! and solid-state, so a page written out leaves the swap cache at once and a slot referenced
//! once is read back without it. Slot 0 holds the swap header (`SWAP_MAP_BAD`). A slot is in
//! use while swap PTEs name it (its count) or the swap cache holds a folio for it
//! (`SWAP_HAS_CACHE`). Each slot keeps the content tag of what was written to it.

use crate::arch::Hardware;
use crate::mm_types::Mm;
use crate::page::{PageFlags, Pfn};
use crate::pgtable::{self as pt, PAGE_SIZE, PMD_SIZE};
use crate::Kernel;
use crate::{Errno, Fault};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// `SWAPFILE_CLUSTER` (with THP swap): slots per cluster.
pub const SWAPFILE_CLUSTER: u32 = 512;

/// The swap device (`struct swap_info_struct`).
#[derive(Clone, Debug)]
pub struct SwapInfo {
    /// `si->pages`: usable slots (the device's pages less the header).
    pub pages: u32,
    /// `swap_map` without its cache bit: per slot, the swap PTEs naming it.
    pub count: Vec<u32>,
    /// What each slot holds: the content tag of the page written to it.
    pub content: Vec<u32>,
    /// The swap cache: slot → folio (the slot's `SWAP_HAS_CACHE`).
    pub cache: BTreeMap<u32, Pfn>,
    /// `folio->swap` of the folios in the swap cache.
    pub cache_of: BTreeMap<Pfn, u32>,
    /// `nr_swap_pages`: slots neither counted nor cached.
    pub nr_free: u32,
    /// Cached folios read ahead and not yet faulted on (`PG_readahead`).
    pub readahead: alloc::collections::BTreeSet<Pfn>,
    /// The CPU's next-slot cache (`percpu_swap_cluster.offset`); the scripts run on one CPU.
    next: u32,
}

impl SwapInfo {
    /// [`Kernel::folio_test_swapcache`] on the swap state alone (for a caller that holds a
    /// page table of the kernel's machine).
    #[inline]
    pub(crate) fn caches(swap: Option<&SwapInfo>, pfn: Pfn) -> bool {
        swap.is_some_and(|si| si.cache_of.contains_key(&pfn))
    }

    /// Whether `slot` is free (count 0 and no cached folio).
    pub fn slot_free(&self, slot: u32) -> bool {
        self.count[slot as usize] == 0 && !self.cache.contains_key(&slot)
    }

    /// Whether a whole cluster of [`SWAPFILE_CLUSTER`] slots is free (what an order-9
    /// allocation, a THP swapped out whole, needs).
    pub fn has_free_cluster(&self) -> bool {
        let n = self.count.len() as u32 / SWAPFILE_CLUSTER;
        (0..n).any(|c| {
            (c * SWAPFILE_CLUSTER..(c + 1) * SWAPFILE_CLUSTER).all(|s| s != 0 && self.slot_free(s))
        })
    }

    /// `vm_swap_full`: more than half the slots in use.
    pub fn vm_swap_full(&self) -> bool {
        (self.nr_free as u64) * 2 < self.pages as u64
    }
}

impl<H: Hardware> Kernel<H> {
    /// `sys_swapon` of a device of `bytes` bytes whose header the runner wrote: the header
    /// page is slot 0, every other page a slot.
    pub fn sys_swapon(&mut self, bytes: u64) -> Result<(), Errno> {
        if self.swap.is_some() {
            return Err(Errno::EBUSY);
        }
        let max = (bytes / crate::pgtable::PAGE_SIZE) as u32;
        if max < 2 {
            return Err(Errno::EINVAL);
        }
        self.swap = Some(SwapInfo {
            pages: max - 1,
            count: vec![0; max as usize],
            content: vec![0; max as usize],
            cache: BTreeMap::new(),
            cache_of: BTreeMap::new(),
            nr_free: max - 1,
            readahead: Default::default(),
            next: 1,
        });
        Ok(())
    }

    /// `nr_swap_pages` and `total_swap_pages` (0 and 0 without a device).
    pub fn swap_totals(&self) -> (u64, u64) {
        self.swap
            .as_ref()
            .map_or((0, 0), |s| (s.nr_free as u64, s.pages as u64))
    }

    /// `folio_alloc_swap` for one page: the next free slot from the CPU's position (the
    /// cluster allocator hands slots out in order on one CPU); `None` when the device is full
    /// or there is none. The slot starts with its cache bit only.
    pub(crate) fn folio_alloc_swap(&mut self) -> Option<u32> {
        let si = self.swap.as_mut()?;
        if si.nr_free == 0 {
            return None;
        }
        let max = si.count.len() as u32;
        let mut slot = si.next.max(1);
        loop {
            if slot >= max {
                slot = 1;
            }
            if si.slot_free(slot) {
                break;
            }
            slot += 1;
        }
        si.next = slot + 1;
        si.nr_free -= 1;
        Some(slot)
    }

    /// `swap_duplicate`: one more swap PTE names `slot`.
    pub(crate) fn swap_duplicate(&mut self, slot: u32) {
        let si = self.swap.as_mut().expect("a swap entry implies a device");
        si.count[slot as usize] += 1;
    }

    /// `swap_free`: one swap PTE fewer names `slot`; a slot left with neither count nor cached
    /// folio is free.
    pub(crate) fn swap_free(&mut self, slot: u32) {
        let si = self.swap.as_mut().expect("a swap entry implies a device");
        si.count[slot as usize] -= 1;
        if si.slot_free(slot) {
            si.nr_free += 1;
        }
    }

    /// `free_swap_and_cache` (`TTRS_UNMAPPED`): drop a swap PTE's reference to `slot`; if no
    /// PTE names the slot any more and its cached folio is mapped nowhere, the folio leaves
    /// the swap cache (its reference with it) and the slot is free.
    pub(crate) fn free_swap_and_cache(&mut self, slot: u32) {
        self.swap_free(slot);
        let si = self.swap.as_ref().expect("device");
        if si.count[slot as usize] != 0 {
            return;
        }
        if let Some(&pfn) = si.cache.get(&slot) {
            if self.mem.page(pfn).mapcount == 0 || si.vm_swap_full() {
                self.folio_free_swap(pfn);
            }
        }
    }

    /// Whether the folio at `pfn` is in the swap cache (`folio_test_swapcache`).
    pub(crate) fn folio_test_swapcache(&self, pfn: Pfn) -> bool {
        SwapInfo::caches(self.swap.as_ref(), pfn)
    }

    /// `folio_free_swap`: a folio in the swap cache whose slot no swap PTE names leaves the
    /// cache, marked dirty (its only copy is now in memory); the slot is free and the cache's
    /// reference is dropped. False if swap PTEs still name the slot.
    pub(crate) fn folio_free_swap(&mut self, pfn: Pfn) -> bool {
        let Some(si) = self.swap.as_mut() else {
            return false;
        };
        let Some(&slot) = si.cache_of.get(&pfn) else {
            return false;
        };
        if si.count[slot as usize] != 0 {
            return false;
        }
        si.cache_of.remove(&pfn);
        si.cache.remove(&slot);
        si.readahead.remove(&pfn);
        si.nr_free += 1;
        self.mem.page_mut(pfn).flags.insert(PageFlags::DIRTY);
        crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
        true
    }

    /// `swap_cache_add_folio` of a folio read from `slot` (its reference is the cache's).
    fn swap_cache_add(&mut self, slot: u32, pfn: Pfn) {
        let si = self.swap.as_mut().expect("device");
        si.cache.insert(slot, pfn);
        si.cache_of.insert(pfn, slot);
    }

    /// `read_swap_cache_async`: the folio for `slot`, read into the swap cache if it is not
    /// there yet (a new swap-backed folio, not yet anonymous: it has no rmap until mapped).
    pub(crate) fn read_swap_cache_async(&mut self, slot: u32) -> Result<Pfn, Fault> {
        let si = self.swap.as_ref().expect("device");
        if let Some(&pfn) = si.cache.get(&slot) {
            return Ok(pfn);
        }
        let content = si.content[slot as usize];
        let pfn = self.mem.alloc_pages(0).map_err(|_| Fault::Oom)?;
        let p = self.mem.page_mut(pfn);
        p.flags = PageFlags::SWAPBACKED | PageFlags::UPTODATE | PageFlags::LRU;
        p.content = content;
        p.mapping = 0;
        p.index = 0;
        self.swap_cache_add(slot, pfn);
        Ok(pfn)
    }

    /// Swap slots in use (`si->inuse_pages`).
    pub fn swap_inuse(&self) -> u64 {
        self.swap
            .as_ref()
            .map_or(0, |s| (s.pages - s.nr_free) as u64)
    }

    /// `swap_vma_ra_win` (6.18 mm/swap_state.c): the readahead window around a swap fault at
    /// `addr` in the VMA at `vma_start`, from the VMA's `swap_readahead_info`, which it then
    /// updates. Returns `(start, end, win)`.
    fn swap_vma_ra_win(&mut self, mm: &mut Mm, vma_start: u64, addr: u64) -> (u64, u64, u64) {
        let max_win = 1u64 << self.config.page_cluster.min(SWAP_RA_ORDER_CEILING);
        if max_win == 1 {
            return (addr, addr + PAGE_SIZE, 1);
        }
        let vma = mm.vmas.get_mut(&vma_start).expect("the faulting VMA");
        let ra = if vma.swap_readahead_info == 0 {
            4
        } else {
            vma.swap_readahead_info
        };
        let (prev, prev_win, hits) = (ra & !(PAGE_SIZE - 1), (ra & SWAP_RA_WIN_MASK) >> 6, ra & 63);
        let win = swapin_nr_pages(prev >> 12, addr >> 12, hits, max_win, prev_win);
        vma.swap_readahead_info = addr | (win << 6) & SWAP_RA_WIN_MASK;
        if win == 1 {
            return (addr, addr + PAGE_SIZE, 1);
        }
        let left = if addr == prev + PAGE_SIZE {
            addr
        } else if prev == addr + PAGE_SIZE {
            (addr + PAGE_SIZE).saturating_sub(win << 12)
        } else {
            addr.saturating_sub(((win - 1) / 2) << 12)
        };
        let right = left + (win << 12);
        let pmd = addr & !(PMD_SIZE - 1);
        let start = left.max(vma.start).max(pmd);
        let end = right.min(vma.end).min(pmd + PMD_SIZE);
        (start, end, win)
    }

    /// `swap_vma_readahead`: every swap PTE in the window around `addr` is read into the swap
    /// cache (unmapped; those besides `addr` marked `PG_readahead`), then the target's folio.
    pub(crate) fn swap_vma_readahead(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        addr: u64,
        slot: u32,
    ) -> Result<Pfn, Fault> {
        let (start, end, win) = self.swap_vma_ra_win(mm, vma_start, addr);
        if win > 1 {
            let mut a = start;
            while a < end {
                let e = self.pte_at(mm, a);
                if pt::is_swap(e) {
                    let s = pt::swp_offset(e);
                    let si = self.swap.as_ref().expect("device");
                    if !si.cache.contains_key(&s) {
                        let pfn = self.read_swap_cache_async(s)?;
                        if a != addr {
                            self.swap.as_mut().expect("device").readahead.insert(pfn);
                        }
                    }
                }
                a += PAGE_SIZE;
            }
        }
        self.read_swap_cache_async(slot)
    }

    /// `swap_update_readahead`: a fault found `pfn` in the swap cache; a folio read ahead
    /// counts as a hit in the VMA's readahead state, which now points at `addr`.
    pub(crate) fn swap_update_readahead(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        pfn: Pfn,
        addr: u64,
    ) {
        let readahead = self.swap.as_mut().expect("device").readahead.remove(&pfn);
        let vma = mm.vmas.get_mut(&vma_start).expect("the faulting VMA");
        let ra = if vma.swap_readahead_info == 0 {
            4
        } else {
            vma.swap_readahead_info
        };
        let (win, mut hits) = ((ra & SWAP_RA_WIN_MASK) >> 6, ra & 63);
        if readahead {
            hits = (hits + 1).min(63);
        }
        vma.swap_readahead_info = addr | (win << 6) & SWAP_RA_WIN_MASK | hits;
    }
}

/// `SWAP_RA_ORDER_CEILING`: the readahead window is at most `1 << 5` pages.
const SWAP_RA_ORDER_CEILING: u32 = 5;
/// `SWAP_RA_WIN_MASK` (4 KiB pages: the window sits in bits 6..12 of `swap_readahead_info`).
const SWAP_RA_WIN_MASK: u64 = 0xfff & !63;

/// `__swapin_nr_pages`: the next readahead window from the last fault's page `prev`, this
/// fault's page `offset`, the hits since, the largest window and the last one.
fn swapin_nr_pages(prev: u64, offset: u64, hits: u64, max_pages: u64, prev_win: u64) -> u64 {
    let mut pages = hits + 2;
    if pages == 2 {
        if offset != prev + 1 && offset != prev.wrapping_sub(1) {
            pages = 1;
        }
    } else {
        let mut roundup = 4;
        while roundup < pages {
            roundup <<= 1;
        }
        pages = roundup;
    }
    pages = pages.min(max_pages);
    pages.max(prev_win / 2)
}
