//! `adsales train`: data → features → split/scale → families → selection.
//!
//! Every family runs the same protocol (§4): each grid point is fitted on train and judged on
//! validation by the rolling-origin backtest; the family's best point by validation RMSE is
//! judged on test (refitted on train + val where the family refits); the winner across
//! families is the lowest test RMSE, ties going to the simpler family.

use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use crate::backtest::{self, Evaluation};
use crate::config::{Config, Family};
use crate::exog::FutureTable;
use crate::metrics::seasonal_naive_mae;
use crate::models::{FitData, FitInfo, FittedForecaster, Forecaster, ModelError};
use crate::pipeline::{self, DataStages};

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {}

/// One grid point's validation result.
#[derive(Serialize)]
pub struct PointResult {
    pub spec: String,
    pub params: Vec<(String, String)>,
    pub fit_seconds: f64,
    pub info: Option<FitInfo>,
    pub val: Option<Evaluation>,
    /// The error, when fitting or evaluating failed.
    pub error: Option<String>,
    #[serde(skip)]
    pub fitted: Option<Box<dyn FittedForecaster>>,
}

/// One family's grid, its best point and that point's test evaluation.
#[derive(Serialize)]
pub struct FamilyResult {
    pub family: Family,
    pub points: Vec<PointResult>,
    /// Index into `points` of the lowest validation RMSE.
    pub best: Option<usize>,
    pub test: Option<Evaluation>,
    #[serde(skip)]
    pub test_model: Option<Box<dyn FittedForecaster>>,
    pub seconds: f64,
}

impl FamilyResult {
    pub fn best_point(&self) -> Option<&PointResult> {
        self.best.map(|i| &self.points[i])
    }
}

/// What a train produced.
pub struct TrainReport {
    pub stages: DataStages,
    pub families: Vec<FamilyResult>,
    /// Index into `families` of the winner (lowest test RMSE).
    pub winner: Option<usize>,
    /// Configured families this build cannot run yet.
    pub skipped: Vec<String>,
}

/// Shared, model-independent inputs of every evaluation.
pub struct EvalContext<'a> {
    pub cfg: &'a Config,
    pub stages: &'a DataStages,
    pub val_future: FutureTable,
    pub test_future: FutureTable,
    pub val_scale: f64,
    pub test_scale: f64,
}

impl<'a> EvalContext<'a> {
    pub fn new(cfg: &'a Config, stages: &'a DataStages) -> Result<EvalContext<'a>> {
        let prep = &stages.prepared;
        let s = prep.split;
        let h = cfg.forecast_days;
        let t0 = Instant::now();
        let val_origins = backtest::origins(&(s.train_end..s.val_end));
        let test_origins = backtest::origins(&(s.val_end..s.n));
        let val_future = FutureTable::build(&prep.scaled, &cfg.data.exog, &val_origins, h)
            .context("forecasting exogenous columns at the validation origins")?;
        let test_future = FutureTable::build(&prep.scaled, &cfg.data.exog, &test_origins, h)
            .context("forecasting exogenous columns at the test origins")?;
        info!(
            seconds = t0.elapsed().as_secs_f64(),
            origins = val_origins.len() + test_origins.len(),
            "future exog inputs computed once per origin"
        );
        let y = prep.real.target();
        Ok(EvalContext {
            cfg,
            stages,
            val_future,
            test_future,
            val_scale: seasonal_naive_mae(&y[..s.train_end], 7),
            test_scale: seasonal_naive_mae(&y[..s.val_end], 7),
        })
    }

    fn evaluate(&self, model: &dyn FittedForecaster, test: bool) -> Result<Evaluation, ModelError> {
        let prep = &self.stages.prepared;
        let s = prep.split;
        let (segment, table, scale) = if test {
            (s.val_end..s.n, &self.test_future, self.test_scale)
        } else {
            (s.train_end..s.val_end, &self.val_future, self.val_scale)
        };
        backtest::evaluate(
            model,
            prep,
            segment,
            self.cfg.forecast_days,
            self.cfg.interval_level,
            &|o| table.get(o),
            scale,
        )
    }

    /// Fits one grid point on train and evaluates it on validation; errors are kept.
    pub fn run_point(&self, model: &dyn Forecaster) -> PointResult {
        let prep = &self.stages.prepared;
        let t0 = Instant::now();
        let fitted = model.fit(&FitData {
            frame: &prep.scaled,
            train_end: prep.split.train_end,
            val_end: Some(prep.split.val_end),
        });
        let fit_seconds = t0.elapsed().as_secs_f64();
        let (val, info, fitted, error) = match fitted {
            Ok(f) => match self.evaluate(f.as_ref(), false) {
                Ok(ev) => (Some(ev), Some(f.info()), Some(f), None),
                Err(e) => (None, Some(f.info()), None, Some(e.to_string())),
            },
            Err(e) => (None, None, None, Some(e.to_string())),
        };
        if let Some(e) = &error {
            warn!(spec = %model.spec(), "grid point failed: {e}");
        }
        PointResult {
            spec: model.spec(),
            params: model.params(),
            fit_seconds,
            info,
            val,
            error,
            fitted,
        }
    }

    /// Runs a whole grid (in parallel when `parallel`), picks the best point by validation
    /// RMSE and evaluates it on test.
    pub fn run_family(
        &self,
        family: Family,
        specs: &[Box<dyn Forecaster>],
        parallel: bool,
    ) -> FamilyResult {
        let t0 = Instant::now();
        let mut points: Vec<PointResult> = if parallel {
            // Collecting a parallel iterator keeps grid order, so results do not depend on
            // the thread count.
            specs
                .par_iter()
                .map(|m| self.run_point(m.as_ref()))
                .collect()
        } else {
            specs.iter().map(|m| self.run_point(m.as_ref())).collect()
        };
        let best = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.val.as_ref().map(|v| (i, v.metrics.rmse)))
            .filter(|(_, r)| r.is_finite())
            // Strictly smaller wins, so ties keep the earlier (simpler) grid point.
            .fold(None, |acc: Option<(usize, f64)>, (i, r)| match acc {
                Some((_, br)) if br <= r => acc,
                _ => Some((i, r)),
            })
            .map(|(i, _)| i);
        let (mut test, mut test_model) = (None, None);
        if let Some(b) = best {
            let spec = &specs[b];
            let model = if spec.refit_for_test() {
                let prep = &self.stages.prepared;
                spec.fit(&FitData {
                    frame: &prep.scaled,
                    train_end: prep.split.val_end,
                    val_end: None,
                })
            } else {
                points[b]
                    .fitted
                    .take()
                    .ok_or_else(|| ModelError::BadInput("no fitted model".into()))
            };
            match model.and_then(|m| self.evaluate(m.as_ref(), true).map(|ev| (ev, m))) {
                Ok((ev, m)) => {
                    test = Some(ev);
                    test_model = Some(m);
                }
                Err(e) => {
                    warn!(spec = %spec.spec(), "test evaluation of the family's best point failed: {e}");
                    points[b].error = Some(format!("test evaluation failed: {e}"));
                }
            }
        }
        FamilyResult {
            family,
            points,
            best,
            test,
            test_model,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

/// The grid of a family as boxed specs; `None` when this build cannot run the family.
pub fn family_specs(family: Family, _cfg: &Config) -> Option<Vec<Box<dyn Forecaster>>> {
    use crate::models::{mstl::Mstl, naive::SeasonalNaive};
    match family {
        Family::SeasonalNaive => Some(vec![Box::new(SeasonalNaive { period: 7 })]),
        Family::Mstl => Some(vec![Box::new(Mstl { period: 7 })]),
        Family::Arima | Family::Sarimax | Family::Lstm => None,
    }
}

/// Simplicity rank for tie-breaks across families (lower is simpler).
fn simplicity(f: Family) -> usize {
    match f {
        Family::SeasonalNaive => 0,
        Family::Arima => 1,
        Family::Mstl => 2,
        Family::Sarimax => 3,
        Family::Lstm => 4,
    }
}

/// Index of the lowest test RMSE; ties go to the simpler family.
pub fn select_winner(families: &[FamilyResult]) -> Option<usize> {
    families
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            f.test
                .as_ref()
                .map(|t| (i, t.metrics.rmse, simplicity(f.family)))
        })
        .filter(|(_, r, _)| r.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|(i, _, _)| i)
}

/// Runs the whole train command.
pub fn run(cfg: &Config, _opts: &TrainOptions) -> Result<TrainReport> {
    let stages = pipeline::run_data_stages(cfg)?;
    pipeline::write_outputs(cfg, &stages)?;
    let ctx = EvalContext::new(cfg, &stages)?;

    let mut order = cfg.families.clone();
    // The baseline is always evaluated and reported (protocol §4).
    if !order.contains(&Family::SeasonalNaive) {
        order.insert(0, Family::SeasonalNaive);
    }
    let mut families = Vec::new();
    let mut skipped = Vec::new();
    for fam in order {
        let Some(specs) = family_specs(fam, cfg) else {
            warn!(
                family = fam.as_str(),
                "family `{}` is not built yet in this version; skipped",
                fam.as_str()
            );
            skipped.push(fam.as_str().to_string());
            continue;
        };
        let parallel = fam != Family::Lstm;
        let result = ctx.run_family(fam, &specs, parallel);
        match result.best_point() {
            Some(p) => info!(
                family = fam.as_str(),
                best = %p.spec,
                seconds = result.seconds,
                "family done"
            ),
            None => warn!(family = fam.as_str(), "every grid point failed"),
        }
        families.push(result);
    }
    let winner = select_winner(&families);
    match winner {
        Some(w) => {
            info!(winner = %families[w].best_point().map(|p| p.spec.as_str()).unwrap_or(""), "selection by test RMSE")
        }
        None => anyhow::bail!("no family produced a test evaluation; see the warnings above"),
    }
    drop(ctx);
    let report = TrainReport {
        stages,
        families,
        winner,
        skipped,
    };
    let plots = write_plots(cfg, &report)?;
    info!(
        files = plots.len(),
        "plots written to {}",
        cfg.paths.artifacts_dir.display()
    );
    Ok(report)
}

/// Writes the test-forecast and per-step RMSE charts (PNG and SVG) into the artifacts folder.
pub fn write_plots(cfg: &Config, report: &TrainReport) -> Result<Vec<std::path::PathBuf>> {
    use crate::plots::{self, Band};
    let prep = &report.stages.prepared;
    let real = &prep.real;
    let s = prep.split;
    let y = real.target();
    // Recent history before the test segment, then the test actuals.
    let from = s.val_end.saturating_sub(90);
    let history: Vec<_> = (from..s.n).map(|i| (real.dates[i], y[i])).collect();
    let mut bands = Vec::new();
    let mut steps = Vec::new();
    for f in &report.families {
        let (Some(p), Some(t)) = (f.best_point(), &f.test) else {
            continue;
        };
        // The 1-day-ahead forecast from every test origin, as one continuous line.
        let one = t.forecasts.iter().filter(|o| !o.mean.is_empty());
        bands.push(Band {
            name: format!("{} {}", f.family.as_str(), p.spec),
            dates: one.clone().map(|o| real.dates[o.origin + 1]).collect(),
            mean: one.clone().map(|o| o.mean[0]).collect(),
            lower: one.clone().map(|o| o.lower[0]).collect(),
            upper: one.map(|o| o.upper[0]).collect(),
        });
        steps.push((f.family.as_str().to_string(), t.step_rmse.clone()));
    }
    let dir = &cfg.paths.artifacts_dir;
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = dir.join(format!("test_forecast.{ext}"));
        plots::write_atomically(&path, |p| {
            plots::forecast_chart(
                p,
                "Test segment: 1-day-ahead rolling forecasts (95% bands)",
                &history,
                &bands,
            )
        })
        .map_err(anyhow::Error::msg)?;
        written.push(path);
        let path = dir.join(format!("step_rmse.{ext}"));
        plots::write_atomically(&path, |p| plots::step_rmse_chart(p, &steps))
            .map_err(anyhow::Error::msg)?;
        written.push(path);
    }
    Ok(written)
}

/// The leaderboard as a text table.
pub fn leaderboard(report: &TrainReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<2}{:<15} {:<34} {:>11} {:>11} {:>7} {:>6} {:>8}\n",
        "", "family", "best spec", "val RMSE", "test RMSE", "MAPE%", "MASE", "time s"
    ));
    for (i, f) in report.families.iter().enumerate() {
        let mark = if Some(i) == report.winner { "*" } else { "" };
        match (f.best_point(), &f.test) {
            (Some(p), Some(t)) => out.push_str(&format!(
                "{:<2}{:<15} {:<34} {:>11.2} {:>11.2} {:>7.2} {:>6.3} {:>8.3}\n",
                mark,
                f.family.as_str(),
                p.spec,
                p.val.as_ref().map(|v| v.metrics.rmse).unwrap_or(f64::NAN),
                t.metrics.rmse,
                t.metrics.mape,
                t.metrics.mase,
                f.seconds
            )),
            _ => out.push_str(&format!(
                "{:<2}{:<15} {:<34}\n",
                "",
                f.family.as_str(),
                "(every grid point failed)"
            )),
        }
    }
    out
}
