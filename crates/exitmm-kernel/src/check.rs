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
        for (id, f) in self.files.table.iter().enumerate() {
            let Some(f) = f else { continue };
            committed += if f.per_page_acct {
                f.pages.len() as i64
            } else {
                f.whole_charge
            };
            for (idx, &pfn) in &f.pages {
                *found.refs.entry(pfn).or_default() += 1;
                let p = self.mem.page(pfn);
                if !p.flags.contains(PageFlags::PAGECACHE)
                    || p.mapping != id as u32
                    || p.index as u64 != *idx
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
        // Every referenced frame: its counts must match what was found.
        for (&pfn, &want) in &found.refs {
            let p = self.mem.page(pfn);
            if p.refcount != want {
                bad.push(format!(
                    "frame {pfn}: refcount {} but {want} references found ({:?})",
                    p.refcount, p.flags
                ));
            }
            let maps = found.maps.get(&pfn).copied().unwrap_or(0);
            if pfn != self.zero_pfn && p.mapcount != maps {
                bad.push(format!(
                    "frame {pfn}: mapcount {} but {maps} PTEs map it",
                    p.mapcount
                ));
            }
        }
        // No frame in use that nothing references: the frames in use are exactly those found.
        let in_use = self.mem.nr_frames() - self.mem.nr_free();
        if found.refs.len() as u64 != in_use {
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
        bad
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
        // Page tables: walk everything reachable from the PGD.
        *found.refs.entry(mm.pgd).or_default() += 1;
        let mut tables = 0i64;
        let mut rss = [0i64; 4];
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
                let pmd = pt::pfn_of(e);
                tables += 1;
                *found.refs.entry(pmd).or_default() += 1;
                for (k, &e) in self.hw.table(pmd).iter().enumerate() {
                    if !pt::present(e) {
                        continue;
                    }
                    let pte = pt::pfn_of(e);
                    tables += 1;
                    *found.refs.entry(pte).or_default() += 1;
                    if !self.mem.page(pte).flags.contains(PageFlags::PGTABLE) {
                        bad.push(format!("mm {id}: PTE table {pte} lacks PageTable"));
                    }
                    for (l, &e) in self.hw.table(pte).iter().enumerate() {
                        if !pt::present(e) {
                            continue;
                        }
                        let addr = ((i as u64) << 39)
                            | ((j as u64) << 30)
                            | ((k as u64) << 21)
                            | ((l as u64) << 12);
                        if mm.vma_at(addr).is_none() {
                            bad.push(format!(
                                "mm {id}: present PTE at {addr:#x} outside every VMA"
                            ));
                        }
                        if e & pt::SPECIAL != 0 {
                            if pt::pfn_of(e) != self.zero_pfn {
                                bad.push(format!(
                                    "mm {id}: special PTE at {addr:#x} is not the zero page"
                                ));
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
}
