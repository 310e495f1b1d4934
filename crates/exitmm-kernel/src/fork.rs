//! kernel/fork.c: `dup_mm` → `dup_mmap`, and the mm reference counts (`mmget`, `mmput`,
//! `mmgrab`, `mmdrop`).

use crate::arch::{Hardware, MmId};
use crate::mm_types::{Mm, VmFlags};
use crate::{Errno, Kernel};

impl<H: Hardware> Kernel<H> {
    /// `dup_mm`: a copy of `parent`'s address space for a child (fork).
    ///
    /// `VM_DONTCOPY` VMAs are left out; `VM_WIPEONFORK` ones are copied empty; `VM_LOCKED` is
    /// cleared; `VM_ACCOUNT` VMAs are charged again for the child; page tables are copied only
    /// for VMAs that need it (`vma_needs_copy`: those with an anon_vma, or PFN maps).
    pub fn dup_mm(&mut self, parent: MmId) -> Result<MmId, Errno> {
        let child = self.mm_alloc()?;
        let r = self.with_mm(parent, |k, old| {
            let mut mm = k.mms[child as usize].take().expect("new mm");
            let r = k.dup_mmap(&mut mm, old);
            k.mms[child as usize] = Some(mm);
            r
        });
        match r {
            Ok(()) => Ok(child),
            Err(e) => {
                // dup_mmap failed part way: the partial child is torn down like any mm.
                self.mmput(child);
                Err(e)
            }
        }
    }

    /// `dup_mmap`.
    fn dup_mmap(&mut self, mm: &mut Mm, old: &mut Mm) -> Result<(), Errno> {
        old.update_hiwater_rss();
        mm.total_vm = old.total_vm;
        mm.data_vm = old.data_vm;
        mm.exec_vm = old.exec_vm;
        mm.stack_vm = old.stack_vm;
        mm.def_flags = old.def_flags & VmFlags::NOHUGEPAGE;
        // dup_mm's memcpy of the mm: the heap; copy_signal / copy_creds: limits and caps.
        mm.start_brk = old.start_brk;
        mm.brk = old.brk;
        mm.limits = old.limits;
        // mm_init: the MMF_INIT_MASK bits (THP disabled or not) come from the parent.
        mm.flags |= old.flags & crate::mm_types::MmFlags::DISABLE_THP;
        let vmas: alloc::vec::Vec<_> = old.vmas.values().cloned().collect();
        for vma in vmas {
            if vma.flags.contains(VmFlags::DONTCOPY) {
                Self::vm_stat_account(mm, vma.flags, -(vma.pages() as i64));
                continue;
            }
            if vma.flags.contains(VmFlags::ACCOUNT) {
                self.vm_enough_memory(vma.pages() as i64)?;
            }
            let mut tmp = vma.clone();
            tmp.flags -= VmFlags::LOCKED_MASK;
            // hugetlb_dup_vma_private: the child owns no reservations; a shared VMA gets a
            // vma_lock of its own.
            if let Some(h) = tmp.hugetlb.as_mut() {
                h.resv = None;
                h.unmapped = false;
                h.lock = tmp.flags.contains(VmFlags::MAYSHARE);
            }
            if vma.flags.contains(VmFlags::WIPEONFORK) {
                tmp.anon_vma = None;
                tmp.anon_chain_forked = false;
            } else if vma.anon_vma.is_some() {
                // anon_vma_fork: the child's VMA gets its own anon_vma, chained to the parent's.
                tmp.anon_vma = Some(self.anon_vma_alloc());
                tmp.anon_chain_forked = true;
            }
            if let Some(f) = tmp.file {
                self.get_file(f);
            }
            // vm_area_dup: 6.16+ shares the PFN-map tracking; 5.10 reserves again below.
            self.pfnmap_track_ctx_dup(&tmp);
            mm.vmas.insert(tmp.start, tmp.clone());
            mm.map_count += 1;
            let needs_copy =
                vma.anon_vma.is_some() || vma.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP);
            if !vma.flags.contains(VmFlags::WIPEONFORK) && needs_copy {
                if vma.flags.contains(VmFlags::PFNMAP) {
                    // 5.10's copy_page_range → track_pfn_copy: a strict reservation of its own.
                    if let Err(e) = self.track_pfn_copy(old, &vma) {
                        mm.vmas.get_mut(&tmp.start).unwrap().flags -= VmFlags::PAT;
                        return Err(e);
                    }
                }
                self.copy_page_range(mm, old, &tmp)?;
            }
        }
        Self::uprobe_dup_mmap(old, mm);
        mm.hiwater_vm = mm.total_vm;
        Ok(())
    }

    /// `mmget_not_zero`: a new user, unless the address space is already being torn down.
    pub fn mmget_not_zero(&mut self, id: MmId) -> bool {
        let mm = self.mm_mut(id);
        if mm.users == 0 {
            return false;
        }
        mm.users += 1;
        true
    }
}
