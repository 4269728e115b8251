//! Embeds libtorch's directory as an rpath so `target/*/adsales-torch` (and the test binaries) find
//! `libtorch_cpu.so` without LD_LIBRARY_PATH, and explains a missing libtorch in one line.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    // LIBTORCH comes from the environment or from .cargo/config.toml's [env] (made absolute there).
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        fail("LIBTORCH is not set");
    };
    let lib = libtorch.join("lib");
    if !lib.join("libtorch_cpu.so").exists() {
        fail(&format!("no libtorch_cpu.so in {}", lib.display()));
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    link_cuda_if_usable(&lib);
}

/// torch-sys links `torch_cuda`, but the linker's default `--as-needed` drops it (nothing
/// references it by symbol), and then `Device::cuda_if_available()` never sees a GPU. Keep it
/// when its own libraries resolve, i.e. with the full wheel set (`ADSALES_LIBTORCH_FULL=1
/// scripts/setup-libtorch.sh`); the light CPU install lacks cuBLAS/cuDNN, so linking it there
/// would make every binary fail to start.
fn link_cuda_if_usable(lib: &std::path::Path) {
    let cuda = lib.join("libtorch_cuda.so");
    if !cuda.exists() {
        return;
    }
    let usable = std::process::Command::new("ldd")
        .arg(&cuda)
        .output()
        .map(|o| o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("not found"))
        .unwrap_or(false);
    if usable {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

fn fail(why: &str) -> ! {
    eprintln!(
        "error: libtorch not found ({why}).\n\
         Run `scripts/setup-libtorch.sh` (or `make setup`) once, then build again."
    );
    std::process::exit(1);
}
