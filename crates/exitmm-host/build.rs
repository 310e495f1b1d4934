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
            // If the same compiler builds a trivial static program, the runner itself is
            // broken: fail the build rather than let every kernel test skip. Otherwise the host
            // lacks a static C toolchain and the kernel side is unavailable here.
            Ok(o) if static_toolchain_works(&cc) => panic!(
                "building the kernel runner with {cc} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Ok(o) => Some(format!(
                "{cc} cannot build static programs (the kernel runner needs a static libc): {}",
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
    let workload_src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/workload.c");
    println!("cargo:rerun-if-changed={}", workload_src.display());
    let workload = out.with_file_name("exitmm-workload");
    match why_not {
        None => {
            // The same toolchain builds the workload program the real-process tests run.
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
            let o = Command::new(&cc)
                .args(["-static", "-pthread", "-O2", "-Wall", "-Wextra", "-o"])
                .arg(&workload)
                .arg(&workload_src)
                .output()
                .expect("the C compiler that built the runner");
            assert!(
                o.status.success(),
                "building the workload with {cc} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            println!("cargo:rustc-env=EXITMM_WORKLOAD={}", workload.display());
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER={}", out.display());
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER_MISSING=");
        }
        Some(why) => {
            println!("cargo:warning={why}");
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER=");
            println!("cargo:rustc-env=EXITMM_WORKLOAD=");
            println!("cargo:rustc-env=EXITMM_KERNEL_RUNNER_MISSING={why}");
        }
    }
}

/// Whether `cc` builds and links a trivial static C program.
fn static_toolchain_works(cc: &str) -> bool {
    let dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let src = dir.join("probe.c");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    Command::new(cc)
        .args(["-static", "-o"])
        .arg(dir.join("probe"))
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success())
}
