//! `exitmm`: parse arguments, run, print. No logic a library user would need lives here.

use clap::{Parser, Subcommand};
use exitmm_sim::{records, transcript::transcript, Options, Sim, SimError};
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
        /// Print records format v1 instead of the transcript.
        #[arg(long)]
        records: bool,
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
        /// Do not run check_invariants after every op (the model checks by default).
        #[arg(long)]
        no_check: bool,
        /// Footprint cap for --kernel, in bytes.
        #[arg(long, default_value_t = exitmm_host::DEFAULT_FOOTPRINT_CAP)]
        cap: u64,
    },
    /// Record the kernel's golden records for scripts: writes NAME.kernel beside each NAME.mm.
    Record {
        /// Scripts to record; model-only scripts are skipped.
        files: Vec<PathBuf>,
    },
}

type Failure = (String, u8);

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
    }
}

fn run_model(
    name: &str,
    script: &exitmm_script::Script,
    as_records: bool,
    check: bool,
) -> Result<(), Failure> {
    let opts = Options {
        check,
        ..Options::default()
    };
    if as_records {
        let out = records(script, &opts).map_err(|e| sim_failure(name, e))?;
        print!("{out}");
    } else {
        let mut sim = Sim::new(&opts);
        let results = sim.run(script).map_err(|e| sim_failure(name, e))?;
        print!("{}", transcript(&results));
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.cmd {
        Cmd::Demo { records } => {
            let script = exitmm_script::parse(exitmm_sim::DEMO)
                .map_err(|e| (format!("demo:{}: {}", e.line, e.msg), 2))?;
            if !records {
                println!("exitmm demo: the embedded scenario (tests/scenarios/demo.mm), run on the model\n");
            }
            run_model("demo", &script, records, true)
        }
        Cmd::Run {
            file,
            records,
            kernel,
            no_check,
            cap,
        } => {
            let script = load(&file)?;
            let name = file.display().to_string();
            if kernel {
                let out =
                    exitmm_host::run(&script, cap).map_err(|e| (format!("{name}: {e}"), 2))?;
                print!("{out}");
                return Ok(());
            }
            run_model(&name, &script, records, !no_check)
        }
        Cmd::Record { files } => {
            let release = exitmm_host::kernel_release();
            for file in files {
                let script = load(&file)?;
                if script.model_only() {
                    eprintln!("{}: model-only, skipped", file.display());
                    continue;
                }
                let out = exitmm_host::run(&script, exitmm_host::DEFAULT_FOOTPRINT_CAP)
                    .map_err(|e| (format!("{}: {e}", file.display()), 2))?;
                let golden = file.with_extension("kernel");
                std::fs::write(&golden, format!("# kernel {release}\n{out}"))
                    .map_err(|e| (format!("{}: {e}", golden.display()), 2))?;
                eprintln!("{}: recorded", golden.display());
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err((msg, code)) => {
            eprintln!("exitmm: {msg}");
            ExitCode::from(code)
        }
    }
}
