//! Rolling-origin evaluation shared by every family (protocol §4).
//!
//! For every origin o in a segment (o = last observed day) the fitted model forecasts
//! o+1..o+H with its parameters fixed; only steps inside the segment are scored. Metrics are
//! over all (origin, step) pairs, in real units.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::data::preprocess::Prepared;
use crate::eval::metrics::{Metrics, rmse};
use crate::models::{FittedForecaster, Forecast, FutureInputs, ModelError};

/// Origins whose first forecast step lies in `segment`: o = start−1 ..= end−2.
pub fn origins(segment: &Range<usize>) -> Vec<usize> {
    if segment.start == 0 || segment.end < segment.start + 1 {
        return Vec::new();
    }
    (segment.start - 1..segment.end - 1).collect()
}

/// Forecasts of one origin in real units, trimmed to the steps inside the segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginForecast {
    pub origin: usize,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl OriginForecast {
    /// Point forecasts whose interval is the point itself (until it is calibrated).
    pub fn point(origin: usize, mean: Vec<f64>) -> OriginForecast {
        OriginForecast {
            origin,
            lower: mean.clone(),
            upper: mean.clone(),
            mean,
        }
    }
}

/// The result of a rolling-origin evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub metrics: Metrics,
    /// RMSE of step h (index h−1) over every origin that has it inside the segment.
    pub step_rmse: Vec<f64>,
    pub forecasts: Vec<OriginForecast>,
}

impl Evaluation {
    /// Forecasts not scored yet (metrics empty): a reconciled backtest before calibration.
    pub fn unscored(forecasts: Vec<OriginForecast>) -> Evaluation {
        Evaluation {
            metrics: Metrics::compute(&[], &[], &[], &[], 1.0, 0.95),
            step_rmse: Vec::new(),
            forecasts,
        }
    }
}

/// Runs the rolling-origin evaluation of `model` over `segment` of `prep`.
///
/// `future(o)` supplies the exogenous inputs for the H steps after origin o (already in
/// scaled space); `mase_scale` is the in-sample seasonal-naive MAE of the fitting rows in
/// real units.
pub fn evaluate(
    model: &dyn FittedForecaster,
    prep: &Prepared,
    segment: Range<usize>,
    horizon: usize,
    level: f64,
    future: &dyn Fn(usize) -> FutureInputs,
    mase_scale: f64,
) -> Result<Evaluation, ModelError> {
    let os = origins(&segment);
    if os.is_empty() || horizon == 0 {
        return Err(ModelError::BadInput(format!(
            "nothing to evaluate: segment {segment:?} with horizon {horizon}"
        )));
    }
    let last_needed = segment.end - 1;
    let data = prep.scaled.rows(0..last_needed + 1);
    let raw: Vec<Forecast> = model.forecast_origins(&data, &os, future, horizon, level)?;
    if raw.len() != os.len() {
        return Err(ModelError::BadInput(format!(
            "model returned {} forecasts for {} origins",
            raw.len(),
            os.len()
        )));
    }
    let t = prep.target_index();
    let mut forecasts = Vec::with_capacity(os.len());
    for (&o, f) in os.iter().zip(&raw) {
        let steps = horizon.min(segment.end - 1 - o);
        if f.mean.len() < steps || f.lower.len() < steps || f.upper.len() < steps {
            return Err(ModelError::BadInput(format!(
                "model returned {} steps at origin {o}, expected {steps}",
                f.mean.len()
            )));
        }
        forecasts.push(OriginForecast {
            origin: o,
            mean: prep.scaler.inverse(t, &f.mean[..steps]),
            lower: prep.scaler.inverse(t, &f.lower[..steps]),
            upper: prep.scaler.inverse(t, &f.upper[..steps]),
        });
    }
    score(forecasts, prep.real.target(), horizon, level, mase_scale)
}

/// Scores forecasts already in real units against `actual` (the whole real-unit target):
/// metrics over every (origin, step) pair and RMSE per step.
pub fn score(
    forecasts: Vec<OriginForecast>,
    actual: &[f64],
    horizon: usize,
    level: f64,
    mase_scale: f64,
) -> Result<Evaluation, ModelError> {
    let (mut act, mut pred, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut per_step: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); horizon];
    for of in &forecasts {
        for h in 0..of.mean.len().min(horizon) {
            let a = actual[of.origin + 1 + h];
            act.push(a);
            pred.push(of.mean[h]);
            lo.push(of.lower[h]);
            hi.push(of.upper[h]);
            per_step[h].0.push(a);
            per_step[h].1.push(of.mean[h]);
        }
    }
    if let Some(i) = pred.iter().position(|p| !p.is_finite()) {
        return Err(ModelError::Numerical {
            spec: "backtest".into(),
            reason: format!("non-finite forecast at pair {i}"),
        });
    }
    Ok(Evaluation {
        metrics: Metrics::compute(&act, &pred, &lo, &hi, mase_scale, level),
        step_rmse: per_step.iter().map(|(a, p)| rmse(a, p)).collect(),
        forecasts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_cover_the_segment() {
        assert_eq!(origins(&(10..14)), vec![9, 10, 11, 12]);
        assert!(origins(&(0..5)).is_empty());
    }
}
