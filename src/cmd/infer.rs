//! `adsales infer`: arguments → [`InferOptions`] → [`run`] (files read into an inference
//! [`Request`]) → [`InferResult`] → one renderer per [`Format`] (protocol §7).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tracing::warn;

use super::ConfigArg;
use crate::config::Config;
use crate::inference::{self, NewerRows, Plan, Request};
use crate::store::tracking::open_tracker;
use crate::util::error::InputError;

pub use crate::inference::{ExogSource, ForecastRow, InferResult, ModelInfo};

/// Output formats of `infer`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct InferArgs {
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
    pub config: ConfigArg,
}

/// What to forecast: plain data, checked.
#[derive(Debug, Clone)]
pub struct InferOptions {
    pub days: usize,
    /// `models:/NAME@ALIAS` or `models:/NAME/VERSION`; default from the config.
    pub model_uri: Option<String>,
    pub data: Option<PathBuf>,
    pub plan: Option<PathBuf>,
    pub level: f64,
}

impl InferArgs {
    /// The options, with the config's defaults; bad values are input errors.
    pub fn options(&self, cfg: &Config) -> Result<InferOptions, InputError> {
        let days = self.days.unwrap_or(cfg.forecast_days);
        if days == 0 {
            return Err(InputError::new("--days must be at least 1"));
        }
        let level = self.level.unwrap_or(cfg.interval_level);
        if !(level > 0.0 && level < 1.0) {
            return Err(InputError::new(format!(
                "--level must be between 0 and 1 (exclusive), got {level}"
            )));
        }
        if let Some(p) = &self.plot {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext.to_ascii_lowercase().as_str(), "png" | "svg") {
                return Err(InputError::new(format!(
                    "--plot {}: the file must end in .png or .svg",
                    p.display()
                )));
            }
        }
        Ok(InferOptions {
            days,
            model_uri: self.model_uri.clone(),
            data: self.data.clone(),
            plan: self.plan.clone(),
            level,
        })
    }

    /// Reads the config, forecasts and writes the result.
    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let opts = self.options(&cfg)?;
        let r = run(&cfg, &opts)?;
        self.write(&r)
    }

    /// Writes the rendered result (and the plot, when asked for).
    pub fn write(&self, r: &InferResult) -> Result<()> {
        let text = match self.format {
            Format::Table => to_table(r),
            Format::Csv => to_csv(r),
            Format::Json => to_json(r),
        };
        if let Some(p) = &self.plot {
            write_plot(p, r)?;
        }
        match &self.output {
            Some(p) => {
                crate::util::fsutil::write_atomic(p, text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?;
                eprintln!("wrote {}", p.display());
            }
            None => std::io::stdout().lock().write_all(text.as_bytes())?,
        }
        Ok(())
    }
}

fn write_plot(path: &std::path::Path, r: &InferResult) -> Result<()> {
    let band = crate::util::plots::Band {
        name: format!("{} {} (v{})", r.model.family, r.model.spec, r.model.version),
        dates: r.forecast.iter().map(|f| f.date).collect(),
        mean: r.forecast.iter().map(|f| f.prediction).collect(),
        lower: r.forecast.iter().map(|f| f.lower).collect(),
        upper: r.forecast.iter().map(|f| f.upper).collect(),
    };
    let title = format!("{} forecast, {:.0}% interval", r.target, r.level * 100.0);
    crate::util::plots::write_atomically(path, |tmp| {
        crate::util::plots::forecast_chart(tmp, &title, &r.recent, std::slice::from_ref(&band))
    })
    .map_err(anyhow::Error::msg)
}

/// The whole infer command: resolve and load the model, read `--data` and `--plan` with the
/// model's own data settings, forecast.
pub fn run(cfg: &Config, opts: &InferOptions) -> Result<InferResult> {
    let r = super::model_ref(&opts.model_uri, cfg)?;
    let tracker = open_tracker(&cfg.mlflow.tracking_uri)
        .with_context(|| format!("opening MLflow tracking at {}", cfg.mlflow.tracking_uri))?;
    let version = inference::registry::load(tracker.as_ref(), &r)?;
    let spec = &version.model.spec;
    let newer = match &opts.data {
        Some(path) => Some((crate::data::load(path, &spec.data_config())?, path)),
        None => None,
    };
    let known = inference::known_drivers(&version.model);
    let plan = match &opts.plan {
        Some(p) if !known.is_empty() => Some(Plan::read_csv(
            p,
            &spec.date_column,
            &spec.date_format,
            &known,
        )?),
        Some(p) => {
            warn!(plan = %p.display(), "the model has no known-policy drivers; the plan is not used");
            None
        }
        None => None,
    };
    inference::forecast(
        &version,
        &Request {
            newer: newer.as_ref().map(|(daily, source)| NewerRows {
                daily,
                source: source.as_path(),
            }),
            plan: plan.as_ref(),
            days: opts.days,
            level: opts.level,
        },
    )
}

/// Output as an aligned table.
pub fn to_table(r: &InferResult) -> String {
    let mut s = format!(
        "model {} version {}{} — {} {}\n",
        r.model.name,
        r.model.version,
        r.model
            .alias
            .as_deref()
            .map(|a| format!(" (@{a})"))
            .unwrap_or_default(),
        r.model.family,
        r.model.spec
    );
    let exog: Vec<String> = r
        .exog
        .iter()
        .map(|e| format!("{} from {}", e.name, e.source))
        .collect();
    if !exog.is_empty() {
        s.push_str(&format!("drivers: {}\n", exog.join(", ")));
    }
    s.push_str(&format!(
        "history {} to {}{}\n\n",
        r.history_start,
        r.history_end,
        if r.new_days_from_data > 0 {
            format!(" ({} new days from --data)", r.new_days_from_data)
        } else {
            String::new()
        }
    ));
    let pct = format!("{:.0}%", r.level * 100.0);
    s.push_str(&format!(
        "{:<12} {:>18} {:>14} {:>14}\n",
        "date",
        format!("predicted_{}", r.target),
        format!("lower {pct}"),
        format!("upper {pct}")
    ));
    for row in &r.forecast {
        s.push_str(&format!(
            "{:<12} {:>18.2} {:>14.2} {:>14.2}\n",
            row.date, row.prediction, row.lower, row.upper
        ));
    }
    s
}

/// Output as CSV: date, predicted_<target>, lower, upper.
pub fn to_csv(r: &InferResult) -> String {
    let mut s = format!("date,predicted_{},lower,upper\n", r.target);
    for row in &r.forecast {
        s.push_str(&format!(
            "{},{},{},{}\n",
            row.date, row.prediction, row.lower, row.upper
        ));
    }
    s
}

/// The forecast rows as JSON objects (`date`, `predicted_<target>`, `lower`, `upper`): the
/// `forecast` of `--format json` and the `predictions` of `adsales serve`, one function so the
/// two agree to the byte.
pub fn forecast_json_rows(r: &InferResult) -> Vec<serde_json::Value> {
    r.forecast
        .iter()
        .map(|row| {
            serde_json::json!({
                "date": row.date.to_string(),
                format!("predicted_{}", r.target): row.prediction,
                "lower": row.lower,
                "upper": row.upper,
            })
        })
        .collect()
}

/// Output as JSON (schema in README: model, target, level, history, drivers, forecast).
pub fn to_json(r: &InferResult) -> String {
    let rows = forecast_json_rows(r);
    let v = serde_json::json!({
        "schema": "adsales.forecast/1",
        "model": r.model,
        "target": r.target,
        "level": r.level,
        "history_start": r.history_start.to_string(),
        "history_end": r.history_end.to_string(),
        "new_days_from_data": r.new_days_from_data,
        "exog": r.exog,
        "forecast": rows,
    });
    serde_json::to_string_pretty(&v).expect("serialises") + "\n"
}
