//! mm/mremap.c: grow or shrink in place, or move (`move_vma` → `move_page_tables`).

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags};
use crate::pgtable::{self as pt, Level, PAGE_SIZE, PMD_SHIFT, PMD_SIZE, TASK_SIZE};
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

impl<H: Hardware> Kernel<H> {
    /// `mremap`.
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
        if addr & (PAGE_SIZE - 1) != 0 || (fixed.is_some() && !maymove) || (dontunmap && !maymove) {
            return Err(Errno::EINVAL.into());
        }
        let align = |l: u64| l.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1));
        let old_len = align(old_len).ok_or(Errno::EINVAL)?;
        let new_len = align(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 || (dontunmap && old_len != new_len) {
            return Err(Errno::EINVAL.into());
        }
        if let Some(new_addr) = fixed {
            return self
                .mremap_to(mm, addr, old_len, new_addr, new_len, dontunmap)
                .map_err(Into::into);
        }
        if old_len >= new_len {
            if old_len > new_len {
                self.do_munmap(mm, addr + new_len, old_len - new_len)?;
            }
            return Ok(addr);
        }
        let vma = self.vma_to_resize(mm, addr, old_len, new_len)?;
        if vma.end == addr + old_len {
            let delta = new_len - old_len;
            let new_end = vma.end.checked_add(delta).filter(|&e| e <= TASK_SIZE);
            let free = new_end.is_some_and(|e| mm.overlapping(vma.end, e).is_empty());
            if free {
                let new_end = new_end.unwrap();
                let pages = (delta >> 12) as i64;
                if vma.flags.contains(VmFlags::ACCOUNT) {
                    self.vm_enough_memory(pages)?;
                }
                mm.vmas.get_mut(&vma.start).unwrap().end = new_end;
                self.merge_with_next(mm, vma.start);
                Self::vm_stat_account(mm, vma.flags, pages);
                if vma.flags.contains(VmFlags::LOCKED) {
                    mm.locked_vm += pages;
                    let _ = self.mm_populate(mm, addr + old_len, delta, true);
                }
                mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
                return Ok(addr);
            }
        }
        if !maymove {
            return Err(Errno::ENOMEM.into());
        }
        Err(MremapError::UnhintedMove)
    }

    /// `vma_to_resize`: the VMA at `addr` must hold `[addr, addr+old_len)`.
    fn vma_to_resize(
        &mut self,
        mm: &Mm,
        addr: u64,
        old_len: u64,
        _new_len: u64,
    ) -> Result<crate::mm_types::Vma, Errno> {
        let vma = mm.vma_at(addr).cloned().ok_or(Errno::EFAULT)?;
        if old_len > vma.end - addr {
            return Err(Errno::EFAULT);
        }
        Ok(vma)
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
            && (n.anon_vma == v.anon_vma || n.anon_vma.is_none())
            && !v.flags.intersects(VmFlags::SPECIAL)
        {
            mm.vmas.get_mut(&start).unwrap().end = n.end;
            mm.vmas.remove(&n.start);
            mm.map_count -= 1;
            self.anon_vma_put(n.anon_vma);
            if let Some(f) = n.file {
                self.fput(f);
            }
        }
    }

    /// `mremap_to`: move to a fixed address (unmapping whatever was there).
    fn mremap_to(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        old_len: u64,
        new_addr: u64,
        new_len: u64,
        dontunmap: bool,
    ) -> Result<u64, Errno> {
        if new_addr & (PAGE_SIZE - 1) != 0 || new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len
        {
            return Err(Errno::EINVAL);
        }
        // The two ranges may not overlap.
        if addr + old_len > new_addr && new_addr + new_len > addr {
            return Err(Errno::EINVAL);
        }
        self.do_munmap(mm, new_addr, new_len)?;
        let mut old_len = old_len;
        if old_len > new_len {
            self.do_munmap(mm, addr + new_len, old_len - new_len)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(mm, addr, old_len, new_len)?;
        if vma.flags.contains(VmFlags::ACCOUNT) {
            let extra = if dontunmap {
                new_len
            } else {
                new_len - old_len
            };
            self.vm_enough_memory((extra >> 12) as i64)?;
        }
        self.move_vma(mm, vma.start, addr, old_len, new_len, new_addr, dontunmap)
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
        let pgoff = vma.pgoff + ((old_addr - vma.start) >> 12);
        // copy_vma: a new VMA at new_addr with the source's attributes.
        let start = self.mmap_region_copy(mm, &vma, new_addr, new_len, pgoff)?;
        let _ = start;
        self.move_page_tables(mm, old_addr, new_addr, old_len);
        Self::vm_stat_account(mm, vma.flags, (new_len >> 12) as i64);
        if vma.flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += (new_len >> 12) as i64;
        }
        if dontunmap {
            // The old range stays mapped, empty, unlocked.
            if vma.flags.contains(VmFlags::LOCKED) {
                let s = self.vma_modify_flags(
                    mm,
                    vma_start,
                    old_addr,
                    old_addr + old_len,
                    vma.flags - VmFlags::LOCKED_MASK,
                )?;
                let _ = s;
                mm.locked_vm -= (old_len >> 12) as i64;
            }
        } else {
            // The moved pages' charge now belongs to the new VMA: unmap without unaccounting it.
            let acct = vma.flags.contains(VmFlags::ACCOUNT);
            if acct {
                self.vm_acct_memory((old_len >> 12) as i64);
            }
            self.do_munmap(mm, old_addr, old_len)?;
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
                && (p.anon_vma == src.anon_vma || p.anon_vma.is_none() || src.anon_vma.is_none())
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
        self.anon_vma_get(v.anon_vma);
        if let Some(f) = v.file {
            self.get_file(f);
        }
        mm.vmas.insert(addr, v);
        mm.map_count += 1;
        self.merge_with_next(mm, addr);
        Ok(addr)
    }

    /// `move_page_tables`: move the PTEs of `[old, old+len)` to `new`. Where both addresses are
    /// 2 MiB aligned and a whole PTE table moves, the PMD entry itself moves
    /// (`move_normal_pmd`); otherwise PTE by PTE (`move_ptes`), allocating the new tables.
    fn move_page_tables(&mut self, mm: &mut Mm, old: u64, new: u64, len: u64) {
        let old_end = old + len;
        let (mut o, mut n) = (old, new);
        while o < old_end {
            let mut extent = pt::addr_end(o, old_end, PMD_SHIFT) - o;
            extent = extent.min(pt::addr_end(n, u64::MAX, PMD_SHIFT) - n);
            if let Some(src) = self.pte_table(mm, o) {
                if extent == PMD_SIZE && self.pte_table(mm, n).is_none() {
                    // move_normal_pmd: hang the whole PTE table under the new PMD entry.
                    if let Ok(Some(dst_pmd)) = self.walk_to_pmd_table(mm, n, true) {
                        let src_pmd = self.pmd_table(mm, o).expect("src PMD");
                        let e = self.hw.table(src_pmd)[Level::Pmd.index(o)];
                        self.hw.table_mut(src_pmd)[Level::Pmd.index(o)] = 0;
                        self.hw.table_mut(dst_pmd)[Level::Pmd.index(n)] = e;
                        let _ = src;
                        self.hw
                            .flush_tlb_range(mm.id, o, o + extent, PMD_SHIFT, true);
                        o += extent;
                        n += extent;
                        continue;
                    }
                }
                let Ok(Some(dst)) = self.walk_to_pte_table(mm, n, true) else {
                    return;
                };
                let mut moved = false;
                for k in 0..(extent >> 12) {
                    let (oa, na) = (o + (k << 12), n + (k << 12));
                    let e = self.hw.table(src)[Level::Pte.index(oa)];
                    if !pt::none(e) {
                        self.hw.table_mut(src)[Level::Pte.index(oa)] = 0;
                        self.hw.table_mut(dst)[Level::Pte.index(na)] = e;
                        moved = true;
                    }
                }
                if moved {
                    self.hw.flush_tlb_range(mm.id, o, o + extent, 12, false);
                }
            }
            o += extent;
            n += extent;
        }
    }

    /// The PMD table covering `addr`, if any.
    fn pmd_table(&self, mm: &Mm, addr: u64) -> Option<crate::page::Pfn> {
        let e = self.hw.table(mm.pgd)[Level::Pgd.index(addr)];
        if !pt::present(e) {
            return None;
        }
        let e = self.hw.table(pt::pfn_of(e))[Level::Pud.index(addr)];
        pt::present(e).then(|| pt::pfn_of(e))
    }
}
