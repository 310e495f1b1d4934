//! mm/mremap.c: grow or shrink in place, or move (`move_vma` → `move_page_tables`).

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags};
use crate::pgtable::{
    self as pt, Level, PAGE_SIZE, PMD_SHIFT, PMD_SIZE, PUD_SHIFT, PUD_SIZE, TASK_SIZE,
};
use crate::{Errno, Kernel};

/// Why an mremap could not be modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MremapError {
    /// The kernel's answer.
    Errno(Errno),
    /// A move to an address of the kernel's choosing (`MREMAP_MAYMOVE` without `MREMAP_FIXED`
    /// that cannot grow in place): not modelled, the script must give `fixed=`.
    UnhintedMove,
}

impl From<Errno> for MremapError {
    fn from(e: Errno) -> Self {
        MremapError::Errno(e)
    }
}

/// `enum mremap_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RemapType {
    NoResize,
    Shrink,
    Expand,
}

/// `struct vma_remap_struct`: one mremap request as it is worked out.
#[derive(Clone, Copy, Debug)]
struct Remap {
    addr: u64,
    old_len: u64,
    new_len: u64,
    new_addr: u64,
    maymove: bool,
    fixed: bool,
    dontunmap: bool,
    kind: RemapType,
    populate_expand: bool,
}

impl Remap {
    /// `vrm_implies_new_addr`.
    fn implies_new_addr(&self) -> bool {
        self.fixed || self.dontunmap
    }

    fn delta(&self) -> u64 {
        self.new_len.abs_diff(self.old_len)
    }
}

impl<H: Hardware> Kernel<H> {
    /// `mremap` (6.17+ shape): check the parameters, then either move a fixed, same-size range
    /// VMA by VMA (`remap_move`), or look the VMA up, check it (`check_prep_vma`) and resize in
    /// place (`mremap_at`) or move (`mremap_to`). Nothing is unmapped before the checks pass.
    #[allow(clippy::too_many_arguments)]
    pub fn do_mremap(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        old_len: u64,
        new_len: u64,
        maymove: bool,
        fixed: Option<u64>,
        dontunmap: bool,
    ) -> Result<u64, MremapError> {
        let align = |l: u64| l.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1));
        let mut v = Remap {
            addr,
            old_len: align(old_len).ok_or(Errno::EINVAL)?,
            new_len: align(new_len).ok_or(Errno::EINVAL)?,
            new_addr: fixed.unwrap_or(0),
            maymove,
            fixed: fixed.is_some(),
            dontunmap,
            kind: RemapType::NoResize,
            populate_expand: false,
        };
        self.check_mremap_params(&v)?;
        if v.dontunmap && !v.fixed {
            return Err(MremapError::UnhintedMove);
        }
        let res = if v.fixed && v.old_len == v.new_len {
            self.remap_move(mm, &mut v)?
        } else {
            self.check_prep_vma(mm, &mut v)?;
            if v.implies_new_addr() {
                self.mremap_to(mm, &mut v)?
            } else {
                self.mremap_at(mm, &mut v)?
            }
        };
        if v.populate_expand {
            let _ = self.mm_populate(mm, v.new_addr + v.old_len, v.delta(), true);
        }
        Ok(res)
    }

    /// `check_mremap_params`: EINVAL for anything wrong before the VMAs are looked at.
    fn check_mremap_params(&self, v: &Remap) -> Result<(), Errno> {
        if v.addr & (PAGE_SIZE - 1) != 0 || v.new_len == 0 || v.new_len > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        if !v.implies_new_addr() {
            return Ok(());
        }
        if v.new_addr > TASK_SIZE - v.new_len || v.new_addr & (PAGE_SIZE - 1) != 0 || !v.maymove {
            return Err(Errno::EINVAL);
        }
        if v.dontunmap && v.old_len != v.new_len {
            return Err(Errno::EINVAL);
        }
        // vrm_overlaps: the target may not overlap the source.
        if v.addr < v.new_addr + v.new_len && v.new_addr < v.addr + v.old_len {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// `check_prep_vma`: the VMA at `addr` must exist and hold what is resized or moved.
    fn check_prep_vma(&self, mm: &Mm, v: &mut Remap) -> Result<(), Errno> {
        let vma = mm.vma_at(v.addr).ok_or(Errno::EFAULT)?;
        // align_hugetlb: lengths round up to the huge page, addresses must be aligned to it,
        // and a hugetlb mapping never grows (its reservations can't be split).
        if let Some(h) = vma.hugetlb {
            let m = h.size.bytes() - 1;
            v.old_len = v.old_len.checked_add(m).ok_or(Errno::EINVAL)? & !m;
            v.new_len = v.new_len.checked_add(m).ok_or(Errno::EINVAL)? & !m;
            if v.addr & m != 0 || (v.implies_new_addr() && v.new_addr & m != 0) {
                return Err(Errno::EINVAL);
            }
            if v.new_len > v.old_len {
                return Err(Errno::EINVAL);
            }
        }
        v.kind = match v.new_len.cmp(&v.old_len) {
            core::cmp::Ordering::Less => RemapType::Shrink,
            core::cmp::Ordering::Equal => RemapType::NoResize,
            core::cmp::Ordering::Greater => RemapType::Expand,
        };
        if !v.implies_new_addr() {
            v.new_addr = v.addr;
        }
        if v.kind != RemapType::Expand && !v.implies_new_addr() {
            return Ok(());
        }
        if v.old_len == 0 && !vma.flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
            return Err(Errno::EINVAL);
        }
        if v.dontunmap && vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EINVAL);
        }
        let old_len = if v.kind == RemapType::Shrink {
            v.new_len
        } else {
            v.old_len
        };
        if old_len > vma.end - v.addr {
            return Err(Errno::EFAULT);
        }
        if v.new_len == old_len {
            return Ok(());
        }
        if vma.flags.contains(VmFlags::LOCKED) {
            v.populate_expand = true;
        }
        let pgoff = vma.pgoff + ((v.addr - vma.start) >> 12);
        if pgoff.checked_add(v.new_len >> 12).is_none() {
            return Err(Errno::EINVAL);
        }
        if vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EFAULT);
        }
        if !Self::mlock_future_ok(mm, vma.flags, v.delta()) {
            return Err(Errno::EAGAIN);
        }
        if !Self::may_expand_vm(mm, vma.flags, v.delta() >> 12) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `remap_move`: a fixed, same-size move of every VMA in `[addr, addr+len)`, keeping the
    /// gaps between them. The range must start inside a VMA.
    fn remap_move(&mut self, mm: &mut Mm, v: &mut Remap) -> Result<u64, MremapError> {
        let (start, end) = (v.addr, v.addr + v.old_len);
        let mut res: Result<u64, MremapError> = Err(Errno::EFAULT.into());
        let mut seen = false;
        let mut last_end = 0;
        let mut target_addr = v.new_addr;
        let mut cursor = start;
        // for_each_vma_range: the search never goes past end - 1, and resumes after the last VMA.
        while cursor < end {
            let Some(vma) = mm.find_vma(cursor).cloned().filter(|x| x.start < end) else {
                break;
            };
            let a = vma.start.max(cursor);
            let len = end.min(vma.end) - a;
            if !seen && start < vma.start {
                return Err(Errno::EFAULT.into());
            }
            let offset = if seen { a.saturating_sub(last_end) } else { 0 };
            last_end = vma.end;
            let mut sub = Remap {
                addr: a,
                old_len: len,
                new_len: len,
                new_addr: target_addr + offset,
                populate_expand: false,
                ..*v
            };
            self.check_prep_vma(mm, &mut sub)?;
            let r = self.mremap_to(mm, &mut sub)?;
            if !seen {
                res = Ok(r);
            }
            seen = true;
            target_addr = r + len;
            cursor = vma.end; // the iterator goes on after this VMA (it stays with dontunmap)
        }
        res
    }

    /// `mremap_to`: unmap the target (MREMAP_FIXED), look the source up again, shrink it
    /// first if needed, then `move_vma`.
    fn mremap_to(&mut self, mm: &mut Mm, v: &mut Remap) -> Result<u64, Errno> {
        if v.fixed {
            self.do_munmap(mm, v.new_addr, v.new_len)?;
            mm.vma_at(v.addr).ok_or(Errno::EFAULT)?;
        }
        // The delta is worked out before the shrink and not again after it.
        let delta = v.delta();
        let shrunk = v.kind == RemapType::Shrink;
        if shrunk {
            self.do_munmap(mm, v.addr + v.new_len, v.old_len - v.new_len)?;
            v.old_len = v.new_len;
        }
        let vma = mm.vma_at(v.addr).cloned().ok_or(Errno::EFAULT)?;
        // vrm_calc_charge: all of NEWLEN with MREMAP_DONTUNMAP, else the delta. After a shrink
        // that is the size of the tail the shrink just unmapped (and unaccounted): 6.18
        // charges it again, and no VMA holds that charge, so nothing ever returns it.
        if vma.flags.contains(VmFlags::ACCOUNT) {
            let charged = if v.dontunmap { v.new_len } else { delta };
            self.vm_enough_memory((charged >> 12) as i64)?;
            if shrunk && !v.dontunmap {
                self.committed_leaked += (delta >> 12) as i64;
            }
        }
        self.move_vma(
            mm,
            vma.start,
            v.addr,
            v.old_len,
            v.new_len,
            v.new_addr,
            v.dontunmap,
        )
    }

    /// `mremap_at`: same size (nothing), shrink (unmap the tail), or expand in place.
    fn mremap_at(&mut self, mm: &mut Mm, v: &mut Remap) -> Result<u64, MremapError> {
        match v.kind {
            RemapType::NoResize => Ok(v.addr),
            RemapType::Shrink => {
                self.do_munmap(mm, v.addr + v.new_len, v.old_len - v.new_len)?;
                Ok(v.addr)
            }
            RemapType::Expand => {
                let vma = mm.vma_at(v.addr).cloned().ok_or(Errno::EFAULT)?;
                let delta = v.delta();
                let in_place = vma.end - v.addr == v.old_len
                    && vma
                        .end
                        .checked_add(delta)
                        .is_some_and(|e| e <= TASK_SIZE && mm.overlapping(vma.end, e).is_empty());
                if in_place {
                    let pages = (delta >> 12) as i64;
                    if vma.flags.contains(VmFlags::ACCOUNT) {
                        self.vm_enough_memory(pages)?;
                    }
                    mm.vmas.get_mut(&vma.start).unwrap().end = vma.end + delta;
                    self.merge_with_next(mm, vma.start);
                    Self::vm_stat_account(mm, vma.flags, pages);
                    if vma.flags.contains(VmFlags::LOCKED) {
                        mm.locked_vm += pages;
                    }
                    mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
                    return Ok(v.addr);
                }
                if !v.maymove {
                    return Err(Errno::ENOMEM.into());
                }
                Err(MremapError::UnhintedMove)
            }
        }
    }

    /// After growing the VMA at `start` in place, absorb the next VMA if it now touches and
    /// matches (`vma_merge_extend`).
    fn merge_with_next(&mut self, mm: &mut Mm, start: u64) {
        let v = mm.vmas[&start].clone();
        let Some(n) = mm.vmas.range(v.end..).next().map(|(_, n)| n.clone()) else {
            return;
        };
        if n.start == v.end
            && n.flags == v.flags
            && n.file == v.file
            && v.pgoff + v.pages() == n.pgoff
            && crate::mmap::anon_mergeable(&n, v.anon_vma, None)
            && !v.flags.intersects(VmFlags::SPECIAL)
        {
            let grown = mm.vmas.get_mut(&start).unwrap();
            grown.end = n.end;
            if grown.anon_vma.is_none() && n.anon_vma.is_some() {
                // The merged VMA takes the next one's anon_vma over (its pages point at it).
                grown.anon_vma = n.anon_vma;
                self.anon_vma_get(n.anon_vma);
            }
            self.vma_merged_away(mm, n.start);
        }
    }

    /// `move_vma`: make the new VMA (`copy_vma`, which may merge at the destination), move the
    /// page tables, then unmap the old range (unless `MREMAP_DONTUNMAP`) without returning the
    /// commit charge the new VMA took over.
    #[allow(clippy::too_many_arguments)]
    fn move_vma(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        new_addr: u64,
        dontunmap: bool,
    ) -> Result<u64, Errno> {
        let vma = mm.vmas[&vma_start].clone();
        // prep_move_vma: a VMA whose driver refuses splits moves whole or not at all.
        if !self.vma_may_split(&vma) && (vma.start != old_addr || vma.end != old_addr + old_len) {
            return Err(Errno::EINVAL);
        }
        // copy_vma: an anonymous VMA never faulted in takes the pgoff of its new place, so that
        // it can merge there.
        let pgoff = if vma.is_anonymous() && vma.anon_vma.is_none() {
            new_addr >> 12
        } else {
            vma.pgoff + ((old_addr - vma.start) >> 12)
        };
        // copy_vma: a new VMA at new_addr with the source's attributes.
        let start = self.mmap_region_copy(mm, &vma, new_addr, new_len, pgoff)?;
        let _ = start;
        let new_vma = mm.vma_at(new_addr).map_or(new_addr, |v| v.start);
        let old_vma = mm.vma_at(old_addr).map_or(old_addr, |v| v.start);
        if vma.hugetlb.is_some() {
            let (o, n) = (mm.vmas[&old_vma].clone(), mm.vmas[&new_vma].clone());
            self.move_hugetlb_page_tables(mm, (&o, &n), old_addr, new_addr, old_len);
            // fixup_hugetlb_reservations: the reservations went with the new VMA; the old one
            // gives nothing back when it is closed. 6.18 drops the map of the whole old VMA,
            // so what stays of it keeps its unconsumed reservations with no owner: leaked.
            let old = mm.vmas[&old_vma].clone();
            if let Some(id) = old.hugetlb.and_then(|h| h.resv) {
                let kept = self.hugetlb_unconsumed(&old, id, (old_addr, old_addr + old_len));
                let size = old.hugetlb.expect("hugetlb").size;
                self.hugetlb_resv_leaked[size.index()] += kept;
                self.resv_map_put(id);
                if let Some(h) = mm.vmas.get_mut(&old_vma).and_then(|v| v.hugetlb.as_mut()) {
                    h.resv = None;
                }
            }
        } else {
            self.move_page_tables(mm, (old_addr, old_vma), (new_addr, new_vma), old_len);
            // 5.10 untrack_pfn_moved: the reservation is the new VMA's now. What stays of a
            // VMA moved only in part can then never free it: the kernel's own leak.
            if let Some(o) = mm.vmas.get_mut(&old_vma) {
                if o.flags.contains(VmFlags::PAT) {
                    o.flags -= VmFlags::PAT;
                    if o.start != old_addr || o.end != old_addr + old_len {
                        let o = o.clone();
                        self.pat_note_moved_in_part(mm, &o);
                    }
                }
            }
        }
        Self::vm_stat_account(mm, vma.flags, (new_len >> 12) as i64);
        if vma.flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += (new_len >> 12) as i64;
        }
        if dontunmap {
            // dontunmap_complete: the old VMA stays mapped and empty; the whole of it loses its
            // lock flags in place (no split, no merge) while locked_vm keeps counting it.
            // copy_vma may have merged the source into the new VMA: find it by address.
            let old_start = mm.vma_at(old_addr).expect("source VMA").start;
            let old = mm.vmas.get_mut(&old_start).expect("source VMA");
            if old.flags.contains(VmFlags::LOCKED) {
                mm.locked_vm_unlocked += old.pages() as i64;
            }
            old.flags -= VmFlags::LOCKED_MASK;
            if old.start == old_addr && old.end == old_addr + old_len {
                let av = old.anon_vma.take(); // unlink_anon_vmas: its pages have moved
                old.anon_chain_forked = false;
                self.anon_vma_put(av);
            }
        } else {
            // unmap_source_vma: the moved pages' charge now belongs to the new VMA, so the
            // unmap must not return it (the kernel clears VM_ACCOUNT around it; here: charge,
            // then unmap). It is best effort: an error is not the caller's. With an OLDLEN of 0
            // (the duplicate of a shared mapping) do_vmi_munmap refuses the zero length, so the
            // source stays as it is, and nothing was charged.
            let acct = vma.flags.contains(VmFlags::ACCOUNT);
            if acct {
                self.vm_acct_memory((old_len >> 12) as i64);
            }
            let _ = self.do_munmap(mm, old_addr, old_len);
        }
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        Ok(new_addr)
    }

    /// `copy_vma`: insert a VMA like `src` at `[addr, addr+len)`, merging with neighbours there
    /// (left preference) when their attributes and pgoff line up.
    fn mmap_region_copy(
        &mut self,
        mm: &mut Mm,
        src: &crate::mm_types::Vma,
        addr: u64,
        len: u64,
        pgoff: u64,
    ) -> Result<u64, Errno> {
        let end = addr + len;
        let prev = mm
            .vmas
            .range(..addr)
            .next_back()
            .map(|(_, v)| v.clone())
            .filter(|p| p.end == addr);
        let ok = |v: &crate::mm_types::Vma| {
            v.flags == src.flags && v.file == src.file && !v.flags.intersects(VmFlags::SPECIAL)
        };
        if let Some(p) = prev.filter(|p| {
            ok(p)
                && p.pgoff + p.pages() == pgoff
                && crate::mmap::anon_mergeable(p, src.anon_vma, Some(src))
        }) {
            let pv = mm.vmas.get_mut(&p.start).unwrap();
            pv.end = end;
            if pv.anon_vma.is_none() && src.anon_vma.is_some() {
                pv.anon_vma = src.anon_vma;
                self.anon_vma_get(src.anon_vma);
            }
            self.merge_with_next(mm, p.start);
            return Ok(p.start);
        }
        let mut v = src.clone();
        v.start = addr;
        v.end = end;
        v.pgoff = pgoff;
        self.vma_link(mm, v);
        self.merge_with_next(mm, addr);
        Ok(addr)
    }

    /// `move_page_tables` (6.18): move the entries of `[old, old+len)` to `new`, extent by
    /// extent. An extent that is a whole 1 GiB or 2 MiB span at both ends moves its PUD or PMD
    /// entry (`move_normal_pud` / `move_normal_pmd`: the table itself changes place); any other
    /// moves PTE by PTE (`move_ptes`). Where the source has a PMD table, the destination gets
    /// its PUD table (`alloc_new_pud`), and where it has a PTE table, its PMD and PTE tables,
    /// even if no entry is there to move. Mutually aligned ranges that reach a PMD boundary
    /// start at the boundary below (`try_realign_addr`). `old_vma` and `new_vma` are the starts
    /// of the source and destination VMAs.
    fn move_page_tables(
        &mut self,
        mm: &mut Mm,
        (old, old_vma): (u64, u64),
        (new, new_vma): (u64, u64),
        len: u64,
    ) {
        if len == 0 {
            return;
        }
        let old_end = old + len;
        let (mut o, mut n) = (old, new);
        // try_realign_addr(PMD_MASK)
        let align = PMD_SIZE - 1;
        if len >= PMD_SIZE - (o & align)
            && o & align != 0
            && o & align == n & align
            && self.can_align_down(mm, old_vma, o)
            && self.can_align_down(mm, new_vma, n)
        {
            o &= !align;
            n &= !align;
        }
        crate::mmu_notifier::invalidate_range_start(mm, o, old_end);
        let pgd = mm.pgd;
        while o < old_end {
            self.hw.cond_resched();
            let mut extent = get_extent(o, n, old_end, PUD_SHIFT);
            // get_old_pud: is there a PMD table at the source?
            let Some(old_pud) = self.pud_table(mm, o) else {
                (o, n) = (o + extent, n + extent);
                continue;
            };
            let old_pud_idx = Level::Pud.index(o);
            if !pt::present(self.hw.table(old_pud)[old_pud_idx]) {
                (o, n) = (o + extent, n + extent);
                continue;
            }
            // alloc_new_pud
            let Ok(Some(new_pud)) = self.table_below(mm, pgd, Level::Pgd.index(n), true) else {
                break;
            };
            if extent == PUD_SIZE
                && self.move_normal_entry(mm, (old_pud, old_pud_idx), new_pud, (o, n), PUD_SHIFT)
            {
                (o, n) = (o + extent, n + extent);
                continue;
            }
            extent = get_extent(o, n, old_end, PMD_SHIFT);
            // get_old_pmd: is there a PTE table at the source?
            let old_pmd = pt::pfn_of(self.hw.table(old_pud)[old_pud_idx]);
            let old_pmd_idx = Level::Pmd.index(o);
            if !pt::present(self.hw.table(old_pmd)[old_pmd_idx]) {
                (o, n) = (o + extent, n + extent);
                continue;
            }
            // alloc_new_pmd
            let Ok(Some(new_pmd)) = self.table_below(mm, new_pud, Level::Pud.index(n), true) else {
                break;
            };
            if pt::leaf(self.hw.table(old_pmd)[old_pmd_idx]) {
                // A THP: moved whole (move_huge_pmd) if the extent is all of it, else split.
                let new_idx = Level::Pmd.index(n);
                if extent == PMD_SIZE && pt::none(self.hw.table(new_pmd)[new_idx]) {
                    self.move_huge_pmd(mm, (old_pmd, old_pmd_idx), (new_pmd, new_idx), o);
                    (o, n) = (o + extent, n + extent);
                    continue;
                }
                self.split_huge_pmd_locked(mm, old_pmd, old_pmd_idx, o & !(PMD_SIZE - 1));
            }
            if extent == PMD_SIZE
                && self.move_normal_entry(mm, (old_pmd, old_pmd_idx), new_pmd, (o, n), PMD_SHIFT)
            {
                (o, n) = (o + extent, n + extent);
                continue;
            }
            // pte_alloc, then move_ptes.
            let src = pt::pfn_of(self.hw.table(old_pmd)[old_pmd_idx]);
            let Ok(Some(dst)) = self.table_below(mm, new_pmd, Level::Pmd.index(n), true) else {
                break;
            };
            self.move_ptes(mm, src, dst, (o, n), extent);
            (o, n) = (o + extent, n + extent);
        }
    }

    /// `can_align_down`: the VMA starts at `addr`, and nothing is mapped between the PMD
    /// boundary below `addr` and it.
    fn can_align_down(&self, mm: &Mm, vma_start: u64, addr: u64) -> bool {
        vma_start == addr && mm.overlapping(addr & !(PMD_SIZE - 1), vma_start).is_empty()
    }

    /// `move_normal_pud` / `move_normal_pmd`: hang the table below the source entry (index
    /// `idx` of `table`) under the destination's empty entry in `new_table` instead, and flush
    /// the old span. False if the destination entry is not empty (the kernel warns and moves
    /// entry by entry instead).
    fn move_normal_entry(
        &mut self,
        mm: &Mm,
        (table, idx): (crate::page::Pfn, usize),
        new_table: crate::page::Pfn,
        (o, n): (u64, u64),
        shift: u32,
    ) -> bool {
        let level = if shift == PUD_SHIFT {
            Level::Pud
        } else {
            Level::Pmd
        };
        let new_idx = level.index(n);
        if !pt::none(self.hw.table(new_table)[new_idx]) {
            return false;
        }
        let e = self.hw.table(table)[idx];
        self.hw.table_mut(table)[idx] = 0;
        self.hw.table_mut(new_table)[new_idx] = e;
        self.hw
            .flush_tlb_range(mm.id, o, o + (1 << shift), shift, true);
        true
    }

    /// `move_ptes`: move each non-empty PTE of the `extent` bytes at `o` in table `src` to
    /// `n` in table `dst`, then flush the old range if a present PTE moved.
    fn move_ptes(
        &mut self,
        mm: &Mm,
        src: crate::page::Pfn,
        dst: crate::page::Pfn,
        (o, n): (u64, u64),
        extent: u64,
    ) {
        let mut moved = false;
        for k in 0..(extent >> 12) {
            let (oa, na) = (o + (k << 12), n + (k << 12));
            let e = self.hw.table(src)[Level::Pte.index(oa)];
            if !pt::none(e) {
                self.hw.table_mut(src)[Level::Pte.index(oa)] = 0;
                self.hw.table_mut(dst)[Level::Pte.index(na)] = e;
                moved |= pt::present(e);
            }
        }
        if moved {
            self.hw.flush_tlb_range(mm.id, o, o + extent, 12, false);
        }
    }

    /// The PUD table covering `addr`, if any.
    fn pud_table(&self, mm: &Mm, addr: u64) -> Option<crate::page::Pfn> {
        let e = self.hw.table(mm.pgd)[Level::Pgd.index(addr)];
        pt::present(e).then(|| pt::pfn_of(e))
    }
}

/// `get_extent`: the bytes from `old` to the next boundary of `1 << shift`, bounded by `end`
/// and by the next boundary after `new`.
fn get_extent(old: u64, new: u64, end: u64, shift: u32) -> u64 {
    let (size, mask) = (1u64 << shift, !((1u64 << shift) - 1));
    let mut extent = (old.wrapping_add(size) & mask).wrapping_sub(old);
    extent = extent.min(end - old);
    extent.min((new.wrapping_add(size) & mask).wrapping_sub(new))
}
