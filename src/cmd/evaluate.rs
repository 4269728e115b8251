//! `adsales evaluate`: arguments → [`EvaluateOptions`] → [`run`] → [`EvaluateReport`] → text
//! or JSON. Monitoring: the days that have happened since a registered version's history ends
//! (`--data`) are forecast the way the version forecasts (every origin, its parameters fixed,
//! the actual planned drivers), compared with what happened, and the errors are logged as
//! MLflow metrics on the version's run, stepped by date, so drift shows in MLflow's charts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use clap::Args;
use serde::Serialize;

use super::ConfigArg;
use crate::config::Config;
use crate::inference::score::{DayForecast, score};
use crate::inference::{ModelRef, registry};
use crate::store::tracking::{Batch, Metric, open_tracker};
use crate::util::error::InputError;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Raw rows (training schema) of the days that have happened since the model's history
    /// ends; days it already holds are ignored.
    #[arg(long, value_name = "CSV")]
    data: PathBuf,
    /// Registered model to evaluate: models:/NAME@ALIAS or models:/NAME/VERSION (default: the
    /// config's mlflow.model_name and mlflow.alias).
    #[arg(long, value_name = "URI")]
    model_uri: Option<String>,
    /// Compute and print the errors, log nothing.
    #[arg(long)]
    no_log: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub model: ModelRef,
    pub data: PathBuf,
    pub log: bool,
}

/// One evaluated day: the forecast made the day before, and what happened.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub actual: f64,
    pub forecast: f64,
    pub lower: f64,
    pub upper: f64,
    pub error: f64,
    pub in_interval: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    pub model: String,
    pub version: String,
    pub run_id: Option<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub horizon: usize,
    pub level: f64,
    /// Over every (origin, step) pair of the new days.
    pub rmse: f64,
    pub mae: f64,
    pub coverage: f64,
    pub days: Vec<Day>,
    pub logged_metrics: usize,
}

/// The metric keys logged per day (step = days since 1970-01-01, timestamp = that midnight).
pub const DAY_METRICS: [&str; 4] = [
    "eval_actual",
    "eval_forecast",
    "eval_abs_error",
    "eval_in_interval",
];

impl EvaluateArgs {
    pub fn options(&self, cfg: &Config) -> Result<EvaluateOptions, InputError> {
        let model = super::model_ref(&self.model_uri, cfg)?;
        if matches!(model, ModelRef::Local { .. }) && !self.no_log {
            return Err(InputError::new(
                "--model-uri: a model folder has no run to log to; give a registered model or \
                 --no-log",
            ));
        }
        Ok(EvaluateOptions {
            model,
            data: self.data.clone(),
            log: !self.no_log,
        })
    }

    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let opts = self.options(&cfg)?;
        let r = run(&cfg, &opts)?;
        super::print_report(&r, self.json, to_text)
    }
}

fn day(d: &DayForecast) -> Day {
    Day {
        date: d.date,
        actual: d.actual,
        forecast: d.mean,
        lower: d.lower,
        upper: d.upper,
        error: d.actual - d.mean,
        in_interval: d.lower <= d.actual && d.actual <= d.upper,
    }
}

/// Days since 1970-01-01: a step that orders dates and reads back as one.
pub fn date_step(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days()
}

pub fn run(cfg: &Config, o: &EvaluateOptions) -> Result<EvaluateReport> {
    let tracker = open_tracker(&cfg.mlflow.tracking_uri)
        .with_context(|| format!("opening MLflow tracking at {}", cfg.mlflow.tracking_uri))?;
    let v = registry::load(tracker.as_ref(), &o.model)?;
    let spec = &v.model.spec;
    let newer = crate::data::load(&o.data, &spec.data_config())?;
    let end = *v.model.history.dates.last().expect("a history has days");
    let (daily, n) =
        crate::data::append_newer(&v.model.history, &newer, spec.fill_missing, &o.data)?;
    if n == 0 {
        return Err(InputError::new(format!(
            "data file {}: no day after the model's history (which ends {end}); nothing has \
             happened to compare with yet",
            o.data.display()
        ))
        .into());
    }
    let s = score(
        &v,
        &daily,
        end + Duration::days(1),
        spec.forecast_days,
        spec.interval_level,
    )?;
    let days: Vec<Day> = s.one_day.iter().map(day).collect();
    let mut logged = 0;
    if o.log {
        let run_id = v.info.run_id.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "{} version {} names no run to log the evaluation to",
                v.info.name,
                v.info.version
            )
        })?;
        let mut metrics = Vec::new();
        for d in &days {
            let (step, ts) = (
                date_step(d.date),
                d.date
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp_millis(),
            );
            let values = [
                d.actual,
                d.forecast,
                d.error.abs(),
                f64::from(u8::from(d.in_interval)),
            ];
            for (key, value) in DAY_METRICS.iter().zip(values) {
                metrics.push(Metric {
                    key: (*key).into(),
                    value,
                    timestamp: ts,
                    step,
                });
            }
        }
        let last = date_step(s.last_day);
        for (key, value) in [
            ("eval_rmse", s.metrics.rmse),
            ("eval_mae", s.metrics.mae),
            ("eval_coverage", s.metrics.coverage),
        ] {
            metrics.push(Metric::new(key, value, last));
        }
        logged = metrics.len();
        // MLflow takes at most 1,000 metrics per log-batch call.
        for chunk in metrics.chunks(900) {
            let batch = Batch {
                metrics: chunk.to_vec(),
                ..Batch::default()
            };
            tracker
                .log_batch(&run_id, &batch)
                .with_context(|| format!("logging the evaluation to run {run_id}"))?;
        }
    }
    Ok(EvaluateReport {
        model: v.info.name.clone(),
        version: v.info.version.clone(),
        run_id: v.info.run_id.clone(),
        first_day: s.first_day,
        last_day: s.last_day,
        horizon: spec.forecast_days,
        level: spec.interval_level,
        rmse: s.metrics.rmse,
        mae: s.metrics.mae,
        coverage: s.metrics.coverage,
        days,
        logged_metrics: logged,
    })
}

pub fn to_text(r: &EvaluateReport) -> String {
    let mut s = format!(
        "{} version {}: {} new days, {} to {}\n\n",
        r.model,
        r.version,
        r.days.len(),
        r.first_day,
        r.last_day
    );
    s.push_str(&format!(
        "{:<12} {:>14} {:>14} {:>14} {:>9}\n",
        "date", "actual", "forecast", "error", "in band"
    ));
    for d in &r.days {
        s.push_str(&format!(
            "{:<12} {:>14.2} {:>14.2} {:>14.2} {:>9}\n",
            d.date,
            d.actual,
            d.forecast,
            d.error,
            if d.in_interval { "yes" } else { "no" }
        ));
    }
    s.push_str(&format!(
        "\nover every origin and step (H = {}): RMSE {:.2}, MAE {:.2}, {:.0}% interval coverage {:.3}\n",
        r.horizon,
        r.rmse,
        r.mae,
        r.level * 100.0,
        r.coverage
    ));
    if r.logged_metrics > 0 {
        s.push_str(&format!(
            "logged {} metrics to run {} ({} stepped by date)\n",
            r.logged_metrics,
            r.run_id.as_deref().unwrap_or("?"),
            DAY_METRICS.join(", ")
        ));
    }
    s
}
