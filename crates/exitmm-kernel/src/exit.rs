//! kernel/exit.c, kernel/fork.c and mm/mmap.c's exit path, as Linux 5.10 runs it (the seed):
//! `do_exit → exit_mm → mmput → __mmput → exit_mmap`, then `mmdrop → __mmdrop → check_mm`.
//!
//! Every step appends a [`Step`] to the [`TeardownReport`], in the order the kernel runs it,
//! with what it did; the report is the seed's call tree.

use crate::arch::{Hardware, MmId};
use crate::memory::VmaUnmap;
use crate::mm_types::{
    Mm, MmFlags, VmFlags, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS,
    RESIDENT_PAGE_TYPES,
};
use crate::mmu_gather::MmuGather;
use crate::oom_kill::{self, TaskId};
use crate::page::PageFlags;
use crate::pgtable::{self as pt, PAGE_SIZE, PMD_SIZE};
use crate::sched::{self, point, ActorKind, Cx, KCell};
use crate::{Inject, Kernel, Linux};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

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
    /// For `unmap_vmas`: what `unmap_single_vma` did for each VMA, in the order it visited
    /// them (the steps below it in the call tree).
    pub vmas: Vec<VmaUnmap>,
}

/// The teardown report: the seed's call tree with what each step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// Steps in the order they ran.
    pub steps: Vec<Step>,
}

impl TeardownReport {
    /// Appends a step.
    pub fn step(&mut self, func: &'static str, depth: u8, facts: &[(&'static str, i64)]) {
        self.steps.push(Step {
            func,
            depth,
            facts: facts.to_vec(),
            messages: Vec::new(),
            vmas: Vec::new(),
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

    /// `do_exit` of a task whose mm is `id` (the last thread) and whose open descriptors are
    /// `files`, run on its own (nothing else may run while it does): see [`do_exit`].
    pub fn do_exit(&mut self, id: MmId, files: &[crate::mm_types::FileId]) -> TeardownReport {
        let task = self
            .tasks
            .iter()
            .position(|t| t.as_ref().is_some_and(|t| t.mm == Some(id)))
            .map(|t| t as TaskId);
        let cx = Cx::new("exit", ActorKind::Exit);
        let mut r = TeardownReport::default();
        let cell = RefCell::new(self);
        sched::block_on(
            &cell,
            &cx,
            do_exit(&cell, &cx, task, id, files.to_vec(), &mut r),
        )
        .expect("an exit on its own waits for nobody");
        r
    }

    /// Ring-buffer pages perf holds, over every event.
    pub fn perf_rb_pages(&self) -> u64 {
        self.files
            .table
            .iter()
            .flatten()
            .filter_map(|f| match &f.driver {
                Some(crate::shmem::Driver::Perf(e)) => {
                    e.rb.as_ref().map(|rb| rb.pages.len() as u64)
                }
                _ => None,
            })
            .sum()
    }

    /// `exit_mmap` of mm `id` run on its own (tests): see [`exit_mmap`].
    pub fn exit_mmap(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) {
        let cx = Cx::new("exit", ActorKind::Exit);
        let cell = RefCell::new(self);
        sched::block_on(&cell, &cx, exit_mmap(&cell, &cx, id, r, depth))
            .expect("an exit_mmap on its own waits for nobody");
    }

    /// `mmput` run on its own: drop a user; the last one tears the address space down.
    pub fn mmput(&mut self, id: MmId) -> Option<TeardownReport> {
        let cx = Cx::new("mmput", ActorKind::Exit);
        let mut r = TeardownReport::default();
        let cell = RefCell::new(self);
        let last = sched::block_on(&cell, &cx, mmput(&cell, &cx, id, &mut r, 0))
            .expect("an mmput on its own waits for nobody");
        last.then_some(r)
    }
}

/// `do_exit` (kernel/exit.c): `exit_signals` (`PF_EXITING`), `exit_mm`, `exit_files`,
/// `exit_task_work` (the releases `fput` deferred), the scheduler's `mmdrop` of the lazy
/// `active_mm` reference when the dead task is switched away, and `release_task` (the parent
/// reaps it at once here), which drops the task's own reference.
pub async fn do_exit<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    task: Option<TaskId>,
    id: MmId,
    files: Vec<crate::mm_types::FileId>,
    r: &mut TeardownReport,
) {
    r.step("do_exit", 0, &[]);
    if let Some(t) = task {
        k.borrow_mut().task_mut(t).exiting = true;
    }
    exit_mm(k, cx, task, id, r).await;
    let mut kk = k.borrow_mut();
    // exit_files: the descriptor table goes; each open file loses a reference.
    for &f in &files {
        kk.fput(f);
    }
    r.step("exit_files", 1, &[("files", files.len() as i64)]);
    // exit_task_work: the files whose last reference went (in remove_vma or just now)
    // are released: shmem inodes evicted, perf events freed.
    let released = kk.delayed_fput.len() as i64;
    let perf_before = kk.perf_rb_pages();
    kk.task_work_run();
    let perf_freed = (perf_before - kk.perf_rb_pages()) as i64;
    r.step(
        "exit_task_work",
        1,
        &[
            ("files_released", released),
            ("perf_pages_freed", perf_freed),
        ],
    );
    // finish_task_switch: the dead task's lazy active_mm reference goes.
    kk.mmdrop(id, r, 1);
    if let Some(t) = task.filter(|&t| {
        // A leader whose other threads still live stays a zombie: the last of them
        // releases it.
        let task = kk.task_mut(t);
        task.release_pending = task.threads > 0;
        !task.release_pending
    }) {
        // release_task → put_task_struct: with the task's signal struct goes the OOM
        // killer's oom_mm pin, if nobody else (the reaper) still holds the task.
        kk.put_task_struct(t);
        let mut i = 0;
        while i < kk.late_mmdrop.len() {
            if kk.late_mmdrop[i].0 == id {
                let (_, late) = kk.late_mmdrop.remove(i);
                r.steps.push(Step {
                    func: "put_task_struct",
                    depth: 1,
                    facts: Vec::new(),
                    messages: Vec::new(),
                    vmas: Vec::new(),
                });
                r.steps.extend(late.steps.into_iter().map(|mut s| {
                    s.depth += 2;
                    s
                }));
            } else {
                i += 1;
            }
        }
    }
}

/// `exit_mm`: under `mmap_read_lock`, detach the mm from the task (`mmgrab` keeps it as the
/// lazy `active_mm`), then `mmput`.
async fn exit_mm<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    task: Option<TaskId>,
    id: MmId,
    r: &mut TeardownReport,
) {
    sched::mmap_read_lock(k, cx, id).await;
    {
        let mut kk = k.borrow_mut();
        let users = kk.mm(id).users as i64;
        kk.mm_mut(id).count += 1; // mmgrab: current->active_mm
        if let Some(t) = task {
            kk.task_mut(t).mm = None;
        }
        r.step("exit_mm", 1, &[("mm_users", users)]);
    }
    sched::mmap_read_unlock(k, id);
    mmput(k, cx, id, r, 2).await;
}

/// `mmput`: drop a user; the last one tears the address space down (in whatever context
/// dropped it). Returns whether this was the last.
pub async fn mmput<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    depth: u8,
) -> bool {
    let users = {
        let mut kk = k.borrow_mut();
        let mm = kk.mm_mut(id);
        mm.users -= 1;
        mm.users as i64
    };
    r.step("mmput", depth, &[("mm_users", users)]);
    if users == 0 {
        __mmput(k, cx, id, r, depth + 1).await;
        true
    } else {
        false
    }
}

/// `__mmput`: the per-mm exits that must run before `exit_mmap`, then `exit_mmap`, then the
/// references the mm itself held, then `mmdrop`.
#[allow(non_snake_case)]
async fn __mmput<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    depth: u8,
) {
    r.step("__mmput", depth, &[]);
    // The XOL area goes before exit_mmap: its own reference to its page is dropped, while
    // the [uprobes] VMA's PTE (if the page was ever fetched) keeps it until the zap.
    let xol = k.borrow_mut().with_mm(id, |k, mm| k.uprobe_clear_state(mm));
    r.step("uprobe_clear_state", depth + 1, &[("xol_area", xol as i64)]);
    // exit_aio, ksm_exit, khugepaged_exit: the model has no aio rings, KSM or khugepaged
    // slots, so they have nothing to do.
    exit_mmap(k, cx, id, r, depth + 1).await;
    // mm_put_huge_zero_page, set_mm_exe_file(NULL), mmlist removal: nothing held here.
    k.borrow_mut().mmdrop(id, r, depth + 1);
}

/// `exit_mmap` (mm/mmap.c): release every mapping of a dead address space, by the protocol
/// of the configured kernel (`Config::linux`): [`exit_mmap_5_10`] or [`exit_mmap_6_18`].
pub async fn exit_mmap<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    depth: u8,
) {
    let linux = {
        let mut kk = k.borrow_mut();
        if cx.kind == ActorKind::Mrelease {
            kk.races.push(format!(
                "{}: exit_mmap ran in process_mrelease's caller (its mmput was the last: \
                 the caller must pin the mm with mmgrab, not mmget)",
                cx.name
            ));
        }
        let (n, linux) = (kk.mm(id).vmas.len() as i64, kk.config.linux);
        let v = match linux {
            Linux::V5_10 => 510,
            Linux::V6_18 => 618,
        };
        r.step("exit_mmap", depth, &[("vmas", n), ("linux", v)]);
        // mm's last user has gone, and it's about to be pulled down.
        kk.with_mm(id, |k, mm| k.mmu_notifier_release(mm, r, depth + 1));
        linux
    };
    match linux {
        Linux::V5_10 => exit_mmap_5_10(k, cx, id, r, depth + 1).await,
        Linux::V6_18 => exit_mmap_6_18(k, cx, id, r, depth + 1).await,
    }
}

/// The 5.10 body of `exit_mmap` after `mmu_notifier_release` (the seed's): no `mmap_lock`
/// held; an OOM victim reaps itself, sets `MMF_OOM_SKIP` and waits out a reaper with an empty
/// `mmap_write_lock`/`unlock` before the munlock pass, the unmap and the table free.
async fn exit_mmap_5_10<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    d: u8,
) {
    let inject = k.borrow().config.inject;
    let victim = k.borrow().mm(id).flags.contains(MmFlags::OOM_VICTIM);
    let mut munlocked = false;
    if victim && inject.contains(Inject::MUNLOCK_BEFORE_REAP) {
        // Injected: the pre-4.17 order, munlock first (the reaper may be running now).
        munlock_pass(k, cx, id, r, d).await;
        munlocked = true;
    }
    if victim {
        // Manually reap the mm to free as much memory as possible. Then, as the oom reaper
        // does, set MMF_OOM_SKIP to disregard this mm from further consideration. Taking
        // mmap_lock for write after setting MMF_OOM_SKIP will guarantee that the oom reaper
        // will not run on this mm again after mmap_lock is dropped.
        k.borrow_mut().hw.note_step("__oom_reap_task_mm");
        let reaped = oom_kill::__oom_reap_task_mm(k, cx, id, oom_kill::ReapBy::Exit).await;
        k.borrow_mut().mm_mut(id).flags.insert(MmFlags::OOM_SKIP);
        r.step(
            "__oom_reap_task_mm",
            d,
            &[
                ("ptes", reaped.zap.ptes as i64),
                ("anon", reaped.zap.anon as i64),
                ("file", reaped.zap.file as i64),
                ("shmem", reaped.zap.shmem as i64),
                ("pages_freed", reaped.freed as i64),
            ],
        );
        if !inject.contains(Inject::NO_OOM_BARRIER) {
            sched::mmap_write_lock(k, cx, id).await;
            sched::mmap_write_unlock(k, id);
            r.step("mmap_write_lock", d, &[("oom_skip", 1)]);
        }
    }
    if !munlocked && k.borrow().mm(id).locked_vm != 0 {
        munlock_pass(k, cx, id, r, d).await;
    }
    {
        let mut kk = k.borrow_mut();
        kk.hw.note_step("exit_mmap");
        kk.hw.arch_exit_mmap(id);
        r.step("arch_exit_mmap", d, &[]);
        if kk.mm(id).vmas.is_empty() {
            // Can happen if dup_mmap() received an OOM: nothing gathered, nothing to unaccount.
            return;
        }
        // lru_add_drain (5.10; 6.14 dropped it): the CPU's folio batches go to the LRU.
        let batched = (kk.mem.fbatches.lru_add.len() + kk.mem.fbatches.mlock.len()) as i64;
        kk.lru_add_drain();
        r.step("lru_add_drain", d, &[("folios", batched)]);
    }
    let (tlb, vmas) = unmap_all(k, cx, id, r, d).await;
    let nr_accounted = free_and_remove(k, cx, id, tlb, vmas, r, d).await;
    let mut kk = k.borrow_mut();
    kk.vm_unacct_memory(nr_accounted);
    r.step("vm_unacct_memory", d, &[("pages", nr_accounted)]);
}

/// The 6.18 body of `exit_mmap` after `mmu_notifier_release`: the unmap under
/// `mmap_read_lock` (a reaper may zap alongside: each page goes to whoever clears its entry),
/// `MMF_OOM_SKIP`, then `mmap_write_lock` — which waits out every reader, each of which
/// re-checks `MMF_OOM_SKIP` — around `free_pgtables`, the VMA removal and the tree's destroy.
async fn exit_mmap_6_18<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    d: u8,
) {
    sched::mmap_read_lock(k, cx, id).await;
    r.step("mmap_read_lock", d, &[]);
    let empty = {
        let mut kk = k.borrow_mut();
        kk.hw.note_step("exit_mmap");
        kk.hw.arch_exit_mmap(id);
        r.step("arch_exit_mmap", d, &[]);
        kk.mm(id).vmas.is_empty()
    };
    let mut nr_accounted = 0;
    if empty {
        sched::mmap_read_unlock(k, id);
        sched::mmap_write_lock(k, cx, id).await;
        r.step("mmap_write_lock", d, &[("oom_skip", 0)]);
    } else {
        let (tlb, vmas) = unmap_all(k, cx, id, r, d).await;
        sched::mmap_read_unlock(k, id);
        // Set MMF_OOM_SKIP to hide this task from the oom killer/reaper because the memory
        // has been already freed.
        k.borrow_mut().mm_mut(id).flags.insert(MmFlags::OOM_SKIP);
        sched::mmap_write_lock(k, cx, id).await;
        r.step("mmap_write_lock", d, &[("oom_skip", 1)]);
        nr_accounted = free_and_remove(k, cx, id, tlb, vmas, r, d).await;
    }
    // destroy: __mt_destroy under the lock.
    sched::mmap_write_unlock(k, id);
    r.step("mmap_write_unlock", d, &[]);
    let mut kk = k.borrow_mut();
    kk.vm_unacct_memory(nr_accounted);
    r.step("vm_unacct_memory", d, &[("pages", nr_accounted)]);
}

/// `flush_cache_mm`, `tlb_gather_mmu_fullmm` and `unmap_vmas(&tlb, vma, 0, -1)`, with a
/// preemption point after each VMA. Returns the gather and the VMAs it unmapped (still in the
/// mm's tree: a reaper may look at them until the tables go).
async fn unmap_all<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    d: u8,
) -> (MmuGather, Vec<crate::mm_types::Vma>) {
    let (mut tlb, vmas) = {
        let mut kk = k.borrow_mut();
        kk.hw.flush_cache_mm(id);
        r.step("flush_cache_mm", d, &[]);
        let tlb = MmuGather::new(id, true, kk.config.inject);
        let mm = kk.mm_mut(id);
        mm.tlb_flush_pending += 1;
        r.step("tlb_gather_mmu", d, &[("fullmm", 1)]);
        let vmas: Vec<_> = mm.vmas.values().cloned().collect();
        // The notifier range covers everything (MMU_NOTIFY_UNMAP); after
        // mmu_notifier_release it reaches nobody.
        crate::mmu_notifier::invalidate_range_start(mm, 0, u64::MAX);
        (tlb, vmas)
    };
    // Use -1 here to ensure all VMAs in the mm are unmapped. The totals come from what the
    // walk changed (the RSS counters, the gather's cleared entries), not from the per-VMA
    // figures, so that the two can be checked against each other.
    let mut done = Vec::with_capacity(vmas.len());
    let mut gone = [0i64; 4];
    let (entries, huge, pfns, thp) = (
        tlb.stats.entries,
        tlb.stats.huge_entries,
        tlb.stats.pfn_entries,
        tlb.stats.thp_pages,
    );
    let mut messages = Vec::new();
    for (i, vma) in vmas.iter().enumerate() {
        {
            let mut kk = k.borrow_mut();
            kk.with_mm(id, |k, mm| {
                let rss = mm.rss;
                if let Some(v) = k.unmap_single_vma(&mut tlb, mm, vma, 0, u64::MAX) {
                    done.push(v);
                }
                for (g, (a, b)) in gone.iter_mut().zip(rss.iter().zip(mm.rss.iter())) {
                    *g += a - b;
                }
            });
            // What untrack_pfn had to say (5.10 PAT: a reservation it could not find).
            messages.append(&mut kk.pat.log);
        }
        if i + 1 < vmas.len() {
            point(cx, "unmap_vmas").await;
        }
    }
    let ptes = (tlb.stats.entries - entries) as i64;
    let (anon, file, shmem) = (gone[MM_ANONPAGES], gone[MM_FILEPAGES], gone[MM_SHMEMPAGES]);
    let pfn = (tlb.stats.pfn_entries - pfns) as i64;
    r.step(
        "unmap_vmas",
        d,
        &[
            ("vmas", done.len() as i64),
            ("ptes", ptes),
            ("anon", anon),
            ("file", file),
            ("shmem", shmem),
            ("swap", gone[MM_SWAPENTS]),
            // THP PMDs unmapped anonymous pages without clearing PTEs.
            (
                "zero",
                ptes - (anon - (tlb.stats.thp_pages - thp) as i64) - file - shmem - pfn,
            ),
            ("pfn", pfn),
            ("hugetlb", (tlb.stats.huge_entries - huge) as i64),
        ],
    );
    let step = r.steps.last_mut().expect("unmap_vmas");
    step.vmas = done;
    step.messages = messages;
    (tlb, vmas)
}

/// `free_pgtables(FIRST_USER_ADDRESS, USER_PGTABLES_CEILING)`, `tlb_finish_mmu`, then the
/// `remove_vma` loop with `cond_resched` after each VMA. Returns the `VM_ACCOUNT` pages.
async fn free_and_remove<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    mut tlb: MmuGather,
    vmas: Vec<crate::mm_types::Vma>,
    r: &mut TeardownReport,
    d: u8,
) -> i64 {
    {
        let mut kk = k.borrow_mut();
        let before = tlb.stats.tables_freed;
        kk.with_mm(id, |k, mm| {
            k.free_pgtables(
                &mut tlb,
                mm,
                &vmas,
                FIRST_USER_ADDRESS,
                None,
                USER_PGTABLES_CEILING,
            )
        });
        let queued = tlb.stats.tables_freed;
        let nested = kk.mm(id).tlb_flush_pending > 1;
        let stats = kk.tlb_finish_mmu(tlb, nested);
        let mm = kk.mm_mut(id);
        mm.tlb_flush_pending -= 1;
        // The VMAs leave the tree: the removal below frees them.
        mm.vmas.clear();
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
        kk.hw.note_step("remove_vma");
    }
    // Walk the list again, actually closing and freeing it, with preemption enabled.
    let n = vmas.len() as i64;
    let mut removed = crate::mmap::RemoveVma::default();
    let mut nr_accounted = 0i64;
    for vma in vmas {
        {
            let mut kk = k.borrow_mut();
            if vma.flags.contains(VmFlags::ACCOUNT) {
                nr_accounted += vma.pages() as i64;
            }
            let rv = kk.with_mm(id, |k, mm| k.remove_vma(mm, vma));
            removed.perf_pages_freed += rv.perf_pages_freed;
            removed.pat_untracked += rv.pat_untracked;
            removed.shm_closed += rv.shm_closed;
            removed.shm_destroyed += rv.shm_destroyed;
            kk.hw.cond_resched();
        }
        point(cx, "cond_resched").await;
    }
    let keys = [
        ("vmas", n),
        ("perf_pages_freed", removed.perf_pages_freed as i64),
        ("pat_untracked", removed.pat_untracked as i64),
        // vm_ops->close of SysV attachments (shm_close), shown when there were any.
        ("shm_close", removed.shm_closed as i64),
        ("shm_destroyed", removed.shm_destroyed as i64),
    ];
    let shown = if removed.shm_closed > 0 { 5 } else { 3 };
    r.step("remove_vma", d, &keys[..shown]);
    nr_accounted
}

/// The 5.10 munlock pass over every `VM_LOCKED` VMA, reported as one step.
async fn munlock_pass<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    r: &mut TeardownReport,
    d: u8,
) {
    let starts: Vec<u64> = k
        .borrow()
        .mm(id)
        .vmas
        .values()
        .filter(|v| v.flags.contains(VmFlags::LOCKED))
        .map(|v| v.start)
        .collect();
    let (mut vmas, mut pages) = (0, 0);
    for s in starts {
        vmas += 1;
        pages += munlock_vma_pages_all(k, cx, id, s).await;
    }
    r.step(
        "munlock_vma_pages_all",
        d,
        &[("vmas", vmas), ("pages", pages)],
    );
}

/// `munlock_vma_pages_all` → `munlock_vma_pages_range` (5.10): clear the lock flags first (so
/// that rmap walks see the VMA unlocked; `locked_vm` is left alone, the mm is dying), then
/// walk the pages with `follow_page`, `cond_resched` after each: a THP at once under its PMD
/// lock, small pages a PTE table at a time. `follow_page_mask` reads the PMD, takes its lock
/// for a huge one and re-reads it: if it is none by then, `follow_page_pte` maps a PTE table
/// that is not there — the NULL page-table-lock dereference of CVE-2018-1000200, recorded as a
/// race. Returns the pages munlocked.
async fn munlock_vma_pages_all<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    start: u64,
) -> i64 {
    let end = {
        let mut kk = k.borrow_mut();
        let v = kk.mm_mut(id).vmas.get_mut(&start).expect("the VMA");
        v.flags -= VmFlags::LOCKED_MASK;
        v.end
    };
    let mut pages = 0;
    let mut a = start;
    while a < end {
        let pmd_end = ((a & !(PMD_SIZE - 1)) + PMD_SIZE).min(end);
        let pmdval = {
            let kk = k.borrow();
            let mm = kk.mm(id);
            kk.pmd_table_of(mm, a)
                .map(|t| kk.hw.table(t)[pt::Level::Pmd.index(a)])
                .unwrap_or(0)
        };
        if !pt::present(pmdval) {
            a = pmd_end; // no_page_table
            continue;
        }
        if pt::leaf(pmdval) {
            // pmd_lock: the reaper's zap_huge_pmd may hold it.
            point(cx, "pmd_lock").await;
            let huge_done = {
                let mut kk = k.borrow_mut();
                let now = {
                    let mm = kk.mm(id);
                    kk.pmd_table_of(mm, a)
                        .map(|t| kk.hw.table(t)[pt::Level::Pmd.index(a)])
                        .unwrap_or(0)
                };
                if !pt::leaf(now) && !pt::present(now) {
                    kk.races.push(format!(
                        "{}: follow_page_mask found the huge PMD of {a:#x} gone under its lock \
                         and went on to follow_page_pte on an empty PMD (NULL page-table lock, \
                         CVE-2018-1000200)",
                        cx.name
                    ));
                    return pages;
                }
                if pt::leaf(now) {
                    let p = kk.mem.page_mut(pt::pfn_of(now));
                    if p.flags.contains(PageFlags::MLOCKED) {
                        p.flags.remove(PageFlags::MLOCKED);
                        pages += (PMD_SIZE / PAGE_SIZE) as i64;
                    }
                }
                pt::leaf(now)
            };
            if huge_done {
                a = pmd_end;
                point(cx, "cond_resched").await;
                continue;
            }
        }
        // Small pages: the PTE table under its lock (__munlock_pagevec_fill).
        {
            let mut kk = k.borrow_mut();
            let mut b = a;
            while b < pmd_end {
                let e = kk.with_mm(id, |k, mm| k.pte_at(mm, b));
                if pt::present(e) && e & pt::SPECIAL == 0 {
                    let p = kk.mem.page_mut(pt::pfn_of(e));
                    if p.flags.contains(PageFlags::MLOCKED) {
                        p.flags.remove(PageFlags::MLOCKED);
                        pages += 1;
                    }
                }
                b += PAGE_SIZE;
            }
        }
        a = pmd_end;
        point(cx, "cond_resched").await;
    }
    pages
}

impl<H: Hardware> Kernel<H> {
    /// `mmu_notifier_release`: call every subscriber's `release`, then unlink them, so the
    /// invalidations of the unmap below reach nobody.
    fn mmu_notifier_release(&mut self, mm: &mut Mm, r: &mut TeardownReport, d: u8) {
        let subscribers = crate::mmu_notifier::mmu_notifier_release(mm) as i64;
        r.step("mmu_notifier_release", d, &[("subscribers", subscribers)]);
    }

    /// `mmdrop`: drop a reference to the struct; the last one frees it (`__mmdrop`).
    /// Returns whether it did.
    pub(crate) fn mmdrop(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) -> bool {
        let mm = self.mm_mut(id);
        mm.count -= 1;
        let count = mm.count as i64;
        r.step("mmdrop", depth, &[("mm_count", count)]);
        if count == 0 {
            self.__mmdrop(id, r, depth + 1);
        }
        count == 0
    }

    /// `__mmdrop`: free the PGD, check the counters (`check_mm`), free the struct.
    #[allow(non_snake_case)]
    fn __mmdrop(&mut self, id: MmId, r: &mut TeardownReport, depth: u8) {
        let mm = self.mms[id as usize].take().expect("mm");
        if mm.flags.contains(MmFlags::OOM_REAP_QUEUED) && !mm.flags.contains(MmFlags::OOM_SKIP) {
            self.races.push(format!(
                "mm{id}: an OOM victim's mm was freed without MMF_OOM_SKIP"
            ));
        }
        // mm_free_pgd: the PGD is freed here, never by free_pgtables.
        self.hw.note_step("__mmdrop");
        self.hw.table_free(mm.pgd);
        self.mem.page_mut(mm.pgd).refcount = 0;
        self.mem.free_pages(mm.pgd, 0);
        self.hw.destroy_context(mm.id);
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
            vmas: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    //! One test per seed step. Each builds a process with known memory, derives the expected
    //! figures from the page tables and VMAs *before* the exit (not from the zap code), runs the
    //! exit and checks the step's effect and its place in the order.

    use super::*;
    use crate::mm_types::MM_ANONPAGES;
    use crate::mmap::{MapFlags, Prot};
    use crate::shmem::FileKind;
    use crate::testhw::{HwCall, TestHw};
    use crate::{Config, Kernel};

    const A: u64 = 0x1000_0000_0000;
    const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };
    const R: Prot = Prot {
        read: true,
        write: false,
        exec: false,
    };

    fn kernel() -> Kernel<TestHw> {
        Kernel::new(
            TestHw::default(),
            Config {
                ram_bytes: 256 << 20,
                ..Config::default()
            },
        )
    }

    fn touch(k: &mut Kernel<TestHw>, id: MmId, start: u64, len: u64, write: bool) {
        k.with_mm(id, |k, mm| {
            for a in (start..start + len).step_by(4096) {
                k.handle_mm_fault(mm, a, write).unwrap();
            }
        });
    }

    fn mmap(
        k: &mut Kernel<TestHw>,
        id: MmId,
        addr: u64,
        len: u64,
        prot: Prot,
        shared: bool,
        file: Option<u32>,
    ) {
        let f = MapFlags {
            shared,
            ..MapFlags::default()
        };
        k.with_mm(id, |k, mm| k.do_mmap(mm, addr, len, prot, f, file, 0))
            .unwrap();
    }

    /// A process with 1024 private anon pages, 16 zero-page PTEs, 64 shared-anon pages, 16
    /// memfd pages (fault-around), and (optionally) 64 mlocked anon pages. Returns the mm and
    /// the memfd (whose "descriptor" reference the test holds).
    fn process(k: &mut Kernel<TestHw>, locked: bool) -> (MmId, u32) {
        let id = k.mm_alloc().unwrap();
        mmap(k, id, A, 4 << 20, RW, false, None);
        touch(k, id, A, 4 << 20, true);
        mmap(k, id, A + (8 << 20), 64 << 10, R, false, None);
        touch(k, id, A + (8 << 20), 64 << 10, false);
        mmap(k, id, A + (16 << 20), 1 << 20, RW, true, None);
        touch(k, id, A + (16 << 20), 256 << 10, true);
        let f = k
            .shmem_file_setup("data", FileKind::Memfd, 1 << 20, true)
            .unwrap();
        k.shmem_fill(f).unwrap();
        mmap(k, id, A + (24 << 20), 1 << 20, R, true, Some(f));
        touch(k, id, A + (24 << 20), 4096, false);
        if locked {
            mmap(k, id, A + (1 << 30), 256 << 10, RW, false, None);
            k.with_mm(id, |k, mm| k.do_mlock(mm, A + (1 << 30), 256 << 10, false))
                .unwrap();
        }
        assert!(
            k.check_invariants().is_empty(),
            "{:?}",
            k.check_invariants()
        );
        (id, f)
    }

    /// Figures derived from the structures before the exit.
    #[derive(Debug, Default)]
    struct Derived {
        anon: i64,
        shmem: i64,
        zero: i64,
        tables: [i64; 3],
        accounted: i64,
        exclusive_anon: i64,
        locked_pages: i64,
        reapable_anon: i64,
    }

    fn derive(k: &Kernel<TestHw>, id: MmId) -> Derived {
        let mm = k.mm(id);
        let mut d = Derived::default();
        for v in mm.vmas.values() {
            if v.flags.contains(VmFlags::ACCOUNT) {
                d.accounted += v.pages() as i64;
            }
            for a in (v.start..v.end).step_by(4096) {
                let e = k.pte_at(mm, a);
                if !pt::present(e) {
                    continue;
                }
                if e & pt::SPECIAL != 0 {
                    d.zero += 1;
                    continue;
                }
                let p = k.mem.page(pt::pfn_of(e));
                if p.flags.contains(PageFlags::ANON) {
                    d.anon += 1;
                    if p.refcount == 1 {
                        d.exclusive_anon += 1;
                    }
                    if v.flags.contains(VmFlags::LOCKED) {
                        d.locked_pages += 1;
                    } else {
                        d.reapable_anon += 1;
                    }
                } else {
                    d.shmem += 1;
                }
            }
        }
        let pgd = k.hw.table(mm.pgd);
        for e in pgd.iter().filter(|e| pt::present(**e)) {
            d.tables[2] += 1;
            for e in
                k.hw.table(pt::pfn_of(*e))
                    .iter()
                    .filter(|e| pt::present(**e))
            {
                d.tables[1] += 1;
                d.tables[0] +=
                    k.hw.table(pt::pfn_of(*e))
                        .iter()
                        .filter(|e| pt::present(**e))
                        .count() as i64;
            }
        }
        d
    }

    fn names(r: &TeardownReport) -> Vec<&'static str> {
        r.steps.iter().map(|s| s.func).collect()
    }

    const SEED_ORDER: [&str; 21] = [
        "do_exit",
        "exit_mm",
        "mmput",
        "__mmput",
        "uprobe_clear_state",
        "exit_mmap",
        "mmu_notifier_release",
        "arch_exit_mmap",
        "lru_add_drain",
        "flush_cache_mm",
        "tlb_gather_mmu",
        "unmap_vmas",
        "free_pgtables",
        "tlb_finish_mmu",
        "remove_vma",
        "vm_unacct_memory",
        "mmdrop",
        "exit_files",
        "exit_task_work",
        "mmdrop",
        "__mmdrop",
    ];

    #[test]
    fn steps_run_in_the_seeds_order() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        let r = k.do_exit(id, &[]);
        let mut want: Vec<&str> = SEED_ORDER.to_vec();
        want.push("check_mm");
        assert_eq!(names(&r), want);
        assert!(
            k.check_invariants().is_empty(),
            "{:?}",
            k.check_invariants()
        );
    }

    #[test]
    fn mmput_tears_down_only_for_the_last_user_and_mmget_fails_after() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        assert!(k.mmget_not_zero(id));
        assert!(
            k.mmput(id).is_none(),
            "a remaining user must keep the address space"
        );
        assert_eq!(k.mm(id).rss[MM_ANONPAGES], 1024);
        k.mm_mut(id).count += 1; // mmgrab: keep the struct, as a lazy-TLB user would
        let r = k.mmput(id).expect("last user");
        assert_eq!(r.fact("unmap_vmas", "anon"), Some(1024));
        assert_eq!(k.mm(id).users, 0);
        assert!(
            !k.mmget_not_zero(id),
            "no new user after mm_users reached 0"
        );
        assert!(k.mm(id).vmas.is_empty());
    }

    #[test]
    fn mmu_notifier_release_is_the_first_step_of_exit_mmap() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        let r = k.do_exit(id, &[]);
        let n = names(&r);
        let at = n.iter().position(|s| *s == "exit_mmap").unwrap();
        assert_eq!(n[at + 1], "mmu_notifier_release");
        assert_eq!(r.fact("mmu_notifier_release", "subscribers"), Some(0));
    }

    #[test]
    fn mmu_notifier_release_unlinks_subscribers_before_the_unmap() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        k.with_mm(id, |k, mm| {
            crate::mmu_notifier::mmu_notifier_register(mm, 7);
            crate::mmu_notifier::mmu_notifier_register(mm, 8);
            // A munmap while subscribed: the subscribers hear of its range.
            k.do_munmap(mm, A + (8 << 20), 64 << 10).unwrap();
            assert_eq!(
                mm.notifiers.list[0].invalidations,
                alloc::vec![(A + (8 << 20), A + (8 << 20) + (64 << 10))]
            );
        });
        let mut r = TeardownReport::default();
        k.exit_mmap(id, &mut r, 0);
        k.with_mm(id, |_, mm| {
            assert_eq!(r.fact("mmu_notifier_release", "subscribers"), Some(2));
            assert!(mm.notifiers.list.is_empty());
            // Released before unmap_vmas: the exit's invalidation reached no one.
            for s in &mm.notifiers.released {
                assert!(s.released);
                assert_eq!(s.invalidations.len(), 1, "only the munmap's range");
            }
        });
    }

    #[test]
    fn exit_mmap_leaves_map_count_total_vm_and_locked_vm_alone() {
        let mut k = kernel();
        let (id, _) = process(&mut k, true);
        let (map_count, total_vm, locked_vm) = {
            let mm = k.mm(id);
            (mm.map_count, mm.total_vm, mm.locked_vm)
        };
        let mut r = TeardownReport::default();
        k.exit_mmap(id, &mut r, 0);
        let mm = k.mm(id);
        assert!(mm.vmas.is_empty());
        assert_eq!(
            (mm.map_count, mm.total_vm, mm.locked_vm),
            (map_count, total_vm, locked_vm)
        );
        assert_eq!(mm.rss, [0; 4]);
        assert_eq!(mm.pgtables_bytes, 0);
    }

    #[test]
    fn a_full_table_batch_is_flushed_then_freed() {
        let mut k = Kernel::new(
            TestHw::default(),
            Config {
                ram_bytes: 2 << 30,
                ..Config::default()
            },
        );
        let id = k.mm_alloc().unwrap();
        // 600 PTE tables: one written page in each 2 MiB slot of a 1.2 GB mapping.
        mmap(&mut k, id, A, 600 << 21, RW, false, None);
        for i in 0..600u64 {
            touch(&mut k, id, A + (i << 21), 4096, true);
        }
        let r = k.do_exit(id, &[]);
        assert_eq!(r.fact("free_pgtables", "pte"), Some(600));
        assert_eq!(r.fact("free_pgtables", "pmd"), Some(2));
        // 509 tables fill the table batch: a flush and free then, and the final one.
        assert_eq!(r.fact("tlb_finish_mmu", "flushes"), Some(2));
        assert_eq!(r.fact("tlb_finish_mmu", "pages_freed"), Some(600));
        assert!(k.check_invariants().is_empty());
    }

    #[test]
    fn oom_victim_self_reaps_before_munlock_and_sets_oom_skip() {
        let mut k = kernel();
        let (id, _) = process(&mut k, true);
        let d = derive(&k, id);
        k.mark_oom_victim(id);
        let log_start = k.hw.log.len();
        let mut r = TeardownReport::default();
        k.exit_mmap(id, &mut r, 0);
        let n = names(&r);
        let pos = |s: &str| {
            n.iter()
                .position(|x| *x == s)
                .unwrap_or_else(|| panic!("no step {s}: {n:?}"))
        };
        assert!(pos("mmu_notifier_release") < pos("__oom_reap_task_mm"));
        assert!(pos("__oom_reap_task_mm") < pos("mmap_write_lock"));
        assert!(pos("mmap_write_lock") < pos("munlock_vma_pages_all"));
        // The reaper took the unlocked private pages only: locked VMAs were still VM_LOCKED
        // (munlock had not run yet) and shared memory is not the reaper's.
        assert_eq!(r.fact("__oom_reap_task_mm", "anon"), Some(d.reapable_anon));
        assert_eq!(r.fact("__oom_reap_task_mm", "shmem"), Some(0));
        assert_eq!(r.fact("unmap_vmas", "anon"), Some(d.locked_pages));
        assert_eq!(r.fact("unmap_vmas", "shmem"), Some(d.shmem));
        // Its gathers were per-VMA ranges, all before exit's full-mm flush.
        let log = &k.hw.log[log_start..];
        let full = log
            .iter()
            .position(|c| matches!(c, HwCall::FlushMm(_)))
            .unwrap();
        assert!(log[..full]
            .iter()
            .any(|c| matches!(c, HwCall::FlushRange { .. })));
        let mm = k.mm(id);
        assert!(mm.flags.contains(MmFlags::OOM_SKIP | MmFlags::UNSTABLE));
    }

    #[test]
    fn munlock_pass_runs_before_the_unmap_and_finds_the_mlocked_pages() {
        let mut k = kernel();
        let (id, _) = process(&mut k, true);
        let d = derive(&k, id);
        assert_eq!(d.locked_pages, 64);
        let r = k.do_exit(id, &[]);
        let n = names(&r);
        let m = n
            .iter()
            .position(|s| *s == "munlock_vma_pages_all")
            .expect("munlock pass");
        assert!(m < n.iter().position(|s| *s == "arch_exit_mmap").unwrap());
        assert_eq!(r.fact("munlock_vma_pages_all", "pages"), Some(64));
        assert_eq!(r.fact("munlock_vma_pages_all", "vmas"), Some(1));
        // No munlock pass without locked memory.
        let (id, _) = process(&mut k, false);
        assert!(k.do_exit(id, &[]).get("munlock_vma_pages_all").is_none());
    }

    #[test]
    fn arch_exit_mmap_then_flush_cache_mm_then_the_full_flush() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        let start = k.hw.log.len();
        k.do_exit(id, &[]);
        let log: Vec<_> = k.hw.log[start..]
            .iter()
            .filter(|c| !matches!(c, HwCall::TableFree(_)))
            .cloned()
            .collect();
        assert_eq!(log[0], HwCall::ArchExitMmap(id));
        assert_eq!(log[1], HwCall::FlushCacheMm(id));
        assert_eq!(log[2], HwCall::FlushMm(id));
    }

    #[test]
    fn an_empty_mm_returns_before_gathering() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        k.with_mm(id, |k, mm| k.do_munmap(mm, A, 2 << 30)).unwrap();
        k.task_work_run(); // munmap returns to user space: its final fputs run
        let committed = k.committed;
        let start = k.hw.log.len();
        let r = k.do_exit(id, &[]);
        let n = names(&r);
        assert!(n.contains(&"arch_exit_mmap"));
        for s in [
            "lru_add_drain",
            "flush_cache_mm",
            "tlb_gather_mmu",
            "unmap_vmas",
            "free_pgtables",
            "vm_unacct_memory",
        ] {
            assert!(!n.contains(&s), "{s} ran for an empty mm");
        }
        assert_eq!(k.committed, committed);
        let log = &k.hw.log[start..];
        assert_eq!(
            log.iter()
                .filter(|c| !matches!(c, HwCall::TableFree(_)))
                .count(),
            1,
            "{log:?}"
        );
        assert_eq!(r.fact("check_mm", "ok"), Some(1));
    }

    #[test]
    fn unmap_vmas_clears_every_pte_by_kind() {
        let mut k = kernel();
        let (id, _) = process(&mut k, true);
        let d = derive(&k, id);
        let r = k.do_exit(id, &[]);
        assert_eq!(r.fact("unmap_vmas", "anon"), Some(d.anon));
        assert_eq!(r.fact("unmap_vmas", "shmem"), Some(d.shmem));
        assert_eq!(r.fact("unmap_vmas", "zero"), Some(d.zero));
        assert_eq!(
            r.fact("unmap_vmas", "ptes"),
            Some(d.anon + d.shmem + d.zero)
        );
        assert_eq!(r.fact("unmap_vmas", "vmas"), Some(5));
    }

    #[test]
    fn free_pgtables_frees_every_level_and_only_after_the_flush() {
        let mut k = kernel();
        let (id, _) = process(&mut k, true);
        let d = derive(&k, id);
        let pgd = k.mm(id).pgd;
        let start = k.hw.log.len();
        let r = k.do_exit(id, &[]);
        assert_eq!(r.fact("free_pgtables", "pte"), Some(d.tables[0]));
        assert_eq!(r.fact("free_pgtables", "pmd"), Some(d.tables[1]));
        assert_eq!(r.fact("free_pgtables", "pud"), Some(d.tables[2]));
        let log = &k.hw.log[start..];
        let flush = log
            .iter()
            .position(|c| matches!(c, HwCall::FlushMm(_)))
            .unwrap();
        let frees: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, HwCall::TableFree(_)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            frees.len() as i64,
            d.tables.iter().sum::<i64>() + 1,
            "every table plus the PGD"
        );
        assert!(
            frees.iter().all(|&i| i > flush),
            "a table was freed before the TLB flush: {log:?}"
        );
        assert_eq!(
            log.last(),
            Some(&HwCall::TableFree(pgd)),
            "the PGD goes last, in __mmdrop"
        );
    }

    #[test]
    fn tlb_finish_mmu_frees_exactly_the_pages_only_this_mm_held() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        let d = derive(&k, id);
        let free = k.mem.nr_free();
        let r = k.do_exit(id, &[]);
        assert_eq!(
            r.fact("tlb_finish_mmu", "pages_freed"),
            Some(d.exclusive_anon)
        );
        assert_eq!(
            r.fact("tlb_finish_mmu", "pages_released"),
            Some(d.anon + d.shmem)
        );
        assert_eq!(
            r.fact("tlb_finish_mmu", "flushes"),
            Some(2),
            "one forced by dirty shmem PTEs, one final"
        );
        // Frames back: the pages, every table, the PGD, and the shared-anon object's pages
        // (its last reference went with remove_vma).
        let tables: i64 = d.tables.iter().sum();
        assert_eq!(
            k.mem.nr_free() - free,
            (d.exclusive_anon + tables + 1 + 64) as u64
        );
    }

    #[test]
    fn remove_vma_drops_the_last_reference_of_a_shared_object_but_not_of_an_open_file() {
        let mut k = kernel();
        let (id, memfd) = process(&mut k, false);
        let objects = k.files.table.iter().flatten().count();
        assert_eq!(objects, 2);
        k.do_exit(id, &[]);
        assert_eq!(
            k.files.table.iter().flatten().count(),
            1,
            "the shared-anon object goes with its VMA"
        );
        assert_eq!(
            k.files.get(memfd).pages.len(),
            256,
            "the memfd is still open: its cache stays"
        );
        k.fput(memfd);
        k.task_work_run();
        assert!(k.files.table.iter().all(|f| f.is_none()));
        assert_eq!(k.committed, 0);
        assert!(
            k.check_invariants().is_empty(),
            "{:?}",
            k.check_invariants()
        );
    }

    #[test]
    fn vm_unacct_memory_returns_the_vm_account_pages() {
        let mut k = kernel();
        let (id, memfd) = process(&mut k, true);
        let d = derive(&k, id);
        let before = k.committed;
        let r = k.do_exit(id, &[]);
        assert_eq!(r.fact("vm_unacct_memory", "pages"), Some(d.accounted));
        assert_eq!(d.accounted, 1024 + 64);
        // The shared-anon object (256 pages charged whole) went with remove_vma.
        assert_eq!(before - k.committed, d.accounted + 256);
        k.fput(memfd);
        k.task_work_run();
        assert_eq!(k.committed, 0);
    }

    #[test]
    fn check_mm_reports_a_bad_rss_counter_like_the_kernel() {
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        k.mm_mut(id).rss[MM_ANONPAGES] += 3;
        let r = k.do_exit(id, &[]);
        let s = r.get("check_mm").unwrap();
        assert_eq!(s.facts, alloc::vec![("ok", 0)]);
        assert_eq!(s.messages.len(), 1);
        assert!(
            s.messages[0].starts_with("BUG: Bad rss-counter state mm:"),
            "{}",
            s.messages[0]
        );
        assert!(
            s.messages[0].ends_with(" type:MM_ANONPAGES val:3"),
            "{}",
            s.messages[0]
        );
    }

    #[test]
    fn check_mm_reports_a_leaked_swap_count_like_the_kernel() {
        use crate::mm_types::MM_SWAPENTS;
        let mut k = kernel();
        let (id, _) = process(&mut k, false);
        // A swap entry the counter still counts but no PTE holds any more.
        k.mm_mut(id).rss[MM_SWAPENTS] += 1;
        let r = k.do_exit(id, &[]);
        let s = r.get("check_mm").unwrap();
        assert_eq!(s.facts, alloc::vec![("ok", 0)]);
        assert!(
            s.messages[0].ends_with(" type:MM_SWAPENTS val:1"),
            "{}",
            s.messages[0]
        );
    }

    #[test]
    fn a_full_gather_forces_a_flush_after_8_plus_19_batches_of_510() {
        let mut k = kernel();
        let id = k.mm_alloc().unwrap();
        mmap(&mut k, id, A, 10_000 * 4096, RW, false, None);
        touch(&mut k, id, A, 10_000 * 4096, true);
        let r = k.do_exit(id, &[]);
        assert_eq!(
            r.fact("tlb_finish_mmu", "forced"),
            Some(1),
            "9,698 pages fill the gather once"
        );
        assert_eq!(r.fact("tlb_finish_mmu", "batches"), Some(19));
        assert_eq!(r.fact("tlb_finish_mmu", "flushes"), Some(2));
        assert_eq!(r.fact("tlb_finish_mmu", "pages_freed"), Some(10_000));
        assert!(k.check_invariants().is_empty());
    }
}
