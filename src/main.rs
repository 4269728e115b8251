//! The `adsales` command line: parse, set up logging, call one function, map errors to exit
//! codes (2 for bad input, 1 for anything else).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use adsales::config::Config;
use adsales::error::is_input_error;
use adsales::logging::{self, Verbosity};

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Read the raw CSV, build features, split and scale, grid-search every family, judge
    /// them by the same rolling-origin backtest and pick the winner by test RMSE.
    Train {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Forecast the next days from the model registered under the configured alias.
    Infer {
        /// Days to forecast (default: forecast_days from the config).
        #[arg(long, value_name = "N")]
        days: Option<usize>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show what data, runs and registered models there are.
    Info {
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
        Command::Train { config } => {
            let cfg = load_config(&config, verbosity)?;
            let report = adsales::train::run(&cfg, &adsales::train::TrainOptions::default())?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", adsales::train::leaderboard(&report))?;
            if let Some(w) = report.winner {
                let f = &report.families[w];
                writeln!(
                    out,
                    "winner by test RMSE: {} ({})",
                    f.best_point().map(|p| p.spec.as_str()).unwrap_or("?"),
                    f.family.as_str()
                )?;
            }
            if !report.skipped.is_empty() {
                writeln!(
                    out,
                    "not built yet (skipped): {}",
                    report.skipped.join(", ")
                )?;
            }
            writeln!(out, "not built yet: MLflow tracking and registration")?;
            Ok(())
        }
        Command::Infer { config, days: _ } => {
            let _cfg = load_config(&config, verbosity)?;
            anyhow::bail!(
                "`adsales infer` is not built yet: it needs the model registry stage, which is not \
                 implemented in this version"
            )
        }
        Command::Info { config } => {
            let _cfg = load_config(&config, verbosity)?;
            anyhow::bail!("`adsales info` is not built yet in this version")
        }
        Command::SampleData { out, seed, days } => {
            logging::init(verbosity, None);
            let spec = adsales::sample::SampleSpec {
                seed,
                days,
                ..Default::default()
            };
            let rows = adsales::sample::write_file(&spec, &out)?;
            println!("wrote {rows} rows over {days} days to {}", out.display());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
