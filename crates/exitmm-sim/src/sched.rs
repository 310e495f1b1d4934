//! The deterministic scheduler for concurrent kernel paths (actors).
//!
//! Each actor is a kernel `async fn` (see `exitmm_kernel::sched`); every `.await` is a point
//! where the kernel could lose the CPU or wait for a lock. The executor polls one actor one step
//! at a time; which one is a *choice*, made by a [`Controller`] and recorded, so every run can be
//! replayed from its printed schedule. This is stateless model checking in the CHESS style:
//! `explore` re-runs a script from scratch under every schedule a depth-first search with a
//! preemption bound enumerates (as loom and CHESS do), or under random / PCT schedules for
//! larger spaces (as shuttle does). The kernel crate stays `no_std` and knows nothing of the
//! choices; this module decides no kernel policy, only who runs next.

use exitmm_kernel::sched::{self as ks, Cx, KCell, Wait};
use exitmm_kernel::Errno;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// How the next actor is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The running actor goes on until it must wait; then the lowest-numbered runnable one.
    Fifo,
    /// Uniformly among the runnable actors, from a seed.
    Random(u64),
    /// PCT (probabilistic concurrency testing): random priorities, `depth - 1` random points
    /// where the running actor's priority drops below all others; from a seed.
    Pct {
        /// Seed.
        seed: u64,
        /// The bug depth it targets (priority change points + 1).
        depth: u32,
        /// The number of steps the change points are spread over.
        steps: u32,
    },
    /// Exactly these choices (actor numbers, one per step), then [`Mode::Fifo`].
    Replay(Vec<u8>),
    /// Always the first runnable actor in this order (actor numbers); the rest by number.
    Priority(Vec<u8>),
}

/// One scheduling decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The runnable actors, in the order a depth-first search tries them (the default first).
    pub options: Vec<u8>,
    /// The one chosen.
    pub chosen: u8,
    /// Whether choosing anything but the first option preempts a runnable actor.
    pub preemptible: bool,
}

/// Chooses who runs and records it.
#[derive(Clone, Debug)]
pub struct Controller {
    mode: Mode,
    rng: u64,
    priorities: Vec<u64>,
    change_points: Vec<u32>,
    /// Every decision of the run so far, in order.
    pub trace: Vec<Decision>,
    /// A replayed choice was not runnable (the schedule is not one of this script's).
    pub diverged: bool,
}

impl Controller {
    /// A controller in `mode`.
    pub fn new(mode: Mode) -> Self {
        let mut c = Controller {
            rng: 0,
            priorities: Vec::new(),
            change_points: Vec::new(),
            trace: Vec::new(),
            diverged: false,
            mode,
        };
        match c.mode {
            Mode::Random(s) => c.rng = s ^ 0x9e37_79b9_7f4a_7c15,
            Mode::Pct { seed, depth, steps } => {
                c.rng = seed ^ 0x2545_f491_4f6c_dd1d;
                for _ in 1..depth.max(1) {
                    let p = (c.next() % steps.max(1) as u64) as u32;
                    c.change_points.push(p);
                }
            }
            _ => {}
        }
        c
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn choose(&mut self, runnable: &[u8], current: Option<u8>) -> u8 {
        let cur_runnable = current.filter(|c| runnable.contains(c));
        let mut options: Vec<u8> = Vec::with_capacity(runnable.len());
        if let Some(c) = cur_runnable {
            options.push(c);
        }
        options.extend(
            runnable
                .iter()
                .copied()
                .filter(|&a| Some(a) != cur_runnable),
        );
        let step = self.trace.len();
        let chosen = match &self.mode {
            Mode::Fifo => options[0],
            Mode::Replay(v) => match v.get(step) {
                Some(&a) if options.contains(&a) => a,
                Some(_) => {
                    self.diverged = true;
                    options[0]
                }
                None => options[0],
            },
            Mode::Priority(order) => order
                .iter()
                .copied()
                .find(|a| options.contains(a))
                .unwrap_or(options[0]),
            Mode::Random(_) => {
                let i = (self.next() % options.len() as u64) as usize;
                options[i]
            }
            Mode::Pct { .. } => {
                let need = runnable.iter().map(|&a| a as usize + 1).max().unwrap_or(0);
                while self.priorities.len() < need {
                    let p = (self.next() >> 8) + 1_000_000;
                    self.priorities.push(p);
                }
                if let Some(c) = current {
                    if self.change_points.contains(&(step as u32)) {
                        // A change point: the running actor drops below every other.
                        self.priorities[c as usize] = step as u64;
                    }
                }
                *runnable
                    .iter()
                    .max_by_key(|&&a| self.priorities[a as usize])
                    .unwrap()
            }
        };
        self.trace.push(Decision {
            options,
            chosen,
            preemptible: cur_runnable.is_some(),
        });
        chosen
    }

    /// The choices made, as a schedule string (`actor*count` runs joined by `.`).
    pub fn schedule(&self) -> String {
        encode(&self.trace.iter().map(|d| d.chosen).collect::<Vec<_>>())
    }
}

/// Encodes choices as runs: `0*5.1*2.0`.
pub fn encode(choices: &[u8]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < choices.len() {
        let mut j = i;
        while j < choices.len() && choices[j] == choices[i] {
            j += 1;
        }
        out.push(if j - i == 1 {
            choices[i].to_string()
        } else {
            format!("{}*{}", choices[i], j - i)
        });
        i = j;
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(".")
    }
}

/// Decodes a schedule string made by [`encode`].
pub fn decode(s: &str) -> Result<Vec<u8>, String> {
    if s == "-" {
        return Ok(Vec::new());
    }
    let mut v = Vec::new();
    for part in s.split('.') {
        let (a, n) = match part.split_once('*') {
            Some((a, n)) => (
                a,
                n.parse::<usize>()
                    .map_err(|_| format!("bad count in '{part}'"))?,
            ),
            None => (part, 1),
        };
        let a: u8 = a.parse().map_err(|_| format!("bad actor in '{part}'"))?;
        if v.len() + n > 10_000_000 {
            return Err("schedule too long".into());
        }
        v.extend(std::iter::repeat_n(a, n));
    }
    Ok(v)
}

/// What an actor returned.
#[derive(Clone, Debug, Default)]
pub struct ActorOut {
    /// Its result (a syscall's errno, a fault's signal as an errno).
    pub rc: Option<Errno>,
    /// `key=value` facts for its `A` line.
    pub facts: Vec<(&'static str, i64)>,
    /// A teardown report, if it ran an exit (of `role`).
    pub report: Option<exitmm_kernel::exit::TeardownReport>,
}

/// An actor being run: its context and its future.
pub struct Actor<'a> {
    /// Its context (name, kind, where it waits).
    pub cx: &'a Cx,
    /// The kernel path.
    pub fut: Pin<Box<dyn Future<Output = ActorOut> + 'a>>,
    /// What it returned, once done.
    pub out: Option<ActorOut>,
    /// The step at which it finished.
    pub finished_at: usize,
}

/// Runs `actors` to their ends under `ctl`. `Err` describes a deadlock (every unfinished
/// actor waits for something no runnable actor will release) with each actor's wait.
pub fn run<H: exitmm_kernel::arch::Hardware>(
    k: &KCell<'_, H>,
    actors: &mut [Actor<'_>],
    ctl: &mut Controller,
) -> Result<usize, String> {
    let mut current: Option<u8> = None;
    let mut steps = 0usize;
    loop {
        let runnable: Vec<u8> = {
            let kk = k.borrow();
            actors
                .iter()
                .enumerate()
                .filter(|(_, a)| a.out.is_none() && ks::runnable(&kk, a.cx.wait()))
                .map(|(i, _)| i as u8)
                .collect()
        };
        if runnable.is_empty() {
            if actors.iter().all(|a| a.out.is_some()) {
                return Ok(steps);
            }
            let waits: Vec<String> = actors
                .iter()
                .filter(|a| a.out.is_none())
                .map(|a| {
                    format!(
                        "{} waits in {}",
                        a.cx.name,
                        a.cx.wait().map(|w: Wait| w.describe()).unwrap_or_default()
                    )
                })
                .collect();
            return Err(format!("deadlock: {}", waits.join("; ")));
        }
        let pick = ctl.choose(&runnable, current);
        let a = &mut actors[pick as usize];
        if let Poll::Ready(out) = ks::poll_once(a.fut.as_mut()) {
            a.out = Some(out);
            a.finished_at = steps;
        }
        current = Some(pick);
        steps += 1;
        if steps > 50_000_000 {
            return Err("livelock: 50,000,000 steps without every actor finishing".into());
        }
    }
}

/// The next schedule prefix of a depth-first search over `trace` with at most `bound`
/// preemptions, or `None` when the search is complete.
pub fn dfs_next(trace: &[Decision], bound: u32) -> Option<Vec<u8>> {
    // Preemptions used by the decisions before each index.
    let mut used = Vec::with_capacity(trace.len() + 1);
    let mut n = 0u32;
    used.push(0);
    for d in trace {
        if d.preemptible && d.chosen != d.options[0] {
            n += 1;
        }
        used.push(n);
    }
    for i in (0..trace.len()).rev() {
        let d = &trace[i];
        let pos = d.options.iter().position(|&o| o == d.chosen).unwrap();
        for &alt in &d.options[pos + 1..] {
            let cost = (d.preemptible && alt != d.options[0]) as u32;
            if used[i] + cost <= bound {
                let mut prefix: Vec<u8> = trace[..i].iter().map(|d| d.chosen).collect();
                prefix.push(alt);
                return Some(prefix);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_encode_and_decode() {
        let v = vec![0, 0, 0, 1, 2, 2, 0];
        assert_eq!(encode(&v), "0*3.1.2*2.0");
        assert_eq!(decode(&encode(&v)).unwrap(), v);
        assert_eq!(decode("-").unwrap(), Vec::<u8>::new());
        assert!(decode("x").is_err());
    }

    fn d(options: &[u8], chosen: u8, preemptible: bool) -> Decision {
        Decision {
            options: options.to_vec(),
            chosen,
            preemptible,
        }
    }

    #[test]
    fn a_deadlock_names_each_actors_wait() {
        use exitmm_kernel::sched::{mmap_read_lock, mmap_write_lock, point, ActorKind};
        let mut k = exitmm_kernel::Kernel::new(
            crate::machine::Machine::new(),
            exitmm_kernel::Config {
                ram_bytes: 64 << 20,
                ..Default::default()
            },
        );
        let (m0, m1) = (k.mm_alloc().unwrap(), k.mm_alloc().unwrap());
        let kc: KCell<'_, crate::machine::Machine> = std::cell::RefCell::new(&mut k);
        let (a, b) = (
            Cx::new("a", ActorKind::Thread),
            Cx::new("b", ActorKind::Thread),
        );
        fn mk<'a>(
            kc: &'a KCell<'a, crate::machine::Machine>,
            cx: &'a Cx,
            x: u32,
            y: u32,
        ) -> Actor<'a> {
            Actor {
                cx,
                fut: Box::pin(async move {
                    mmap_write_lock(kc, cx, x).await;
                    point(cx, "between").await;
                    mmap_read_lock(kc, cx, y).await;
                    ActorOut::default()
                }),
                out: None,
                finished_at: 0,
            }
        }
        let mut actors = vec![mk(&kc, &a, m0, m1), mk(&kc, &b, m1, m0)];
        // a takes m0, b takes m1, then each wants the other's.
        let mut ctl = Controller::new(Mode::Replay(vec![0, 0, 1, 1, 0, 1]));
        let e = run(&kc, &mut actors, &mut ctl).unwrap_err();
        assert!(e.starts_with("deadlock"), "{e}");
        assert!(e.contains("a waits in mmap_read_lock(mm1)"), "{e}");
        assert!(e.contains("b waits in mmap_read_lock(mm0)"), "{e}");
    }

    #[test]
    fn dfs_tries_each_alternative_once_within_the_bound() {
        // Two decisions with two options each; both preemptible.
        let t = vec![d(&[0, 1], 0, true), d(&[0, 1], 0, true)];
        assert_eq!(dfs_next(&t, 1), Some(vec![0, 1]));
        let t = vec![d(&[0, 1], 0, true), d(&[0, 1], 1, true)];
        assert_eq!(dfs_next(&t, 1), Some(vec![1]));
        // After a preemption at the first step, the second may not preempt again.
        let t = vec![d(&[0, 1], 1, true), d(&[1, 0], 1, true)];
        assert_eq!(dfs_next(&t, 1), None);
        assert_eq!(dfs_next(&t, 2), Some(vec![1, 0]));
        // A choice where the current actor cannot run costs nothing.
        let t = vec![d(&[0, 1], 0, false)];
        assert_eq!(dfs_next(&t, 0), Some(vec![1]));
    }
}
