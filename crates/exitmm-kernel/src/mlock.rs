//! mm/mlock.c: `mlock`, `mlock2(MLOCK_ONFAULT)`, `munlock`, `mlockall`, `munlockall`.
//!
//! `locked_vm` counts the pages of `VM_LOCKED` VMAs; mlock populates the range afterwards
//! (unless `VM_LOCKONFAULT`), and a failure to populate is reported as the POSIX errors:
//! EFAULT (a PROT_NONE VMA) becomes ENOMEM, ENOMEM becomes EAGAIN.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags};
use crate::page::PageFlags;
use crate::pgtable::{self as pt, PAGE_SIZE, TASK_SIZE};
use crate::{Errno, Kernel};

/// mlock's rounding: the start goes down to its page, the length up to cover the same bytes.
fn page_range(start: u64, len: u64) -> Result<(u64, u64), Errno> {
    let len = len
        .checked_add(start & (PAGE_SIZE - 1))
        .and_then(|l| l.checked_add(PAGE_SIZE - 1))
        .ok_or(Errno::EINVAL)?;
    Ok((start & !(PAGE_SIZE - 1), len & !(PAGE_SIZE - 1)))
}

impl<H: Hardware> Kernel<H> {
    /// `mlock_fixup`: set the lock flags of `[start, end)` and account `locked_vm`.
    fn mlock_fixup(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        start: u64,
        end: u64,
        newflags: VmFlags,
    ) -> Result<(), Errno> {
        let old = mm.vmas[&vma_start].flags;
        if newflags == old || old.intersects(VmFlags::SPECIAL | VmFlags::HUGETLB) {
            return Ok(());
        }
        self.vma_modify_flags(mm, vma_start, start, end, newflags)?;
        let nr = ((end - start) >> 12) as i64;
        if !newflags.contains(VmFlags::LOCKED) {
            mm.locked_vm -= nr;
        } else if !old.contains(VmFlags::LOCKED) {
            mm.locked_vm += nr;
        }
        // mlock_vma_pages_range / munlock: present pages follow the VMA's lock state (the
        // CPU's folio batches are drained before and after the walk).
        let locked = newflags.contains(VmFlags::LOCKED);
        if !(locked && old.contains(VmFlags::LOCKED)) {
            self.lru_add_drain();
        }
        let mut a = start;
        while a < end {
            match self.leaf_at(mm, a) {
                // mlock_pte_range's PMD case: a THP is (un)locked whole; the huge zero page
                // never is.
                Some((e, pt::Level::Pmd)) => {
                    let head = pt::pfn_of(e);
                    if !self.mem.page(head).flags.contains(PageFlags::RESERVED) {
                        for f in head..head + 512 {
                            self.mem.page_mut(f).flags.set(PageFlags::MLOCKED, locked);
                        }
                    }
                    a = (a | (pt::PMD_SIZE - 1)) + 1;
                    continue;
                }
                Some((e, pt::Level::Pte)) if pt::present(e) && e & pt::SPECIAL == 0 => {
                    self.mem
                        .page_mut(pt::pfn_of(e))
                        .flags
                        .set(PageFlags::MLOCKED, locked);
                }
                _ => {}
            }
            a += PAGE_SIZE;
        }
        Ok(())
    }

    /// `apply_vma_lock_flags`: every VMA of `[start, end)` gets `flags` as its lock state; a
    /// hole ends it with ENOMEM (the VMAs before it stay changed).
    fn apply_vma_lock_flags(
        &mut self,
        mm: &mut Mm,
        start: u64,
        end: u64,
        flags: VmFlags,
    ) -> Result<(), Errno> {
        if end < start {
            return Err(Errno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        let first = mm.vma_at(start).cloned().ok_or(Errno::ENOMEM)?;
        let mut tmp = first.start;
        let mut nstart = start;
        let mut cur = Some(first);
        while let Some(vma) = cur {
            if vma.start >= end {
                break;
            }
            if vma.start != tmp {
                return Err(Errno::ENOMEM);
            }
            let newflags = (vma.flags - VmFlags::LOCKED_MASK) | flags;
            tmp = vma.end.min(end);
            self.mlock_fixup(mm, vma.start, nstart, tmp, newflags)?;
            // vma_iter_end: continue after the VMA that now holds the range (it may have merged).
            tmp = mm.vma_at(tmp - 1).map(|v| v.end).unwrap_or(tmp);
            nstart = tmp;
            cur = mm.find_vma(tmp).cloned();
        }
        if tmp < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `mlock_future_ok` (6.18): may `bytes` more of a mapping with `flags` be locked? Always
    /// for an unlocked mapping or with `CAP_IPC_LOCK`; else within `RLIMIT_MEMLOCK`.
    pub fn mlock_future_ok(mm: &Mm, flags: VmFlags, bytes: u64) -> bool {
        if !flags.contains(VmFlags::LOCKED) || mm.limits.cap_ipc_lock {
            return true;
        }
        (bytes >> 12).saturating_add(mm.locked_vm as u64) <= mm.limits.memlock.pages()
    }

    /// `can_do_mlock`: a non-zero `RLIMIT_MEMLOCK`, or `CAP_IPC_LOCK`.
    pub fn can_do_mlock(mm: &Mm) -> bool {
        mm.limits.memlock.cur != 0 || mm.limits.cap_ipc_lock
    }

    /// `count_mm_mlocked_page_nr`: pages of `[start, start + len)` in `VM_LOCKED` VMAs.
    fn count_mm_mlocked_page_nr(mm: &Mm, start: u64, len: u64) -> u64 {
        let end = start.saturating_add(len);
        mm.vmas
            .values()
            .filter(|v| v.end > start && v.start < end && v.flags.contains(VmFlags::LOCKED))
            .map(|v| (v.end.min(end) - v.start.max(start)) >> 12)
            .sum()
    }

    /// `do_mlock` (`mlock`, `mlock2`): lock, then populate.
    pub fn do_mlock(
        &mut self,
        mm: &mut Mm,
        start: u64,
        len: u64,
        onfault: bool,
    ) -> Result<(), Errno> {
        if !Self::can_do_mlock(mm) {
            return Err(Errno::EPERM);
        }
        let (start, len) = page_range(start, len)?;
        if !mm.limits.cap_ipc_lock {
            let lock_limit = mm.limits.memlock.pages();
            let mut locked = (len >> 12) + mm.locked_vm as u64;
            if locked > lock_limit {
                // Pages already locked in the range are not counted twice.
                locked -= Self::count_mm_mlocked_page_nr(mm, start, len);
            }
            if locked > lock_limit {
                return Err(Errno::ENOMEM);
            }
        }
        let flags = if onfault {
            VmFlags::LOCKED | VmFlags::LOCKONFAULT
        } else {
            VmFlags::LOCKED
        };
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        self.apply_vma_lock_flags(mm, start, end, flags)?;
        self.mm_populate(mm, start, len, false)
            .map_err(|e| match e {
                Errno::EFAULT => Errno::ENOMEM,
                Errno::ENOMEM => Errno::EAGAIN,
                e => e,
            })
    }

    /// `munlock`.
    pub fn do_munlock(&mut self, mm: &mut Mm, start: u64, len: u64) -> Result<(), Errno> {
        let (start, len) = page_range(start, len)?;
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        self.apply_vma_lock_flags(mm, start, end, VmFlags::empty())
    }

    /// `apply_mlockall_flags`: `def_flags` for future mappings, then every VMA.
    fn apply_mlockall_flags(&mut self, mm: &mut Mm, current: bool, future: bool, onfault: bool) {
        mm.def_flags -= VmFlags::LOCKED_MASK;
        if future {
            mm.def_flags |= VmFlags::LOCKED;
            if onfault {
                mm.def_flags |= VmFlags::LOCKONFAULT;
            }
            if !current {
                return;
            }
        }
        let mut to_add = VmFlags::empty();
        if current {
            to_add |= VmFlags::LOCKED;
            if onfault {
                to_add |= VmFlags::LOCKONFAULT;
            }
        }
        let starts: alloc::vec::Vec<u64> = mm.vmas.keys().copied().collect();
        let mut addr = 0;
        for s in starts {
            // A merge may have absorbed this VMA into the previous one.
            let Some(v) = mm.vma_at(s.max(addr)).cloned() else {
                continue;
            };
            let newflags = (v.flags - VmFlags::LOCKED_MASK) | to_add;
            let _ = self.mlock_fixup(mm, v.start, v.start, v.end, newflags);
            addr = v.end;
        }
    }

    /// `mlockall`.
    pub fn do_mlockall(
        &mut self,
        mm: &mut Mm,
        current: bool,
        future: bool,
        onfault: bool,
    ) -> Result<(), Errno> {
        if !(current || future) {
            return Err(Errno::EINVAL);
        }
        if !Self::can_do_mlock(mm) {
            return Err(Errno::EPERM);
        }
        if current && !mm.limits.cap_ipc_lock && mm.total_vm as u64 > mm.limits.memlock.pages() {
            return Err(Errno::ENOMEM);
        }
        self.apply_mlockall_flags(mm, current, future, onfault);
        if current {
            let _ = self.mm_populate(mm, 0, TASK_SIZE, true);
        }
        Ok(())
    }

    /// `SYSCALL_DEFINE3(mlock2)`: only `MLOCK_ONFAULT` is a flag (`EINVAL` otherwise).
    pub fn sys_mlock2(
        &mut self,
        mm: &mut Mm,
        start: u64,
        len: u64,
        flags: u64,
    ) -> Result<(), Errno> {
        if flags & !1 != 0 {
            return Err(Errno::EINVAL);
        }
        self.do_mlock(mm, start, len, flags & 1 != 0)
    }

    /// `SYSCALL_DEFINE1(mlockall)` with a raw value: some of `MCL_CURRENT`, `MCL_FUTURE`,
    /// `MCL_ONFAULT`, and not `MCL_ONFAULT` alone (`EINVAL`).
    pub fn sys_mlockall(&mut self, mm: &mut Mm, flags: u64) -> Result<(), Errno> {
        if flags == 0 || flags & !7 != 0 || flags == 4 {
            return Err(Errno::EINVAL);
        }
        self.do_mlockall(mm, flags & 1 != 0, flags & 2 != 0, flags & 4 != 0)
    }

    /// `munlockall`.
    pub fn do_munlockall(&mut self, mm: &mut Mm) -> Result<(), Errno> {
        self.apply_mlockall_flags(mm, false, false, false);
        Ok(())
    }
}
