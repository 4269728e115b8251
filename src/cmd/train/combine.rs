//! The `combination` family's grid (protocol §4.9): the mean of the k family bests with the
//! lowest validation RMSE, for k = 2 … all, judged like every grid point. The members'
//! validation and test forecasts are averaged as they are, so nothing is refitted.

use std::sync::Arc;
use std::time::Instant;

use tracing::warn;

use super::grid::{EvalContext, FamilyResult, PointResult};
use crate::eval::backtest::{self, Evaluation, OriginForecast};
use crate::eval::calibration::Calibration;
use crate::models::combination::{self, Combination, Member};
use crate::models::{Family, FitInfo, FittedForecaster};

/// A family best that can join: validated, tested and with its test model.
struct Candidate<'a> {
    family: Family,
    spec: &'a str,
    drivers: &'a [String],
    val: &'a Evaluation,
    test: &'a Evaluation,
    model: Arc<dyn FittedForecaster>,
}

/// The element-wise mean of the members' forecasts at each origin; `None` when the members
/// did not forecast the same origins and steps (then they cannot be averaged).
fn mean_forecasts(evals: &[&Evaluation]) -> Option<Vec<OriginForecast>> {
    let first = evals.first()?;
    let mut out = Vec::with_capacity(first.forecasts.len());
    for (k, f0) in first.forecasts.iter().enumerate() {
        let at: Vec<&OriginForecast> = evals
            .iter()
            .map(|e| e.forecasts.get(k))
            .collect::<Option<_>>()?;
        if at
            .iter()
            .any(|f| f.origin != f0.origin || f.mean.len() != f0.mean.len())
        {
            return None;
        }
        let avg = |pick: fn(&OriginForecast) -> &[f64]| {
            combination::mean(&at.iter().map(|f| pick(f)).collect::<Vec<_>>())
        };
        out.push(OriginForecast {
            origin: f0.origin,
            mean: avg(|f| &f.mean),
            lower: avg(|f| &f.lower),
            upper: avg(|f| &f.upper),
        });
    }
    (evals.iter().all(|e| e.forecasts.len() == out.len())).then_some(out)
}

impl EvalContext<'_> {
    /// The combination family's result over the other families' results.
    pub fn run_combination(&self, families: &[FamilyResult]) -> FamilyResult {
        let t0 = Instant::now();
        let mut cands: Vec<Candidate> = families
            .iter()
            .filter_map(|f| {
                let p = f.best_point()?;
                Some(Candidate {
                    family: f.family,
                    spec: &p.spec,
                    drivers: &p.drivers,
                    val: p.val.as_ref()?,
                    test: f.test.as_ref()?,
                    model: f.test_model.clone()?,
                })
            })
            .filter(|c| c.val.metrics.rmse.is_finite())
            .collect();
        // Stable: equal validation RMSEs keep the families' order.
        cands.sort_by(|a, b| a.val.metrics.rmse.total_cmp(&b.val.metrics.rmse));
        let points: Vec<PointResult> = (2..=cands.len())
            .map(|k| self.combination_point(&cands[..k]))
            .collect();
        if points.is_empty() {
            warn!("combination: needs at least two families with a tested best");
        }
        let best = super::grid::best_by_val(&points);
        let tested = best.and_then(|b| self.test_combination(&cands[..b + 2], &points[b]));
        let (test, test_model, calibration) = match tested {
            Some((ev, model, cal)) => (Some(ev), Some(model), cal),
            None => (None, None, None),
        };
        FamilyResult {
            family: Family::Combination,
            points,
            best,
            test,
            test_model,
            calibration,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }

    /// The grid point of the mean of `members`, judged on validation.
    fn combination_point(&self, members: &[Candidate]) -> PointResult {
        let (actual, level) = (self.stages.prepared.real.target(), self.cfg.interval_level);
        let names: Vec<&str> = members.iter().map(|c| c.family.as_str()).collect();
        let mut drivers: Vec<String> = Vec::new();
        for d in members.iter().flat_map(|c| c.drivers) {
            if !drivers.contains(d) {
                drivers.push(d.clone());
            }
        }
        let vals: Vec<&Evaluation> = members.iter().map(|c| c.val).collect();
        let val = mean_forecasts(&vals)
            .ok_or_else(|| "the members forecast different origins".to_string())
            .and_then(|fs| {
                backtest::score(fs, actual, self.cfg.forecast_days, level, self.val_scale)
                    .map_err(|e| e.to_string())
            });
        let (val, error) = match val {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        PointResult {
            spec: format!("Mean({})", names.join(", ")),
            params: vec![
                ("members".to_string(), names.join(",")),
                (
                    "member_specs".to_string(),
                    members
                        .iter()
                        .map(|c| c.spec)
                        .collect::<Vec<_>>()
                        .join(" | "),
                ),
            ],
            drivers,
            fit_seconds: 0.0,
            info: Some(FitInfo {
                converged: true,
                message: format!("mean of {} family bests", members.len()),
                ..FitInfo::default()
            }),
            val,
            error,
            fitted: None,
        }
    }

    /// The test evaluation of the best point (calibrated on its validation errors) and its
    /// model; `None` when the members' test backtests cannot be averaged.
    fn test_combination(
        &self,
        members: &[Candidate],
        point: &PointResult,
    ) -> Option<(Evaluation, Arc<dyn FittedForecaster>, Option<Calibration>)> {
        let (actual, level) = (self.stages.prepared.real.target(), self.cfg.interval_level);
        let tests: Vec<&Evaluation> = members.iter().map(|c| c.test).collect();
        let scored = mean_forecasts(&tests).and_then(|fs| {
            backtest::score(fs, actual, self.cfg.forecast_days, level, self.test_scale).ok()
        });
        let Some(mut ev) = scored else {
            warn!("the combination's members forecast different test origins");
            return None;
        };
        let cal = self.calibrate(point.val.as_ref(), &mut ev);
        let model = Combination {
            members: members
                .iter()
                .map(|c| Member {
                    family: c.family,
                    spec: c.spec.to_string(),
                    model: c.model.clone(),
                })
                .collect(),
        };
        Some((ev, Arc::new(model), cal))
    }
}
