//! The host memory the model itself lives in, backed ahead of it. A large model (a 1 TiB
//! process needs 7.5 GiB: 22 bytes of frame metadata and 8 bytes of PTE per page) spends as
//! much time in the host kernel faulting that memory in as in its own work. With a second
//! host CPU, a helper thread does the faulting in just ahead of the model: it populates the
//! frame metadata a little beyond the sections in use, and keeps a small stock of zeroed
//! page-table frames for the machine to take. Bounded: at most [`AHEAD`] bytes of metadata
//! and [`STOCK`] tables beyond what the model uses; it starts only once the model's metadata
//! reaches [`START`]. It changes nothing the model does.

use exitmm_kernel::page_alloc::MemMapSpan;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A page-table frame's 512 entries.
pub type Table = [u64; 512];

/// The metadata in use (64 MiB: about 11.6 GiB of simulated memory) from which the machine
/// starts the helper.
pub const START: usize = 64 << 20;
/// How far beyond the metadata in use the helper populates.
pub const AHEAD: usize = 64 << 20;
/// How many zeroed table frames the helper keeps ready.
pub const STOCK: usize = 1024;
/// How much metadata one populate call covers.
const STEP: usize = 2 << 20;

/// The helper thread and its stock of tables.
pub struct Backing {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    tables: Receiver<Box<Table>>,
}

impl Backing {
    /// Starts the helper for the frame metadata at `mem_map`; `None` where the host has a
    /// single CPU (the helper would only take turns with the model) or no `MADV_POPULATE_WRITE`.
    pub fn start(mem_map: MemMapSpan) -> Option<Backing> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 || !populate::supported() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, tables) = sync_channel::<Box<Table>>(STOCK);
        let halt = stop.clone();
        let thread = std::thread::Builder::new()
            .name("exitmm-backing".into())
            .spawn(move || {
                // madvise takes whole pages: the span's first and last are in its mapping.
                let page_up = |a: usize| (a + 4095) & !4095;
                let end = page_up(mem_map.base + mem_map.bytes);
                let mut done = mem_map.base & !4095;
                let mut spare: Option<Box<Table>> = None;
                // Idle, it looks again after 0.2 ms, doubling up to 13 ms.
                let mut idle = 0u32;
                while !halt.load(Ordering::Relaxed) {
                    let mut busy = false;
                    let frontier = mem_map.base + mem_map.used.load(Ordering::Relaxed);
                    // Overtaken, or nearly: the model faults in what it is at itself, and
                    // the helper goes on further ahead (two threads never fault in the
                    // same pages, one waiting for the other).
                    if done < frontier + AHEAD / 4 {
                        done = done.max(page_up(frontier + AHEAD / 2));
                    }
                    let want = page_up(frontier + AHEAD).min(end);
                    if done < want {
                        let n = STEP.min(want - done);
                        populate::write(done, n);
                        done += n;
                        busy = true;
                    }
                    // Tables: as many as fit in the stock, a few at a time between steps.
                    for _ in 0..64 {
                        let t = spare.take().unwrap_or_else(fresh_table);
                        match tx.try_send(t) {
                            Ok(()) => busy = true,
                            Err(TrySendError::Full(t)) => {
                                spare = Some(t);
                                break;
                            }
                            Err(TrySendError::Disconnected(_)) => return,
                        }
                    }
                    if busy {
                        idle = 0;
                    } else {
                        std::thread::park_timeout(Duration::from_micros(200 << idle));
                        idle = (idle + 1).min(6);
                    }
                }
            })
            .ok()?;
        Some(Backing {
            stop,
            thread: Some(thread),
            tables,
        })
    }

    /// A zeroed table frame from the stock, if one is ready.
    #[inline]
    pub fn table(&self) -> Option<Box<Table>> {
        self.tables.try_recv().ok()
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// A zeroed table frame whose host pages are backed already: a fresh allocation comes zeroed
/// from the host, untouched (`calloc`), and the model's first store into it would fault it
/// in; the helper stores into its first and last entries itself.
fn fresh_table() -> Box<Table> {
    let mut t = Box::new([0; 512]);
    let e = std::hint::black_box(&mut t[..]);
    e[0] = 0;
    e[511] = 0;
    t
}

#[cfg(target_os = "linux")]
mod populate {
    /// `madvise(MADV_POPULATE_WRITE)` (Linux 5.14+) on a page: does this host have it?
    pub fn supported() -> bool {
        let probe = vec![0u8; 8192];
        let a = (probe.as_ptr() as usize + 4095) & !4095;
        call(a, 4096)
    }

    /// Faults in `[addr, addr + len)` for writing, as a write to each page would, without
    /// writing anything; errors (a range no longer mapped) are ignored.
    pub fn write(addr: usize, len: usize) {
        call(addr, len);
    }

    #[allow(unsafe_code)]
    fn call(addr: usize, len: usize) -> bool {
        // SAFETY: MADV_POPULATE_WRITE changes no byte of memory: it only makes the host back
        // pages that are not backed yet, as a first write would, and fails on a range that is
        // not mapped. Another thread writing the same pages meanwhile is no race: the first
        // write and the populate are both page faults, serialised by the host kernel.
        unsafe {
            rustix::mm::madvise(
                addr as *mut core::ffi::c_void,
                len,
                rustix::mm::Advice::LinuxPopulateWrite,
            )
            .is_ok()
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod populate {
    pub fn supported() -> bool {
        false
    }
    pub fn write(_: usize, _: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Resident kB of the host mapping that holds `addr` (/proc/self/smaps).
    fn rss_kb_at(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for l in smaps.lines() {
            if let Some((range, _)) = l.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = (a..b).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(v) = l.strip_prefix("Rss:") {
                    return v.trim().trim_end_matches(" kB").parse().expect("kB");
                }
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    #[test]
    fn the_helper_backs_memory_ahead_of_use_and_no_further() {
        let bytes = 4 * AHEAD;
        let region: Vec<u8> = Vec::with_capacity(bytes);
        let base = region.as_ptr() as usize;
        let used = Arc::new(AtomicUsize::new(0));
        let span = MemMapSpan {
            base,
            bytes,
            used: used.clone(),
        };
        let Some(b) = Backing::start(span) else {
            eprintln!("skipped: this host has one CPU or no MADV_POPULATE_WRITE");
            return;
        };
        let wait_for = |kb: u64| {
            for _ in 0..400 {
                if rss_kb_at(base) >= kb {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        // Nothing used yet: the helper backs the far half of the window ahead (the model
        // faults in the near half itself).
        wait_for((AHEAD / 2 / 1024) as u64);
        std::thread::sleep(Duration::from_millis(50));
        let first = rss_kb_at(base);
        assert!(
            first >= (AHEAD / 2 / 1024) as u64 && first <= (AHEAD / 1024) as u64 + 8,
            "{first} kB backed for a window of {} kB",
            AHEAD / 1024
        );
        // The model moves on: the window moves with it, and stops at the span's end.
        used.store(2 * AHEAD, Ordering::Relaxed);
        wait_for(first + (AHEAD / 2 / 1024) as u64);
        let later = rss_kb_at(base);
        assert!(
            later > first && later <= (3 * AHEAD / 1024) as u64 + 8,
            "{later} kB backed with {} kB used",
            2 * AHEAD / 1024
        );
        // Tables come zeroed.
        let t = (0..200)
            .find_map(|_| {
                std::thread::sleep(Duration::from_millis(5));
                b.table()
            })
            .expect("a table in stock");
        assert!(t.iter().all(|&e| e == 0));
        drop(b);
        drop(region);
    }
}
