//! fs/proc/task_mmu.c: the figures of `/proc/PID/status` (`task_mem`) and of
//! `/proc/PID/smaps` (`smap_gather_stats`), computed from the structures. Formatting them as
//! text is the simulator's business.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags, Vma, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS};
use crate::page::PageFlags;
use crate::pgtable::{self as pt, PAGE_SIZE};
use crate::Kernel;
use alloc::string::String;

/// `/proc/PID/status` memory lines, in kB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TaskMem {
    pub vm_size: i64,
    pub vm_rss: i64,
    pub rss_anon: i64,
    pub rss_file: i64,
    pub rss_shmem: i64,
    pub vm_pte: i64,
    pub vm_lck: i64,
    pub vm_pin: i64,
    pub vm_data: i64,
    pub vm_stk: i64,
    pub vm_exe: i64,
    pub vm_lib: i64,
    pub vm_swap: i64,
    pub hugetlb_pages: i64,
}

/// `PSS_SHIFT`: Pss is summed with this many fractional bits.
pub const PSS_SHIFT: u32 = 12;

/// `struct mem_size_stats` for one VMA, in bytes (pss fields shifted by [`PSS_SHIFT`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SmapsStats {
    pub resident: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub referenced: u64,
    pub anonymous: u64,
    pub lazyfree: u64,
    pub swap: u64,
    pub anon_huge: u64,
    pub pss_locked: u64,
    pub shared_hugetlb: u64,
    pub private_hugetlb: u64,
}

/// One line of `/proc/PID/maps` with its smaps figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapsEntry {
    /// The VMA.
    pub vma: Vma,
    /// `rwxp`/`rwxs`.
    pub perms: String,
    /// File offset in bytes (0 for anonymous memory).
    pub offset: u64,
    /// The path shown, if any.
    pub name: Option<String>,
    /// smaps figures.
    pub stats: SmapsStats,
    /// `KernelPageSize` (and `MMUPageSize`), in bytes: the huge page size of a hugetlb VMA.
    pub page_size: u64,
}

impl<H: Hardware> Kernel<H> {
    /// `task_mem`.
    pub fn task_mem(&self, mm: &Mm) -> TaskMem {
        let kb = |pages: i64| pages * (PAGE_SIZE as i64 / 1024);
        let anon = mm.rss[MM_ANONPAGES];
        let file = mm.rss[MM_FILEPAGES];
        let shmem = mm.rss[MM_SHMEMPAGES];
        TaskMem {
            vm_size: kb(mm.total_vm),
            vm_rss: kb(anon + file + shmem),
            rss_anon: kb(anon),
            rss_file: kb(file),
            rss_shmem: kb(shmem),
            vm_pte: (mm.pgtables_bytes - self.xol_only_tables(mm)) >> 10,
            vm_lck: kb(mm.locked_vm),
            vm_pin: kb(mm.pinned_vm),
            vm_data: kb(mm.data_vm),
            vm_stk: kb(mm.stack_vm),
            vm_exe: 0,
            vm_lib: kb(mm.exec_vm),
            vm_swap: kb(mm.rss[MM_SWAPENTS]),
            hugetlb_pages: kb(mm.hugetlb_usage),
        }
    }

    /// Bytes of page tables on the path to the XOL page that nothing but the `[uprobes]` VMA
    /// needs. A real process has its stack in the same 2 MiB at the top of the address space,
    /// so those tables exist before the XOL area does and `VmPTE` does not move when it comes;
    /// the model's process has no stack, so its status leaves them out (they are real tables
    /// all the same: counted, walked and freed like any other).
    pub fn xol_only_tables(&self, mm: &Mm) -> i64 {
        let Some(area) = mm.xol_area else { return 0 };
        let mut bytes = 0;
        let mut t = mm.pgd;
        for (level, shift) in [
            (pt::Level::Pgd, pt::PGDIR_SHIFT),
            (pt::Level::Pud, pt::PUD_SHIFT),
            (pt::Level::Pmd, pt::PMD_SHIFT),
        ] {
            let e = self.hw.table(t)[level.index(area.vaddr)];
            if !pt::present(e) || pt::leaf(e) {
                break;
            }
            let span = area.vaddr & !((1u64 << shift) - 1);
            let others = mm
                .vmas
                .range(..span.wrapping_add(1u64 << shift))
                .any(|(_, v)| v.end > span && v.start != area.vaddr);
            if !others {
                bytes += PAGE_SIZE as i64;
            }
            t = pt::pfn_of(e);
        }
        bytes
    }

    /// `smap_gather_stats` + `smaps_pte_entry` + `smaps_account` for one VMA.
    pub fn smaps_vma(&self, mm: &Mm, vma: &Vma) -> SmapsStats {
        let mut s = SmapsStats::default();
        if vma.hugetlb.is_some() {
            // Only smaps_hugetlb_range runs for a hugetlb VMA: nothing of it is in Rss.
            (s.shared_hugetlb, s.private_hugetlb) = self.smaps_hugetlb(mm, vma);
            return s;
        }
        let locked = vma.flags.contains(VmFlags::LOCKED);
        // smap_gather_stats: a shmem mapping's swapped-out pages (shmem_swap_usage over its
        // range; where a private writable one has a page of its own, that page is not counted).
        if let Some(f) = vma.file.map(|f| self.files.get(f)) {
            let private_w = vma.flags & (VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE;
            for &idx in f
                .swapped
                .range(vma.pgoff..vma.pgoff + vma.pages())
                .map(|(i, _)| i)
            {
                let addr = vma.start + ((idx - vma.pgoff) << 12);
                if !private_w || pt::none(self.pte_at(mm, addr)) {
                    s.swap += PAGE_SIZE;
                }
            }
        }
        let mut a = vma.start;
        while a < vma.end {
            let next = pt::addr_end(a, vma.end, pt::PMD_SHIFT);
            if let Some(e) = self.pmd_leaf_at(mm, a) {
                // smaps_pmd_entry: the huge zero page counts nowhere; a THP is AnonHugePages
                // and, frame by frame, what 512 PTEs with the PMD's bits would be.
                if !self.is_huge_zero_pmd(e) {
                    s.anon_huge += pt::PMD_SIZE;
                    let head = pt::pfn_of(e);
                    for f in head..head + crate::huge_memory::HPAGE_PMD_NR {
                        let pte = pt::mk_pte(f, e & pt::RW != 0, e & pt::DIRTY != 0, false)
                            & !(!e & pt::ACCESSED);
                        self.smaps_page(&mut s, pte, locked);
                    }
                }
                a = next;
                continue;
            }
            let Some(t) = self.pte_table(mm, a) else {
                a = next;
                continue;
            };
            let first = pt::Level::Pte.index(a);
            let n = ((next - a) >> 12) as usize;
            for &e in &self.hw.table(t)[first..first + n] {
                self.smaps_pte_entry(&mut s, e, locked);
            }
            a = next;
        }
        s
    }

    /// `smaps_pte_entry` + `smaps_account` for the one PTE mapping `addr` in `vma` (a base
    /// page's share of the VMA's smaps figures; nothing for a hole or a huge mapping).
    pub fn smaps_pte(&self, mm: &Mm, vma: &Vma, addr: u64) -> SmapsStats {
        let mut s = SmapsStats::default();
        if vma.hugetlb.is_none() && self.pmd_leaf_at(mm, addr).is_none() {
            if let Some(t) = self.pte_table(mm, addr) {
                let e = self.hw.table(t)[pt::Level::Pte.index(addr)];
                self.smaps_pte_entry(&mut s, e, vma.flags.contains(VmFlags::LOCKED));
            }
        }
        s
    }

    /// `smaps_pte_entry`: a swap entry is Swap, not Rss; a present one is accounted.
    fn smaps_pte_entry(&self, s: &mut SmapsStats, e: u64, locked: bool) {
        if pt::is_swap(e) {
            s.swap += PAGE_SIZE;
        } else {
            self.smaps_page(s, e, locked);
        }
    }

    /// `smaps_account` for one present entry `e` (a PTE, or one frame of a THP's PMD).
    fn smaps_page(&self, s: &mut SmapsStats, e: u64, locked: bool) {
        if !pt::present(e) || e & pt::SPECIAL != 0 {
            return; // vm_normal_page() is NULL for the zero page
        }
        let page = self.mem.page(pt::pfn_of(e));
        let size = PAGE_SIZE;
        let dirty = e & pt::DIRTY != 0 || page.flags.contains(PageFlags::DIRTY);
        if page.flags.contains(PageFlags::ANON) {
            s.anonymous += size;
            if !page.flags.contains(PageFlags::SWAPBACKED) && !dirty {
                s.lazyfree += size;
            }
        }
        s.resident += size;
        if e & pt::ACCESSED != 0 || page.flags.contains(PageFlags::REFERENCED) {
            s.referenced += size;
        }
        let (pss, private) = if page.refcount == 1 {
            (size << PSS_SHIFT, true)
        } else {
            let mc = page.mapcount.max(1) as u64;
            ((size << PSS_SHIFT) / if mc >= 2 { mc } else { 1 }, mc < 2)
        };
        s.pss += pss;
        match (dirty, private) {
            (true, true) => s.private_dirty += size,
            (true, false) => s.shared_dirty += size,
            (false, true) => s.private_clean += size,
            (false, false) => s.shared_clean += size,
        }
        if locked {
            s.pss_locked += pss;
        }
    }

    /// `/proc/PID/maps` (and smaps) entries for every VMA of `mm` in `[lo, hi)`.
    pub fn maps(&self, mm: &Mm, lo: u64, hi: u64) -> alloc::vec::Vec<MapsEntry> {
        mm.vmas
            .range(lo..hi)
            .map(|(_, v)| {
                let mut perms = String::new();
                perms.push(if v.flags.contains(VmFlags::READ) {
                    'r'
                } else {
                    '-'
                });
                perms.push(if v.flags.contains(VmFlags::WRITE) {
                    'w'
                } else {
                    '-'
                });
                perms.push(if v.flags.contains(VmFlags::EXEC) {
                    'x'
                } else {
                    '-'
                });
                perms.push(if v.flags.contains(VmFlags::MAYSHARE) {
                    's'
                } else {
                    'p'
                });
                let (offset, name) = match v.file {
                    Some(f) => (v.pgoff << 12, Some(self.files.get(f).maps_name())),
                    // vma_is_initial_heap: an anonymous VMA meeting [start_brk, brk).
                    None if v.start < mm.brk && v.end > mm.start_brk => {
                        (0, Some(String::from("[heap]")))
                    }
                    None => (0, None),
                };
                MapsEntry {
                    vma: v.clone(),
                    perms,
                    offset,
                    name,
                    stats: self.smaps_vma(mm, v),
                    page_size: v.hugetlb.map_or(PAGE_SIZE, |h| h.size.bytes()),
                }
            })
            .collect()
    }
}
