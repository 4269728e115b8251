//! The `adsales` command line: parse, set up logging, call one function, map errors to exit
//! codes (2 for bad input, 1 for anything else).
//!
//! Two binaries run it: `adsales` (no libtorch, starts in milliseconds) and `adsales-torch`
//! (crate `adsales-lstm`, which installs the `lstm` family first). `adsales` hands a command
//! that needs the `lstm` family over to `adsales-torch` by replacing its own process with it
//! (same arguments, same exit code, same signals); see [`crate::models::torch`].

pub mod evaluate;
pub mod fit;
mod handover;
pub mod infer;
pub(crate) mod info;
pub mod interrupt;
pub mod promote;
pub mod reconcile;
pub(crate) mod sample_data;
pub mod serve;
pub mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

pub use self::handover::{PARENT_SOURCE_ENV, SOURCE_ID, TORCH_BIN};
use self::handover::{check_parent_sources, or_hand_over};
use crate::config::Config;
use crate::util::error::is_input_error;
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

/// `--config`, shared by the commands that read one.
#[derive(Args, Debug, Clone)]
pub struct ConfigArg {
    /// Path to the YAML config; relative paths inside it are resolved against its folder.
    #[arg(long, value_name = "PATH", default_value = "config.yaml")]
    pub config: PathBuf,
}

/// Every command has the same shape: clap arguments (`*Args`) → options (plain data) →
/// `run` returning a report → a renderer per output format; `execute` chains them.
#[derive(Subcommand, Debug)]
enum Command {
    /// Read the raw CSV, build features, split and scale, grid-search every family, judge
    /// them by the same rolling-origin backtest and pick the winner by test RMSE.
    Train(train::TrainArgs),
    /// Forecast the next days from the model registered under the configured alias.
    Infer(infer::InferArgs),
    /// Fit one ARIMA/SARIMAX spec on any CSV column (raw values, no aggregation or scaling)
    /// and print the summary and forecast.
    Fit(fit::FitArgs),
    /// Show what data, runs and registered models there are.
    Info(info::InfoArgs),
    /// Write the deterministic synthetic sample data set (the bundled CSV).
    SampleData(sample_data::SampleDataArgs),
    /// Reconcile base forecasts of a hierarchy (hierarchicalforecast's file shapes) so every
    /// aggregate equals the sum of its parts: bottom-up, top-down or MinTrace.
    Reconcile(reconcile::ReconcileArgs),
    /// Serve the registered model over HTTP on MLflow's scoring protocol (/ping, /health,
    /// /version, POST /invocations), as `mlflow models serve` does, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Champion/challenger: score the versions under two aliases on the same recent days and
    /// move the second alias to the challenger only if it wins by the margin.
    Promote(promote::PromoteArgs),
    /// Monitoring: forecast the days that happened since the model's history from newer rows,
    /// compare with the actuals, and log the errors on the version's MLflow run by date.
    Evaluate(evaluate::EvaluateArgs),
}

/// The global flags every command sees.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub verbosity: Verbosity,
    pub quiet: bool,
}

/// `--model-uri` when given, else the config's `models:/<mlflow.model_name>@<mlflow.alias>`
/// (infer, serve, evaluate).
pub(crate) fn model_ref(
    uri: &Option<String>,
    cfg: &Config,
) -> Result<crate::inference::ModelRef, crate::util::error::InputError> {
    match uri {
        Some(u) => crate::inference::ModelRef::parse(u),
        None => Ok(crate::inference::ModelRef::Alias {
            name: cfg.mlflow.model_name.clone(),
            alias: cfg.mlflow.alias.clone(),
        }),
    }
}

/// Prints a command's report: pretty JSON with `--json`, else its text rendering.
pub(crate) fn print_report<R: serde::Serialize>(
    r: &R,
    json: bool,
    text: fn(&R) -> String,
) -> Result<()> {
    use std::io::Write;
    let out = if json {
        serde_json::to_string_pretty(r)? + "\n"
    } else {
        text(r)
    };
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// Reads the config and starts logging into its log folder.
pub(crate) fn load_config(arg: &ConfigArg, g: Global) -> Result<Config> {
    let cfg = Config::load(&arg.config)?;
    if let Some(path) = logging::init(g.verbosity, Some(&cfg.paths.logs_dir)) {
        tracing::debug!(log = %path.display(), config = %arg.config.display(), "logging to file");
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<()> {
    let g = Global {
        verbosity: Verbosity::from_flags(cli.verbose, cli.quiet),
        quiet: cli.quiet,
    };
    match cli.command {
        // `train::run` asks for the lstm family before it reads or writes anything, and
        // `infer` writes nothing before the model is loaded, so handing over is safe.
        Command::Train(a) => or_hand_over(a.execute(g), "the lstm family is in `families`"),
        Command::Infer(a) => or_hand_over(a.execute(g), "the model is or holds an LSTM"),
        Command::Fit(a) => a.execute(g),
        Command::Info(a) => a.execute(g),
        Command::SampleData(a) => a.execute(g),
        Command::Reconcile(a) => a.execute(g),
        // The model is loaded before the socket is bound, so an LSTM hands over first.
        Command::Serve(a) => or_hand_over(a.execute(g), "the model is or holds an LSTM"),
        // Both versions are loaded before anything is scored or written.
        Command::Promote(a) => or_hand_over(a.execute(g), "a model is or holds an LSTM"),
        // The model is loaded before anything is logged.
        Command::Evaluate(a) => or_hand_over(a.execute(g), "the model is or holds an LSTM"),
    }
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
        // A server finishes its in-flight requests first; a second Ctrl-C stops it at once.
        if interrupt::request_shutdown() {
            eprintln!("shutting down after the requests in flight (Ctrl-C again to stop now)");
            return;
        }
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
