//! mm/madvise.c: `madvise` and its behaviours.

use crate::arch::Hardware;
use crate::memory::ZapDetails;
use crate::mm_types::{Mm, VmFlags, Vma, MM_ANONPAGES, MM_SWAPENTS};
use crate::page::PageFlags;
use crate::pgtable::{self as pt, PAGE_SIZE};
use crate::{Errno, Kernel};

/// Advice values (the `MADV_*` the model implements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
    DontNeedLocked,
    Free,
    Remove,
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
    HugePage,
    NoHugePage,
    DontDump,
    DoDump,
    PopulateRead,
    PopulateWrite,
    PageOut,
    /// `MADV_UNMERGEABLE`: nothing to do for VMAs KSM never merged (the model has no KSM).
    Unmergeable,
}

/// What a raw advice value is to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawAdvice {
    /// One the model has.
    Known(Advice),
    /// Not an advice `madvise_behavior_valid` accepts: `EINVAL`.
    Invalid,
    /// A valid advice the model does not have (named).
    Unsupported(&'static str),
}

impl Advice {
    /// The advice a raw `madvise` value is (6.18 uapi numbers).
    pub fn from_raw(n: u64) -> RawAdvice {
        use Advice::*;
        RawAdvice::Known(match n {
            0 => Normal,
            1 => Random,
            2 => Sequential,
            3 => WillNeed,
            4 => DontNeed,
            8 => Free,
            9 => Remove,
            10 => DontFork,
            11 => DoFork,
            12 => return RawAdvice::Unsupported("MADV_MERGEABLE (KSM)"),
            13 => Unmergeable,
            14 => HugePage,
            15 => NoHugePage,
            16 => DontDump,
            17 => DoDump,
            18 => WipeOnFork,
            19 => KeepOnFork,
            20 => return RawAdvice::Unsupported("MADV_COLD"),
            21 => PageOut,
            22 => PopulateRead,
            23 => PopulateWrite,
            24 => DontNeedLocked,
            25 => return RawAdvice::Unsupported("MADV_COLLAPSE"),
            100 => return RawAdvice::Unsupported("MADV_HWPOISON"),
            101 => return RawAdvice::Unsupported("MADV_SOFT_OFFLINE"),
            102 => return RawAdvice::Unsupported("MADV_GUARD_INSTALL"),
            103 => return RawAdvice::Unsupported("MADV_GUARD_REMOVE"),
            _ => return RawAdvice::Invalid,
        })
    }
}

impl<H: Hardware> Kernel<H> {
    /// `do_madvise`: validate, then visit every VMA of the range (`madvise_walk_vmas`); holes
    /// make the answer ENOMEM but do not stop the walk.
    pub fn do_madvise(
        &mut self,
        mm: &mut Mm,
        start: u64,
        len_in: u64,
        advice: Advice,
    ) -> Result<(), Errno> {
        if start & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let len = len_in
            .checked_add(PAGE_SIZE - 1)
            .map(|l| l & !(PAGE_SIZE - 1))
            .unwrap_or(0);
        if len_in != 0 && len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        if let Advice::PopulateRead | Advice::PopulateWrite = advice {
            let r = self.madvise_populate(mm, start, end, advice == Advice::PopulateWrite);
            self.lru_add_drain(); // faultin_page_range
            return r;
        }
        let mut unmapped_error = Ok(());
        let mut start = start;
        loop {
            let Some(vma) = mm.find_vma(start).cloned() else {
                return Err(Errno::ENOMEM);
            };
            if start < vma.start {
                unmapped_error = Err(Errno::ENOMEM);
                start = vma.start;
                if start >= end {
                    break;
                }
            }
            let tmp = vma.end.min(end);
            self.madvise_vma_behavior(mm, &vma, start, tmp, advice)?;
            start = tmp;
            if start >= end {
                break;
            }
        }
        unmapped_error
    }

    /// `madvise_vma_behavior`: one VMA's part `[start, end)`.
    fn madvise_vma_behavior(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
        advice: Advice,
    ) -> Result<(), Errno> {
        let f = vma.flags;
        let new = match advice {
            Advice::DontNeed | Advice::DontNeedLocked if vma.hugetlb.is_some() => {
                // madvise_dontneed_free_valid_vma: the start must be huge page aligned, the
                // end is rounded down to it.
                let hb = vma.hugetlb.expect("hugetlb").size.bytes();
                if start & (hb - 1) != 0 {
                    return Err(Errno::EINVAL);
                }
                let end = end & !(hb - 1);
                if end > start {
                    self.zap_page_range_single(mm, vma, start, end, ZapDetails::ALL);
                }
                return Ok(());
            }
            Advice::DontNeed | Advice::DontNeedLocked => {
                let mut forbidden = VmFlags::PFNMAP;
                if advice == Advice::DontNeed {
                    forbidden |= VmFlags::LOCKED;
                }
                if f.intersects(forbidden) {
                    return Err(Errno::EINVAL);
                }
                self.zap_page_range_single(
                    mm,
                    vma,
                    start,
                    end,
                    ZapDetails {
                        reclaim_pt: true,
                        even_cows: true,
                    },
                );
                return Ok(());
            }
            Advice::Free => {
                if f.intersects(VmFlags::LOCKED | VmFlags::PFNMAP) || !vma.is_anonymous() {
                    return Err(Errno::EINVAL);
                }
                self.lru_add_drain(); // madvise_free_single_vma
                self.madvise_free_pte_range(mm, start, end);
                return Ok(());
            }
            Advice::Remove => {
                if f.contains(VmFlags::LOCKED) {
                    return Err(Errno::EINVAL);
                }
                let Some(file) = vma.file else {
                    return Err(Errno::EINVAL);
                };
                if !f.contains(VmFlags::SHARED | VmFlags::MAYWRITE) {
                    return Err(Errno::EACCES);
                }
                // vfs_fallocate: a perf event or a device is not a regular file.
                if self.files.get(file).driver.is_some() {
                    return Err(Errno::ENODEV);
                }
                if let Some(h) = vma.hugetlb {
                    // hugetlbfs_punch_hole: whole huge pages only (partial ones are zeroed).
                    let hb = h.size.bytes();
                    let (s, e) = ((start + hb - 1) & !(hb - 1), end & !(hb - 1));
                    if s < e {
                        let first = crate::hugetlb::vma_hugecache_offset(vma, s);
                        let last = crate::hugetlb::vma_hugecache_offset(vma, e);
                        self.hugetlbfs_punch_hole(mm, file, first, last);
                    }
                    return Ok(());
                }
                let first = vma.linear_index(start);
                self.shmem_punch_hole(mm, file, first, first + ((end - start) >> 12));
                return Ok(());
            }
            Advice::WillNeed => {
                // madvise_willneed → swapin_walk_pmd_entry: an anonymous VMA's swapped-out
                // pages are read into the swap cache (not mapped).
                if vma.file.is_none() && self.swap.is_some() {
                    self.madvise_willneed_swapin(mm, start, end);
                    self.lru_add_drain();
                }
                return Ok(());
            }
            Advice::PageOut => {
                // can_madv_lru_vma
                if f.intersects(VmFlags::LOCKED | VmFlags::PFNMAP | VmFlags::HUGETLB) {
                    return Err(Errno::EINVAL);
                }
                self.lru_add_drain();
                self.madvise_pageout_pte_range(mm, start, end);
                return Ok(());
            }
            Advice::PopulateRead | Advice::PopulateWrite => {
                unreachable!("handled before the VMA walk")
            }
            Advice::Normal => f - (VmFlags::SEQ_READ | VmFlags::RAND_READ),
            Advice::Sequential => (f - VmFlags::RAND_READ) | VmFlags::SEQ_READ,
            Advice::Random => (f - VmFlags::SEQ_READ) | VmFlags::RAND_READ,
            Advice::DontFork => f | VmFlags::DONTCOPY,
            Advice::DoFork => {
                if f.contains(VmFlags::IO) {
                    return Err(Errno::EINVAL);
                }
                f - VmFlags::DONTCOPY
            }
            Advice::WipeOnFork => {
                if vma.file.is_some() || f.contains(VmFlags::SHARED) {
                    return Err(Errno::EINVAL);
                }
                f | VmFlags::WIPEONFORK
            }
            Advice::KeepOnFork => f - VmFlags::WIPEONFORK,
            Advice::DontDump => f | VmFlags::DONTDUMP,
            Advice::DoDump => {
                // VM_SPECIAL VMAs must stay out of core dumps, hugetlb ones excepted.
                if f.intersects(VmFlags::SPECIAL) && !f.contains(VmFlags::HUGETLB) {
                    return Err(Errno::EINVAL);
                }
                f - VmFlags::DONTDUMP
            }
            Advice::Unmergeable => f,
            Advice::HugePage => (f - VmFlags::NOHUGEPAGE) | VmFlags::HUGEPAGE,
            Advice::NoHugePage => (f - VmFlags::HUGEPAGE) | VmFlags::NOHUGEPAGE,
        };
        self.vma_modify_flags(mm, vma.start, start, end, new)
            .map(|_| ())
    }

    /// `madvise_free_pte_range`: anonymous pages become lazily freeable: this mapping's PTEs
    /// lose their dirty and young bits and the folio is marked lazyfree; `PG_dirty` is cleared
    /// only on a folio mapped once (a shared one keeps it, and stays as it is).
    fn madvise_free_pte_range(&mut self, mm: &mut Mm, start: u64, end: u64) {
        let mut a = start;
        while a < end {
            if let Some(e) = self.pmd_leaf_at(mm, a) {
                let next = pt::addr_end(a, end, pt::PMD_SHIFT);
                if next - a == pt::PMD_SIZE {
                    self.madvise_free_huge_pmd(mm, a, e);
                    a = next;
                    continue;
                }
                // split_folio (a THP another mm maps is left alone), then the PTE path.
                if !self.is_huge_zero_pmd(e) {
                    let head = pt::pfn_of(e);
                    if (head..head + crate::huge_memory::HPAGE_PMD_NR)
                        .any(|f| self.mem.page(f).mapcount != 1)
                    {
                        a = next;
                        continue;
                    }
                }
                self.split_folio_at(mm, a);
            }
            if let Some(t) = self.pte_table(mm, a) {
                let i = pt::Level::Pte.index(a);
                let e = self.hw.table(t)[i];
                if pt::is_swap(e) {
                    // A swapped-out page is freed outright.
                    self.hw.table_mut(t)[i] = 0;
                    mm.rss[MM_SWAPENTS] -= 1;
                    self.free_swap_and_cache(pt::swp_offset(e));
                } else if pt::present(e) && e & pt::SPECIAL == 0 {
                    let pfn = pt::pfn_of(e);
                    if let Some(head) = self.mem.large_folio_of(pfn) {
                        // Part of a PTE-mapped THP: split it (a shared one is left alone).
                        let nr = self.folio_pte_batch(mm, a, end, pfn, head);
                        if nr < crate::huge_memory::HPAGE_PMD_NR as u64 {
                            if !self.folio_maybe_mapped_shared(head) {
                                self.split_folio_at(mm, a);
                                continue;
                            }
                            a += PAGE_SIZE;
                            continue;
                        }
                    }
                    if self.mem.page(pfn).mapcount == 1 && self.folio_test_swapcache(pfn) {
                        self.folio_free_swap(pfn);
                    }
                    let p = self.mem.page_mut(pfn);
                    if p.flags.contains(PageFlags::ANON) {
                        let skip = p.flags.contains(PageFlags::DIRTY) && p.mapcount != 1;
                        if !skip {
                            p.flags.remove(PageFlags::DIRTY | PageFlags::SWAPBACKED);
                            self.hw.table_mut(t)[i] &= !(pt::DIRTY | pt::ACCESSED);
                        }
                    }
                }
            }
            a += PAGE_SIZE;
        }
        self.hw.flush_tlb_range(mm.id, start, end, 12, false);
    }

    /// `madvise_free_huge_pmd`: a whole THP mapped by this mm alone becomes lazily freeable
    /// (its PMD clean and old, its frames no longer swap-backed or dirty); a shared one is left.
    fn madvise_free_huge_pmd(&mut self, mm: &mut Mm, addr: u64, e: u64) {
        if self.is_huge_zero_pmd(e) {
            return;
        }
        let head = pt::pfn_of(e);
        let n = crate::huge_memory::HPAGE_PMD_NR;
        if (head..head + n).any(|f| self.mem.page(f).mapcount != 1) {
            return;
        }
        for f in head..head + n {
            self.mem
                .page_mut(f)
                .flags
                .remove(PageFlags::DIRTY | PageFlags::SWAPBACKED);
        }
        let pmd = self.pmd_table_of(mm, addr).expect("a leaf has a table");
        self.hw.table_mut(pmd)[pt::Level::Pmd.index(addr)] &= !(pt::DIRTY | pt::ACCESSED);
        let haddr = addr & !(pt::PMD_SIZE - 1);
        self.hw
            .flush_tlb_range(mm.id, haddr, haddr + pt::PMD_SIZE, pt::PMD_SHIFT, false);
    }

    /// `madvise_folio_pte_batch`: how many PTEs from `addr` (before `end`, in one PTE table)
    /// map the consecutive frames of the large folio `head` from `pfn` on.
    fn folio_pte_batch(
        &self,
        mm: &Mm,
        addr: u64,
        end: u64,
        pfn: crate::page::Pfn,
        head: crate::page::Pfn,
    ) -> u64 {
        let mut n = 0u64;
        let table_end = (addr | (pt::PMD_SIZE - 1)) + 1;
        while addr + (n << 12) < end.min(table_end)
            && pfn + (n as u32) < head + crate::huge_memory::HPAGE_PMD_NR
        {
            let e = self.pte_at(mm, addr + (n << 12));
            if !pt::present(e) || e & pt::SPECIAL != 0 || pt::pfn_of(e) != pfn + n as u32 {
                break;
            }
            n += 1;
        }
        n
    }

    /// `madvise_willneed` on anonymous memory: every swap PTE's page is read into the swap
    /// cache (`read_swap_cache_async`, no readahead window).
    fn madvise_willneed_swapin(&mut self, mm: &Mm, start: u64, end: u64) {
        let mut a = start;
        while a < end {
            let e = self.pte_at(mm, a);
            if pt::is_swap(e) && self.read_swap_cache_async(pt::swp_offset(e)).is_err() {
                return;
            }
            a += PAGE_SIZE;
        }
    }

    /// `madvise_cold_or_pageout_pte_range` (pageout) and `reclaim_pages`, in address order:
    /// an anonymous folio on the LRU and mapped by this mm alone is reclaimed at once
    /// (`shrink_folio_list` ignoring references). It gets a swap slot and a place in the swap
    /// cache (`folio_alloc_swap`); `try_to_unmap` puts a swap entry in its PTE (exclusive if
    /// the page was); the synchronous write and `__remove_mapping` free it. A clean lazyfree
    /// folio (after `MADV_FREE`) is simply discarded. Without a free slot the folio is
    /// activated and stays.
    fn madvise_pageout_pte_range(&mut self, mm: &mut Mm, start: u64, end: u64) {
        let mut a = start;
        while a < end {
            if let Some(e) = self.pmd_leaf_at(mm, a) {
                let next = pt::addr_end(a, end, pt::PMD_SHIFT);
                if self.is_huge_zero_pmd(e) {
                    a = next;
                    continue; // the huge zero page is left alone
                }
                let head = pt::pfn_of(e);
                let shared = (head..head + crate::huge_memory::HPAGE_PMD_NR)
                    .any(|f| self.mem.page(f).mapcount != 1);
                if shared {
                    a = next;
                    continue; // maybe shared: skipped
                }
                // A part: split_folio. The whole THP: reclaim swaps it out whole where a free
                // swap cluster takes it (unmapped with TTU_SPLIT_HUGE_PMD: 512 swap entries),
                // and a lazyfree one is unmapped likewise; otherwise it splits the folio and
                // reclaims the base pages. Then the PTE level does the rest.
                let whole = next - a == pt::PMD_SIZE;
                let lazyfree = !self.mem.page(head).flags.contains(PageFlags::SWAPBACKED);
                let cluster = self.swap.as_ref().is_some_and(|si| si.has_free_cluster());
                if whole && (cluster || lazyfree) {
                    self.split_huge_pmd_address(mm, a);
                    self.mem.unmake_large(head);
                } else {
                    self.split_folio_at(mm, a);
                }
            }
            let Some(table) = self.pte_table(mm, a) else {
                a = (a | (crate::pgtable::PMD_SIZE - 1)) + 1;
                continue;
            };
            let i = pt::Level::Pte.index(a);
            let e = self.hw.table(table)[i];
            let addr = a;
            a += PAGE_SIZE;
            if !pt::present(e) || e & pt::SPECIAL != 0 {
                continue; // none, swap entries, the zero page, raw PFNs
            }
            let pfn = pt::pfn_of(e);
            if let Some(head) = self.mem.large_folio_of(pfn) {
                // A PTE-mapped THP: split unless this range maps all of it (then it is
                // reclaimed whole: swapped out where a free cluster takes it, else split).
                let nr = self.folio_pte_batch(mm, addr, end, pfn, head);
                if nr < crate::huge_memory::HPAGE_PMD_NR as u64 {
                    if !self.folio_maybe_mapped_shared(head) {
                        self.split_folio_at(mm, addr);
                        a = addr;
                    }
                    continue;
                }
                if self.folio_maybe_mapped_shared(head) {
                    a = addr + (nr << 12);
                    continue;
                }
                let lazyfree = !self.mem.page(pfn).flags.contains(PageFlags::SWAPBACKED);
                let cluster = self.swap.as_ref().is_some_and(|si| si.has_free_cluster());
                if !cluster && !lazyfree {
                    self.split_folio_at(mm, addr);
                    a = addr;
                    continue;
                }
                // Reclaimed whole: its pages go one by one below, no longer a large folio.
                self.mem.unmake_large(head);
            }
            let p = *self.mem.page(pfn);
            if !self.folio_test_lru(pfn) || p.mapcount != 1 {
                continue;
            }
            if !p.flags.contains(PageFlags::ANON) {
                // A shmem page (can_do_file_pageout holds for root): try_to_unmap takes it out
                // of this mapping, then shmem_writeout moves it to swap if it can.
                if p.flags.contains(PageFlags::PAGECACHE) && !p.flags.contains(PageFlags::MLOCKED) {
                    self.hw.table_mut(table)[i] = 0;
                    self.hw
                        .flush_tlb_range(mm.id, addr, addr + PAGE_SIZE, 12, false);
                    mm.rss[crate::memory::mm_counter(p.flags)] -= 1;
                    let q = self.mem.page_mut(pfn);
                    q.mapcount = 0;
                    if e & pt::DIRTY != 0 {
                        q.flags.insert(PageFlags::DIRTY);
                    }
                    crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
                    if !p.flags.contains(PageFlags::SWAPBACKED) {
                        // A disk file's page: pageout writes it back (a dirty one) and
                        // __remove_mapping drops it from the cache.
                        self.mem.page_mut(pfn).flags.remove(PageFlags::DIRTY);
                        self.shmem_drop_clean(pfn);
                    } else if self.mem.page(pfn).flags.contains(PageFlags::DIRTY) {
                        self.shmem_writeout(pfn);
                    } else {
                        // A clean page (a hole read, never written) has nothing to write:
                        // __remove_mapping drops it from the cache.
                        self.shmem_drop_clean(pfn);
                    }
                }
                continue;
            }
            if p.flags.contains(PageFlags::MLOCKED) {
                continue; // unevictable: put back
            }
            let lazyfree = !p.flags.contains(PageFlags::SWAPBACKED);
            let dirty = p.flags.contains(PageFlags::DIRTY) || e & pt::DIRTY != 0;
            if lazyfree && !dirty {
                // try_to_unmap_one: a clean lazyfree folio is dropped, no swap entry.
                self.hw.table_mut(table)[i] = 0;
                self.hw
                    .flush_tlb_range(mm.id, addr, addr + PAGE_SIZE, 12, false);
                mm.rss[MM_ANONPAGES] -= 1;
                self.mem.page_mut(pfn).mapcount = 0;
                crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
                continue;
            }
            if lazyfree {
                // try_to_unmap_one: a lazyfree folio written again is swap-backed once more,
                // and stays mapped this time (the unmap fails; reclaim activates it).
                let q = self.mem.page_mut(pfn);
                q.flags.insert(PageFlags::SWAPBACKED | PageFlags::ACTIVE);
                continue;
            }
            // add_to_swap (a folio already in the swap cache keeps its slot).
            let slot = match self
                .swap
                .as_ref()
                .and_then(|si| si.cache_of.get(&pfn).copied())
            {
                Some(slot) => slot,
                None => {
                    let Some(slot) = self.folio_alloc_swap() else {
                        self.mem.page_mut(pfn).flags.insert(PageFlags::ACTIVE);
                        continue;
                    };
                    let si = self.swap.as_mut().expect("device");
                    si.cache.insert(slot, pfn);
                    si.cache_of.insert(pfn, slot);
                    self.mem.page_mut(pfn).refcount += 1;
                    slot
                }
            };
            // try_to_unmap_one: ptep_clear_flush, swap_duplicate, the swap PTE, the counters.
            let exclusive = p.flags.contains(PageFlags::ANON_EXCLUSIVE);
            self.hw.table_mut(table)[i] = 0;
            self.hw
                .flush_tlb_range(mm.id, addr, addr + PAGE_SIZE, 12, false);
            self.swap_duplicate(slot);
            self.hw.table_mut(table)[i] = pt::mk_swap(slot, exclusive);
            mm.rss[MM_ANONPAGES] -= 1;
            mm.rss[MM_SWAPENTS] += 1;
            let q = self.mem.page_mut(pfn);
            q.mapcount = 0;
            q.flags.remove(PageFlags::ANON_EXCLUSIVE);
            crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
            // pageout: only the swap cache may hold the folio (is_page_cache_freeable); the
            // write is synchronous, then __remove_mapping takes it out of the cache and frees it.
            if self.folio_ref_count(pfn) == 1 {
                let content = self.mem.page(pfn).content;
                let si = self.swap.as_mut().expect("device");
                si.content[slot as usize] = content;
                si.cache.remove(&slot);
                si.cache_of.remove(&pfn);
                si.readahead.remove(&pfn);
                crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
            }
        }
    }

    /// `madvise_populate`: fault the range in, page by page, as GUP does with
    /// `FOLL_MADV_POPULATE`: no VMA is ENOMEM, a VMA that forbids the access is EINVAL, a
    /// fault that would raise SIGSEGV or SIGBUS is EFAULT. Pages before the failure stay.
    fn madvise_populate(
        &mut self,
        mm: &mut Mm,
        start: u64,
        end: u64,
        write: bool,
    ) -> Result<(), Errno> {
        let mut a = start;
        while a < end {
            let vma = mm.vma_at(a).cloned().ok_or(Errno::ENOMEM)?;
            let f = vma.flags;
            let ok = !f.intersects(VmFlags::IO | VmFlags::PFNMAP)
                && if write {
                    f.contains(VmFlags::WRITE)
                } else {
                    f.contains(VmFlags::READ)
                };
            if !ok {
                return Err(Errno::EINVAL);
            }
            let e = self.pte_at(mm, a);
            if pt::none(e) || (write && e & pt::RW == 0) {
                self.fault(mm, a, write, false).map_err(|f| match f {
                    crate::Fault::Oom => Errno::ENOMEM,
                    _ => Errno::EFAULT,
                })?;
            }
            self.gup_touch(mm, a, write);
            // A hugetlb page is faulted in whole.
            a = match vma.hugetlb {
                Some(h) => (a | (h.size.bytes() - 1)) + 1,
                None => a + PAGE_SIZE,
            };
        }
        Ok(())
    }
}
