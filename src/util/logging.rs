//! tracing set-up: a human console layer on stderr (honours -v/-q and RUST_LOG) and, when a
//! log folder is given, a file layer with timestamps, levels and module names.

use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Console verbosity from the global flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    Trace,
}

impl Verbosity {
    pub fn from_flags(verbose: u8, quiet: bool) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            _ => Verbosity::Trace,
        }
    }
    fn directive(self) -> &'static str {
        match self {
            Verbosity::Quiet => "warn",
            Verbosity::Normal => "info",
            Verbosity::Verbose => "debug",
            Verbosity::Trace => "trace",
        }
    }
}

/// Whether the console log is coloured: only on a terminal, and never when `NO_COLOR` is set
/// to anything non-empty (no-color.org). Escapes in a piped log or a CI transcript are noise.
fn console_colours(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber. `log_dir`, when given, receives `adsales.log` (appended).
/// Returns the log file path. Safe to call once per process; later calls do nothing.
pub fn init(verbosity: Verbosity, log_dir: Option<&Path>) -> Option<std::path::PathBuf> {
    // RUST_LOG wins over -v/-q for the console, as users of tracing-based tools expect.
    let console_filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,adsales={}", verbosity.directive())));
    let console = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(console_colours(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_target(false)
        .without_time()
        .with_filter(console_filter);

    let mut log_path = None;
    let file_layer = log_dir.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let appender = tracing_appender::rolling::never(dir, "adsales.log");
        log_path = Some(dir.join("adsales.log"));
        Some(
            fmt::layer()
                .with_writer(appender)
                .with_ansi(false)
                .with_target(true)
                .with_filter(EnvFilter::new("info,adsales=debug")),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init();
    log_path
}

#[cfg(test)]
mod tests {
    use super::console_colours;
    use std::ffi::OsStr;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(console_colours(true, None));
        assert!(console_colours(true, Some(OsStr::new(""))));
        assert!(!console_colours(true, Some(OsStr::new("1"))));
        assert!(!console_colours(false, None));
    }
}
