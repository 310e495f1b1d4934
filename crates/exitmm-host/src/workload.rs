//! The workload program (`tools/workload.c`): real processes of known memory shapes, for the
//! snapshot and prediction tests and the predicted-vs-measured table.

use crate::HostError;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The shapes the workload builds, with the unit of their size argument.
pub const SHAPES: [(&str, &str); 9] = [
    ("anon", "MiB"),
    ("thp", "MiB"),
    ("shm", "MiB"),
    ("vmas", "VMAs"),
    ("mlock", "MiB"),
    ("fork", "MiB"),
    ("swap", "MiB"),
    ("hugetlb", "MiB"),
    ("file", "MiB"),
];

/// A live workload process: it waits until it is killed (or dropped).
pub struct Workload {
    /// The workload, or the kernel runner that made a swap device for it and runs it.
    child: Child,
    _stdin: ChildStdin,
    /// Its PID.
    pub pid: i32,
    /// What a self-timed shape (`flush`, `flushipi`) measured itself, in ns.
    pub self_timed_ns: Option<u64>,
    /// The regular file the `file` shape made, removed once the workload has ended.
    file: Option<std::path::PathBuf>,
}

/// Where the `file` shape makes its file: `/var/tmp` (a disk file system by convention, so
/// that the pages are page cache, not shmem), else the temporary directory.
fn file_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::path::Path::new("/var/tmp");
    let dir = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!(
        "exitmm-workload-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// What the kernel runner sets up for a shape and runs it under: a swap device for `swap`
/// (its pages and some room: `-X BYTES`), 2 MiB huge pages for `hugetlb` (`-Y PAGES`).
fn runner_args(shape: &str, n: u64) -> Option<[String; 2]> {
    match shape {
        "swap" => Some(["-X".into(), ((n << 20) + (64 << 20)).to_string()]),
        "hugetlb" => Some(["-Y".into(), n.div_ceil(2).to_string()]),
        _ => None,
    }
}

/// The workload program, or why it is not here.
pub fn program() -> Result<&'static str, HostError> {
    crate::available()?;
    Ok(env!("EXITMM_WORKLOAD"))
}

impl Workload {
    /// Starts the workload `shape` of size `n` and waits until it has built it.
    pub fn start(shape: &str, n: u64) -> Result<Workload, HostError> {
        let prog = program()?;
        // The swap and hugetlb shapes run under the kernel runner, which makes a zram swap
        // device or grows the huge page pool for them and undoes it however the run ends.
        let mut cmd = match runner_args(shape, n) {
            Some(args) => {
                let mut c = Command::new(crate::available()?);
                c.args(args).arg(prog);
                c
            }
            None => Command::new(prog),
        };
        let file = (shape == "file").then(file_path);
        cmd.args([shape, &n.to_string()]);
        if let Some(f) = &file {
            cmd.arg(f);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| HostError::Unavailable(format!("cannot start {prog}: {e}")))?;
        let stdin = child.stdin.take().expect("piped");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| HostError::Runner(format!("workload {shape}: {e}")))?;
        let mut words = line.split_whitespace();
        let self_timed_ns = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("ns=")?.parse().ok());
        let pid = match (words.next(), words.next()) {
            (Some("ready"), Some(p)) => p.parse().map_err(|_| HostError::Runner(line.clone()))?,
            _ => {
                let _ = child.kill();
                let out = child.wait_with_output().ok();
                if let Some(f) = &file {
                    let _ = std::fs::remove_file(f);
                }
                let err = out
                    .as_ref()
                    .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                    .unwrap_or_default();
                let msg = format!("workload {shape} {n}: {err}");
                // The runner could not make the swap device (no zram, not root) or grow the
                // pool (no huge pages, not root, or not enough free memory in 2 MiB pieces).
                if out.is_some_and(|o| {
                    matches!(
                        o.status.code(),
                        Some(crate::EXIT_UNAVAILABLE) | Some(crate::EXIT_POOL_SHORT)
                    )
                }) {
                    return Err(HostError::Unavailable(msg));
                }
                return Err(HostError::Runner(msg));
            }
        };
        Ok(Workload {
            child,
            _stdin: stdin,
            pid,
            self_timed_ns,
            file,
        })
    }

    /// SIGKILL, then the time until it has exited: `waitpid` of our child, or, for one the
    /// kernel runner runs, its pidfd turning readable. Either way the kernel has run `exit_mm`
    /// (the whole teardown of its memory) first: a process is a zombie only after it.
    pub fn kill_and_time(mut self) -> Result<Duration, HostError> {
        let err = |what: &str| HostError::Runner(format!("{what}: bad PID {}", self.pid));
        if self.child.id() as i32 == self.pid {
            let t = Instant::now();
            self.child
                .kill()
                .map_err(|e| HostError::Runner(format!("kill: {e}")))?;
            self.child
                .wait()
                .map_err(|e| HostError::Runner(format!("wait: {e}")))?;
            return Ok(t.elapsed());
        }
        let io = |what: &str, e: rustix::io::Errno| HostError::Runner(format!("{what}: {e}"));
        let pid = rustix::process::Pid::from_raw(self.pid).ok_or_else(|| err("pid"))?;
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|e| io("pidfd_open", e))?;
        let t = Instant::now();
        rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL)
            .map_err(|e| io("pidfd_send_signal", e))?;
        let mut p = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        while rustix::event::poll(&mut p, None).is_err() {}
        let took = t.elapsed();
        // The runner then removes the swap device and ends.
        let st = self
            .child
            .wait()
            .map_err(|e| HostError::Runner(format!("wait: {e}")))?;
        // The workload died of SIGKILL, so the runner passes on its own status, 0.
        if !st.success() {
            return Err(HostError::Runner(format!("the runner ended with {st}")));
        }
        Ok(took)
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        if self.child.id() as i32 != self.pid {
            // Under the runner: end the workload, and the runner cleans up and ends.
            if let Some(pid) = rustix::process::Pid::from_raw(self.pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(f) = self.file.take() {
            let _ = std::fs::remove_file(f);
        }
    }
}
