//! mm/huge_memory.c (6.18): PMD-mapped anonymous transparent huge pages.
//!
//! A THP is an order-9 block from the buddy allocator mapped by one PMD leaf in a private
//! anonymous VMA, with a PTE table deposited beside it (`pgtable_trans_huge_deposit`, counted in
//! `VmPTE`) for the day the PMD is split. The model keeps the references of a THP per frame: a
//! PMD mapping holds one reference and one mapping on each of its 512 frames, as 512 PTEs would,
//! so splitting the PMD changes no count and the frames of a partly unmapped THP go back to the
//! allocator one by one (Linux keeps the folio whole until its deferred split; nothing the
//! records compare can tell). `PageAnonExclusive` is kept on every frame alike. The huge zero
//! page is one order-9 block, allocated at its first use and never freed.

use crate::arch::Hardware;
use crate::memory::ZapStats;
use crate::mm_types::{Mm, MmFlags, VmFlags, Vma, MM_ANONPAGES};
use crate::mmu_gather::{MmuGather, ZappedPage};
use crate::page::{Page, PageFlags, Pfn};
use crate::pgtable::{self as pt, Level, PAGE_SIZE, PMD_SHIFT, PMD_SIZE};
use crate::{Fault, Kernel};

/// `HPAGE_PMD_NR`: base pages in a PMD-mapped THP.
pub const HPAGE_PMD_NR: u32 = 512;
/// `HPAGE_PMD_ORDER`.
pub const HPAGE_PMD_ORDER: u32 = 9;

/// `/sys/kernel/mm/transparent_hugepage/enabled`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThpEnabled {
    /// `always`: every suitable anonymous VMA.
    Always,
    /// `madvise`: only `VM_HUGEPAGE` VMAs (the host's setting).
    #[default]
    Madvise,
    /// `never`.
    Never,
}

impl<H: Hardware> Kernel<H> {
    /// `thp_vma_allowable_order(.., TVA_PAGEFAULT, PMD_ORDER)` and `thp_vma_suitable_order`: a
    /// fault at `addr` may map a PMD THP: a private anonymous VMA the settings allow (and the
    /// process's `PR_SET_THP_DISABLE` does not forbid) holding the whole aligned 2 MiB around it.
    pub(crate) fn thp_fault_allowed(&self, mm: &Mm, vma: &Vma, addr: u64) -> bool {
        if mm.flags.contains(MmFlags::DISABLE_THP)
            || vma.file.is_some()
            || vma.special.is_some()
            || vma.flags.intersects(
                VmFlags::SHARED
                    | VmFlags::MAYSHARE
                    | VmFlags::HUGETLB
                    | VmFlags::PFNMAP
                    | VmFlags::NOHUGEPAGE,
            )
        {
            return false;
        }
        let allowed = match self.config.thp_enabled {
            ThpEnabled::Always => true,
            ThpEnabled::Madvise => vma.flags.contains(VmFlags::HUGEPAGE),
            ThpEnabled::Never => false,
        };
        let haddr = addr & !(PMD_SIZE - 1);
        allowed && haddr >= vma.start && haddr + PMD_SIZE <= vma.end
    }

    /// `mm_get_huge_zero_folio`: the huge zero page, allocated at its first use (never freed:
    /// only its shrinker would, under memory pressure). `None` if it cannot be allocated.
    fn mm_get_huge_zero_folio(&mut self, mm: &mut Mm) -> Option<Pfn> {
        if self.huge_zero.is_none() {
            let head = self.mem.alloc_pages(HPAGE_PMD_ORDER).ok()?;
            for pfn in head..head + HPAGE_PMD_NR {
                *self.mem.page_mut(pfn) = Page {
                    refcount: 1,
                    flags: PageFlags::RESERVED | PageFlags::UPTODATE,
                    ..Page::default()
                };
            }
            self.huge_zero = Some(head);
        }
        mm.flags.insert(MmFlags::HUGE_ZERO_FOLIO);
        self.huge_zero
    }

    /// Whether the PMD leaf `e` maps the huge zero page.
    pub fn is_huge_zero_pmd(&self, e: u64) -> bool {
        e & pt::SPECIAL != 0 && Some(pt::pfn_of(e)) == self.huge_zero
    }

    /// `pgtable_trans_huge_deposit`: keep `table` for the PMD leaf at entry `idx` of `pmd`.
    fn pgtable_trans_huge_deposit(&mut self, pmd: Pfn, idx: usize, table: Pfn) {
        let old = self.thp_deposits.insert((pmd, idx as u16), table);
        debug_assert!(old.is_none(), "a second deposit for one PMD");
    }

    /// `pgtable_trans_huge_withdraw`.
    fn pgtable_trans_huge_withdraw(&mut self, pmd: Pfn, idx: usize) -> Pfn {
        self.thp_deposits
            .remove(&(pmd, idx as u16))
            .expect("a PMD THP has a deposited table")
    }

    /// `zap_deposited_table`: the withdrawn table is freed at once (no hardware ever saw it).
    fn zap_deposited_table(&mut self, mm: &mut Mm, pmd: Pfn, idx: usize) {
        let t = self.pgtable_trans_huge_withdraw(pmd, idx);
        self.free_table_now(mm, t);
    }

    /// `do_huge_pmd_anonymous_page` (6.18) for a fault at `addr` under entry `idx` of `pmd`
    /// (none): a read maps the huge zero page (`use_zero_page`), a write a new zeroed THP; both
    /// deposit a PTE table. `Ok(false)`: fall back to base pages (no huge page to be had).
    pub(crate) fn do_huge_pmd_anonymous_page(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        pmd: Pfn,
        addr: u64,
        write: bool,
    ) -> Result<bool, Fault> {
        let idx = Level::Pmd.index(addr);
        let haddr = addr & !(PMD_SIZE - 1);
        let av = self.anon_vma_prepare(mm, vma.start);
        if !write && self.config.thp_use_zero_page {
            let table = self.alloc_table(mm).map_err(|_| Fault::Oom)?;
            let Some(zero) = self.mm_get_huge_zero_folio(mm) else {
                self.free_table_now(mm, table);
                return Ok(false);
            };
            // set_huge_zero_folio: read-only, special, no RSS, no rmap.
            self.hw.table_mut(pmd)[idx] = pt::mk_huge(zero, false, false) | pt::SPECIAL;
            self.pgtable_trans_huge_deposit(pmd, idx, table);
            return Ok(true);
        }
        let Ok(head) = self.mem.alloc_pages(HPAGE_PMD_ORDER) else {
            return Ok(false); // THP_FAULT_FALLBACK
        };
        let table = match self.alloc_table(mm) {
            Ok(t) => t,
            Err(_) => {
                self.mem.page_mut(head).refcount = 0;
                self.mem.free_pages(head, HPAGE_PMD_ORDER);
                return Err(Fault::Oom);
            }
        };
        self.init_thp(head, av, vma, haddr);
        // map_anon_folio_pmd: dirty, writable in a VM_WRITE VMA; large folios skip the LRU
        // batch.
        self.hw.table_mut(pmd)[idx] = pt::mk_huge(head, vma.flags.contains(VmFlags::WRITE), true);
        self.pgtable_trans_huge_deposit(pmd, idx, table);
        mm.rss[MM_ANONPAGES] += HPAGE_PMD_NR as i64;
        Ok(true)
    }

    /// A new THP's frames: zero-filled, anonymous and exclusive, each referenced and mapped
    /// once by the PMD about to map them (mlocked in a `VM_LOCKED` VMA).
    fn init_thp(&mut self, head: Pfn, av: crate::mm_types::AnonVmaId, vma: &Vma, haddr: u64) {
        let mut flags = PageFlags::ANON
            | PageFlags::ANON_EXCLUSIVE
            | PageFlags::SWAPBACKED
            | PageFlags::UPTODATE
            | PageFlags::LRU;
        if vma.flags.contains(VmFlags::LOCKED) {
            flags |= PageFlags::MLOCKED;
        }
        self.mem.make_large(head);
        for i in 0..HPAGE_PMD_NR {
            *self.mem.page_mut(head + i) = Page {
                refcount: 1,
                mapcount: 1,
                flags,
                mapping: av,
                index: vma.linear_index(haddr + ((i as u64) << 12)) as u32,
                content: 0,
            };
        }
    }

    /// `pte_free`: a table frame no hardware walks (a deposit, or one a fault that fell back
    /// never used) goes back at once.
    fn free_table_now(&mut self, mm: &mut Mm, t: Pfn) {
        self.hw.table_free(t);
        self.mem.page_mut(t).refcount = 0;
        self.mem.free_pages(t, 0);
        mm.pgtables_bytes -= PAGE_SIZE as i64;
    }

    /// `huge_pmd_set_accessed` / `do_huge_pmd_wp_page` (6.18): a fault on a present PMD leaf.
    /// `Ok(false)`: the PMD was split; the fault goes on at the PTE level.
    pub(crate) fn do_huge_pmd_fault(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        pmd: Pfn,
        addr: u64,
        write: bool,
    ) -> Result<bool, Fault> {
        let idx = Level::Pmd.index(addr);
        let e = self.hw.table(pmd)[idx];
        if !write || e & pt::RW != 0 {
            self.hw.table_mut(pmd)[idx] |= pt::ACCESSED | if write { pt::DIRTY } else { 0 };
            return Ok(true);
        }
        let haddr = addr & !(PMD_SIZE - 1);
        let w = if vma.flags.contains(VmFlags::WRITE) {
            pt::RW
        } else {
            0
        };
        if self.is_huge_zero_pmd(e) {
            // do_huge_zero_wp_pmd: a new THP in the zero page's place, the deposit kept.
            if let Ok(head) = self.mem.alloc_pages(HPAGE_PMD_ORDER) {
                let av = self.anon_vma_prepare(mm, vma.start);
                self.init_thp(head, av, vma, haddr);
                self.hw
                    .flush_tlb_range(mm.id, haddr, haddr + PMD_SIZE, PMD_SHIFT, false);
                self.hw.table_mut(pmd)[idx] = pt::mk_huge(head, w != 0, true);
                mm.rss[MM_ANONPAGES] += HPAGE_PMD_NR as i64;
                return Ok(true);
            }
            self.split_huge_pmd_locked(mm, pmd, idx, haddr);
            return Ok(false);
        }
        let head = pt::pfn_of(e);
        let exclusive = self
            .mem
            .page(head)
            .flags
            .contains(PageFlags::ANON_EXCLUSIVE);
        // The folio's reference count is 1: this PMD alone holds every frame.
        let sole = (head..head + HPAGE_PMD_NR).all(|f| {
            let p = self.mem.page(f);
            p.refcount == 1 && p.mapcount == 1
        });
        if exclusive || sole {
            for f in head..head + HPAGE_PMD_NR {
                self.mem.page_mut(f).flags.insert(PageFlags::ANON_EXCLUSIVE);
            }
            self.hw.table_mut(pmd)[idx] |= w | pt::DIRTY | pt::ACCESSED;
            return Ok(true);
        }
        // Shared with another mm: split, and copy the one base page at the PTE level.
        self.split_huge_pmd_locked(mm, pmd, idx, haddr);
        Ok(false)
    }

    /// `__split_huge_pmd_locked` (6.18, no freeze): the PMD leaf at entry `idx` of `pmd`
    /// becomes the deposited table filled with 512 PTEs with the PMD's bits (the huge zero
    /// page: 512 read-only zero-page PTEs). No count changes; the TLB entry goes.
    pub(crate) fn split_huge_pmd_locked(&mut self, mm: &mut Mm, pmd: Pfn, idx: usize, haddr: u64) {
        let e = self.hw.table(pmd)[idx];
        debug_assert!(pt::leaf(e));
        // pmdp_invalidate / pmdp_huge_clear_flush
        self.hw.table_mut(pmd)[idx] = 0;
        self.hw
            .flush_tlb_range(mm.id, haddr, haddr + PMD_SIZE, PMD_SHIFT, false);
        let table = self.pgtable_trans_huge_withdraw(pmd, idx);
        let zero = self.is_huge_zero_pmd(e);
        let head = pt::pfn_of(e);
        for i in 0..HPAGE_PMD_NR as usize {
            let pte = if zero {
                pt::mk_pte(self.zero_pfn, false, false, true)
            } else {
                let mut p = pt::mk_pte(head + i as Pfn, e & pt::RW != 0, e & pt::DIRTY != 0, false);
                if e & pt::ACCESSED == 0 {
                    p &= !pt::ACCESSED;
                }
                p
            };
            self.hw.table_mut(table)[i] = pte;
        }
        self.hw.table_mut(pmd)[idx] = pt::mk_table(table);
    }

    /// `split_huge_pmd_address` / `split_huge_pmd_if_needed`: if a THP's PMD covers `addr`,
    /// split it.
    pub(crate) fn split_huge_pmd_address(&mut self, mm: &mut Mm, addr: u64) {
        let Some(pmd) = self.pmd_table_of(mm, addr) else {
            return;
        };
        let idx = Level::Pmd.index(addr);
        if pt::leaf(self.hw.table(pmd)[idx]) {
            self.split_huge_pmd_locked(mm, pmd, idx, addr & !(PMD_SIZE - 1));
        }
    }

    /// `vma_adjust_trans_huge` for a VMA boundary about to be made at `addr` inside `vma`: a
    /// THP straddling it (the address not 2 MiB aligned, its 2 MiB inside the VMA) is split.
    pub(crate) fn vma_adjust_trans_huge(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        vma_end: u64,
        addr: u64,
    ) {
        let haddr = addr & !(PMD_SIZE - 1);
        if addr & (PMD_SIZE - 1) != 0 && haddr >= vma_start && haddr + PMD_SIZE <= vma_end {
            self.split_huge_pmd_address(mm, addr);
        }
    }

    /// The PMD table covering `addr`, if the walk reaches one (no allocation).
    pub fn pmd_table_of(&self, mm: &Mm, addr: u64) -> Option<Pfn> {
        let e = self.hw.table(mm.pgd)[Level::Pgd.index(addr)];
        if !pt::present(e) {
            return None;
        }
        let e = self.hw.table(pt::pfn_of(e))[Level::Pud.index(addr)];
        (pt::present(e) && !pt::leaf(e)).then(|| pt::pfn_of(e))
    }

    /// The PMD leaf mapping `addr` (a THP or the huge zero page), if there is one.
    pub fn pmd_leaf_at(&self, mm: &Mm, addr: u64) -> Option<u64> {
        let pmd = self.pmd_table_of(mm, addr)?;
        let e = self.hw.table(pmd)[Level::Pmd.index(addr)];
        pt::leaf(e).then_some(e)
    }

    /// `zap_huge_pmd` (6.18): clear the PMD leaf at entry `idx` of `pmd`, free its deposited
    /// table at once; a THP's 512 frames lose this mapping and go into the gather as one entry
    /// (`tlb_remove_page_size`), RSS by 512; the huge zero page is only unmapped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn zap_huge_pmd(
        &mut self,
        tlb: &mut MmuGather,
        zap: &mut ZapStats,
        mm: &mut Mm,
        pmd: Pfn,
        idx: usize,
        addr: u64,
    ) {
        let e = self.hw.table(pmd)[idx];
        self.hw.table_mut(pmd)[idx] = 0; // pmdp_huge_get_and_clear_full
        let zero = self.is_huge_zero_pmd(e);
        let pages = if zero { 0 } else { HPAGE_PMD_NR as u64 };
        tlb.remove_pmd_tlb_entry(addr & !(PMD_SIZE - 1), pages);
        zap.huge_pmd += 1;
        self.zap_deposited_table(mm, pmd, idx);
        if zero {
            return;
        }
        let head = pt::pfn_of(e);
        for f in head..head + HPAGE_PMD_NR {
            let p = self.mem.page_mut(f);
            p.mapcount -= 1; // folio_remove_rmap_pmd
            if p.mapcount == 0 {
                p.flags.remove(PageFlags::MLOCKED);
            }
        }
        mm.rss[MM_ANONPAGES] -= HPAGE_PMD_NR as i64;
        zap.anon += HPAGE_PMD_NR as u64;
        if tlb.remove_page(ZappedPage::folio(head, HPAGE_PMD_NR), &mut self.mem) {
            tlb.forced_flush(&mut self.hw, &mut self.mem);
        }
    }

    /// `copy_huge_pmd` (6.18): the child gets the PMD leaf and a deposited table of its own;
    /// the THP's frames gain the child's mapping and reference and are no longer exclusive;
    /// both PMDs are write-protected (the child's also old).
    pub(crate) fn copy_huge_pmd(
        &mut self,
        dst: &mut Mm,
        src_pmd: Pfn,
        dst_pmd: Pfn,
        idx: usize,
    ) -> Result<(), crate::Errno> {
        let table = self.alloc_table(dst)?;
        let e = self.hw.table(src_pmd)[idx] & !pt::RW;
        self.hw.table_mut(src_pmd)[idx] = e; // pmdp_set_wrprotect
        if !self.is_huge_zero_pmd(e) {
            let head = pt::pfn_of(e);
            for f in head..head + HPAGE_PMD_NR {
                let p = self.mem.page_mut(f);
                p.flags.remove(PageFlags::ANON_EXCLUSIVE);
                p.refcount += 1;
                p.mapcount += 1;
            }
            dst.rss[MM_ANONPAGES] += HPAGE_PMD_NR as i64;
        } else {
            dst.flags.insert(MmFlags::HUGE_ZERO_FOLIO);
        }
        self.hw.table_mut(dst_pmd)[idx] = e & !pt::ACCESSED;
        self.pgtable_trans_huge_deposit(dst_pmd, idx, table);
        Ok(())
    }

    /// `move_huge_pmd`: a whole aligned PMD leaf moves, its deposit with it.
    pub(crate) fn move_huge_pmd(
        &mut self,
        mm: &Mm,
        old: (Pfn, usize),
        new: (Pfn, usize),
        old_addr: u64,
    ) {
        let e = self.hw.table(old.0)[old.1];
        self.hw.table_mut(old.0)[old.1] = 0;
        let t = self.pgtable_trans_huge_withdraw(old.0, old.1);
        self.hw.table_mut(new.0)[new.1] = e;
        self.pgtable_trans_huge_deposit(new.0, new.1, t);
        self.hw
            .flush_tlb_range(mm.id, old_addr, old_addr + PMD_SIZE, PMD_SHIFT, false);
    }

    /// `split_folio` of the large folio mapped at `addr` by this mm alone (6.18
    /// `__folio_split`, then `remap_page` with `RMP_USE_SHARED_ZEROPAGE`): a PMD mapping is
    /// split first; the folio becomes 512 base pages, and each zero-filled one this VMA maps is
    /// mapped to the shared zero page instead and freed (RSS by one each), as
    /// `try_to_map_unused_to_zeropage` does; not in a locked VMA.
    pub(crate) fn split_folio_at(&mut self, mm: &mut Mm, addr: u64) {
        let head = match self.pmd_leaf_at(mm, addr) {
            Some(e) if self.is_huge_zero_pmd(e) => return,
            Some(e) => {
                let head = pt::pfn_of(e);
                self.split_huge_pmd_address(mm, addr);
                head
            }
            None => {
                let e = self.pte_at(mm, addr);
                if !pt::present(e) || e & pt::SPECIAL != 0 {
                    return;
                }
                match self.mem.large_folio_of(pt::pfn_of(e)) {
                    Some(h) => h,
                    None => return,
                }
            }
        };
        // remap_page walks every mapping of the folio (its anon_vma's VMAs): here, every VMA
        // of this mm with the folio's anon_vma (mremap may have moved part of it away), or
        // with one chained to it by fork (the model keeps no chain: any forked one; the walk
        // only touches PTEs that map the folio).
        let Some(av) = (head..head + HPAGE_PMD_NR)
            .filter(|&f| self.mem.large_folio_of(f) == Some(head))
            .map(|f| self.mem.page(f))
            .find(|p| p.refcount > 0 && p.flags.contains(PageFlags::ANON))
            .map(|p| p.mapping)
        else {
            self.mem.unmake_large(head);
            return;
        };
        self.mem.unmake_large(head);
        let vmas: alloc::vec::Vec<Vma> = mm
            .vmas
            .values()
            .filter(|v| {
                (v.anon_vma == Some(av) || v.anon_chain_forked)
                    && !v.flags.contains(VmFlags::LOCKED)
            })
            .cloned()
            .collect();
        for vma in vmas {
            self.remap_zero_subpages(mm, head, vma.start, vma.end);
        }
    }

    /// `try_to_map_unused_to_zeropage` over `[s, e)`: each zero-filled frame of the former
    /// folio `head` mapped there once becomes a zero-page PTE; the frame is freed.
    fn remap_zero_subpages(&mut self, mm: &mut Mm, head: Pfn, s: u64, end: u64) {
        let mut a = s;
        while a < end {
            let Some(table) = self.pte_table(mm, a) else {
                a = (a | (PMD_SIZE - 1)) + 1;
                continue;
            };
            let i = Level::Pte.index(a);
            let e = self.hw.table(table)[i];
            a += PAGE_SIZE;
            if !pt::present(e) || e & pt::SPECIAL != 0 {
                continue;
            }
            let f = pt::pfn_of(e);
            if f < head || f >= head + HPAGE_PMD_NR {
                continue;
            }
            let p = self.mem.page(f);
            if p.content != 0 || p.mapcount != 1 || p.flags.contains(PageFlags::MLOCKED) {
                continue;
            }
            self.hw.table_mut(table)[i] = pt::mk_pte(self.zero_pfn, false, false, true);
            self.hw.flush_tlb_range(mm.id, a - PAGE_SIZE, a, 12, false);
            self.mem.page_mut(f).mapcount = 0;
            crate::mmu_gather::put_page(f, &mut self.mem, &mut self.hw);
            mm.rss[MM_ANONPAGES] -= 1;
        }
    }

    /// Whether the large folio `head` may be mapped by another mm (`folio_maybe_mapped_shared`:
    /// some frame of it mapped more than once).
    pub(crate) fn folio_maybe_mapped_shared(&self, head: Pfn) -> bool {
        (head..head + HPAGE_PMD_NR)
            .any(|f| self.mem.large_folio_of(f) == Some(head) && self.mem.page(f).mapcount > 1)
    }
}
