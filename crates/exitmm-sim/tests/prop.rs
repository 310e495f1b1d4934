//! Property tests: random scripts, `check_invariants` after every op (the simulator runs it
//! when `Options::check` is on and fails the op on any violation).
//!
//! Scripts stay within a few 2 MiB slots on both sides of a 1 GiB boundary so that ops collide,
//! split, merge and share page tables. Cases: `EXITMM_PROPTEST_CASES` (default 10,000).

use exitmm_sim::{Options, Sim, SimError};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("EXITMM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// An offset near a 2 MiB or 1 GiB boundary, on the 4 KiB grid.
fn off() -> impl Strategy<Value = u64> {
    let base = prop_oneof![
        Just(0u64),
        Just(2 << 20),
        Just(4 << 20),
        Just((1 << 30) - (2 << 20)),
        Just(1 << 30)
    ];
    (base, -16i64..48).prop_map(|(b, d)| (b as i64 + d * 4096).max(0) as u64)
}

fn len() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 1u64..16, 1 => 16u64..700].prop_map(|p| p * 4096)
}

fn prot() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("rw"), Just("r"), Just("none"), Just("rwx"), Just("w")]
}

fn op(child: bool) -> impl Strategy<Value = String> {
    let advice = prop_oneof![
        Just("dontneed"),
        Just("dontneed_locked"),
        Just("free"),
        Just("remove"),
        Just("dontfork"),
        Just("dofork"),
        Just("wipeonfork"),
        Just("keeponfork"),
        Just("populate_read"),
        Just("populate_write"),
        Just("hugepage"),
        Just("random"),
        Just("normal"),
        Just("dontdump"),
        Just("willneed"),
    ];
    let flags = prop_oneof![
        4 => Just("private,anon"),
        2 => Just("shared,anon"),
        1 => Just("private,anon,noreserve"),
        1 => Just("shared,anon,noreserve"),
        1 => Just("private,anon,populate"),
        1 => Just("private,anon,locked"),
        1 => Just("private,anon,fixed"),
        1 => Just("private,anon,growsdown"),
    ];
    let file_map = (
        off(),
        len(),
        prot(),
        prop_oneof![Just("shared"), Just("private")],
        0u64..8,
    )
        .prop_map(|(o, l, p, s, fo)| format!("mmap {o} {l} {p} {s} f {}", fo * 4096));
    let ops = prop_oneof![
        6 => (off(), len(), prot(), flags).prop_map(|(o, l, p, f)| format!("mmap {o} {l} {p} {f}")),
        2 => file_map,
        8 => (off(), len(), any::<bool>(), prop_oneof![Just(4096u64), Just(12288), Just(65536)])
            .prop_map(|(o, l, w, s)| format!("touch {o} {l} {} {s}", if w { "w" } else { "r" })),
        3 => (off(), len()).prop_map(|(o, l)| format!("munmap {o} {l}")),
        3 => (off(), len(), prot()).prop_map(|(o, l, p)| format!("mprotect {o} {l} {p}")),
        2 => (off(), len(), any::<bool>()).prop_map(|(o, l, f)| format!("mlock {o} {l}{}", if f { " onfault" } else { "" })),
        1 => (off(), len()).prop_map(|(o, l)| format!("munlock {o} {l}")),
        3 => (off(), len(), advice).prop_map(|(o, l, a)| format!("madvise {o} {l} {a}")),
        2 => (off(), len(), len(), off(), any::<bool>()).prop_map(|(o, l, n, f, d)| {
            if d { format!("mremap {o} {l} {l} maymove fixed={f} dontunmap") } else { format!("mremap {o} {l} {n} maymove fixed={f}") }
        }),
        1 => (off(), len(), len()).prop_map(|(o, l, n)| format!("mremap {o} {l} {n}")),
        1 => prop_oneof![Just("mlockall current"), Just("mlockall current future"), Just("mlockall future onfault"), Just("munlockall")].prop_map(String::from),
    ];
    if child {
        prop_oneof![3 => ops.clone(), 1 => ops.prop_map(|o| format!("child {o}"))].boxed()
    } else {
        ops.boxed()
    }
}

/// A script: a memfd first, then ops, forks and child exits, and finally everyone exits.
fn script() -> impl Strategy<Value = String> {
    (1usize..200, any::<u64>()).prop_flat_map(|(n, _)| {
        prop::collection::vec((op(false), op(true), 0u8..20), n).prop_map(|v| {
            let mut s = String::from("memfd f 64K fill\n");
            let mut child = false;
            for (parent_op, child_op, dice) in v {
                match dice {
                    0 if !child => {
                        s.push_str("fork\n");
                        child = true;
                    }
                    1 if child => {
                        s.push_str("child_exit\n");
                        child = false;
                    }
                    _ => {
                        s.push_str(if child { &child_op } else { &parent_op });
                        s.push('\n');
                    }
                }
            }
            s.push_str("exit\n");
            if child {
                s.push_str("child_exit\n");
            }
            s.push_str("census\n");
            s
        })
    })
}

/// The `key=value` facts of a record line.
fn facts(line: &str) -> std::collections::BTreeMap<&str, i64> {
    line.split(' ')
        .filter_map(|w| w.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect()
}

/// An exit's `unmap_single_vma` lines must add up to its `unmap_vmas` line, one per VMA. The
/// totals come from the RSS counters and the gather, the per-VMA figures from the walk, so a
/// page counted in the wrong VMA or of the wrong kind shows here.
fn per_vma_lines_add_up(records: &[String]) -> Result<(), String> {
    let Some(total) = records.iter().find(|l| l.contains(" unmap_vmas ")) else {
        return Ok(());
    };
    let want = facts(total);
    let vmas: Vec<_> = records
        .iter()
        .filter(|l| l.contains(" unmap_single_vma "))
        .collect();
    if vmas.len() as i64 != want["vmas"] {
        return Err(format!("{} VMA lines for `{total}`", vmas.len()));
    }
    for key in ["ptes", "anon", "file", "shmem", "swap", "zero", "hugetlb"] {
        let sum: i64 = vmas.iter().map(|l| facts(l)[key]).sum();
        if sum != want[key] {
            return Err(format!("{key}: the VMA lines sum to {sum}; `{total}`"));
        }
    }
    Ok(())
}

fn run(src: &str) -> Result<(), TestCaseError> {
    let script = exitmm_script::parse(src)
        .map_err(|e| TestCaseError::fail(format!("generated a bad script: {e}")))?;
    let opts = Options {
        config: exitmm_kernel::Config {
            ram_bytes: 256 << 20,
            ..Default::default()
        },
        check: exitmm_sim::Check::EveryOp,
        ..Options::default()
    };
    let mut sim = Sim::new(&opts);
    let start_committed = sim.kernel.committed;
    for l in &script.lines {
        match sim.step(l) {
            Ok(r) => per_vma_lines_add_up(&r.records).map_err(|e| {
                TestCaseError::fail(format!("line {}: {e}\nscript:\n{src}", l.line))
            })?,
            // An op the model does not implement: say so, and stop this case (not a pass).
            Err(SimError::Unsupported { .. }) => {
                return Err(TestCaseError::reject("unsupported op"))
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}\nscript:\n{src}"))),
        }
    }
    // Invariants at exit: no anonymous page and no page table is left, commit is back.
    let census = sim.census(exitmm_script::Role::P);
    prop_assert!(census.contains("frames_anon=0 "), "{census}\n{src}");
    prop_assert!(census.contains("frames_pgtable=0 "), "{census}\n{src}");
    prop_assert!(census.contains("frames_pagecache=0 "), "{census}\n{src}");
    // Everything comes back but what the kernel itself leaks (mremap's shrink-and-move).
    prop_assert_eq!(
        sim.kernel.committed - sim.kernel.committed_leaked,
        start_committed,
        "Committed_AS not back after every exit\n{}",
        src
    );
    prop_assert!(
        sim.kernel.mms.iter().all(|m| m.is_none()),
        "an mm outlived its last user"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn random_scripts_keep_every_invariant_and_exit_clean(src in script()) {
        run(&src)?;
    }
}

/// Any number a script can hold: near zero, near 2^47, near 2^64, or anything.
fn wild() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..(1 << 24),
        ((1u64 << 47) - (1 << 24))..((1u64 << 47) + (1 << 24)),
        (u64::MAX - (1 << 24))..=u64::MAX,
        any::<u64>(),
    ]
}

fn wild_op() -> impl Strategy<Value = String> {
    (0u8..12, wild(), wild(), wild(), any::<bool>()).prop_map(|(k, a, b, c, f)| match k {
        0 => format!(
            "mmap {a} {b} rw {}",
            if f {
                "private,anon,fixed"
            } else {
                "shared,anon"
            }
        ),
        1 => format!(
            "touch {a} {} {} {}",
            b % (1 << 24),
            if f { "w" } else { "r" },
            c.max(1)
        ),
        2 => format!("munmap {a} {b}"),
        3 => format!("mprotect {a} {b} rw"),
        4 => format!("mlock {a} {b}"),
        5 => format!("munlock {a} {b}"),
        6 => format!(
            "madvise {a} {b} {}",
            if f { "dontneed" } else { "populate_write" }
        ),
        7 => format!(
            "mremap {a} {b} {c}{}",
            if f { " maymove fixed=0" } else { "" }
        ),
        8 => format!("mremap {a} {b} {b} maymove fixed={c} dontunmap"),
        9 => format!("pagemap {a} {}", b % (1 << 24)),
        10 => format!("mmap {a} {b} r shared f {c}"),
        _ => format!("madvise {a} {b} remove"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Nothing panics on user input: arbitrary numbers give errors, never a crash.
    #[test]
    fn arbitrary_numbers_never_panic(ops in prop::collection::vec(wild_op(), 1..20)) {
        let src = format!("memfd f 64K fill\n{}\n", ops.join("\n"));
        let script = exitmm_script::parse(&src).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let opts = Options { config: exitmm_kernel::Config { ram_bytes: 256 << 20, ..Default::default() }, check: exitmm_sim::Check::EveryOp, ..Options::default() };
        let mut sim = Sim::new(&opts);
        for l in &script.lines {
            match sim.step(l) {
                Ok(_) | Err(SimError::Unsupported { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("{e}\n{src}"))),
            }
        }
    }
}

/// Ops for a multi-CPU script: threads that read and write in the background, CPU moves,
/// accesses through the TLB, and the address-space ops that race with them.
fn cpu_op(threads: usize) -> impl Strategy<Value = String> {
    let t = 0..threads.max(1);
    prop_oneof![
        4 => op(false),
        2 => (t.clone(), off(), len(), any::<bool>())
            .prop_map(|(t, o, l, w)| format!("background t{t} {o} {l} {}", if w { "w" } else { "r" })),
        2 => (off(), len(), any::<bool>()).prop_map(|(o, l, w)| format!("access {o} {l} {}", if w { "w" } else { "r" })),
        1 => (0u32..4).prop_map(|c| format!("cpu {c}")),
        1 => Just("nop".to_string()),
    ]
}

fn cpu_script() -> impl Strategy<Value = String> {
    (1usize..4, 1usize..60).prop_flat_map(|(threads, n)| {
        (Just(threads), prop::collection::vec(cpu_op(threads), n)).prop_map(|(threads, ops)| {
            let mut s = String::from("memfd f 64K fill\n");
            for t in 0..threads {
                s.push_str(&format!("thread t{t} {}\n", (t + 1) % 4));
            }
            for o in ops {
                s.push_str(&o);
                s.push('\n');
            }
            s.push_str("thread_exit t0\nexit\n");
            s
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("EXITMM_CPU_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000), ..ProptestConfig::default() })]

    /// Without injected faults, threads on other CPUs never see a freed page or table, and no
    /// CPU keeps a translation a flush should have removed.
    #[test]
    fn multi_cpu_scripts_never_use_after_free((src, seed) in (cpu_script(), any::<u64>())) {
        let script = exitmm_script::parse(&src).map_err(|e| TestCaseError::fail(format!("{e}\n{src}")))?;
        let opts = Options { cpus: Some(4), seed, config: exitmm_kernel::Config { ram_bytes: 256 << 20, ..Default::default() }, ..Options::default() };
        let mut sim = Sim::new(&opts);
        for l in &script.lines {
            match sim.step(l) {
                Ok(_) | Err(SimError::Unsupported { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("{e}\nseed {seed}\n{src}"))),
            }
        }
    }
}
