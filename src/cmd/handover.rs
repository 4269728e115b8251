//! Handing a command over to `adsales-torch`, the twin linked with libtorch (see
//! `crate::models::torch`): `adsales` replaces its own process with the twin (same arguments,
//! same exit code, same signals) when a command needs the `lstm` family, and the twin refuses
//! a hand-over from an `adsales` built from other sources.

use std::path::PathBuf;

use anyhow::Result;

/// `r`, unless it failed for want of libtorch: then this process is replaced by the twin
/// (returning only if that fails).
pub(super) fn or_hand_over<T>(r: Result<T>, why: &str) -> Result<T> {
    match r {
        Err(e) if needs_libtorch(&e) => Err(hand_over_to_torch(why)),
        r => r,
    }
}

fn needs_libtorch(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        matches!(
            e.downcast_ref::<crate::models::ModelError>(),
            Some(crate::models::ModelError::NeedsLibtorch)
        )
    })
}

/// Name of the libtorch-linked twin binary, looked for next to the running one.
pub const TORCH_BIN: &str = "adsales-torch";

/// Fingerprint of the library sources this binary was built from (build.rs). `adsales` passes
/// it to the twin it hands over to, and the twin refuses to run for an `adsales` built from
/// other sources: its models, bundle format or checks could silently differ.
pub const SOURCE_ID: &str = env!("ADSALES_SOURCE_ID");

/// The environment variable that carries the handing-over binary's [`SOURCE_ID`] (and marks
/// a process started by a hand-over).
pub const PARENT_SOURCE_ENV: &str = "ADSALES_PARENT_SOURCE";

/// In the twin, after a hand-over: an error if `adsales` was built from other sources.
pub(super) fn check_parent_sources() -> Result<(), String> {
    match std::env::var(PARENT_SOURCE_ENV) {
        Ok(parent) if parent != SOURCE_ID => {
            let me = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| TORCH_BIN.to_string());
            Err(format!(
                "{me} was built from other sources than the `adsales` that handed this command \
                 to it (sources {parent} vs {SOURCE_ID}); a partial build such as \
                 `cargo build -p adsales` or `cargo run` rebuilds only `adsales`. Rebuild both \
                 with `cargo build` (`--release` for release builds) or `make release`."
            ))
        }
        _ => Ok(()),
    }
}

/// Replaces this process with `adsales-torch` run with the same arguments. Returns only on
/// failure, with an error that says how to get the twin binary.
fn hand_over_to_torch(why: &str) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    // Set on the twin's environment by a hand-over: a "twin" that lacks the family after all
    // (a wrong ADSALES_TORCH_BIN, a copy of `adsales` under the twin's name) must not exec
    // forever.
    if std::env::var_os(PARENT_SOURCE_ENV).is_some() {
        return anyhow::anyhow!(
            "{why}, but this binary was started as `{TORCH_BIN}` and lacks the lstm family \
             (is ADSALES_TORCH_BIN pointing at `adsales` itself?)"
        );
    }
    let bin = match std::env::var_os("ADSALES_TORCH_BIN") {
        Some(p) => PathBuf::from(p),
        None => match std::env::current_exe() {
            Ok(exe) => exe.with_file_name(TORCH_BIN),
            Err(e) => return anyhow::anyhow!("{why}, but this binary cannot locate itself: {e}"),
        },
    };
    if !bin.is_file() {
        return anyhow::anyhow!(
            "{why}, which runs in `{TORCH_BIN}` (linked with libtorch), but {} does not exist.\n\
             Build it with `make release` (or `cargo build --release`, which builds both binaries), \
             set ADSALES_TORCH_BIN to its path, or remove `lstm` from `families`.",
            bin.display()
        );
    }
    tracing::debug!(bin = %bin.display(), "{why}: handing over to {TORCH_BIN}");
    let err = std::process::Command::new(&bin)
        .args(std::env::args_os().skip(1))
        .env(PARENT_SOURCE_ENV, SOURCE_ID)
        .exec();
    anyhow::anyhow!("{why}, but starting {} failed: {err}", bin.display())
}
