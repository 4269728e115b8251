//! The `adsales` command line: parse, set up logging, call one function, map errors to exit
//! codes (2 for bad input, 1 for anything else).
//!
//! Two binaries run it: `adsales` (no libtorch, starts in milliseconds) and `adsales-torch`
//! (crate `adsales-lstm`, which installs the `lstm` family first). `adsales` hands a command
//! that needs the `lstm` family over to `adsales-torch` by replacing its own process with it
//! (same arguments, same exit code, same signals); see [`crate::models::torch`].

pub mod fit;
pub mod infer;
pub mod info;
pub mod interrupt;
pub mod train;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::util::error::{InputError, is_input_error};
use crate::util::logging::{self, Verbosity};

/// Forecast daily advertising revenue: data pipeline, ARIMA / SARIMAX / LSTM grid search,
/// rolling-origin backtests, MLflow tracking and registry.
#[derive(Parser, Debug)]
#[command(name = "adsales", version, about, long_about = None)]
struct Cli {
    /// More console output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only warnings and errors on the console.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct ConfigArg {
    /// Path to the YAML config; relative paths inside it are resolved against its folder.
    #[arg(long, value_name = "PATH", default_value = "config.yaml")]
    config: PathBuf,
}

/// Output formats of `infer`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
struct InferArgs {
    /// Days to forecast after the newest day (default: forecast_days from the config).
    #[arg(long, value_name = "N")]
    days: Option<usize>,
    /// Registered model to use: models:/NAME@ALIAS or models:/NAME/VERSION
    /// (default: the config's mlflow.model_name and mlflow.alias).
    #[arg(long, value_name = "URI")]
    model_uri: Option<String>,
    /// Newer raw rows (same schema as training); the forecast starts after their last day,
    /// without retraining.
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,
    /// Planned values of the known-policy drivers (e.g. ad_spend) for the forecast days:
    /// CSV with the date column and one column per driver. Without it they are forecast.
    #[arg(long, value_name = "CSV")]
    plan: Option<PathBuf>,
    /// Central prediction-interval level (default: interval_level from the config).
    #[arg(long, value_name = "P")]
    level: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also draw recent history and the forecast band to this .png or .svg file.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read the raw CSV, build features, split and scale, grid-search every family, judge
    /// them by the same rolling-origin backtest and pick the winner by test RMSE.
    Train {
        #[command(flatten)]
        config: ConfigArg,
        /// Do not log anything to MLflow (and so do not register).
        #[arg(long)]
        no_track: bool,
        /// Log runs but do not register the winner or move the alias.
        #[arg(long)]
        no_register: bool,
    },
    /// Forecast the next days from the model registered under the configured alias.
    Infer(InferArgs),
    /// Fit one ARIMA/SARIMAX spec on any CSV column (raw values, no aggregation or scaling)
    /// and print the summary and forecast.
    Fit(crate::cmd::fit::FitArgs),
    /// Show what data, runs and registered models there are.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Write the deterministic synthetic sample data set (the bundled CSV).
    SampleData {
        /// Output CSV path.
        #[arg(
            long,
            value_name = "PATH",
            default_value = "data/raw/global_ads_performance_dataset.csv"
        )]
        out: PathBuf,
        /// RNG seed; the same seed always gives the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Number of calendar days from 2024-01-01.
        #[arg(long, default_value_t = 731)]
        days: usize,
    },
}

fn load_config(arg: &ConfigArg, verbosity: Verbosity) -> Result<Config> {
    let cfg = Config::load(&arg.config)?;
    if let Some(path) = logging::init(verbosity, Some(&cfg.paths.logs_dir)) {
        tracing::debug!(log = %path.display(), config = %arg.config.display(), "logging to file");
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<()> {
    let verbosity = Verbosity::from_flags(cli.verbose, cli.quiet);
    match cli.command {
        Command::Train {
            config,
            no_track,
            no_register,
        } => {
            let cfg = load_config(&config, verbosity)?;
            let opts = crate::cmd::train::TrainOptions {
                track: !no_track,
                register: !no_track && !no_register,
                progress: !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            // `train::run` asks for the lstm family before it reads or writes anything.
            let report = or_hand_over(
                crate::cmd::train::run(&cfg, &opts),
                "the lstm family is in `families`",
            )?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", crate::cmd::train::leaderboard(&report))?;
            if let Some(w) = report.winner {
                let f = &report.families[w];
                writeln!(
                    out,
                    "winner by test RMSE: {} ({})",
                    f.best_point().map(|p| p.spec.as_str()).unwrap_or("?"),
                    f.family.as_str()
                )?;
            }
            match &report.registration {
                Some(r) => writeln!(
                    out,
                    "registered {} version {} as @{} (previously {})",
                    r.name,
                    r.version,
                    r.alias,
                    r.previous
                        .as_deref()
                        .map(|v| format!("version {v}"))
                        .unwrap_or_else(|| "unset".into())
                )?,
                None if opts.track => writeln!(out, "not registered (--no-register)")?,
                None => writeln!(out, "not tracked (--no-track)")?,
            }
            let timings: Vec<String> = report
                .timings
                .iter()
                .map(|(k, v)| format!("{k} {v:.2}s"))
                .collect();
            writeln!(out, "stage timings: {}", timings.join(", "))?;
            Ok(())
        }
        Command::Infer(a) => {
            let cfg = load_config(&a.config, verbosity)?;
            let days = a.days.unwrap_or(cfg.forecast_days);
            if days == 0 {
                return Err(InputError::new("--days must be at least 1").into());
            }
            let level = a.level.unwrap_or(cfg.interval_level);
            if !(level > 0.0 && level < 1.0) {
                return Err(InputError::new(format!(
                    "--level must be between 0 and 1 (exclusive), got {level}"
                ))
                .into());
            }
            if let Some(p) = &a.plot {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if !matches!(ext.to_ascii_lowercase().as_str(), "png" | "svg") {
                    return Err(InputError::new(format!(
                        "--plot {}: the file must end in .png or .svg",
                        p.display()
                    ))
                    .into());
                }
            }
            let opts = crate::cmd::infer::InferOptions {
                days,
                model_uri: a.model_uri,
                data: a.data,
                plan: a.plan,
                level,
            };
            // Nothing is written before the model is loaded, so handing over is safe.
            let r = or_hand_over(crate::cmd::infer::run(&cfg, &opts), "the model is an LSTM")?;
            let text = match a.format {
                Format::Table => crate::cmd::infer::to_table(&r),
                Format::Csv => crate::cmd::infer::to_csv(&r),
                Format::Json => crate::cmd::infer::to_json(&r),
            };
            if let Some(p) = &a.plot {
                let band = crate::util::plots::Band {
                    name: format!("{} {} (v{})", r.model.family, r.model.spec, r.model.version),
                    dates: r.forecast.iter().map(|f| f.date).collect(),
                    mean: r.forecast.iter().map(|f| f.prediction).collect(),
                    lower: r.forecast.iter().map(|f| f.lower).collect(),
                    upper: r.forecast.iter().map(|f| f.upper).collect(),
                };
                let title = format!("{} forecast, {:.0}% interval", r.target, r.level * 100.0);
                crate::util::plots::write_atomically(p, |tmp| {
                    crate::util::plots::forecast_chart(
                        tmp,
                        &title,
                        &r.recent,
                        std::slice::from_ref(&band),
                    )
                })
                .map_err(anyhow::Error::msg)?;
            }
            match &a.output {
                Some(p) => {
                    crate::util::fsutil::write_atomic(p, text.as_bytes())
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?;
                    eprintln!("wrote {}", p.display());
                }
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            Ok(())
        }
        Command::Info { config, json } => {
            let cfg = load_config(&config, verbosity)?;
            let info = crate::cmd::info::gather(&cfg);
            let text = if json {
                serde_json::to_string_pretty(&info)? + "\n"
            } else {
                crate::cmd::info::to_text(&info)
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        }
        Command::Fit(args) => {
            logging::init(verbosity, None);
            crate::cmd::fit::run(&args)
        }
        Command::SampleData { out, seed, days } => {
            logging::init(verbosity, None);
            let spec = crate::data::sample::SampleSpec {
                seed,
                days,
                ..Default::default()
            };
            let rows = crate::data::sample::write_file(&spec, &out)?;
            println!("wrote {rows} rows over {days} days to {}", out.display());
            Ok(())
        }
    }
}

/// `r`, unless it failed for want of libtorch: then this process is replaced by the twin
/// (returning only if that fails).
fn or_hand_over<T>(r: Result<T>, why: &str) -> Result<T> {
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
fn check_parent_sources() -> Result<(), String> {
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

/// Runs the command line. `torch` is the `lstm` family when the calling binary links
/// libtorch (`adsales-torch`), `None` for `adsales`.
pub fn main(torch: Option<&'static dyn crate::models::ModelFamily>) -> ExitCode {
    if let Some(t) = torch {
        if let Err(msg) = check_parent_sources() {
            eprintln!("error: {msg}");
            return ExitCode::from(1);
        }
        crate::models::family::install(t);
    }
    let cli = Cli::parse();
    // Ctrl-C: close the open MLflow runs as KILLED (never leave them RUNNING), then exit with
    // the conventional 130.
    let _ = ctrlc::set_handler(|| {
        if interrupt::interrupt() {
            eprintln!("interrupted: open MLflow runs marked KILLED");
        } else {
            eprintln!("interrupted");
        }
        std::process::exit(130);
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`adsales ... | head`) is not an error worth reporting.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let mut msg = format!("error: {err}");
            for cause in err.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            if is_input_error(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
