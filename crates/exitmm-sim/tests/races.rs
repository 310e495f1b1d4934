//! Exit racing the OOM reaper, process_mrelease, another thread and secondary MMUs: every race
//! scenario explored clean under both protocols, each historical bug (an injection) found by
//! the explorer and its shortest schedule replayed, and process_mrelease's error codes.

use exitmm_sim::explore::{explore, run_once, Strategy};
use exitmm_sim::sched::{decode, Mode};
use exitmm_sim::{records, Options};
use std::path::PathBuf;

fn scenario(name: &str) -> exitmm_script::Script {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/scenarios")
        .join(format!("{name}.mm"));
    exitmm_script::parse(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn opts(linux: &str, inject: Option<&str>) -> Options {
    let mut o = Options::default();
    o.linux(linux).unwrap();
    if let Some(i) = inject {
        o.inject(i).unwrap();
    }
    o
}

const RACES: [&str; 6] = [
    "race_exit_reaper",
    "race_exit_mrelease",
    "race_exit_reaper_fault",
    "race_secondary",
    "race_secondary_invalidate",
    "race_munlock_thp",
];

/// The CI gate: every schedule within two preemptions of every race scenario, both protocols.
#[test]
fn every_race_scenario_explores_clean_under_both_protocols() {
    let mut total = 0;
    for linux in ["5.10", "6.18"] {
        for name in RACES {
            let rep = explore(
                &scenario(name),
                &opts(linux, None),
                Strategy::Dfs { preemptions: 2 },
                20_000,
                0,
                |_| {},
            );
            assert!(
                rep.failure.is_none(),
                "{name} on {linux}: {:?}",
                rep.failure
            );
            assert!(rep.complete, "{name} on {linux}: bound not exhausted");
            assert_eq!(rep.distinct, rep.schedules, "{name}: a schedule ran twice");
            assert!(rep.schedules > 1, "{name}: nothing to interleave");
            total += rep.schedules;
        }
    }
    eprintln!("{total} schedules explored, no violation");
}

/// Random schedules reach beyond the preemption bound: none fails either.
#[test]
fn random_schedules_find_nothing_without_an_injection() {
    for linux in ["5.10", "6.18"] {
        for name in [
            "race_exit_reaper",
            "race_exit_reaper_fault",
            "race_munlock_thp",
        ] {
            let rep = explore(
                &scenario(name),
                &opts(linux, None),
                Strategy::Random { seed: 7 },
                300,
                0,
                |_| {},
            );
            assert!(
                rep.failure.is_none(),
                "{name} on {linux}: {:?}",
                rep.failure
            );
        }
    }
}

/// Each injection, the protocol it breaks, a scenario that exposes it, and what the detectors
/// must say.
const FOUND: [(&str, &str, &str, &str); 9] = [
    (
        "munlock-before-reap",
        "5.10",
        "race_munlock_thp",
        "CVE-2018-1000200",
    ),
    (
        "no-oom-barrier",
        "5.10",
        "race_exit_reaper",
        "after free_pgtables",
    ),
    (
        "no-skip-recheck",
        "5.10",
        "race_exit_reaper",
        "after free_pgtables",
    ),
    (
        "mrelease-mmget",
        "5.10",
        "race_exit_mrelease",
        "exit_mmap ran in process_mrelease",
    ),
    (
        "mrelease-mmget",
        "6.18",
        "race_exit_mrelease",
        "exit_mmap ran in process_mrelease",
    ),
    (
        "blocking-notifier-in-reaper",
        "5.10",
        "race_secondary",
        "non-blocking section",
    ),
    (
        "blocking-notifier-in-reaper",
        "6.18",
        "race_secondary",
        "non-blocking section",
    ),
    (
        "skip-secondary-invalidate",
        "5.10",
        "race_secondary_invalidate",
        "use-after-free through a secondary MMU",
    ),
    (
        "skip-secondary-invalidate",
        "6.18",
        "race_secondary_invalidate",
        "use-after-free through a secondary MMU",
    ),
];

#[test]
fn each_injection_is_found_and_its_shortest_schedule_replays() {
    for (inject, linux, name, says) in FOUND {
        let s = scenario(name);
        let o = opts(linux, Some(inject));
        let rep = explore(
            &s,
            &o,
            Strategy::Dfs { preemptions: 2 },
            10_000,
            500,
            |_| {},
        );
        let f = rep.failure.unwrap_or_else(|| {
            panic!(
                "{inject} ({linux}, {name}) not found in {} schedules",
                rep.schedules
            )
        });
        assert!(rep.first_failure_at.unwrap() <= 10_000);
        assert!(f.what.contains(says), "{inject}: {}", f.what);
        eprintln!(
            "{inject} on {linux} ({name}): found after {} schedules; shortest {} steps: {}",
            rep.first_failure_at.unwrap(),
            f.steps,
            f.schedule
        );
        // The shortest schedule, replayed, fails the same way; without the injection the
        // same choices run clean.
        let (again, _) = run_once(&s, &o, Mode::Replay(decode(&f.schedule).unwrap()));
        assert_eq!(again.as_deref(), Some(f.what.as_str()), "{inject}: replay");
        let (clean, ctl) = run_once(
            &s,
            &opts(linux, None),
            Mode::Replay(decode(&f.schedule).unwrap()),
        );
        if !ctl.diverged {
            assert_eq!(clean, None, "{inject}: fails without the injection too");
        }
    }
}

/// 6.18's exit holds mmap_lock for write from MMF_OOM_SKIP until the tree is destroyed, so a
/// reaper that skips the re-check only reaps what exit_mmap is about to free anyway (or an
/// empty tree): the explorer finds no failure, where 5.10 (tables freed with no lock) fails.
#[test]
fn the_skip_recheck_protects_5_10_only() {
    for name in [
        "race_exit_reaper",
        "race_munlock_thp",
        "race_exit_reaper_fault",
    ] {
        let rep = explore(
            &scenario(name),
            &opts("6.18", Some("no-skip-recheck")),
            Strategy::Dfs { preemptions: 2 },
            20_000,
            0,
            |_| {},
        );
        assert!(
            rep.complete && rep.failure.is_none(),
            "{name}: {:?}",
            rep.failure
        );
    }
}

/// The `A` (or `R`) line of the actor of `op` in the records of `src` run under `mode`.
fn result_of(src: &str, linux: &str, mode: Mode, actor: &str) -> String {
    let s = exitmm_script::parse(src).unwrap();
    let mut o = opts(linux, None);
    o.sched = mode;
    let out = records(&s, &o).unwrap_or_else(|e| panic!("{e}"));
    out.lines()
        .find(|l| l.contains(actor) && l.contains(" rc="))
        .unwrap_or_else(|| panic!("no result of {actor} in\n{out}"))
        .to_string()
}

#[test]
fn process_mrelease_einval_for_flags_and_for_a_live_process_and_ebadf_without_a_pidfd() {
    let src = "mmap 0 64K rw private,anon\ntouch 0 64K w\nmrelease P 1\nmrelease P\nmrelease C\n";
    let out = records(&exitmm_script::parse(src).unwrap(), &Options::default()).unwrap();
    let rcs: Vec<&str> = out.lines().filter(|l| l.starts_with("R P rc=")).collect();
    assert_eq!(rcs[2], "R P rc=-22 err=EINVAL", "flags != 0");
    assert_eq!(rcs[3], "R P rc=-22 err=EINVAL", "not dying");
    assert_eq!(rcs[4], "R P rc=-9 err=EBADF", "no child, no pidfd");
}

const KILLED_CHILD: &str = "mmap 0 1M rw private,anon\ntouch 0 1M w\nfork\nchild touch 0 64K w\n";

#[test]
fn process_mrelease_esrch_once_the_process_is_gone() {
    let src = format!("{KILLED_CHILD}kill C\nmrelease C\nwait\n");
    // The child's exit (actor 0) runs to its end first.
    let l = result_of(&src, "5.10", Mode::Priority(vec![0, 1]), "mrelease");
    assert!(l.ends_with("rc=-3 err=ESRCH"), "{l}");
}

#[test]
fn process_mrelease_reaps_a_dying_process_and_returns_0() {
    for linux in ["5.10", "6.18"] {
        let src = format!("{KILLED_CHILD}kill C\nmrelease C\nwait\n");
        // The caller (actor 1) runs before the victim's exit gets anywhere.
        let s = exitmm_script::parse(&src).unwrap();
        let mut o = opts(linux, None);
        o.sched = Mode::Priority(vec![1, 0]);
        let out = records(&s, &o).unwrap();
        let l = out
            .lines()
            .find(|l| l.starts_with("A P mrelease") && l.contains(" rc="))
            .unwrap();
        assert!(l.ends_with("rc=0 err=0"), "{linux}: {l}");
        // It reaped the child's private pages: the exit's unmap found none of the child's
        // anonymous pages mapped any more.
        let x = out
            .lines()
            .find(|l| l.starts_with("X C unmap_vmas"))
            .unwrap();
        assert!(x.contains(" anon=0 "), "{linux}: {x}");
    }
}

#[test]
fn process_mrelease_returns_0_when_the_reaper_has_done_the_work() {
    // The reaper (actor 1) finishes and sets MMF_OOM_SKIP while the victim (actor 0) has not
    // reached exit_mm: its task still has the mm, but there is nothing left to do.
    let src = format!("{KILLED_CHILD}oom_kill C\nmrelease C\nwait\n");
    let l = result_of(&src, "5.10", Mode::Priority(vec![1, 2, 0]), "mrelease");
    assert!(l.ends_with("rc=0 err=0"), "{l}");
}

#[test]
fn process_mrelease_eagain_when_a_notifier_would_block() {
    let src =
        format!("{KILLED_CHILD}child secondary gpu 0 1M nonblock\nkill C\nmrelease C\nwait\n");
    let l = result_of(&src, "6.18", Mode::Priority(vec![1, 0]), "mrelease");
    assert!(l.ends_with("rc=-11 err=EAGAIN"), "{l}");
}

#[test]
fn process_mrelease_eintr_when_the_caller_is_killed_waiting_for_mmap_lock() {
    // Another thread of the child unmaps (holding mmap_lock for write); the caller, killed
    // itself, must not sleep for the lock.
    let src = format!("{KILLED_CHILD}kill C\nchild munmap 0 64K\nkill P\nmrelease C\nwait\n");
    // Actors: 0 exit:C, 1 thread:C:munmap, 2 exit:P, 3 mrelease. The thread takes the lock
    // and stops in its unmap (two steps), then the caller runs.
    let l = result_of(&src, "5.10", Mode::Replay(vec![1, 1, 3, 3, 3]), "mrelease");
    assert!(l.ends_with("rc=-4 err=EINTR"), "{l}");
}

#[test]
fn a_schedule_that_does_not_fit_the_script_is_refused() {
    let s = scenario("race_exit_reaper");
    let (f, _) = run_once(&s, &opts("5.10", None), Mode::Replay(vec![7, 7, 7]));
    assert!(f.unwrap().contains("does not fit"));
}

#[test]
fn the_reaper_gives_up_after_ten_attempts_when_a_notifier_would_block() {
    // The reaper (actor 1) runs whenever it can, before the victim's exit releases the
    // notifiers: the VMA the gpu mirrors makes every attempt partial (-EAGAIN), 100 ms apart.
    for linux in ["5.10", "6.18"] {
        let s = scenario("race_secondary");
        let mut o = opts(linux, None);
        o.sched = Mode::Priority(vec![1, 0, 2]);
        let out = records(&s, &o).unwrap_or_else(|e| panic!("{linux}: {e}"));
        let a = out
            .lines()
            .find(|l| l.starts_with("A P oom_reaper:P rc="))
            .unwrap();
        assert!(a.contains("attempts=10 gave_up=1"), "{linux}: {a}");
        assert!(
            out.lines()
                .any(|l| l == "L oom_reaper: unable to reap pid:1000 (P)"),
            "{linux}: {out}"
        );
        // Nine sleeps of 100 ms, and 6.18's 2 s timer first.
        let t = if linux == "5.10" { 900 } else { 2900 };
        assert!(out.contains(&format!("time_ms={t}")), "{linux}: {out}");
        assert!(out.contains("X P check_mm ok=1"), "{linux}");
    }
}
