//! exitmm-diff: run a script on the model and on this machine's kernel and say whether they
//! agree, with the host's behaviour probed first so the model runs with the same switches.

#![forbid(unsafe_code)]

use exitmm_host::HostError;
use exitmm_kernel::Config;
use exitmm_script::Script;
use exitmm_sim::compare::{compare, Mismatch};
use exitmm_sim::{run_records, Options};

/// What the probe read off the host, and the model configuration that matches it.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The model configuration to use.
    pub config: Config,
    /// One line per fact: what was read and how.
    pub facts: Vec<String>,
    /// Host behaviours the model cannot match (any makes comparisons meaningless).
    pub unmatched: Vec<String>,
    /// The huge page sizes (kB) the host offers: its `/sys/kernel/mm/hugepages/hugepages-*kB`
    /// directories, smaller first.
    pub hugetlb_sizes_kb: Vec<u64>,
    /// Whether `hugetlb_pool` can run here: root, and every offered size's `nr_hugepages`
    /// writable. `Err` says what is missing.
    pub hugetlb_pool: Result<(), String>,
    /// Whether perf rings (`perf_ring`) can run here: `perf_event_open` of a software dummy
    /// event and the mmap of its ring work. `Err` says what is missing.
    pub perf: Result<(), String>,
    /// Whether uprobes (`uprobe`, `call` on a probed codefile) can run here: root, and tracefs
    /// `uprobe_events` usable. `Err` says what is missing.
    pub uprobes: Result<(), String>,
    /// Whether `swapon` can run here as the model assumes: a zram device made and swapped on,
    /// no other swap device (it could take the pages), zswap off. `Err` says what is missing.
    pub swap: Result<(), String>,
}

/// Where the host's huge page sizes live.
const HUGEPAGES_DIR: &str = "/sys/kernel/mm/hugepages";

/// The huge page sizes (kB) under `dir` (`hugepages-<kB>kB` directories), smaller first.
fn hugetlb_sizes(dir: &str) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("hugepages-")?
                    .strip_suffix("kB")?
                    .parse()
                    .ok()
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Whether the pools of `sizes` under `dir` can be set: root, and each `nr_hugepages` opens
/// for writing (opening changes nothing; a read-only sysfs or a missing file says no).
fn hugetlb_pool_settable(dir: &str, sizes: &[u64], root: bool) -> Result<(), String> {
    if sizes.is_empty() {
        return Err(format!("no huge page sizes ({dir} has no hugepages-*kB)"));
    }
    if !root {
        return Err("not root".into());
    }
    for kb in sizes {
        let path = format!("{dir}/hugepages-{kb}kB/nr_hugepages");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{path} is not writable: {e}"))?;
    }
    Ok(())
}

fn kernel_records(src: &str, cap: u64) -> Result<String, HostError> {
    let s = exitmm_script::parse(src).expect("probe scripts parse");
    exitmm_host::run(&s, cap)
}

fn last_field(records: &str, prefix: &str, key: &str) -> Option<i64> {
    records
        .lines()
        .rfind(|l| l.starts_with(prefix))?
        .split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn read_sys(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads what the host kernel does where kernels differ, and configures the model to match.
/// `cap` is the kernel runner's footprint cap in bytes (what a script may make resident or
/// charge; [`exitmm_host::DEFAULT_FOOTPRINT_CAP`] unless the user raised it): the probe's
/// scripts are small and run under the same cap as the comparisons.
pub fn probe(cap: u64) -> Result<Probe, HostError> {
    exitmm_host::available()?;
    let mut config = Config::default();
    let mut facts = Vec::new();
    let mut unmatched = Vec::new();

    // PT_RECLAIM: does MADV_DONTNEED of a whole 2 MiB span free its PTE table?
    let r = kernel_records(
        "mmap 0 2M rw private,anon\ntouch 0 2M w 64K\nmadvise 0 2M dontneed\n",
        cap,
    )?;
    let pte = last_field(&r, "D P", "VmPTE").unwrap_or(-1);
    config.pt_reclaim = pte == 8;
    facts.push(format!(
        "PT_RECLAIM: {} (VmPTE {pte} kB after dontneed of a whole PTE table)",
        config.pt_reclaim
    ));

    // Fault-around: how many cached pages one read fault maps.
    let r = kernel_records("memfd f 1M fill\nmmap 0 1M r shared f\ntouch 0 4K r\n", cap)?;
    let rss = last_field(&r, "D P", "VmRSS").unwrap_or(4);
    config.fault_around_pages = (rss / 4).max(1) as u64;
    facts.push(format!(
        "fault-around: {} pages (VmRSS {rss} kB after one read)",
        config.fault_around_pages
    ));

    // Exact status RSS: status must agree with smaps page for page.
    let r = kernel_records("mmap 0 12K rw private,anon\ntouch 0 12K w\n", cap)?;
    let (status, smaps) = (last_field(&r, "D P", "VmRSS"), last_field(&r, "T P", "rss"));
    if status != smaps {
        unmatched.push(format!(
            "status RSS is not exact ({status:?} kB against smaps {smaps:?} kB)"
        ));
    }
    facts.push(format!("exact status RSS: {}", status == smaps));

    // The zero page must show in pagemap (PFNs readable) for 'z' to be comparable.
    let r = kernel_records(
        "mmap 0 4K r private,anon\ntouch 0 4K r\npagemap 0 4K\n",
        cap,
    )?;
    let zero = r.lines().any(|l| l.starts_with("G P 0 z"));
    if !zero {
        unmatched.push("the zero page is not visible through pagemap".into());
    }
    facts.push(format!("zero page visible in pagemap: {zero}"));

    // Overcommit policy.
    if let Some(m) = read_sys("/proc/sys/vm/overcommit_memory").and_then(|v| v.parse().ok()) {
        config.overcommit_memory = m;
    }
    if let Some(r) = read_sys("/proc/sys/vm/overcommit_ratio").and_then(|v| v.parse().ok()) {
        config.overcommit_ratio = r;
    }
    facts.push(format!(
        "overcommit_memory={} overcommit_ratio={}",
        config.overcommit_memory, config.overcommit_ratio
    ));

    // RLIMIT_MEMLOCK: root has CAP_IPC_LOCK, which lifts it.
    let uid0 = read_sys("/proc/self/status")
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let limit = read_sys("/proc/self/limits").and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("Max locked memory"))
            .and_then(|l| l.split_whitespace().nth(3).map(String::from))
    });
    config.memlock_limit = if uid0 {
        None
    } else {
        limit.as_deref().and_then(|v| v.parse().ok())
    };
    facts.push(format!(
        "RLIMIT_MEMLOCK: {} (root: {uid0})",
        limit.unwrap_or_else(|| "?".into())
    ));

    // Shmem THP: the model has no huge pages; the runner disables THP for itself, but shmem
    // objects follow the global setting.
    let shmem_thp =
        read_sys("/sys/kernel/mm/transparent_hugepage/shmem_enabled").unwrap_or_default();
    let mode = shmem_thp
        .split_whitespace()
        .find(|w| w.starts_with('['))
        .unwrap_or("[never]")
        .to_string();
    if mode != "[never]" && mode != "[deny]" {
        unmatched.push(format!(
            "shmem THP is {mode}: shmem objects may get huge pages"
        ));
    }
    facts.push(format!("shmem THP: {mode}"));

    // Huge pages (hugetlb): the sizes offered, their pools now, and whether scripts can set
    // them (hugetlb_pool needs root and a writable nr_hugepages; the runner restores them).
    let hugetlb_sizes_kb = hugetlb_sizes(HUGEPAGES_DIR);
    let hugetlb_pool = hugetlb_pool_settable(HUGEPAGES_DIR, &hugetlb_sizes_kb, uid0);
    // The pools as they are now: the model boots with them. Reservations while nothing runs
    // are ones the kernel leaked (6.18's mremap of part of a private hugetlb mapping): they
    // stay until reboot, holding a page each.
    config.hugetlb_baseline = hugetlb_baseline();
    for h in exitmm_kernel::hugetlb::HugeSize::ALL {
        let b = config.hugetlb_baseline[h.index()];
        if b.resv > 0 {
            facts.push(format!(
                "hugetlb {} kB: {} reservations the kernel leaked (until reboot); the model \
                 starts with them",
                h.bytes() >> 10,
                b.resv
            ));
        }
    }
    let pools: Vec<String> = hugetlb_sizes_kb
        .iter()
        .map(|kb| {
            let n = read_sys(&format!("{HUGEPAGES_DIR}/hugepages-{kb}kB/nr_hugepages"));
            format!("{kb} kB (pool {})", n.as_deref().unwrap_or("?"))
        })
        .collect();
    facts.push(format!(
        "hugetlb sizes: {}",
        if pools.is_empty() {
            "none".to_string()
        } else {
            pools.join(", ")
        }
    ));
    facts.push(match &hugetlb_pool {
        Ok(()) => "hugetlb pool settable: true (root, nr_hugepages writable)".to_string(),
        Err(why) => format!("hugetlb pool settable: false ({why})"),
    });

    // Perf rings: a dummy event and the mmap of its ring. perf charges ring pages to the user's
    // locked_vm up to perf_event_mlock_kb per online CPU, and the rest to the mm's pinned_vm
    // (VmPin): the model needs both numbers, and what the user's locked_vm already holds
    // (other processes of the same user), which a ring past the limit tells.
    let first_err = |r: &str| {
        r.lines()
            .find(|l| l.starts_with("R P rc=-"))
            .unwrap_or("?")
            .to_string()
    };
    let perf = match kernel_records("perf_ring ev 0\nmmap 0 4K r shared ev\n", cap) {
        Ok(r) if !r.contains("R P rc=-") => Ok(()),
        Ok(r) => Err(format!("a perf ring does not map: {}", first_err(&r))),
        Err(e) => Err(e.to_string()),
    };
    let mlock_kb: Option<u64> =
        read_sys("/proc/sys/kernel/perf_event_mlock_kb").and_then(|v| v.parse().ok());
    // "0-1,4": ranges and single CPUs
    let cpus = read_sys("/sys/devices/system/cpu/online").and_then(|v| {
        v.split(',').try_fold(0u32, |n, r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            Some(n + b.checked_sub(a)? + 1)
        })
    });
    facts.push(format!(
        "perf: {} (perf_event_mlock_kb={} online CPUs={})",
        match &perf {
            Ok(()) => "true".to_string(),
            Err(why) => format!("false ({why})"),
        },
        mlock_kb.map_or("?".into(), |v| v.to_string()),
        cpus.map_or("?".into(), |v| v.to_string())
    ));
    if let Some(kb) = mlock_kb {
        config.perf_event_mlock_kb = kb;
    }
    if let Some(n) = cpus {
        config.online_cpus = n as u64;
    }
    if let (Ok(()), Some(kb), Some(n)) = (&perf, mlock_kb, cpus) {
        let limit = kb / 4 * n as u64;
        // The user's locked_vm is the user's (every process of it, and 6.18 leaks into it when
        // a ring still mapped is mapped again): only a ring past the limit tells what it holds.
        let ring = match kernel_records("perf_ring ev 512\nmmap 0 2052K r shared ev\n", cap) {
            Ok(r) if !r.contains("R P rc=-") => {
                let pin = last_field(&r, "D P", "VmPin").unwrap_or(-1).max(0) as u64;
                let held = match pin / 4 {
                    0 => format!("at most {} pages", limit.saturating_sub(513)),
                    p if p >= 513 => format!("at least {limit} pages"),
                    p => {
                        // What the model starts from: rings in this run see the same.
                        config.perf_user_locked_baseline = (p + limit).saturating_sub(513) as i64;
                        format!("{} pages", (p + limit).saturating_sub(513))
                    }
                };
                format!("a 513-page ring pinned {pin} kB (the user's locked_vm held {held})")
            }
            Ok(r) => format!("a 513-page ring does not map: {}", first_err(&r)),
            Err(e) => format!("a 513-page ring does not run: {e}"),
        };
        facts.push(format!(
            "perf ring pinning: ring pages past {limit} per user (perf_event_mlock_kb/4 x online \
             CPUs, less what the user's locked_vm holds) are charged to VmPin; {ring}"
        ));
    }

    // Uprobes: root and tracefs uprobe_events, through a probe hit on a codefile.
    let uprobes = match kernel_records(
        "codefile c 4K\nmmap 0 4K rx private c\nuprobe c 0\ncall 0\nuprobe_remove c 0\n",
        cap,
    ) {
        Ok(r) if !r.contains("R P rc=-") => Ok(()),
        Ok(r) => Err(format!("a uprobe does not register: {}", first_err(&r))),
        Err(e) => Err(e.to_string()),
    };
    facts.push(match &uprobes {
        Ok(()) => "uprobes: true (root, tracefs uprobe_events)".to_string(),
        Err(why) => format!("uprobes: false ({why})"),
    });
    // Swap: no other device, zswap off, and a run's own zram device that takes a pageout.
    let others: Vec<String> = read_sys("/proc/swaps")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    let zswap =
        read_sys("/sys/module/zswap/parameters/enabled").is_some_and(|v| v.starts_with('Y'));
    let swap = if !others.is_empty() {
        Err(format!(
            "the host swaps to {others:?} already, which could take the pages"
        ))
    } else if zswap {
        Err("zswap is on: pages would go to it, not to the device".into())
    } else {
        match kernel_records(
            "swapon 64K\nmmap 0 8K rw private,anon\ntouch 0 8K w\nmadvise 0 8K pageout\n",
            cap,
        ) {
            Ok(r) if !r.contains("R P rc=-") && r.contains(" VmSwap=8 ") => Ok(()),
            Ok(r) => Err(format!("a pageout does not swap out: {}", first_err(&r))),
            Err(e) => Err(e.to_string()),
        }
    };
    if let Some(c) = read_sys("/proc/sys/vm/page-cluster").and_then(|v| v.parse().ok()) {
        config.page_cluster = c;
    }
    // THP: the host's enabled (the bracketed word) and use_zero_page settings.
    let thp_dir = "/sys/kernel/mm/transparent_hugepage";
    let bracketed =
        |v: String| -> Option<String> { Some(v.split('[').nth(1)?.split(']').next()?.to_string()) };
    let thp_mode = read_sys(&format!("{thp_dir}/enabled")).and_then(bracketed);
    config.thp_enabled = match thp_mode.as_deref() {
        Some("always") => exitmm_kernel::huge_memory::ThpEnabled::Always,
        Some("madvise") => exitmm_kernel::huge_memory::ThpEnabled::Madvise,
        _ => exitmm_kernel::huge_memory::ThpEnabled::Never,
    };
    config.thp_use_zero_page =
        read_sys(&format!("{thp_dir}/use_zero_page")).is_some_and(|v| v.trim() == "1");
    let defrag = read_sys(&format!("{thp_dir}/defrag")).and_then(bracketed);
    facts.push(format!(
        "THP: enabled={} defrag={} use_zero_page={}",
        thp_mode.as_deref().unwrap_or("(none)"),
        defrag.as_deref().unwrap_or("(none)"),
        config.thp_use_zero_page as u8
    ));
    facts.push(match &swap {
        Ok(()) => format!(
            "swap: true (a zram device per run; vm.page-cluster={})",
            config.page_cluster
        ),
        Err(why) => format!("swap: false ({why})"),
    });
    Ok(Probe {
        config,
        facts,
        unmatched,
        hugetlb_sizes_kb,
        hugetlb_pool,
        perf,
        uprobes,
        swap,
    })
}

impl Probe {
    /// Settings for generated scripts on this host: hugetlb ops in the sizes it offers, if
    /// scripts can set its pools; perf rings and uprobes if they work here; `cap` is the
    /// runner's footprint cap.
    pub fn gen_options(&self, cap: u64) -> exitmm_sim::gen::GenOptions {
        let hugetlb = if self.hugetlb_pool.is_ok() {
            self.hugetlb_sizes_kb
                .iter()
                .filter_map(|&kb| {
                    exitmm_script::HugeSize::ALL
                        .into_iter()
                        .find(|h| h.kb() == kb)
                })
                .collect()
        } else {
            Vec::new()
        };
        exitmm_sim::gen::GenOptions {
            hugetlb,
            cap,
            perf: self.perf.is_ok(),
            uprobes: self.uprobes.is_ok(),
            swap: self.swap.is_ok(),
            thp: self.config.thp_enabled != exitmm_kernel::huge_memory::ThpEnabled::Never,
            ..exitmm_sim::gen::GenOptions::default()
        }
    }
}

/// The host's huge page pools as they are now (sysfs), per size.
pub fn hugetlb_baseline() -> [exitmm_kernel::HugetlbBaseline; 2] {
    exitmm_kernel::hugetlb::HugeSize::ALL.map(|h| {
        let kb = h.bytes() >> 10;
        let read = |f: &str| {
            read_sys(&format!("{HUGEPAGES_DIR}/hugepages-{kb}kB/{f}"))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        exitmm_kernel::HugetlbBaseline {
            nr: read("nr_hugepages"),
            surplus: read("surplus_hugepages"),
            resv: read("resv_hugepages"),
        }
    })
}

/// The outcome of one comparison.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Equal on every compared field.
    Equal,
    /// The first difference.
    Different {
        /// Where and what.
        mismatch: Mismatch,
        /// The model's records.
        model: String,
        /// The kernel's records.
        kernel: String,
    },
    /// The kernel could not give a trustworthy answer (its runs disagreed, swap or huge pages).
    Inconclusive(String),
    /// Not run on the kernel: the model says the script would leave the host changed for
    /// good (reservations the kernel leaks, holding huge pages until reboot; a perf buffer
    /// mapped twice, whose charge the user's locked_vm keeps), or the model cannot run it
    /// (an op it names as unsupported, which the kernel runner refuses as well).
    HostUnsafe(String),
}

/// Why a comparison could not be made at all.
#[derive(Clone, Debug)]
pub enum DiffError {
    /// The kernel side: unavailable, failed, or refused the script
    /// ([`HostError::Refused`]: past the footprint cap or outside the arena).
    Host(HostError),
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiffError::Host(e) => write!(f, "{e}"),
        }
    }
}

/// Why a kernel run's records cannot be trusted: swap the script did not ask for (the host
/// under memory pressure), or huge pages where the model expects none.
fn unstable(records: &str, swapon: bool, thp: bool) -> Option<&'static str> {
    let nonzero = |key: &str| {
        records.lines().any(|l| {
            l.split(' ')
                .any(|w| w.starts_with(key) && !w.ends_with("=0"))
        })
    };
    if !swapon && (nonzero("VmSwap=") || nonzero("Swap=")) {
        Some("swap activity")
    } else if !thp && nonzero("AnonHugePages=") {
        Some("huge pages")
    } else {
        None
    }
}

/// Runs the kernel side twice (and again, up to three times in all, on trouble); returns
/// records two runs agree on.
fn kernel_twice(script: &Script, cap: u64) -> Result<Result<String, String>, DiffError> {
    let mut why = String::new();
    for _attempt in 0..3 {
        let run = |s| match exitmm_host::run(s, cap) {
            Err(HostError::PoolShort(w)) => Ok(Err(w)),
            r => r.map(Ok).map_err(DiffError::Host),
        };
        let (a, b) = match (run(script)?, run(script)?) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(w), _) | (_, Err(w)) => {
                why = w;
                continue;
            }
        };
        let swapon = script
            .lines
            .iter()
            .any(|l| matches!(l.op, exitmm_script::Op::Swapon { .. }));
        let thp = script
            .lines
            .iter()
            .any(|l| matches!(l.op, exitmm_script::Op::Thp { on: true }));
        if let Some(u) = unstable(&a, swapon, thp).or(unstable(&b, swapon, thp)) {
            why = format!("the kernel runs saw {u}");
            continue;
        }
        match compare(&a, &b) {
            Ok(()) => return Ok(Ok(a)),
            Err(m) => why = format!("two kernel runs disagree at {}", m.op),
        }
    }
    Ok(Err(why))
}

/// Compares one script, model against kernel; `cap` is the kernel runner's footprint cap in
/// bytes (see [`probe`]).
pub fn diff(script: &Script, config: &Config, cap: u64) -> Result<Verdict, DiffError> {
    let opts = Options {
        config: config.clone(),
        check: exitmm_sim::Check::EveryOp,
        ..Options::default()
    };
    // The model first: a script it sees leaking reservations in the kernel is not run there.
    let model = match run_records(script, &opts) {
        Err(exitmm_sim::SimError::Unsupported { line, what }) => {
            return Ok(Verdict::HostUnsafe(format!(
                "the model does not run line {line}: {what}"
            )));
        }
        Ok((m, sim)) => {
            if sim.kernel.perf_user_locked_leaked > config.perf_user_locked_baseline {
                return Ok(Verdict::HostUnsafe(
                    "a perf ring buffer mapped twice: 6.18 charges the user's locked_vm again \
                     and never gives it back (until reboot)"
                        .into(),
                ));
            }
            let booted = config.hugetlb_baseline.map(|b| b.resv);
            let leaked = sim.kernel.hugetlb_resv_leaked;
            if leaked != booted {
                return Ok(Verdict::HostUnsafe(format!(
                    "the kernel would leak {} hugetlb reservations (6.18's mremap of part of a \
                     private hugetlb mapping), holding huge pages until reboot",
                    leaked.iter().sum::<u64>() - booted.iter().sum::<u64>()
                )));
            }
            Ok(m)
        }
        Err(e) => Err(e),
    };
    let kernel = match kernel_twice(script, cap)? {
        Ok(k) => k,
        Err(why) => return Ok(Verdict::Inconclusive(why)),
    };
    let model = match model {
        Ok(m) => m,
        Err(e) => {
            let line = e.line();
            let mismatch = Mismatch {
                op: format!("line {line}"),
                model: e.to_string(),
                kernel: "(ran)".into(),
            };
            return Ok(Verdict::Different {
                mismatch,
                model: String::new(),
                kernel,
            });
        }
    };
    Ok(match compare(&model, &kernel) {
        Ok(()) => Verdict::Equal,
        Err(_) if thp_short(&model, &kernel) => Verdict::Inconclusive(
            "the kernel got fewer THPs than the model (its memory too fragmented for an \
             order-9 page, or khugepaged)"
                .into(),
        ),
        Err(mismatch) => Verdict::Different {
            mismatch,
            model,
            kernel,
        },
    })
}

/// Whether, at some op, a process of the kernel's run had less `AnonHugePages` than the
/// model's: an `hg` fault the host could not give a THP (or khugepaged at work), not a rule the
/// model misses.
fn thp_short(model: &str, kernel: &str) -> bool {
    let thp = |records: &str| -> Vec<i64> {
        records
            .lines()
            .filter(|l| l.starts_with("T "))
            .map(|l| {
                l.split(' ')
                    .find_map(|w| w.strip_prefix("AnonHugePages=")?.parse().ok())
                    .unwrap_or(0)
            })
            .collect()
    };
    thp(model)
        .iter()
        .zip(thp(kernel).iter())
        .any(|(m, k)| k < m)
}

/// Shrinks a differing script: drops ops (halves, then single lines) and shortens lengths while
/// the model still differs from the kernel (under footprint cap `cap`). Returns the smallest
/// script found.
pub fn shrink(src: &str, config: &Config, cap: u64) -> String {
    shrink_with(src, |text: &str| -> bool {
        match exitmm_script::parse(text) {
            Ok(s) if !s.lines.is_empty() => {
                matches!(diff(&s, config, cap), Ok(Verdict::Different { .. }))
            }
            _ => false,
        }
    })
}

/// The shrinking itself, for any test of "still differs".
pub fn shrink_with(src: &str, differs: impl Fn(&str) -> bool) -> String {
    let mut lines: Vec<String> = src
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let join = |v: &[String]| v.join("\n") + "\n";
    // Delete chunks, from big to single lines.
    let mut chunk = lines.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < lines.len() {
            let mut cand = lines.clone();
            cand.drain(i..(i + chunk).min(cand.len()));
            if differs(&join(&cand)) {
                lines = cand;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    // Shrink numbers (lengths, offsets) by halving them on the 4 KiB grid.
    for i in 0..lines.len() {
        let words: Vec<String> = lines[i].split(' ').map(String::from).collect();
        for w in 0..words.len() {
            let Ok(v) = exitmm_script::parse_number(&words[w]) else {
                continue;
            };
            let mut v = v;
            while v >= 8192 {
                let smaller = ((v / 2) & !4095).max(4096);
                let mut cand_words = words.clone();
                cand_words[w] = format!("{smaller}");
                let mut cand = lines.clone();
                cand[i] = cand_words.join(" ");
                if differs(&join(&cand)) {
                    lines = cand;
                    v = smaller;
                } else {
                    break;
                }
            }
        }
    }
    join(&lines)
}

/// The fields that differ between two record lines, as `key: model=…, kernel=…`.
pub fn differing_fields(model: &str, kernel: &str) -> Vec<String> {
    let kv = |l: &str| -> Vec<(String, String)> {
        l.split(' ')
            .filter_map(|w| {
                w.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    };
    let (m, k) = (kv(model), kv(kernel));
    let mut out = Vec::new();
    for (key, kv_) in &k {
        match m.iter().find(|(mk, _)| mk == key) {
            Some((_, mv)) if mv != kv_ => out.push(format!("{key}: model={mv} kernel={kv_}")),
            None => out.push(format!("{key}: model=(none) kernel={kv_}")),
            _ => {}
        }
    }
    if out.is_empty() && model != kernel {
        out.push("the lines differ".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_keeps_what_makes_the_difference_and_halves_lengths() {
        let src = "mmap 0 1M rw private,anon\ntouch 0 1M w\nfork\nmunmap 0 64K\nchild_exit\ndump\n";
        // "Differs" while the script still mmaps something and writes at least 8K of it.
        let differs = |t: &str| {
            exitmm_script::parse(t).is_ok()
                && t.contains("mmap 0 ")
                && t.lines().any(|l| {
                    l.starts_with("touch 0 ")
                        && l.split(' ')
                            .nth(2)
                            .and_then(|n| exitmm_script::parse_number(n).ok())
                            .is_some_and(|n| n >= 8192)
                })
        };
        let small = shrink_with(src, differs);
        assert!(differs(&small));
        assert_eq!(small.lines().count(), 2, "{small}");
        assert!(small.contains("touch 0 8192 w"), "{small}");
    }

    #[test]
    fn hugetlb_sizes_and_whether_the_pool_can_be_set() {
        let dir = std::env::temp_dir().join(format!("exitmm-probe-{}", std::process::id()));
        let d = dir.to_str().unwrap();
        assert_eq!(hugetlb_sizes(d), Vec::<u64>::new());
        assert!(hugetlb_pool_settable(d, &[], true)
            .unwrap_err()
            .contains("no huge page sizes"));
        for kb in [1048576, 2048] {
            let sub = dir.join(format!("hugepages-{kb}kB"));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join("nr_hugepages"), "0\n").unwrap();
        }
        std::fs::create_dir_all(dir.join("not-a-size")).unwrap();
        let sizes = hugetlb_sizes(d);
        assert_eq!(sizes, vec![2048, 1048576]);
        assert_eq!(
            hugetlb_pool_settable(d, &sizes, false),
            Err("not root".into())
        );
        assert_eq!(hugetlb_pool_settable(d, &sizes, true), Ok(()));
        std::fs::remove_file(dir.join("hugepages-2048kB/nr_hugepages")).unwrap();
        let e = hugetlb_pool_settable(d, &sizes, true).unwrap_err();
        assert!(
            e.contains("hugepages-2048kB/nr_hugepages is not writable"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // This host, as the probe reads it (sizes only: nothing is written).
        eprintln!("host: {:?}", hugetlb_sizes(HUGEPAGES_DIR));
    }

    #[test]
    fn differing_fields_name_each_field() {
        let f = differing_fields("D P VmSize=4 VmRSS=8", "D P VmSize=4 VmRSS=4");
        assert_eq!(f, vec!["VmRSS: model=8 kernel=4".to_string()]);
    }
}

/// The figures a snapshot's replay on the model is compared on, live against model (kB, or
/// VMAs).
#[cfg(target_os = "linux")]
pub const SNAPSHOT_FIELDS: [&str; 7] = [
    "RssAnon",
    "RssFile",
    "RssShmem",
    "VmPTE",
    "VmSwap",
    "HugetlbPages",
    "maps_lines",
];

/// A snapshot replayed on the model: each compared field as `(name, live, model)`.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone)]
pub struct Replay {
    /// `(field, live, model)` for every field of [`SNAPSHOT_FIELDS`].
    pub fields: Vec<(&'static str, u64, u64)>,
}

#[cfg(target_os = "linux")]
impl Replay {
    /// The fields where the model and the live process differ.
    pub fn differing(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(_, l, m)| l != m)
            .map(|(f, l, m)| format!("{f}: live {l}, model {m}"))
            .collect()
    }
}

/// The model's options for replaying a snapshot: RAM enough for what it holds (twice its
/// present pages, at least the default 16 GiB), overcommit always (the live process already
/// passed the host's check), the host's `vm.max_map_count` (a process may have more VMAs than
/// the default allows), no TLB model, invariants amortized.
#[cfg(target_os = "linux")]
pub fn replay_options(snap: &exitmm_host::snapshot::Snapshot) -> exitmm_sim::Options {
    let pages: u64 = snap.pages.iter().map(|(_, n)| n).sum();
    let mut o = exitmm_sim::Options {
        check: exitmm_sim::Check::Amortized,
        cpus: None,
        ..Default::default()
    };
    o.config.ram_bytes = (pages * 4096 * 2).max(16 << 30).next_multiple_of(1 << 30);
    o.config.overcommit_memory = 1;
    o.config.max_map_count = o.config.max_map_count.max(snap.max_map_count);
    o
}

/// Replays a snapshot's script on the model and compares its last status line with the live
/// process's figures.
#[cfg(target_os = "linux")]
pub fn replay_snapshot(snap: &exitmm_host::snapshot::Snapshot) -> Result<Replay, String> {
    let script = exitmm_script::parse(&snap.script).map_err(|e| format!("snapshot script: {e}"))?;
    let out = exitmm_sim::records(&script, &replay_options(snap))
        .map_err(|e| format!("replay on the model: {e}"))?;
    let last = out
        .lines()
        .rev()
        .find(|l| l.starts_with("D P "))
        .ok_or("replay printed no status line")?;
    let get = |k: &str| -> u64 {
        last.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let l = &snap.live;
    let live = [
        l.rss_anon,
        l.rss_file,
        l.rss_shmem,
        l.vm_pte,
        l.vm_swap,
        l.hugetlb,
        l.vmas,
    ];
    Ok(Replay {
        fields: SNAPSHOT_FIELDS
            .iter()
            .zip(live)
            .map(|(f, lv)| (*f, lv, get(f)))
            .collect(),
    })
}

/// `exitmm calibrate`: kills real processes of designed shapes (`tools/workload.c`: anonymous
/// pages, pages a forked child keeps, a regular file's cached pages, zero-page PTEs, shmem,
/// swapped-out pages (on a zram device the kernel runner makes), THPs, hugetlb pages (from a
/// pool the runner grows), one-page VMAs, mlocked pages, pages one per PTE table), each at two
/// sizes, `repeats` times, timing SIGKILL to reap as `validate` does, and fits the cost model
/// to the trimmed means. The forced flush is the difference of two shapes timed in turn many
/// times, compared by medians (written against read sparse shmem pages); the IPI is an
/// munmap's flush with a thread of the process running on another CPU less the same without
/// it, per munmap, as the workload times its own loop. The sizes stay at or below half of
/// `validate`'s shapes (512 MiB, 25,000 VMAs; validate: 1 GiB, 50,000 VMAs), so that
/// validation tests the model beyond what it was fitted on. `progress` is told each point as
/// it starts. A shape the host cannot build (swap without zram, hugetlb without a pool, the
/// IPI with one CPU) keeps the shipped figure and is listed in the result's `unmeasured`.
#[cfg(target_os = "linux")]
pub fn calibrate(
    repeats: u32,
    quick: bool,
    mut progress: impl FnMut(&str),
) -> Result<exitmm_sim::cost::Costs, HostError> {
    use exitmm_host::workload::Workload;
    use exitmm_sim::cost::{fit, Costs, Timings};
    let div = if quick { 4 } else { 1 };
    let mut time = |shape: &str, n: u64| -> Result<Option<f64>, HostError> {
        progress(&format!("{shape} {n}"));
        let mut runs = Vec::new();
        for _ in 0..repeats.max(1) {
            let w = match Workload::start(shape, n) {
                Ok(w) => w,
                Err(HostError::Unavailable(_)) if matches!(shape, "swap" | "hugetlb") => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
            runs.push(w.kill_and_time()?.as_nanos() as f64);
        }
        Ok(Some(trimmed_mean(runs)))
    };
    // (shape, sizes in its unit, units per size unit: pages per MiB, or 1 per VMA)
    let mut points =
        |shape: &str, sizes: [u64; 2], per: u64| -> Result<Vec<(u64, f64)>, HostError> {
            let mut v = Vec::new();
            for n in sizes {
                match time(shape, (n / div).max(1))? {
                    Some(t) => v.push(((n / div).max(1) * per, t)),
                    None => return Ok(Vec::new()),
                }
            }
            Ok(v)
        };
    let t = Timings {
        base: None,
        anon: points("anon", [128, 512], 256)?,
        kept: points("kept", [128, 512], 256)?,
        file: points("file", [128, 512], 256)?,
        zero: points("zero", [128, 512], 256)?,
        shmem: points("shm", [64, 256], 256)?,
        swap: points("swap", [32, 128], 256)?,
        thp: points("thp", [128, 512], 256)?,
        hugetlb: points("hugetlb", [64, 256], 1)?
            .into_iter()
            .map(|(mib, t)| (mib / 2, t))
            .collect(),
        vmas: points("vmas", [4_000, 25_000], 1)?,
        locked: points("mlock", [32, 128], 256)?,
        sparse: points("sparse", [1_000, 4_000], 1)?,
        ..Default::default()
    };
    let base = time("anon", 0)?;
    // A forced flush and an IPI are small beside an exit's run-to-run spread: each is the
    // difference of two shapes that differ only in it, timed many times, the two in turn so
    // that a drift of the host touches both alike; the medians are compared.
    let mut pair = |a: &str, b: &str, n: u64| -> Result<Option<(f64, f64)>, HostError> {
        progress(&format!("{a} {n} / {b} {n}"));
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..(repeats.max(1) * 4 / div as u32).max(5) {
            for (shape, v) in [(a, &mut ta), (b, &mut tb)] {
                match Workload::start(shape, n) {
                    Ok(w) => v.push(w.kill_and_time()?.as_nanos() as f64),
                    Err(HostError::Unavailable(_)) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Some((median(ta), median(tb))))
    };
    let sparse_shm_n = 4_000 / div;
    let flush = pair("sparseshm", "sparseshmro", sparse_shm_n)?;
    // The IPI: the flush of an munmap with a thread of the process running on another CPU
    // against the same alone, per munmap (the workload times its own loop).
    progress("flushipi / flush");
    let flush_n = 5_000 / div;
    let self_timed = |shape: &str| -> Result<Option<f64>, HostError> {
        match Workload::start(shape, flush_n) {
            Ok(w) => Ok(w.self_timed_ns.map(|ns| ns as f64 / flush_n as f64)),
            Err(HostError::Unavailable(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        with.extend(self_timed("flushipi")?);
        without.extend(self_timed("flush")?);
    }
    let ipi = (!with.is_empty() && !without.is_empty()).then(|| median(with) - median(without));
    let t = Timings {
        base,
        ipi,
        sparse_shm: flush.map(|f| vec![(sparse_shm_n, f.0)]).unwrap_or_default(),
        sparse_shm_ro: flush.map(|f| vec![(sparse_shm_n, f.1)]).unwrap_or_default(),
        ..t
    };
    let source = format!(
        "exitmm calibrate on Linux {}, {} runs per point",
        exitmm_host::kernel_release(),
        repeats
    );
    Ok(fit(&t, &Costs::shipped(), source))
}

/// A live process's predicted exit: the model's teardown of its snapshot, priced by the cost
/// model.
#[cfg(target_os = "linux")]
#[derive(Clone, Debug)]
pub struct ExitPrediction {
    /// The total and its breakdown by step.
    pub prediction: exitmm_sim::cost::Prediction,
    /// By VMA kind: `(kind, VMAs, present PTEs, ns)`; the per-exit base is not in these.
    pub by_kind: Vec<(&'static str, u64, u64, f64)>,
    /// The counts the prediction priced.
    pub counts: exitmm_sim::cost::ExitCounts,
}

/// Predicts the exit of the snapshotted process: its script and an `exit` run on the model,
/// and the exit report's counts priced by `costs`.
#[cfg(target_os = "linux")]
pub fn predict_snapshot(
    snap: &exitmm_host::snapshot::Snapshot,
    costs: &exitmm_sim::cost::Costs,
) -> Result<ExitPrediction, String> {
    use exitmm_sim::cost::{exit_counts, predict, vma_cost};
    let src = format!("{}exit\n", snap.script);
    let script = exitmm_script::parse(&src).map_err(|e| format!("snapshot script: {e}"))?;
    let mut opts = replay_options(snap);
    opts.check = exitmm_sim::Check::Off;
    let out = exitmm_sim::records(&script, &opts).map_err(|e| format!("exit on the model: {e}"))?;
    let (counts, vmas) = exit_counts(&out, 'P');
    let prediction = predict(&counts, costs);
    let anon: u64 = vmas
        .iter()
        .map(|(_, v)| v.anon.saturating_sub(v.huge_pmd * 512))
        .sum();
    let share = if anon == 0 {
        1.0
    } else {
        counts.anon_freed as f64 / anon as f64
    };
    let kinds: std::collections::BTreeMap<u64, &'static str> = snap.vmas.iter().copied().collect();
    let mut by_kind: Vec<(&'static str, u64, u64, f64)> = Vec::new();
    for (start, v) in &vmas {
        let k = kinds.get(start).copied().unwrap_or("other");
        let ptes = v.anon + v.file + v.shmem + v.zero + v.pfn + v.swap + v.hugetlb;
        let ns = vma_cost(v, share, costs);
        match by_kind.iter_mut().find(|e| e.0 == k) {
            Some(e) => {
                e.1 += 1;
                e.2 += ptes;
                e.3 += ns;
            }
            None => by_kind.push((k, 1, ptes, ns)),
        }
    }
    by_kind.sort_by(|a, b| b.3.total_cmp(&a.3));
    Ok(ExitPrediction {
        prediction,
        by_kind,
        counts,
    })
}

/// The middle value (the mean of the middle two of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The mean without the largest and the smallest value (when there are at least three).
pub fn trimmed_mean(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let v = if v.len() >= 3 {
        &v[1..v.len() - 1]
    } else {
        &v[..]
    };
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// One shape of the predicted-vs-measured validation: `(shape, size, unit)`.
pub const VALIDATION_SHAPES: [(&str, u64, &str); 9] = [
    ("anon", 1024, "MiB"),
    ("thp", 1024, "MiB"),
    ("shm", 512, "MiB"),
    ("vmas", 50_000, "VMAs"),
    ("mlock", 256, "MiB"),
    ("fork", 512, "MiB"),
    ("swap", 256, "MiB"),
    ("hugetlb", 512, "MiB"),
    ("file", 1024, "MiB"),
];

/// One validated shape: predicted and measured kill-to-reap times (ns; measured: each run).
#[cfg(target_os = "linux")]
#[derive(Clone, Debug)]
pub struct Validation {
    /// The workload shape.
    pub shape: &'static str,
    /// Its size.
    pub size: u64,
    /// The size's unit.
    pub unit: &'static str,
    /// Predicted ns (the median over the runs' snapshots).
    pub predicted_ns: f64,
    /// Measured ns, each run's, sorted.
    pub measured_ns: Vec<f64>,
}

#[cfg(target_os = "linux")]
impl Validation {
    /// The measured time: the trimmed mean of the runs.
    pub fn measured(&self) -> f64 {
        trimmed_mean(self.measured_ns.clone())
    }
    /// (predicted − measured) / measured.
    pub fn error(&self) -> f64 {
        (self.predicted_ns - self.measured()) / self.measured()
    }
}

/// Builds the workload `shape` `runs` times; each time predicts its exit from a snapshot, then
/// kills it and measures SIGKILL to reap.
#[cfg(target_os = "linux")]
pub fn validate_shape(
    shape: &'static str,
    size: u64,
    unit: &'static str,
    runs: u32,
    costs: &exitmm_sim::cost::Costs,
) -> Result<Validation, String> {
    let mut predicted = Vec::new();
    let mut measured = Vec::new();
    for _ in 0..runs.max(1) {
        let w = exitmm_host::workload::Workload::start(shape, size).map_err(|e| e.to_string())?;
        let snap = exitmm_host::snapshot::snapshot(w.pid).map_err(|e| e.to_string())?;
        let p = predict_snapshot(&snap, costs)?;
        predicted.push(p.prediction.total_ns);
        measured.push(w.kill_and_time().map_err(|e| e.to_string())?.as_nanos() as f64);
    }
    measured.sort_by(f64::total_cmp);
    Ok(Validation {
        shape,
        size,
        unit,
        predicted_ns: median(predicted),
        measured_ns: measured,
    })
}
