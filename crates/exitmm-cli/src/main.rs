//! `exitmm`: parse arguments, run, print. No logic a library user would need lives here.

use clap::{Parser, Subcommand};
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
    /// Run a script on the model (default), or on this machine's kernel with --kernel.
    Run {
        /// The script (.mm).
        file: PathBuf,
        /// Print records format v1 instead of the readable transcript.
        #[arg(long)]
        records: bool,
        /// Run on the real kernel of this machine (prints records format v1).
        #[arg(long)]
        kernel: bool,
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

fn load(file: &Path) -> Result<exitmm_script::Script, (String, u8)> {
    let src = std::fs::read_to_string(file).map_err(|e| (format!("{}: {e}", file.display()), 2))?;
    exitmm_script::parse(&src).map_err(|e| (format!("{}:{}: {}", file.display(), e.line, e.msg), 2))
}

fn run(cli: Cli) -> Result<(), (String, u8)> {
    match cli.cmd {
        Cmd::Run {
            file,
            records,
            kernel,
            cap,
        } => {
            let script = load(&file)?;
            if kernel {
                let out = exitmm_host::run(&script, cap)
                    .map_err(|e| (format!("{}: {e}", file.display()), 2))?;
                print!("{out}");
                return Ok(());
            }
            let _ = records;
            Err(("the model is not built yet: use --kernel".into(), 2))
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
