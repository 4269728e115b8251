//! MSTL(7) with an AutoETS trend model (augurs): an extra contender, and the forecaster of
//! `forecast`-policy exogenous columns (protocol §5).
//!
//! MSTL has no fixed parameters to filter new data with: its decomposition and the ETS trend
//! model are re-estimated from the data up to each origin. That still uses nothing after the
//! origin, which is what the backtest's fairness rests on.

use std::path::Path;

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use serde::{Deserialize, Serialize};

use super::{
    FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError,
};

/// The AutoETS search for the non-seasonal part: additive errors, trend none / additive /
/// damped additive (ETS "AZN").
///
/// MSTL is an additive decomposition (y = trend + seasonal + remainder), so what is left for
/// the ETS model is an additive signal: multiplicative-error models of it are a mismatch, and
/// on min-max scaled data (which touches 0) they also break whenever a value nears zero. They
/// were also the expensive half of the search (a logarithm per observation per likelihood
/// evaluation: `log` was ~32% of the CPU samples of a train without the LSTM family), and the
/// search runs at every origin; "AZN" fits in less than half the time of "ZZN".
/// Saved in every bundle that forecasts with it, so a model keeps the search it was judged with.
pub const ETS_SEARCH: &str = "AZN";

/// The search of bundles saved before [`ETS_SEARCH`] was recorded (augurs' `non_seasonal`).
pub fn legacy_ets_search() -> String {
    "ZZN".to_string()
}

/// [`forecast_with`] using the current [`ETS_SEARCH`].
pub fn forecast_series(
    y: &[f64],
    period: usize,
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelError> {
    forecast_with(y, period, horizon, level, ETS_SEARCH)
}

/// Fits MSTL(period) + AutoETS (non-seasonal search `ets`, e.g. "AZN") trend on `y` and
/// forecasts `horizon` steps.
pub fn forecast_with(
    y: &[f64],
    period: usize,
    horizon: usize,
    level: f64,
    ets: &str,
) -> Result<Forecast, ModelError> {
    let spec = format!("MSTL({period})+AutoETS");
    if y.len() < 2 * period + 2 {
        return Err(ModelError::Unsupported {
            spec,
            reason: format!(
                "needs at least {} observations, got {}",
                2 * period + 2,
                y.len()
            ),
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::BadInput(format!(
            "{spec}: non-finite value at position {i}"
        )));
    }
    let search = AutoETS::new(1, ets)
        .map_err(|e| ModelError::BadInput(format!("{spec}: AutoETS search `{ets}`: {e}")))?;
    let model = MSTLModel::new(vec![period], search.into_trend_model());
    let fitted = model.fit(y).map_err(|e| ModelError::Numerical {
        spec: spec.clone(),
        reason: e.to_string(),
    })?;
    let f = fitted
        .predict(horizon, level)
        .map_err(|e| ModelError::Numerical {
            spec: spec.clone(),
            reason: e.to_string(),
        })?;
    let (lower, upper) = match f.intervals {
        Some(iv) => (iv.lower, iv.upper),
        None => (f.point.clone(), f.point.clone()),
    };
    if f.point.len() != horizon || f.point.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::Numerical {
            spec,
            reason: "non-finite or short forecast".into(),
        });
    }
    Ok(Forecast {
        mean: f.point,
        lower,
        upper,
        level,
    })
}

/// The `mstl` family: one spec, the season length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mstl {
    pub period: usize,
}

/// "Fitted" MSTL: the settings, re-estimated on the history at each forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMstl {
    pub period: usize,
    /// AutoETS search of the trend model.
    #[serde(default = "legacy_ets_search")]
    pub ets: String,
}

impl Forecaster for Mstl {
    fn family(&self) -> &'static str {
        "mstl"
    }
    fn spec(&self) -> String {
        format!("MSTL({})+AutoETS", self.period)
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("period".into(), self.period.to_string()),
            ("trend_model".into(), "AutoETS(non-seasonal)".into()),
        ]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        // Fit once on the fitting rows so a spec the data cannot support fails here, at fit
        // time, like every other family.
        forecast_series(&data.frame.target()[..data.train_end], self.period, 1, 0.95)?;
        Ok(Box::new(FittedMstl {
            period: self.period,
            ets: ETS_SEARCH.to_string(),
        }))
    }
}

impl FittedMstl {
    pub fn load(dir: &Path) -> Result<FittedMstl, ModelError> {
        super::load_json(dir, "params.json")
    }
}

impl FittedForecaster for FittedMstl {
    fn forecast(
        &self,
        history: &Frame,
        _future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        forecast_with(history.target(), self.period, horizon, level, &self.ets)
    }

    fn forecast_origins(
        &self,
        data: &Frame,
        origins: &[usize],
        _future: &dyn Fn(usize) -> FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Vec<Forecast>, ModelError> {
        use rayon::prelude::*;
        let y = data.target();
        // Independent refits per origin: parallel, and order-preserving so results do not
        // depend on the thread count.
        origins
            .par_iter()
            .map(|&o| forecast_with(&y[..=o], self.period, horizon, level, &self.ets))
            .collect()
    }

    fn info(&self) -> FitInfo {
        FitInfo {
            converged: true,
            iterations: 0,
            message: "re-estimated at each origin".into(),
            ..FitInfo::default()
        }
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        super::save_json(dir, "params.json", self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_keep_the_ets_search_they_were_judged_with() {
        // Saved before the search was recorded: augurs' non-seasonal default.
        let old: FittedMstl = serde_json::from_str(r#"{"period":7}"#).unwrap();
        assert_eq!(old.ets, "ZZN");
        let y: Vec<f64> = (0..60)
            .map(|t| 10.0 + (t % 7) as f64 + 0.1 * t as f64)
            .collect();
        let frame = Frame {
            dates: (0..60)
                .map(|d| {
                    chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(d)
                })
                .collect(),
            names: vec!["y".into()],
            cols: vec![y],
            target: "y".into(),
        };
        let fitted = Mstl { period: 7 }
            .fit(&FitData {
                frame: &frame,
                train_end: 50,
                val_end: Some(60),
            })
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        assert_eq!(FittedMstl::load(dir.path()).unwrap().ets, ETS_SEARCH);
        assert!(forecast_with(&frame.cols[0], 7, 3, 0.9, "XYZ").is_err());
    }
}
