//! Perf events and their ring buffers as user space maps them (kernel/events/core.c and
//! ring_buffer.c, 6.18): `perf_mmap`, `map_range`, `perf_mmap_close`, `perf_mmap_may_split`.
//!
//! The ring buffer's pages belong to perf, not to any process: `rb_alloc` takes a user page
//! and the data pages from the page allocator one by one, `map_range` maps each into the VMA as
//! a raw PFN (`remap_pfn_range`, read-only; `perf_mmap_pfn_mkwrite` makes only the user page
//! writable), and `rb_free` gives them back when the last mapping is closed and the event has
//! let go of the buffer. So the zap of a ring VMA clears special PTEs and frees nothing; the
//! pages go in `remove_vma`, after the TLB flush, when the VMA's close runs.
//!
//! Accounting: a buffer's pages are charged to the user's `locked_vm` up to
//! `perf_event_mlock_kb` per online CPU; the rest goes to the mapping mm's `pinned_vm`
//! (`VmPin`). Mapping an existing buffer again charges the user once more, and nothing gives
//! that back (the close uncharges once per buffer); the model keeps that, as 6.18 does.

use crate::arch::Hardware;
use crate::mm_types::{FileId, Mm, VmFlags, Vma};
use crate::page::Pfn;
use crate::pat::CacheMode;
use crate::{Errno, Kernel};
use alloc::vec::Vec;

/// A ring buffer (`struct perf_buffer`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingBuffer {
    /// The user (control) page first, then the data pages.
    pub pages: Vec<Pfn>,
    /// `mmap_count`: VMAs mapping it.
    pub mmap_count: u32,
    /// `mmap_locked`: pages charged to the first mapper's `pinned_vm`.
    pub mmap_locked: i64,
    /// `RING_BUFFER_WRITABLE` (the first mapping had `PROT_WRITE`; else overwrite mode).
    pub writable: bool,
}

/// A perf event (`struct perf_event`), as far as its buffer goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PerfEvent {
    /// `event->rb`.
    pub rb: Option<RingBuffer>,
    /// `event->mmap_count`.
    pub mmap_count: u32,
}

/// What `perf_mmap_close` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerfClose {
    /// Ring-buffer pages freed (`rb_free`, from the RCU callback).
    pub pages_freed: u64,
}

impl<H: Hardware> Kernel<H> {
    /// `perf_event_open` of a disabled software `dummy` event for the calling task: a new
    /// anon-inode file (`[perf_event]`) with one reference, its descriptor's.
    pub fn perf_event_open(&mut self, name: &str) -> Result<FileId, Errno> {
        let id = self.shmem_file_setup(name, crate::shmem::FileKind::PerfEvent, 0, true)?;
        self.files.get_mut(id).driver = Some(crate::shmem::Driver::Perf(PerfEvent::default()));
        Ok(id)
    }

    fn perf_event(&mut self, file: FileId) -> &mut PerfEvent {
        match self.files.get_mut(file).driver.as_mut() {
            Some(crate::shmem::Driver::Perf(e)) => e,
            _ => panic!("file {file} is not a perf event"),
        }
    }

    /// `perf_mmap` (6.18): the file's `mmap` for a new VMA of `mm` (not yet in the tree): a
    /// shared mapping at offset 0 of 1 + 2^n pages (or 1); the first creates the buffer
    /// (`perf_mmap_rb`), later ones of the same size share it. Sets `VM_DONTCOPY |
    /// VM_DONTEXPAND | VM_DONTDUMP` and maps every page (`map_range`).
    pub(crate) fn perf_mmap(&mut self, mm: &mut Mm, vma: &mut Vma) -> Result<(), Errno> {
        let file = vma.file.expect("perf VMA has its file");
        if !vma.flags.contains(VmFlags::SHARED) {
            return Err(Errno::EINVAL);
        }
        let nr_pages = vma.pages();
        if vma.pgoff != 0 {
            // perf_mmap_aux: a dummy event has no AUX area (aux_offset is 0 in its user page).
            return Err(Errno::EINVAL);
        }
        self.perf_mmap_rb(mm, vma, file, nr_pages)?;
        vma.flags |= VmFlags::DONTCOPY | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
        if let Err(e) = self.map_range(mm, vma, file) {
            self.perf_mmap_close(mm, vma);
            return Err(e);
        }
        Ok(())
    }

    /// `perf_mmap_rb`: create the buffer for the first mapping, or account another mapping of
    /// the existing one.
    fn perf_mmap_rb(
        &mut self,
        mm: &mut Mm,
        vma: &Vma,
        file: FileId,
        nr_pages: u64,
    ) -> Result<(), Errno> {
        let data = nr_pages - 1;
        if data != 0 && !data.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        let ev = self.perf_event(file);
        if let Some(rb) = ev.rb.as_mut() {
            if rb.pages.len() as u64 - 1 != data {
                return Err(Errno::EINVAL);
            }
            if ev.mmap_count == 0 {
                return Err(Errno::EBUSY);
            }
            rb.mmap_count += 1;
            ev.mmap_count += 1;
            // perf_mmap_account with the whole size: charged again, never given back.
            self.perf_user_locked_vm += nr_pages as i64;
            self.perf_user_locked_leaked += nr_pages as i64;
            return Ok(());
        }
        let (user_extra, extra) = self.perf_mmap_calc_limits(nr_pages as i64);
        let mut pages = Vec::with_capacity(nr_pages as usize);
        for _ in 0..nr_pages {
            match self.mem.alloc_pages(0) {
                Ok(p) => {
                    let pg = self.mem.page_mut(p);
                    pg.flags = crate::page::PageFlags::empty();
                    pg.content = 0;
                    pages.push(p);
                }
                Err(_) => {
                    for p in pages {
                        crate::mmu_gather::put_page(p, &mut self.mem, &mut self.hw);
                    }
                    return Err(Errno::ENOMEM);
                }
            }
        }
        let ev = self.perf_event(file);
        ev.rb = Some(RingBuffer {
            pages,
            mmap_count: 1,
            mmap_locked: extra,
            writable: vma.flags.contains(VmFlags::WRITE),
        });
        ev.mmap_count = 1;
        self.perf_user_locked_vm += user_extra;
        mm.pinned_vm += extra;
        Ok(())
    }

    /// `perf_mmap_calc_limits`: how many of `user_extra` pages the user's perf allowance takes
    /// and how many spill into the mm's `pinned_vm` (the model's user has `CAP_IPC_LOCK`, so
    /// `RLIMIT_MEMLOCK` does not refuse it).
    fn perf_mmap_calc_limits(&self, user_extra: i64) -> (i64, i64) {
        let limit = ((self.config.perf_event_mlock_kb >> 2) * self.config.online_cpus) as i64;
        let locked = self.perf_user_locked_vm.min(limit) + user_extra;
        if locked > limit {
            let extra = locked - limit;
            (user_extra - extra, extra)
        } else {
            (user_extra, 0)
        }
    }

    /// `map_range`: map every page of the VMA with `remap_pfn_range`, read-only (the private
    /// protection of the VMA's flags), one page at a time.
    fn map_range(&mut self, mm: &mut Mm, vma: &mut Vma, file: FileId) -> Result<(), Errno> {
        let pages: Vec<Pfn> = match self.files.get(file).driver.as_ref() {
            Some(crate::shmem::Driver::Perf(e)) => e.rb.as_ref().expect("rb").pages.clone(),
            _ => unreachable!(),
        };
        for i in 0..vma.pages() {
            let Some(&pfn) = pages.get((vma.pgoff + i) as usize) else {
                return Err(Errno::EINVAL);
            };
            let va = vma.start + (i << 12);
            if let Err(e) = self.remap_pfn_range(mm, vma, va, pfn as u64, 1, false, CacheMode::Wb) {
                let (s, e2) = (vma.start, vma.end);
                let v = vma.clone();
                self.zap_page_range_single(mm, &v, s, e2, crate::memory::ZapDetails::ALL);
                return Err(e);
            }
        }
        Ok(())
    }

    /// `perf_mmap_open` (a VMA copied from a ring VMA: mremap's `copy_vma`): one more mapping
    /// of the event and its buffer. Nothing for other VMAs.
    pub(crate) fn perf_mmap_open(&mut self, vma: &Vma) {
        let Some(f) = vma.file else { return };
        if let Some(crate::shmem::Driver::Perf(ev)) = self.files.get_mut(f).driver.as_mut() {
            ev.mmap_count += 1;
            if let Some(rb) = ev.rb.as_mut() {
                rb.mmap_count += 1;
            }
        }
    }

    /// `perf_mmap_pfn_mkwrite`: only the user page (offset 0) may be written.
    pub(crate) fn perf_mmap_pfn_mkwrite(&self, vma: &Vma, addr: u64) -> bool {
        vma.linear_index(addr) == 0
    }

    /// `perf_mmap_close` (the VMA's `close`, from `remove_vma`): one mapping fewer; the last
    /// one detaches the event from the buffer, gives back what the buffer charged, and the
    /// buffer's last reference goes (`ring_buffer_put` → `rb_free` after an RCU grace period:
    /// the pages are free once the close is done).
    pub(crate) fn perf_mmap_close(&mut self, mm: &mut Mm, vma: &Vma) -> PerfClose {
        let file = vma.file.expect("perf VMA has its file");
        let ev = self.perf_event(file);
        let rb = ev.rb.as_mut().expect("a mapped event has its buffer");
        rb.mmap_count -= 1;
        let detach_rest = rb.mmap_count == 0;
        ev.mmap_count -= 1;
        if ev.mmap_count != 0 || !detach_rest {
            return PerfClose::default();
        }
        let rb = ev.rb.take().expect("rb");
        self.perf_user_locked_vm -= rb.pages.len() as i64 - rb.mmap_locked;
        mm.pinned_vm -= rb.mmap_locked;
        let n = rb.pages.len() as u64;
        for p in rb.pages {
            crate::mmu_gather::put_page(p, &mut self.mem, &mut self.hw);
        }
        PerfClose { pages_freed: n }
    }

    /// `perf_release` (the file's last reference): the event goes; a buffer it still had is
    /// freed with it (only possible if no VMA maps it, as every VMA holds the file).
    pub(crate) fn perf_release(&mut self, file: FileId) {
        if let Some(rb) = self.perf_event(file).rb.take() {
            for p in rb.pages {
                crate::mmu_gather::put_page(p, &mut self.mem, &mut self.hw);
            }
        }
    }
}
