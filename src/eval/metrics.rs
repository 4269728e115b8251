//! Forecast accuracy metrics in real units (protocol §4).

use serde::{Deserialize, Serialize};

/// Root mean squared error. NaN for empty input.
pub fn rmse(actual: &[f64], pred: &[f64]) -> f64 {
    let n = actual.len().min(pred.len());
    if n == 0 {
        return f64::NAN;
    }
    let ss: f64 = actual
        .iter()
        .zip(pred)
        .map(|(a, p)| (a - p) * (a - p))
        .sum();
    (ss / n as f64).sqrt()
}

/// Mean absolute error. NaN for empty input.
pub fn mae(actual: &[f64], pred: &[f64]) -> f64 {
    let n = actual.len().min(pred.len());
    if n == 0 {
        return f64::NAN;
    }
    actual
        .iter()
        .zip(pred)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / n as f64
}

/// Mean absolute percentage error in %, skipping rows whose actual is 0. Returns the value
/// (NaN when every actual is 0) and how many rows were skipped.
pub fn mape(actual: &[f64], pred: &[f64]) -> (f64, usize) {
    let mut sum = 0.0;
    let (mut used, mut skipped) = (0usize, 0usize);
    for (a, p) in actual.iter().zip(pred) {
        if *a == 0.0 {
            skipped += 1;
        } else {
            sum += ((a - p) / a).abs();
            used += 1;
        }
    }
    let v = if used == 0 {
        f64::NAN
    } else {
        100.0 * sum / used as f64
    };
    (v, skipped)
}

/// Coefficient of determination 1 − SS_res / SS_tot (NaN when the actuals are constant).
pub fn r2(actual: &[f64], pred: &[f64]) -> f64 {
    let n = actual.len().min(pred.len());
    if n == 0 {
        return f64::NAN;
    }
    let mean = actual[..n].iter().sum::<f64>() / n as f64;
    let ss_tot: f64 = actual[..n].iter().map(|a| (a - mean) * (a - mean)).sum();
    let ss_res: f64 = actual
        .iter()
        .zip(pred)
        .map(|(a, p)| (a - p) * (a - p))
        .sum();
    if ss_tot == 0.0 {
        f64::NAN
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// In-sample MAE of the seasonal-naive forecast with period `m` on `train`: the scale of MASE.
pub fn seasonal_naive_mae(train: &[f64], m: usize) -> f64 {
    if m == 0 || train.len() <= m {
        return f64::NAN;
    }
    let diffs: Vec<f64> = (m..train.len())
        .map(|i| (train[i] - train[i - m]).abs())
        .collect();
    diffs.iter().sum::<f64>() / diffs.len() as f64
}

/// Mean absolute scaled error: MAE divided by `scale` (see [`seasonal_naive_mae`]).
pub fn mase(actual: &[f64], pred: &[f64], scale: f64) -> f64 {
    if scale.is_nan() || scale <= 0.0 {
        return f64::NAN;
    }
    mae(actual, pred) / scale
}

/// The full metric set of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rmse: f64,
    pub mae: f64,
    pub mape: f64,
    /// Rows left out of MAPE because the actual was 0.
    pub mape_skipped: usize,
    pub r2: f64,
    pub mase: f64,
    /// (origin, step) pairs evaluated.
    pub n: usize,
    /// Interval coverage: share of actuals inside [lower, upper].
    pub coverage: f64,
    /// Mean interval width (upper − lower), in the target's units.
    #[serde(default = "nan")]
    pub width: f64,
    /// Mean Winkler (interval) score at the evaluated level: the width, plus 2/α times the
    /// distance by which the actual falls outside (α = 1 − level). Lower is better; it
    /// rewards narrow intervals only while they cover.
    #[serde(default = "nan")]
    pub winkler: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// Mean Winkler score of central intervals at `level` (see [`Metrics::winkler`]).
pub fn winkler(actual: &[f64], lower: &[f64], upper: &[f64], level: f64) -> f64 {
    if actual.is_empty() {
        return f64::NAN;
    }
    let alpha = 1.0 - level;
    let total: f64 = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .map(|(&a, (&l, &u))| {
            let miss = if a < l {
                l - a
            } else if a > u {
                a - u
            } else {
                0.0
            };
            (u - l) + 2.0 / alpha * miss
        })
        .sum();
    total / actual.len() as f64
}

impl Metrics {
    /// Every metric of point forecasts `pred` and central intervals at `level` against
    /// `actual`; `scale` is the MASE denominator.
    pub fn compute(
        actual: &[f64],
        pred: &[f64],
        lower: &[f64],
        upper: &[f64],
        scale: f64,
        level: f64,
    ) -> Metrics {
        let (mape, mape_skipped) = mape(actual, pred);
        let inside = actual
            .iter()
            .zip(lower.iter().zip(upper))
            .filter(|(a, (l, u))| **a >= **l && **a <= **u)
            .count();
        Metrics {
            rmse: rmse(actual, pred),
            mae: mae(actual, pred),
            mape,
            mape_skipped,
            r2: r2(actual, pred),
            mase: mase(actual, pred, scale),
            n: actual.len(),
            coverage: if actual.is_empty() {
                f64::NAN
            } else {
                inside as f64 / actual.len() as f64
            },
            width: if actual.is_empty() {
                f64::NAN
            } else {
                upper.iter().zip(lower).map(|(u, l)| u - l).sum::<f64>() / actual.len() as f64
            },
            winkler: winkler(actual, lower, upper, level),
        }
    }
}
