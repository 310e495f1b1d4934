//! mm/hugetlb.c: the persistent pools of huge pages (one `struct hstate` per size) and the
//! folios they hand out.
//!
//! A pool folio is a naturally aligned block of frames taken from the buddy allocator
//! (2 MiB, order 9) or from wholly free sections (1 GiB, `alloc_contig_pages`). Its head frame
//! carries all its state (`PageFlags::HUGETLB`, refcount, mapcount, page-cache mapping); its
//! tail frames carry none. A free folio sits on its pool's free list with refcount 0; a folio
//! in use is referenced by the page-table leaves that map it and by a page cache.

use crate::arch::Hardware;
use crate::memory::ZapStats;
use crate::mm_types::{FileId, HugetlbVma, Mm, ResvId, VmFlags, Vma};
use crate::mmu_gather::MmuGather;
use crate::page::{PageFlags, Pfn};
use crate::page_alloc::MAX_ORDER;
use crate::pgtable::{self as pt, Level, PAGE_SIZE, PUD_SIZE};
use crate::{Errno, Fault, Kernel};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// The huge page sizes of x86-64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HugeSize {
    /// 2 MiB, mapped by a PMD-level leaf.
    Huge2M,
    /// 1 GiB, mapped by a PUD-level leaf.
    Huge1G,
}

impl HugeSize {
    /// Both sizes, in `hstates` order.
    pub const ALL: [HugeSize; 2] = [HugeSize::Huge2M, HugeSize::Huge1G];

    /// `huge_page_order`.
    pub const fn order(self) -> u32 {
        match self {
            HugeSize::Huge2M => 9,
            HugeSize::Huge1G => 18,
        }
    }

    /// `huge_page_shift`.
    pub const fn shift(self) -> u32 {
        self.order() + 12
    }

    /// `huge_page_size`, in bytes.
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// Base pages per huge page (`pages_per_huge_page`).
    pub const fn pages(self) -> u64 {
        1 << self.order()
    }

    /// Index in [`Kernel::hstates`].
    pub const fn index(self) -> usize {
        match self {
            HugeSize::Huge2M => 0,
            HugeSize::Huge1G => 1,
        }
    }

    /// The size of the page `order` (from a folio's head), if it is a huge page size.
    pub fn of_order(order: u32) -> Option<HugeSize> {
        Self::ALL.into_iter().find(|s| s.order() == order)
    }
}

/// `struct hstate`: one pool.
///
/// Invariants (`check_invariants`): `folios.len() == nr_huge_pages`; `free_list` holds
/// `free_huge_pages` of them, each with refcount 0 and no mapping; `resv_huge_pages <=
/// free_huge_pages` as signed numbers; `surplus_huge_pages <= nr_huge_pages`.
///
/// `resv_huge_pages` is the kernel's `unsigned long` and wraps as it does: 6.18 can take it
/// below zero. A private owner that unmaps a page it shares with a forked child gives the
/// page's reservation back twice: `__unmap_hugepage_range` marks the folio
/// `restore_reserve` and forgets that the index was consumed, so `hugetlb_vm_op_close` gives
/// it back at once, and the folio gives it back again when the child lets go of it. Until
/// then the counter reads 2^64 - 1 (this host's 6.18 shows the same).
#[derive(Clone, Debug)]
pub struct Hstate {
    /// The page size of this pool.
    pub size: HugeSize,
    /// `nr_huge_pages`: folios in the pool, free or in use (persistent + surplus).
    pub nr_huge_pages: u64,
    /// `free_huge_pages`.
    pub free_huge_pages: u64,
    /// `resv_huge_pages`: free folios promised to mappings.
    pub resv_huge_pages: u64,
    /// `surplus_huge_pages`: folios beyond the persistent pool, given back to the buddy
    /// allocator when they become free.
    pub surplus_huge_pages: u64,
    /// `nr_overcommit_huge_pages`: how many surplus folios may be allocated on demand.
    pub nr_overcommit_huge_pages: u64,
    /// `hugepage_freelists`, most recently freed first (`enqueue` adds at the head).
    pub free_list: Vec<Pfn>,
    /// Every folio of the pool (heads).
    pub folios: BTreeSet<Pfn>,
}

impl Hstate {
    /// An empty pool of `size`.
    pub fn new(size: HugeSize) -> Self {
        Hstate {
            size,
            nr_huge_pages: 0,
            free_huge_pages: 0,
            resv_huge_pages: 0,
            surplus_huge_pages: 0,
            nr_overcommit_huge_pages: 0,
            free_list: Vec::new(),
            folios: BTreeSet::new(),
        }
    }

    /// `persistent_huge_pages`.
    pub fn persistent_huge_pages(&self) -> u64 {
        self.nr_huge_pages - self.surplus_huge_pages
    }

    /// `available_huge_pages`: free folios nobody has reserved.
    pub fn available_huge_pages(&self) -> u64 {
        self.free_huge_pages.wrapping_sub(self.resv_huge_pages)
    }
}

impl<H: Hardware> Kernel<H> {
    /// The pool of `size`.
    pub fn hstate(&self, size: HugeSize) -> &Hstate {
        &self.hstates[size.index()]
    }

    fn hstate_mut(&mut self, size: HugeSize) -> &mut Hstate {
        &mut self.hstates[size.index()]
    }

    /// The pools as `Config::hugetlb_baseline` says the host has them: `nr` free folios, of
    /// which `surplus` are surplus, and `resv` reservations nobody owns.
    pub(crate) fn hugetlb_boot(&mut self) {
        for size in HugeSize::ALL {
            let b = self.config.hugetlb_baseline[size.index()];
            if b.nr == 0 {
                continue;
            }
            self.set_max_huge_pages(size, b.nr);
            let h = self.hstate_mut(size);
            h.surplus_huge_pages = b.surplus.min(h.nr_huge_pages);
            h.resv_huge_pages = b.resv.min(h.free_huge_pages);
            self.hugetlb_resv_leaked[size.index()] = self.hstate(size).resv_huge_pages;
        }
    }

    /// `alloc_fresh_hugetlb_folio`: a new folio from the buddy allocator (2 MiB) or from
    /// contiguous free memory (1 GiB, `alloc_gigantic_folio`), not yet in any pool.
    fn alloc_fresh_hugetlb_folio(&mut self, size: HugeSize) -> Option<Pfn> {
        let pfn = if size.order() > MAX_ORDER {
            self.mem.alloc_contig_pages(size.order())?
        } else {
            self.mem.alloc_pages(size.order()).ok()?
        };
        let p = self.mem.page_mut(pfn);
        p.flags = PageFlags::HUGETLB;
        p.refcount = 0;
        Some(pfn)
    }

    /// `update_and_free_hugetlb_folio`: a free folio leaves the pool for the allocator.
    fn update_and_free_hugetlb_folio(&mut self, size: HugeSize, pfn: Pfn) {
        let p = self.mem.page_mut(pfn);
        debug_assert_eq!({ p.refcount }, 0);
        p.flags = PageFlags::empty();
        if size.order() > MAX_ORDER {
            self.mem.free_contig_pages(pfn, size.order());
        } else {
            self.mem.free_pages(pfn, size.order());
        }
        self.hw.frame_freed(pfn);
    }

    /// `enqueue_hugetlb_folio`: a free folio joins its pool's free list.
    fn enqueue_hugetlb_folio(&mut self, size: HugeSize, pfn: Pfn) {
        let h = self.hstate_mut(size);
        h.free_list.insert(0, pfn);
        h.free_huge_pages += 1;
    }

    /// `adjust_pool_surplus`: move one folio into (`delta = 1`) or out of (`-1`) the surplus.
    fn adjust_pool_surplus(&mut self, size: HugeSize, delta: i32) -> bool {
        let h = self.hstate_mut(size);
        if delta < 0 {
            if h.surplus_huge_pages == 0 {
                return false;
            }
            h.surplus_huge_pages -= 1;
        } else {
            if h.surplus_huge_pages >= h.nr_huge_pages {
                return false;
            }
            h.surplus_huge_pages += 1;
        }
        true
    }

    /// `set_max_huge_pages` (writing `nr_hugepages`): grow the persistent pool to `count`
    /// (surplus folios become persistent first, then fresh folios, as far as memory allows),
    /// or shrink it: free folios go back to the allocator, except those reservations need, and
    /// folios still in use become surplus, to go when they are freed. Returns the persistent
    /// pool size reached.
    pub fn set_max_huge_pages(&mut self, size: HugeSize, count: u64) -> u64 {
        while self.hstate(size).surplus_huge_pages > 0
            && count > self.hstate(size).persistent_huge_pages()
        {
            if !self.adjust_pool_surplus(size, -1) {
                break;
            }
        }
        while count > self.hstate(size).persistent_huge_pages() {
            let Some(pfn) = self.alloc_fresh_hugetlb_folio(size) else {
                break;
            };
            let h = self.hstate_mut(size);
            h.folios.insert(pfn);
            h.nr_huge_pages += 1;
            self.enqueue_hugetlb_folio(size, pfn);
        }
        let h = self.hstate(size);
        let min_count = count.max(
            h.resv_huge_pages
                .wrapping_add(h.nr_huge_pages)
                .wrapping_sub(h.free_huge_pages),
        );
        while min_count < self.hstate(size).persistent_huge_pages() {
            // remove_pool_hugetlb_folio: a free folio leaves the pool.
            let h = self.hstate_mut(size);
            let Some(pfn) = h.free_list.pop() else {
                break;
            };
            h.free_huge_pages -= 1;
            h.nr_huge_pages -= 1;
            h.folios.remove(&pfn);
            self.update_and_free_hugetlb_folio(size, pfn);
        }
        while count < self.hstate(size).persistent_huge_pages() {
            if !self.adjust_pool_surplus(size, 1) {
                break;
            }
        }
        self.hstate(size).persistent_huge_pages()
    }

    /// `dequeue_hugetlb_folio`: take a free folio (refcount 1) for a mapping; `reserved`
    /// consumes one of the pool's reservations, otherwise only a folio nobody has reserved
    /// may be taken. Then a surplus folio, if the overcommit allows one. `None` when the pool
    /// cannot give one.
    pub(crate) fn dequeue_hugetlb_folio(&mut self, size: HugeSize, reserved: bool) -> Option<Pfn> {
        let h = self.hstate(size);
        if !reserved && h.available_huge_pages() == 0 {
            return self.alloc_surplus_hugetlb_folio(size);
        }
        let h = self.hstate_mut(size);
        let Some(pfn) = (!h.free_list.is_empty()).then(|| h.free_list.remove(0)) else {
            return self.alloc_surplus_hugetlb_folio(size);
        };
        h.free_huge_pages -= 1;
        if reserved {
            h.resv_huge_pages = h.resv_huge_pages.wrapping_sub(1);
        }
        self.mem.page_mut(pfn).refcount = 1;
        Some(pfn)
    }

    /// `alloc_surplus_hugetlb_folio`: a folio beyond the pool, while surplus folios stay
    /// within `nr_overcommit_huge_pages`.
    fn alloc_surplus_hugetlb_folio(&mut self, size: HugeSize) -> Option<Pfn> {
        let h = self.hstate(size);
        if h.surplus_huge_pages >= h.nr_overcommit_huge_pages {
            return None;
        }
        let pfn = self.alloc_fresh_hugetlb_folio(size)?;
        let h = self.hstate_mut(size);
        h.folios.insert(pfn);
        h.nr_huge_pages += 1;
        h.surplus_huge_pages += 1;
        self.mem.page_mut(pfn).refcount = 1;
        Some(pfn)
    }

    /// `free_huge_folio`: the folio's last reference is gone. A surplus folio goes back to
    /// the allocator; any other returns to the free list (`restore_reserve`: the reservation
    /// it consumed comes back too).
    pub(crate) fn free_huge_folio(&mut self, size: HugeSize, pfn: Pfn, restore_reserve: bool) {
        let p = self.mem.page_mut(pfn);
        debug_assert_eq!({ p.refcount }, 0);
        p.flags = PageFlags::HUGETLB;
        p.mapcount = 0;
        p.mapping = 0;
        p.index = 0;
        p.content = 0;
        if restore_reserve {
            let h = self.hstate_mut(size);
            h.resv_huge_pages = h.resv_huge_pages.wrapping_add(1);
        }
        if self.hstate(size).surplus_huge_pages > 0 {
            let h = self.hstate_mut(size);
            h.surplus_huge_pages -= 1;
            h.nr_huge_pages -= 1;
            h.folios.remove(&pfn);
            self.update_and_free_hugetlb_folio(size, pfn);
        } else {
            self.enqueue_hugetlb_folio(size, pfn);
            // The folio may be handed to someone else: any stale translation to it is a
            // use-after-free from here on.
            self.hw.frame_freed(pfn);
        }
    }
}

/// `struct resv_map` of a private hugetlb mapping, shared by the VMAs split from it: the huge
/// page indices (file offsets in huge pages) whose reservation has been consumed. An index not
/// in it still holds its reservation.
#[derive(Clone, Debug, Default)]
pub struct ResvMap {
    /// `kref`: VMAs using the map.
    pub refs: u32,
    /// Consumed indices.
    pub consumed: BTreeSet<u64>,
}

/// A leaf slot of a hugetlb mapping: the table frame holding it and the index in that table.
pub(crate) type Slot = (Pfn, usize);

/// The hugetlb page size of a VMA (`hstate_vma`).
pub(crate) fn hsize(vma: &Vma) -> HugeSize {
    vma.hugetlb.expect("a hugetlb VMA").size
}

/// `vma_hugecache_offset`: the file offset of `addr` in huge pages.
pub(crate) fn vma_hugecache_offset(vma: &Vma, addr: u64) -> u64 {
    let h = hsize(vma);
    ((addr - vma.start) >> h.shift()) + (vma.pgoff >> h.order())
}

impl<H: Hardware> Kernel<H> {
    // ------------------------------------------------------------ reservation maps

    /// `resv_map_alloc`: a new private map with one reference.
    fn resv_map_alloc(&mut self) -> ResvId {
        let m = ResvMap {
            refs: 1,
            consumed: BTreeSet::new(),
        };
        match self.resv_maps.iter().position(|m| m.is_none()) {
            Some(i) => {
                self.resv_maps[i] = Some(m);
                i as ResvId
            }
            None => {
                self.resv_maps.push(Some(m));
                (self.resv_maps.len() - 1) as ResvId
            }
        }
    }

    fn resv_map(&mut self, id: ResvId) -> &mut ResvMap {
        self.resv_maps[id as usize].as_mut().expect("resv_map")
    }

    /// `resv_map_release` on the last `kref_put`.
    pub(crate) fn resv_map_put(&mut self, id: ResvId) {
        let m = self.resv_map(id);
        m.refs -= 1;
        if m.refs == 0 {
            self.resv_maps[id as usize] = None;
        }
    }

    /// `hugetlb_vm_op_open`: a VMA copied from `vma` (split, mremap's copy) shares its private
    /// map; a shared one gets a vma_lock of its own.
    pub(crate) fn hugetlb_vm_op_open(&mut self, vma: &Vma) {
        if let Some(id) = vma.hugetlb.and_then(|h| h.resv) {
            self.resv_map(id).refs += 1;
        }
    }

    /// Unconsumed reservations of map `id` in the part of `vma` outside `[moved.0, moved.1)`.
    pub(crate) fn hugetlb_unconsumed(&mut self, vma: &Vma, id: ResvId, moved: (u64, u64)) -> u64 {
        let (first, last) = (
            vma_hugecache_offset(vma, vma.start),
            vma_hugecache_offset(vma, vma.end),
        );
        let (m0, m1) = (
            vma_hugecache_offset(vma, moved.0.max(vma.start)),
            vma_hugecache_offset(vma, moved.1.min(vma.end)),
        );
        let map = self.resv_map(id);
        (first..last)
            .filter(|i| !(m0..m1).contains(i) && !map.consumed.contains(i))
            .count() as u64
    }

    /// `hugetlb_vm_op_close` (from `remove_vma`): a private owner VMA gives back the
    /// reservations of its range not yet consumed; shared reservations stay with the inode.
    pub(crate) fn hugetlb_vm_op_close(&mut self, vma: &Vma) {
        let Some(HugetlbVma {
            resv: Some(id),
            size,
            ..
        }) = vma.hugetlb
        else {
            return;
        };
        let (first, last) = (
            vma_hugecache_offset(vma, vma.start),
            vma_hugecache_offset(vma, vma.end),
        );
        let used = self.resv_map(id).consumed.range(first..last).count() as u64;
        let reserve = (last - first) - used;
        self.hugetlb_acct_memory(size, -(reserve as i64))
            .expect("giving back cannot fail");
        self.resv_map_put(id);
    }

    /// `hugetlb_acct_memory`: take (`delta > 0`, `gather_surplus_pages`) or give back
    /// (`return_unused_surplus_pages`) reservations.
    pub(crate) fn hugetlb_acct_memory(&mut self, size: HugeSize, delta: i64) -> Result<(), Errno> {
        if delta > 0 {
            self.gather_surplus_pages(size, delta as u64)
        } else {
            self.return_unused_surplus_pages(size, (-delta) as u64);
            Ok(())
        }
    }

    /// `gather_surplus_pages`: reserve `delta` free folios, allocating surplus ones for what
    /// the free list lacks (within the overcommit; never for 1 GiB pages). ENOMEM if it can't.
    fn gather_surplus_pages(&mut self, size: HugeSize, delta: u64) -> Result<(), Errno> {
        let h = self.hstate(size);
        // `long needed = (resv + delta) - free`: unsigned sums, read as signed.
        let needed = (h
            .resv_huge_pages
            .wrapping_add(delta)
            .wrapping_sub(h.free_huge_pages) as i64)
            .max(0) as u64;
        let mut got = Vec::new();
        for _ in 0..needed {
            if size.order() > MAX_ORDER {
                break;
            }
            match self.alloc_surplus_hugetlb_folio(size) {
                Some(p) => got.push(p),
                None => break,
            }
        }
        if (got.len() as u64) < needed {
            for p in got {
                self.mem.page_mut(p).refcount = 0;
                let h = self.hstate_mut(size);
                h.surplus_huge_pages -= 1;
                h.nr_huge_pages -= 1;
                h.folios.remove(&p);
                self.update_and_free_hugetlb_folio(size, p);
            }
            return Err(Errno::ENOMEM);
        }
        for p in got {
            self.mem.page_mut(p).refcount = 0;
            self.enqueue_hugetlb_folio(size, p);
        }
        let h = self.hstate_mut(size);
        h.resv_huge_pages = h.resv_huge_pages.wrapping_add(delta);
        Ok(())
    }

    /// `return_unused_surplus_pages`: drop `unused` reservations, and free surplus folios
    /// that are free, as many as were unreserved.
    fn return_unused_surplus_pages(&mut self, size: HugeSize, unused: u64) {
        let h = self.hstate_mut(size);
        h.resv_huge_pages = h.resv_huge_pages.wrapping_sub(unused);
        for _ in 0..unused.min(h.surplus_huge_pages) {
            let h = self.hstate_mut(size);
            let Some(pfn) = h.free_list.pop() else {
                break;
            };
            h.free_huge_pages -= 1;
            h.surplus_huge_pages -= 1;
            h.nr_huge_pages -= 1;
            h.folios.remove(&pfn);
            self.update_and_free_hugetlb_folio(size, pfn);
        }
    }

    /// `hugetlb_reserve_pages`: reserve the huge pages `[from, to)` of `file` for a new
    /// mapping with `flags`. A shared mapping reserves what the inode's map lacks and records
    /// it there; a private one reserves its whole range in a map of its own (returned: the VMA
    /// owns it). `VM_NORESERVE` reserves nothing. ENOMEM when the pool can't.
    pub(crate) fn hugetlb_reserve_pages(
        &mut self,
        file: FileId,
        from: u64,
        to: u64,
        flags: VmFlags,
    ) -> Result<Option<ResvId>, Errno> {
        let size = self.files.get(file).huge.expect("hugetlbfs inode");
        if flags.contains(VmFlags::NORESERVE) {
            return Ok(None);
        }
        if flags.contains(VmFlags::MAYSHARE) {
            let f = self.files.get(file);
            let chg = (from..to).filter(|i| !f.resv.contains(i)).count() as i64;
            self.hugetlb_acct_memory(size, chg)?;
            self.files.get_mut(file).resv.extend(from..to);
            Ok(None)
        } else {
            self.hugetlb_acct_memory(size, (to - from) as i64)?;
            Ok(Some(self.resv_map_alloc()))
        }
    }

    /// `vma_needs_reservation` answered the other way round: whether a reservation stands
    /// for index `idx` of `vma` (shared: in the inode's map; private: the VMA owns a map and
    /// has not consumed this index).
    fn vma_has_reservation(&self, vma: &Vma, idx: u64) -> bool {
        let hv = vma.hugetlb.expect("hugetlb VMA");
        if vma.flags.contains(VmFlags::MAYSHARE) {
            let f = self.files.get(vma.file.expect("hugetlbfs file"));
            return f.resv.contains(&idx);
        }
        match hv.resv {
            Some(id) => !self.resv_maps[id as usize]
                .as_ref()
                .expect("resv_map")
                .consumed
                .contains(&idx),
            None => false,
        }
    }

    /// `vma_commit_reservation`: record that `idx` now has its page (shared: an entry in the
    /// inode's map; private owner: consumed).
    fn vma_commit_reservation(&mut self, vma: &Vma, idx: u64) {
        if vma.flags.contains(VmFlags::MAYSHARE) {
            let f = vma.file.expect("hugetlbfs file");
            self.files.get_mut(f).resv.insert(idx);
        } else if let Some(id) = vma.hugetlb.and_then(|h| h.resv) {
            self.resv_map(id).consumed.insert(idx);
        }
    }

    /// `alloc_hugetlb_folio`: a folio for index `idx` of `vma`, consuming its reservation if
    /// one stands (unless `cow_from_owner`: the owner's COW of an anonymous page never uses
    /// the VMA's reservation), else only an unreserved free folio. `None` (-ENOSPC) when the
    /// pool has none to give.
    fn alloc_hugetlb_folio(&mut self, vma: &Vma, idx: u64, cow_from_owner: bool) -> Option<Pfn> {
        let size = hsize(vma);
        let reserved = !cow_from_owner && self.vma_has_reservation(vma, idx);
        let pfn = self.dequeue_hugetlb_folio(size, reserved)?;
        let p = self.mem.page_mut(pfn);
        p.flags = PageFlags::HUGETLB;
        if size == HugeSize::Huge1G {
            p.flags.insert(PageFlags::HUGE_1G);
        }
        if !cow_from_owner {
            self.vma_commit_reservation(vma, idx);
        }
        Some(pfn)
    }

    // ------------------------------------------------------------ page tables

    /// `huge_pte_offset`: the leaf slot of `addr` in `mm` for `size`, if the tables above it
    /// exist.
    pub(crate) fn huge_pte_offset(&self, mm: &Mm, addr: u64, size: HugeSize) -> Option<Slot> {
        let e = self.hw.table(mm.pgd)[Level::Pgd.index(addr)];
        if !pt::present(e) {
            return None;
        }
        let pud = pt::pfn_of(e);
        if size == HugeSize::Huge1G {
            return Some((pud, Level::Pud.index(addr)));
        }
        let e = self.hw.table(pud)[Level::Pud.index(addr)];
        if !pt::present(e) || pt::leaf(e) {
            return None;
        }
        Some((pt::pfn_of(e), Level::Pmd.index(addr)))
    }

    /// `huge_pte_alloc`: the leaf slot of `addr`, allocating the PUD table and (2 MiB) the PMD
    /// table, or sharing another mapping's PMD table (`huge_pmd_share`) when the whole
    /// 1 GiB around `addr` is inside a shared VMA and this mm has no PMD table there yet.
    fn huge_pte_alloc(&mut self, mm: &mut Mm, vma: &Vma, addr: u64) -> Result<Slot, Fault> {
        let size = hsize(vma);
        let pgd = mm.pgd;
        let pud = self
            .table_below(mm, pgd, Level::Pgd.index(addr), true)
            .map_err(|_| Fault::Oom)?
            .expect("allocated");
        if size == HugeSize::Huge1G {
            return Ok((pud, Level::Pud.index(addr)));
        }
        let pud_idx = Level::Pud.index(addr);
        if self.want_pmd_share(vma, addr) && pt::none(self.hw.table(pud)[pud_idx]) {
            self.huge_pmd_share(mm, vma, addr, pud);
        }
        let pmd = self
            .table_below(mm, pud, pud_idx, true)
            .map_err(|_| Fault::Oom)?
            .expect("allocated");
        Ok((pmd, Level::Pmd.index(addr)))
    }

    /// `want_pmd_share`: a shared 2 MiB mapping with its vma_lock whose VMA holds the whole
    /// 1 GiB-aligned range around `addr`.
    fn want_pmd_share(&self, vma: &Vma, addr: u64) -> bool {
        let base = addr & !(PUD_SIZE - 1);
        vma.flags.contains(VmFlags::MAYSHARE)
            && vma
                .hugetlb
                .is_some_and(|h| h.lock && h.size == HugeSize::Huge2M)
            && base >= vma.start
            && base + PUD_SIZE <= vma.end
    }

    /// `huge_pmd_share`: find a VMA mapping the same file chunk (`page_table_shareable`: same
    /// 2 MiB slot in the 1 GiB, same flags but the lock bits, its 1 GiB wholly inside it, with
    /// its vma_lock) whose mm has a PMD table there, and hang that table under this mm's PUD
    /// entry too: one more sharer, and one more PMD table in this mm's `pgtables_bytes`.
    fn huge_pmd_share(&mut self, mm: &mut Mm, vma: &Vma, addr: u64, pud: Pfn) {
        let idx = vma.linear_index(addr);
        let shareable = |svma: &Vma| -> Option<u64> {
            if svma.file != vma.file {
                return None;
            }
            if idx < svma.pgoff || idx >= svma.pgoff + svma.pages() {
                return None;
            }
            let saddr = svma.start + ((idx - svma.pgoff) << 12);
            let sbase = saddr & !(PUD_SIZE - 1);
            let same_flags = svma.flags - VmFlags::LOCKED_MASK == vma.flags - VmFlags::LOCKED_MASK;
            (Level::Pmd.index(addr) == Level::Pmd.index(saddr)
                && same_flags
                && sbase >= svma.start
                && sbase + PUD_SIZE <= svma.end
                && svma.hugetlb.is_some_and(|h| h.lock))
            .then_some(saddr)
        };
        // The other VMAs of this mm first, then every other mm (mapping->i_mmap).
        let mut found = None;
        for svma in mm.vmas.values().filter(|s| s.start != vma.start) {
            if let Some(saddr) = shareable(svma) {
                found = self
                    .huge_pte_offset(mm, saddr, HugeSize::Huge2M)
                    .map(|s| s.0);
                if found.is_some() {
                    break;
                }
            }
        }
        if found.is_none() {
            'mms: for other in self.mms.iter().flatten() {
                for svma in other.vmas.values() {
                    if let Some(saddr) = shareable(svma) {
                        found = self
                            .huge_pte_offset(other, saddr, HugeSize::Huge2M)
                            .map(|s| s.0);
                        if found.is_some() {
                            break 'mms;
                        }
                    }
                }
            }
        }
        let Some(table) = found else {
            return;
        };
        // ptdesc_pmd_pts_inc, pud_populate, mm_inc_nr_pmds.
        self.mem.page_mut(table).mapcount += 1;
        self.hw.table_mut(pud)[Level::Pud.index(addr)] = pt::mk_table(table);
        mm.pgtables_bytes += PAGE_SIZE as i64;
        // The pages already in it were counted by whoever faulted them, not by this mm.
        mm.hugetlb_usage_drift -= self.table_huge_pages(table);
    }

    /// Base pages mapped by the huge leaves of the PMD table `table`.
    fn table_huge_pages(&self, table: Pfn) -> i64 {
        self.hw
            .table(table)
            .iter()
            .filter(|&&e| pt::leaf(e))
            .count() as i64
            * HugeSize::Huge2M.pages() as i64
    }

    /// `pages` were faulted into the shared PMD table `table` by another mm: every mm that
    /// shares it now maps them without counting them (see `Mm::hugetlb_usage_drift`).
    fn shared_table_filled(&mut self, table: Pfn, pages: i64) {
        for mm in self.mms.iter_mut().flatten() {
            let pgd = self.hw.table(mm.pgd);
            let reaches = pgd.iter().filter(|&&e| pt::present(e)).any(|&e| {
                self.hw
                    .table(pt::pfn_of(e))
                    .iter()
                    .any(|&u| pt::present(u) && !pt::leaf(u) && pt::pfn_of(u) == table)
            });
            if reaches {
                mm.hugetlb_usage_drift -= pages;
            }
        }
    }

    /// `ptdesc_pmd_is_shared`: how many more mms use the PMD table `table`.
    pub fn pmd_share_count(&self, table: Pfn) -> i32 {
        self.mem.page(table).mapcount
    }

    // ------------------------------------------------------------ faults

    /// `hugetlb_fault`: a fault at `addr` of the hugetlb VMA `vma`.
    pub(crate) fn hugetlb_fault(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        addr: u64,
        write: bool,
    ) -> Result<(), Fault> {
        let size = hsize(vma);
        let haddr = addr & !(size.bytes() - 1);
        let slot = self.huge_pte_alloc(mm, vma, haddr)?;
        let e = self.hw.table(slot.0)[slot.1];
        if pt::none(e) {
            return self.hugetlb_no_page(mm, vma, haddr, slot, write);
        }
        if write && e & pt::RW == 0 {
            return self.hugetlb_wp(mm, vma, haddr, slot);
        }
        self.hw.table_mut(slot.0)[slot.1] |= pt::ACCESSED | if write { pt::DIRTY } else { 0 };
        Ok(())
    }

    /// `hugetlb_no_page`: map the page cache's folio (shared, or a private view of a cached
    /// page), or a new zeroed one (added to the cache when shared; anonymous when private).
    /// The PTE is writable (and dirty) only in a shared writable VMA; a private write goes on
    /// to `hugetlb_wp` in the same fault.
    fn hugetlb_no_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        haddr: u64,
        slot: Slot,
        write: bool,
    ) -> Result<(), Fault> {
        let hv = vma.hugetlb.expect("hugetlb VMA");
        if hv.unmapped {
            // "PID killed due to inadequate hugepage pool"
            return Err(Fault::Bus);
        }
        let file = vma.file.expect("hugetlbfs file");
        let idx = vma_hugecache_offset(vma, haddr);
        let shared = vma.flags.contains(VmFlags::MAYSHARE);
        let pfn = match self.files.get(file).pages.get(&idx) {
            Some(&p) => {
                self.mem.page_mut(p).refcount += 1;
                p
            }
            None => {
                if idx >= self.files.get(file).size >> hv.size.shift() {
                    return Err(Fault::Bus);
                }
                if !shared {
                    self.anon_vma_prepare(mm, vma.start);
                }
                let pfn = self
                    .alloc_hugetlb_folio(vma, idx, false)
                    .ok_or(Fault::Bus)?;
                if shared {
                    self.hugetlb_add_to_page_cache(file, idx, pfn);
                    self.mem.page_mut(pfn).refcount += 1;
                } else {
                    let av = self.mm_vma_anon(mm, vma.start);
                    let p = self.mem.page_mut(pfn);
                    p.flags.insert(PageFlags::ANON);
                    p.mapping = av;
                    p.index = idx as u32;
                }
                pfn
            }
        };
        self.mem.page_mut(pfn).mapcount += 1;
        let writable = vma.flags.contains(VmFlags::SHARED | VmFlags::WRITE);
        self.hw.table_mut(slot.0)[slot.1] = pt::mk_huge(pfn, writable, writable);
        mm.hugetlb_usage += hv.size.pages() as i64; // hugetlb_count_add
        if hv.size == HugeSize::Huge2M && self.pmd_share_count(slot.0) > 0 {
            self.shared_table_filled(slot.0, hv.size.pages() as i64);
        }
        if write && !vma.flags.contains(VmFlags::SHARED) {
            return self.hugetlb_wp(mm, vma, haddr, slot);
        }
        Ok(())
    }

    fn mm_vma_anon(&self, mm: &Mm, start: u64) -> u32 {
        mm.vmas[&start].anon_vma.expect("anon_vma prepared")
    }

    /// `hugetlb_wp`: a write to a read-only huge PTE. Shared: make it writable. A private
    /// anonymous folio mapped once is reused; anything else is copied into a new anonymous
    /// folio. When the pool has none for the owner's copy, the folio is first taken away from
    /// the children that share it (`unmap_ref_private`), so that the owner can reuse it.
    fn hugetlb_wp(&mut self, mm: &mut Mm, vma: &Vma, haddr: u64, slot: Slot) -> Result<(), Fault> {
        let set_writable = |k: &mut Self| {
            if vma.flags.contains(VmFlags::WRITE) {
                k.hw.table_mut(slot.0)[slot.1] |= pt::RW | pt::DIRTY | pt::ACCESSED;
            }
        };
        if vma.flags.contains(VmFlags::MAYSHARE) {
            set_writable(self);
            return Ok(());
        }
        let e = self.hw.table(slot.0)[slot.1];
        let old = pt::pfn_of(e);
        let anon = self.mem.page(old).flags.contains(PageFlags::ANON);
        if anon && self.mem.page(old).mapcount == 1 {
            set_writable(self);
            return Ok(());
        }
        let idx = vma_hugecache_offset(vma, haddr);
        let owner = vma.hugetlb.is_some_and(|h| h.resv.is_some());
        let cow_from_owner = owner && anon;
        let Some(new) = self.alloc_hugetlb_folio(vma, idx, cow_from_owner) else {
            if cow_from_owner {
                self.unmap_ref_private(mm, vma, old, haddr);
                if self.mem.page(old).mapcount == 1 {
                    set_writable(self);
                    return Ok(());
                }
            }
            return Err(Fault::Bus);
        };
        self.anon_vma_prepare(mm, vma.start);
        let av = self.mm_vma_anon(mm, vma.start);
        let content = self.mem.page(old).content;
        let p = self.mem.page_mut(new);
        p.flags.insert(PageFlags::ANON);
        p.mapping = av;
        p.index = idx as u32;
        p.content = content;
        p.mapcount = 1;
        // huge_ptep_clear_flush, then the old folio's rmap and reference go.
        let size = hsize(vma);
        self.hw.table_mut(slot.0)[slot.1] = 0;
        self.hw
            .flush_tlb_range(mm.id, haddr, haddr + size.bytes(), size.shift(), false);
        self.mem.page_mut(old).mapcount -= 1;
        self.put_huge_folio(old);
        let w = vma.flags.contains(VmFlags::WRITE);
        self.hw.table_mut(slot.0)[slot.1] = pt::mk_huge(new, w, w);
        Ok(())
    }

    /// Drops one reference to the hugetlb folio `pfn`; the last one frees it
    /// (`free_huge_folio`, giving a reservation back if it carries `RESTORE_RESERVE`).
    pub(crate) fn put_huge_folio(&mut self, pfn: Pfn) {
        let p = self.mem.page_mut(pfn);
        p.refcount -= 1;
        if p.refcount == 0 {
            let restore = p.flags.contains(PageFlags::RESTORE_RESERVE);
            let size = if p.flags.contains(PageFlags::HUGE_1G) {
                HugeSize::Huge1G
            } else {
                HugeSize::Huge2M
            };
            self.free_huge_folio(size, pfn, restore);
        }
    }

    /// `unmap_ref_private`: take the folio `pfn` at the owner's `haddr` away from every other
    /// private VMA of the file that maps it there (the fork children, which own no
    /// reservation), marking them `HPAGE_RESV_UNMAPPED`.
    fn unmap_ref_private(&mut self, mm: &mut Mm, vma: &Vma, pfn: Pfn, haddr: u64) {
        let idx = vma.linear_index(haddr);
        let file = vma.file;
        for id in 0..self.mms.len() {
            if self.mms[id].is_none() {
                continue;
            }
            self.with_mm(id as u32, |k, other| {
                let starts: Vec<u64> = other
                    .vmas
                    .values()
                    .filter(|v| {
                        v.file == file
                            && !v.flags.contains(VmFlags::MAYSHARE)
                            && v.hugetlb.is_some_and(|h| h.resv.is_none())
                            && idx >= v.pgoff
                            && idx < v.pgoff + v.pages()
                    })
                    .map(|v| v.start)
                    .collect();
                for s in starts {
                    let v = other.vmas[&s].clone();
                    let a = v.start + ((idx - v.pgoff) << 12);
                    let size = hsize(&v);
                    let mut tlb = MmuGather::new(other.id, false, k.config.inject);
                    other.tlb_flush_pending += 1;
                    k.__unmap_hugepage_range(&mut tlb, other, &v, a, a + size.bytes(), Some(pfn));
                    let nested = other.tlb_flush_pending > 1;
                    k.tlb_finish_mmu(tlb, nested);
                    other.tlb_flush_pending -= 1;
                    if let Some(h) = other.vmas.get_mut(&s).and_then(|v| v.hugetlb.as_mut()) {
                        h.unmapped = true;
                    }
                }
            });
        }
        let _ = mm;
    }
}

impl<H: Hardware> Kernel<H> {
    // ------------------------------------------------------------ unmap

    /// `__unmap_hugepage_range` (6.18): clear the huge leaves of `[start, end)` of `vma` (only
    /// the one mapping `only`, for `unmap_ref_private`, which marks the VMA unmapped). A PMD
    /// table this mm shares is not emptied but unshared (`huge_pmd_unshare`: this mm loses the
    /// whole 1 GiB, the others keep it), and the TLB is flushed for it before the caller drops
    /// `i_mmap_rwsem` (`huge_pmd_unshare_flush`). Each cleared page leaves `hugetlb_usage` and
    /// its folio's mapcount, and goes to the gather; an owner's anonymous page gives its
    /// reservation back when freed (when the pool has no surplus).
    pub(crate) fn __unmap_hugepage_range(
        &mut self,
        tlb: &mut MmuGather,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
        only: Option<Pfn>,
    ) -> ZapStats {
        let size = hsize(vma);
        let mut z = ZapStats::default();
        let mut unshared = false;
        let mut addr = start;
        let next_span = |a: u64, span: u64| (a | (span - 1)).wrapping_add(1);
        while addr < end {
            let Some(slot) = self.huge_pte_offset(mm, addr, size) else {
                // hugetlb_mask_last_page: no table here, skip its span.
                let span = if size == HugeSize::Huge1G {
                    pt::PGDIR_SIZE
                } else {
                    PUD_SIZE
                };
                addr = next_span(addr, span);
                if addr == 0 {
                    break;
                }
                continue;
            };
            if size == HugeSize::Huge2M && self.pmd_share_count(slot.0) > 0 {
                self.huge_pmd_unshare(tlb, mm, addr, slot.0);
                unshared = true;
                z.unshared += 1;
                addr = next_span(addr, PUD_SIZE);
                continue;
            }
            let e = self.hw.table(slot.0)[slot.1];
            let pfn = pt::pfn_of(e);
            if pt::none(e) || only.is_some_and(|f| f != pfn) {
                addr += size.bytes();
                continue;
            }
            // huge_ptep_get_and_clear + tlb_remove_huge_tlb_entry
            self.hw.table_mut(slot.0)[slot.1] = 0;
            tlb.remove_huge_tlb_entry(addr, size.shift());
            mm.hugetlb_usage -= size.pages() as i64; // hugetlb_count_sub
            z.hugetlb += 1;
            let owner = vma.hugetlb.and_then(|h| h.resv);
            let surplus = self.hstate(size).surplus_huge_pages;
            let p = self.mem.page_mut(pfn);
            if e & pt::DIRTY != 0 {
                p.flags.insert(PageFlags::DIRTY); // folio_mark_dirty
            }
            p.mapcount -= 1; // hugetlb_remove_rmap
            if let (0, Some(id), true) = (surplus, owner, p.flags.contains(PageFlags::ANON)) {
                p.flags.insert(PageFlags::RESTORE_RESERVE);
                let idx = vma_hugecache_offset(vma, addr);
                self.resv_map(id).consumed.remove(&idx); // vma_add_reservation
            }
            if tlb.remove_page(crate::mmu_gather::ZappedPage::new(pfn), &mut self.mem) {
                tlb.forced_flush(&mut self.hw, &mut self.mem);
                self.free_gathered_hugetlb(tlb);
            }
            if only.is_some() {
                break;
            }
            addr += size.bytes();
        }
        // huge_pmd_unshare_flush: the unshared tables must not be reachable from this mm's
        // TLBs once i_mmap_rwsem is dropped (CVE-2021-4002).
        let skip = self
            .config
            .inject
            .contains(crate::Inject::SKIP_UNSHARE_FLUSH);
        if unshared && !skip {
            tlb.tlb_flush_mmu_tlbonly(&mut self.hw);
        }
        z
    }

    /// `huge_pmd_unshare`: this mm stops using the shared PMD table `table` at `addr`: its
    /// PUD entry goes, the table has one sharer less, and this mm counts one PMD table less.
    /// The table's entries stay for the other sharers.
    fn huge_pmd_unshare(&mut self, tlb: &mut MmuGather, mm: &mut Mm, addr: u64, table: Pfn) {
        let pud = pt::pfn_of(self.hw.table(mm.pgd)[Level::Pgd.index(addr)]);
        self.hw.table_mut(pud)[Level::Pud.index(addr)] = 0;
        self.mem.page_mut(table).mapcount -= 1;
        mm.pgtables_bytes -= PAGE_SIZE as i64; // mm_dec_nr_pmds
                                               // Its pages leave this mm's tables, not its hugetlb_usage.
        mm.hugetlb_usage_drift += self.table_huge_pages(table);
        if !self
            .config
            .inject
            .contains(crate::Inject::SKIP_UNSHARE_FLUSH)
        {
            tlb.unshare_table(addr & !(PUD_SIZE - 1));
        }
    }

    /// The hugetlb folios whose last reference the gather dropped go back to their pool
    /// (`free_huge_folio`, the compound destructor of a hugetlb folio).
    pub(crate) fn free_gathered_hugetlb(&mut self, tlb: &mut MmuGather) {
        for pfn in tlb.take_hugetlb_freed() {
            let p = self.mem.page(pfn);
            let restore = p.flags.contains(PageFlags::RESTORE_RESERVE);
            let size = if p.flags.contains(PageFlags::HUGE_1G) {
                HugeSize::Huge1G
            } else {
                HugeSize::Huge2M
            };
            self.free_huge_folio(size, pfn, restore);
        }
    }

    /// `tlb_finish_mmu`, then the hugetlb folios it released go back to their pools.
    pub(crate) fn tlb_finish_mmu(
        &mut self,
        mut tlb: MmuGather,
        nested: bool,
    ) -> crate::mmu_gather::GatherStats {
        tlb.finish(nested, &mut self.hw, &mut self.mem);
        self.free_gathered_hugetlb(&mut tlb);
        tlb.release(&mut self.mem)
    }

    // ------------------------------------------------------------ fork, mprotect, mremap

    /// `copy_hugetlb_page_range` (fork): the child maps the parent's folios too (one more
    /// mapping and reference each, and `hugetlb_usage` in the child); a private (COW) mapping
    /// becomes read-only in both.
    pub(crate) fn copy_hugetlb_page_range(
        &mut self,
        dst: &mut Mm,
        src: &mut Mm,
        vma: &Vma,
    ) -> Result<(), Errno> {
        let size = hsize(vma);
        let cow = vma.flags & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE;
        let mut addr = vma.start;
        while addr < vma.end {
            // Where the parent has the table, the child gets one, even for an empty entry.
            if let Some(sslot) = self.huge_pte_offset(src, addr, size) {
                let dslot = self
                    .huge_pte_alloc(dst, vma, addr)
                    .map_err(|_| Errno::ENOMEM)?;
                let e = self.hw.table(sslot.0)[sslot.1];
                if pt::present(e) {
                    let mut e = e;
                    if cow {
                        self.hw.table_mut(sslot.0)[sslot.1] &= !pt::RW;
                        e &= !pt::RW;
                    }
                    let p = self.mem.page_mut(pt::pfn_of(e));
                    p.refcount += 1;
                    p.mapcount += 1;
                    self.hw.table_mut(dslot.0)[dslot.1] = e;
                    dst.hugetlb_usage += size.pages() as i64;
                }
            }
            addr += size.bytes();
        }
        if cow {
            self.hw
                .flush_tlb_range(src.id, vma.start, vma.end, size.shift(), false);
        }
        Ok(())
    }

    /// `hugetlb_change_protection`: every present huge leaf of `[start, end)` takes the new
    /// protection (writable only in a shared writable VMA: private ones stay read-only and a
    /// write goes through `hugetlb_wp`); a shared PMD table is unshared instead.
    pub(crate) fn hugetlb_change_protection(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
        newflags: VmFlags,
    ) {
        let size = hsize(vma);
        let writable = newflags.contains(VmFlags::SHARED | VmFlags::WRITE);
        let mut tlb = MmuGather::new(mm.id, false, self.config.inject);
        let mut addr = start;
        while addr < end {
            if let Some(slot) = self.huge_pte_offset(mm, addr, size) {
                if size == HugeSize::Huge2M && self.pmd_share_count(slot.0) > 0 {
                    self.huge_pmd_unshare(&mut tlb, mm, addr, slot.0);
                    addr = (addr | (PUD_SIZE - 1)) + 1;
                    continue;
                }
                let e = &mut self.hw.table_mut(slot.0)[slot.1];
                if pt::present(*e) {
                    if writable {
                        *e |= pt::RW;
                    } else {
                        *e &= !pt::RW;
                    }
                }
            }
            addr += size.bytes();
        }
        self.hw
            .flush_tlb_range(mm.id, start, end, size.shift(), true);
        mm.tlb_flush_pending += 1;
        let nested = mm.tlb_flush_pending > 1;
        self.tlb_finish_mmu(tlb, nested);
        mm.tlb_flush_pending -= 1;
    }

    /// `move_hugetlb_page_tables` (mremap): move the huge leaves of `[old, old+len)` to `new`
    /// (unsharing shared PMD tables at the source first), then flush the old range.
    pub(crate) fn move_hugetlb_page_tables(
        &mut self,
        mm: &mut Mm,
        (old_vma, new_vma): (&Vma, &Vma),
        old: u64,
        new: u64,
        len: u64,
    ) {
        let size = hsize(old_vma);
        let mut tlb = MmuGather::new(mm.id, false, self.config.inject);
        let mut off = 0;
        while off < len {
            let (o, n) = (old + off, new + off);
            if let Some(slot) = self.huge_pte_offset(mm, o, size) {
                if size == HugeSize::Huge2M && self.pmd_share_count(slot.0) > 0 {
                    self.huge_pmd_unshare(&mut tlb, mm, o, slot.0);
                    off += size.bytes();
                    continue;
                }
                let e = self.hw.table(slot.0)[slot.1];
                if pt::present(e) {
                    self.hw.table_mut(slot.0)[slot.1] = 0;
                    if let Ok(d) = self.huge_pte_alloc(mm, new_vma, n) {
                        self.hw.table_mut(d.0)[d.1] = e;
                    }
                }
            }
            off += size.bytes();
        }
        self.hw
            .flush_tlb_range(mm.id, old, old + len, size.shift(), true);
        mm.tlb_flush_pending += 1;
        let nested = mm.tlb_flush_pending > 1;
        self.tlb_finish_mmu(tlb, nested);
        mm.tlb_flush_pending -= 1;
    }

    /// `hugetlb_split`: a split of a 2 MiB hugetlb VMA inside a 1 GiB range it holds whole
    /// first unshares that range's PMD table (`hugetlb_unshare_pmds`): a shared table may
    /// only serve VMAs that cover all of it.
    pub(crate) fn hugetlb_split(&mut self, mm: &mut Mm, vma_start: u64, at: u64) {
        let vma = mm.vmas[&vma_start].clone();
        let base = at & !(PUD_SIZE - 1);
        if hsize(&vma) != HugeSize::Huge2M
            || at == base
            || base < vma.start
            || base + PUD_SIZE > vma.end
        {
            return;
        }
        let Some(slot) = self.huge_pte_offset(mm, base, HugeSize::Huge2M) else {
            return;
        };
        if self.pmd_share_count(slot.0) == 0 {
            return;
        }
        let f = vma.file.expect("hugetlbfs file");
        self.i_mmap_lock_write(f);
        let mut tlb = MmuGather::new(mm.id, false, self.config.inject);
        self.huge_pmd_unshare(&mut tlb, mm, base, slot.0);
        tlb.tlb_flush_mmu_tlbonly(&mut self.hw);
        self.i_mmap_unlock_write(f);
        mm.tlb_flush_pending += 1;
        let nested = mm.tlb_flush_pending > 1;
        self.tlb_finish_mmu(tlb, nested);
        mm.tlb_flush_pending -= 1;
    }

    // ------------------------------------------------------------ /proc

    /// `smaps_hugetlb_range`: bytes mapped by this VMA's huge leaves, split into those also
    /// mapped elsewhere (`Shared_Hugetlb`: the folio's mapcount is above one, or the PMD table
    /// is shared) and the rest (`Private_Hugetlb`).
    pub fn smaps_hugetlb(&self, mm: &Mm, vma: &Vma) -> (u64, u64) {
        let size = hsize(vma);
        let (mut shared, mut private) = (0, 0);
        let mut addr = vma.start;
        while addr < vma.end {
            if let Some((t, i)) = self.huge_pte_offset(mm, addr, size) {
                let e = self.hw.table(t)[i];
                if pt::present(e) {
                    let table_shared = size == HugeSize::Huge2M && self.pmd_share_count(t) > 0;
                    if self.mem.page(pt::pfn_of(e)).mapcount > 1 || table_shared {
                        shared += size.bytes();
                    } else {
                        private += size.bytes();
                    }
                }
            }
            addr += size.bytes();
        }
        (shared, private)
    }

    /// `pagemap_hugetlb_range` for one address: `None` if no huge page is present there,
    /// else whether it is mapped exclusively (`PM_MMAP_EXCLUSIVE`: mapcount at most one and
    /// the PMD table not shared).
    pub fn hugetlb_pagemap(&self, mm: &Mm, vma: &Vma, addr: u64) -> Option<bool> {
        let size = hsize(vma);
        let (t, i) = self.huge_pte_offset(mm, addr & !(size.bytes() - 1), size)?;
        let e = self.hw.table(t)[i];
        if !pt::present(e) {
            return None;
        }
        let table_shared = size == HugeSize::Huge2M && self.pmd_share_count(t) > 0;
        Some(self.mem.page(pt::pfn_of(e)).mapcount <= 1 && !table_shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testhw::TestHw;
    use crate::Config;

    fn kernel() -> Kernel<TestHw> {
        Kernel::new(
            TestHw::default(),
            Config {
                ram_bytes: 4 << 30,
                ..Config::default()
            },
        )
    }

    #[test]
    fn the_pool_grows_shrinks_and_keeps_folios_in_use_as_surplus() {
        let mut k = kernel();
        let free = k.mem.nr_free();
        assert_eq!(k.set_max_huge_pages(HugeSize::Huge2M, 4), 4);
        assert_eq!(k.mem.nr_free(), free - 4 * 512);
        let h = k.hstate(HugeSize::Huge2M);
        assert_eq!((h.nr_huge_pages, h.free_huge_pages), (4, 4));
        let a = k.dequeue_hugetlb_folio(HugeSize::Huge2M, false).unwrap();
        let b = k.dequeue_hugetlb_folio(HugeSize::Huge2M, false).unwrap();
        // Shrinking to 1 frees the 2 free folios; of the 2 in use, 1 becomes surplus.
        assert_eq!(k.set_max_huge_pages(HugeSize::Huge2M, 1), 1);
        let h = k.hstate(HugeSize::Huge2M);
        assert_eq!(
            (h.nr_huge_pages, h.free_huge_pages, h.surplus_huge_pages),
            (2, 0, 1)
        );
        // The first freed goes back to the allocator (surplus), the second to the pool.
        k.mem.page_mut(a).refcount = 0;
        k.free_huge_folio(HugeSize::Huge2M, a, false);
        k.mem.page_mut(b).refcount = 0;
        k.free_huge_folio(HugeSize::Huge2M, b, false);
        let h = k.hstate(HugeSize::Huge2M);
        assert_eq!(
            (h.nr_huge_pages, h.free_huge_pages, h.surplus_huge_pages),
            (1, 1, 0)
        );
        assert_eq!(k.set_max_huge_pages(HugeSize::Huge2M, 0), 0);
        k.mem.drain_pcp();
        assert_eq!(k.mem.nr_free(), free);
    }

    #[test]
    fn reservations_hold_free_folios_back() {
        let mut k = kernel();
        k.set_max_huge_pages(HugeSize::Huge2M, 2);
        k.hstates[0].resv_huge_pages = 1;
        assert!(k.dequeue_hugetlb_folio(HugeSize::Huge2M, false).is_some());
        assert!(
            k.dequeue_hugetlb_folio(HugeSize::Huge2M, false).is_none(),
            "the last free folio is reserved"
        );
        assert!(k.dequeue_hugetlb_folio(HugeSize::Huge2M, true).is_some());
        assert_eq!(k.hstate(HugeSize::Huge2M).resv_huge_pages, 0);
        // Shrinking keeps the free folios reservations need, as surplus.
        let mut k = kernel();
        k.set_max_huge_pages(HugeSize::Huge2M, 3);
        k.hstates[0].resv_huge_pages = 2;
        assert_eq!(k.set_max_huge_pages(HugeSize::Huge2M, 0), 0);
        let h = k.hstate(HugeSize::Huge2M);
        assert_eq!(
            (h.nr_huge_pages, h.free_huge_pages, h.surplus_huge_pages),
            (2, 2, 2)
        );
    }

    #[test]
    fn gigantic_pages_come_from_contiguous_memory() {
        let mut k = kernel();
        assert_eq!(
            k.set_max_huge_pages(HugeSize::Huge1G, 8),
            3,
            "4 GiB of RAM, the first GiB in use"
        );
        assert_eq!(k.set_max_huge_pages(HugeSize::Huge1G, 0), 0);
        assert_eq!(k.mem.count_free_walk(), k.mem.nr_free());
    }
}
