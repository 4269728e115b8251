//! Intermittent-demand family (issue 15): Croston's method, its SBA correction, TSB and
//! ADIDA, for segment series that are zero on many days (no campaign ran). Each forecasts a
//! flat daily rate, recomputed from the whole history up to the origin with its settings (and
//! ADIDA's fitted α and aggregation level) fixed.
//!
//! The recursions follow statsforecast 2.1.1 (`CrostonClassic`, `CrostonSBA`, `TSB`, `ADIDA`):
//! SES started at the first value of the vector it smooths; Croston's demand sizes and
//! inter-demand intervals (the first interval counts the periods up to and including the
//! first demand) smoothed with α = 0.1; SBA multiplies by 0.95; TSB smooths the demand
//! probability every day and the size on demand days; ADIDA sums non-overlapping buckets of
//! the mean inter-demand interval (the oldest remainder dropped), smooths them by SES with α
//! minimising the in-sample squared error on [0.1, 0.3], and divides by the bucket length.
//!
//! "No demand" is a value at or below the fitting rows' minimum: in the min-max scaled space
//! the models see, that is exactly zero revenue whenever the fitting rows have a zero day.
//! The intervals here are a rough ±z·σ of the one-step errors; training replaces them with
//! the split-conformal ones (protocol §4.4), as for every family.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::family::{ModelFamily, ModelsConfig};
use super::{
    Family, FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs,
    ModelError,
};
use crate::util::stats::z_for_level;

/// One intermittent-demand method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    Croston,
    CrostonSba,
    Tsb { alpha_d: f64, alpha_p: f64 },
    Adida,
}

impl Method {
    fn spec(&self) -> String {
        match self {
            Method::Croston => "Croston".into(),
            Method::CrostonSba => "CrostonSBA".into(),
            Method::Tsb { alpha_d, alpha_p } => {
                format!("TSB(alpha_d={alpha_d}, alpha_p={alpha_p})")
            }
            Method::Adida => "ADIDA".into(),
        }
    }
}

/// SES level after every value of `x`, started at `x[0]` (statsforecast's `_ses_forecast`).
pub fn ses(x: &[f64], alpha: f64) -> f64 {
    let mut level = x[0];
    for v in x {
        level = alpha * v + (1.0 - alpha) * level;
    }
    level
}

/// Sum of squared one-step SES errors (statsforecast's `_ses_sse`).
fn ses_sse(x: &[f64], alpha: f64) -> f64 {
    let mut f = x[0];
    let mut sse = 0.0;
    for i in 1..x.len() {
        f = alpha * x[i - 1] + (1.0 - alpha) * f;
        sse += (x[i] - f).powi(2);
    }
    sse
}

/// Golden-section search for the α in [0.1, 0.3] minimising [`ses_sse`], step for step as
/// statsforecast's `golden_section_ses`: it stops when the bracket is narrower than 1e-12 or
/// at an exact tie (a flat objective, e.g. two buckets, gives the middle, 0.2).
fn optimal_alpha(x: &[f64]) -> f64 {
    let gr = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (0.1f64, 0.3f64);
    let mut c = b - (b - a) / gr;
    let mut d = a + (b - a) / gr;
    let (mut fc, mut fd) = (ses_sse(x, c), ses_sse(x, d));
    // The bracket shrinks by 1/gr a step: 0.2 → 1e-12 takes about 55; the cap only guards
    // against a NaN objective.
    for _ in 0..200 {
        if (b - a).abs() < 1e-12 {
            break;
        }
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - (b - a) / gr;
            fc = ses_sse(x, c);
        } else if fd < fc {
            a = c;
            c = d;
            fc = fd;
            d = a + (b - a) / gr;
            fd = ses_sse(x, d);
        } else {
            break;
        }
    }
    (b + a) / 2.0
}

/// Demand sizes (excess over `zero`) and inter-demand intervals of `y`.
fn demands(y: &[f64], zero: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut sizes, mut intervals) = (Vec::new(), Vec::new());
    let mut last = 0usize; // index + 1 of the previous demand
    for (i, v) in y.iter().enumerate() {
        if *v > zero {
            sizes.push(v - zero);
            intervals.push((i + 1 - last) as f64);
            last = i + 1;
        }
    }
    (sizes, intervals)
}

/// The daily rate (excess over `zero`) each method forecasts from `y`; `adida` is the
/// fitted (aggregation level, α) of ADIDA.
fn rate(method: Method, y: &[f64], zero: f64, adida: Option<(usize, f64)>) -> f64 {
    let (sizes, intervals) = demands(y, zero);
    if sizes.is_empty() {
        return 0.0;
    }
    match method {
        Method::Croston | Method::CrostonSba => {
            let (z, p) = (ses(&sizes, 0.1), ses(&intervals, 0.1));
            let r = if p != 0.0 { z / p } else { z };
            if method == Method::CrostonSba {
                0.95 * r
            } else {
                r
            }
        }
        Method::Tsb { alpha_d, alpha_p } => {
            let prob: Vec<f64> = y.iter().map(|v| f64::from(u8::from(*v > zero))).collect();
            ses(&prob, alpha_p) * ses(&sizes, alpha_d)
        }
        Method::Adida => {
            let (k, alpha) = adida.unwrap_or((1, 0.1));
            let buckets = aggregate(y, zero, k);
            if buckets.is_empty() {
                return 0.0;
            }
            ses(&buckets, alpha) / k as f64
        }
    }
}

/// Sums of non-overlapping `k`-day buckets of the excess over `zero`, the oldest remainder
/// dropped so the last bucket ends at the origin.
fn aggregate(y: &[f64], zero: f64, k: usize) -> Vec<f64> {
    let start = y.len() % k;
    y[start..]
        .chunks(k)
        .map(|c| c.iter().map(|v| (v - zero).max(0.0)).sum())
        .collect()
}

/// Settings of one grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intermittent {
    pub method: Method,
}

/// A fitted point: the method, the "no demand" level, ADIDA's fitted (level, α) and σ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FittedIntermittent {
    pub method: Method,
    pub zero: f64,
    pub adida: Option<(usize, f64)>,
    pub sigma: f64,
}

impl Forecaster for Intermittent {
    fn family(&self) -> Family {
        Family::Intermittent
    }
    fn spec(&self) -> String {
        self.method.spec()
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![("method".to_string(), self.method.spec())];
        if let Method::Tsb { alpha_d, alpha_p } = self.method {
            p.push(("alpha_d".into(), alpha_d.to_string()));
            p.push(("alpha_p".into(), alpha_p.to_string()));
        }
        p
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let y = &data.frame.target()[..data.train_end];
        if y.len() < 2 {
            return Err(ModelError::Unsupported {
                spec: self.spec(),
                reason: format!("needs at least 2 observations, got {}", y.len()),
            });
        }
        let zero = y.iter().copied().fold(f64::INFINITY, f64::min);
        let adida = (self.method == Method::Adida).then(|| {
            let (_, intervals) = demands(y, zero);
            let k = if intervals.is_empty() {
                1
            } else {
                // Halves to even, as numpy's round (a mean interval of 2.5 aggregates by 2).
                (intervals.iter().sum::<f64>() / intervals.len() as f64)
                    .round_ties_even()
                    .max(1.0) as usize
            };
            let buckets = aggregate(y, zero, k);
            let alpha = if buckets.len() > 1 {
                optimal_alpha(&buckets)
            } else {
                0.1
            };
            (k, alpha)
        });
        // σ of the one-step errors over the second half of the fitting rows (the rate of
        // each day from the days before it), for the rough native interval.
        let from = (y.len() / 2).max(1);
        let ss: f64 = (from..y.len())
            .map(|t| (y[t] - zero - rate(self.method, &y[..t], zero, adida)).powi(2))
            .sum();
        let sigma = (ss / (y.len() - from) as f64).sqrt();
        Ok(Box::new(FittedIntermittent {
            method: self.method,
            zero,
            adida,
            sigma,
        }))
    }
}

impl FittedForecaster for FittedIntermittent {
    fn forecast(
        &self,
        history: &Frame,
        _future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let y = history.target();
        if y.is_empty() {
            return Err(ModelError::BadInput("no history to forecast from".into()));
        }
        let mean = self.zero + rate(self.method, y, self.zero, self.adida);
        let half = z_for_level(level) * self.sigma;
        Ok(Forecast {
            mean: vec![mean; horizon],
            lower: vec![mean - half; horizon],
            upper: vec![mean + half; horizon],
            level,
        })
    }

    fn info(&self) -> FitInfo {
        FitInfo::closed_form()
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        super::save_json(dir, "params.json", self)
    }
}

/// The `intermittent` family: Croston, Croston SBA, TSB (α 0.1/0.1 and 0.2/0.2) and ADIDA.
pub struct IntermittentFamily;
pub static FAMILY: IntermittentFamily = IntermittentFamily;

impl ModelFamily for IntermittentFamily {
    fn id(&self) -> &'static str {
        "intermittent"
    }
    fn simplicity(&self) -> u32 {
        1
    }
    fn specs(&self, _cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        let methods = [
            Method::Croston,
            Method::CrostonSba,
            Method::Tsb {
                alpha_d: 0.1,
                alpha_p: 0.1,
            },
            Method::Tsb {
                alpha_d: 0.2,
                alpha_p: 0.2,
            },
            Method::Adida,
        ];
        Ok(methods
            .into_iter()
            .map(|method| Box::new(Intermittent { method }) as Box<dyn Forecaster>)
            .collect())
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let f: FittedIntermittent = super::load_json(dir, "params.json")?;
        Ok(Box::new(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn croston_by_hand() {
        // Demands 5 (day 2), 3 (day 5), 2 (day 7): sizes [5, 3, 2], intervals [2, 3, 2].
        let y = [0.0, 5.0, 0.0, 0.0, 3.0, 0.0, 2.0, 0.0];
        let (s, i) = demands(&y, 0.0);
        assert_eq!(s, [5.0, 3.0, 2.0]);
        assert_eq!(i, [2.0, 3.0, 2.0]);
        // SES(0.1) from the first value: sizes 5 → 5 → 4.8 → 4.52; intervals 2 → 2 → 2.1 → 2.09.
        let z = 0.1 * 2.0 + 0.9 * (0.1 * 3.0 + 0.9 * 5.0);
        let p = 0.1 * 2.0 + 0.9 * (0.1 * 3.0 + 0.9 * 2.0);
        assert!((rate(Method::Croston, &y, 0.0, None) - z / p).abs() < 1e-15);
        assert!((rate(Method::CrostonSba, &y, 0.0, None) - 0.95 * z / p).abs() < 1e-15);
        assert_eq!(rate(Method::Croston, &[0.0; 5], 0.0, None), 0.0);
    }

    #[test]
    fn adida_buckets_end_at_the_origin() {
        let y = [9.0, 1.0, 0.0, 2.0, 0.0, 3.0, 1.0];
        assert_eq!(aggregate(&y, 0.0, 2), [1.0, 2.0, 4.0]);
        let a = optimal_alpha(&[1.0, 2.0, 4.0, 3.0, 5.0]);
        assert!((0.1..=0.3).contains(&a));
        // Two buckets: the SSE does not depend on α, so the search stops at the middle.
        assert_eq!(optimal_alpha(&[12.5, 0.0]), 0.2);
        // Mean interval 2.5 rounds to 2 (numpy's halves to even), as statsforecast's ADIDA:
        // buckets [1, 1] after dropping the oldest day, so the rate is 1 / 2.
        let y = [0.0, 1.0, 0.0, 0.0, 1.0];
        let frame = crate::data::Frame {
            dates: (0..5)
                .map(|i| chrono::NaiveDate::from_ymd_opt(2024, 1, 1 + i).unwrap())
                .collect(),
            names: vec!["y".into()],
            cols: vec![y.to_vec()],
            target: "y".into(),
        };
        let fit = Intermittent {
            method: Method::Adida,
        }
        .fit(&FitData {
            frame: &frame,
            train_end: 5,
            val_end: None,
        })
        .unwrap();
        let f = fit
            .forecast(&frame, &FutureInputs::default(), 1, 0.95)
            .unwrap();
        assert!((f.mean[0] - 0.5).abs() < 1e-12, "{:?}", f.mean);
    }
}
