//! fs/hugetlbfs/inode.c: the inodes behind hugetlb mappings (`MAP_HUGETLB`'s internal file,
//! `MFD_HUGETLB` memfds), their page cache of huge folios and their reservation maps.
//!
//! A hugetlbfs inode is a [`ShmemFile`](crate::shmem::ShmemFile) with `huge` set: its page
//! cache is keyed by huge page index, it never charges `vm_committed_as`, and its
//! reservations (`resv`) belong to it until it is truncated or evicted.

use crate::arch::Hardware;
use crate::hugetlb::HugeSize;
use crate::mm_types::{FileId, HugetlbVma, Mm, VmFlags, Vma};
use crate::page::{PageFlags, Pfn};
use crate::shmem::FileKind;
use crate::{Errno, Kernel};
use alloc::vec::Vec;

impl<H: Hardware> Kernel<H> {
    /// `hugetlb_file_setup`: a new hugetlbfs inode of `size` bytes with one reference. For
    /// `MAP_HUGETLB` the size is the mapping's length rounded up to the huge page; a memfd
    /// starts empty and is then sized with `ftruncate`, which must be huge page aligned.
    pub fn hugetlb_file_setup(
        &mut self,
        name: &str,
        kind: FileKind,
        size: u64,
        huge: HugeSize,
    ) -> Result<FileId, Errno> {
        if !size.is_multiple_of(huge.bytes()) {
            return Err(Errno::EINVAL); // hugetlbfs_setattr
        }
        let id = self.shmem_file_setup(name, kind, size, true)?;
        let f = self.files.get_mut(id);
        f.huge = Some(huge);
        f.per_page_acct = false;
        Ok(id)
    }

    /// `hugetlbfs_file_mmap`: make `vma` a hugetlb VMA (`VM_HUGETLB | VM_DONTEXPAND`), check
    /// that its file offset is huge page aligned (EINVAL), reserve its pages (ENOMEM when the
    /// pool can't), and grow the file to cover a writable mapping.
    pub(crate) fn hugetlbfs_file_mmap(&mut self, vma: &mut Vma) -> Result<(), Errno> {
        let file = vma.file.expect("hugetlbfs file");
        let size = self.files.get(file).huge.expect("hugetlbfs inode");
        vma.flags |= VmFlags::HUGETLB | VmFlags::DONTEXPAND;
        vma.hugetlb = Some(HugetlbVma {
            size,
            resv: None,
            unmapped: false,
            lock: vma.flags.contains(VmFlags::MAYSHARE),
        });
        if !vma.pgoff.is_multiple_of(size.pages()) {
            return Err(Errno::EINVAL);
        }
        let from = vma.pgoff >> size.order();
        let to = from + ((vma.end - vma.start) >> size.shift());
        let resv = self.hugetlb_reserve_pages(file, from, to, vma.flags)?;
        if let Some(h) = vma.hugetlb.as_mut() {
            h.resv = resv;
        }
        let end = (vma.pgoff << 12) + (vma.end - vma.start);
        let f = self.files.get_mut(file);
        if vma.flags.contains(VmFlags::WRITE) && f.size < end {
            f.size = end;
        }
        Ok(())
    }

    /// `hugetlb_add_to_page_cache`: a new folio becomes page `idx` of `file` (the cache's
    /// reference; the folio is dirty, as hugetlbfs has no backing store).
    pub(crate) fn hugetlb_add_to_page_cache(&mut self, file: FileId, idx: u64, pfn: Pfn) {
        let p = self.mem.page_mut(pfn);
        p.flags |= PageFlags::PAGECACHE | PageFlags::UPTODATE | PageFlags::DIRTY;
        p.mapping = file;
        p.index = idx as u32;
        self.files.get_mut(file).pages.insert(idx, pfn);
    }

    /// `hugetlbfs_fallocate` over the whole file (`memfd ... hugetlb fill`): every missing
    /// huge page is allocated into the page cache, consuming the inode's reservation where it
    /// has one and an unreserved free folio otherwise (ENOSPC when there is none).
    pub fn hugetlbfs_fallocate(&mut self, file: FileId) -> Result<(), Errno> {
        let f = self.files.get(file);
        let n = f.size >> f.huge.expect("hugetlbfs inode").shift();
        self.hugetlbfs_fallocate_range(file, 0, n)
    }

    /// `hugetlbfs_fallocate`'s allocation loop over the huge pages `[from, to)`: each
    /// missing page is allocated into the page cache, consuming the inode's reservation
    /// where it has one and an unreserved free folio otherwise (ENOSPC when there is none;
    /// the pages allocated before stay).
    pub(crate) fn hugetlbfs_fallocate_range(
        &mut self,
        file: FileId,
        from: u64,
        to: u64,
    ) -> Result<(), Errno> {
        let size = self.files.get(file).huge.expect("hugetlbfs inode");
        for idx in from..to {
            if self.files.get(file).pages.contains_key(&idx) {
                continue;
            }
            // The pseudo VMA of hugetlbfs_fallocate is shared: the inode's map decides.
            let reserved = self.files.get(file).resv.contains(&idx);
            let pfn = self
                .dequeue_hugetlb_folio(size, reserved)
                .ok_or(Errno::ENOSPC)?;
            let p = self.mem.page_mut(pfn);
            p.flags = PageFlags::HUGETLB;
            if size == HugeSize::Huge1G {
                p.flags.insert(PageFlags::HUGE_1G);
            }
            self.files.get_mut(file).resv.insert(idx);
            self.hugetlb_add_to_page_cache(file, idx, pfn);
        }
        Ok(())
    }

    /// `hugetlbfs_punch_hole` (`MADV_REMOVE`) of the huge pages `[first, last)` of `file`:
    /// unmapped from every mapping of the file (private COW copies included:
    /// `hugetlb_vmdelete_list`), taken out of the page cache, and each removed page's
    /// reservation entry dropped (`hugetlb_unreserve_pages`). `current` is the caller's mm,
    /// lent out while it runs.
    pub(crate) fn hugetlbfs_punch_hole(
        &mut self,
        current: &mut Mm,
        file: FileId,
        first: u64,
        last: u64,
    ) {
        let order = self.files.get(file).huge.expect("hugetlbfs inode").order();
        let pages = |i: u64| {
            i.checked_shl(order)
                .filter(|p| p >> order == i)
                .unwrap_or(u64::MAX)
        };
        // hugetlb_vmdelete_list: the i_mmap walk, in base pages (every mapping, private COW
        // copies included: the hugetlb zap does not tell them apart).
        self.unmap_mapping_range(current, file, pages(first), pages(last), true);
        self.remove_inode_hugepages(file, first, last);
    }

    /// `remove_inode_hugepages` + `hugetlb_unreserve_pages`: the cached pages of `[first,
    /// last)` leave the page cache (freed when nobody maps them). A hole punch drops one
    /// reservation entry per removed page; truncation and eviction (`last == u64::MAX`)
    /// drop every entry from `first`, and the reservations no page consumed come back.
    pub(crate) fn remove_inode_hugepages(&mut self, file: FileId, first: u64, last: u64) {
        let f = self.files.get_mut(file);
        let size = f.huge.expect("hugetlbfs inode");
        let gone: Vec<(u64, Pfn)> = f.pages.range(first..last).map(|(i, p)| (i, *p)).collect();
        for (i, _) in &gone {
            f.pages.remove(i);
        }
        let freed = gone.len() as i64;
        let chg = if last == u64::MAX {
            let n = f.resv.range(first..).count() as i64;
            f.resv.retain(|&i| i < first);
            n
        } else {
            for (i, _) in &gone {
                f.resv.remove(i);
            }
            freed
        };
        for (_, pfn) in gone {
            self.mem.page_mut(pfn).flags.remove(PageFlags::PAGECACHE);
            self.put_huge_folio(pfn);
        }
        self.hugetlb_acct_memory(size, -(chg - freed))
            .expect("giving back cannot fail");
    }
}
