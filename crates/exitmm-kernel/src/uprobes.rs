//! Uprobes (kernel/events/uprobes.c, arch/x86/kernel/uprobes.c; 6.18): breakpoints at an
//! (inode, offset), written into every private executable-capable mapping of it.
//!
//! A breakpoint is a byte write into the mapped page, and a file page is shared, so
//! `uprobe_write` takes a private copy first: a forced write fault (`FOLL_FORCE|FOLL_WRITE`)
//! breaks COW, the VMA gains an anon_vma and the page moves from `RssFile` to `RssAnon`; the
//! `int3` (0xcc) goes into that anonymous copy. Removing the probe writes the original byte
//! back into the copy and drops the copy only if it is again identical to the file page and
//! nothing else holds a reference to it (a page still in the CPU's LRU-add batch is held, so the
//! copy usually stays). The first hit that must single-step its instruction (an x86 `ret` is
//! not emulated) gets the mm its XOL area: a one-page `[uprobes]` special mapping whose page
//! the kernel allocates at once and the task faults in when it executes the copied
//! instruction there. `__mmput` frees the area (`uprobe_clear_state`) before `exit_mmap`.
//!
//! Page bytes are modelled by content tags ([`crate::page::Page::content`]); a page holding
//! breakpoints has a tag of its own, mapped in [`Kernel::uprobe_contents`] to the tag of the
//! same bytes without them. COW copies keep the tag, so a copy keeps its breakpoints.

use crate::arch::Hardware;
use crate::mm_types::{FileId, Mm, MmFlags, VmFlags, Vma, MM_ANONPAGES};
use crate::page::{PageFlags, Pfn};
use crate::pgtable::{self as pt, PAGE_SIZE};
use crate::{Errno, Fault, Kernel};
use alloc::collections::BTreeSet;

/// What the breakpoints did to a page's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakpointPage {
    /// The content tag of the same page without its breakpoints.
    pub base: u32,
    /// Offsets in the page that hold `int3`.
    pub offsets: BTreeSet<u16>,
}

/// An mm's XOL area (`struct xol_area`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XolArea {
    /// Where its `[uprobes]` VMA was placed.
    pub vaddr: u64,
    /// Its page (`area->page`), held by the area until `uprobe_clear_state`.
    pub page: Pfn,
}

/// What a `call` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallOutcome {
    /// A uprobe was hit.
    pub hit: bool,
    /// This hit created the XOL area.
    pub xol_created: bool,
}

/// `UINSNS_PER_PAGE`-sized slots; the model uses slot 1 (slot 0 is the uretprobe trampoline).
const XOL_SLOT: u64 = 128;

impl<H: Hardware> Kernel<H> {
    /// `valid_vma`: a private, non-hugetlb file mapping that may execute (`VM_MAYEXEC`); when
    /// registering, not writable either.
    pub fn uprobe_valid_vma(vma: &Vma, is_register: bool) -> bool {
        let mut mask = VmFlags::HUGETLB | VmFlags::MAYEXEC | VmFlags::MAYSHARE;
        if is_register {
            mask |= VmFlags::WRITE;
        }
        vma.file.is_some() && vma.flags & mask == VmFlags::MAYEXEC
    }

    /// The address `offset` of the VMA's file has in the VMA, if the VMA maps it.
    fn offset_to_vaddr(vma: &Vma, offset: u64) -> Option<u64> {
        let start = vma.pgoff << 12;
        let end = start + (vma.end - vma.start);
        (start..end)
            .contains(&offset)
            .then(|| vma.start + (offset - start))
    }

    /// `uprobe_register` (6.18): one more consumer of the probe at `(file, offset)`; every VMA
    /// of every mm that maps the offset and passes `valid_vma` gets the breakpoint
    /// (`register_for_each_vma` → `install_breakpoint`). `current` is the calling mm, lent
    /// out while it runs. The probe holds the file (as a tracefs event holds its path) until
    /// it is unregistered.
    pub fn uprobe_register(
        &mut self,
        current: &mut Mm,
        file: FileId,
        offset: u64,
    ) -> Result<(), Errno> {
        let f = self.files.get(file);
        if f.driver.is_some() || f.huge.is_some() {
            return Err(Errno::EINVAL);
        }
        if offset > f.size {
            return Err(Errno::EINVAL);
        }
        *self.uprobes.entry((file, offset)).or_insert(0) += 1;
        self.get_file(file);
        let r = self.register_for_each_vma(current, file, offset, true);
        if r.is_err() {
            self.uprobe_put(file, offset);
            self.fput(file);
        }
        r
    }

    /// `uprobe_unregister`: one consumer fewer; with none left, every mm that may have the
    /// breakpoint gets its original instruction back (`remove_breakpoint`). `ENOENT` if no
    /// such probe is registered.
    pub fn uprobe_unregister(
        &mut self,
        current: &mut Mm,
        file: FileId,
        offset: u64,
    ) -> Result<(), Errno> {
        if !self.uprobes.contains_key(&(file, offset)) {
            return Err(Errno::ENOENT);
        }
        let r = if self.uprobe_put(file, offset) {
            Ok(())
        } else {
            self.register_for_each_vma(current, file, offset, false)
        };
        self.fput(file);
        r
    }

    /// Drops a consumer; true if others remain.
    fn uprobe_put(&mut self, file: FileId, offset: u64) -> bool {
        let n = self.uprobes.get_mut(&(file, offset)).expect("probe");
        *n -= 1;
        if *n == 0 {
            self.uprobes.remove(&(file, offset));
            false
        } else {
            true
        }
    }

    /// `register_for_each_vma`: `build_map_info` collects the VMAs of the file's `i_mmap`
    /// that map the offset (in the tree's order: by file offset, a fork child's VMA right
    /// after its parent's), pushing each at the head of its list, so they are visited in the
    /// reverse order; each that passes `valid_vma` gets the breakpoint installed (or removed,
    /// if its mm may have one). `current` is the calling mm, lent out while this runs.
    fn register_for_each_vma(
        &mut self,
        current: &mut Mm,
        file: FileId,
        offset: u64,
        register: bool,
    ) -> Result<(), Errno> {
        let cur = current.id;
        let mut info: alloc::vec::Vec<(u64, u32, u64)> = alloc::vec::Vec::new();
        let mut collect = |mm: &Mm| {
            for v in mm.vmas.values().filter(|v| v.file == Some(file)) {
                if let Some(vaddr) = Self::offset_to_vaddr(v, offset) {
                    info.push((v.pgoff, mm.id, vaddr));
                }
            }
        };
        collect(current);
        for mm in self.mms.iter().flatten().filter(|m| m.users > 0) {
            collect(mm);
        }
        info.sort_unstable();
        for (_, id, vaddr) in info.into_iter().rev() {
            let one = |k: &mut Self, mm: &mut Mm| -> Result<(), Errno> {
                // The VMA may have changed meanwhile (a COW of another mm does not): check again.
                let Some(v) = mm.vma_at(vaddr) else {
                    return Ok(());
                };
                if v.file != Some(file) || !Self::uprobe_valid_vma(v, register) {
                    return Ok(());
                }
                if register {
                    k.install_breakpoint(mm, vaddr)
                } else {
                    if mm.flags.contains(MmFlags::HAS_UPROBES) {
                        k.remove_breakpoint(mm, vaddr);
                    }
                    Ok(())
                }
            };
            if id == cur {
                one(self, current)?;
            } else {
                self.with_mm(id, |k, mm| one(k, mm))?;
            }
        }
        Ok(())
    }

    /// `install_breakpoint`: `MMF_HAS_UPROBES` first, then `set_swbp` → `uprobe_write_opcode`
    /// of `int3`; on success `MMF_RECALC_UPROBES` is cleared.
    fn install_breakpoint(&mut self, mm: &mut Mm, vaddr: u64) -> Result<(), Errno> {
        let first = !mm.flags.contains(MmFlags::HAS_UPROBES);
        mm.flags.insert(MmFlags::HAS_UPROBES);
        match self.uprobe_write_opcode(mm, vaddr, true) {
            Ok(()) => {
                mm.flags.remove(MmFlags::RECALC_UPROBES);
                Ok(())
            }
            Err(e) => {
                if first {
                    mm.flags.remove(MmFlags::HAS_UPROBES);
                }
                Err(e)
            }
        }
    }

    /// `remove_breakpoint`: `MMF_RECALC_UPROBES`, then `set_orig_insn`.
    fn remove_breakpoint(&mut self, mm: &mut Mm, vaddr: u64) {
        mm.flags.insert(MmFlags::RECALC_UPROBES);
        let _ = self.uprobe_write_opcode(mm, vaddr, false);
    }

    /// `uprobe_write_opcode` → `uprobe_write` (6.18): GUP the page (registering: a forced
    /// write fault, which leaves an exclusive anonymous copy; removing: a read, which may fault
    /// the file page in), then write the byte into the anonymous page in place. Removing drops
    /// the copy when nothing else references it and it equals the file page again.
    fn uprobe_write_opcode(
        &mut self,
        mm: &mut Mm,
        vaddr: u64,
        register: bool,
    ) -> Result<(), Errno> {
        let page_addr = vaddr & !(PAGE_SIZE - 1);
        // get_user_pages_remote(FOLL_FORCE [| FOLL_WRITE]): fault the page in as needed.
        let e = self.pte_at(mm, page_addr);
        let needs_fault =
            !pt::present(e) || (register && e & pt::SPECIAL == 0 && !self.anon_exclusive(e));
        if needs_fault {
            self.fault(mm, page_addr, register, true)
                .map_err(|f| match f {
                    Fault::Oom => Errno::ENOMEM,
                    _ => Errno::EFAULT,
                })?;
        }
        let e = self.pte_at(mm, page_addr);
        if !pt::present(e) || e & pt::SPECIAL != 0 {
            return Ok(());
        }
        let pfn = pt::pfn_of(e);
        // get_user_pages_remote adds FOLL_TOUCH: follow_page_pte marks the folio accessed.
        self.folio_mark_accessed(pfn);
        if !self.mem.page(pfn).flags.contains(PageFlags::ANON) {
            // verify_opcode finds no breakpoint in a file page; nothing to do.
            return Ok(());
        }
        // verify_opcode: the byte is already what is wanted: nothing to do.
        if !self.uprobe_verify(pfn, vaddr, register) {
            return Ok(());
        }
        if !register && !self.anon_exclusive(e) {
            // Not exclusive (shared with a fork child): -EFAULT, and the retry with FOLL_WRITE
            // breaks COW (or reuses the page, if it is the last mapping), then marks accessed.
            self.fault(mm, page_addr, true, true)
                .map_err(|_| Errno::EFAULT)?;
            return self.uprobe_write_opcode_exclusive(mm, vaddr, register);
        }
        self.uprobe_write_in_place(mm, vaddr, register)
    }

    /// The retry of `uprobe_write` after a write fault made the page exclusive.
    fn uprobe_write_opcode_exclusive(
        &mut self,
        mm: &mut Mm,
        vaddr: u64,
        register: bool,
    ) -> Result<(), Errno> {
        let e = self.pte_at(mm, vaddr & !(PAGE_SIZE - 1));
        if !pt::present(e) || e & pt::SPECIAL != 0 {
            return Ok(());
        }
        self.folio_mark_accessed(pt::pfn_of(e));
        self.uprobe_write_in_place(mm, vaddr, register)
    }

    /// `__uprobe_write` on an exclusive anonymous page: the byte goes in; removing may zap.
    fn uprobe_write_in_place(
        &mut self,
        mm: &mut Mm,
        vaddr: u64,
        register: bool,
    ) -> Result<(), Errno> {
        let page_addr = vaddr & !(PAGE_SIZE - 1);
        let in_page = (vaddr & (PAGE_SIZE - 1)) as u16;
        let pfn = pt::pfn_of(self.pte_at(mm, page_addr));
        let content = self.mem.page(pfn).content;
        let (base, mut offsets) = match self.uprobe_contents.get(&content) {
            Some(b) => (b.base, b.offsets.clone()),
            None => (content, BTreeSet::new()),
        };
        // verify_opcode: already as wanted → nothing to write.
        if offsets.contains(&in_page) == register {
            return Ok(());
        }
        if register {
            offsets.insert(in_page);
        } else {
            offsets.remove(&in_page);
        }
        // __uprobe_write: ptep_clear_flush, copy_to_page, then the PTE back, dirty.
        let table = self
            .pte_table(mm, page_addr)
            .expect("present PTE has a table");
        let idx = pt::Level::Pte.index(page_addr);
        self.hw
            .flush_tlb_range(mm.id, page_addr, page_addr + PAGE_SIZE, 12, false);
        let new = if offsets.is_empty() {
            base
        } else {
            let c = self.new_content();
            self.uprobe_contents
                .insert(c, BreakpointPage { base, offsets });
            c
        };
        self.mem.page_mut(pfn).content = new;
        if !register
            && self.orig_page_is_identical(mm, page_addr, pfn)
            && !self.folio_has_extra_refs(pfn)
        {
            // The copy is the file page again and only this mapping holds it: zap it.
            self.hw.table_mut(table)[idx] = 0;
            mm.rss[MM_ANONPAGES] -= 1;
            let p = self.mem.page_mut(pfn);
            p.mapcount -= 1;
            if p.mapcount == 0 {
                p.flags.remove(PageFlags::MLOCKED);
            }
            crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
        } else {
            self.hw.table_mut(table)[idx] |= pt::DIRTY;
        }
        Ok(())
    }

    /// `verify_opcode`: whether the page at `pfn` needs the write (the byte at `vaddr` is not
    /// yet the breakpoint, when registering; is one, when removing).
    fn uprobe_verify(&self, pfn: Pfn, vaddr: u64, register: bool) -> bool {
        let in_page = (vaddr & (PAGE_SIZE - 1)) as u16;
        let content = self.mem.page(pfn).content;
        let has = self
            .uprobe_contents
            .get(&content)
            .is_some_and(|b| b.offsets.contains(&in_page));
        has != register
    }

    /// `PageAnonExclusive` of the page the entry `e` maps.
    fn anon_exclusive(&self, e: u64) -> bool {
        if e & pt::SPECIAL != 0 {
            return false;
        }
        let p = self.mem.page(pt::pfn_of(e));
        p.flags
            .contains(PageFlags::ANON | PageFlags::ANON_EXCLUSIVE)
    }

    /// `orig_page_is_identical`: the file's cached page at the anonymous page's offset exists
    /// and holds the same bytes.
    fn orig_page_is_identical(&self, mm: &Mm, addr: u64, pfn: Pfn) -> bool {
        let Some(vma) = mm.vma_at(addr) else {
            return false;
        };
        let Some(file) = vma.file else {
            return false;
        };
        let index = vma.linear_index(addr);
        self.files
            .get(file)
            .pages
            .get(&index)
            .is_some_and(|&c| self.mem.page(c).content == self.mem.page(pfn).content)
    }

    /// `uprobe_mmap` (6.18): a VMA that appeared or changed (mmap, split, merge) gets every
    /// registered probe of its file in its range; idempotent (a probe already written is left
    /// alone, one whose copy was zapped is written again).
    pub fn uprobe_mmap(&mut self, mm: &mut Mm, vma_start: u64) {
        if self.uprobes.is_empty() {
            return;
        }
        let Some(vma) = mm.vmas.get(&vma_start).cloned() else {
            return;
        };
        let Some(file) = vma.file else { return };
        if !Self::uprobe_valid_vma(&vma, true) {
            return;
        }
        let offsets: alloc::vec::Vec<u64> = self
            .uprobes
            .range((file, 0)..=(file, u64::MAX))
            .map(|((_, o), _)| *o)
            .collect();
        for off in offsets {
            if let Some(vaddr) = Self::offset_to_vaddr(&vma, off) {
                let _ = self.install_breakpoint(mm, vaddr);
            }
        }
    }

    /// `uprobe_munmap` (6.18), as `unmap_single_vma` calls it for a file VMA: nothing once the
    /// mm has no users (exit); otherwise, if a probe lies in the range, the mm must work out
    /// again whether it has breakpoints (`MMF_RECALC_UPROBES`). Returns whether it went past
    /// the early returns.
    pub fn uprobe_munmap(&mut self, mm: &mut Mm, vma: &Vma, start: u64, end: u64) -> bool {
        if self.uprobes.is_empty() || !Self::uprobe_valid_vma(vma, false) {
            return false;
        }
        // called by mmput()?
        if mm.users == 0 {
            return false;
        }
        if !mm.flags.contains(MmFlags::HAS_UPROBES) || mm.flags.contains(MmFlags::RECALC_UPROBES) {
            return false;
        }
        let file = vma.file.expect("valid_vma has a file");
        let lo = vma.linear_index(start) << 12;
        let hi = vma.linear_index(end - 1) + 1;
        if self
            .uprobes
            .range((file, lo)..(file, hi << 12))
            .next()
            .is_some()
        {
            mm.flags.insert(MmFlags::RECALC_UPROBES);
        }
        true
    }

    /// `uprobe_dup_mmap` (fork): the child may have breakpoints too.
    pub fn uprobe_dup_mmap(old: &Mm, mm: &mut Mm) {
        if old.flags.contains(MmFlags::HAS_UPROBES) {
            mm.flags
                .insert(MmFlags::HAS_UPROBES | MmFlags::RECALC_UPROBES);
        }
    }

    /// The task executes the instruction at `addr` (`call`): an instruction fetch through the
    /// page table (an exec fault if the page is missing), and if the byte is a breakpoint of a
    /// registered probe, `handle_swbp`: the `ret` there is single-stepped out of line, from the
    /// mm's XOL area (made on first need, its page faulted in by the fetch).
    pub fn uprobe_call(&mut self, mm: &mut Mm, addr: u64) -> Result<CallOutcome, Fault> {
        // do_user_addr_fault → lock_mm_and_find_vma: an access just below a growsdown VMA
        // grows it first (whatever the access; the access check comes after).
        if mm.vma_at(addr).is_none()
            && mm
                .find_vma(addr)
                .is_some_and(|v| v.flags.contains(VmFlags::GROWSDOWN))
        {
            self.expand_stack(mm, addr).map_err(|_| Fault::Segv)?;
        }
        let vma = mm.vma_at(addr).cloned().ok_or(Fault::Segv)?;
        if !vma.flags.contains(VmFlags::EXEC) {
            // x86's access_error does not look at VM_EXEC for a missing page: the fetch is
            // served as a read fault (zero page, fault-around, SIGBUS past the end of a file),
            // and only the retried fetch, from a present NX entry, is SIGSEGV.
            if vma.flags.intersects(VmFlags::ACCESS) && !pt::present(self.pte_at(mm, addr)) {
                self.fault(mm, addr, false, false)?;
            }
            return Err(Fault::Segv);
        }
        if !pt::present(self.pte_at(mm, addr)) {
            self.fault(mm, addr, false, false)?;
        }
        let e = self.pte_at(mm, addr);
        let content = self.mem.page(pt::pfn_of(e)).content;
        let in_page = (addr & (PAGE_SIZE - 1)) as u16;
        let trap = self
            .uprobe_contents
            .get(&content)
            .is_some_and(|b| b.offsets.contains(&in_page));
        if !trap {
            return Ok(CallOutcome::default());
        }
        // handle_swbp → find_active_uprobe: the probe of this VMA's file at this offset.
        let file = vma.file.ok_or(Fault::Segv)?;
        let offset = vma.linear_index(addr) << 12 | in_page as u64;
        if !self.uprobes.contains_key(&(file, offset)) {
            // A breakpoint nobody registered any more: SIGTRAP (the model never leaves one).
            return Err(Fault::Segv);
        }
        // pre_ssout → xol_get_insn_slot → get_xol_area.
        let xol_created = mm.xol_area.is_none();
        if xol_created {
            self.xol_add_vma(mm).map_err(|_| Fault::Oom)?;
        }
        let area = mm.xol_area.expect("xol area");
        // The task executes the copied instruction in its slot: a fetch from the area.
        let slot = area.vaddr + XOL_SLOT;
        if !pt::present(self.pte_at(mm, slot)) {
            self.xol_fault(mm, slot)?;
        }
        Ok(CallOutcome {
            hit: true,
            xol_created,
        })
    }

    /// `__create_xol_area` + `xol_add_vma`: a zeroed page for the area and the `[uprobes]`
    /// special mapping (`VM_EXEC | VM_MAYEXEC | VM_DONTCOPY | VM_IO`, plus `VM_DONTEXPAND`),
    /// placed by `get_unmapped_area` from the hint `TASK_SIZE - PAGE_SIZE`.
    fn xol_add_vma(&mut self, mm: &mut Mm) -> Result<(), Errno> {
        let page = self.mem.alloc_pages(0).map_err(|_| Errno::ENOMEM)?;
        let p = self.mem.page_mut(page);
        p.flags = PageFlags::UPTODATE;
        p.content = 0;
        let hint = pt::TASK_SIZE - PAGE_SIZE;
        let vaddr = if mm
            .find_vma(hint)
            .is_none_or(|v| v.start >= hint + PAGE_SIZE)
        {
            hint
        } else {
            // Top-down below everything mapped up there.
            let mut top = hint;
            while let Some(v) = mm
                .vmas
                .range(..top + PAGE_SIZE)
                .next_back()
                .map(|(_, v)| v.clone())
            {
                if v.end <= top {
                    break;
                }
                top = v.start - PAGE_SIZE;
            }
            top
        };
        let flags = (VmFlags::EXEC | VmFlags::MAYEXEC | VmFlags::DONTCOPY | VmFlags::IO)
            | VmFlags::DONTEXPAND
            | (mm.def_flags - VmFlags::LOCKED_MASK);
        mm.vmas.insert(
            vaddr,
            Vma {
                start: vaddr,
                end: vaddr + PAGE_SIZE,
                flags,
                pgoff: 0,
                file: None,
                anon_vma: None,
                anon_chain_forked: false,
                hugetlb: None,
                pfnmap_ctx: None,
                special: Some(crate::mm_types::Special::Uprobes),
                swap_readahead_info: 0,
                shm: false,
            },
        );
        mm.map_count += 1;
        Self::vm_stat_account(mm, flags, 1);
        mm.hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
        mm.xol_area = Some(XolArea { vaddr, page });
        Ok(())
    }

    /// `special_mapping_fault` → `xol_fault`: the area's page, one more reference, mapped
    /// read-only with a file rmap (`MM_FILEPAGES`).
    pub(crate) fn xol_fault(&mut self, mm: &mut Mm, addr: u64) -> Result<(), Fault> {
        let area = mm.xol_area.ok_or(Fault::Segv)?;
        let table = self
            .walk_to_pte_table(mm, addr, true)
            .map_err(|_| Fault::Oom)?
            .expect("allocated");
        let p = self.mem.page_mut(area.page);
        p.refcount += 1;
        p.mapcount += 1;
        mm.rss[crate::mm_types::MM_FILEPAGES] += 1;
        self.hw.table_mut(table)[pt::Level::Pte.index(addr)] =
            pt::mk_pte(area.page, false, false, false);
        Ok(())
    }

    /// `uprobe_clear_state` (from `__mmput`, before `exit_mmap`): the area's own reference to
    /// its page goes (a PTE still mapping it keeps it until the zap). Returns whether the mm
    /// had an area.
    pub fn uprobe_clear_state(&mut self, mm: &mut Mm) -> bool {
        match mm.xol_area.take() {
            Some(area) => {
                crate::mmu_gather::put_page(area.page, &mut self.mem, &mut self.hw);
                true
            }
            None => false,
        }
    }

    /// Whether something besides the mappings holds the folio at `pfn` (6.18's
    /// `folio_ref_count != folio_expected_ref_count + 1` test, the `+ 1` being GUP's own
    /// reference): the CPU's folio batches hold such references until drained.
    fn folio_has_extra_refs(&self, pfn: Pfn) -> bool {
        self.folio_ref_count(pfn) != self.mem.page(pfn).mapcount as u32
    }
}
