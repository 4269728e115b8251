//! Fingerprints the library's sources, so that `adsales` can tell when the `adsales-torch` twin
//! it hands LSTM work to was built from other sources (a partial build such as
//! `cargo build -p adsales` or `cargo run` relinks only `adsales`): see `cli::SOURCE_ID`.
//!
//! Hashed: the Rust sources under `src/`, the files `include_bytes!` reads from `assets/`, the
//! manifest and the lock file (dependency versions). Other files under `src/` (editor backups)
//! are left out so they cannot make two builds of the same code disagree.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, keep, out);
        } else if keep(&p) {
            out.push(p);
        }
    }
}

fn main() {
    // Directories: cargo reruns this when anything under them changes.
    for p in ["src", "assets", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let mut files = vec![PathBuf::from("Cargo.toml")];
    // A workspace member's lock file lives at the workspace root, which is this folder.
    if Path::new("Cargo.lock").is_file() {
        files.push(PathBuf::from("Cargo.lock"));
    }
    collect(
        Path::new("src"),
        &|p| p.extension().is_some_and(|e| e == "rs"),
        &mut files,
    );
    collect(Path::new("assets"), &|_| true, &mut files);
    files.sort();
    // FNV-1a over each path and its bytes: no dependency, and stable across toolchains.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for f in &files {
        eat(f.to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&std::fs::read(f).unwrap_or_default());
        eat(&[0]);
    }
    println!("cargo:rustc-env=ADSALES_SOURCE_ID={h:016x}");
}
