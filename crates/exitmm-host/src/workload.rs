//! The workload program (`tools/workload.c`): real processes of known memory shapes, for the
//! snapshot and prediction tests and the predicted-vs-measured table.

use crate::HostError;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The shapes the workload builds, with the unit of their size argument.
pub const SHAPES: [(&str, &str); 7] = [
    ("anon", "MiB"),
    ("thp", "MiB"),
    ("shm", "MiB"),
    ("vmas", "VMAs"),
    ("mlock", "MiB"),
    ("fork", "MiB"),
    ("swap", "MiB"),
];

/// A live workload process: it waits until it is killed (or dropped).
pub struct Workload {
    child: Child,
    _stdin: ChildStdin,
    /// Its PID.
    pub pid: i32,
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
        let mut child = Command::new(prog)
            .args([shape, &n.to_string()])
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
        let pid = match line.trim().strip_prefix("ready ") {
            Some(p) => p.parse().map_err(|_| HostError::Runner(line.clone()))?,
            None => {
                let _ = child.kill();
                let out = child.wait_with_output().ok();
                let err = out
                    .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                    .unwrap_or_default();
                return Err(HostError::Runner(format!("workload {shape} {n}: {err}")));
            }
        };
        Ok(Workload {
            child,
            _stdin: stdin,
            pid,
        })
    }

    /// SIGKILL, then the time until `waitpid` reaps it: the kernel has run `exit_mm` (the
    /// whole teardown of its memory) before the process becomes a zombie.
    pub fn kill_and_time(mut self) -> Result<Duration, HostError> {
        let t = Instant::now();
        self.child
            .kill()
            .map_err(|e| HostError::Runner(format!("kill: {e}")))?;
        self.child
            .wait()
            .map_err(|e| HostError::Runner(format!("wait: {e}")))?;
        Ok(t.elapsed())
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
