//! A simulated device region (`iomap`): physical memory above RAM with a memory type, mapped by
//! its driver's `mmap` with `io_remap_pfn_range`, as a PCI BAR or a frame buffer is. No
//! `struct page` stands behind it: every entry is a raw PFN, and PAT tracks its type.

use crate::arch::Hardware;
use crate::mm_types::{FileId, Mm, Vma};
use crate::pat::CacheMode;
use crate::{Errno, Kernel};

/// One device region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoRegion {
    /// First PFN (above RAM).
    pub base_pfn: u64,
    /// Size in pages.
    pub pages: u64,
    /// The memory type the driver maps it with (`pgprot_noncached` → UC-,
    /// `pgprot_writecombine` → WC, or write-back).
    pub mode: CacheMode,
}

impl<H: Hardware> Kernel<H> {
    /// Registers a device region of `size` bytes with memory type `mode` at the next free
    /// physical address above RAM, and opens its device file (one reference).
    pub fn iomap_create(
        &mut self,
        name: &str,
        size: u64,
        mode: CacheMode,
    ) -> Result<FileId, Errno> {
        let pages = size.div_ceil(4096);
        let base = self.iomem_next;
        let end = base
            .checked_add(pages << 12)
            .filter(|e| *e <= (crate::pgtable::PFN_MASK + 4096))
            .ok_or(Errno::ENOMEM)?;
        // The model's frame numbers are 32 bits wide.
        if (end >> 12) > u32::MAX as u64 {
            return Err(Errno::ENOMEM);
        }
        let id = self.shmem_file_setup(name, crate::shmem::FileKind::Device, size, true)?;
        self.files.get_mut(id).driver = Some(crate::shmem::Driver::Iomap(IoRegion {
            base_pfn: base >> 12,
            pages,
            mode,
        }));
        self.iomem_next = end.next_multiple_of(1 << 21);
        Ok(id)
    }

    /// The driver's `mmap`: `io_remap_pfn_range` of the whole VMA from the region's page at
    /// the VMA's offset (beyond the region: `EINVAL`).
    pub(crate) fn iomap_mmap(&mut self, mm: &mut Mm, vma: &mut Vma) -> Result<(), Errno> {
        let file = vma.file.expect("device VMA has its file");
        let r = match self.files.get(file).driver {
            Some(crate::shmem::Driver::Iomap(r)) => r,
            _ => unreachable!("not a device file"),
        };
        if vma
            .pgoff
            .checked_add(vma.pages())
            .is_none_or(|e| e > r.pages)
        {
            return Err(Errno::EINVAL);
        }
        let (start, pages) = (vma.start, vma.pages());
        let write = vma
            .flags
            .contains(crate::mm_types::VmFlags::SHARED | crate::mm_types::VmFlags::WRITE);
        self.remap_pfn_range(mm, vma, start, r.base_pfn + vma.pgoff, pages, write, r.mode)
    }
}
