//! Builds `tools/kernel-runner.c` with the system C compiler, statically, where the target is
//! Linux x86-64. Elsewhere (or without a compiler) the runner is reported unavailable at run time.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/kernel-runner.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("kernel-runner");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let why_not = if os != "linux" || arch != "x86_64" {
        Some(format!(
            "the kernel runner needs Linux x86-64 (this build targets {os} {arch})"
        ))
    } else {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        match Command::new(&cc)
            .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
            .arg(&out)
            .arg(&src)
            .output()
        {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "building the kernel runner with {cc} failed: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            )),
            Err(e) => Some(format!(
                "no C compiler '{cc}' to build the kernel runner: {e}"
            )),
        }
    };
    match why_not {
        None => {
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER={}", out.display());
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER_MISSING=");
        }
        Some(why) => {
            println!("cargo:warning={why}");
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER=");
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER_MISSING={why}");
        }
    }
}
