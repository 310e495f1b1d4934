//! kernel/exit.c, kernel/fork.c and mm/mmap.c's exit path, as Linux 5.10 runs it (the seed):
//! `do_exit → exit_mm → mmput → __mmput → exit_mmap`, then `mmdrop → __mmdrop → check_mm`.
//!
//! Every step appends a [`Step`] to the [`TeardownReport`], in the order the kernel runs it,
//! with what it did; the report is the seed's call tree.

use crate::arch::{Hardware, MmId};
use crate::memory::ZapStats;
use crate::mm_types::{Mm, MmFlags, VmFlags, RESIDENT_PAGE_TYPES};
use crate::mmu_gather::MmuGather;
use crate::page::PageFlags;
use crate::pgtable::{self as pt, PAGE_SIZE};
use crate::Kernel;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// `FIRST_USER_ADDRESS` on x86-64.
pub const FIRST_USER_ADDRESS: u64 = 0;
/// `USER_PGTABLES_CEILING` (0: the top of the address space).
pub const USER_PGTABLES_CEILING: u64 = 0;

/// One step of the teardown: the kernel function, its depth in the call tree, what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Kernel function name.
    pub func: &'static str,
    /// Depth in the call tree (0 = `do_exit`).
    pub depth: u8,
    /// `key=value` facts.
    pub facts: Vec<(&'static str, i64)>,
    /// Messages the kernel would print (check_mm's BUG lines).
    pub messages: Vec<String>,
}

/// The teardown report: the seed's call tree with what each step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// Steps in the order they ran.
    pub steps: Vec<Step>,
}

impl TeardownReport {
    fn step(&mut self, func: &'static str, depth: u8, facts: &[(&'static str, i64)]) {
        self.steps.push(Step {
            func,
            depth,
            facts: facts.to_vec(),
            messages: Vec::new(),
        });
    }

    /// The step named `func`, if it ran.
    pub fn get(&self, func: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.func == func)
    }

    /// A fact of step `func`.
    pub fn fact(&self, func: &str, key: &str) -> Option<i64> {
        self.get(func)?
            .facts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

impl<H: Hardware> Kernel<H> {
    /// `mark_oom_victim`: the mm's exit will take exit_mmap's OOM branch (5.10).
    pub fn mark_oom_victim(&mut self, id: MmId) {
        self.mm_mut(id).flags.insert(MmFlags::OOM_VICTIM);
    }

    /// `do_exit` of a task whose mm is `id` (the last thread): `exit_mm`, then the scheduler's
    /// `mmdrop` of the lazy `active_mm` reference when the dead task is switched away.
    pub fn do_exit(&mut self, id: MmId) -> TeardownReport {
        let mut r = TeardownReport::default();
        r.step("do_exit", 0, &[]);
        self.exit_mm(id, &mut r);
        // finish_task_switch: the dead task's lazy active_mm reference goes.
        self.mmdrop(id, &mut r, 1);
        r
    }

    /// `exit_mm`: detach the mm from the task (`mmgrab` keeps it as lazy `active_mm`), then
    /// `mmput`.
    fn exit_mm(&mut self, id: MmId, r: &mut TeardownReport) {
        let users = self.mm(id).users as i64;
        self.mm_mut(id).count += 1; // mmgrab: current->active_mm
        r.step("exit_mm", 1, &[("mm_users", users)]);
        self.mmput_report(id, r, 2);
    }

    /// `mmput`: drop a user; the last one tears the address space down.
    pub fn mmput(&mut self, id: MmId) -> Option<TeardownReport> {
        let mut r = TeardownReport::default();
        let last = self.mmput_report(id, &mut r, 0);
        last.then_some(r)
    }

    fn mmput_report(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) -> bool {
        let mm = self.mm_mut(id);
        mm.users -= 1;
        let users = mm.users as i64;
        r.step("mmput", depth, &[("mm_users", users)]);
        if users == 0 {
            self.__mmput(id, r, depth + 1);
            true
        } else {
            false
        }
    }

    /// `__mmput`: the per-mm exits that must run before `exit_mmap`, then `exit_mmap`, then the
    /// references the mm itself held, then `mmdrop`.
    #[allow(non_snake_case)]
    fn __mmput(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) {
        r.step("__mmput", depth, &[]);
        // uprobe_clear_state, exit_aio, ksm_exit, khugepaged_exit: the model has no uprobes, aio
        // rings, KSM or khugepaged slots, so they have nothing to do.
        self.with_mm(id, |k, mm| k.exit_mmap(mm, r, depth + 1));
        // mm_put_huge_zero_page, set_mm_exe_file(NULL), mmlist removal: nothing held here.
        self.mmdrop(id, r, depth + 1);
    }

    /// `exit_mmap` (5.10, mm/mmap.c): release every mapping of a dead address space.
    pub fn exit_mmap(&mut self, mm: &mut Mm, r: &mut TeardownReport, depth: u8) {
        let d = depth + 1;
        r.step("exit_mmap", depth, &[("vmas", mm.vmas.len() as i64)]);
        let mut nr_accounted = 0i64;
        // mm's last user has gone, and it's about to be pulled down.
        self.mmu_notifier_release(mm, r, d);
        if mm.flags.contains(MmFlags::OOM_VICTIM) {
            // Reap what the OOM reaper may reap, then hide the mm from it for good: after
            // MMF_OOM_SKIP, the write-lock barrier waits out a reaper holding the read lock.
            let (zap, freed) = self.__oom_reap_task_mm(mm);
            mm.flags.insert(MmFlags::OOM_SKIP);
            r.step(
                "__oom_reap_task_mm",
                d,
                &[
                    ("ptes", zap.ptes as i64),
                    ("anon", zap.anon as i64),
                    ("file", zap.file as i64),
                    ("shmem", zap.shmem as i64),
                    ("pages_freed", freed as i64),
                ],
            );
            r.step("mmap_write_lock", d, &[("oom_skip", 1)]);
        }
        if mm.locked_vm != 0 {
            let (vmas, pages) = self.munlock_all(mm);
            r.step(
                "munlock_vma_pages_all",
                d,
                &[("vmas", vmas), ("pages", pages)],
            );
        }
        self.hw.arch_exit_mmap(mm.id);
        r.step("arch_exit_mmap", d, &[]);
        if mm.vmas.is_empty() {
            // Can happen if dup_mmap() received an OOM: nothing gathered, nothing to unaccount.
            return;
        }
        // lru_add_drain: the model puts pages on LRU lists at once; no per-CPU batch to drain.
        r.step("lru_add_drain", d, &[]);
        self.hw.flush_cache_mm(mm.id);
        r.step("flush_cache_mm", d, &[]);
        let mut tlb = MmuGather::new(mm.id, true);
        mm.tlb_flush_pending += 1;
        r.step("tlb_gather_mmu", d, &[("fullmm", 1)]);
        let vmas: Vec<_> = core::mem::take(&mut mm.vmas).into_values().collect();
        let mut zap = ZapStats::default();
        // Use -1 here to ensure all VMAs in the mm are unmapped.
        self.unmap_vmas(&mut tlb, &mut zap, mm, &vmas, 0, u64::MAX);
        r.step(
            "unmap_vmas",
            d,
            &[
                ("vmas", vmas.len() as i64),
                ("ptes", zap.ptes as i64),
                ("anon", zap.anon as i64),
                ("file", zap.file as i64),
                ("shmem", zap.shmem as i64),
                ("swap", zap.swap as i64),
                ("zero", zap.zero as i64),
            ],
        );
        let before = tlb.stats.tables_freed;
        self.free_pgtables(
            &mut tlb,
            mm,
            &vmas,
            FIRST_USER_ADDRESS,
            None,
            USER_PGTABLES_CEILING,
        );
        let queued = tlb.stats.tables_freed;
        let nested = mm.tlb_flush_pending > 1;
        let stats = tlb.finish(nested, &mut self.hw, &mut self.mem);
        mm.tlb_flush_pending -= 1;
        r.step(
            "free_pgtables",
            d,
            &[
                ("pte", (queued[0] - before[0]) as i64),
                ("pmd", (queued[1] - before[1]) as i64),
                ("pud", (queued[2] - before[2]) as i64),
            ],
        );
        r.step(
            "tlb_finish_mmu",
            d,
            &[
                ("flushes", stats.flushes as i64),
                ("pages_freed", stats.pages_freed as i64),
                ("pages_released", stats.pages_released as i64),
                ("batches", stats.batches as i64),
                ("forced", stats.forced as i64),
            ],
        );
        // Walk the list again, actually closing and freeing it, without holding any MM locks.
        let n = vmas.len() as i64;
        for vma in vmas {
            if vma.flags.contains(VmFlags::ACCOUNT) {
                nr_accounted += vma.pages() as i64;
            }
            self.remove_vma(vma);
        }
        r.step("remove_vma", d, &[("vmas", n)]);
        self.vm_unacct_memory(nr_accounted);
        r.step("vm_unacct_memory", d, &[("pages", nr_accounted)]);
    }

    /// `mmu_notifier_release`: call every subscriber's `release`, then unlink them. The model's
    /// subscription list is real but always empty so far.
    fn mmu_notifier_release(&mut self, _mm: &mut Mm, r: &mut TeardownReport, d: u8) {
        let subscribers = 0;
        r.step("mmu_notifier_release", d, &[("subscribers", subscribers)]);
    }

    /// `__oom_reap_task_mm` (5.10): zap the private and anonymous VMAs that are not
    /// `VM_LOCKED`, `VM_HUGETLB` or `VM_PFNMAP`, each with its own non-fullmm gather. It never
    /// frees page tables or VMAs. Returns what it zapped and how many pages it freed.
    #[allow(non_snake_case)]
    pub fn __oom_reap_task_mm(&mut self, mm: &mut Mm) -> (ZapStats, u64) {
        mm.flags.insert(MmFlags::UNSTABLE);
        let mut total = ZapStats::default();
        let mut freed = 0;
        let vmas: Vec<_> = mm.vmas.values().cloned().collect();
        for vma in vmas {
            if vma
                .flags
                .intersects(VmFlags::LOCKED | VmFlags::HUGETLB | VmFlags::PFNMAP)
            {
                continue;
            }
            if vma.is_anonymous() || !vma.flags.contains(VmFlags::SHARED) {
                let mut tlb = MmuGather::new(mm.id, false);
                mm.tlb_flush_pending += 1;
                self.unmap_page_range(
                    &mut tlb,
                    &mut total,
                    mm,
                    &vma,
                    vma.start,
                    vma.end,
                    crate::memory::ZapDetails::ALL,
                );
                let nested = mm.tlb_flush_pending > 1;
                freed += tlb.finish(nested, &mut self.hw, &mut self.mem).pages_freed;
                mm.tlb_flush_pending -= 1;
            }
        }
        (total, freed)
    }

    /// The 5.10 munlock pass: `munlock_vma_pages_all` on every `VM_LOCKED` VMA (clears the
    /// lock flags and the pages' mlocked state; `locked_vm` is left alone, the mm is dying).
    fn munlock_all(&mut self, mm: &mut Mm) -> (i64, i64) {
        let (mut vmas, mut pages) = (0, 0);
        let starts: Vec<u64> = mm
            .vmas
            .iter()
            .filter(|(_, v)| v.flags.contains(VmFlags::LOCKED))
            .map(|(s, _)| *s)
            .collect();
        for s in starts {
            let v = mm.vmas.get_mut(&s).unwrap();
            v.flags -= VmFlags::LOCKED_MASK;
            let (start, end) = (v.start, v.end);
            vmas += 1;
            let mut a = start;
            while a < end {
                let e = self.pte_at(mm, a);
                if pt::present(e) && e & pt::SPECIAL == 0 {
                    let p = self.mem.page_mut(pt::pfn_of(e));
                    if p.flags.contains(PageFlags::MLOCKED) {
                        p.flags.remove(PageFlags::MLOCKED);
                        pages += 1;
                    }
                }
                a += PAGE_SIZE;
            }
        }
        (vmas, pages)
    }

    /// `mmdrop`: drop a reference to the struct; the last one frees it (`__mmdrop`).
    fn mmdrop(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) {
        let mm = self.mm_mut(id);
        mm.count -= 1;
        let count = mm.count as i64;
        r.step("mmdrop", depth, &[("mm_count", count)]);
        if count == 0 {
            self.__mmdrop(id, r, depth + 1);
        }
    }

    /// `__mmdrop`: free the PGD, check the counters (`check_mm`), free the struct.
    #[allow(non_snake_case)]
    fn __mmdrop(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) {
        let mm = self.mms[id as usize].take().expect("mm");
        // mm_free_pgd: the PGD is freed here, never by free_pgtables.
        self.hw.table_free(mm.pgd);
        self.mem.page_mut(mm.pgd).refcount = 0;
        self.mem.free_pages(mm.pgd, 0);
        r.step("__mmdrop", depth, &[]);
        let mut messages = Vec::new();
        for (i, &v) in mm.rss.iter().enumerate() {
            if v != 0 {
                messages.push(format!(
                    "BUG: Bad rss-counter state mm:{:p} type:{} val:{}",
                    &*mm, RESIDENT_PAGE_TYPES[i], v
                ));
            }
        }
        if mm.pgtables_bytes != 0 {
            messages.push(format!(
                "BUG: non-zero pgtables_bytes on freeing mm: {}",
                mm.pgtables_bytes
            ));
        }
        let ok = messages.is_empty() as i64;
        r.steps.push(Step {
            func: "check_mm",
            depth: depth + 1,
            facts: alloc::vec![("ok", ok)],
            messages,
        });
    }
}
