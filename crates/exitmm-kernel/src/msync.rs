//! `msync(2)` (mm/msync.c, 6.18).
//!
//! The model's files are shmem and hugetlbfs inodes, whose `fsync` is `noop_fsync`: `MS_SYNC`
//! writes nothing back and leaves every dirty bit (PTE and page) as it was, as on the kernel.
//! What msync does decide is its answer: `EINVAL` for bad flags or a misaligned start,
//! `ENOMEM` over unmapped ranges (after doing the rest), `EBUSY` for `MS_INVALIDATE` over a
//! locked VMA, and the file's own fsync error for a shared mapping of a file without one.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags};
use crate::{Errno, Kernel};

/// `MS_ASYNC`.
pub const MS_ASYNC: u64 = 1;
/// `MS_INVALIDATE`.
pub const MS_INVALIDATE: u64 = 2;
/// `MS_SYNC`.
pub const MS_SYNC: u64 = 4;

impl<H: Hardware> Kernel<H> {
    /// `SYSCALL_DEFINE3(msync)` (6.18): walk the VMAs of `[start, start + len)` under the
    /// mmap read lock; `vfs_fsync_range` for the shared file mappings with `MS_SYNC`.
    pub fn sys_msync(&mut self, mm: &Mm, start: u64, len: u64, flags: u64) -> Result<(), Errno> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || start & 0xfff != 0
            || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        let len = len.checked_add(0xfff).ok_or(Errno::ENOMEM)? & !0xfff;
        let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
        if end == start {
            return Ok(());
        }
        let mut start = start;
        let mut unmapped = Ok(());
        let mut vma = mm.find_vma(start).cloned();
        loop {
            let Some(v) = vma else {
                return Err(Errno::ENOMEM);
            };
            if start < v.start {
                if flags == MS_ASYNC {
                    return Err(Errno::ENOMEM);
                }
                start = v.start;
                if start >= end {
                    return Err(Errno::ENOMEM);
                }
                unmapped = Err(Errno::ENOMEM);
            }
            if flags & MS_INVALIDATE != 0 && v.flags.contains(VmFlags::LOCKED) {
                return Err(Errno::EBUSY);
            }
            start = v.end;
            if flags & MS_SYNC != 0 && v.flags.contains(VmFlags::SHARED) {
                if let Some(f) = v.file {
                    self.vfs_fsync(f)?;
                }
            }
            if start >= end {
                return unmapped;
            }
            vma = mm.find_vma(start).cloned();
        }
    }
}
