//! A registered version judged on days it was not fitted on: the rolling-origin backtest of
//! protocol §4 with the version's parameters fixed, over a daily series the caller chooses
//! (its own history, or history plus newer rows). `promote` compares two versions this way on
//! the same days.

use std::path::Path;

use anyhow::{Result, bail};
use chrono::NaiveDate;

use crate::data::Daily;
use crate::data::preprocess::{Split, prepare_with};
use crate::eval::backtest;
use crate::eval::exog::FutureTable;
use crate::eval::metrics::{Metrics, seasonal_naive_mae};
use crate::models::WEEK;

use super::ModelVersion;

/// How a version forecast the scored days.
#[derive(Debug, Clone)]
pub struct Score {
    pub metrics: Metrics,
    pub step_rmse: Vec<f64>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Each scored day's one-day-ahead forecast (from the day before) and its actual.
    pub one_day: Vec<DayForecast>,
}

/// One day's actual beside the forecast made the day before, in real units.
#[derive(Debug, Clone, PartialEq)]
pub struct DayForecast {
    pub date: NaiveDate,
    pub actual: f64,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Scores `v` on the days of `daily` from `from` on: every origin from the day before `from`
/// forecasts `horizon` days with the model's parameters fixed, conditioned on everything up
/// to the origin; known drivers take their actual values, forecast ones are forecast at the
/// origin, intervals are the bundle's calibrated ones (protocol §4.4).
pub fn score(
    v: &ModelVersion,
    daily: &Daily,
    from: NaiveDate,
    horizon: usize,
    level: f64,
) -> Result<Score> {
    let m = &v.model;
    let spec = &m.spec;
    let features = super::model_features(m, daily, Path::new("the scoring data"))?;
    let Some(start) = features.dates.iter().position(|d| *d >= from) else {
        bail!("no day on or after {from} to score");
    };
    if start == 0 {
        bail!("no history before {from} to forecast from");
    }
    let n = features.len();
    // Everything before the first scored day conditions the forecasts; nothing is fitted.
    let split = Split {
        train_end: start,
        val_end: start,
        n,
    };
    let prep = prepare_with(&features, split, m.scaler.clone());
    let segment = start..n;
    let origins = backtest::origins(&segment);
    let exog: Vec<_> = spec
        .exog
        .iter()
        .filter(|e| spec.model_exog.contains(&e.name))
        .cloned()
        .collect();
    let table = FutureTable::build(&prep.scaled, &exog, &origins, horizon)?;
    let y = prep.real.target().to_vec();
    let mase_scale = seasonal_naive_mae(&y[..start], WEEK);
    let mut ev = backtest::evaluate(
        m.fitted.as_ref(),
        &prep,
        segment,
        horizon,
        level,
        &|o| table.get(o),
        mase_scale,
    )?;
    if let Some(c) = &m.calibration {
        crate::eval::calibration::apply(c, &mut ev, &y, level, mase_scale);
    }
    let one_day = ev
        .forecasts
        .iter()
        .filter(|f| !f.mean.is_empty())
        .map(|f| DayForecast {
            date: features.dates[f.origin + 1],
            actual: y[f.origin + 1],
            mean: f.mean[0],
            lower: f.lower[0],
            upper: f.upper[0],
        })
        .collect();
    Ok(Score {
        metrics: ev.metrics,
        step_rmse: ev.step_rmse,
        first_day: features.dates[start],
        last_day: features.dates[n - 1],
        one_day,
    })
}
