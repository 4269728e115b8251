//! `adsales promote`: arguments → [`PromoteOptions`] → [`run`] → [`PromoteReport`] → text or
//! JSON. Champion/challenger: the version under `--from` (the challenger, by default the alias
//! `train` registers under) and the one under `--to` (the champion) are scored on the same days
//! by the same rolling-origin backtest with their parameters fixed; `--to` moves to the
//! challenger only if its RMSE beats the champion's by the margin (or with `--force`). The
//! decision, both scores and the previous holder are recorded as tags on the challenger's
//! version before the alias moves; nothing moves when any step fails.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use clap::Args;
use serde::Serialize;
use tracing::warn;

use super::ConfigArg;
use crate::config::Config;
use crate::inference::score::{Score, score};
use crate::inference::{ModelRef, registry};
use crate::store::tracking::open_tracker;
use crate::util::error::InputError;

#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// Alias of the challenger (default: the config's mlflow.alias, where train registers).
    #[arg(long, value_name = "ALIAS")]
    from: Option<String>,
    /// Alias to move to the challenger when it wins (default: mlflow.promote_to, Production).
    #[arg(long, value_name = "ALIAS")]
    to: Option<String>,
    /// Newer raw rows (training schema) that neither version was fitted on: the days after the
    /// challenger's history are scored. Without it, the newest --days days of the challenger's
    /// history are scored (days its parameters were not fitted on, but its selection saw).
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,
    /// Without --data: how many of the newest history days to score (default 4 × forecast_days).
    #[arg(long, value_name = "N")]
    days: Option<usize>,
    /// The challenger's RMSE must be below (1 − margin) × the champion's (default:
    /// mlflow.promote_margin).
    #[arg(long, value_name = "FRACTION")]
    margin: Option<f64>,
    /// Move the alias whatever the scores say (they are still computed and recorded).
    #[arg(long)]
    force: bool,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// What to compare: plain data, checked.
#[derive(Debug, Clone)]
pub struct PromoteOptions {
    pub name: String,
    pub from: String,
    pub to: String,
    pub data: Option<PathBuf>,
    pub days: usize,
    pub margin: f64,
    pub force: bool,
}

/// One side's score.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub version: String,
    pub spec: String,
    pub rmse: f64,
    pub mae: f64,
    pub coverage: f64,
}

/// The decision and what it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct PromoteReport {
    pub model: String,
    pub from: String,
    pub to: String,
    pub challenger: Side,
    pub champion: Option<Side>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub horizon: usize,
    pub margin: f64,
    pub forced: bool,
    /// `promoted`, `kept` (the champion stays) or `unchanged` (the challenger already holds it).
    pub decision: String,
    pub reason: String,
}

impl PromoteArgs {
    pub fn options(&self, cfg: &Config) -> Result<PromoteOptions, InputError> {
        let from = self
            .from
            .clone()
            .unwrap_or_else(|| cfg.mlflow.alias.clone());
        let to = self
            .to
            .clone()
            .unwrap_or_else(|| cfg.mlflow.promote_to.clone());
        if from == to {
            return Err(InputError::new(format!(
                "--from and --to are both `{from}`: promotion moves a version from one alias to another"
            )));
        }
        for (flag, a) in [("--from", &from), ("--to", &to)] {
            if a.trim().is_empty() {
                return Err(InputError::new(format!("{flag} must name an alias")));
            }
        }
        let margin = self.margin.unwrap_or(cfg.mlflow.promote_margin);
        if !(0.0..1.0).contains(&margin) {
            return Err(InputError::new(format!(
                "--margin must be a fraction in [0, 1), got {margin}"
            )));
        }
        let days = self.days.unwrap_or(4 * cfg.forecast_days);
        if days == 0 {
            return Err(InputError::new("--days must be at least 1"));
        }
        if self.days.is_some() && self.data.is_some() {
            return Err(InputError::new(
                "--days and --data exclude each other: with --data every new day is scored",
            ));
        }
        Ok(PromoteOptions {
            name: cfg.mlflow.model_name.clone(),
            from,
            to,
            data: self.data.clone(),
            days,
            margin,
            force: self.force,
        })
    }

    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let opts = self.options(&cfg)?;
        let r = run(&cfg, &opts)?;
        super::print_report(&r, self.json, to_text)
    }
}

fn side(v: &crate::inference::ModelVersion, s: &Score) -> Side {
    Side {
        version: v.info.version.clone(),
        spec: v.info.spec.clone(),
        rmse: s.metrics.rmse,
        mae: s.metrics.mae,
        coverage: s.metrics.coverage,
    }
}

/// Scores both versions, decides, records the decision on the challenger's version, and only
/// then moves the alias.
pub fn run(cfg: &Config, o: &PromoteOptions) -> Result<PromoteReport> {
    let tracker = open_tracker(&cfg.mlflow.tracking_uri)
        .with_context(|| format!("opening MLflow tracking at {}", cfg.mlflow.tracking_uri))?;
    let alias = |a: &str| ModelRef::Alias {
        name: o.name.clone(),
        alias: a.to_string(),
    };
    let challenger = registry::load(tracker.as_ref(), &alias(&o.from))?;
    let champion = match tracker
        .get_alias(&o.name, &o.to)
        .with_context(|| format!("reading alias {} of {}", o.to, o.name))?
    {
        Some(_) => Some(registry::load(tracker.as_ref(), &alias(&o.to))?),
        None => None,
    };
    // The days both are judged on: the challenger's history, plus newer rows when given.
    let spec = &challenger.model.spec;
    let mut daily = challenger.model.history.clone();
    let history_end = *daily.dates.last().expect("a history has days");
    let from = match &o.data {
        Some(path) => {
            let newer = crate::data::load(path, &spec.data_config())?;
            let (merged, n) = crate::data::append_newer(&daily, &newer, spec.fill_missing, path)?;
            if n == 0 {
                return Err(InputError::new(format!(
                    "data file {}: no day after the challenger's history (which ends {history_end}); nothing to score",
                    path.display()
                ))
                .into());
            }
            daily = merged;
            history_end + Duration::days(1)
        }
        None => history_end - Duration::days(o.days as i64 - 1),
    };
    let horizon = spec.forecast_days;
    let level = spec.interval_level;
    let ch = score(&challenger, &daily, from, horizon, level)
        .with_context(|| format!("scoring the challenger (@{})", o.from))?;
    let cp = match &champion {
        Some(c) => {
            let end = *c.model.history.dates.last().expect("a history has days");
            if end > history_end {
                warn!(
                    "the champion was trained on data up to {end}, newer than the \
                     challenger's (up to {history_end}): it may have been fitted on days it is \
                     judged on"
                );
            }
            Some(
                score(c, &daily, from, horizon, level)
                    .with_context(|| format!("scoring the champion (@{})", o.to))?,
            )
        }
        None => None,
    };
    let same = champion
        .as_ref()
        .is_some_and(|c| c.info.version == challenger.info.version);
    let (decision, reason) = match (&cp, same) {
        (_, true) => (
            "unchanged",
            format!(
                "version {} already holds @{}",
                challenger.info.version, o.to
            ),
        ),
        (None, _) => ("promoted", format!("@{} had no version", o.to)),
        (Some(cp), _) => {
            let bar = (1.0 - o.margin) * cp.metrics.rmse;
            let wins = ch.metrics.rmse < bar;
            let how = format!(
                "challenger RMSE {:.2} vs champion {:.2} (must be below {:.2}, margin {})",
                ch.metrics.rmse, cp.metrics.rmse, bar, o.margin
            );
            match (wins, o.force) {
                (true, _) => ("promoted", how),
                (false, true) => ("promoted", format!("forced; {how}")),
                (false, false) => ("kept", how),
            }
        }
    };
    let report = PromoteReport {
        model: o.name.clone(),
        from: o.from.clone(),
        to: o.to.clone(),
        challenger: side(&challenger, &ch),
        champion: champion.as_ref().zip(cp.as_ref()).map(|(v, s)| side(v, s)),
        first_day: ch.first_day,
        last_day: ch.last_day,
        horizon,
        margin: o.margin,
        forced: o.force,
        decision: decision.into(),
        reason,
    };
    if decision != "unchanged" {
        record(tracker.as_ref(), &challenger.info.version, &report)?;
    }
    if decision == "promoted" {
        tracker
            .set_alias(&o.name, &o.to, &challenger.info.version)
            .with_context(|| {
                format!(
                    "moving @{} to version {} (its tags record the decision; the alias did not move)",
                    o.to, challenger.info.version
                )
            })?;
    }
    Ok(report)
}

/// The decision as tags on the challenger's version (`promotion.<to>.*`), so the registry
/// says why an alias holds what it holds.
fn record(
    tracker: &dyn crate::store::tracking::Tracker,
    version: &str,
    r: &PromoteReport,
) -> Result<()> {
    let p = format!("promotion.{}", r.to);
    let mut tags = vec![
        (format!("{p}.decision"), r.decision.clone()),
        (format!("{p}.reason"), r.reason.clone()),
        (
            format!("{p}.challenger_rmse"),
            r.challenger.rmse.to_string(),
        ),
        (
            format!("{p}.scored_days"),
            format!("{}..{}", r.first_day, r.last_day),
        ),
        (format!("{p}.margin"), r.margin.to_string()),
        (format!("{p}.forced"), r.forced.to_string()),
        (
            format!("{p}.previous_version"),
            r.champion
                .as_ref()
                .map_or_else(|| "none".to_string(), |c| c.version.clone()),
        ),
    ];
    if let Some(c) = &r.champion {
        tags.push((format!("{p}.champion_rmse"), c.rmse.to_string()));
    }
    for (k, v) in &tags {
        tracker
            .set_model_version_tag(&r.model, version, k, v)
            .with_context(|| format!("tagging {} version {version} with {k}", r.model))?;
    }
    Ok(())
}

pub fn to_text(r: &PromoteReport) -> String {
    let mut s = format!(
        "scored {} to {} ({}-day horizon, every origin)\n",
        r.first_day, r.last_day, r.horizon
    );
    let row = |label: &str, alias: &str, x: &Side| {
        format!(
            "{label:<11} @{alias:<11} version {:<4} RMSE {:>12.2}  MAE {:>12.2}  coverage {:.3}  {}\n",
            x.version, x.rmse, x.mae, x.coverage, x.spec
        )
    };
    s.push_str(&row("challenger", &r.from, &r.challenger));
    match &r.champion {
        Some(c) => s.push_str(&row("champion", &r.to, c)),
        None => s.push_str(&format!("champion    @{:<11} none\n", r.to)),
    }
    let verb = match r.decision.as_str() {
        "promoted" => format!("@{} now points to version {}", r.to, r.challenger.version),
        "kept" => format!(
            "@{} stays on version {}",
            r.to,
            r.champion.as_ref().map_or("?", |c| c.version.as_str())
        ),
        _ => "nothing to do".to_string(),
    };
    s.push_str(&format!("{}: {verb} ({})\n", r.decision, r.reason));
    s
}
