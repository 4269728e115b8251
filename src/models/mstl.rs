//! MSTL(7) with an ETS trend model chosen by AICc: an extra contender, and the forecaster of
//! `forecast`-policy exogenous columns (protocol §5).
//!
//! The decomposition is augurs' MSTL; the trend model is our [`Ets`], whose fits are plain
//! data. A fit ([`MstlEts::fit`]) decomposes the series and estimates the ETS model of its
//! deseasonalised part; forecasting from a later origin ([`MstlEts::forecast`]) decomposes the
//! data up to that origin again (the decomposition has no parameters) and runs the fitted ETS
//! model over it with its parameters fixed — protocol §4's rule for state-space models. Both
//! only ever read data up to the origin, which is what the backtest's fairness rests on.

use std::path::Path;

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use serde::{Deserialize, Serialize};

use super::ets::Ets;
use super::family::{ModelFamily, ModelsConfig};
use super::{Family, WEEK};
use super::{
    FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError,
};

/// The ETS search of the trend model: additive errors, trend none / additive / damped
/// additive (ETS "AZN"), implemented by [`Ets::auto`].
///
/// MSTL is an additive decomposition (y = trend + seasonal + remainder), so what is left for
/// the ETS model is an additive signal: multiplicative-error models of it are a mismatch, and
/// on min-max scaled data (which touches 0) they also break whenever a value nears zero.
/// Saved in every bundle that forecasts with it, so a model keeps the search it was judged with.
pub const ETS_SEARCH: &str = "AZN";

/// The search of bundles saved before [`ETS_SEARCH`] was recorded (augurs' `non_seasonal`).
pub fn legacy_ets_search() -> String {
    "ZZN".to_string()
}

/// A fitted MSTL(period) + ETS model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MstlEts {
    pub period: usize,
    /// The trend model, fitted on the deseasonalised fitting series.
    pub ets: Ets,
}

fn spec_name(period: usize) -> String {
    format!("MSTL({period})+AutoETS")
}

/// The deseasonalised series (trend + remainder) and the last season of the seasonal
/// component, as augurs' MSTL forecaster computes them (in f32, its precision).
struct Decomposition {
    deseasonalised: Vec<f64>,
    last_season: Vec<f64>,
}

/// The length and finiteness every MSTL forecaster needs.
fn check_series(y: &[f64], period: usize) -> Result<(), ModelError> {
    let spec = spec_name(period);
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
    Ok(())
}

fn decompose(y: &[f64], period: usize) -> Result<Decomposition, ModelError> {
    check_series(y, period)?;
    let spec = spec_name(period);
    // The naive trend model costs nothing; only the decomposition is used.
    let fitted = MSTLModel::naive(vec![period])
        .fit(y)
        .map_err(|e| ModelError::Numerical {
            spec: spec.clone(),
            reason: e.to_string(),
        })?;
    let parts = fitted.fit();
    let deseasonalised = parts
        .trend()
        .iter()
        .zip(parts.remainder())
        .map(|(t, r)| (t + r) as f64)
        .collect();
    let seasonal = &parts.seasonal()[0];
    let last_season = seasonal[seasonal.len() - period..]
        .iter()
        .map(|&s| s as f64)
        .collect();
    Ok(Decomposition {
        deseasonalised,
        last_season,
    })
}

/// Which implementation an ETS search runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EtsEngine {
    /// augurs' AutoETS, re-estimated at every forecast: what bundles saved before [`Ets`]
    /// existed were judged with (the default when a bundle names no engine).
    #[default]
    Augurs,
    /// [`Ets`]: fitted once, its parameters kept.
    Adsales,
}

impl MstlEts {
    /// Decomposes `y` and fits the ETS trend model (AICc over the [`ETS_SEARCH`] models).
    pub fn fit(y: &[f64], period: usize) -> Result<MstlEts, ModelError> {
        let d = decompose(y, period)?;
        Self::fit_decomposed(&d, period)
    }

    fn fit_decomposed(d: &Decomposition, period: usize) -> Result<MstlEts, ModelError> {
        let ets = Ets::auto(&d.deseasonalised).map_err(|e| ModelError::Unsupported {
            spec: spec_name(period),
            reason: e.to_string(),
        })?;
        Ok(MstlEts { period, ets })
    }

    /// [`fit`](Self::fit) on `y` and [`forecast`](Self::forecast) from its end, decomposing once.
    pub fn fit_forecast(
        y: &[f64],
        period: usize,
        horizon: usize,
        level: f64,
    ) -> Result<(MstlEts, Forecast), ModelError> {
        let d = decompose(y, period)?;
        let m = Self::fit_decomposed(&d, period)?;
        let f = forecast_decomposed(&m.ets, period, &d, horizon, level)?;
        Ok((m, f))
    }

    /// Forecasts `horizon` steps after the end of `y`, a series that starts where the fitted
    /// one started (it may extend it): decomposed again, filtered with the fitted parameters.
    pub fn forecast(&self, y: &[f64], horizon: usize, level: f64) -> Result<Forecast, ModelError> {
        forecast_fixed(&self.ets, self.period, y, horizon, level)
    }
}

/// [`MstlEts::forecast`] for a trend model held elsewhere (a loaded bundle's).
fn forecast_fixed(
    ets: &Ets,
    period: usize,
    y: &[f64],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelError> {
    forecast_decomposed(ets, period, &decompose(y, period)?, horizon, level)
}

fn forecast_decomposed(
    ets: &Ets,
    period: usize,
    d: &Decomposition,
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelError> {
    let f = ets.forecast(&d.deseasonalised, horizon, level);
    // The seasonal part repeats its last season, as in augurs' MSTL forecaster.
    let season = |h: usize| d.last_season[h % period];
    let shift = |v: Vec<f64>| -> Vec<f64> {
        v.into_iter()
            .enumerate()
            .map(|(h, x)| x + season(h))
            .collect()
    };
    let out = Forecast {
        mean: shift(f.mean),
        lower: shift(f.lower),
        upper: shift(f.upper),
        level,
    };
    if out
        .mean
        .iter()
        .chain(&out.lower)
        .chain(&out.upper)
        .any(|v| !v.is_finite())
    {
        return Err(ModelError::Numerical {
            spec: spec_name(period),
            reason: "non-finite forecast".into(),
        });
    }
    Ok(out)
}

/// Fits MSTL(period) + ETS (search `ets`) on `y` and forecasts `horizon` steps from its end.
/// [`EtsEngine::Adsales`] implements [`ETS_SEARCH`]; [`EtsEngine::Augurs`] runs augurs'
/// AutoETS with any search (models saved before our ETS, which were judged with it).
pub fn forecast_with(
    y: &[f64],
    period: usize,
    horizon: usize,
    level: f64,
    ets: &str,
    engine: EtsEngine,
) -> Result<Forecast, ModelError> {
    let spec = spec_name(period);
    if engine == EtsEngine::Adsales {
        if ets != ETS_SEARCH {
            return Err(ModelError::BadInput(format!(
                "{spec}: ETS search `{ets}` is not implemented here (only {ETS_SEARCH})"
            )));
        }
        return Ok(MstlEts::fit_forecast(y, period, horizon, level)?.1);
    }
    check_series(y, period)?;
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

/// Fitted MSTL: the season length and the fitted ETS trend model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMstl {
    pub period: usize,
    /// ETS search of the trend model.
    #[serde(default = "legacy_ets_search")]
    pub ets: String,
    /// The trend model with its parameters fixed. Absent in bundles saved before fits were
    /// kept: those re-estimate the trend model (search `ets`, augurs' AutoETS, as they were
    /// judged) at every forecast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend_model: Option<Ets>,
}

impl Forecaster for Mstl {
    fn family(&self) -> Family {
        Family::Mstl
    }
    fn spec(&self) -> String {
        spec_name(self.period)
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("period".into(), self.period.to_string()),
            ("trend_model".into(), format!("AutoETS({ETS_SEARCH})")),
        ]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let fit = MstlEts::fit(&data.frame.target()[..data.train_end], self.period)?;
        Ok(Box::new(FittedMstl {
            period: self.period,
            ets: ETS_SEARCH.to_string(),
            trend_model: Some(fit.ets),
        }))
    }
}

impl FittedMstl {
    pub fn load(dir: &Path) -> Result<FittedMstl, ModelError> {
        let m: FittedMstl = super::load_json(dir, "params.json")?;
        if let Some(ets) = &m.trend_model {
            ets.check()
                .map_err(|reason| ModelError::io(&dir.join("params.json"), reason))?;
        }
        Ok(m)
    }

    fn forecast_series(
        &self,
        y: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        match &self.trend_model {
            Some(ets) => forecast_fixed(ets, self.period, y, horizon, level),
            None => forecast_with(y, self.period, horizon, level, &self.ets, EtsEngine::Augurs),
        }
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
        self.forecast_series(history.target(), horizon, level)
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
        // Each origin decomposes its own history: independent, so parallel, and
        // order-preserving so results do not depend on the thread count.
        origins
            .par_iter()
            .map(|&o| self.forecast_series(&y[..=o], horizon, level))
            .collect()
    }

    fn info(&self) -> FitInfo {
        match &self.trend_model {
            Some(m) => FitInfo {
                converged: true,
                iterations: 0,
                message: format!(
                    "{} alpha={:.4} beta={:.4} phi={:.4}, fixed after fitting",
                    m.name(),
                    m.alpha,
                    m.beta,
                    m.phi
                ),
                ..FitInfo::default()
            },
            None => FitInfo {
                converged: true,
                iterations: 0,
                message: "trend model re-estimated at each origin".into(),
                ..FitInfo::default()
            },
        }
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        super::save_json(dir, "params.json", self)
    }
}

/// The `mstl` family: one point, MSTL(7) with an AutoETS trend model.
pub struct MstlFamily;
pub static FAMILY: MstlFamily = MstlFamily;

impl ModelFamily for MstlFamily {
    fn id(&self) -> &'static str {
        "mstl"
    }
    fn simplicity(&self) -> u32 {
        2
    }
    fn specs(&self, _cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        Ok(vec![Box::new(Mstl { period: WEEK })])
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        Ok(Box::new(FittedMstl::load(dir)?))
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
        assert_eq!(old.trend_model, None);
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
        let back = FittedMstl::load(dir.path()).unwrap();
        assert_eq!(back.ets, ETS_SEARCH);
        assert!(back.trend_model.is_some());
        // The kept fit forecasts as it did before saving; the legacy one re-estimates.
        let f = |m: &dyn FittedForecaster| {
            m.forecast(&frame, &FutureInputs::default(), 3, 0.9)
                .unwrap()
        };
        assert_eq!(f(fitted.as_ref()), f(&back));
        assert!(f(&old).mean.iter().all(|v| v.is_finite()));
        for engine in [EtsEngine::Augurs, EtsEngine::Adsales] {
            assert!(forecast_with(&frame.cols[0], 7, 3, 0.9, "XYZ", engine).is_err());
        }
    }

    fn weekly(n: usize, seed: u64, trend: f64) -> Vec<f64> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 0.05).unwrap();
        (0..n)
            .map(|t| {
                0.5 + trend * t as f64 + 0.1 * ((t % 7) as f64 - 3.0).abs() + noise.sample(&mut rng)
            })
            .collect()
    }

    /// The reference: augurs' MSTL with its AutoETS trend model, same search, same series.
    #[test]
    fn a_fit_forecasts_as_augurs_mstl_with_autoets() {
        for (seed, trend) in [(1, 0.0), (2, 0.002), (3, -0.001), (4, 0.0005)] {
            let y = weekly(400, seed, trend);
            let ours = MstlEts::fit(&y, 7).unwrap();
            let f = ours.forecast(&y, 7, 0.95).unwrap();
            let g = MSTLModel::new(vec![7], AutoETS::new(1, "AZN").unwrap().into_trend_model())
                .fit(&y)
                .unwrap()
                .predict(7, 0.95)
                .unwrap();
            let gi = g.intervals.unwrap();
            // Past one step, augurs' damped-trend points carry its φ off-by-one (ets.rs).
            let steps = if ours.ets.trend == super::super::ets::EtsTrend::Damped {
                1
            } else {
                7
            };
            for h in 0..steps {
                for (a, b) in [
                    (f.mean[h], g.point[h]),
                    (f.lower[h], gi.lower[h]),
                    (f.upper[h], gi.upper[h]),
                ] {
                    assert!(
                        (a - b).abs() < 1e-9,
                        "seed {seed} step {}: {a} vs augurs {b}",
                        h + 1
                    );
                }
            }
        }
    }

    /// Bundles saved before fits were kept (search "AZN", no trend model) forecast exactly as
    /// augurs' MSTL + AutoETS, which they were judged with.
    #[test]
    fn legacy_bundles_forecast_through_augurs() {
        let old: FittedMstl = serde_json::from_str(r#"{"period":7,"ets":"AZN"}"#).unwrap();
        let y = weekly(200, 5, 0.001);
        let frame = Frame {
            dates: (0..200)
                .map(|d| {
                    chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(d)
                })
                .collect(),
            names: vec!["y".into()],
            cols: vec![y.clone()],
            target: "y".into(),
        };
        let f = old
            .forecast(&frame, &FutureInputs::default(), 7, 0.9)
            .unwrap();
        let g = MSTLModel::new(vec![7], AutoETS::new(1, "AZN").unwrap().into_trend_model())
            .fit(&y)
            .unwrap()
            .predict(7, 0.9)
            .unwrap();
        assert_eq!(f.mean, g.point);
        assert_eq!(f.upper, g.intervals.unwrap().upper);
    }

    /// From a later origin the parameters stay fixed: the forecast is not a refit's, and it
    /// reads nothing after the origin.
    #[test]
    fn later_origins_filter_with_the_fitted_parameters() {
        let y = weekly(400, 9, 0.001);
        let fit = MstlEts::fit(&y[..300], 7).unwrap();
        let from_fit = fit.forecast(&y[..350], 7, 0.95).unwrap();
        let refit = MstlEts::fit(&y[..350], 7)
            .unwrap()
            .forecast(&y[..350], 7, 0.95)
            .unwrap();
        assert_ne!(from_fit, refit);
        // The data between the fit and the origin moves the forecast (it is filtered).
        let mut moved = y.clone();
        moved[320..350].iter_mut().for_each(|v| *v += 0.5);
        assert_ne!(fit.forecast(&moved[..350], 7, 0.95).unwrap(), from_fit);
        // Both stay close to each other: the same model on nearly the same data.
        for (a, b) in from_fit.mean.iter().zip(&refit.mean) {
            assert!((a - b).abs() < 0.05, "{a} vs {b}");
        }
    }
}
