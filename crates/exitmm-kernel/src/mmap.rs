//! mm/mmap.c and mm/vma.c: `do_mmap`, `mmap_region`, VMA split and merge, `do_munmap` →
//! `unmap_region`, `remove_vma`, and `vm_stat_account`.

/// `stack_guard_gap`: 256 pages kept free below a growing stack.
pub const STACK_GUARD_GAP: u64 = 256 << 12;

use crate::arch::{Hardware, MmId};
use crate::memory::ZapStats;
use crate::mm_types::{FileId, Mm, VmFlags, Vma};
use crate::mmu_gather::MmuGather;
use crate::pgtable::{PAGE_SIZE, TASK_SIZE};
use crate::shmem::FileKind;
use crate::{Errno, Kernel};
use alloc::vec::Vec;

/// Protection bits of `mmap`/`mprotect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prot {
    /// `PROT_READ`.
    pub read: bool,
    /// `PROT_WRITE`.
    pub write: bool,
    /// `PROT_EXEC`.
    pub exec: bool,
}

impl Prot {
    /// `calc_vm_prot_bits`.
    pub fn vm_flags(self) -> VmFlags {
        let mut f = VmFlags::empty();
        f.set(VmFlags::READ, self.read);
        f.set(VmFlags::WRITE, self.write);
        f.set(VmFlags::EXEC, self.exec);
        f
    }
}

/// `mmap` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapFlags {
    /// `MAP_SHARED` (else `MAP_PRIVATE`).
    pub shared: bool,
    /// `MAP_POPULATE`.
    pub populate: bool,
    /// `MAP_LOCKED`.
    pub locked: bool,
    /// `MAP_NORESERVE`.
    pub noreserve: bool,
    /// `MAP_GROWSDOWN`.
    pub growsdown: bool,
    /// `MAP_FIXED` (else `MAP_FIXED_NOREPLACE`).
    pub fixed: bool,
    /// `MAP_HUGETLB` with this page size (anonymous mappings only).
    pub hugetlb: Option<crate::hugetlb::HugeSize>,
    /// The `f_mode` of the descriptor a file is mapped through (read and write by default).
    pub fmode: crate::shmem::FMode,
    /// The flags exactly as passed, when a script gives a raw value: its map type and the
    /// bits the fields above do not name are judged as do_mmap judges them.
    pub raw: Option<u64>,
}

/// The mmap(2) flag bits `do_mmap` looks at beyond the named ones (x86-64 uapi).
pub mod map_bits {
    /// `MAP_TYPE`.
    pub const TYPE: u64 = 0x0f;
    /// `MAP_SHARED`.
    pub const SHARED: u64 = 0x01;
    /// `MAP_PRIVATE`.
    pub const PRIVATE: u64 = 0x02;
    /// `MAP_SHARED_VALIDATE`.
    pub const SHARED_VALIDATE: u64 = 0x03;
    /// `MAP_DROPPABLE`.
    pub const DROPPABLE: u64 = 0x08;
    /// `MAP_FIXED`.
    pub const FIXED: u64 = 0x10;
    /// `MAP_STACK`.
    pub const STACK: u64 = 0x20000;
    /// `MAP_HUGETLB`.
    pub const HUGETLB: u64 = 0x40000;
    /// `MAP_SYNC`.
    pub const SYNC: u64 = 0x80000;
    /// `MAP_FIXED_NOREPLACE`.
    pub const FIXED_NOREPLACE: u64 = 0x100000;
    /// `LEGACY_MAP_MASK` (MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_DENYWRITE,
    /// MAP_EXECUTABLE, MAP_UNINITIALIZED, MAP_GROWSDOWN, MAP_LOCKED, MAP_NORESERVE,
    /// MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB).
    pub const LEGACY_MASK: u64 = 0x0400_0000 | 0x7_f933;
}

/// What a munmap-style removal did, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnmapStats {
    /// The zap walk.
    pub zap: ZapStats,
    /// The gather.
    pub gather: crate::mmu_gather::GatherStats,
    /// VMAs removed.
    pub vmas: u64,
    /// What `unmap_single_vma` did for the first VMA (the one a failed mmap cleans up).
    pub done: Option<crate::memory::VmaUnmap>,
    /// What `remove_vma` did.
    pub removed: RemoveVma,
}

/// What `remove_vma` did beyond freeing the VMA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemoveVma {
    /// Perf ring-buffer pages the VMA's close freed (its last mapping).
    pub perf_pages_freed: u64,
    /// SysV attachments closed (`shm_close`).
    pub shm_closed: u64,
    /// SysV segments the close destroyed (marked `SHM_DEST`, this their last attachment).
    pub shm_destroyed: u64,
    /// PAT reservations `vm_area_free` gave back (6.16+ tracking).
    pub pat_untracked: u64,
}

/// The attributes that decide whether two VMAs can be one (`is_mergeable_vma` and the
/// pgoff rule of `can_vma_merge_before/after`).
fn mergeable(a: &Vma, b_flags: VmFlags, b_file: Option<FileId>) -> bool {
    a.flags == b_flags && a.file == b_file && !a.flags.intersects(VmFlags::SPECIAL) && !a.shm
}

/// `is_mergeable_anon_vma` (6.x): can the range carrying `src_anon` (coming from the VMA
/// `src`, if it is an existing one) merge into `tgt`? A VMA "had uncowed parents" when its
/// anon_vma came from fork (its anon_vma_chain is not singular); such an anon_vma is neither
/// handed to a VMA without one nor given up for one.
pub(crate) fn anon_mergeable(tgt: &Vma, src_anon: Option<u32>, src: Option<&Vma>) -> bool {
    let uncowed = |v: &Vma| v.anon_vma.is_some() && v.anon_chain_forked;
    match (tgt.anon_vma, src_anon) {
        (None, Some(_)) => !src.is_some_and(uncowed),
        (Some(_), None) => !uncowed(tgt),
        (a, b) => a == b,
    }
}

/// `can_vma_merge_right`'s extra test when merging on both sides: prev and next must agree.
pub(crate) fn prev_next_compatible(prev: &Vma, next: &Vma) -> bool {
    prev.anon_vma.is_none() || next.anon_vma.is_none() || prev.anon_vma == next.anon_vma
}

impl<H: Hardware> Kernel<H> {
    /// Where the heap starts, as exec's `setup_new_exec` / `arch_randomize_brk` would place
    /// it (the script's `brk_start`; the kernel runner moves its own heap there with
    /// `prctl(PR_SET_MM)`, which needs `CAP_SYS_RESOURCE`): `start_brk` and `brk` at `addr`.
    pub fn set_brk_start(&mut self, mm: &mut Mm, addr: u64) -> Result<(), Errno> {
        if addr >= TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        mm.start_brk = addr;
        mm.brk = addr;
        Ok(())
    }

    /// `SYSCALL_DEFINE1(brk)` (6.18): move the break to `brk` and return the break in force
    /// after it (the old one when the move is refused). Shrinking always may (the pages and
    /// tables of the range go as with munmap); growing must fit `RLIMIT_DATA`, the address
    /// space (`get_unmapped_area`), the lock limit of a locked heap, leave the stack guard
    /// gap to the next VMA, and pass `do_brk_flags`. A heap locked by `mlockall(MCL_FUTURE)`
    /// is populated.
    pub fn sys_brk(&mut self, mm: &mut Mm, brk: u64) -> u64 {
        let origbrk = mm.brk;
        let page_align = |a: u64| a.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if brk < mm.start_brk {
            return origbrk;
        }
        // check_data_rlimit (end_data = start_data: the model's processes have no data
        // segment): ENOSPC, which brk turns into "no move".
        if mm.limits.data.cur != u64::MAX && brk - mm.start_brk > mm.limits.data.cur {
            return origbrk;
        }
        let (newbrk, oldbrk) = (page_align(brk), page_align(mm.brk));
        if oldbrk == newbrk {
            mm.brk = brk;
            return brk;
        }
        if brk <= mm.brk {
            // Always allow shrinking brk, if a VMA lies in the range.
            if !mm.vmas.values().any(|v| v.end > newbrk && v.start < oldbrk) {
                return origbrk;
            }
            mm.brk = brk;
            if self.do_munmap(mm, newbrk, oldbrk - newbrk).is_err() {
                mm.brk = origbrk;
                return origbrk;
            }
            return brk;
        }
        // check_brk_limits: get_unmapped_area(MAP_FIXED) and mlock_future_ok.
        let len = newbrk - oldbrk;
        if newbrk > TASK_SIZE || !Self::mlock_future_ok(mm, mm.def_flags, len) {
            return origbrk;
        }
        // The next VMA must lie beyond the new break by a page (and its stack guard gap).
        if let Some((_, next)) = mm.vmas.range(oldbrk..).next() {
            let gap_start = if next.flags.contains(VmFlags::GROWSDOWN) {
                next.start.saturating_sub(STACK_GUARD_GAP)
            } else {
                next.start
            };
            if next.start < newbrk + PAGE_SIZE + STACK_GUARD_GAP && newbrk + PAGE_SIZE > gap_start {
                return origbrk;
            }
        }
        // A VMA that overlaps [oldbrk, newbrk) (the loop above sees only those from oldbrk).
        if mm.vma_at(oldbrk).is_some() {
            return origbrk;
        }
        if self.do_brk_flags(mm, oldbrk, len).is_err() {
            return origbrk;
        }
        mm.brk = brk;
        if mm.def_flags.contains(VmFlags::LOCKED) {
            let _ = self.mm_populate(mm, oldbrk, len, true);
        }
        brk
    }

    /// `do_brk_flags` (6.18): the heap grows by `[addr, addr + len)`, a private writable
    /// accounted mapping (`VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | def_flags`): the VMA that
    /// ends at `addr` (at or above `start_brk`) is expanded if it can be, else a new one is
    /// made.
    fn do_brk_flags(&mut self, mm: &mut Mm, addr: u64, len: u64) -> Result<(), Errno> {
        let flags = VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::ACCOUNT
            | mm.def_flags;
        let pages = len >> 12;
        if !Self::may_expand_vm(mm, flags, pages) {
            return Err(Errno::ENOMEM);
        }
        if mm.map_count > self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.vm_enough_memory(pages as i64)?;
        // vma_prev_limit(start_brk): the VMA before addr, not below the heap's start.
        let prev = mm
            .vmas
            .range(mm.start_brk..addr)
            .next_back()
            .map(|(_, v)| v.clone())
            .filter(|p| p.end == addr);
        let expand = prev.as_ref().is_some_and(|p| {
            mergeable(p, flags, None)
                && p.pgoff + p.pages() == addr >> 12
                && anon_mergeable(p, None, None)
        });
        if let Some(p) = prev.filter(|_| expand) {
            mm.vmas.get_mut(&p.start).expect("prev").end = addr + len;
        } else {
            mm.vmas.insert(
                addr,
                Vma {
                    start: addr,
                    end: addr + len,
                    flags,
                    pgoff: addr >> 12,
                    file: None,
                    anon_vma: None,
                    anon_chain_forked: false,
                    hugetlb: None,
                    pfnmap_ctx: None,
                    special: None,
                    swap_readahead_info: 0,
                    shm: false,
                },
            );
            mm.map_count += 1;
        }
        Self::vm_stat_account(mm, flags, pages as i64);
        if flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += pages as i64;
        }
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        Ok(())
    }

    /// `may_expand_vm` (6.18): may `npages` more of a mapping with `flags` be added?
    /// `RLIMIT_AS` bounds `total_vm`; `RLIMIT_DATA` bounds `data_vm` for a data mapping
    /// (private, writable, not a stack), except the Valgrind allowance (a zero soft limit
    /// under the hard one); `ignore_rlimit_data` is off.
    pub fn may_expand_vm(mm: &Mm, flags: VmFlags, npages: u64) -> bool {
        if mm.total_vm as u64 + npages > mm.limits.as_.pages() {
            return false;
        }
        let data =
            flags & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::GROWSDOWN) == VmFlags::WRITE;
        if data && mm.data_vm as u64 + npages > mm.limits.data.pages() {
            return mm.limits.data.cur == 0
                && mm.data_vm as u64 + npages <= mm.limits.data.max >> 12;
        }
        true
    }

    /// `vm_stat_account`: `total_vm` and the exec/stack/data class of `flags`.
    pub fn vm_stat_account(mm: &mut Mm, flags: VmFlags, npages: i64) {
        mm.total_vm += npages;
        if flags & (VmFlags::EXEC | VmFlags::WRITE | VmFlags::GROWSDOWN) == VmFlags::EXEC {
            mm.exec_vm += npages;
        } else if flags.contains(VmFlags::GROWSDOWN) {
            mm.stack_vm += npages;
        } else if flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
            mm.data_vm += npages;
        }
    }

    /// `__split_vma`: split the VMA starting at `vma_start` at `at`; both halves keep every
    /// `expand_stack` → `expand_downwards` (6.18): a user access at `addr` below the growsdown
    /// VMA above it grows that VMA down to the page, if the stack guard gap to the VMA below
    /// stays whole and `acct_stack_growth` allows it (`RLIMIT_STACK`, the lock limit, and a
    /// commit charge, which it takes whether or not the VMA is `VM_ACCOUNT`: one that is not
    /// never gives it back).
    pub fn expand_stack(&mut self, mm: &mut Mm, addr: u64) -> Result<(), Errno> {
        let addr = addr & !(PAGE_SIZE - 1);
        let vma = mm.find_vma(addr).cloned().ok_or(Errno::EFAULT)?;
        if !vma.flags.contains(VmFlags::GROWSDOWN) || addr >= vma.start {
            return Err(Errno::EFAULT);
        }
        if let Some((_, prev)) = mm.vmas.range(..vma.start).next_back() {
            if !prev.flags.contains(VmFlags::GROWSDOWN)
                && prev.flags.intersects(VmFlags::ACCESS)
                && addr - prev.end < STACK_GUARD_GAP
            {
                return Err(Errno::ENOMEM);
            }
        }
        self.anon_vma_prepare(mm, vma.start);
        let grow = (vma.start - addr) >> 12;
        if grow > vma.pgoff {
            return Err(Errno::ENOMEM);
        }
        // acct_stack_growth
        if !Self::may_expand_vm(mm, vma.flags, grow) {
            return Err(Errno::ENOMEM);
        }
        if vma.end - addr > self.config.stack_limit {
            return Err(Errno::ENOMEM);
        }
        if !Self::mlock_future_ok(mm, vma.flags, grow << 12) {
            return Err(Errno::ENOMEM);
        }
        self.vm_enough_memory(grow as i64)?;
        if !vma.flags.contains(VmFlags::ACCOUNT) {
            self.committed_leaked += grow as i64;
        }
        if vma.flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += grow as i64;
        }
        Self::vm_stat_account(mm, vma.flags, grow as i64);
        let mut v = mm.vmas.remove(&vma.start).expect("the VMA");
        v.start = addr;
        v.pgoff -= grow;
        mm.vmas.insert(addr, v);
        Ok(())
    }

    /// attribute; the upper half's pgoff moves on.
    pub fn split_vma(&mut self, mm: &mut Mm, vma_start: u64, at: u64) -> Result<(), Errno> {
        if mm.map_count >= self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        // vm_ops->may_split: perf rings and special mappings refuse.
        if !self.vma_may_split(&mm.vmas[&vma_start]) {
            return Err(Errno::EINVAL);
        }
        // hugetlb_vm_op_split: a hugetlb VMA splits only at its huge page size.
        if let Some(h) = mm.vmas[&vma_start].hugetlb {
            if at & (h.size.bytes() - 1) != 0 {
                return Err(Errno::EINVAL);
            }
            self.hugetlb_split(mm, vma_start, at);
        }
        // __split_vma → vma_adjust_trans_huge: a THP across the new boundary is split first.
        let end = mm.vmas[&vma_start].end;
        self.vma_adjust_trans_huge(mm, vma_start, end, at);
        let v = mm.vmas.get_mut(&vma_start).expect("split: no VMA");
        debug_assert!(v.start < at && at < v.end);
        let mut upper = v.clone();
        v.end = at;
        upper.pgoff += (at - upper.start) >> 12;
        upper.start = at;
        self.vma_link(mm, upper);
        // vma_complete: both halves are "new" to uprobes.
        self.uprobe_mmap(mm, vma_start);
        self.uprobe_mmap(mm, at);
        Ok(())
    }

    /// `vm_ops->may_split`: a perf ring buffer (`perf_mmap_may_split`) and the special
    /// mappings (`special_mapping_split`) can't be split.
    pub(crate) fn vma_may_split(&self, vma: &Vma) -> bool {
        if vma.special.is_some() {
            return false;
        }
        !vma.file.is_some_and(|f| {
            matches!(
                self.files.get(f).driver,
                Some(crate::shmem::Driver::Perf(_))
            )
        })
    }

    /// `vma_link` for a VMA made from another one: it takes its own references to the
    /// anon_vma and the file, and joins the tree.
    pub(crate) fn vma_link(&mut self, mm: &mut Mm, vma: Vma) {
        self.hugetlb_vm_op_open(&vma);
        self.pfnmap_track_ctx_dup(&vma); // vm_area_dup
        self.perf_mmap_open(&vma); // vm_ops->open
        self.anon_vma_get(vma.anon_vma);
        if let Some(f) = vma.file {
            self.get_file(f);
        }
        mm.vmas.insert(vma.start, vma);
        mm.map_count += 1;
    }

    /// Drop a VMA's references when it is merged away (its range is now another VMA's).
    pub(crate) fn vma_merged_away(&mut self, mm: &mut Mm, start: u64) {
        let v = mm.vmas.remove(&start).expect("merge: no VMA");
        mm.map_count -= 1;
        self.anon_vma_put(v.anon_vma);
        if let Some(f) = v.file {
            self.fput(f);
        }
        self.vm_area_free_pat(&v);
    }

    /// `vma_modify_flags` (via `vma_merge_existing_range`, else `split_vma`): give `[start,
    /// end)`, which lies inside the VMA at `vma_start`, the flags `new`. Returns the start of
    /// the VMA that now holds the range.
    pub fn vma_modify_flags(
        &mut self,
        mm: &mut Mm,
        vma_start: u64,
        start: u64,
        end: u64,
        new: VmFlags,
    ) -> Result<u64, Errno> {
        let mid = mm.vmas[&vma_start].clone();
        if mid.flags == new {
            return Ok(vma_start);
        }
        let pgoff = mid.pgoff + ((start - mid.start) >> 12);
        let left_side = start == mid.start;
        let right_side = end == mid.end;
        let prev = mm
            .vmas
            .range(..mid.start)
            .next_back()
            .map(|(_, v)| v.clone());
        let next = mm.vmas.range(mid.end..).next().map(|(_, v)| v.clone());
        let merge_left = left_side
            && prev.as_ref().is_some_and(|p| {
                p.end == start
                    && mergeable(p, new, mid.file)
                    && p.pgoff + p.pages() == pgoff
                    && anon_mergeable(p, mid.anon_vma, Some(&mid))
            });
        let merge_right = right_side
            && next.as_ref().is_some_and(|n| {
                n.start == end
                    && mergeable(n, new, mid.file)
                    && pgoff + ((end - start) >> 12) == n.pgoff
                    && anon_mergeable(n, mid.anon_vma, Some(&mid))
            });
        let merge_both = merge_left
            && merge_right
            && prev_next_compatible(prev.as_ref().unwrap(), next.as_ref().unwrap());
        if merge_left {
            let p = prev.unwrap();
            let new_end = if merge_both {
                next.as_ref().unwrap().end
            } else {
                end
            };
            let av = p.anon_vma.or(mid.anon_vma).or(next
                .as_ref()
                .and_then(|n| n.anon_vma)
                .filter(|_| merge_both));
            if p.anon_vma.is_none() && av.is_some() {
                self.anon_vma_get(av);
            }
            {
                let pv = mm.vmas.get_mut(&p.start).unwrap();
                pv.end = new_end;
                pv.anon_vma = av;
            }
            if right_side {
                self.vma_merged_away(mm, mid.start);
            } else {
                let mut m = mm.vmas.remove(&mid.start).unwrap();
                m.pgoff += (end - m.start) >> 12;
                m.start = end;
                mm.vmas.insert(end, m);
            }
            if merge_both {
                self.vma_merged_away(mm, next.unwrap().start);
            }
            return Ok(p.start);
        }
        if merge_right {
            let n = next.unwrap();
            let av = n.anon_vma.or(mid.anon_vma);
            if n.anon_vma.is_none() && av.is_some() {
                self.anon_vma_get(av);
            }
            let mut nv = mm.vmas.remove(&n.start).unwrap();
            nv.start = start;
            nv.pgoff = pgoff;
            nv.anon_vma = av;
            if left_side {
                self.vma_merged_away(mm, mid.start);
            } else {
                mm.vmas.get_mut(&mid.start).unwrap().end = start;
            }
            mm.vmas.insert(start, nv);
            return Ok(start);
        }
        if !left_side {
            self.split_vma(mm, mid.start, start)?;
        }
        if !right_side {
            self.split_vma(mm, start, end)?;
        }
        mm.vmas.get_mut(&start).unwrap().flags = new;
        Ok(start)
    }

    /// `do_mmap` for a fixed address (`MAP_FIXED` or `MAP_FIXED_NOREPLACE`).
    #[allow(clippy::too_many_arguments)]
    pub fn do_mmap(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<FileId>,
        foff: u64,
    ) -> Result<u64, Errno> {
        if len == 0 || addr & (PAGE_SIZE - 1) != 0 || foff & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        // ksys_mmap_pgoff: MAP_HUGETLB mappings get a hugetlbfs file of their own, and a
        // mapping of a hugetlbfs file is rounded up to whole huge pages.
        // ksys_mmap_pgoff: MAP_HUGETLB names a huge page size the kernel has (EINVAL), and
        // a file that is not hugetlbfs takes no MAP_HUGETLB.
        if let Some(raw) = flags.raw.filter(|r| r & map_bits::HUGETLB != 0) {
            match file {
                Some(f) if self.files.get(f).huge.is_none() => return Err(Errno::EINVAL),
                None if !matches!((raw >> 26) & 0x3f, 0 | 21 | 30) => return Err(Errno::EINVAL),
                _ => {}
            }
        }
        let huge = match (file, flags.hugetlb) {
            (Some(f), _) => self.files.get(f).huge,
            (None, h) => h,
        };
        let len = match huge {
            Some(h) => len.checked_add(h.bytes() - 1).ok_or(Errno::ENOMEM)? & !(h.bytes() - 1),
            None => len,
        };
        let (file, own_file) = match (file, flags.hugetlb) {
            (None, Some(h)) => {
                let f = self.hugetlb_file_setup("anon_hugepage", FileKind::HugetlbAnon, len, h)?;
                (Some(f), Some(f))
            }
            (f, _) => (f, None),
        };
        let r = self.do_mmap_file(mm, addr, len, prot, flags, file, foff, huge);
        // The VMA took its own reference; the one of the setup goes (ksys_mmap_pgoff's fput).
        if let Some(f) = own_file {
            self.fput(f);
        }
        r
    }

    /// `do_mmap` once the file is known (`huge` if it is a hugetlbfs file).
    #[allow(clippy::too_many_arguments)]
    fn do_mmap_file(
        &mut self,
        mm: &mut Mm,
        addr: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<FileId>,
        foff: u64,
        huge: Option<crate::hugetlb::HugeSize>,
    ) -> Result<u64, Errno> {
        let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::ENOMEM)? & !(PAGE_SIZE - 1);
        if addr.checked_add(len).is_none_or(|e| e > TASK_SIZE) {
            return Err(Errno::ENOMEM);
        }
        let pgoff = foff >> 12;
        if pgoff.checked_add(len >> 12).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        if mm.map_count > self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        let mut vm_flags = prot.vm_flags()
            | mm.def_flags
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC;
        if flags.growsdown {
            vm_flags |= VmFlags::GROWSDOWN;
        }
        if flags.locked {
            vm_flags |= VmFlags::LOCKED;
        }
        // hugetlb_get_unmapped_area: a fixed address must be huge page aligned.
        if huge.is_some_and(|h| addr & (h.bytes() - 1) != 0) {
            return Err(Errno::EINVAL);
        }
        if !flags.fixed && mm.find_vma(addr).is_some_and(|v| v.start < addr + len) {
            return Err(Errno::EEXIST);
        }
        // mlock_future_ok: a mapping locked from the start must fit RLIMIT_MEMLOCK.
        if let Some(raw) = flags.raw {
            // calc_vm_flag_bits: MAP_SYNC and MAP_STACK (with THP configured).
            if raw & map_bits::SYNC != 0 {
                vm_flags |= VmFlags::SYNC;
            }
            if raw & map_bits::STACK != 0 {
                vm_flags |= VmFlags::NOHUGEPAGE;
            }
        }
        if flags.locked && !Self::can_do_mlock(mm) {
            return Err(Errno::EPERM);
        }
        if !Self::mlock_future_ok(mm, vm_flags, len) {
            return Err(Errno::EAGAIN);
        }
        // do_mmap's switch on the map type: a file takes MAP_SHARED (its other bits masked to
        // the legacy ones), MAP_SHARED_VALIDATE (which refuses any bit it does not know)
        // or MAP_PRIVATE; anonymous memory MAP_SHARED or MAP_PRIVATE (MAP_DROPPABLE is the
        // caller's to refuse); anything else is EINVAL.
        if let Some(raw) = flags.raw {
            let eff = raw
                | if raw & map_bits::FIXED == 0 {
                    map_bits::FIXED_NOREPLACE
                } else {
                    0
                };
            match (raw & map_bits::TYPE, file.is_some()) {
                (map_bits::SHARED | map_bits::PRIVATE, _) => {}
                (map_bits::SHARED_VALIDATE, true) if eff & !map_bits::LEGACY_MASK != 0 => {
                    return Err(Errno::EOPNOTSUPP)
                }
                (map_bits::SHARED_VALIDATE, true) => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        // do_mmap's file checks: a shared writable mapping needs a descriptor open for
        // writing, any file mapping one open for reading.
        if file.is_some() {
            if flags.shared && prot.write && !flags.fmode.write {
                return Err(Errno::EACCES);
            }
            if !flags.fmode.read {
                return Err(Errno::EACCES);
            }
        }
        // path_noexec (after the address and mlock checks): the anon-inode filesystem of a perf event is SB_I_NOEXEC.
        if file.is_some_and(|f| self.files.get(f).kind == FileKind::PerfEvent) {
            if prot.exec {
                return Err(Errno::EPERM);
            }
            vm_flags -= VmFlags::MAYEXEC;
        }
        // Only private anonymous memory can grow down: a file mapping (shared or private) or
        // shared anonymous memory with MAP_GROWSDOWN is refused.
        if flags.growsdown && (file.is_some() || flags.shared) {
            return Err(Errno::EINVAL);
        }
        if flags.shared {
            vm_flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
            // A shared mapping through a read-only descriptor can never be written: it is
            // not VM_SHARED either (maps still says 's', from VM_MAYSHARE).
            if file.is_some() && !flags.fmode.write {
                vm_flags -= VmFlags::MAYWRITE | VmFlags::SHARED;
            }
        }
        // MAP_NORESERVE is honoured if overcommit is allowed; hugetlb always honours it.
        if flags.noreserve && (self.config.overcommit_memory != 2 || huge.is_some()) {
            vm_flags |= VmFlags::NORESERVE;
        }
        let pgoff = if file.is_none() && !flags.shared {
            addr >> 12
        } else {
            pgoff
        };
        self.mmap_region(mm, file, addr, len, vm_flags, pgoff)?;
        // The requested flags decide (a hugetlb VMA drops VM_LOCKED, yet is populated);
        // mm_populate passes over VM_LOCKONFAULT VMAs.
        if flags.populate || vm_flags.contains(VmFlags::LOCKED) {
            let _ = self.mm_populate(mm, addr, len, true);
        }
        Ok(addr)
    }

    /// `mmap_region`: unmap what was there (MAP_FIXED), charge, set up a shmem object for
    /// shared anonymous memory, merge with neighbours or insert a new VMA, account it.
    pub fn mmap_region(
        &mut self,
        mm: &mut Mm,
        file: Option<FileId>,
        addr: u64,
        len: u64,
        mut vm_flags: VmFlags,
        mut pgoff: u64,
    ) -> Result<u64, Errno> {
        let end = addr + len;
        // __mmap_prepare → vms_gather_munmap_vmas: the VMAs the range cuts are split first;
        // a failure after (the limits below) reattaches them, split.
        if let Some(v) = mm.vma_at(addr).filter(|v| v.start < addr).map(|v| v.start) {
            self.split_vma(mm, v, addr)?;
        }
        if let Some(v) = mm.vma_at(end).filter(|v| v.start < end).map(|v| v.start) {
            self.split_vma(mm, v, end)?;
        }
        // The address-space limits count what the mapping adds beyond what it replaces,
        // before anything is unmapped.
        // After the splits, the VMAs it replaces are the ones starting in the range.
        let (replaced, overlaps) = mm
            .vmas
            .range(addr..end)
            .fold((0u64, false), |(n, _), (_, v)| {
                (n + ((v.end.min(end) - v.start) >> 12), true)
            });
        if !Self::may_expand_vm(mm, vm_flags, (len >> 12) - replaced) {
            return Err(Errno::ENOMEM);
        }
        // Clear the old mappings (MAP_FIXED): they are "removed", the new VMA is not yet there.
        if overlaps {
            self.do_munmap(mm, addr, len)?;
        }
        let huge = file.is_some_and(|f| self.files.get(f).huge.is_some());
        if huge {
            return self.mmap_region_hugetlb(mm, file.expect("file"), addr, len, vm_flags, pgoff);
        }
        if let Some(f) = file.filter(|f| self.files.get(*f).driver.is_some()) {
            return self.mmap_region_driver(mm, f, addr, len, vm_flags, pgoff);
        }
        let mut charged = 0;
        if vm_flags & (VmFlags::NORESERVE | VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE {
            charged = (len >> 12) as i64;
            self.vm_enough_memory(charged)?;
            vm_flags |= VmFlags::ACCOUNT;
        }
        // The VMA holds a file reference: a new one for a given file, or the shmem object's own.
        let mut file = file;
        if let Some(f) = file {
            self.get_file(f);
        } else if vm_flags.contains(VmFlags::SHARED) {
            // shmem_zero_setup: shared anonymous memory is a shmem object of its own.
            match self.shmem_file_setup(
                "dev/zero",
                FileKind::DevZero,
                len,
                vm_flags.contains(VmFlags::NORESERVE),
            ) {
                Ok(f) => file = Some(f),
                Err(e) => {
                    self.vm_unacct_memory(charged);
                    return Err(e);
                }
            }
            pgoff = 0;
        }
        // vma_merge_new_range: left preference.
        let prev = mm
            .vmas
            .range(..addr)
            .next_back()
            .map(|(_, v)| v.clone())
            .filter(|p| p.end == addr);
        let next = mm
            .vmas
            .range(end..)
            .next()
            .map(|(_, v)| v.clone())
            .filter(|n| n.start == end);
        let can_left = prev.as_ref().is_some_and(|p| {
            mergeable(p, vm_flags, file)
                && p.pgoff + p.pages() == pgoff
                && anon_mergeable(p, None, None)
        });
        let can_right = next.as_ref().is_some_and(|n| {
            mergeable(n, vm_flags, file)
                && pgoff + (len >> 12) == n.pgoff
                && anon_mergeable(n, None, None)
        });
        let both = can_left
            && can_right
            && prev_next_compatible(prev.as_ref().unwrap(), next.as_ref().unwrap());
        let start = if can_left {
            let p = prev.unwrap();
            let new_end = if both {
                next.as_ref().unwrap().end
            } else {
                end
            };
            if both {
                let n = next.unwrap();
                let pv = mm.vmas.get_mut(&p.start).unwrap();
                if pv.anon_vma.is_none() {
                    pv.anon_vma = n.anon_vma;
                    self.anon_vma_get(n.anon_vma);
                }
                self.vma_merged_away(mm, n.start);
            }
            mm.vmas.get_mut(&p.start).unwrap().end = new_end;
            if let Some(f) = file {
                self.fput(f);
            }
            p.start
        } else if can_right {
            let mut n = mm.vmas.remove(&end).unwrap();
            n.start = addr;
            n.pgoff = pgoff;
            mm.vmas.insert(addr, n);
            if let Some(f) = file {
                self.fput(f);
            }
            addr
        } else {
            mm.vmas.insert(
                addr,
                Vma {
                    start: addr,
                    end,
                    flags: vm_flags,
                    pgoff,
                    file,
                    anon_vma: None,
                    anon_chain_forked: false,
                    hugetlb: None,
                    pfnmap_ctx: None,
                    special: None,
                    swap_readahead_info: 0,
                    shm: false,
                },
            );
            mm.map_count += 1;
            addr
        };
        Self::vm_stat_account(mm, vm_flags, (len >> 12) as i64);
        if vm_flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += (len >> 12) as i64;
        }
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        // __mmap_complete
        self.uprobe_mmap(mm, start);
        Ok(start)
    }

    /// `mmap_region` for a hugetlbfs file: never charged (`accountable_mapping` is false for
    /// hugetlbfs), never merged (`VM_DONTEXPAND`). If the file's `mmap` refuses the new VMA
    /// (an unaligned offset, or reservations the pool can't give), the seed's error path
    /// runs: the VMA loses its file and its range is unmapped (`unmap_region`), where
    /// `unmap_single_vma` finds a hugetlb VMA without a file and skips it. What that did is
    /// left in [`Kernel::mmap_cleanup`] for the report.
    fn mmap_region_hugetlb(
        &mut self,
        mm: &mut Mm,
        file: FileId,
        addr: u64,
        len: u64,
        vm_flags: VmFlags,
        pgoff: u64,
    ) -> Result<u64, Errno> {
        self.get_file(file);
        let mut vma = Vma {
            start: addr,
            end: addr + len,
            // __mmap_complete: a hugetlb VMA can't be mlocked: no VM_LOCKED, no locked_vm.
            flags: vm_flags - VmFlags::LOCKED_MASK,
            pgoff,
            file: Some(file),
            anon_vma: None,
            anon_chain_forked: false,
            hugetlb: None,
            pfnmap_ctx: None,
            special: None,
            swap_readahead_info: 0,
            shm: false,
        };
        if let Err(e) = self.hugetlbfs_file_mmap(&mut vma) {
            // unmap_and_free_vma: fput, vm_file = NULL, unmap_region; no close.
            vma.file = None;
            self.fput(file);
            let stats = self.unmap_region(mm, core::slice::from_ref(&vma));
            self.mmap_cleanup = stats.done;
            return Err(e);
        }
        let flags = vma.flags;
        mm.vmas.insert(addr, vma);
        mm.map_count += 1;
        Self::vm_stat_account(mm, flags, (len >> 12) as i64);
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        Ok(addr)
    }

    /// `mmap_region` for a file with a driver (a perf event, a device): charged as any file
    /// mapping, never merged (the driver makes it `VM_SPECIAL`), then the driver's `mmap`
    /// (`__mmap_new_file_vma` → `mmap_file`). If the driver refuses, the VMA loses its file
    /// and `unmap_region` undoes whatever it mapped, as for hugetlbfs; what that did is left
    /// in [`Kernel::mmap_cleanup`]. `__mmap_complete`: a `VM_SPECIAL` VMA is never locked.
    fn mmap_region_driver(
        &mut self,
        mm: &mut Mm,
        file: FileId,
        addr: u64,
        len: u64,
        mut vm_flags: VmFlags,
        pgoff: u64,
    ) -> Result<u64, Errno> {
        let mut charged = 0;
        if vm_flags & (VmFlags::NORESERVE | VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE {
            charged = (len >> 12) as i64;
            self.vm_enough_memory(charged)?;
            vm_flags |= VmFlags::ACCOUNT;
        }
        self.get_file(file);
        let mut vma = Vma {
            start: addr,
            end: addr + len,
            flags: vm_flags,
            pgoff,
            file: Some(file),
            anon_vma: None,
            anon_chain_forked: false,
            hugetlb: None,
            pfnmap_ctx: None,
            special: None,
            swap_readahead_info: 0,
            shm: false,
        };
        let r = match self.files.get(file).driver {
            Some(crate::shmem::Driver::Perf(_)) => self.perf_mmap(mm, &mut vma),
            Some(crate::shmem::Driver::Iomap(_)) => self.iomap_mmap(mm, &mut vma),
            None => unreachable!("a driver file"),
        };
        if let Err(e) = r {
            vma.file = None;
            self.fput(file);
            let stats = self.unmap_region(mm, core::slice::from_ref(&vma));
            self.mmap_cleanup = stats.done;
            self.vm_area_free_pat(&vma);
            self.vm_unacct_memory(charged);
            return Err(e);
        }
        if vma.flags.intersects(VmFlags::SPECIAL) {
            vma.flags -= VmFlags::LOCKED_MASK;
        }
        let flags = vma.flags;
        mm.vmas.insert(addr, vma);
        mm.map_count += 1;
        Self::vm_stat_account(mm, flags, (len >> 12) as i64);
        if flags.contains(VmFlags::LOCKED) {
            mm.locked_vm += (len >> 12) as i64;
        }
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        Ok(addr)
    }

    /// `do_munmap` → `do_vmi_munmap`: remove `[start, start+len)`, splitting the VMAs at its
    /// edges. Unmapping nothing is not an error.
    pub fn do_munmap(&mut self, mm: &mut Mm, start: u64, len: u64) -> Result<UnmapStats, Errno> {
        if start & (PAGE_SIZE - 1) != 0 || start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(Errno::EINVAL);
        }
        let len = (len + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start + len;
        let starts = mm.overlapping(start, end);
        if starts.is_empty() {
            return Ok(UnmapStats::default());
        }
        // Splits at both edges (each may need a new VMA: map_count limit).
        let first = starts[0];
        if first < start {
            if mm.map_count >= self.config.max_map_count {
                return Err(Errno::ENOMEM);
            }
            self.split_vma(mm, first, start)?;
        }
        let last = *mm.overlapping(start, end).last().unwrap();
        if mm.vmas[&last].end > end {
            self.split_vma(mm, last, end)?;
        }
        let starts = mm.overlapping(start, end);
        let removed: Vec<Vma> = starts.iter().map(|s| mm.vmas.remove(s).unwrap()).collect();
        Ok(self.remove_vmas(mm, removed))
    }

    /// The common tail of munmap and mremap's source removal (`vms_complete_munmap_vmas`):
    /// accounting, `unmap_region`, then `remove_vma` for each.
    pub fn remove_vmas(&mut self, mm: &mut Mm, removed: Vec<Vma>) -> UnmapStats {
        let mut nr_accounted = 0i64;
        for v in &removed {
            mm.map_count -= 1;
            if v.flags.contains(VmFlags::LOCKED) {
                mm.locked_vm -= v.pages() as i64;
            }
            Self::vm_stat_account(mm, v.flags, -(v.pages() as i64));
            if v.flags.contains(VmFlags::ACCOUNT) {
                nr_accounted += v.pages() as i64;
            }
        }
        let mut stats = self.unmap_region(mm, &removed);
        for v in removed {
            let r = self.remove_vma(mm, v);
            stats.removed.perf_pages_freed += r.perf_pages_freed;
            stats.removed.pat_untracked += r.pat_untracked;
            stats.vmas += 1;
        }
        self.vm_unacct_memory(nr_accounted);
        stats
    }

    /// `unmap_region` (6.18, mm/vma.c): zap the removed VMAs and free the page tables only they used; `prev`
    /// and `next` are the nearest VMAs that remain.
    pub fn unmap_region(&mut self, mm: &mut Mm, removed: &[Vma]) -> UnmapStats {
        let (first, last) = (removed[0].start, removed[removed.len() - 1].end);
        let prev_end = mm.vmas.range(..first).next_back().map(|(_, v)| v.end);
        let next_start = mm.vmas.range(last..).next().map(|(_, v)| v.start);
        self.hw.note_step("unmap_region");
        let mut tlb = MmuGather::new(mm.id as MmId, false, self.config.inject);
        mm.tlb_flush_pending += 1;
        mm.update_hiwater_rss();
        let mut zap = ZapStats::default();
        let done = self.unmap_vmas(&mut tlb, mm, removed, first, last);
        for v in &done {
            zap.add(&v.zap);
        }
        self.free_pgtables(&mut tlb, mm, removed, prev_end.unwrap_or(0), next_start, 0);
        let nested = mm.tlb_flush_pending > 1;
        let gather = self.tlb_finish_mmu(tlb, nested);
        mm.tlb_flush_pending -= 1;
        UnmapStats {
            zap,
            gather,
            vmas: 0,
            done: done.first().copied(),
            removed: RemoveVma::default(),
        }
    }

    /// `remove_vma` (5.10/6.x): the VMA's `close` (`vma_close`), `fput`, then `vm_area_free`
    /// (which, 6.16+, drops its PFN-map tracking). (The anon_vma was unlinked by
    /// `free_pgtables`.)
    pub fn remove_vma(&mut self, mm: &mut Mm, vma: Vma) -> RemoveVma {
        let mut done = RemoveVma::default();
        if vma.hugetlb.is_some() {
            self.hugetlb_vm_op_close(&vma); // vma->vm_ops->close
        }
        if let Some(f) = vma.file {
            if matches!(
                self.files.get(f).driver,
                Some(crate::shmem::Driver::Perf(_))
            ) {
                done.perf_pages_freed += self.perf_mmap_close(mm, &vma).pages_freed;
            }
            self.fput(f);
            if vma.shm {
                done.shm_closed += 1;
                done.shm_destroyed += self.shm_close(f) as u64;
            }
        }
        done.pat_untracked += self.vm_area_free_pat(&vma) as u64;
        done
    }

    /// `__mm_populate` / `populate_vma_page_range`: fault in `[start, start+len)` as GUP
    /// would: write faults for writable private VMAs, read faults otherwise; skips VMAs with
    /// `VM_LOCKONFAULT`, `VM_IO` or `VM_PFNMAP`. With `ignore_errors` (mmap) failures are
    /// skipped; otherwise a PROT_NONE VMA stops it with EFAULT and a hole with ENOMEM.
    pub fn mm_populate(
        &mut self,
        mm: &mut Mm,
        start: u64,
        len: u64,
        ignore_errors: bool,
    ) -> Result<(), Errno> {
        let end = start + len;
        let mut addr = start;
        while addr < end {
            let Some(vma) = mm.find_vma(addr).cloned() else {
                break;
            };
            if vma.start >= end {
                break;
            }
            if vma.start > addr {
                if ignore_errors {
                    addr = vma.start;
                } else {
                    return Err(Errno::ENOMEM);
                }
            }
            let vend = vma.end.min(end);
            if vma
                .flags
                .intersects(VmFlags::LOCKONFAULT | VmFlags::IO | VmFlags::PFNMAP)
            {
                addr = vend;
                continue;
            }
            if !vma.flags.intersects(VmFlags::ACCESS) {
                if ignore_errors {
                    addr = vend;
                    continue;
                }
                return Err(Errno::EFAULT);
            }
            let write = vma.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE;
            let mut a = addr;
            while a < vend {
                let e = self.pte_at(mm, a);
                // follow_page finds nothing for a missing or non-present (swap) entry, nor
                // a writable page where a write is wanted: the GUP faults it in.
                let needs = !crate::pgtable::present(e) || (write && e & crate::pgtable::RW == 0);
                if needs {
                    if let Err(f) = self.fault(mm, a, write, true) {
                        if !ignore_errors {
                            return Err(match f {
                                crate::Fault::Oom => Errno::ENOMEM,
                                _ => Errno::EFAULT,
                            });
                        }
                        break;
                    }
                }
                self.gup_touch(mm, a, write);
                a = match vma.hugetlb {
                    Some(h) => (a | (h.size.bytes() - 1)) + 1,
                    None => a + PAGE_SIZE,
                };
            }
            addr = vend;
            // populate_vma_page_range drains the CPU's folio batches after its GUP.
            self.lru_add_drain();
        }
        Ok(())
    }
}
