//! System V shared memory (ipc/shm.c, 6.18): segments, attachments and their destruction.
//!
//! A segment is a shmem (or hugetlbfs) inode made by `newseg`, named `SYSV<key>` (key 0 for
//! `IPC_PRIVATE`), held by the segment itself until it is destroyed. Each attachment is a
//! shared mapping of it whose `vm_ops` are `shm_vm_ops`: their `open` (mmap, split, fork)
//! and `close` (munmap, exit) count `shm_nattch`, which the model reads off the inode's
//! references (every reference but the segment's own is an attachment VMA, since no
//! descriptor of a segment is ever handed out). `IPC_RMID` marks the segment `SHM_DEST`; it is
//! destroyed at once if nothing is attached, else by the `shm_close` of its last attachment,
//! which is how an exiting process's `remove_vma` can free a segment.

use crate::arch::Hardware;
use crate::mm_types::{FileId, Mm, VmFlags};
use crate::mmap::{MapFlags, Prot};
use crate::shmem::{FMode, FileKind};
use crate::{Errno, Kernel};
use alloc::vec::Vec;

/// `SHMLBA` on x86-64: attach addresses are page aligned.
pub const SHMLBA: u64 = 4096;

/// Index of a segment (its `shmid` in a fresh IPC namespace).
pub type ShmId = u32;

/// One segment (`struct shmid_kernel`).
#[derive(Clone, Debug)]
pub struct ShmSegment {
    /// `shm_file`: the inode behind it.
    pub file: FileId,
    /// `shm_segsz`: the size asked for, in bytes.
    pub segsz: u64,
    /// `SHM_DEST`: `IPC_RMID` was called; it goes with its last attachment.
    pub dest: bool,
}

/// What `IPC_STAT` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmStat {
    /// `shm_nattch`.
    pub nattch: u32,
    /// `shm_segsz`.
    pub segsz: u64,
}

impl<H: Hardware> Kernel<H> {
    /// `ksys_shmget(IPC_PRIVATE, size, IPC_CREAT | 0600 [| SHM_HUGETLB])` → `newseg`: a new
    /// segment. Its shmem inode charges the whole size to `Committed_AS` now (no
    /// `SHM_NORESERVE`); a hugetlb one reserves its huge pages instead (`ENOMEM` if the pool
    /// cannot). `EINVAL` for a size below `SHMMIN` (1).
    pub fn newseg(
        &mut self,
        size: u64,
        huge: Option<crate::hugetlb::HugeSize>,
    ) -> Result<ShmId, Errno> {
        if size == 0 || size > u64::MAX - (1 << 24) {
            return Err(Errno::EINVAL); // SHMMIN, SHMMAX
        }
        let file = match huge {
            None => self.shmem_file_setup("SYSV00000000", FileKind::SysvShm, size, false)?,
            Some(h) => {
                let hugesize = size
                    .checked_next_multiple_of(h.bytes())
                    .ok_or(Errno::EINVAL)?;
                let f = self.hugetlb_file_setup("SYSV00000000", FileKind::SysvShm, hugesize, h)?;
                // hugetlb_file_setup reserves the whole file (hugetlb_reserve_pages without a
                // VMA: in the inode's map).
                let pages = hugesize >> h.shift();
                if let Err(e) = self.hugetlb_reserve_pages(f, 0, pages, VmFlags::MAYSHARE) {
                    self.fput(f);
                    self.task_work_run();
                    return Err(e);
                }
                f
            }
        };
        let seg = ShmSegment {
            file,
            segsz: size,
            dest: false,
        };
        // ipc_addid: a new id each time (the kernel's ids carry a sequence number, so an id
        // of a destroyed segment never names another).
        self.shm_segs.push(Some(seg));
        let id = self.shm_segs.len() - 1;
        Ok(id as ShmId)
    }

    /// `shm_obtain_object_check`: the live segment `id`, or `EINVAL`.
    fn shm_seg(&self, id: ShmId) -> Result<&ShmSegment, Errno> {
        self.shm_segs
            .get(id as usize)
            .and_then(|s| s.as_ref())
            .ok_or(Errno::EINVAL)
    }

    /// `shmctl(IPC_STAT)`: `shm_nattch` (the attachments, read off the inode's references)
    /// and `shm_segsz`; `EINVAL` once the segment is gone.
    pub fn shm_stat(&self, id: ShmId) -> Result<ShmStat, Errno> {
        let s = self.shm_seg(id)?;
        Ok(ShmStat {
            nattch: self.files.get(s.file).refs - 1,
            segsz: s.segsz,
        })
    }

    /// `do_shmat(id, addr, SHM_RDONLY?)`: map the segment shared at `addr` (`MAP_FIXED`),
    /// read-only through a read-only file for `rdonly`. `EINVAL` for a misaligned address or
    /// one whose range meets a mapping (no `SHM_REMAP`); do_mmap's own errors pass through.
    pub fn do_shmat(
        &mut self,
        mm: &mut Mm,
        id: ShmId,
        addr: u64,
        rdonly: bool,
    ) -> Result<(), Errno> {
        if addr & (SHMLBA - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let file = self.shm_seg(id)?.file;
        // i_size of the segment's inode (the huge-page-rounded size for hugetlb).
        let size = self.files.get(file).size;
        let end = addr.checked_add(size).ok_or(Errno::EINVAL)?;
        if mm.find_vma(addr).is_some_and(|v| v.start < end) {
            return Err(Errno::EINVAL);
        }
        let prot = Prot {
            read: true,
            write: !rdonly,
            exec: false,
        };
        let flags = MapFlags {
            shared: true,
            fixed: true,
            fmode: FMode {
                read: true,
                write: !rdonly,
            },
            ..MapFlags::default()
        };
        self.do_mmap(mm, addr, size, prot, flags, Some(file), 0)?;
        // shm_mmap: the new VMA's vm_ops are shm_vm_ops.
        if let Some(v) = mm.vmas.get_mut(&addr) {
            v.shm = true;
        }
        Ok(())
    }

    /// `ksys_shmdt(addr)`: unmap the attachment that starts at `addr` (the first shm VMA at
    /// or after it whose offset from `addr` is its file offset), then every other VMA of
    /// the same segment that starts at its offset from `addr` within the segment's size.
    /// `EINVAL` if there is none. Says which segment it was.
    pub fn ksys_shmdt(&mut self, mm: &mut Mm, addr: u64) -> Result<Option<ShmId>, Errno> {
        if addr & 0xfff != 0 {
            return Err(Errno::EINVAL);
        }
        let at_offset =
            |v: &crate::mm_types::Vma| v.shm && v.start.wrapping_sub(addr) / 4096 == v.pgoff;
        let Some(first) = mm
            .vmas
            .range(addr..)
            .map(|(_, v)| v)
            .find(|v| at_offset(v))
            .cloned()
        else {
            return Err(Errno::EINVAL);
        };
        let file = first.file.expect("an shm VMA has its file");
        let seg = self.shm_of_file(file);
        let size = self.files.get(file).size.next_multiple_of(4096);
        let _ = self.do_munmap(mm, first.start, first.end - first.start);
        let rest: Vec<(u64, u64)> = mm
            .vmas
            .range(first.end..)
            .map(|(_, v)| v)
            .take_while(|v| v.end - addr <= size)
            .filter(|v| at_offset(v) && v.file == Some(file))
            .map(|v| (v.start, v.end))
            .collect();
        for (s, e) in rest {
            let _ = self.do_munmap(mm, s, e - s);
        }
        Ok(seg)
    }

    /// `shmctl(IPC_RMID)` → `do_shm_rmid`: destroyed at once when nothing is attached, else
    /// marked `SHM_DEST` (its last `shm_close` destroys it).
    pub fn do_shm_rmid(&mut self, id: ShmId) -> Result<(), Errno> {
        let nattch = self.shm_stat(id)?.nattch;
        if nattch == 0 {
            self.shm_destroy(id);
        } else if let Some(s) = self.shm_segs[id as usize].as_mut() {
            s.dest = true;
        }
        Ok(())
    }

    /// `shm_close`, the `vm_ops->close` of an attachment, after its reference went: if it
    /// was the last attachment of a segment marked `SHM_DEST`, the segment is destroyed.
    /// True if it was.
    pub(crate) fn shm_close(&mut self, file: FileId) -> bool {
        let Some(id) = self
            .shm_segs
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.file == file))
        else {
            return false;
        };
        let seg = self.shm_segs[id].as_ref().expect("just found");
        if seg.dest && self.files.get(file).refs == 1 {
            self.shm_destroy(id as ShmId);
            return true;
        }
        false
    }

    /// `shm_destroy`: the segment leaves the table and drops its inode (`fput`, released
    /// with the task's work: the shmem charge comes back at eviction).
    fn shm_destroy(&mut self, id: ShmId) {
        if let Some(s) = self.shm_segs[id as usize].take() {
            self.fput(s.file);
        }
    }

    /// The segment a file is the inode of, if any.
    pub fn shm_of_file(&self, file: FileId) -> Option<ShmId> {
        self.shm_segs
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.file == file))
            .map(|i| i as ShmId)
    }
}
