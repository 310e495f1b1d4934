//! Shmem inodes (mm/shmem.c): memfd and tmpfs files and shared anonymous objects, each with a
//! page cache.
//!
//! Charging (`shmem_acct_size` / `shmem_acct_blocks`): an object made with `VM_NORESERVE`
//! (memfd, tmpfs files, shared anonymous memory mapped `MAP_NORESERVE`) charges one page of
//! `vm_committed_as` per page it allocates; any other shared anonymous object charges its whole
//! size when it is set up. Both come back when the inode is evicted (its last reference goes).

use crate::arch::Hardware;
use crate::mm_types::FileId;
use crate::page::{PageFlags, Pfn};
use crate::{Errno, Kernel};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// What kind of object a shmem inode is, for its name in `/proc/PID/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `memfd_create`.
    Memfd,
    /// A file on tmpfs (`/dev/shm`), unlinked after opening.
    Tmpfs,
    /// The object behind a shared anonymous mapping.
    DevZero,
    /// The hugetlbfs inode behind a `MAP_HUGETLB` mapping (`hugetlb_file_setup`).
    HugetlbAnon,
    /// A perf event (`anon_inode:[perf_event]`), with [`Driver::Perf`].
    PerfEvent,
    /// A simulated device region's file, with [`Driver::Iomap`].
    Device,
    /// A tmpfs file of code (`codefile`), still linked under `/dev/shm` so that tracefs can
    /// name it.
    Codefile,
    /// A System V shared memory segment (`newseg`'s `SYSV<key>` inode, shmem or hugetlbfs).
    SysvShm,
    /// A regular file on a disk filesystem (`diskfile`): its cached pages are not swap-backed
    /// (`MM_FILEPAGES`), are written back rather than swapped, and charge no commit.
    Disk,
}

/// The driver behind a file that is not shmem: its `mmap` and `close` are the driver's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Driver {
    /// A perf event and its ring buffer.
    Perf(crate::perf_event::PerfEvent),
    /// A device region.
    Iomap(crate::iomap::IoRegion),
}

/// One shmem inode.
///
/// Invariant: every page in `pages` has `PAGECACHE` set, `mapping == id`, `index == key`, and
/// holds one reference for the cache; `charged_pages` = `pages.len()` when `per_page_acct`.
#[derive(Clone, Debug)]
pub struct ShmemFile {
    /// Name given at creation.
    pub name: String,
    /// Kind.
    pub kind: FileKind,
    /// `i_size` in bytes.
    pub size: u64,
    /// The page cache: page offset → frame.
    pub pages: crate::xarray::PageCache,
    /// Pages written out to swap (`shmem_writeout`): page offset → swap slot, each holding one
    /// count of the slot. They stay charged like cached pages.
    pub swapped: BTreeMap<u64, u32>,
    /// Clean pages reclaim dropped from the cache whose charge the inode still holds:
    /// `shmem_recalc_inode` returns it at the next allocation, hole punch or eviction.
    pub dropped: u64,
    /// References: open descriptors plus mapping VMAs (`f_count`).
    pub refs: u32,
    /// `VM_NORESERVE` object: charged per page. Otherwise charged `whole_charge` at setup.
    pub per_page_acct: bool,
    /// Pages charged at setup (non-NORESERVE objects).
    pub whole_charge: i64,
    /// A hugetlbfs inode of this page size (then `pages` is keyed by huge page index and no
    /// commit charge is ever taken), or `None` for shmem.
    pub huge: Option<crate::hugetlb::HugeSize>,
    /// hugetlbfs: the inode's reservation map (huge page indices that have or had a
    /// reservation; entries stay after the page is instantiated).
    pub resv: alloc::collections::BTreeSet<u64>,
    /// `i_mmap_rwsem` held for write (by the hugetlb unmap, around the zap and its flush).
    pub i_mmap_locked: bool,
    /// The driver, for a file that is not a shmem or hugetlbfs inode.
    pub driver: Option<Driver>,
}

impl ShmemFile {
    /// The name `/proc/PID/maps` shows for a mapping of this file.
    pub fn maps_name(&self) -> String {
        match self.kind {
            FileKind::Memfd => alloc::format!("/memfd:{} (deleted)", self.name),
            FileKind::Tmpfs => alloc::format!("/dev/shm/{} (deleted)", self.name),
            FileKind::DevZero => String::from("/dev/zero (deleted)"),
            FileKind::HugetlbAnon => String::from("/anon_hugepage (deleted)"),
            FileKind::PerfEvent => String::from("anon_inode:[perf_event]"),
            FileKind::Device => alloc::format!("/dev/iomap/{}", self.name),
            FileKind::Codefile => alloc::format!("/dev/shm/{}", self.name),
            FileKind::SysvShm => alloc::format!("/{} (deleted)", self.name),
            FileKind::Disk => alloc::format!("/diskfile/{}", self.name),
        }
    }

    /// Pages in `i_size` (`DIV_ROUND_UP(i_size, PAGE_SIZE)`).
    pub fn size_pages(&self) -> u64 {
        self.size.div_ceil(4096)
    }
}

/// The table of shmem inodes.
#[derive(Default, Debug)]
pub struct Files {
    /// By id; evicted inodes are `None`.
    pub table: Vec<Option<ShmemFile>>,
}

impl Files {
    /// The file `id`.
    pub fn get(&self, id: FileId) -> &ShmemFile {
        self.table[id as usize].as_ref().expect("no such file")
    }

    /// The file `id`, mutable.
    pub fn get_mut(&mut self, id: FileId) -> &mut ShmemFile {
        self.table[id as usize].as_mut().expect("no such file")
    }
}

impl<H: Hardware> Kernel<H> {
    /// `shmem_file_setup` / `memfd_create` + `ftruncate`: a new inode with one reference.
    pub fn shmem_file_setup(
        &mut self,
        name: &str,
        kind: FileKind,
        size: u64,
        noreserve: bool,
    ) -> Result<FileId, Errno> {
        let disk = kind == FileKind::Disk;
        let whole = if noreserve || disk {
            0
        } else {
            size.div_ceil(4096) as i64
        };
        if whole > 0 {
            self.vm_enough_memory(whole)?;
        }
        let f = ShmemFile {
            name: String::from(name),
            kind,
            size,
            pages: Default::default(),
            swapped: BTreeMap::new(),
            dropped: 0,
            refs: 1,
            per_page_acct: noreserve && !disk,
            whole_charge: whole,
            huge: None,
            resv: Default::default(),
            i_mmap_locked: false,
            driver: None,
        };
        let id = self
            .files
            .table
            .iter()
            .position(|f| f.is_none())
            .unwrap_or(self.files.table.len());
        if id == self.files.table.len() {
            self.files.table.push(Some(f));
        } else {
            self.files.table[id] = Some(f);
        }
        Ok(id as FileId)
    }

    /// `get_file`.
    pub fn get_file(&mut self, id: FileId) {
        self.files.get_mut(id).refs += 1;
    }

    /// `fput`: drop a reference. The last one's release (`__fput`, evicting the inode) is
    /// task work: it runs when the task returns to user space (the end of the syscall, or its
    /// exit), not here, so the file and its pages (and a hugetlbfs inode's reservations) last
    /// until then. See [`Kernel::task_work_run`].
    pub fn fput(&mut self, id: FileId) {
        let f = self.files.get_mut(id);
        f.refs -= 1;
        if f.refs == 0 {
            self.delayed_fput.push(id);
        }
    }

    /// `task_work_run`: the releases `fput` deferred: each inode is evicted
    /// (`shmem_evict_inode` / `hugetlbfs_evict_inode`).
    pub fn task_work_run(&mut self) {
        for id in core::mem::take(&mut self.delayed_fput) {
            self.evict_inode(id);
        }
    }

    /// Evicts the inode `id` whose last reference is gone: its pages leave the cache and what it
    /// charged is returned.
    fn evict_inode(&mut self, id: FileId) {
        match self.files.get(id).driver {
            Some(Driver::Perf(_)) => {
                self.perf_release(id);
                self.files.table[id as usize] = None;
                return;
            }
            Some(Driver::Iomap(_)) => {
                self.files.table[id as usize] = None;
                return;
            }
            None => {}
        }
        if self.files.get(id).huge.is_some() {
            // hugetlbfs_evict_inode: remove_inode_hugepages and hugetlb_unreserve_pages.
            self.remove_inode_hugepages(id, 0, u64::MAX);
            self.files.table[id as usize] = None;
            return;
        }
        let f = self.files.table[id as usize].take().expect("file");
        for &slot in f.swapped.values() {
            self.swap_free(slot); // shmem_undo_range: free_swap_and_cache
        }
        if !f.pages.is_empty() {
            self.lru_add_drain(); // shmem_undo_range's folio_batch_release
        }
        for (_, pfn) in f.pages.iter() {
            let p = self.mem.page_mut(*pfn);
            p.flags.remove(PageFlags::PAGECACHE);
            crate::mmu_gather::put_page(*pfn, &mut self.mem, &mut self.hw);
        }
        let unacct = if f.per_page_acct {
            (f.pages.len() + f.swapped.len()) as i64 + f.dropped as i64
        } else {
            f.whole_charge
        };
        self.vm_unacct_memory(unacct);
    }

    /// `shmem_get_folio(SGP_CACHE)`: the cached page at `index`, allocating (and charging) a
    /// zeroed one for a hole. `Err(None)` past end of file, `Err(Some(e))` on failure.
    pub fn shmem_get_page(&mut self, id: FileId, index: u64) -> Result<Pfn, Option<Errno>> {
        if index >= self.files.get(id).size_pages() {
            return Err(None);
        }
        let (pfn, _) = self.shmem_get_folio(id, index, true).map_err(Some)?;
        // A folio fallocate left !uptodate is cleared and made uptodate by its first use.
        self.mem.page_mut(pfn).flags.insert(PageFlags::UPTODATE);
        Ok(pfn)
    }

    /// `shmem_get_folio` without the end-of-file check (as `SGP_WRITE` and `SGP_FALLOC` call
    /// it): the cached page at `index`, or a new zeroed one, charged, in the cache, uptodate
    /// or not as `uptodate` says. Also says whether it was new. A failed charge is `ENOSPC`
    /// (`shmem_inode_acct_blocks`), a failed allocation `ENOMEM`.
    fn shmem_get_folio(
        &mut self,
        id: FileId,
        index: u64,
        uptodate: bool,
    ) -> Result<(Pfn, bool), Errno> {
        let f = self.files.get(id);
        if let Some(&p) = f.pages.get(&index) {
            return Ok((p, false));
        }
        if let Some(&slot) = f.swapped.get(&index) {
            return self
                .shmem_swapin_folio(id, index, slot)
                .map(|p| (p, false))
                .map_err(|e| e.unwrap_or(Errno::ENOMEM));
        }
        self.shmem_recalc_inode(id);
        let f = self.files.get(id);
        if f.per_page_acct {
            self.vm_enough_memory(1).map_err(|_| Errno::ENOSPC)?;
        }
        let pfn = match self.mem.alloc_pages(0) {
            Ok(p) => p,
            Err(_) => {
                if self.files.get(id).per_page_acct {
                    self.vm_unacct_memory(1);
                }
                return Err(Errno::ENOMEM);
            }
        };
        let disk = self.files.get(id).kind == FileKind::Disk;
        let p = self.mem.page_mut(pfn);
        p.flags = if disk {
            // filemap_fault's readahead: a page read from the disk, not swap-backed.
            PageFlags::PAGECACHE | PageFlags::LRU
        } else {
            PageFlags::PAGECACHE | PageFlags::SWAPBACKED | PageFlags::LRU
        };
        if uptodate {
            p.flags.insert(PageFlags::UPTODATE);
        }
        p.mapping = id;
        p.index = index as u32;
        self.files.get_mut(id).pages.insert(index, pfn);
        self.folio_add_lru(pfn);
        Ok((pfn, true))
    }

    /// `shmem_swapin_folio`: the page written out from `index` comes back into the cache (dirty,
    /// its only copy now in memory) and its slot is freed (`swap_free`, after
    /// `delete_from_swap_cache`). It was charged all along.
    fn shmem_swapin_folio(
        &mut self,
        id: FileId,
        index: u64,
        slot: u32,
    ) -> Result<Pfn, Option<Errno>> {
        let pfn = self.mem.alloc_pages(0).map_err(|_| Some(Errno::ENOMEM))?;
        let content = self
            .swap
            .as_ref()
            .expect("a swapped page implies a device")
            .content[slot as usize];
        let p = self.mem.page_mut(pfn);
        p.flags = PageFlags::PAGECACHE
            | PageFlags::SWAPBACKED
            | PageFlags::UPTODATE
            | PageFlags::LRU
            | PageFlags::DIRTY;
        p.mapping = id;
        p.index = index as u32;
        p.content = content;
        let f = self.files.get_mut(id);
        f.swapped.remove(&index);
        f.pages.insert(index, pfn);
        self.swap_free(slot);
        self.folio_add_lru(pfn);
        Ok(pfn)
    }

    /// `shmem_writeout` of the cached page `pfn` (mapped nowhere now): with a free swap slot it
    /// is written there and leaves the cache (the slot holds one count for the file); without
    /// one it stays, dirty. True if it went.
    pub(crate) fn shmem_writeout(&mut self, pfn: Pfn) -> bool {
        let (id, index) = {
            let p = self.mem.page(pfn);
            (p.mapping, p.index as u64)
        };
        let Some(slot) = self.folio_alloc_swap() else {
            return false;
        };
        self.swap_duplicate(slot);
        let content = self.mem.page(pfn).content;
        self.swap.as_mut().expect("device").content[slot as usize] = content;
        let f = self.files.get_mut(id);
        f.pages.remove(&index);
        f.swapped.insert(index, slot);
        self.mem.page_mut(pfn).flags.remove(PageFlags::PAGECACHE);
        crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
        true
    }

    /// `__remove_mapping` of a clean cached page mapped nowhere: it leaves the cache, its
    /// charge with it (`shmem_recalc_inode`).
    pub(crate) fn shmem_drop_clean(&mut self, pfn: Pfn) {
        let (id, index) = {
            let p = self.mem.page(pfn);
            (p.mapping, p.index as u64)
        };
        let f = self.files.get_mut(id);
        f.pages.remove(&index);
        if f.per_page_acct {
            f.dropped += 1;
        }
        self.mem.page_mut(pfn).flags.remove(PageFlags::PAGECACHE);
        crate::mmu_gather::put_page(pfn, &mut self.mem, &mut self.hw);
    }

    /// `shmem_recalc_inode`: the charge of pages that left the cache without the inode knowing
    /// (clean ones reclaim dropped) goes back.
    fn shmem_recalc_inode(&mut self, id: FileId) {
        let f = self.files.get_mut(id);
        let n = core::mem::take(&mut f.dropped);
        if n > 0 {
            self.vm_unacct_memory(n as i64);
        }
    }

    /// `memfd NAME SIZE fill`: writes one byte into every page through the file (`pwrite`), so
    /// that every page exists in the cache, dirty.
    pub fn shmem_fill(&mut self, id: FileId) -> Result<(), Errno> {
        for idx in 0..self.files.get(id).size_pages() {
            let pfn = self
                .shmem_get_page(id, idx)
                .map_err(|e| e.unwrap_or(Errno::EFBIG))?;
            let c = self.new_content();
            let p = self.mem.page_mut(pfn);
            p.flags.insert(PageFlags::DIRTY);
            p.content = c;
        }
        Ok(())
    }
}

impl<H: Hardware> Kernel<H> {
    /// `shmem_fallocate(FALLOC_FL_PUNCH_HOLE)` over whole pages `[first, last)` of `file`:
    /// `unmap_mapping_range` takes the page-cache pages out of every mapping of the file,
    /// leaving COW copies alone; then `shmem_truncate_range` drops them from the cache.
    pub fn shmem_punch_hole(
        &mut self,
        current: &mut crate::mm_types::Mm,
        file: FileId,
        first: u64,
        last: u64,
    ) {
        let vmas = if first < last {
            self.unmap_mapping_range(current, file, first, last, false)
        } else {
            Vec::new()
        };
        let gone = self.shmem_truncate_range(file, first, last);
        self.truncate_report = Some(truncate_report("shmem_fallocate", false, first, vmas, gone));
    }

    /// `shmem_truncate_range` over whole pages `[first, last)`: the cached and swapped-out
    /// pages there leave the file, their charge with them (a partial page at either end is
    /// only zeroed, which no figure shows).
    pub fn shmem_truncate_range(&mut self, file: FileId, first: u64, last: u64) -> (u64, u64) {
        let f = self.files.get_mut(file);
        let gone: Vec<(u64, Pfn)> = f.pages.range(first..last).map(|(i, p)| (i, *p)).collect();
        for (i, _) in &gone {
            f.pages.remove(i);
        }
        let swapped: Vec<(u64, u32)> = f
            .swapped
            .range(first..last)
            .map(|(i, s)| (*i, *s))
            .collect();
        for (i, _) in &swapped {
            f.swapped.remove(i);
        }
        let per_page = f.per_page_acct;
        for (_, slot) in &swapped {
            self.swap_free(*slot);
        }
        self.shmem_recalc_inode(file);
        if per_page {
            self.vm_unacct_memory(swapped.len() as i64);
        }
        if !gone.is_empty() {
            self.lru_add_drain(); // shmem_undo_range's folio_batch_release
        }
        for (_, pfn) in &gone {
            self.mem.page_mut(*pfn).flags.remove(PageFlags::PAGECACHE);
            crate::mmu_gather::put_page(*pfn, &mut self.mem, &mut self.hw);
        }
        if per_page {
            self.vm_unacct_memory(gone.len() as i64);
        }
        (gone.len() as u64, swapped.len() as u64)
    }
}

/// The report of a truncation (`shmem_setattr`) or hole punch (`shmem_fallocate`): the
/// `unmap_mapping_range` from page `first` with each VMA it zapped (in any mm), then what
/// `shmem_truncate_range` dropped (cached pages, swapped-out pages).
fn truncate_report(
    func: &'static str,
    even_cows: bool,
    first: u64,
    vmas: Vec<crate::memory::VmaUnmap>,
    (pages, swapped): (u64, u64),
) -> crate::exit::TeardownReport {
    let mut total = crate::memory::ZapStats::default();
    for v in &vmas {
        total.add(&v.zap);
    }
    let mut r = crate::exit::TeardownReport::default();
    r.step(func, 0, &[]);
    r.step(
        "unmap_mapping_range",
        1,
        &[
            ("pgoff", first as i64),
            ("even_cows", even_cows as i64),
            ("vmas", vmas.len() as i64),
            ("ptes", total.ptes as i64),
            ("anon", total.anon as i64),
            ("shmem", total.shmem as i64),
            ("swap", total.swap as i64),
        ],
    );
    if let Some(s) = r.steps.last_mut() {
        s.vmas = vmas;
    }
    r.step(
        "shmem_truncate_range",
        1,
        &[("pages", pages as i64), ("swapped", swapped as i64)],
    );
    r
}

/// Largest file offset the model's page index holds (`index` is 32 bits): 16 TiB. The kernel
/// allows `MAX_LFS_FILESIZE`; writes or sizes past this answer `EFBIG` here.
pub const MODEL_MAX_FILE: u64 = 1 << 44;

/// Whether the descriptor a file op goes through was opened for reading and for writing
/// (`FMODE_READ`, `FMODE_WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FMode {
    /// `FMODE_READ`.
    pub read: bool,
    /// `FMODE_WRITE`.
    pub write: bool,
}

impl Default for FMode {
    fn default() -> Self {
        FMode {
            read: true,
            write: true,
        }
    }
}

impl<H: Hardware> Kernel<H> {
    /// What kind of inode a file op meets: shmem (`Ok`), or the errno a file without the op
    /// answers (`not_shmem`). Hugetlbfs inodes are `Err(None)`: the caller decides.
    fn shmem_inode(&self, id: FileId, not_shmem: Errno) -> Result<(), Option<Errno>> {
        let f = self.files.get(id);
        if f.huge.is_some() {
            return Err(None);
        }
        if f.driver.is_some() {
            return Err(Some(not_shmem));
        }
        Ok(())
    }

    /// `pwrite` → `shmem_file_write_iter` (`generic_perform_write`): each page of
    /// `[foff, foff + len)` is found or allocated (`shmem_write_begin`, `SGP_WRITE`), written,
    /// made uptodate and dirty (`shmem_write_end`); `i_size` grows to the end of the write.
    /// The error is always `Some`.
    pub fn shmem_write(
        &mut self,
        id: FileId,
        mode: FMode,
        foff: u64,
        len: u64,
    ) -> Result<(), Option<Errno>> {
        if !mode.write {
            return Err(Some(Errno::EBADF)); // vfs_write: not open for writing
        }
        // hugetlbfs and perf have no write_iter (vfs_write: EINVAL).
        match self.shmem_inode(id, Errno::EINVAL) {
            Err(None) => return Err(Some(Errno::EINVAL)),
            r => r?,
        }
        if len == 0 {
            return Ok(());
        }
        let end = foff.checked_add(len).ok_or(Some(Errno::EINVAL))?;
        if end > MODEL_MAX_FILE {
            return Err(Some(Errno::EFBIG));
        }
        for index in foff >> 12..end.div_ceil(4096) {
            let (pfn, _) = match self.shmem_get_folio(id, index, true) {
                Ok(p) => p,
                // A short write: what was written stays, i_size covers it.
                Err(e) if index == foff >> 12 => return Err(Some(e)),
                Err(_) => {
                    let f = self.files.get_mut(id);
                    f.size = f.size.max(index << 12);
                    return Ok(());
                }
            };
            let c = self.new_content();
            let p = self.mem.page_mut(pfn);
            p.flags.insert(PageFlags::UPTODATE | PageFlags::DIRTY);
            p.content = c;
        }
        let f = self.files.get_mut(id);
        f.size = f.size.max(end);
        Ok(())
    }

    /// `ftruncate` → `shmem_setattr(ATTR_SIZE)`: the new `i_size`; a shrink unmaps every page
    /// past the new end from every mapping, private COW copies included
    /// (`unmap_mapping_range(holebegin, 0, even_cows)`), then drops them from the cache
    /// (`shmem_truncate_range`). A hugetlbfs file goes to `hugetlbfs_setattr`. The error is
    /// always `Some`.
    pub fn shmem_setattr_size(
        &mut self,
        current: &mut crate::mm_types::Mm,
        id: FileId,
        mode: FMode,
        size: u64,
    ) -> Result<(), Option<Errno>> {
        // do_ftruncate: a descriptor not open for writing, or not a regular file, is EINVAL.
        if !mode.write {
            return Err(Some(Errno::EINVAL));
        }
        if let Some(h) = self.files.get(id).huge {
            return self
                .hugetlbfs_setattr_size(current, id, h, size)
                .map_err(Some);
        }
        self.shmem_inode(id, Errno::EINVAL)?;
        if size > i64::MAX as u64 {
            return Err(Some(Errno::EINVAL));
        }
        if size > MODEL_MAX_FILE {
            return Err(Some(Errno::EFBIG));
        }
        let old = self.files.get(id).size;
        self.files.get_mut(id).size = size;
        if size < old {
            let holebegin = size.div_ceil(4096);
            let vmas = self.unmap_mapping_range(current, id, holebegin, u64::MAX, true);
            self.shmem_partial_page(id, size);
            let gone = self.shmem_truncate_range(id, holebegin, u64::MAX);
            self.truncate_report = Some(truncate_report(
                "shmem_setattr",
                true,
                holebegin,
                vmas,
                gone,
            ));
        }
        Ok(())
    }

    /// `shmem_undo_range` at a byte offset inside a page: the cached page there has its part
    /// in the range zeroed and is marked dirty (`folio_mark_dirty`). Nothing for a page
    /// boundary or a hole.
    fn shmem_partial_page(&mut self, id: FileId, at: u64) {
        if at.is_multiple_of(4096) {
            return;
        }
        if let Some(&pfn) = self.files.get(id).pages.get(&(at >> 12)) {
            self.mem.page_mut(pfn).flags.insert(PageFlags::DIRTY);
        }
    }

    /// `fallocate` → `vfs_fallocate` → `shmem_fallocate`. Allocation finds or allocates each
    /// page (`SGP_FALLOC`: new pages stay !uptodate, so fault-around skips them), marks it
    /// dirty, and without `keep` grows `i_size`; on failure the pages it added go again.
    /// `punch` (with `keep`, as vfs_fallocate requires) unmaps the whole pages of the range
    /// from every mapping, COW copies kept, and drops them. A hugetlbfs file goes to
    /// `hugetlbfs_fallocate`. The error is always `Some`.
    #[allow(clippy::too_many_arguments)]
    pub fn shmem_fallocate(
        &mut self,
        current: &mut crate::mm_types::Mm,
        id: FileId,
        mode: FMode,
        foff: u64,
        len: u64,
        punch: bool,
        keep: bool,
    ) -> Result<(), Option<Errno>> {
        // vfs_fallocate's checks, in its order.
        if foff > i64::MAX as u64 || len == 0 || len > i64::MAX as u64 {
            return Err(Some(Errno::EINVAL));
        }
        if punch && !keep {
            return Err(Some(Errno::EOPNOTSUPP));
        }
        if !mode.write {
            return Err(Some(Errno::EBADF));
        }
        // An anon inode (perf) is neither a regular file nor a directory.
        if self.files.get(id).huge.is_none() {
            self.shmem_inode(id, Errno::ENODEV)?;
        }
        let end = match foff.checked_add(len) {
            Some(e) if e <= i64::MAX as u64 => e,
            _ => return Err(Some(Errno::EFBIG)),
        };
        if let Some(h) = self.files.get(id).huge {
            return self
                .hugetlbfs_fallocate_op(current, id, h, foff, end, punch, keep)
                .map_err(Some);
        }
        if punch {
            let first = foff.div_ceil(4096);
            let last = end >> 12;
            self.shmem_partial_page(id, foff);
            self.shmem_partial_page(id, end);
            if last > first {
                self.shmem_punch_hole(current, id, first, last);
            }
            return Ok(());
        }
        if end > MODEL_MAX_FILE {
            return Err(Some(Errno::EFBIG));
        }
        let mut added = Vec::new();
        for index in foff >> 12..end.div_ceil(4096) {
            match self.shmem_get_folio(id, index, false) {
                Ok((pfn, new)) => {
                    self.mem.page_mut(pfn).flags.insert(PageFlags::DIRTY);
                    if new {
                        added.push(index);
                    }
                }
                Err(e) => {
                    // shmem_undo_range(unfalloc): the !uptodate pages this call added go.
                    for i in added {
                        self.shmem_truncate_range(id, i, i + 1);
                    }
                    return Err(Some(e));
                }
            }
        }
        if !keep {
            let f = self.files.get_mut(id);
            f.size = f.size.max(end);
        }
        Ok(())
    }

    /// `hugetlbfs_setattr(ATTR_SIZE)` → `hugetlb_vmtruncate`: the size must be whole huge
    /// pages (EINVAL); every mapping of the file, private ones (their COW copies) included,
    /// loses what lies past the new end (`hugetlb_vmdelete_list`), and the page cache and
    /// reservations past it go (`remove_inode_hugepages`), whether the file shrinks or grows.
    fn hugetlbfs_setattr_size(
        &mut self,
        current: &mut crate::mm_types::Mm,
        id: FileId,
        h: crate::hugetlb::HugeSize,
        size: u64,
    ) -> Result<(), Errno> {
        if !size.is_multiple_of(h.bytes()) {
            return Err(Errno::EINVAL);
        }
        if size == self.files.get(id).size {
            return Ok(());
        }
        self.files.get_mut(id).size = size;
        self.hugetlbfs_punch_hole(current, id, size >> h.shift(), u64::MAX);
        Ok(())
    }

    /// `hugetlbfs_fallocate` for a range: `punch` unmaps and drops the whole huge pages of
    /// the range from every mapping, private COW copies included (`hugetlbfs_punch_hole`);
    /// otherwise every huge page the range meets is allocated, and without `keep` the file
    /// grows to its end.
    #[allow(clippy::too_many_arguments)]
    fn hugetlbfs_fallocate_op(
        &mut self,
        current: &mut crate::mm_types::Mm,
        id: FileId,
        h: crate::hugetlb::HugeSize,
        foff: u64,
        end: u64,
        punch: bool,
        keep: bool,
    ) -> Result<(), Errno> {
        if punch {
            let (first, last) = (foff.div_ceil(h.bytes()), end >> h.shift());
            if last > first {
                self.hugetlbfs_punch_hole(current, id, first, last);
            }
            return Ok(());
        }
        if end > MODEL_MAX_FILE {
            return Err(Errno::EFBIG);
        }
        self.hugetlbfs_fallocate_range(id, foff >> h.shift(), end.div_ceil(h.bytes()))?;
        if !keep {
            let f = self.files.get_mut(id);
            f.size = f.size.max(end);
        }
        Ok(())
    }

    /// `fsync`: shmem and hugetlbfs have `noop_fsync`; a perf event has no fsync (`EINVAL`).
    pub fn vfs_fsync(&mut self, id: FileId) -> Result<(), Errno> {
        match self.shmem_inode(id, Errno::EINVAL) {
            Err(Some(e)) => Err(e),
            _ => Ok(()),
        }
    }
}
