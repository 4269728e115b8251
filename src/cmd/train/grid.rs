//! One series' grids: every grid point fitted on train and judged on validation by the
//! rolling-origin backtest, the family's best point judged on test, and the winner across
//! families (protocol §4).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use crate::config::Config;
use crate::data::pipeline::DataStages;
use crate::eval::backtest::{self, Evaluation};
use crate::eval::calibration::{self, Calibration};
use crate::eval::exog::{FutureTable, WEEK};
use crate::eval::metrics::seasonal_naive_mae;
use crate::models::Family;
use crate::models::{FitData, FitInfo, FittedForecaster, Forecaster, ModelError, family};

/// One grid point's validation result.
#[derive(Serialize)]
pub struct PointResult {
    pub spec: String,
    pub params: Vec<(String, String)>,
    /// The drivers its model reads.
    pub drivers: Vec<String>,
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
    /// Test evaluation, its intervals calibrated on the best point's validation errors.
    pub test: Option<Evaluation>,
    #[serde(skip)]
    pub test_model: Option<Arc<dyn FittedForecaster>>,
    /// The split-conformal calibration from the best point's validation backtest (§4.4),
    /// which the test evaluation and the bundle's forecasts use.
    pub calibration: Option<Calibration>,
    pub seconds: f64,
}

impl FamilyResult {
    pub fn best_point(&self) -> Option<&PointResult> {
        self.best.map(|i| &self.points[i])
    }
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
        // Only the drivers some family's models read need future values at every origin:
        // forecasting any other driver would be wasted work.
        let mut read = Vec::new();
        for &f in &cfg.families {
            read.extend(family::get(f)?.drivers(&cfg.models));
        }
        let exog: Vec<crate::data::Exog> = cfg
            .drivers()
            .into_iter()
            .filter(|e| read.contains(&e.name))
            .collect();
        crate::eval::exog::log_policies(&exog);
        let val_future = FutureTable::build(&prep.scaled, &exog, &val_origins, h)
            .context("forecasting exogenous columns at the validation origins")?;
        let test_future = FutureTable::build(&prep.scaled, &exog, &test_origins, h)
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
            val_scale: seasonal_naive_mae(&y[..s.train_end], WEEK),
            test_scale: seasonal_naive_mae(&y[..s.val_end], WEEK),
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

    /// The calibration (§4.4) from a best point's validation backtest `val`, applied to its
    /// test evaluation `test`.
    pub fn calibrate(
        &self,
        val: Option<&Evaluation>,
        test: &mut Evaluation,
    ) -> Option<Calibration> {
        let actual = self.stages.prepared.real.target();
        let c = calibration::from_evaluation(val?, actual);
        calibration::apply(&c, test, actual, self.cfg.interval_level, self.test_scale);
        Some(c)
    }

    /// Fits one grid point on train and evaluates it on validation; errors are kept.
    pub fn run_point(&self, model: &dyn Forecaster, bar: &indicatif::ProgressBar) -> PointResult {
        let r = self.run_point_inner(model);
        bar.inc(1);
        r
    }

    fn run_point_inner(&self, model: &dyn Forecaster) -> PointResult {
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
            drivers: model.drivers(),
            fit_seconds,
            info,
            val,
            error,
            fitted,
        }
    }

    /// Runs a whole grid on all cores, picks the best point by validation RMSE and evaluates
    /// it on test.
    pub fn run_family(
        &self,
        family: Family,
        specs: &[Box<dyn Forecaster>],
        bar: &indicatif::ProgressBar,
    ) -> FamilyResult {
        let t0 = Instant::now();
        // Collecting a parallel iterator keeps grid order, so results do not depend on the
        // thread count.
        let mut points: Vec<PointResult> = specs
            .par_iter()
            .map(|m| self.run_point(m.as_ref(), bar))
            .collect();
        let best = best_by_val(&points);
        let (mut test, mut test_model, mut calibration) = (None, None, None);
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
                Ok((mut ev, m)) => {
                    calibration = self.calibrate(points[b].val.as_ref(), &mut ev);
                    test = Some(ev);
                    test_model = Some(Arc::from(m));
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
            calibration,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

/// Index of the point with the lowest validation RMSE. Strictly smaller wins, so ties keep
/// the earlier (simpler) grid point.
pub fn best_by_val(points: &[PointResult]) -> Option<usize> {
    points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.val.as_ref().map(|v| (i, v.metrics.rmse)))
        .filter(|(_, r)| r.is_finite())
        .fold(None, |acc: Option<(usize, f64)>, (i, r)| match acc {
            Some((_, br)) if br <= r => acc,
            _ => Some((i, r)),
        })
        .map(|(i, _)| i)
}

/// Rank of `f` for tie-breaks (lower is simpler); a family that is not available ranks last.
fn simplicity(f: Family) -> u32 {
    family::get(f).map_or(u32::MAX, |m| m.simplicity())
}

/// Index of the lowest test RMSE; ties go to the simpler family.
pub fn select_winner(families: &[FamilyResult]) -> Option<usize> {
    select_by(families, |f| f.test.as_ref().map(|t| t.metrics.rmse))
}

/// The family with the lowest validation RMSE of its best point among those with a test
/// evaluation, ties to the simpler: how a segment picks its base forecasts, so that the
/// reconciliation chosen and calibrated on validation reads nothing of test.
pub fn select_by_validation(families: &[FamilyResult]) -> Option<usize> {
    select_by(families, |f| {
        f.test.as_ref()?;
        f.best_point()?.val.as_ref().map(|v| v.metrics.rmse)
    })
}

fn select_by(
    families: &[FamilyResult],
    score: impl Fn(&FamilyResult) -> Option<f64>,
) -> Option<usize> {
    families
        .iter()
        .enumerate()
        .filter_map(|(i, f)| score(f).map(|r| (i, r, simplicity(f.family))))
        .filter(|(_, r, _)| r.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|(i, _, _)| i)
}
