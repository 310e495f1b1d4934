//! mm/oom_kill.c: the OOM killer (`oom_badness`, victim selection, `__oom_kill_process`), the
//! `oom_reaper` kernel thread and `process_mrelease(2)`, for 5.10 (the seed's) and 6.18.
//!
//! The reaper and `process_mrelease` are concurrent actors (`async fn`s, see [`crate::sched`]):
//! they race the victim's own `exit_mmap` at `mmap_lock`, at the reaper's per-VMA loop and at
//! `cond_resched` between the PTE tables of a zap.

use crate::arch::{Hardware, MmId};
use crate::memory::{ZapDetails, ZapStats};
use crate::mm_types::{MmFlags, VmFlags, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS};
use crate::mmu_gather::MmuGather;
use crate::pgtable::{PAGE_SIZE, PMD_SIZE, PUD_SIZE};
use crate::sched::{self, point, ActorKind, Cx, KCell};
use crate::{Errno, Inject, Kernel, Linux};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A task id (index into `Kernel::tasks`).
pub type TaskId = u32;

/// `OOM_SCORE_ADJ_MIN`: never kill.
pub const OOM_SCORE_ADJ_MIN: i64 = -1000;
/// `MAX_OOM_REAP_RETRIES`.
pub const MAX_OOM_REAP_RETRIES: u32 = 10;
/// `OOM_REAPER_DELAY` (6.x: `2 * HZ`), in ms.
pub const OOM_REAPER_DELAY_MS: u64 = 2000;

/// The parts of a `task_struct` (and its `signal_struct`) the OOM paths read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// `pid`.
    pub pid: u32,
    /// `comm`.
    pub comm: String,
    /// `task->mm` (`None` once `exit_mm` has detached it).
    pub mm: Option<MmId>,
    /// `signal->oom_score_adj`.
    pub oom_score_adj: i64,
    /// A SIGKILL is pending (`SIGNAL_GROUP_EXIT` once delivered).
    pub sigkill: bool,
    /// `PF_EXITING`.
    pub exiting: bool,
    /// `signal->oom_mm`: the mm an OOM kill marked, pinned with `mmgrab`.
    pub oom_mm: Option<MmId>,
    /// `TIF_MEMDIE`.
    pub memdie: bool,
    /// `usage`: references to the task struct (the task itself until `release_task`, the
    /// reaper's queue).
    pub usage: u32,
    /// Other threads of the group that still have the mm (started by a killed process's
    /// `touch`/`munmap`).
    pub threads: u32,
    /// The group's mm, which those threads use.
    pub group_mm: MmId,
    /// The leader has exited while other threads lived: the last of them releases it.
    pub release_pending: bool,
}

/// What the OOM killer chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OomChoice {
    /// This task, with its `oom_badness` points.
    Victim(TaskId, i64),
    /// An earlier victim is still releasing its memory (no `MMF_OOM_SKIP` yet): wait for it.
    Abort,
    /// No killable task.
    None,
}

/// What one `__oom_reap_task_mm` pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Entries and pages it zapped.
    pub zap: ZapStats,
    /// Pages its gathers freed.
    pub freed: u64,
    /// VMAs skipped because a notifier would have blocked.
    pub blocked: u32,
}

impl<H: Hardware> Kernel<H> {
    /// A new task (`copy_process`) using mm `mm`.
    pub fn task_create(&mut self, mm: MmId, comm: &str) -> TaskId {
        let id = self.tasks.len() as TaskId;
        self.tasks.push(Some(Task {
            pid: 1000 + id,
            comm: comm.into(),
            mm: Some(mm),
            oom_score_adj: 0,
            sigkill: false,
            exiting: false,
            oom_mm: None,
            memdie: false,
            usage: 1,
            threads: 0,
            group_mm: mm,
            release_pending: false,
        }));
        id
    }

    /// The task `t`, if it still exists.
    pub fn task(&self, t: TaskId) -> Option<&Task> {
        self.tasks.get(t as usize).and_then(|t| t.as_ref())
    }

    /// The task `t`, mutable.
    pub fn task_mut(&mut self, t: TaskId) -> &mut Task {
        self.tasks[t as usize].as_mut().expect("no such task")
    }

    /// `put_task_struct`: the last reference frees the task, and with its signal struct the
    /// `oom_mm` pin (`free_signal_struct → mmdrop`).
    pub fn put_task_struct(&mut self, t: TaskId) {
        let task = self.task_mut(t);
        task.usage -= 1;
        if task.usage == 0 {
            let task = self.tasks[t as usize].take().unwrap();
            if let Some(mm) = task.oom_mm {
                let mut r = crate::exit::TeardownReport::default();
                if self.mmdrop(mm, &mut r, 0) {
                    self.late_mmdrop.push((mm, r));
                }
            }
        }
    }

    /// `find_lock_task_mm`: the mm of a thread of `t`'s group that still has one.
    pub fn find_lock_task_mm(&self, t: TaskId) -> Option<MmId> {
        let task = self.task(t)?;
        task.mm.or((task.threads > 0).then_some(task.group_mm))
    }

    /// `oom_badness` (6.18; 5.10 the same formula): rss + swap entries + page-table pages, plus
    /// `oom_score_adj` thousandths of `totalpages`; `None` (`LONG_MIN`) for a task that must
    /// not be chosen (no mm, `OOM_SCORE_ADJ_MIN`, `MMF_OOM_SKIP`).
    pub fn oom_badness(&self, t: TaskId, totalpages: i64) -> Option<i64> {
        let task = self.task(t)?;
        let mm = self.mm(self.find_lock_task_mm(t)?);
        let adj = task.oom_score_adj;
        if adj == OOM_SCORE_ADJ_MIN || mm.flags.contains(MmFlags::OOM_SKIP) {
            return None;
        }
        let points = mm.rss[MM_FILEPAGES]
            + mm.rss[MM_ANONPAGES]
            + mm.rss[MM_SHMEMPAGES]
            + mm.rss[MM_SWAPENTS]
            + mm.pgtables_bytes / PAGE_SIZE as i64;
        Some(points + adj * (totalpages / 1000))
    }

    /// `totalram_pages() + total_swap_pages`, the OOM killer's `totalpages` without a memcg or
    /// cpuset constraint.
    pub fn oom_totalpages(&self) -> i64 {
        self.mem.nr_frames() as i64 + self.swap.as_ref().map_or(0, |s| s.pages as i64)
    }

    /// `select_bad_process` → `oom_evaluate_task` over every task in creation order: an
    /// existing victim whose mm is not yet `MMF_OOM_SKIP` aborts the selection; otherwise the
    /// highest points win, a later task winning a tie.
    pub fn select_bad_process(&self) -> OomChoice {
        let total = self.oom_totalpages();
        let mut chosen = OomChoice::None;
        for (i, t) in self.tasks.iter().enumerate() {
            let Some(t) = t else { continue };
            if let Some(mm) = t.oom_mm {
                // tsk_is_oom_victim: wait for it, unless the reaper is done with it.
                if self.mms[mm as usize]
                    .as_ref()
                    .is_some_and(|m| !m.flags.contains(MmFlags::OOM_SKIP))
                {
                    return OomChoice::Abort;
                }
                continue;
            }
            let Some(points) = self.oom_badness(i as TaskId, total) else {
                continue;
            };
            match chosen {
                OomChoice::Victim(_, best) if points < best => {}
                _ => chosen = OomChoice::Victim(i as TaskId, points),
            }
        }
        chosen
    }

    /// `mark_oom_victim`: `TIF_MEMDIE`, `signal->oom_mm` pinned with `mmgrab` and, in 5.10,
    /// `MMF_OOM_VICTIM`, so that `exit_mmap` takes its OOM branch.
    pub fn mark_oom_victim_task(&mut self, t: TaskId) {
        let linux = self.config.linux;
        let task = self.task_mut(t);
        task.memdie = true;
        let mm = task.mm.unwrap_or(task.group_mm);
        if task.oom_mm.is_none() {
            task.oom_mm = Some(mm);
            self.mm_mut(mm).count += 1;
        }
        if linux == Linux::V5_10 {
            self.mm_mut(mm).flags.insert(MmFlags::OOM_VICTIM);
        }
    }

    /// `__oom_kill_process`: mark the victim, log it, send SIGKILL. Returns whether the reaper
    /// must be queued (`queue_oom_reaper` / `wake_oom_reaper`, after the `MMF_OOM_REAP_QUEUED`
    /// test-and-set).
    pub fn __oom_kill_process(&mut self, t: TaskId) -> bool {
        self.mark_oom_victim_task(t);
        let task = self.task(t).unwrap().clone();
        let mm = self.mm(task.group_mm);
        let k = |p: i64| p * 4;
        self.log.push(format!(
            "Out of memory: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, \
             shmem-rss:{}kB, UID:0 pgtables:{}kB oom_score_adj:{}",
            task.pid,
            task.comm,
            k(mm.total_vm),
            k(mm.rss[MM_ANONPAGES]),
            k(mm.rss[MM_FILEPAGES]),
            k(mm.rss[MM_SHMEMPAGES]),
            mm.pgtables_bytes / 1024,
            task.oom_score_adj
        ));
        self.task_mut(t).sigkill = true;
        let mm = self.mm_mut(task.group_mm);
        if mm.flags.contains(MmFlags::OOM_REAP_QUEUED) {
            return false;
        }
        mm.flags.insert(MmFlags::OOM_REAP_QUEUED);
        self.task_mut(t).usage += 1; // get_task_struct for the reaper's list
        true
    }

    /// `task_will_free_mem`: the task is exiting (SIGKILL, or `PF_EXITING`), its mm is not
    /// `MMF_OOM_SKIP`, and nobody else uses the mm (the model's processes never share one).
    pub fn task_will_free_mem(&self, t: TaskId) -> bool {
        let Some(task) = self.task(t) else {
            return false;
        };
        let Some(mm) = self.find_lock_task_mm(t) else {
            return false;
        };
        if !(task.sigkill || task.exiting) {
            return false;
        }
        !self.mm(mm).flags.contains(MmFlags::OOM_SKIP)
    }
}

/// Where a reap runs: the reaper thread, a `process_mrelease` caller, or 5.10's `exit_mmap`
/// reaping its own mm (which holds no lock and needs no non-blocking promise: the notifiers
/// are already released).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReapBy {
    /// The `oom_reaper` thread or `process_mrelease`: under `mmap_read_lock`, non-blocking.
    Remote,
    /// 5.10 `exit_mmap`'s self-reap.
    Exit,
}

/// `__oom_reap_task_mm`: zap the anonymous and private VMAs the version allows (5.10: not
/// `VM_LOCKED`, `VM_HUGETLB`, `VM_PFNMAP`, in address order; 6.18: not `VM_HUGETLB`,
/// `VM_PFNMAP`, from the top down), each with its own gather and a non-blocking notifier
/// range. Never frees page tables or VMAs.
pub async fn __oom_reap_task_mm<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    by: ReapBy,
) -> Reaped {
    let (linux, inject) = {
        let mut kk = k.borrow_mut();
        kk.mm_mut(id).flags.insert(MmFlags::UNSTABLE);
        (kk.config.linux, kk.config.inject)
    };
    let mut starts: Vec<u64> = k.borrow().mm(id).vmas.keys().copied().collect();
    if linux == Linux::V6_18 {
        starts.reverse(); // mas_for_each_rev
    }
    let mut out = Reaped::default();
    let skip = match linux {
        Linux::V5_10 => VmFlags::LOCKED | VmFlags::HUGETLB | VmFlags::PFNMAP,
        Linux::V6_18 => VmFlags::HUGETLB | VmFlags::PFNMAP,
    };
    let remote = by == ReapBy::Remote;
    for start in starts {
        // The VMA as it is now: another path may have changed its flags (the munlock pass
        // clears VM_LOCKED) since the loop started.
        let Some(vma) = k.borrow().mm(id).vmas.get(&start).cloned() else {
            continue;
        };
        if vma.flags.intersects(skip) {
            continue;
        }
        // Only anonymous and private mappings: shared file pages need steps an OOM path
        // cannot afford.
        if !vma.is_anonymous() && vma.flags.contains(VmFlags::SHARED) {
            continue;
        }
        let mut tlb = MmuGather::new(id, false, inject);
        k.borrow_mut().mm_mut(id).tlb_flush_pending += 1;
        let blockable = inject.contains(Inject::BLOCKING_NOTIFIER_IN_REAPER) || !remote;
        if remote {
            cx.nonblock_enter();
        }
        let started = crate::mmu_notifier::mmu_notifier_invalidate_range_start(
            k, cx, id, vma.start, vma.end, blockable,
        )
        .await;
        if remote {
            cx.nonblock_exit();
        }
        if started.is_ok() {
            zap_vma_chunked(k, cx, id, &vma, &mut tlb, &mut out.zap).await;
        } else {
            out.blocked += 1;
        }
        {
            let mut kk = k.borrow_mut();
            let nested = kk.mm(id).tlb_flush_pending > 1;
            out.freed += kk.tlb_finish_mmu(tlb, nested).pages_freed;
            kk.mm_mut(id).tlb_flush_pending -= 1;
        }
        point(cx, "__oom_reap_task_mm").await;
    }
    out
}

/// `unmap_page_range` of a reaped VMA, one PMD entry at a time with `zap_pmd_range`'s
/// `cond_resched` between them. The walker keeps its pointer to the PMD table of the current
/// 1 GiB across the reschedule, as the kernel's loop does: if that table was unlinked or freed
/// meanwhile (by `free_pgtables` of an exit that did not wait for the reaper), the walk would
/// read freed memory; that is recorded as a race and the walk stops.
async fn zap_vma_chunked<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    vma: &crate::mm_types::Vma,
    tlb: &mut MmuGather,
    zap: &mut ZapStats,
) {
    let mut a = vma.start;
    let mut held: Option<(u64, crate::page::Pfn)> = None; // (1 GiB region, PMD table)
    while a < vma.end {
        let region = a & !(PUD_SIZE - 1);
        let chunk_end = ((a & !(PMD_SIZE - 1)) + PMD_SIZE).min(vma.end);
        let mapped = {
            let mut kk = k.borrow_mut();
            match held {
                Some((r, table)) if r == region => {
                    let now = kk.with_mm(id, |k, mm| k.pmd_table_of(mm, a));
                    if now != Some(table) {
                        let freed = !kk
                            .mem
                            .page(table)
                            .flags
                            .contains(crate::page::PageFlags::PGTABLE);
                        kk.races.push(format!(
                            "{}: zap_pmd_range went on in the PMD table (frame {table}) of \
                             {region:#x} after free_pgtables {} it",
                            cx.name,
                            if freed { "freed" } else { "unlinked" }
                        ));
                        return;
                    }
                }
                _ => {
                    held = kk
                        .with_mm(id, |k, mm| k.pmd_table_of(mm, a))
                        .map(|t| (region, t));
                }
            }
            match held {
                None => None,
                Some((_, table)) => {
                    let e = kk.hw.table(table)[crate::pgtable::Level::Pmd.index(a)];
                    let mapped = crate::pgtable::present(e);
                    if mapped {
                        kk.with_mm(id, |k, mm| {
                            k.unmap_page_range(tlb, zap, mm, vma, a, chunk_end, ZapDetails::ALL)
                        });
                    }
                    Some(mapped)
                }
            }
        };
        let Some(mapped) = mapped else {
            // No PMD table for this 1 GiB: nothing mapped in it.
            a = (region + PUD_SIZE).min(vma.end).max(chunk_end);
            continue;
        };
        a = chunk_end;
        if mapped {
            point(cx, "cond_resched").await;
        }
    }
}

/// `oom_reap_task_mm`: `mmap_read_trylock` (fail: try later), bail out if `MMF_OOM_SKIP` is
/// set under the lock (exit_mmap is past the point where a reaper may walk its tables), else
/// reap and log. Returns false when the caller should retry.
async fn oom_reap_task_mm<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    t: TaskId,
    id: MmId,
    res: &mut ReaperResult,
) -> bool {
    point(cx, "mmap_read_trylock").await;
    if !sched::mmap_read_trylock(k, id) {
        return false;
    }
    let recheck = !k.borrow().config.inject.contains(Inject::NO_SKIP_RECHECK);
    if recheck && k.borrow().mm(id).flags.contains(MmFlags::OOM_SKIP) {
        sched::mmap_read_unlock(k, id);
        return true;
    }
    let reaped = __oom_reap_task_mm(k, cx, id, ReapBy::Remote).await;
    res.ptes += reaped.zap.ptes as u64;
    res.pages_freed += reaped.freed;
    let ok = reaped.blocked == 0;
    if ok {
        let mut kk = k.borrow_mut();
        let (pid, comm) = kk
            .task(t)
            .map(|t| (t.pid, t.comm.clone()))
            .unwrap_or_default();
        let mm = kk.mm(id);
        let msg = format!(
            "oom_reaper: reaped process {pid} ({comm}), now anon-rss:{}kB, file-rss:{}kB, \
             shmem-rss:{}kB",
            mm.rss[MM_ANONPAGES] * 4,
            mm.rss[MM_FILEPAGES] * 4,
            mm.rss[MM_SHMEMPAGES] * 4
        );
        kk.log.push(msg);
    }
    sched::mmap_read_unlock(k, id);
    ok
}

/// What the reaper did for one victim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaperResult {
    /// `oom_reap_task_mm` attempts.
    pub attempts: u32,
    /// Whether it gave up (`unable to reap`).
    pub gave_up: bool,
    /// 6.x: the timer found the victim already `MMF_OOM_SKIP` and dropped it unreaped.
    pub skipped: bool,
    /// Entries its zaps cleared.
    pub ptes: u64,
    /// Pages its gathers freed.
    pub pages_freed: u64,
}

/// The `oom_reaper` kthread's work for one queued victim: (6.x) the `OOM_REAPER_DELAY` timer,
/// then `oom_reap_task`: up to `MAX_OOM_REAP_RETRIES` attempts 100 ms apart, `MMF_OOM_SKIP`
/// at the end whatever happened, and the task reference dropped.
pub async fn oom_reaper<H: Hardware>(k: &KCell<'_, H>, cx: &Cx, t: TaskId) -> ReaperResult {
    let mut res = ReaperResult::default();
    let id = k.borrow().task(t).and_then(|t| t.oom_mm).expect("oom_mm");
    if k.borrow().config.linux == Linux::V6_18 {
        // queue_oom_reaper: the timer gives the victim time to exit on its own.
        sched::schedule_timeout(k, cx, OOM_REAPER_DELAY_MS).await;
        if k.borrow().mm(id).flags.contains(MmFlags::OOM_SKIP) {
            res.skipped = true;
            k.borrow_mut().put_task_struct(t);
            return res;
        }
    }
    // oom_reap_task
    loop {
        res.attempts += 1;
        if oom_reap_task_mm(k, cx, t, id, &mut res).await {
            break;
        }
        if res.attempts >= MAX_OOM_REAP_RETRIES {
            break;
        }
        sched::schedule_timeout(k, cx, 100).await; // schedule_timeout_idle(HZ/10)
    }
    let mut kk = k.borrow_mut();
    let done = res.attempts < MAX_OOM_REAP_RETRIES || kk.mm(id).flags.contains(MmFlags::OOM_SKIP);
    if !done {
        res.gave_up = true;
        let (pid, comm) = kk
            .task(t)
            .map(|t| (t.pid, t.comm.clone()))
            .unwrap_or_default();
        kk.log
            .push(format!("oom_reaper: unable to reap pid:{pid} ({comm})"));
    }
    // Hide this mm from the OOM killer: reaped, or somebody can't call mmap_write_unlock.
    kk.mm_mut(id).flags.insert(MmFlags::OOM_SKIP);
    kk.put_task_struct(t);
    res
}

/// `process_mrelease(pidfd, flags)` from `cx` (task `caller`): reap a dying process's memory
/// in the caller's context. `target` is the task the pidfd names (`None`: no such pidfd).
/// Returns 0 or the errno: `EINVAL` for flags or a process that is not dying, `EBADF`,
/// `ESRCH` (gone, or no thread with an mm left), `EINTR` if the caller is killed while it
/// waits for `mmap_lock`, `EAGAIN` if a notifier would have blocked, 0 if `MMF_OOM_SKIP` says
/// the work is done. (`ENOSYS` is for kernels without an MMU, which the model is not.)
pub async fn process_mrelease<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    caller: Option<TaskId>,
    target: Option<TaskId>,
    flags: u64,
    r: &mut crate::exit::TeardownReport,
) -> Result<(), Errno> {
    point(cx, "process_mrelease").await;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let Some(t) = target else {
        return Err(Errno::EBADF);
    };
    // pidfd_get_task, find_lock_task_mm
    let (id, dying) = {
        let kk = k.borrow();
        if kk.task(t).is_none() {
            return Err(Errno::ESRCH);
        }
        let Some(id) = kk.find_lock_task_mm(t) else {
            return Err(Errno::ESRCH);
        };
        (id, kk.task_will_free_mem(t))
    };
    let mmget = k.borrow().config.inject.contains(Inject::MRELEASE_MMGET);
    let skip = k.borrow().mm(id).flags.contains(MmFlags::OOM_SKIP);
    if !dying {
        // The mm is not going away; MMF_OOM_SKIP alone means the work is done already.
        return if skip { Ok(()) } else { Err(Errno::EINVAL) };
    }
    if mmget {
        // The July 2021 posting: mmget_not_zero, so the caller holds a user reference.
        let mut kk = k.borrow_mut();
        let mm = kk.mm_mut(id);
        if mm.users == 0 {
            return Err(Errno::ESRCH);
        }
        mm.users += 1;
    } else {
        k.borrow_mut().mm_mut(id).count += 1; // mmgrab
    }
    let killed = |k: &Kernel<H>| caller.and_then(|c| k.task(c)).is_some_and(|t| t.sigkill);
    let mut ret = sched::mmap_read_lock_killable(k, cx, id, killed).await;
    if ret.is_ok() {
        // Ensure no VMAs are touched after MMF_OOM_SKIP: exit_mmap may be freeing them.
        if !k.borrow().mm(id).flags.contains(MmFlags::OOM_SKIP) {
            let reaped = __oom_reap_task_mm(k, cx, id, ReapBy::Remote).await;
            if reaped.blocked > 0 {
                ret = Err(Errno::EAGAIN);
            }
        }
        sched::mmap_read_unlock(k, id);
    }
    if mmget {
        crate::exit::mmput(k, cx, id, r, 0).await;
    } else {
        let mut kk = k.borrow_mut();
        let mut late = crate::exit::TeardownReport::default();
        if kk.mmdrop(id, &mut late, 0) {
            r.steps.extend(late.steps);
        }
    }
    ret
}

/// A fault from another thread of a process (its own `mmap_read_lock`, then
/// `check_stable_address_space`: a reaped mm gives `SIGBUS`), then that thread's exit
/// (`exit_mm → mmput`; the last user tears the mm down).
#[allow(clippy::too_many_arguments)]
pub async fn thread_fault<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    task: TaskId,
    id: MmId,
    start: u64,
    len: u64,
    write: bool,
    r: &mut crate::exit::TeardownReport,
) -> Result<(), crate::Fault> {
    debug_assert_eq!(cx.kind, ActorKind::Thread);
    let mut res = Ok(());
    let mut a = start;
    while a < start + len {
        sched::mmap_read_lock(k, cx, id).await;
        let f = {
            let mut kk = k.borrow_mut();
            if kk.mm(id).flags.contains(MmFlags::UNSTABLE) {
                Err(crate::Fault::Bus) // check_stable_address_space
            } else {
                kk.with_mm(id, |k, mm| k.handle_mm_fault(mm, a, write))
            }
        };
        sched::mmap_read_unlock(k, id);
        if f.is_err() {
            res = f;
            break;
        }
        a += PAGE_SIZE;
    }
    thread_exit(k, cx, task, id, r).await;
    res
}

/// The exit of another thread of `task`'s group: it gives up the mm (`exit_mm → mmput`).
async fn thread_exit<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    task: TaskId,
    id: MmId,
    r: &mut crate::exit::TeardownReport,
) {
    let release = {
        let mut kk = k.borrow_mut();
        let t = kk.task_mut(task);
        t.threads -= 1;
        t.threads == 0 && t.release_pending
    };
    r.step("do_exit", 0, &[("thread", 1)]);
    r.step(
        "exit_mm",
        1,
        &[("mm_users", k.borrow().mm(id).users as i64)],
    );
    crate::exit::mmput(k, cx, id, r, 2).await;
    if release {
        // The group is dead: the leader's release_task, delayed until now.
        k.borrow_mut().put_task_struct(task);
    }
}

/// An munmap from another thread of a process (`mmap_write_lock`, `do_munmap`), then that
/// thread's exit (`mmput`).
pub async fn thread_munmap<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    task: TaskId,
    id: MmId,
    start: u64,
    len: u64,
    r: &mut crate::exit::TeardownReport,
) -> Result<(), Errno> {
    sched::mmap_write_lock(k, cx, id).await;
    let res = k
        .borrow_mut()
        .with_mm(id, |k, mm| k.do_munmap(mm, start, len).map(|_| ()));
    // The unmap's own cond_resched (zap_pmd_range) comes with the lock held.
    point(cx, "cond_resched").await;
    sched::mmap_write_unlock(k, id);
    thread_exit(k, cx, task, id, r).await;
    res
}
