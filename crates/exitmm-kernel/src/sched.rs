//! Where a kernel path may lose the CPU, and the sleeping locks it may wait on.
//!
//! Concurrent kernel paths (an exiting task, the OOM reaper, a `process_mrelease` caller, a
//! faulting thread, a device) are `async fn`s over a shared [`KCell`]; each `.await` on a
//! [`point`] or a lock is one of the kernel's real preemption or locking points (`cond_resched`,
//! `mmap_lock`, a notifier that sleeps). An executor outside the kernel crate (the simulator's
//! scheduler) polls them one step at a time and decides who runs next; it reads [`Cx::wait`] to
//! see whether an actor can proceed. Between two awaits an actor holds the kernel alone, so the
//! synchronous kernel functions run unchanged inside those sections.
//!
//! A path run on its own (the `exit` op, tests) goes through [`block_on`], which only succeeds
//! if the path never has to wait for another actor.

use crate::arch::{Hardware, MmId};
use crate::Kernel;
use alloc::string::String;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// The kernel as concurrent actors share it: each borrows it only between two awaits.
pub type KCell<'a, H> = RefCell<&'a mut Kernel<H>>;

/// What kind of kernel path an actor is (the checks that depend on the context use it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A task's `do_exit` (the last thread's runs `exit_mmap`).
    Exit,
    /// Another thread of a process (a fault or an munmap), which exits after its op.
    Thread,
    /// The `oom_reaper` kernel thread.
    Reaper,
    /// A `process_mrelease` caller.
    Mrelease,
    /// A device (secondary MMU) touching memory through its own translations.
    Device,
}

/// Why an actor stopped at its last await.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A preemption point (`cond_resched`, between VMAs, before a lock): may go on at once.
    Point(&'static str),
    /// `mmap_read_lock` of the mm, held for write by someone else.
    MmapRead(MmId),
    /// `mmap_write_lock` of the mm, held by someone else.
    MmapWrite(MmId),
    /// `schedule_timeout`: sleeping until this model time (ms). The executor may let the time
    /// pass at any point (how long the others' steps take is not modelled), so a sleeper can
    /// always be chosen.
    Sleep(u64),
}

impl Wait {
    /// A short description, for schedules and deadlock reports.
    pub fn describe(&self) -> String {
        match self {
            Wait::Point(p) => String::from(*p),
            Wait::MmapRead(m) => alloc::format!("mmap_read_lock(mm{m})"),
            Wait::MmapWrite(m) => alloc::format!("mmap_write_lock(mm{m})"),
            Wait::Sleep(t) => alloc::format!("schedule_timeout(until {t} ms)"),
        }
    }
}

/// One actor's context: who it is, where it waits, whether it may sleep.
#[derive(Debug)]
pub struct Cx {
    /// The actor's name (`exit:P`, `oom_reaper`, `mrelease:P→C`, ...).
    pub name: String,
    /// What kind of path it is.
    pub kind: ActorKind,
    wait: Cell<Option<Wait>>,
    nonblock: Cell<u32>,
}

impl Cx {
    /// A context for an actor that has not run yet.
    pub fn new(name: impl Into<String>, kind: ActorKind) -> Self {
        Cx {
            name: name.into(),
            kind,
            wait: Cell::new(None),
            nonblock: Cell::new(0),
        }
    }

    /// Where the actor stopped (`None`: not started, or finished).
    pub fn wait(&self) -> Option<Wait> {
        self.wait.get()
    }

    /// Enter a section that must not sleep (a non-blocking notifier range, the reaper's
    /// `__oom_reap_task_mm` pass).
    pub fn nonblock_enter(&self) {
        self.nonblock.set(self.nonblock.get() + 1);
    }

    /// Leave it.
    pub fn nonblock_exit(&self) {
        self.nonblock.set(self.nonblock.get() - 1);
    }

    /// Whether a sleep now would break a non-blocking promise.
    pub fn in_nonblock(&self) -> bool {
        self.nonblock.get() > 0
    }
}

/// The future behind every await: stops once with the given wait, then completes.
pub struct Stop<'a> {
    cx: &'a Cx,
    wait: Wait,
    stopped: bool,
}

impl Future for Stop<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.stopped {
            self.cx.wait.set(None);
            Poll::Ready(())
        } else {
            self.stopped = true;
            self.cx.wait.set(Some(self.wait));
            Poll::Pending
        }
    }
}

/// A preemption point named after the kernel's (`cond_resched`, `mmap_read_lock`, ...).
pub fn point<'a>(cx: &'a Cx, name: &'static str) -> Stop<'a> {
    Stop {
        cx,
        wait: Wait::Point(name),
        stopped: false,
    }
}

fn stop(cx: &Cx, wait: Wait) -> Stop<'_> {
    Stop {
        cx,
        wait,
        stopped: false,
    }
}

/// `struct rw_semaphore` as `mmap_lock` uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RwSem {
    /// Readers holding it.
    pub readers: u32,
    /// A writer holds it.
    pub writer: bool,
}

impl RwSem {
    /// Whether a reader could take it now.
    pub fn read_free(&self) -> bool {
        !self.writer
    }

    /// Whether a writer could take it now.
    pub fn write_free(&self) -> bool {
        !self.writer && self.readers == 0
    }
}

/// Records a sleep; in a non-blocking section it is a bug the kernel would hit.
fn might_sleep<H: Hardware>(k: &KCell<'_, H>, cx: &Cx, what: &str) {
    if cx.in_nonblock() {
        k.borrow_mut().races.push(alloc::format!(
            "{}: sleeping in a non-blocking section ({what})",
            cx.name
        ));
    }
}

/// `mmap_read_trylock`.
pub fn mmap_read_trylock<H: Hardware>(k: &KCell<'_, H>, id: MmId) -> bool {
    let mut k = k.borrow_mut();
    let l = &mut k.mm_mut(id).mmap_lock;
    if l.read_free() {
        l.readers += 1;
        true
    } else {
        false
    }
}

/// `mmap_read_lock`: a preemption point, then sleep until no writer holds it.
pub async fn mmap_read_lock<H: Hardware>(k: &KCell<'_, H>, cx: &Cx, id: MmId) {
    point(cx, "mmap_read_lock").await;
    while !mmap_read_trylock(k, id) {
        might_sleep(k, cx, "mmap_read_lock");
        stop(cx, Wait::MmapRead(id)).await;
    }
}

/// `mmap_read_lock_killable`: as [`mmap_read_lock`], but a caller with a fatal signal
/// pending (`killed` says so) gives up with `EINTR` rather than sleep.
pub async fn mmap_read_lock_killable<H: Hardware>(
    k: &KCell<'_, H>,
    cx: &Cx,
    id: MmId,
    killed: impl Fn(&Kernel<H>) -> bool,
) -> Result<(), crate::Errno> {
    point(cx, "mmap_read_lock_killable").await;
    while !mmap_read_trylock(k, id) {
        if killed(&k.borrow()) {
            return Err(crate::Errno::EINTR);
        }
        might_sleep(k, cx, "mmap_read_lock_killable");
        stop(cx, Wait::MmapRead(id)).await;
    }
    Ok(())
}

/// `mmap_read_unlock`.
pub fn mmap_read_unlock<H: Hardware>(k: &KCell<'_, H>, id: MmId) {
    let mut k = k.borrow_mut();
    let l = &mut k.mm_mut(id).mmap_lock;
    assert!(l.readers > 0, "mmap_read_unlock without the lock");
    l.readers -= 1;
}

/// `mmap_write_lock`: a preemption point, then sleep until nobody holds it.
pub async fn mmap_write_lock<H: Hardware>(k: &KCell<'_, H>, cx: &Cx, id: MmId) {
    point(cx, "mmap_write_lock").await;
    loop {
        {
            let mut kk = k.borrow_mut();
            let l = &mut kk.mm_mut(id).mmap_lock;
            if l.write_free() {
                l.writer = true;
                return;
            }
        }
        might_sleep(k, cx, "mmap_write_lock");
        stop(cx, Wait::MmapWrite(id)).await;
    }
}

/// `mmap_write_unlock`.
pub fn mmap_write_unlock<H: Hardware>(k: &KCell<'_, H>, id: MmId) {
    let mut k = k.borrow_mut();
    let l = &mut k.mm_mut(id).mmap_lock;
    assert!(l.writer, "mmap_write_unlock without the lock");
    l.writer = false;
}

/// `schedule_timeout(ms)` in model time.
pub async fn schedule_timeout<H: Hardware>(k: &KCell<'_, H>, cx: &Cx, ms: u64) {
    might_sleep(k, cx, "schedule_timeout");
    let until = k.borrow().now_ms + ms;
    stop(cx, Wait::Sleep(until)).await;
    let mut k = k.borrow_mut();
    k.now_ms = k.now_ms.max(until);
}

/// Whether an actor stopped at `wait` could go on now.
pub fn runnable<H: Hardware>(k: &Kernel<H>, wait: Option<Wait>) -> bool {
    match wait {
        None | Some(Wait::Point(_)) | Some(Wait::Sleep(_)) => true,
        Some(Wait::MmapRead(id)) => k.mms[id as usize]
            .as_ref()
            .is_none_or(|m| m.mmap_lock.read_free()),
        Some(Wait::MmapWrite(id)) => k.mms[id as usize]
            .as_ref()
            .is_none_or(|m| m.mmap_lock.write_free()),
    }
}

/// Polls `fut` once.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    fut.poll(&mut cx)
}

/// Runs one actor alone to its end. `Err` names the wait it would never get past (another
/// actor holds what it waits for, and there is none).
pub fn block_on<H: Hardware, F: Future>(
    k: &KCell<'_, H>,
    cx: &Cx,
    fut: F,
) -> Result<F::Output, Wait> {
    let mut fut = core::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = poll_once(fut.as_mut()) {
            return Ok(v);
        }
        let w = cx.wait();
        if !runnable(&k.borrow(), w) {
            return Err(w.expect("a stopped actor has a wait"));
        }
        if let Some(Wait::Sleep(t)) = w {
            let mut k = k.borrow_mut();
            k.now_ms = k.now_ms.max(t);
        }
    }
}
