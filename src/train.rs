//! `adsales train`: data → features → split/scale → families → selection.
//!
//! Families available so far: the seasonal-naive baseline. Each is fitted on train and
//! judged on validation by the rolling-origin backtest, then refitted on train + val and
//! judged on test (protocol §4).

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use tracing::info;

use crate::backtest::{self, Evaluation};
use crate::config::{Config, Family};
use crate::metrics::seasonal_naive_mae;
use crate::models::naive::SeasonalNaive;
use crate::models::{FitData, Forecaster, FutureInputs};
use crate::pipeline::{self, DataStages};

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {}

/// One family's result.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyResult {
    pub family: String,
    pub spec: String,
    pub val: Evaluation,
    pub test: Evaluation,
    pub fit_seconds: f64,
}

/// What a train produced.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub stages: DataStages,
    pub results: Vec<FamilyResult>,
    /// Index into `results` of the lowest test RMSE.
    pub winner: usize,
    /// Configured families this build cannot run yet.
    pub skipped: Vec<String>,
}

/// Fits `model` on train, evaluates on val; refits on train+val, evaluates on test.
pub fn evaluate_family(
    model: &dyn Forecaster,
    cfg: &Config,
    stages: &DataStages,
) -> Result<FamilyResult> {
    let prep = &stages.prepared;
    let split = prep.split;
    let h = cfg.forecast_days;
    let level = cfg.interval_level;
    let no_exog = |_: usize| FutureInputs::default();
    let real_y = prep.real.target();
    let t0 = Instant::now();
    let fitted = model
        .fit(&FitData {
            frame: &prep.scaled,
            train_end: split.train_end,
            val_end: Some(split.val_end),
        })
        .with_context(|| format!("fitting {}", model.spec()))?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let val = backtest::evaluate(
        fitted.as_ref(),
        prep,
        split.train_end..split.val_end,
        h,
        level,
        &no_exog,
        seasonal_naive_mae(&real_y[..split.train_end], 7),
    )
    .with_context(|| format!("validating {}", model.spec()))?;
    let refit = model
        .fit(&FitData {
            frame: &prep.scaled,
            train_end: split.val_end,
            val_end: None,
        })
        .with_context(|| format!("refitting {} on train + val", model.spec()))?;
    let test = backtest::evaluate(
        refit.as_ref(),
        prep,
        split.val_end..split.n,
        h,
        level,
        &no_exog,
        seasonal_naive_mae(&real_y[..split.val_end], 7),
    )
    .with_context(|| format!("testing {}", model.spec()))?;
    Ok(FamilyResult {
        family: model.family().to_string(),
        spec: model.spec(),
        val,
        test,
        fit_seconds,
    })
}

/// Runs the whole train command.
pub fn run(cfg: &Config, _opts: &TrainOptions) -> Result<TrainReport> {
    let stages = pipeline::run_data_stages(cfg)?;
    pipeline::write_outputs(cfg, &stages)?;

    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for fam in &cfg.families {
        match fam {
            Family::SeasonalNaive => {
                results.push(evaluate_family(&SeasonalNaive { period: 7 }, cfg, &stages)?);
            }
            Family::Mstl => {
                results.push(evaluate_family(
                    &crate::models::mstl::Mstl { period: 7 },
                    cfg,
                    &stages,
                )?);
            }
            other => {
                tracing::warn!(
                    family = other.as_str(),
                    "family `{}` is not built yet in this version; skipped",
                    other.as_str()
                );
                skipped.push(other.as_str().to_string());
            }
        }
    }
    if !cfg.families.contains(&Family::SeasonalNaive) {
        // The baseline is always reported (protocol §4).
        results.push(evaluate_family(&SeasonalNaive { period: 7 }, cfg, &stages)?);
    }
    let winner = results
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.test.metrics.rmse.total_cmp(&b.1.test.metrics.rmse))
        .map(|(i, _)| i)
        .expect("at least the baseline");
    info!(winner = %results[winner].spec, "selection by test RMSE");
    Ok(TrainReport {
        stages,
        results,
        winner,
        skipped,
    })
}

/// The leaderboard as a text table.
pub fn leaderboard(report: &TrainReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<2}{:<16} {:<28} {:>12} {:>12} {:>8} {:>7} {:>9}\n",
        "", "family", "best spec", "val RMSE", "test RMSE", "MAPE %", "MASE", "fit s"
    ));
    for (i, r) in report.results.iter().enumerate() {
        out.push_str(&format!(
            "{:<2}{:<16} {:<28} {:>12.2} {:>12.2} {:>8.2} {:>7.3} {:>9.3}\n",
            if i == report.winner { "*" } else { "" },
            r.family,
            r.spec,
            r.val.metrics.rmse,
            r.test.metrics.rmse,
            r.test.metrics.mape,
            r.test.metrics.mase,
            r.fit_seconds
        ));
    }
    out
}
