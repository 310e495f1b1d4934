//! `snapshot` of real processes, replayed on the model: RSS by type, VmPTE, VmSwap,
//! HugetlbPages and the VMA count must equal what the live process's `/proc` says.

use exitmm_host::snapshot::{snapshot, SnapshotError};
use exitmm_host::workload::Workload;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Why the host cannot run these tests, if it cannot.
fn skip() -> Option<String> {
    if let Err(e) = exitmm_host::workload::program() {
        return Some(format!("workload unavailable: {e}"));
    }
    match std::fs::File::open("/proc/kpageflags") {
        Ok(_) => None,
        Err(e) => Some(format!("cannot read /proc/kpageflags ({e}): needs root")),
    }
}

fn assert_replay_equal(pid: i32, what: &str) {
    let snap = snapshot(pid).unwrap_or_else(|e| panic!("{what}: {e}"));
    let r = exitmm_diff::replay_snapshot(&snap).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        r.differing().is_empty(),
        "{what}: replay differs: {:?}\n{}",
        r.differing(),
        snap.script.lines().take(12).collect::<Vec<_>>().join("\n")
    );
    // Not a vacuous comparison: the process has memory and VMAs.
    assert!(
        snap.live.vmas > 0 && snap.live.rss_anon + snap.live.rss_file > 0,
        "{what}"
    );
}

#[test]
fn snapshot_of_a_running_shell_replays_equal() {
    if let Some(why) = skip() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut sh = Command::new("bash")
        .args(["-c", "read x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("bash");
    let pid = sh.id() as i32;
    // Wait until the shell sleeps in its read.
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('S'))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_replay_equal(pid, "bash");
    let _ = sh.kill();
    let _ = sh.wait();
}

/// Held by each test's hugetlb workload, and by each workload whose test checks the pool
/// after, so that no check sees another test's workload grow it.
static HUGETLB: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn nr_hugepages() -> String {
    std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
        .unwrap_or_default()
}

#[test]
fn snapshots_of_workloads_replay_equal() {
    if let Some(why) = skip() {
        eprintln!("skipped: {why}");
        return;
    }
    for (shape, n) in [
        ("fork", 64),
        ("anon", 64),
        ("shm", 32),
        ("mlock", 16),
        ("thp", 32),
        ("vmas", 20000),
        ("swap", 32),
        ("hugetlb", 16),
        ("sparse", 300),
        ("sparseshm", 300),
        ("sparseshmro", 300),
        ("file", 16),
        ("zero", 16),
    ] {
        // Every shape checks the pool after, so none may overlap another test's hugetlb
        // workload (predict_prices_what_a_workload_holds runs one beside this loop).
        let _one = HUGETLB.lock().unwrap_or_else(|e| e.into_inner());
        let pool = nr_hugepages();
        let w = match Workload::start(shape, n) {
            Ok(w) => w,
            // A host without zram cannot give the swap shape its device, one without huge
            // pages (or the memory for them) the hugetlb shape its pool.
            Err(exitmm_host::HostError::Unavailable(why))
                if matches!(shape, "swap" | "hugetlb") =>
            {
                eprintln!("{shape} shape skipped: {why}");
                continue;
            }
            Err(e) => panic!("{shape}: {e}"),
        };
        assert_replay_equal(w.pid, &format!("workload {shape} {n}"));
        // The kernel runner that grew the pool for the hugetlb shape restores it as it ends.
        w.kill_and_time().expect("kill");
        assert_eq!(nr_hugepages(), pool, "{shape}: the pool is as before");
    }
}

#[test]
fn snapshot_refuses_cleanly() {
    // A PID no process has (above pid_max's largest value).
    assert_eq!(
        snapshot(i32::MAX).unwrap_err(),
        SnapshotError::NoSuchProcess(i32::MAX)
    );
    // kthreadd (PID 2) is a kernel thread.
    if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
        assert_eq!(snapshot(2).unwrap_err(), SnapshotError::KernelThread(2));
    }
}

#[test]
fn predict_prices_what_a_workload_holds() {
    if let Some(why) = skip() {
        eprintln!("skipped: {why}");
        return;
    }
    let costs = exitmm_sim::cost::Costs::shipped();
    let w = Workload::start("anon", 64).expect("workload");
    let snap = snapshot(w.pid).expect("snapshot");
    let p = exitmm_diff::predict_snapshot(&snap, &costs).expect("predict");
    // Its 64 MiB (16,384 pages) are freed by its exit, besides the few pages of its libraries'
    // data and stack.
    assert!(
        (16_384..16_384 + 256).contains(&p.counts.anon_freed),
        "{:?}",
        p.counts
    );
    let anon = p.by_kind.iter().find(|k| k.0 == "anon").expect("anon VMAs");
    assert!(anon.2 >= 16_384 && anon.3 > 16_384.0 * costs.anon_page_ns);
    let sum: f64 = p.prediction.by_step.iter().map(|s| s.2).sum();
    assert!((sum - p.prediction.total_ns).abs() < 1.0);
    // A forked child shares half its pages: the parent's exit frees the other half only.
    let w = Workload::start("fork", 64).expect("workload");
    let p = exitmm_diff::predict_snapshot(&snapshot(w.pid).unwrap(), &costs).unwrap();
    assert!(
        (8_192..8_192 + 256).contains(&p.counts.anon_freed) && p.counts.kept_ptes >= 8_192,
        "{:?}",
        p.counts
    );
    // Written shared pages one per PTE table: a forced flush each (dirty shared PTEs); read
    // ones: none; both free a PTE table per page.
    for (shape, flushes) in [("sparseshm", 200), ("sparseshmro", 0)] {
        let w = Workload::start(shape, 200).expect("workload");
        let p = exitmm_diff::predict_snapshot(&snapshot(w.pid).unwrap(), &costs).unwrap();
        assert_eq!(p.counts.forced_flushes, flushes, "{shape}: {:?}", p.counts);
        assert!(p.counts.tables >= 200, "{shape}: {:?}", p.counts);
    }
    // 16 MiB of a regular file read through a mapping: 4,096 file PTEs; 16 MiB of anonymous
    // memory only read: 4,096 zero-page PTEs.
    let w = Workload::start("file", 16).expect("workload");
    let p = exitmm_diff::predict_snapshot(&snapshot(w.pid).unwrap(), &costs).unwrap();
    assert!(
        (4_096..4_096 + 512).contains(&p.counts.file_ptes),
        "{:?}",
        p.counts
    );
    let w = Workload::start("zero", 16).expect("workload");
    let p = exitmm_diff::predict_snapshot(&snapshot(w.pid).unwrap(), &costs).unwrap();
    assert!(
        (4_096..4_096 + 64).contains(&p.counts.zero_ptes),
        "{:?}",
        p.counts
    );
    // 16 MiB of 2 MiB hugetlb pages: 8, priced as such.
    let _one = HUGETLB.lock().unwrap_or_else(|e| e.into_inner());
    match Workload::start("hugetlb", 16) {
        Ok(w) => {
            let p = exitmm_diff::predict_snapshot(&snapshot(w.pid).unwrap(), &costs).unwrap();
            assert_eq!(p.counts.hugetlb, 8, "{:?}", p.counts);
            let step = p.prediction.by_step.iter().find(|s| s.0 == "hugetlb pages");
            assert_eq!(step.map(|s| s.1), Some(8));
        }
        Err(exitmm_host::HostError::Unavailable(why)) => eprintln!("hugetlb skipped: {why}"),
        Err(e) => panic!("hugetlb: {e}"),
    }
}
