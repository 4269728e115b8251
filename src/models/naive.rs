//! Seasonal-naive baseline: tomorrow is the same weekday last week.
//!
//! Forecast for step h from origin o: y[o + h − m·⌈h/m⌉]. Intervals use the usual
//! seasonal-naive formula: se_h = σ·√(⌊(h−1)/m⌋ + 1) with σ² the mean squared seasonal
//! difference on the fitting rows (Hyndman & Athanasopoulos, FPP3 §5.5).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::family::{ModelFamily, ModelsConfig};
use super::{Family, WEEK};
use super::{
    FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError,
};
use crate::util::stats::z_for_level;

/// Settings: the season length (7 for daily data with weekly seasonality).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeasonalNaive {
    pub period: usize,
}

/// Fitted state: the period and the residual scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FittedSeasonalNaive {
    pub period: usize,
    pub sigma: f64,
}

impl Forecaster for SeasonalNaive {
    fn family(&self) -> Family {
        Family::SeasonalNaive
    }
    fn spec(&self) -> String {
        format!("SeasonalNaive({})", self.period)
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![("period".into(), self.period.to_string())]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let m = self.period;
        let y = &data.frame.target()[..data.train_end];
        if m == 0 || y.len() <= m {
            return Err(ModelError::Unsupported {
                spec: self.spec(),
                reason: format!("needs more than {m} observations, got {}", y.len()),
            });
        }
        let ss: f64 = (m..y.len()).map(|i| (y[i] - y[i - m]).powi(2)).sum();
        let sigma = (ss / (y.len() - m) as f64).sqrt();
        Ok(Box::new(FittedSeasonalNaive { period: m, sigma }))
    }
}

impl FittedSeasonalNaive {
    pub fn load(dir: &Path) -> Result<FittedSeasonalNaive, ModelError> {
        super::load_json(dir, "params.json")
    }
}

impl FittedForecaster for FittedSeasonalNaive {
    fn forecast(
        &self,
        history: &Frame,
        _future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let y = history.target();
        let m = self.period;
        if y.len() < m {
            return Err(ModelError::BadInput(format!(
                "seasonal naive needs at least {m} days of history, got {}",
                y.len()
            )));
        }
        let o = y.len() - 1;
        let z = z_for_level(level);
        let (mut mean, mut lower, mut upper) = (
            Vec::with_capacity(horizon),
            Vec::with_capacity(horizon),
            Vec::with_capacity(horizon),
        );
        for h in 1..=horizon {
            let k = h.div_ceil(m);
            let v = y[o + h - m * k];
            let se = self.sigma * (((h - 1) / m + 1) as f64).sqrt();
            mean.push(v);
            lower.push(v - z * se);
            upper.push(v + z * se);
        }
        Ok(Forecast {
            mean,
            lower,
            upper,
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

/// The `seasonal_naive` family: one point, the weekly seasonal naive baseline (protocol §4).
pub struct SeasonalNaiveFamily;
pub static FAMILY: SeasonalNaiveFamily = SeasonalNaiveFamily;

impl ModelFamily for SeasonalNaiveFamily {
    fn id(&self) -> &'static str {
        "seasonal_naive"
    }
    fn simplicity(&self) -> u32 {
        0
    }
    fn specs(&self, _cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        Ok(vec![Box::new(SeasonalNaive { period: WEEK })])
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        Ok(Box::new(FittedSeasonalNaive::load(dir)?))
    }
}
