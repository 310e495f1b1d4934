//! mm/mprotect.c: `do_mprotect_pkey` → `mprotect_fixup` → `change_protection`.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags};
use crate::mmap::Prot;
use crate::pgtable::{self as pt, PAGE_SIZE, TASK_SIZE};
use crate::{Errno, Kernel};

impl<H: Hardware> Kernel<H> {
    /// `do_mprotect_pkey`: change the protection of `[start, start+len)`, VMA by VMA. A hole
    /// stops it with ENOMEM after the VMAs before the hole were changed.
    pub fn do_mprotect(
        &mut self,
        mm: &mut Mm,
        start: u64,
        len: u64,
        prot: Prot,
    ) -> Result<(), Errno> {
        if start & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::ENOMEM)? & !(PAGE_SIZE - 1);
        let end = start
            .checked_add(len)
            .filter(|&e| e <= TASK_SIZE)
            .ok_or(Errno::ENOMEM)?;
        let first = mm.find_vma(start).cloned().ok_or(Errno::ENOMEM)?;
        if first.start > start {
            return Err(Errno::ENOMEM);
        }
        let mut tmp = start;
        let mut cur = Some(first);
        while let Some(vma) = cur {
            if vma.start >= end {
                break;
            }
            if vma.start > tmp {
                return Err(Errno::ENOMEM);
            }
            let newflags = (vma.flags - VmFlags::ACCESS) | prot.vm_flags();
            // The new rights must be within the VM_MAY* rights.
            let may = VmFlags::from_bits_truncate(newflags.bits() >> 4);
            if !(newflags & VmFlags::ACCESS).difference(may).is_empty() {
                return Err(Errno::EACCES);
            }
            let vend = vma.end.min(end);
            self.mprotect_fixup(mm, vma.start, tmp, vend, newflags)?;
            // vma_iter_end: continue after the VMA that now holds the range (it may have merged).
            tmp = mm.vma_at(vend - 1).map(|v| v.end).unwrap_or(vend);
            cur = mm.find_vma(tmp).cloned();
        }
        if tmp < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `mprotect_fixup`: charge a range that becomes private writable data, drop the charge of
    /// an anonymous one that becomes read-only before it ever had pages, then set the flags
    /// (merging or splitting) and update the PTEs.
    pub fn mprotect_fixup(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        start: u64,
        end: u64,
        mut newflags: VmFlags,
    ) -> Result<(), Errno> {
        let vma = mm.vmas[&vma_start].clone();
        let old = vma.flags;
        if newflags == old {
            return Ok(());
        }
        let nrpages = ((end - start) >> 12) as i64;
        let mut charged = 0;
        if newflags.contains(VmFlags::WRITE) {
            // Check space limits when the area turns into data.
            if !Self::may_expand_vm(mm, newflags, nrpages as u64)
                && Self::may_expand_vm(mm, old, nrpages as u64)
            {
                return Err(Errno::ENOMEM);
            }
            if !old.intersects(
                VmFlags::ACCOUNT
                    | VmFlags::WRITE
                    | VmFlags::HUGETLB
                    | VmFlags::SHARED
                    | VmFlags::NORESERVE,
            ) {
                charged = nrpages;
                self.vm_enough_memory(charged)?;
                newflags |= VmFlags::ACCOUNT;
            }
        } else if old.contains(VmFlags::ACCOUNT) && vma.is_anonymous() && vma.anon_vma.is_none() {
            newflags -= VmFlags::ACCOUNT;
        }
        let at = match self.vma_modify_flags(mm, vma_start, start, end, newflags) {
            Ok(a) => a,
            Err(e) => {
                self.vm_unacct_memory(charged);
                return Err(e);
            }
        };
        let _ = at;
        if old.contains(VmFlags::ACCOUNT) && !newflags.contains(VmFlags::ACCOUNT) {
            self.vm_unacct_memory(nrpages);
        }
        Self::vm_stat_account(mm, old, -nrpages);
        Self::vm_stat_account(mm, newflags, nrpages);
        if old.contains(VmFlags::HUGETLB) {
            let vma = mm
                .vma_at(start)
                .cloned()
                .expect("the VMA holding the range");
            self.hugetlb_change_protection(mm, &vma, start, end, newflags);
        } else {
            self.change_protection(mm, start, end, newflags);
        }
        // A private locked VMA that becomes writable is COWed now, not on first write.
        if old & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::LOCKED) == VmFlags::LOCKED
            && newflags.contains(VmFlags::WRITE)
        {
            let _ = self.mm_populate(mm, start, end - start, true);
        }
        Ok(())
    }

    /// `change_protection`: a range that loses write permission loses it in every PTE (the
    /// TLB is flushed). Gaining write permission changes no PTE here: the next write fault
    /// reuses an exclusive anonymous page or makes a shared one writable, as the kernel's
    /// `can_change_pte_writable` would have.
    fn change_protection(&mut self, mm: &mut Mm, start: u64, end: u64, newflags: VmFlags) {
        if newflags.contains(VmFlags::WRITE) {
            return;
        }
        let mut changed = false;
        let mut a = start;
        while a < end {
            let next = pt::addr_end(a, end, pt::PMD_SHIFT);
            if let Some(e) = self.pmd_leaf_at(mm, a) {
                // change_pmd_range: part of a THP is split; a whole one is change_huge_pmd.
                if next - a == pt::PMD_SIZE {
                    if e & pt::RW != 0 {
                        let pmd = self.pmd_table_of(mm, a).expect("a leaf has a table");
                        self.hw.table_mut(pmd)[pt::Level::Pmd.index(a)] &= !pt::RW;
                        changed = true;
                    }
                    a = next;
                    continue;
                }
                self.split_huge_pmd_address(mm, a);
            }
            if let Some(t) = self.pte_table(mm, a) {
                let first = pt::Level::Pte.index(a);
                let n = ((next - a) >> 12) as usize;
                for e in &mut self.hw.table_mut(t)[first..first + n] {
                    if pt::present(*e) && *e & pt::RW != 0 {
                        *e &= !pt::RW;
                        changed = true;
                    }
                }
            }
            a = next;
        }
        if changed {
            self.hw.flush_tlb_range(mm.id, start, end, 12, false);
        }
    }
}
