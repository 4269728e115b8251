//! Embeds libtorch's directory as an rpath so `target/*/adsales` (and the test binaries) find
//! `libtorch_cpu.so` without LD_LIBRARY_PATH, and explains a missing libtorch in one line.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    // LIBTORCH comes from the environment or from .cargo/config.toml's [env] (made absolute there).
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        fail("LIBTORCH is not set");
    };
    let lib = libtorch.join("lib");
    if !lib.join("libtorch_cpu.so").exists() {
        fail(&format!("no libtorch_cpu.so in {}", lib.display()));
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}

fn fail(why: &str) -> ! {
    eprintln!(
        "error: libtorch not found ({why}).\n\
         Run `scripts/setup-libtorch.sh` (or `make setup`) once, then build again."
    );
    std::process::exit(1);
}
