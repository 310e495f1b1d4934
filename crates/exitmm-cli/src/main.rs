//! `exitmm`: parse arguments, run, print. No logic a library user would need lives here.

use clap::{Parser, Subcommand};
use exitmm_sim::transcript::{transcript, TranscriptOptions};
use exitmm_sim::{records, Check, Options, Sim, SimError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "exitmm",
    version,
    about = "Linux process-exit memory teardown, modelled and checked against the real kernel"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the embedded demo scenario on the model and print its transcript and teardown reports.
    Demo {
        /// Which demo: the exit teardown (default) or `oom`, an OOM kill racing the exit,
        /// the reaper, process_mrelease and a secondary MMU.
        #[arg(value_parser = ["oom"])]
        which: Option<String>,
        /// Print records format v1 instead of the transcript.
        #[arg(long)]
        records: bool,
        #[command(flatten)]
        trace: TraceArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Run a script on the model (a readable transcript by default), or on this machine's kernel.
    Run {
        /// The script (.mm).
        file: PathBuf,
        /// Print records format v1 instead of the readable transcript.
        #[arg(long)]
        records: bool,
        /// Run on the real kernel of this machine (prints records format v1).
        #[arg(long)]
        kernel: bool,
        /// When the model recomputes its invariants from its structures: `every` op, `amortized`
        /// (the default: after an op once the ops since the last check reach 1/16 of what a
        /// check walks, after every exit and at the end, so a script of 10^5 VMAs stays fast), or
        /// `off`.
        #[arg(long, default_value = "amortized", value_parser = ["every", "amortized", "off"])]
        check: String,
        /// The same as `--check off`.
        #[arg(long)]
        no_check: bool,
        /// Footprint cap for --kernel, in bytes.
        #[arg(long, default_value_t = exitmm_host::DEFAULT_FOOTPRINT_CAP)]
        cap: u64,
        /// Simulated RAM of the model (a number as scripts write them: 16G, 256M, ...).
        #[arg(long, default_value = "16G")]
        ram: String,
        #[command(flatten)]
        trace: TraceArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Run a script on the model and on this machine's kernel and compare (exit 0 equal, 1
    /// different, 2 when it cannot be run); or compare N generated scripts with --random.
    Diff {
        /// The script (.mm); omit with --random.
        file: Option<PathBuf>,
        /// Generate and compare this many random scripts instead.
        #[arg(long)]
        random: Option<u64>,
        /// Seed of the generator (with --random).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where shrunk scripts of differences go (with --random).
        #[arg(long, default_value = "exitmm-diff-out")]
        out: PathBuf,
        /// Print the probe's findings.
        #[arg(long)]
        verbose: bool,
        /// Footprint cap of the kernel runs: what a script may make resident or charge, in
        /// bytes or as scripts write numbers (2G).
        #[arg(long, default_value_t = exitmm_host::DEFAULT_FOOTPRINT_CAP, value_parser = cap_arg)]
        cap: u64,
    },
    /// Run a script with concurrent actors (kill, oom_kill, mrelease, ... then wait) under
    /// every schedule the bound allows and check each; prints how many were explored and,
    /// for a failure, the shortest failing schedule and the command that replays it.
    Explore {
        /// The script (.mm).
        file: PathBuf,
        /// At most this many schedules.
        #[arg(long, default_value_t = 10_000)]
        schedules: u64,
        /// Depth-first search: at most this many preemptions per schedule.
        #[arg(long, default_value_t = 2)]
        preemptions: u32,
        /// Random schedules instead of the depth-first search (seeds from --seed).
        #[arg(long)]
        random: bool,
        /// PCT schedules of this depth instead of the depth-first search.
        #[arg(long)]
        pct: Option<u32>,
        /// After the first failure, run up to this many more schedules for a shorter one.
        #[arg(long, default_value_t = 2_000)]
        shrink: u64,
        /// Simulated RAM of the model.
        #[arg(long, default_value = "16G")]
        ram: String,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Sweep the cost of exiting by what the process holds (anonymous, THP, swapped, shared,
    /// mlocked and memfd pages; one-page VMAs): the model beside this machine's kernel in the
    /// same run, as ns per page (or VMA) and their ratio.
    Bench {
        /// A 30-second version (fewer, smaller points).
        #[arg(long)]
        quick: bool,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Simulated CPUs with TLBs for the model (0: none, the fastest).
        #[arg(long, default_value_t = 0)]
        cpus: usize,
        /// Time only the model.
        #[arg(long)]
        no_kernel: bool,
    },
    /// Read a live process's address space from /proc (maps, smaps, pagemap, kpageflags,
    /// kpagecount; root) and write a script that rebuilds it in the model.
    Snapshot {
        /// The process.
        pid: i32,
        /// Write the script here instead of standard output.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Also replay the script on the model and compare RSS by type, VmPTE, VmSwap,
        /// HugetlbPages and the VMA count with the live process (exit 1 if they differ).
        #[arg(long)]
        verify: bool,
    },
    /// Fit the cost model to this machine's kernel: kills real processes of designed shapes
    /// (anonymous, kept by a forked child, shmem, swapped, THP, one-page VMAs, mlocked; two
    /// sizes each, and an empty one for the base), timing SIGKILL to reap, and writes the
    /// per-step costs that `predict`, `validate` and `--trace` read.
    Calibrate {
        /// Where to write them (default: $EXITMM_COSTS, else ~/.config/exitmm/costs.json).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Workloads a quarter the size.
        #[arg(long)]
        quick: bool,
        /// Runs per point (the median is used).
        #[arg(long, default_value_t = 5)]
        repeats: u32,
    },
    /// Predict how long killing a live process takes, from SIGKILL to its memory freed: its
    /// snapshot's exit on the model, priced by the cost model; by step and by VMA kind.
    Predict {
        /// The process.
        pid: i32,
        /// The costs file (default: $EXITMM_COSTS, else ~/.config/exitmm/costs.json if it
        /// exists, else the shipped costs).
        #[arg(long)]
        costs: Option<PathBuf>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Predicted against measured: builds real processes of several shapes (tools/workload.c),
    /// predicts each one's exit from its snapshot, kills it and measures SIGKILL to reap.
    Validate {
        /// Runs per shape (measured: the mean without the largest and smallest run).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// The costs file (as for predict).
        #[arg(long)]
        costs: Option<PathBuf>,
        /// Only these shapes (anon, thp, shm, vmas, mlock, fork, swap, hugetlb, file).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Record the kernel's golden records for scripts: writes NAME.kernel beside each NAME.mm.
    Record {
        /// Scripts to record; model-only scripts are skipped.
        files: Vec<PathBuf>,
        /// Footprint cap of the kernel runs: what a script may make resident or charge, in
        /// bytes or as scripts write numbers (2G).
        #[arg(long, default_value_t = exitmm_host::DEFAULT_FOOTPRINT_CAP, value_parser = cap_arg)]
        cap: u64,
    },
}

/// `--cap`: a number as scripts write them (`1073741824`, `2G`, `1G+512M`).
fn cap_arg(s: &str) -> Result<u64, String> {
    exitmm_script::parse_number(s)
}

type Failure = (String, u8);

/// Writing a Perfetto trace of a model run.
#[derive(clap::Args, Clone, Debug)]
struct TraceArgs {
    /// Also write a Perfetto trace of the run here (open it in ui.perfetto.dev): a track per
    /// role's ops, per exit and concurrent actor, per simulated CPU (flushes, IPIs as flows),
    /// and counters; step lengths from the cost model.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// The costs the trace's time comes from (default: $EXITMM_COSTS, else
    /// ~/.config/exitmm/costs.json if it exists, else the shipped costs).
    #[arg(long)]
    costs: Option<PathBuf>,
}

/// How the model runs: CPUs, seed, injected faults.
#[derive(clap::Args, Clone, Debug)]
struct ModelArgs {
    /// Simulated CPUs with TLBs (0: no TLB modelling).
    #[arg(long, default_value_t = 4)]
    cpus: usize,
    /// Seed of the TLB model (fills, evictions, speculative walks) and, when given, of a
    /// random schedule of the concurrent actors (without it they run first come, first
    /// served).
    #[arg(long)]
    seed: Option<u64>,
    /// Replay this schedule of the concurrent actors (as `wait` prints it and `explore`
    /// reports it).
    #[arg(long)]
    schedule: Option<String>,
    /// Which kernel's exit/OOM protocol to follow: 5.10 (the seed's: self-reap, MMF_OOM_SKIP
    /// and the write-lock barrier, munlock pass) or 6.18 (unmap under mmap_read_lock).
    #[arg(long, default_value = "5.10", value_parser = ["5.10", "6.18"])]
    linux: String,
    /// Inject a fault the detector must catch: free-before-flush, skip-ipi, skip-lazy-flush,
    /// free-table-before-flush, drop-dirty-force-flush, skip-unshare-flush,
    /// untrack-after-zap, and the exit/OOM races munlock-before-reap, no-oom-barrier,
    /// no-skip-recheck, mrelease-mmget, blocking-notifier-in-reaper,
    /// skip-secondary-invalidate.
    #[arg(long)]
    inject: Option<String>,
    /// Which kernel's PFN-map PAT tracking to follow: 5.10 (VM_PAT, untrack_pfn in
    /// unmap_single_vma; the seed's) or 6.18 (a refcounted pfnmap_track_ctx).
    #[arg(long, default_value = "5.10", value_parser = ["5.10", "6.18"])]
    pat: String,
    /// `vm.max_map_count` of the model (the host's default: 65530).
    #[arg(long, default_value_t = 65530)]
    max_map_count: u32,
    /// List every VMA in teardown reports (the transcript folds long runs of VMAs).
    #[arg(long)]
    all_vmas: bool,
}

impl ModelArgs {
    fn view(&self) -> TranscriptOptions {
        TranscriptOptions {
            all_vmas: self.all_vmas,
        }
    }

    fn options(&self, check: Check, ram: u64) -> Result<Options, Failure> {
        let mut o = Options {
            check,
            cpus: (self.cpus > 0).then_some(self.cpus),
            seed: self.seed.unwrap_or(1),
            ..Options::default()
        };
        o.config.ram_bytes = ram;
        o.config.max_map_count = self.max_map_count;
        o.pat(&self.pat).map_err(|e| (format!("--pat: {e}"), 2))?;
        o.linux(&self.linux)
            .map_err(|e| (format!("--linux: {e}"), 2))?;
        o.sched = match (&self.schedule, self.seed) {
            (Some(s), _) => exitmm_sim::sched::Mode::Replay(
                exitmm_sim::sched::decode(s).map_err(|e| (format!("--schedule: {e}"), 2))?,
            ),
            (None, Some(seed)) => exitmm_sim::sched::Mode::Random(seed),
            (None, None) => exitmm_sim::sched::Mode::Fifo,
        };
        if let Some(name) = &self.inject {
            o.inject(name).map_err(|e| (format!("--inject: {e}"), 2))?;
        }
        Ok(o)
    }
}

fn load(file: &Path) -> Result<exitmm_script::Script, Failure> {
    let src = std::fs::read_to_string(file).map_err(|e| (format!("{}: {e}", file.display()), 2))?;
    exitmm_script::parse(&src).map_err(|e| (format!("{}:{}: {}", file.display(), e.line, e.msg), 2))
}

fn sim_failure(name: &str, e: SimError) -> Failure {
    match &e {
        SimError::Unsupported { line, what } => {
            (format!("{name}:{line}: not modelled yet: {what}"), 2)
        }
        SimError::Invariant { line, violations } => (
            format!(
                "{name}:{line}: model invariant broken: {}",
                violations.join("; ")
            ),
            1,
        ),
        SimError::Invalid { line, what } => (format!("{name}:{line}: {what}"), 2),
        SimError::UseAfterFree { line, reports } => (
            format!(
                "{name}:{line}: the TLB model caught {}",
                reports.join("\n    and ")
            ),
            1,
        ),
        SimError::Race { line, reports } => (
            format!("{name}:{line}: race: {}", reports.join("\n    and ")),
            1,
        ),
    }
}

fn run_model(
    name: &str,
    script: &exitmm_script::Script,
    as_records: bool,
    opts: &Options,
    view: TranscriptOptions,
    trace: &TraceArgs,
) -> Result<(), Failure> {
    if let Some(path) = &trace.trace {
        let costs = load_costs(trace.costs.clone())?;
        let run = exitmm_sim::tracing::trace_run(script, opts).map_err(|e| sim_failure(name, e))?;
        std::fs::write(path, exitmm_trace::encode(&run, &costs))
            .map_err(|e| (format!("{}: {e}", path.display()), 2))?;
        if as_records {
            for (l, r) in script.lines.iter().zip(&run.results) {
                println!("# {} {}", l.line, l.text);
                for rec in &r.records {
                    println!("{rec}");
                }
            }
        } else {
            print!("{}", transcript(&run.results, &script.comments, view));
        }
        eprintln!(
            "trace written to {} (costs: {})",
            path.display(),
            costs.source
        );
        return Ok(());
    }
    if as_records {
        let out = records(script, opts).map_err(|e| sim_failure(name, e))?;
        print!("{out}");
    } else {
        let mut sim = Sim::new(opts);
        let results = sim.run(script).map_err(|e| sim_failure(name, e))?;
        print!("{}", transcript(&results, &script.comments, view));
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.cmd {
        Cmd::Demo {
            which,
            records,
            trace,
            model,
        } => {
            let (src, file) = match which.as_deref() {
                Some("oom") => (exitmm_sim::DEMO_OOM, "demo_oom.mm"),
                _ => (exitmm_sim::DEMO, "demo.mm"),
            };
            let script = exitmm_script::parse(src)
                .map_err(|e| (format!("demo:{}: {}", e.line, e.msg), 2))?;
            if !records {
                println!(
                    "exitmm demo: the embedded scenario (tests/scenarios/{file}), run on the model\n"
                );
            }
            run_model(
                "demo",
                &script,
                records,
                &model.options(Check::EveryOp, 16 << 30)?,
                model.view(),
                &trace,
            )
        }
        Cmd::Run {
            file,
            records,
            kernel,
            check,
            no_check,
            cap,
            ram,
            trace,
            model,
        } => {
            let script = load(&file)?;
            let name = file.display().to_string();
            if kernel {
                let out =
                    exitmm_host::run(&script, cap).map_err(|e| (format!("{name}: {e}"), 2))?;
                print!("{out}");
                return Ok(());
            }
            let ram = exitmm_script::parse_number(&ram).map_err(|e| (format!("--ram: {e}"), 2))?;
            run_model(
                &name,
                &script,
                records,
                &model.options(
                    if no_check {
                        Check::Off
                    } else {
                        Check::parse(&check).map_err(|e| (format!("--check: {e}"), 2))?
                    },
                    ram,
                )?,
                model.view(),
                &trace,
            )
        }
        Cmd::Diff {
            file,
            random,
            seed,
            out,
            verbose,
            cap,
        } => diff(file, random, seed, &out, verbose, cap),
        Cmd::Bench {
            quick,
            json,
            cpus,
            no_kernel,
        } => bench(quick, json, cpus, no_kernel),
        Cmd::Explore {
            file,
            schedules,
            preemptions,
            random,
            pct,
            shrink,
            ram,
            model,
        } => {
            let script = load(&file)?;
            let ram = exitmm_script::parse_number(&ram).map_err(|e| (format!("--ram: {e}"), 2))?;
            let opts = model.options(Check::EveryOp, ram)?;
            let seed = model.seed.unwrap_or(1);
            use exitmm_sim::explore::{explore, Strategy};
            let (strategy, how) = match (random, pct) {
                (true, _) => (
                    Strategy::Random { seed },
                    format!("random schedules from seed {seed}"),
                ),
                (_, Some(depth)) => (
                    Strategy::Pct { seed, depth },
                    format!("PCT schedules of depth {depth} from seed {seed}"),
                ),
                _ => (
                    Strategy::Dfs { preemptions },
                    format!("depth-first within {preemptions} preemptions"),
                ),
            };
            let inject = model.inject.clone().unwrap_or_else(|| "nothing".into());
            println!(
                "explore {}: linux {}, injected: {inject}, {how}, at most {schedules} schedules",
                file.display(),
                model.linux
            );
            let t0 = std::time::Instant::now();
            let rep = explore(&script, &opts, strategy, schedules, shrink, |n| {
                if n % 1000 == 0 {
                    eprint!("\r{n} schedules");
                }
            });
            if rep.schedules >= 1000 {
                eprintln!();
            }
            let secs = t0.elapsed().as_secs_f64();
            let scope = if rep.complete {
                "every schedule within the bound"
            } else {
                "the bound on schedules was reached"
            };
            match &rep.failure {
                None => {
                    println!(
                        "explored {} schedules ({} distinct; {scope}) in {secs:.1} s: no violation",
                        rep.schedules, rep.distinct
                    );
                    Ok(())
                }
                Some(f) => {
                    println!(
                        "violation found after {} schedules ({} of {} run failed) in {secs:.1} s:\n  {}",
                        rep.first_failure_at.unwrap_or(0),
                        rep.failures,
                        rep.schedules,
                        f.what
                    );
                    println!(
                        "shortest failing schedule ({} steps): {}",
                        f.steps, f.schedule
                    );
                    let mut cmd = format!("exitmm run --linux {}", model.linux);
                    if let Some(i) = &model.inject {
                        cmd += &format!(" --inject {i}");
                    }
                    println!(
                        "replay: {cmd} --schedule '{}' {}",
                        f.schedule,
                        file.display()
                    );
                    Err((String::new(), 1))
                }
            }
        }
        Cmd::Snapshot { pid, out, verify } => snapshot_cmd(pid, out, verify),
        Cmd::Calibrate {
            out,
            quick,
            repeats,
        } => calibrate_cmd(out, quick, repeats),
        Cmd::Predict { pid, costs, json } => predict_cmd(pid, costs, json),
        Cmd::Validate { runs, costs, only } => validate_cmd(runs, costs, only),
        Cmd::Record { files, cap } => {
            let release = exitmm_host::kernel_release();
            for file in files {
                let script = load(&file)?;
                if script.model_only() {
                    eprintln!("{}: model-only, skipped", file.display());
                    continue;
                }
                let out = exitmm_host::run(&script, cap)
                    .map_err(|e| (format!("{}: {e}", file.display()), 2))?;
                let golden = file.with_extension("kernel");
                // The pools the kernel had before it ran (a leaked reservation changes them).
                let pools = if script
                    .lines
                    .iter()
                    .any(|l| l.op.name().starts_with("hugetlb"))
                {
                    exitmm_sim::compare::baseline_lines(&exitmm_diff::hugetlb_baseline())
                } else {
                    String::new()
                };
                std::fs::write(&golden, format!("# kernel {release}\n{pools}{out}"))
                    .map_err(|e| (format!("{}: {e}", golden.display()), 2))?;
                eprintln!("{}: recorded", golden.display());
            }
            Ok(())
        }
    }
}

fn block<'a>(records: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = records.lines().skip_while(|l| *l != header);
    let mut v: Vec<&str> = lines.next().into_iter().collect();
    v.extend(lines.take_while(|l| !l.starts_with("# ")));
    v
}

fn print_difference(m: &exitmm_sim::compare::Mismatch, model: &str, kernel: &str) {
    println!("first difference at {}", m.op);
    println!("  model:");
    for l in block(model, &m.op).iter().skip(1) {
        println!("    {l}");
    }
    println!("  kernel:");
    for l in block(kernel, &m.op).iter().skip(1) {
        println!("    {l}");
    }
    println!("  differs:");
    println!("    model:  {}", m.model);
    println!("    kernel: {}", m.kernel);
    for f in exitmm_diff::differing_fields(&m.model, &m.kernel) {
        println!("    >> {f}");
    }
}

fn diff(
    file: Option<PathBuf>,
    random: Option<u64>,
    seed: u64,
    out: &Path,
    verbose: bool,
    cap: u64,
) -> Result<(), Failure> {
    use exitmm_diff::Verdict;
    let probe = exitmm_diff::probe(cap).map_err(|e| (format!("diff: {e}"), 2))?;
    if verbose {
        for f in &probe.facts {
            println!("probe: {f}");
        }
    }
    if !probe.unmatched.is_empty() {
        return Err((
            format!(
                "diff: this kernel does what the model cannot: {}",
                probe.unmatched.join("; ")
            ),
            2,
        ));
    }
    let host = |e: exitmm_diff::DiffError| (format!("diff: {e}"), 2u8);
    match (file, random) {
        (Some(file), None) => {
            let script = load(&file)?;
            if script.model_only() {
                return Err((
                    format!(
                        "{}: model-only ops cannot run on the kernel",
                        file.display()
                    ),
                    2,
                ));
            }
            match exitmm_diff::diff(&script, &probe.config, cap).map_err(host)? {
                Verdict::Equal => {
                    println!("equal: {} ({} ops)", file.display(), script.lines.len());
                    Ok(())
                }
                Verdict::Different {
                    mismatch,
                    model,
                    kernel,
                } => {
                    println!("different: {}", file.display());
                    print_difference(&mismatch, &model, &kernel);
                    Err((
                        format!("{}: the model differs from the kernel", file.display()),
                        1,
                    ))
                }
                Verdict::Inconclusive(why) => {
                    Err((format!("{}: inconclusive: {why}", file.display()), 2))
                }
                Verdict::HostUnsafe(why) => Err((
                    format!("{}: not run on the kernel: {why}", file.display()),
                    2,
                )),
            }
        }
        (None, Some(n)) => {
            let started = std::time::Instant::now();
            let opts = probe.gen_options(cap);
            let (mut equal, mut different, mut inconclusive, mut unsafe_) = (0u64, 0, 0, 0);
            for i in 0..n {
                let s = seed.wrapping_mul(1 << 32).wrapping_add(i);
                let text = exitmm_sim::gen::script(s, &opts);
                let script = exitmm_script::parse(&text)
                    .map_err(|e| (format!("generated script {s}: {e}"), 2))?;
                let verdict = exitmm_diff::diff(&script, &probe.config, cap)
                    .map_err(host)
                    .map_err(|(m, c)| (format!("generated script {s}: {m}"), c))?;
                match verdict {
                    Verdict::Equal => equal += 1,
                    Verdict::Inconclusive(why) => {
                        inconclusive += 1;
                        println!("inconclusive: script {s}: {why}");
                    }
                    Verdict::HostUnsafe(why) => {
                        unsafe_ += 1;
                        println!("not run: script {s}: {why}");
                    }
                    Verdict::Different {
                        mismatch,
                        model,
                        kernel,
                    } => {
                        different += 1;
                        let small = exitmm_diff::shrink(&text, &probe.config, cap);
                        std::fs::create_dir_all(out)
                            .map_err(|e| (format!("{}: {e}", out.display()), 2))?;
                        let path = out.join(format!("diff-{s}.mm"));
                        std::fs::write(
                            &path,
                            format!("# shrunk from generated script {s}\n{small}"),
                        )
                        .map_err(|e| (format!("{}: {e}", path.display()), 2))?;
                        println!(
                            "different: script {s}; shrunk to {} ({} ops)",
                            path.display(),
                            small.lines().count()
                        );
                        print_difference(&mismatch, &model, &kernel);
                    }
                }
            }
            println!(
                "{n} random scripts (seed {seed}): {equal} equal, {different} different, {inconclusive} inconclusive, {unsafe_} not run (the host kernel would leak, or the model does not run them), in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            if different > 0 {
                return Err((format!("{different} scripts differ"), 1));
            }
            Ok(())
        }
        _ => Err(("diff: give a FILE or --random N".into(), 2)),
    }
}

/// The most runs `exitmm bench` times a small load's exit on the model.
const MODEL_RUNS_MAX: u32 = 100;

/// How many runs `exitmm bench` takes the model's best of for `n` units: `runs`, or more for a
/// small load (enough for 2^22 units in all, up to [`MODEL_RUNS_MAX`]): an exit of a few µs is
/// otherwise at the mercy of one interruption.
fn model_runs(runs: u32, n: u64) -> u32 {
    let more = ((1u64 << 22) / n.max(1)).min(MODEL_RUNS_MAX as u64) as u32;
    runs.max(more)
}

/// `exitmm bench`: each point timed on the model (best of R, more for small loads) and on the
/// kernel (median of R, less the median exit of a child that set nothing up).
fn bench(quick: bool, json: bool, cpus: usize, no_kernel: bool) -> Result<(), Failure> {
    use exitmm_host::ExitLoad;
    use exitmm_sim::bench::{model_exit, Load};
    let pow = |lo: u32, hi: u32, step: usize| (lo..=hi).step_by(step).map(|s| 1u64 << s).collect();
    let points: Vec<(Load, Vec<u64>)> = Load::ALL
        .iter()
        .map(|&l| {
            let n: Vec<u64> = match (l, quick) {
                (Load::Vmas, true) => vec![1 << 10, 1 << 14],
                // The host's vm.max_map_count (65530) bounds the kernel side.
                (Load::Vmas, false) => vec![1 << 8, 1 << 10, 1 << 12, 1 << 14, 65_000],
                (Load::Thp, true) => vec![1 << 12, 1 << 16],
                (Load::Thp, false) => pow(12, 20, 2),
                (Load::Swapped, true) => vec![1 << 10, 1 << 14],
                (Load::Swapped, false) => pow(10, 18, 2),
                (_, true) => vec![1 << 10, 1 << 14, 1 << 16],
                (_, false) => pow(10, 20, 2),
            };
            (l, n)
        })
        .collect();
    let runs = if quick { 3 } else { 5 };
    let total: u64 = points.iter().map(|(_, n)| n.len() as u64).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut kernel_note = None;
    let base = if no_kernel {
        None
    } else {
        match exitmm_host::time_exit_of(ExitLoad::Anon, 0, runs) {
            Ok(v) => Some(median(v) as f64),
            Err(e) => {
                kernel_note = Some(format!("kernel side not run: {e}"));
                None
            }
        }
    };
    let costs = load_costs(None)?;
    let mut rows = Vec::new();
    for (load, ns) in &points {
        for &n in ns {
            bar.set_message(format!("{} x{n}", load.name()));
            // Set up and timed on one CPU; the kernel side runs with the affinity as it was.
            let (model, report) =
                exitmm_host::on_this_cpu(|| model_exit(*load, n, model_runs(runs, n), cpus));
            let model_ns = model.as_nanos() as f64 / n as f64;
            // What the cost model says the kernel takes for this exit, less the base.
            let (counts, _) = exitmm_sim::cost::exit_counts(
                &exitmm_sim::report::x_lines('P', &report).join("\n"),
                'P',
            );
            let predicted_ns =
                (exitmm_sim::cost::predict(&counts, &costs).total_ns - costs.base_ns) / n as f64;
            let kernel_ns = base.and_then(|b| match exitmm_host::time_exit_of(*load, n, runs) {
                Ok(v) if !v.is_empty() => Some((median(v) as f64 - b).max(0.0) / n as f64),
                Ok(_) => None,
                Err(e) => {
                    kernel_note.get_or_insert(format!("{}: kernel side not run: {e}", load.name()));
                    None
                }
            });
            rows.push((*load, n, model_ns, kernel_ns, predicted_ns));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(l, n, m, k, p)| {
                serde_json::json!({
                    "load": l.name(), "unit": l.unit(), "n": n,
                    "model_ns_per_unit": m, "kernel_ns_per_unit": k,
                    "kernel_over_model": k.map(|k| k / m),
                    "cost_model_ns_per_unit": p,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "exit cost, model (--cpus {cpus}, no checking; best of {runs}, of up to {MODEL_RUNS_MAX} for small \
         loads) beside this machine's kernel \
         ({}; SIGKILL to reaped, median of {runs}, less an empty child's)",
        exitmm_host::kernel_release()
    );
    println!(
        "(cost model: what the calibrated costs predict for the kernel; {})",
        costs.source
    );
    println!(
        "{:<14} {:>9} {:>6} {:>12} {:>12} {:>14} {:>14}",
        "load", "n", "unit", "model ns", "kernel ns", "kernel/model", "cost model ns"
    );
    for (l, n, m, k, p) in &rows {
        let (ks, r) = match k {
            Some(k) => (format!("{k:.1}"), format!("{:.1}x", k / m)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<14} {:>9} {:>6} {:>12.1} {:>12} {:>14} {:>14.1}",
            l.name(),
            n,
            l.unit(),
            m,
            ks,
            r,
            p
        );
    }
    if let Some(n) = kernel_note {
        println!("{n}");
    }
    Ok(())
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn snapshot_cmd(pid: i32, out: Option<PathBuf>, verify: bool) -> Result<(), Failure> {
    let snap = exitmm_host::snapshot::snapshot(pid).map_err(|e| (e.to_string(), 2))?;
    match &out {
        Some(f) => {
            std::fs::write(f, &snap.script).map_err(|e| (format!("{}: {e}", f.display()), 2))?
        }
        None => print!("{}", snap.script),
    }
    let vmas = snap.live.vmas;
    let kinds: Vec<String> = snap.pages.iter().map(|(k, n)| format!("{k}={n}")).collect();
    eprintln!(
        "snapshot of {pid}: {vmas} VMAs, present pages {}{}",
        kinds.join(" "),
        out.as_ref()
            .map(|f| format!(", written to {}", f.display()))
            .unwrap_or_default()
    );
    if verify {
        let r = exitmm_diff::replay_snapshot(&snap).map_err(|e| (e, 2))?;
        for (f, l, m) in &r.fields {
            eprintln!(
                "  {f:<13} live {l:>10}  model {m:>10}{}",
                if l == m { "" } else { "  DIFFERENT" }
            );
        }
        if !r.differing().is_empty() {
            return Err((String::from("the replay differs from the live process"), 1));
        }
    }
    Ok(())
}

/// Where `calibrate` writes and `predict` looks for the costs by default.
fn default_costs_path() -> PathBuf {
    if let Some(p) = std::env::var_os("EXITMM_COSTS") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".config/exitmm/costs.json")
}

/// The costs: the file given, else the default path if it exists, else the shipped ones.
fn load_costs(given: Option<PathBuf>) -> Result<exitmm_sim::cost::Costs, Failure> {
    let path = match given {
        Some(p) => p,
        None => {
            let p = default_costs_path();
            if !p.exists() {
                return Ok(exitmm_sim::cost::Costs::shipped());
            }
            p
        }
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| (format!("{}: {e}", path.display()), 2))?;
    exitmm_sim::cost::Costs::from_json(&text).map_err(|e| (format!("{}: {e}", path.display()), 2))
}

#[cfg(target_os = "linux")]
fn predict_cmd(pid: i32, costs: Option<PathBuf>, json: bool) -> Result<(), Failure> {
    let costs = load_costs(costs)?;
    let snap = exitmm_host::snapshot::snapshot(pid).map_err(|e| (e.to_string(), 2))?;
    let p = exitmm_diff::predict_snapshot(&snap, &costs).map_err(|e| (e, 2))?;
    let ms = |ns: f64| ns / 1e6;
    if json {
        let steps: Vec<serde_json::Value> = p
            .prediction
            .by_step
            .iter()
            .map(|(s, n, ns)| serde_json::json!({"step": s, "units": n, "ms": ms(*ns)}))
            .collect();
        let kinds: Vec<serde_json::Value> = p
            .by_kind
            .iter()
            .map(
                |(k, v, n, ns)| serde_json::json!({"kind": k, "vmas": v, "ptes": n, "ms": ms(*ns)}),
            )
            .collect();
        let v = serde_json::json!({
            "pid": pid,
            "predicted_ms": ms(p.prediction.total_ns),
            "costs": costs.source,
            "by_step": steps,
            "by_vma_kind": kinds,
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return Ok(());
    }
    println!(
        "process {pid}: predicted {:.3} ms from SIGKILL to its memory freed ({} VMAs; costs: {})",
        ms(p.prediction.total_ns),
        snap.live.vmas,
        costs.source
    );
    println!("\n{:<36} {:>12} {:>10}", "by step", "units", "ms");
    for (s, n, ns) in p.prediction.by_step.iter().filter(|s| s.1 > 0) {
        println!("{s:<36} {n:>12} {:>10.3}", ms(*ns));
    }
    println!(
        "\n{:<12} {:>8} {:>12} {:>10}",
        "by VMA kind", "VMAs", "PTEs", "ms"
    );
    for (k, v, n, ns) in &p.by_kind {
        println!("{k:<12} {v:>8} {n:>12} {:>10.3}", ms(*ns));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn calibrate_cmd(out: Option<PathBuf>, quick: bool, repeats: u32) -> Result<(), Failure> {
    let path = out.unwrap_or_else(default_costs_path);
    let bar = indicatif::ProgressBar::new(15);
    bar.set_style(
        indicatif::ProgressStyle::with_template("calibrating {bar:20} {pos}/{len} {msg}")
            .expect("template"),
    );
    let costs = exitmm_diff::calibrate(repeats.max(1), quick, |w| {
        bar.set_message(w.to_string());
        bar.inc(1);
    })
    .map_err(|e| (e.to_string(), 2))?;
    bar.finish_and_clear();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| (format!("{}: {e}", dir.display()), 2))?;
    }
    std::fs::write(&path, costs.to_json()).map_err(|e| (format!("{}: {e}", path.display()), 2))?;
    print!("{}", costs.to_json());
    eprintln!("costs written to {}", path.display());
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn calibrate_cmd(_out: Option<PathBuf>, _quick: bool, _repeats: u32) -> Result<(), Failure> {
    Err(("calibrate kills real processes: it needs Linux".into(), 2))
}

#[cfg(target_os = "linux")]
fn validate_cmd(runs: u32, costs: Option<PathBuf>, only: Vec<String>) -> Result<(), Failure> {
    let costs = load_costs(costs)?;
    println!("costs: {}", costs.source);
    println!(
        "{:<6} {:>12} {:>14} {:>14} {:>8}",
        "shape", "size", "predicted ms", "measured ms", "error"
    );
    for (shape, size, unit) in exitmm_diff::VALIDATION_SHAPES {
        if !only.is_empty() && !only.iter().any(|o| o == shape) {
            continue;
        }
        let sz = format!("{size} {unit}");
        match exitmm_diff::validate_shape(shape, size, unit, runs, &costs) {
            Ok(v) => println!(
                "{shape:<6} {sz:>12} {:>14.2} {:>14.2} {:>+7.1}%",
                v.predicted_ns / 1e6,
                v.measured() / 1e6,
                v.error() * 100.0
            ),
            Err(e) => println!("{shape:<6} {sz:>12}   not run: {e}"),
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn validate_cmd(_runs: u32, _costs: Option<PathBuf>, _only: Vec<String>) -> Result<(), Failure> {
    Err(("validate needs Linux".into(), 2))
}

#[cfg(not(target_os = "linux"))]
fn predict_cmd(_pid: i32, _costs: Option<PathBuf>, _json: bool) -> Result<(), Failure> {
    Err(("predict reads /proc: it needs Linux".into(), 2))
}

#[cfg(not(target_os = "linux"))]
fn snapshot_cmd(_pid: i32, _out: Option<PathBuf>, _verify: bool) -> Result<(), Failure> {
    Err(("snapshot reads /proc: it needs Linux".into(), 2))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err((msg, code)) => {
            if !msg.is_empty() {
                eprintln!("exitmm: {msg}");
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_loads_are_timed_more_often() {
        assert_eq!(model_runs(5, 1 << 20), 5);
        assert_eq!(model_runs(5, 1 << 16), 64);
        assert_eq!(model_runs(5, 1 << 10), MODEL_RUNS_MAX);
        assert_eq!(model_runs(3, 1 << 22), 3);
    }
}
