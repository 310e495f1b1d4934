//! `check_invariants`: recompute every cached counter from the structures, and account for
//! every allocated frame.
//!
//! For each live mm: rss per type, `pgtables_bytes`, `total_vm`/`data_vm`/`exec_vm`/`stack_vm`,
//! `locked_vm`, `map_count`, VMA ordering and alignment, and that no present PTE lies outside
//! every VMA. Globally: `vm_committed_as` equals the VM_ACCOUNT pages of all VMAs plus what shmem
//! objects charged; every frame's reference count and map count equal the references actually
//! found (PTEs, page cache, page-table parents, the zero page's reservation); every frame that
//! nothing references is free; the free lists add up; anon_vma counts match the VMAs.

use crate::arch::Hardware;
use crate::hugetlb::HugeSize;
use crate::memory::mm_counter;
use crate::mm_types::{Mm, VmFlags};
use crate::page::{PageFlags, Pfn};
use crate::pgtable::{self as pt, Level};
use crate::Kernel;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

#[derive(Default)]
struct Found {
    refs: BTreeMap<Pfn, u32>,
    maps: BTreeMap<Pfn, i32>,
    /// PUD entries pointing at each PMD table (more than one when hugetlb shares it).
    table_pointers: BTreeMap<Pfn, i32>,
    /// PMD tables already walked.
    walked: alloc::collections::BTreeSet<Pfn>,
    /// Swap PTEs naming each slot.
    swap_refs: BTreeMap<u32, u32>,
    /// THP deposits found under PMD leaves.
    deposits: u64,
}

impl<H: Hardware> Kernel<H> {
    /// Checks every invariant; returns the violations found (empty when all hold).
    pub fn check_invariants(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let mut found = Found::default();
        let mut committed = 0i64;
        let mut anon_vma_users = alloc::vec![0u32; self.anon_vmas.len()];
        for mm in self.mms.iter().flatten() {
            self.check_mm_structures(mm, &mut found, &mut bad);
            for v in mm.vmas.values() {
                if v.flags.contains(VmFlags::ACCOUNT) {
                    committed += v.pages() as i64;
                }
                if let Some(a) = v.anon_vma {
                    anon_vma_users[a as usize] += 1;
                }
            }
        }
        self.check_swap(&mut found, &mut bad);
        if found.deposits != self.thp_deposits.len() as u64 {
            bad.push(format!(
                "{} THP tables deposited but {} THP PMDs",
                self.thp_deposits.len(),
                found.deposits
            ));
        }
        if let Some(z) = self.huge_zero {
            for f in z..z + crate::huge_memory::HPAGE_PMD_NR {
                *found.refs.entry(f).or_default() += 1;
            }
        }
        for (id, f) in self.files.table.iter().enumerate() {
            let Some(f) = f else { continue };
            // A perf event's ring buffer holds one reference to each of its pages.
            if let Some(crate::shmem::Driver::Perf(ev)) = &f.driver {
                if let Some(rb) = &ev.rb {
                    for &p in &rb.pages {
                        *found.refs.entry(p).or_default() += 1;
                    }
                    if rb.mmap_count != ev.mmap_count || rb.mmap_count == 0 {
                        bad.push(format!(
                            "perf event {id}: buffer mapped {} times, event {}",
                            rb.mmap_count, ev.mmap_count
                        ));
                    }
                }
            }
            committed += if f.per_page_acct {
                (f.pages.len() + f.swapped.len()) as i64 + f.dropped as i64
            } else {
                f.whole_charge
            };
            for (idx, &pfn) in f.pages.iter() {
                *found.refs.entry(pfn).or_default() += 1;
                let p = self.mem.page(pfn);
                if !p.flags.contains(PageFlags::PAGECACHE)
                    || p.mapping != id as u32
                    || p.index as u64 != idx
                {
                    bad.push(format!(
                        "file {id} page {idx}: frame {pfn} is not its cache page ({:?})",
                        p.flags
                    ));
                }
            }
        }
        if committed + self.committed_leaked != self.committed {
            bad.push(format!(
                "vm_committed_as is {} pages, structures say {committed} (+ {} leaked)",
                self.committed, self.committed_leaked
            ));
        }
        for (a, &n) in self.anon_vmas.iter().enumerate() {
            if n != anon_vma_users[a] {
                bad.push(format!(
                    "anon_vma {a}: count {n}, used by {} VMAs",
                    anon_vma_users[a]
                ));
            }
        }
        *found.refs.entry(self.zero_pfn).or_default() += 1;
        // An XOL area holds its page.
        for mm in self.mms.iter().flatten() {
            if let Some(a) = mm.xol_area {
                *found.refs.entry(a.page).or_default() += 1;
            }
        }
        self.check_perf_accounting(&mut bad);
        self.check_pat(&mut bad);
        let pool_frames = self.check_hugetlb(&mut bad);
        for (&table, &n) in &found.table_pointers {
            if n != 1 + self.mem.page(table).mapcount {
                bad.push(format!(
                    "PMD table {table}: {n} PUD entries point at it, share count {}",
                    { self.mem.page(table).mapcount }
                ));
            }
        }
        // Every referenced frame: its counts must match what was found.
        for (&pfn, &want) in &found.refs {
            let p = self.mem.page(pfn);
            if p.refcount != want {
                bad.push(format!(
                    "frame {pfn}: refcount {} but {want} references found ({:?})",
                    { p.refcount },
                    { p.flags }
                ));
            }
            let maps = found.maps.get(&pfn).copied().unwrap_or(0);
            let table = p.flags.contains(PageFlags::PGTABLE);
            if pfn != self.zero_pfn && !table && p.mapcount != maps {
                bad.push(format!(
                    "frame {pfn}: mapcount {} but {maps} PTEs map it",
                    { p.mapcount }
                ));
            }
            // PageAnonExclusive: only on a 4 KiB anonymous page, and one mapped at most once.
            if p.flags.contains(PageFlags::ANON_EXCLUSIVE)
                && (!p.flags.contains(PageFlags::ANON)
                    || p.flags.contains(PageFlags::HUGETLB)
                    || maps > 1)
            {
                bad.push(format!(
                    "frame {pfn}: anon-exclusive but {maps} PTEs map it ({:?})",
                    p.flags
                ));
            }
        }
        // No frame in use that nothing references: the frames in use are exactly those found.
        let in_use = self.mem.nr_frames() - self.mem.nr_free();
        if found.refs.len() as u64 + pool_frames != in_use {
            let lost: Vec<Pfn> = self
                .mem
                .frames()
                .filter(|(pfn, p)| p.refcount > 0 && !found.refs.contains_key(pfn))
                .map(|(pfn, _)| pfn)
                .take(8)
                .collect();
            bad.push(format!(
                "{in_use} frames in use but {} referenced; unreachable: {lost:?}",
                found.refs.len()
            ));
        }
        if self.mem.count_free_walk() != self.mem.nr_free() {
            bad.push(format!(
                "free lists hold {} frames, counter says {}",
                self.mem.count_free_walk(),
                self.mem.nr_free()
            ));
        }
        if let Some(o) = self.mem.nonempty_mismatch() {
            bad.push(format!(
                "the free-area summary is wrong for order {o} (its list and its bit disagree)"
            ));
        }
        bad
    }

    /// A special PTE is the zero page (outside PFN maps), or a raw PFN of the VMA's driver:
    /// a page of its perf buffer at the VMA's offset, or its device region's frame.
    fn check_special_pte(&self, mm: &Mm, addr: u64, e: u64) -> Option<String> {
        let pfn = pt::pfn_of(e) as u64;
        let vma = mm.vma_at(addr)?;
        if !vma.flags.contains(VmFlags::PFNMAP) {
            return (pfn != self.zero_pfn as u64).then(|| "is not the zero page".into());
        }
        let file = vma.file?;
        let index = ((addr - vma.start) >> 12) + vma.pgoff;
        match &self.files.get(file).driver {
            Some(crate::shmem::Driver::Perf(ev)) => {
                let want = ev
                    .rb
                    .as_ref()
                    .and_then(|rb| rb.pages.get(index as usize).copied());
                (want != Some(pfn as Pfn)).then(|| format!("maps {pfn}, not ring page {index}"))
            }
            Some(crate::shmem::Driver::Iomap(r)) => {
                // A COW mapping's vm_pgoff is its first PFN (remap_pfn_range).
                let cow = vma.flags & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE;
                let want = if cow {
                    vma.pgoff + ((addr - vma.start) >> 12)
                } else {
                    r.base_pfn + index
                };
                (want != pfn).then(|| format!("maps {pfn}, not device frame {want}"))
            }
            None => Some("in a PFN map without a driver".into()),
        }
    }

    /// `user->locked_vm` for perf: what the buffers charged it, plus what second mappings
    /// charged and nothing gives back.
    fn check_perf_accounting(&self, bad: &mut Vec<String>) {
        let mut want = self.perf_user_locked_leaked;
        for f in self.files.table.iter().flatten() {
            if let Some(crate::shmem::Driver::Perf(ev)) = &f.driver {
                if let Some(rb) = &ev.rb {
                    want += rb.pages.len() as i64 - rb.mmap_locked;
                }
            }
        }
        if want != self.perf_user_locked_vm {
            bad.push(format!(
                "perf user locked_vm is {} pages, buffers account for {want}",
                self.perf_user_locked_vm
            ));
        }
    }

    /// The PAT memtype tree against its owners. 6.16+: one entry per live tracking context,
    /// each context held by exactly the VMAs that point to it. 5.10: every entry overlaps the
    /// physical range of a live `VM_PAT` VMA, or a range the kernel itself failed to free.
    fn check_pat(&self, bad: &mut Vec<String>) {
        use crate::pat::PatTracking;
        let vmas = || {
            self.mms
                .iter()
                .flatten()
                .flat_map(|mm| mm.vmas.values().map(move |v| (&**mm, v)))
        };
        match self.config.pat {
            PatTracking::TrackCtx => {
                let mut holders = alloc::vec![0u32; self.pat.ctxs.len()];
                for (_, v) in vmas() {
                    if let Some(c) = v.pfnmap_ctx {
                        holders[c as usize] += 1;
                    }
                }
                let mut want: Vec<(u64, u64)> = Vec::new();
                for (i, c) in self.pat.ctxs.iter().enumerate() {
                    match c {
                        Some(c) => {
                            if c.refs != holders[i] {
                                bad.push(format!(
                                    "pfnmap_track_ctx {i}: kref {} but {} VMAs hold it",
                                    c.refs, holders[i]
                                ));
                            }
                            if (c.pfn << 12) >= self.config.ram_bytes {
                                want.push((c.pfn << 12, (c.pfn << 12) + c.size));
                            }
                        }
                        None if holders[i] > 0 => {
                            bad.push(format!("pfnmap_track_ctx {i} is freed but still held"))
                        }
                        None => {}
                    }
                }
                let mut have: Vec<(u64, u64)> =
                    self.pat.tree.iter().map(|m| (m.start, m.end)).collect();
                want.sort_unstable();
                have.sort_unstable();
                if want != have {
                    bad.push(format!(
                        "PAT memtype tree {have:x?}, tracking contexts reserve {want:x?}"
                    ));
                }
            }
            PatTracking::VmPat => {
                let mut owned: Vec<(u64, u64)> = self.pat.leaked.clone();
                for (mm, v) in vmas() {
                    if v.flags.contains(VmFlags::PAT) {
                        if let Some(p) = self.pfnmap_phys_start(mm, v) {
                            owned.push((p, p + (v.end - v.start)));
                        }
                    }
                }
                for m in &self.pat.tree {
                    if !owned.iter().any(|&(s, e)| s < m.end && m.start < e) {
                        bad.push(format!(
                            "PAT memtype [mem {:#x}-{:#x}] {} is leaked: no VM_PAT VMA maps it",
                            m.start,
                            m.end,
                            m.mode.name()
                        ));
                    }
                }
            }
        }
    }

    /// A PMD leaf of `mm` at `addr` in a VMA that is not hugetlb: a THP (512 frames of an
    /// aligned block, anonymous, each referenced and mapped by it) or the huge zero page, in
    /// a private anonymous VMA with an anon_vma, with a table deposited. Returns its RSS.
    fn check_thp_leaf(
        &self,
        mm: &Mm,
        addr: u64,
        (pmd, k): (Pfn, usize),
        e: u64,
        found: &mut Found,
        bad: &mut Vec<String>,
    ) -> i64 {
        let id = mm.id;
        let vma = mm.vma_at(addr).expect("checked by the caller");
        if vma.file.is_some()
            || vma.anon_vma.is_none()
            || vma.start > addr
            || vma.end < addr + pt::PMD_SIZE
        {
            bad.push(format!(
                "mm {id}: a THP at {addr:#x} outside a private anonymous VMA that holds it"
            ));
        }
        match self.thp_deposits.get(&(pmd, k as u16)) {
            Some(&t) => {
                found.deposits += 1;
                *found.refs.entry(t).or_default() += 1;
                if !self.mem.page(t).flags.contains(PageFlags::PGTABLE) {
                    bad.push(format!(
                        "mm {id}: THP deposit {t} at {addr:#x} lacks PageTable"
                    ));
                }
            }
            None => bad.push(format!("mm {id}: THP at {addr:#x} has no deposited table")),
        }
        if self.is_huge_zero_pmd(e) {
            if e & pt::RW != 0 {
                bad.push(format!(
                    "mm {id}: the huge zero page is writable at {addr:#x}"
                ));
            }
            return 0;
        }
        let head = pt::pfn_of(e);
        if !head.is_multiple_of(crate::huge_memory::HPAGE_PMD_NR) {
            bad.push(format!(
                "mm {id}: THP at {addr:#x} maps unaligned frame {head}"
            ));
        }
        for f in head..head + crate::huge_memory::HPAGE_PMD_NR {
            *found.refs.entry(f).or_default() += 1;
            *found.maps.entry(f).or_default() += 1;
            if !self.mem.page(f).flags.contains(PageFlags::ANON) {
                bad.push(format!(
                    "mm {id}: THP frame {f} at {addr:#x} is not anonymous"
                ));
                break;
            }
        }
        crate::huge_memory::HPAGE_PMD_NR as i64
    }

    /// The swap device: every slot's count is the swap PTEs naming it; every cached folio
    /// holds one reference and its slot; the free count is the slots neither counted nor
    /// cached; the header slot is never used.
    fn check_swap(&self, found: &mut Found, bad: &mut Vec<String>) {
        // A shmem page written out holds one count of its slot.
        for f in self.files.table.iter().flatten() {
            for &slot in f.swapped.values() {
                *found.swap_refs.entry(slot).or_default() += 1;
            }
        }
        let Some(si) = &self.swap else {
            if !found.swap_refs.is_empty() {
                bad.push("swap PTEs but no swap device".into());
            }
            return;
        };
        let mut free = 0u32;
        for (slot, &c) in si.count.iter().enumerate() {
            let want = found.swap_refs.get(&(slot as u32)).copied().unwrap_or(0);
            if c != want {
                bad.push(format!(
                    "swap slot {slot}: count {c} but {want} swap PTEs name it"
                ));
            }
            if slot > 0 && si.slot_free(slot as u32) {
                free += 1;
            }
        }
        if si.count[0] != 0 || si.cache.contains_key(&0) {
            bad.push("swap slot 0 (the header) is in use".into());
        }
        if free != si.nr_free {
            bad.push(format!(
                "nr_swap_pages is {} but {free} slots are free",
                si.nr_free
            ));
        }
        for (&slot, &pfn) in &si.cache {
            *found.refs.entry(pfn).or_default() += 1;
            if si.cache_of.get(&pfn) != Some(&slot) {
                bad.push(format!(
                    "swap cache: slot {slot} holds frame {pfn}, which names another"
                ));
            }
            if self.mem.page(pfn).refcount == 0 {
                bad.push(format!("swap cache: slot {slot} holds free frame {pfn}"));
            }
        }
        if si.cache_of.len() != si.cache.len() {
            bad.push("swap cache: the two maps disagree".into());
        }
    }

    fn check_mm_structures(&self, mm: &Mm, found: &mut Found, bad: &mut Vec<String>) {
        let id = mm.id;
        // VMAs
        let (mut total, mut data, mut exec, mut stack, mut locked) = (0i64, 0i64, 0i64, 0i64, 0i64);
        let mut last_end = 0;
        for (s, v) in &mm.vmas {
            if *s != v.start
                || v.start >= v.end
                || v.start & 0xfff != 0
                || v.end & 0xfff != 0
                || v.start < last_end
            {
                bad.push(format!("mm {id}: bad VMA {:#x}-{:#x}", v.start, v.end));
            }
            last_end = v.end;
            let n = v.pages() as i64;
            total += n;
            if v.flags & (VmFlags::EXEC | VmFlags::WRITE | VmFlags::GROWSDOWN) == VmFlags::EXEC {
                exec += n;
            } else if v.flags.contains(VmFlags::GROWSDOWN) {
                stack += n;
            } else if v.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
                data += n;
            }
            if v.flags.contains(VmFlags::LOCKED) {
                locked += n;
            }
            if let Some(f) = v.file {
                if self.files.table.get(f as usize).is_none_or(|f| f.is_none()) {
                    bad.push(format!("mm {id}: VMA {:#x} maps a freed file {f}", v.start));
                }
            }
        }
        if mm.users > 0 {
            for (name, have, want) in [
                ("total_vm", mm.total_vm, total),
                ("data_vm", mm.data_vm, data),
                ("exec_vm", mm.exec_vm, exec),
                ("stack_vm", mm.stack_vm, stack),
                ("locked_vm", mm.locked_vm, locked + mm.locked_vm_unlocked),
            ] {
                if have != want {
                    bad.push(format!("mm {id}: {name} is {have} pages, VMAs say {want}"));
                }
            }
            if mm.map_count as usize != mm.vmas.len() {
                bad.push(format!(
                    "mm {id}: map_count {} but {} VMAs",
                    mm.map_count,
                    mm.vmas.len()
                ));
            }
        }
        // Page tables: walk everything reachable from the PGD. A PMD table shared between
        // mms (hugetlb) is counted in each mm's tables but walked, and referenced, once.
        *found.refs.entry(mm.pgd).or_default() += 1;
        let mut tables = 0i64;
        let mut rss = [0i64; 4];
        let mut hugetlb = 0i64;
        let pgd = self.hw.table(mm.pgd);
        for (i, &e) in pgd.iter().enumerate() {
            if !pt::present(e) {
                continue;
            }
            let pud = pt::pfn_of(e);
            tables += 1;
            *found.refs.entry(pud).or_default() += 1;
            for (j, &e) in self.hw.table(pud).iter().enumerate() {
                if !pt::present(e) {
                    continue;
                }
                let base = ((i as u64) << 39) | ((j as u64) << 30);
                if pt::leaf(e) {
                    hugetlb += self.check_huge_leaf(mm, base, e, HugeSize::Huge1G, found, bad);
                    continue;
                }
                let pmd = pt::pfn_of(e);
                tables += 1;
                *found.table_pointers.entry(pmd).or_default() += 1;
                if !found.walked.insert(pmd) {
                    // Walked already (a shared table): its pages count in this mm's figure too,
                    // its references only once.
                    hugetlb += self.hw.table(pmd).iter().filter(|&&e| pt::leaf(e)).count() as i64
                        * HugeSize::Huge2M.pages() as i64;
                    continue;
                }
                *found.refs.entry(pmd).or_default() += 1;
                for (k, &e) in self.hw.table(pmd).iter().enumerate() {
                    if !pt::present(e) {
                        continue;
                    }
                    if pt::leaf(e) {
                        let addr = base | ((k as u64) << 21);
                        if mm.vma_at(addr).is_some_and(|v| v.hugetlb.is_none()) {
                            tables += 1; // the deposited table
                            rss[crate::mm_types::MM_ANONPAGES] +=
                                self.check_thp_leaf(mm, addr, (pmd, k), e, found, bad);
                            continue;
                        }
                        hugetlb += self.check_huge_leaf(mm, addr, e, HugeSize::Huge2M, found, bad);
                        continue;
                    }
                    let pte = pt::pfn_of(e);
                    tables += 1;
                    *found.refs.entry(pte).or_default() += 1;
                    if !self.mem.page(pte).flags.contains(PageFlags::PGTABLE) {
                        bad.push(format!("mm {id}: PTE table {pte} lacks PageTable"));
                    }
                    for (l, &e) in self.hw.table(pte).iter().enumerate() {
                        let addr = base | ((k as u64) << 21) | ((l as u64) << 12);
                        if pt::is_swap(e) {
                            *found.swap_refs.entry(pt::swp_offset(e)).or_default() += 1;
                            rss[crate::mm_types::MM_SWAPENTS] += 1;
                            let ok = mm.vma_at(addr).is_some_and(|v| v.anon_vma.is_some());
                            let slot_ok = self
                                .swap
                                .as_ref()
                                .is_some_and(|si| (pt::swp_offset(e) as usize) < si.count.len());
                            if !ok || !slot_ok {
                                bad.push(format!(
                                    "mm {id}: swap PTE at {addr:#x} outside an anonymous VMA or past the device"
                                ));
                            }
                            continue;
                        }
                        if !pt::present(e) {
                            if e != 0 {
                                bad.push(format!(
                                    "mm {id}: unknown non-present PTE {e:#x} at {addr:#x}"
                                ));
                            }
                            continue;
                        }
                        if mm.vma_at(addr).is_none() {
                            bad.push(format!(
                                "mm {id}: present PTE at {addr:#x} outside every VMA"
                            ));
                        }
                        if e & pt::SPECIAL != 0 {
                            if let Some(why) = self.check_special_pte(mm, addr, e) {
                                bad.push(format!("mm {id}: special PTE at {addr:#x} {why}"));
                            }
                            continue;
                        }
                        let pfn = pt::pfn_of(e);
                        *found.refs.entry(pfn).or_default() += 1;
                        *found.maps.entry(pfn).or_default() += 1;
                        let flags = self.mem.page(pfn).flags;
                        rss[mm_counter(flags)] += 1;
                        if flags.contains(PageFlags::ANON)
                            && mm.vma_at(addr).is_some_and(|v| v.anon_vma.is_none())
                        {
                            bad.push(format!(
                                "mm {id}: anonymous page at {addr:#x} in a VMA without an anon_vma"
                            ));
                        }
                    }
                }
            }
        }
        // hugetlb_usage: the huge pages this mm's tables map, but for the drift PMD sharing
        // causes (a page counts in whichever mm faulted it).
        if mm.hugetlb_usage - mm.hugetlb_usage_drift != hugetlb {
            bad.push(format!(
                "mm {id}: hugetlb_usage {} pages (drift {}) but the tables map {hugetlb}",
                mm.hugetlb_usage, mm.hugetlb_usage_drift
            ));
        }
        let _ = Level::Pte;
        if mm.pgtables_bytes != tables * 4096 {
            bad.push(format!(
                "mm {id}: pgtables_bytes {} but {tables} tables",
                mm.pgtables_bytes
            ));
        }
        if mm.rss != rss {
            bad.push(format!("mm {id}: rss {:?} but PTEs say {rss:?}", mm.rss));
        }
    }

    /// A huge leaf of `mm` at `addr`: it must map the head of a hugetlb folio of its size,
    /// inside a hugetlb VMA of that size (an anonymous one in a VMA with an anon_vma).
    /// Returns the base pages it maps.
    fn check_huge_leaf(
        &self,
        mm: &Mm,
        addr: u64,
        e: u64,
        size: HugeSize,
        found: &mut Found,
        bad: &mut Vec<String>,
    ) -> i64 {
        let id = mm.id;
        let pfn = pt::pfn_of(e);
        *found.refs.entry(pfn).or_default() += 1;
        *found.maps.entry(pfn).or_default() += 1;
        let p = self.mem.page(pfn);
        if !p.flags.contains(PageFlags::HUGETLB)
            || p.flags.contains(PageFlags::HUGE_1G) != (size == HugeSize::Huge1G)
            || !self.hstate(size).folios.contains(&pfn)
        {
            bad.push(format!(
                "mm {id}: huge leaf at {addr:#x} maps frame {pfn}, not a {size:?} pool folio"
            ));
        }
        match mm.vma_at(addr) {
            Some(v) if v.hugetlb.is_some_and(|h| h.size == size) => {
                if p.flags.contains(PageFlags::ANON) && v.anon_vma.is_none() {
                    bad.push(format!(
                        "mm {id}: anonymous huge page at {addr:#x} in a VMA without an anon_vma"
                    ));
                }
            }
            _ => bad.push(format!(
                "mm {id}: huge leaf at {addr:#x} outside every hugetlb VMA of its size"
            )),
        }
        size.pages() as i64
    }

    /// The pools, the private reservation maps and `resv_huge_pages`, recomputed from the
    /// inodes' maps and the VMAs that own private maps. Returns the frames the pools hold that
    /// no reference accounts for (free folios whole, the tail frames of folios in use).
    fn check_hugetlb(&self, bad: &mut Vec<String>) -> u64 {
        let mut unreferenced = 0;
        let mut resv = [0i64; 2];
        // Shared: inode entries without their page yet.
        for f in self.files.table.iter().flatten() {
            if let Some(size) = f.huge {
                resv[size.index()] +=
                    f.resv.iter().filter(|i| !f.pages.contains_key(i)).count() as i64;
            }
        }
        // Private: each owner map's indices its VMAs cover and have not consumed.
        let mut users = alloc::vec![0u32; self.resv_maps.len()];
        let mut covered: BTreeMap<u32, (HugeSize, alloc::collections::BTreeSet<u64>)> =
            BTreeMap::new();
        for mm in self.mms.iter().flatten() {
            for v in mm.vmas.values() {
                let Some(h) = v.hugetlb else { continue };
                let Some(id) = h.resv else { continue };
                users[id as usize] += 1;
                let (first, last) = (
                    crate::hugetlb::vma_hugecache_offset(v, v.start),
                    crate::hugetlb::vma_hugecache_offset(v, v.end),
                );
                covered
                    .entry(id)
                    .or_insert((h.size, Default::default()))
                    .1
                    .extend(first..last);
            }
        }
        for (id, m) in self.resv_maps.iter().enumerate() {
            match m {
                Some(m) if m.refs != users[id] => bad.push(format!(
                    "resv_map {id}: {} references, {} VMAs own it",
                    m.refs, users[id]
                )),
                None if users[id] > 0 => bad.push(format!("resv_map {id} freed but in use")),
                _ => {}
            }
        }
        for (id, (size, idx)) in &covered {
            if let Some(m) = &self.resv_maps[*id as usize] {
                resv[size.index()] += idx.iter().filter(|i| !m.consumed.contains(i)).count() as i64;
            }
        }
        for h in &self.hstates {
            let n = h.size.pages();
            if h.folios.len() as u64 != h.nr_huge_pages
                || h.free_list.len() as u64 != h.free_huge_pages
                // Signed: the kernel's counter may stand below zero (see `Hstate`).
                || h.resv_huge_pages as i64 > h.free_huge_pages as i64
                || h.surplus_huge_pages > h.nr_huge_pages
            {
                bad.push(format!(
                    "{:?} pool: {} folios, {} free listed; nr {} free {} resv {} surplus {}",
                    h.size,
                    h.folios.len(),
                    h.free_list.len(),
                    h.nr_huge_pages,
                    h.free_huge_pages,
                    h.resv_huge_pages,
                    h.surplus_huge_pages
                ));
            }
            let mut restoring = 0i64;
            for &pfn in &h.folios {
                let p = self.mem.page(pfn);
                if h.free_list.contains(&pfn) {
                    if p.refcount != 0 || p.mapcount != 0 || p.flags != PageFlags::HUGETLB {
                        bad.push(format!("{:?} pool: free folio {pfn} is in use", h.size));
                    }
                    unreferenced += n;
                } else {
                    unreferenced += n - 1;
                    if p.flags.contains(PageFlags::RESTORE_RESERVE) {
                        restoring += 1;
                    }
                }
            }
            // A folio unmapped from its owner carries the reservation it will give back when
            // freed; its index already counts as unconsumed above.
            let want =
                resv[h.size.index()] - restoring + self.hugetlb_resv_leaked[h.size.index()] as i64;
            if h.resv_huge_pages as i64 != want {
                bad.push(format!(
                    "{:?} pool: resv_huge_pages {} but the maps say {want}",
                    h.size, h.resv_huge_pages
                ));
            }
        }
        unreferenced
    }
}
