//! x86 PAT memory-type tracking (arch/x86/mm/pat/memtype.c, memtype_interval.c) and the
//! PFN-map tracking built on it (mm/memory.c's `remap_pfn_range` hooks).
//!
//! The memtype tree holds one entry per reservation of non-RAM physical memory, overlapping
//! entries allowed when their types agree. RAM is never entered: its type lives in the page
//! (and the model's RAM is all write-back). Two generations of the VMA side are modelled, chosen
//! by [`crate::Config::pat`]:
//! - [`PatTracking::VmPat`] (5.10, the seed's): `track_pfn_remap` reserves for a mapping of a
//!   whole VMA and sets `VM_PAT`; `unmap_single_vma` calls `untrack_pfn`, which finds the
//!   physical address by walking the page table (so it must run before the zap) and frees the
//!   VMA's current size; fork reserves again (`track_pfn_copy`); mremap moves `VM_PAT` to the new
//!   VMA (`untrack_pfn_moved`); a split copies `VM_PAT` to both halves, and a half that is not the
//!   tail of the reservation cannot free it (5.10's `memtype_erase` knows only an exact or an
//!   end match): the kernel says "freeing invalid memtype" and the reservation stays for good.
//! - [`PatTracking::TrackCtx`] (6.16+, as this host's 6.18): the reservation belongs to a
//!   refcounted `pfnmap_track_ctx` that split, fork and mremap share (`vm_area_dup`), released
//!   by `vm_area_free` of the last VMA holding it; `unmap_single_vma` no longer untracks.

use crate::arch::Hardware;
use crate::mm_types::{Mm, VmFlags, Vma};
use crate::{Errno, Kernel};
use alloc::string::String;
use alloc::vec::Vec;

/// A cache mode (`enum page_cache_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheMode {
    /// `_PAGE_CACHE_MODE_WB`.
    Wb,
    /// `_PAGE_CACHE_MODE_WC`.
    Wc,
    /// `_PAGE_CACHE_MODE_UC_MINUS`.
    UcMinus,
    /// `_PAGE_CACHE_MODE_UC`.
    Uc,
    /// `_PAGE_CACHE_MODE_WT`.
    Wt,
    /// `_PAGE_CACHE_MODE_WP`.
    Wp,
}

impl CacheMode {
    /// `cattr_name`: the name `pat_memtype_list` prints.
    pub fn name(self) -> &'static str {
        match self {
            CacheMode::Uc => "uncached",
            CacheMode::UcMinus => "uncached-minus",
            CacheMode::Wb => "write-back",
            CacheMode::Wc => "write-combining",
            CacheMode::Wt => "write-through",
            CacheMode::Wp => "write-protected",
        }
    }

    /// The PTE's cache bits for this mode with the PAT MSR Linux programs (`pat_bp_init`:
    /// WB, WC, UC-, UC, WB, WP, UC-, WT): index 0..=3 are PWT/PCD combinations, WP and WT need
    /// the PAT bit (7).
    pub fn pte_bits(self) -> u64 {
        const PWT: u64 = 1 << 3;
        const PCD: u64 = 1 << 4;
        const PAT: u64 = 1 << 7;
        match self {
            CacheMode::Wb => 0,
            CacheMode::Wc => PWT,
            CacheMode::UcMinus => PCD,
            CacheMode::Uc => PCD | PWT,
            CacheMode::Wp => PAT | PWT,
            CacheMode::Wt => PAT | PCD | PWT,
        }
    }

    /// The mode encoded in a PTE's cache bits.
    pub fn from_pte(e: u64) -> CacheMode {
        let i = ((e >> 3) & 3) | ((e >> 5) & 4);
        match i {
            0 | 4 => CacheMode::Wb,
            1 => CacheMode::Wc,
            2 | 6 => CacheMode::UcMinus,
            3 => CacheMode::Uc,
            5 => CacheMode::Wp,
            _ => CacheMode::Wt,
        }
    }
}

/// Which kernel's PFN-map tracking the model follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PatTracking {
    /// 5.10: `VM_PAT`, `untrack_pfn` in `unmap_single_vma`, `track_pfn_copy` at fork.
    #[default]
    VmPat,
    /// 6.16+: a refcounted `pfnmap_track_ctx` released by `vm_area_free`.
    TrackCtx,
}

/// One reservation (`struct memtype`): physical `[start, end)` with its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memtype {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The type it was reserved with.
    pub mode: CacheMode,
}

/// A 6.16+ `struct pfnmap_track_ctx`: the reservation of a whole-VMA `remap_pfn_range`, shared
/// by every VMA copied from that VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PfnmapTrackCtx {
    /// `kref`: VMAs holding it.
    pub refs: u32,
    /// First PFN reserved.
    pub pfn: u64,
    /// Bytes reserved.
    pub size: u64,
}

/// Index of a tracking context in [`Pat::ctxs`].
pub type CtxId = u32;

/// The PAT state of the machine: the memtype tree, the 6.16+ tracking contexts, and what the
/// kernel said and leaked on the way.
#[derive(Clone, Debug, Default)]
pub struct Pat {
    /// `memtype_rbroot`, in start order (equal starts in insertion order).
    pub tree: Vec<Memtype>,
    /// `pfnmap_track_ctx` objects by id; a freed one is `None`.
    pub ctxs: Vec<Option<PfnmapTrackCtx>>,
    /// Physical ranges whose free failed in 5.10's tracking (a split VMA that is not the tail
    /// of its reservation): the entries they overlap are the kernel's own leak, and
    /// `check_invariants` accepts exactly those as unowned.
    pub leaked: Vec<(u64, u64)>,
    /// Messages the PAT code printed (`pr_info`/`WARN`), oldest first; taken by the reporter.
    pub log: Vec<String>,
}

impl Pat {
    /// `memtype_check_conflict`: the type a new reservation of `[start, end)` asking for `req`
    /// gets. With no overlap: `req`. Overlapping entries all of one type: that type when the
    /// caller takes another (`new_type` given), else `EBUSY`; entries of two types: `EBUSY`.
    fn check_conflict(
        &self,
        start: u64,
        end: u64,
        req: CacheMode,
        takes_other: bool,
    ) -> Result<CacheMode, Errno> {
        let mut found: Option<CacheMode> = None;
        for m in self.tree.iter().filter(|m| m.start < end && start < m.end) {
            match found {
                None => found = Some(m.mode),
                Some(t) if t != m.mode => return Err(Errno::EBUSY),
                Some(_) => {}
            }
        }
        match found {
            None => Ok(req),
            Some(t) if t == req => Ok(t),
            Some(t) if takes_other => Ok(t),
            Some(_) => Err(Errno::EBUSY),
        }
    }

    /// `memtype_erase` (6.18: an exact match only; 5.10 also an end match, which shrinks the
    /// entry, for the tail of a split mapping).
    fn erase(&mut self, start: u64, end: u64, end_match: bool) -> Result<(), Errno> {
        if let Some(i) = self
            .tree
            .iter()
            .position(|m| m.start == start && m.end == end)
        {
            self.tree.remove(i);
            return Ok(());
        }
        if end_match {
            if let Some(m) = self
                .tree
                .iter_mut()
                .find(|m| m.start < start && m.end == end)
            {
                m.end = start;
                return Ok(());
            }
        }
        Err(Errno::EINVAL)
    }

    /// The entries covering the page at `paddr` (for `lookup_memtype`).
    fn lookup(&self, paddr: u64) -> Option<CacheMode> {
        self.tree
            .iter()
            .find(|m| m.start <= paddr && paddr < m.end)
            .map(|m| m.mode)
    }
}

/// `is_new_memtype_allowed`: whether a mapping that asked for `req` may use `got` instead.
pub fn is_new_memtype_allowed(req: CacheMode, got: CacheMode) -> bool {
    !matches!(
        (req, got),
        (CacheMode::UcMinus, CacheMode::Wb)
            | (CacheMode::Wc, CacheMode::Wb)
            | (CacheMode::Wt, CacheMode::Wb)
            | (CacheMode::Wt, CacheMode::Wc)
    )
}

impl<H: Hardware> Kernel<H> {
    /// `pat_pagerange_is_ram`: 1 if `[start, end)` is all RAM, 0 if none of it, -1 if mixed.
    fn pat_pagerange_is_ram(&self, start: u64, end: u64) -> i8 {
        let ram = self.config.ram_bytes;
        if end <= ram {
            1
        } else if start >= ram {
            0
        } else {
            -1
        }
    }

    /// `pat_x_mtrr_type`: a write-back request becomes UC- unless the MTRRs say write-back;
    /// the model's MTRRs cover RAM with write-back and leave everything above it uncached
    /// (the default type).
    fn pat_x_mtrr_type(&self, start: u64, end: u64, req: CacheMode) -> CacheMode {
        if req == CacheMode::Wb && self.pat_pagerange_is_ram(start, end) != 1 {
            CacheMode::UcMinus
        } else {
            req
        }
    }

    /// `memtype_reserve`: reserve `[start, end)` of physical memory for `req`; returns the type
    /// the range got (`new_type`) when `takes_other`, else fails unless it got `req`.
    pub fn memtype_reserve(
        &mut self,
        start: u64,
        end: u64,
        req: CacheMode,
        takes_other: bool,
    ) -> Result<CacheMode, Errno> {
        if start >= end {
            return Err(Errno::EINVAL);
        }
        let actual = self.pat_x_mtrr_type(start, end, req);
        match self.pat_pagerange_is_ram(start, end) {
            // reserve_ram_pages_type: the type is the pages'; the model's RAM stays write-back,
            // and any other request for it is refused.
            1 => {
                if req == CacheMode::Wb {
                    Ok(CacheMode::Wb)
                } else {
                    Err(Errno::EBUSY)
                }
            }
            -1 => Err(Errno::EINVAL),
            _ => {
                let got = match self.pat.check_conflict(start, end, actual, takes_other) {
                    Ok(t) => t,
                    Err(e) => {
                        self.pat.log.push(alloc::format!(
                            "x86/PAT: memtype_reserve failed [mem {start:#018x}-{:#018x}], track {}, req {}",
                            end - 1,
                            actual.name(),
                            req.name()
                        ));
                        return Err(e);
                    }
                };
                let at = self.pat.tree.partition_point(|m| m.start <= start);
                self.pat.tree.insert(
                    at,
                    Memtype {
                        start,
                        end,
                        mode: got,
                    },
                );
                Ok(got)
            }
        }
    }

    /// `memtype_free`: give back the reservation of `[start, end)`. Nothing is kept for RAM;
    /// a range no entry matches is refused with the kernel's message.
    pub fn memtype_free(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        match self.pat_pagerange_is_ram(start, end) {
            1 => Ok(()),
            -1 => Err(Errno::EINVAL),
            _ => {
                let end_match = self.config.pat == PatTracking::VmPat;
                self.pat.erase(start, end, end_match).inspect_err(|_| {
                    self.pat.log.push(alloc::format!(
                        "x86/PAT: freeing invalid memtype [mem {start:#010x}-{:#010x}]",
                        end - 1
                    ));
                })
            }
        }
    }

    /// `lookup_memtype`: the type of the page at `paddr`: RAM is write-back; device memory has
    /// its reservation's type, or UC- if none.
    pub fn lookup_memtype(&self, paddr: u64) -> CacheMode {
        if paddr < self.config.ram_bytes {
            return CacheMode::Wb;
        }
        self.pat.lookup(paddr).unwrap_or(CacheMode::UcMinus)
    }

    /// `reserve_pfn_range` (6.18; 5.10 with `strict` false): reserve for a mapping asking for
    /// `want`; returns the mode its PTEs get. RAM is never reserved. A different type is taken
    /// if `is_new_memtype_allowed` lets it.
    pub fn reserve_pfn_range(
        &mut self,
        paddr: u64,
        size: u64,
        want: CacheMode,
        strict: bool,
    ) -> Result<CacheMode, Errno> {
        let is_ram = self.pat_pagerange_is_ram(paddr, paddr + size);
        if is_ram != 0 {
            let got = self.lookup_memtype(paddr);
            if got != want {
                self.pat.log.push(alloc::format!(
                    "x86/PAT: map pfn RAM range req {} for [mem {paddr:#018x}-{:#018x}], got {}",
                    want.name(),
                    paddr + size - 1,
                    got.name()
                ));
            }
            return Ok(got);
        }
        let got = self.memtype_reserve(paddr, paddr + size, want, true)?;
        if got != want && (strict || !is_new_memtype_allowed(want, got)) {
            let _ = self.memtype_free(paddr, paddr + size);
            self.pat.log.push(alloc::format!(
                "x86/PAT: map pfn expected mapping type {} for [mem {paddr:#018x}-{:#018x}], got {}",
                want.name(),
                paddr + size - 1,
                got.name()
            ));
            return Err(Errno::EINVAL);
        }
        Ok(got)
    }

    /// `free_pfn_range`: the reservation of a non-RAM range goes.
    pub fn free_pfn_range(&mut self, paddr: u64, size: u64) {
        if self.pat_pagerange_is_ram(paddr, paddr + size) == 0 {
            let _ = self.memtype_free(paddr, paddr + size);
        }
    }

    /// `pfnmap_setup_cachemode` / 5.10's partial-range `track_pfn_remap`: no reservation, the
    /// type every page of the range already has (all alike, or `EINVAL`).
    pub fn pfnmap_setup_cachemode(&self, pfn: u64, pages: u64) -> Result<CacheMode, Errno> {
        let first = self.lookup_memtype(pfn << 12);
        for i in 1..pages {
            if self.lookup_memtype((pfn + i) << 12) != first {
                return Err(Errno::EINVAL);
            }
        }
        Ok(first)
    }

    /// The PAT step of `remap_pfn_range` (5.10 `track_pfn_remap`, 6.16+ `pfnmap_track_ctx_alloc`)
    /// for `pages` pages from `pfn` at `addr` in `vma`: a whole-VMA mapping reserves, a partial
    /// one only looks the type up. Returns the mode for the PTEs.
    pub fn track_pfn_remap(
        &mut self,
        vma: &mut Vma,
        pfn: u64,
        addr: u64,
        pages: u64,
        want: CacheMode,
    ) -> Result<CacheMode, Errno> {
        let size = pages << 12;
        if addr != vma.start || addr + size != vma.end {
            return self.pfnmap_setup_cachemode(pfn, pages);
        }
        match self.config.pat {
            PatTracking::VmPat => {
                let got = self
                    .reserve_pfn_range(pfn << 12, size, want, false)
                    .map_err(|_| Errno::EINVAL)?;
                vma.flags.insert(VmFlags::PAT);
                Ok(got)
            }
            PatTracking::TrackCtx => {
                if vma.pfnmap_ctx.is_some() {
                    return Err(Errno::EINVAL);
                }
                let got = self
                    .reserve_pfn_range(pfn << 12, size, want, false)
                    .map_err(|_| Errno::EINVAL)?;
                let ctx = PfnmapTrackCtx { refs: 1, pfn, size };
                let id = match self.pat.ctxs.iter().position(|c| c.is_none()) {
                    Some(i) => {
                        self.pat.ctxs[i] = Some(ctx);
                        i
                    }
                    None => {
                        self.pat.ctxs.push(Some(ctx));
                        self.pat.ctxs.len() - 1
                    }
                };
                vma.pfnmap_ctx = Some(id as CtxId);
                Ok(got)
            }
        }
    }

    /// `untrack_pfn(vma, 0, 0)` (5.10), as `unmap_single_vma` calls it for a `VM_PFNMAP` VMA:
    /// with `VM_PAT`, find the physical address of `vm_start` by walking the page table
    /// (`follow_phys`), free a reservation of the VMA's size from there, clear `VM_PAT`. A walk
    /// that finds no entry warns and frees nothing. Returns whether a reservation was given
    /// back.
    pub fn untrack_pfn(&mut self, mm: &Mm, vma: &Vma) -> bool {
        if self.config.pat != PatTracking::VmPat || !vma.flags.contains(VmFlags::PAT) {
            return false;
        }
        let e = self.pte_at(mm, vma.start);
        if !crate::pgtable::present(e) {
            self.pat.log.push(alloc::format!(
                "WARNING: untrack_pfn: follow_phys found no PTE at {:#x}: reservation not freed",
                vma.start
            ));
            return false;
        }
        let paddr = (crate::pgtable::pfn_of(e) as u64) << 12;
        let size = vma.end - vma.start;
        if self.pat_pagerange_is_ram(paddr, paddr + size) != 0 {
            return false;
        }
        if self.memtype_free(paddr, paddr + size).is_err() {
            // 5.10's erase knows only an exact or an end match: a split VMA that is not the
            // reservation's tail can't free it, and nothing else ever will.
            self.pat_note_unfreeable(paddr, paddr + size);
            return false;
        }
        // (the kernel clears VM_PAT here; the VMA is on its way out)
        true
    }

    /// After a failed 5.10 free of `[start, end)`: what overlaps it can no longer be freed by
    /// the VMAs that split it; remember the range as the kernel's own leak.
    fn pat_note_unfreeable(&mut self, start: u64, end: u64) {
        self.pat.leaked.push((start, end));
    }

    /// 5.10's mremap of part of a `VM_PAT` VMA: `untrack_pfn_moved` clears `VM_PAT` on the
    /// whole old VMA, so the part left behind can never free the reservation it shares.
    pub(crate) fn pat_note_moved_in_part(&mut self, mm: &Mm, old: &Vma) {
        if let Some(paddr) = self.pfnmap_phys_start(mm, old) {
            self.pat_note_unfreeable(paddr, paddr + (old.end - old.start));
        }
    }

    /// The physical address `vma`'s start maps, worked out from its first present raw-PFN
    /// entry (the entries of a PFN map are linear); `None` if it has none.
    pub fn pfnmap_phys_start(&self, mm: &Mm, vma: &Vma) -> Option<u64> {
        let mut a = vma.start;
        while a < vma.end {
            let e = self.pte_at(mm, a);
            if crate::pgtable::present(e) && e & crate::pgtable::SPECIAL != 0 {
                let pfn = crate::pgtable::pfn_of(e) as u64;
                return (pfn << 12).checked_sub(a - vma.start);
            }
            a += 4096;
        }
        None
    }

    /// `track_pfn_copy` (5.10, at fork, for a `VM_PAT` VMA being copied): a second, strict
    /// reservation of the whole VMA, found through the parent's page table.
    pub fn track_pfn_copy(&mut self, mm: &Mm, vma: &Vma) -> Result<(), Errno> {
        if self.config.pat != PatTracking::VmPat || !vma.flags.contains(VmFlags::PAT) {
            return Ok(());
        }
        let e = self.pte_at(mm, vma.start);
        if !crate::pgtable::present(e) {
            return Err(Errno::EINVAL);
        }
        let want = CacheMode::from_pte(e);
        self.reserve_pfn_range(
            (crate::pgtable::pfn_of(e) as u64) << 12,
            vma.end - vma.start,
            want,
            true,
        )
        .map(|_| ())
    }

    /// `vma_pfnmap_track_ctx_dup` (6.16+, from `vm_area_dup`: split, fork, mremap): the copy
    /// shares the context.
    pub fn pfnmap_track_ctx_dup(&mut self, vma: &Vma) {
        if let Some(id) = vma.pfnmap_ctx {
            self.pat.ctxs[id as usize].as_mut().expect("ctx").refs += 1;
        }
    }

    /// `vma_pfnmap_track_ctx_release` (6.16+, from `vm_area_free`): the last holder untracks
    /// the whole original range. Returns whether the reservation went.
    pub fn pfnmap_track_ctx_release(&mut self, vma: &Vma) -> bool {
        let Some(id) = vma.pfnmap_ctx else {
            return false;
        };
        let ctx = self.pat.ctxs[id as usize].as_mut().expect("ctx");
        ctx.refs -= 1;
        if ctx.refs > 0 {
            return false;
        }
        let ctx = self.pat.ctxs[id as usize].take().expect("ctx");
        self.free_pfn_range(ctx.pfn << 12, ctx.size);
        true
    }

    /// `vm_area_free` as far as PAT is concerned, for every VMA the kernel frees.
    pub fn vm_area_free_pat(&mut self, vma: &Vma) -> bool {
        self.pfnmap_track_ctx_release(vma)
    }

    /// `pat_memtype_list` (debugfs): one line per reservation, `[mem 0x...-0x...] <type>`,
    /// the end exclusive.
    pub fn pat_memtype_list(&self) -> Vec<String> {
        self.pat
            .tree
            .iter()
            .map(|m| alloc::format!("[mem {:#018x}-{:#018x}] {}", m.start, m.end, m.mode.name()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testhw::TestHw;
    use crate::Config;

    fn kernel(pat: PatTracking) -> Kernel<TestHw> {
        Kernel::new(
            TestHw::default(),
            Config {
                ram_bytes: 64 << 20,
                pat,
                ..Config::default()
            },
        )
    }

    const DEV: u64 = 1 << 30;

    #[test]
    fn reservations_of_device_memory_and_their_conflicts() {
        let mut k = kernel(PatTracking::TrackCtx);
        // A write-back request above RAM: the MTRRs say uncached, so it gets UC-.
        assert_eq!(
            k.reserve_pfn_range(DEV, 8192, CacheMode::Wb, false),
            Ok(CacheMode::UcMinus)
        );
        // An overlapping WC request takes the existing UC- (allowed for WC).
        assert_eq!(
            k.reserve_pfn_range(DEV + 4096, 4096, CacheMode::Wc, false),
            Ok(CacheMode::UcMinus)
        );
        assert_eq!(k.pat.tree.len(), 2);
        // A WC entry elsewhere, then a request overlapping both types: EBUSY.
        assert_eq!(
            k.reserve_pfn_range(DEV + 8192, 4096, CacheMode::Wc, false),
            Ok(CacheMode::Wc)
        );
        assert_eq!(
            k.memtype_reserve(DEV, DEV + 12288, CacheMode::Wc, true),
            Err(Errno::EBUSY)
        );
        assert!(k.pat.log.last().unwrap().contains("memtype_reserve failed"));
        // A UC- request that would get WB is refused and leaves nothing behind.
        k.pat.tree.push(Memtype {
            start: DEV + (1 << 20),
            end: DEV + (2 << 20),
            mode: CacheMode::Wb,
        });
        let before = k.pat.tree.len();
        assert_eq!(
            k.reserve_pfn_range(DEV + (1 << 20), 4096, CacheMode::UcMinus, false),
            Err(Errno::EINVAL)
        );
        assert_eq!(k.pat.tree.len(), before);
        // RAM is never entered in the tree.
        assert_eq!(
            k.reserve_pfn_range(4096, 4096, CacheMode::Wb, false),
            Ok(CacheMode::Wb)
        );
        assert_eq!(k.pat.tree.len(), before);
        // 6.18 frees only an exact match.
        assert_eq!(k.memtype_free(DEV, DEV + 4096), Err(Errno::EINVAL));
        assert!(k
            .pat
            .log
            .last()
            .unwrap()
            .contains("freeing invalid memtype"));
        assert_eq!(k.memtype_free(DEV, DEV + 8192), Ok(()));
        assert_eq!(k.lookup_memtype(DEV + 8192), CacheMode::Wc);
        assert_eq!(k.lookup_memtype(DEV + (8 << 20)), CacheMode::UcMinus);
    }

    #[test]
    fn five_ten_erases_an_end_match_by_shrinking() {
        let mut k = kernel(PatTracking::VmPat);
        k.reserve_pfn_range(DEV, 4 << 12, CacheMode::Wc, false)
            .unwrap();
        assert_eq!(k.memtype_free(DEV + (2 << 12), DEV + (4 << 12)), Ok(()));
        assert_eq!(
            k.pat.tree,
            [Memtype {
                start: DEV,
                end: DEV + (2 << 12),
                mode: CacheMode::Wc
            }]
        );
        // The head of a split mapping has no match at all.
        assert_eq!(k.memtype_free(DEV, DEV + (1 << 12)), Err(Errno::EINVAL));
    }

    #[test]
    fn cache_bits_round_trip() {
        for m in [
            CacheMode::Wb,
            CacheMode::Wc,
            CacheMode::UcMinus,
            CacheMode::Uc,
            CacheMode::Wt,
            CacheMode::Wp,
        ] {
            assert_eq!(CacheMode::from_pte(m.pte_bits()), m);
        }
    }
}
