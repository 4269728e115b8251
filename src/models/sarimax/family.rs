//! The `arima` / `sarimax` families on the model interface, saving/loading, and the parallel
//! grid helper.

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::estimate::{FitOptions, SarimaxFit, fit_with};
use super::forecast::forecast_origins;
use super::spec::SarimaxSpec;
use crate::models::Family;
use crate::models::{
    FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError,
};

/// File written by [`FittedSarimax::save`] and read by [`load`].
pub const PARAMS_FILE: &str = "sarimax_params.json";

/// A SARIMAX grid point. `family()` is `arima` without seasonal part and exog, else `sarimax`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarimaxForecaster {
    pub spec: SarimaxSpec,
}

/// A fitted SARIMAX model on the model interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSarimax {
    pub fit: SarimaxFit,
    /// The end of the last history forecast from (a served model forecasts from one).
    #[serde(skip)]
    pub end: super::forecast::EndCache,
}

impl FittedSarimax {
    pub fn new(fit: SarimaxFit) -> FittedSarimax {
        FittedSarimax {
            fit,
            end: Default::default(),
        }
    }
}

/// A grid point that failed, with its spec.
#[derive(Debug, thiserror::Error)]
#[error("grid point {spec}: {error}")]
pub struct GridError {
    pub spec: SarimaxSpec,
    #[source]
    pub error: ModelError,
}

fn exog_cols<'a>(spec: &SarimaxSpec, frame: &'a Frame) -> Result<Vec<&'a [f64]>, ModelError> {
    spec.exog
        .iter()
        .map(|name| {
            frame.col(name).ok_or_else(|| {
                ModelError::BadInput(format!(
                    "{spec}: exog column {name:?} is not in the frame (columns: {:?})",
                    frame.names
                ))
            })
        })
        .collect()
}

fn target(frame: &Frame) -> Result<&[f64], ModelError> {
    frame.col(&frame.target).ok_or_else(|| {
        ModelError::BadInput(format!(
            "target column {:?} is not in the frame",
            frame.target
        ))
    })
}

impl SarimaxForecaster {
    /// Fit on rows `..data.train_end` (concrete type; [`Forecaster::fit`] boxes it).
    pub fn fit_concrete(&self, data: &FitData) -> Result<FittedSarimax, ModelError> {
        let end = data.train_end.min(data.frame.len());
        let y = &target(data.frame)?[..end];
        let ex: Vec<&[f64]> = exog_cols(&self.spec, data.frame)?
            .into_iter()
            .map(|c| &c[..end])
            .collect();
        // The pipeline forecasts with the fit and never reads standard errors, which cost
        // 2k extra filter passes per fit (`adsales fit` computes them); they are saved as NaN.
        let opts = FitOptions {
            std_errors: false,
            ..FitOptions::default()
        };
        Ok(FittedSarimax::new(fit_with(&self.spec, y, &ex, &opts)?))
    }
}

impl Forecaster for SarimaxForecaster {
    fn family(&self) -> Family {
        if !self.spec.has_seasonal() && self.spec.exog.is_empty() {
            Family::Arima
        } else {
            Family::Sarimax
        }
    }
    fn spec(&self) -> String {
        self.spec.to_string()
    }
    fn drivers(&self) -> Vec<String> {
        self.spec.exog.clone()
    }
    fn params(&self) -> Vec<(String, String)> {
        let (p, d, q) = self.spec.order;
        let (sp, sd, sq, s) = self.spec.seasonal;
        vec![
            ("order".into(), format!("{p},{d},{q}")),
            ("seasonal_order".into(), format!("{sp},{sd},{sq},{s}")),
            ("trend".into(), self.spec.trend.as_str().into()),
            ("exog".into(), self.spec.exog.join(",")),
        ]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        Ok(Box::new(self.fit_concrete(data)?))
    }
}

fn to_forecast(f: super::forecast::SarimaxForecast) -> Forecast {
    Forecast {
        mean: f.mean,
        lower: f.lower,
        upper: f.upper,
        level: f.level,
    }
}

fn future_cols(
    spec: &SarimaxSpec,
    future: &FutureInputs,
    horizon: usize,
) -> Result<Vec<Vec<f64>>, ModelError> {
    spec.exog
        .iter()
        .map(|name| match future.get(name) {
            Some(v) if v.len() >= horizon => Ok(v[..horizon].to_vec()),
            Some(v) => Err(ModelError::BadInput(format!(
                "{spec}: future values of {name:?} cover {} steps, horizon is {horizon}",
                v.len()
            ))),
            None => Err(ModelError::BadInput(format!(
                "{spec}: no future values for exog column {name:?}"
            ))),
        })
        .collect()
}

impl FittedForecaster for FittedSarimax {
    /// Filters all of `history` (row 0 must be the fit frame's row 0, so the trend's time
    /// index stays aligned), then forecasts.
    fn forecast(
        &self,
        history: &Frame,
        future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let spec = &self.fit.spec;
        let y = target(history)?;
        let ex = exog_cols(spec, history)?;
        let fut = future_cols(spec, future, horizon)?;
        let refs: Vec<&[f64]> = fut.iter().map(|v| v.as_slice()).collect();
        super::forecast::forecast_cached(
            &self.end,
            spec,
            &self.fit.params,
            y,
            &ex,
            &refs,
            horizon,
            level,
        )
        .map(to_forecast)
    }

    /// One Kalman pass over `data` for all origins.
    fn forecast_origins(
        &self,
        data: &Frame,
        origins: &[usize],
        future: &dyn Fn(usize) -> FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Vec<Forecast>, ModelError> {
        let spec = &self.fit.spec;
        let y = target(data)?;
        let ex = exog_cols(spec, data)?;
        let fut = |o: usize| future_cols(spec, &future(o), horizon);
        Ok(forecast_origins(
            spec,
            &self.fit.params,
            y,
            &ex,
            origins,
            &fut,
            horizon,
            level,
        )?
        .into_iter()
        .map(to_forecast)
        .collect())
    }

    fn info(&self) -> FitInfo {
        FitInfo {
            converged: self.fit.converged,
            iterations: self.fit.iterations,
            message: self.fit.message.clone(),
            llf: Some(self.fit.llf),
            aic: Some(self.fit.aic),
            bic: Some(self.fit.bic),
            model: Some(self.fit.spec.to_string()),
        }
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        crate::models::save_json(dir, PARAMS_FILE, &self.fit)
    }
}

/// Restore a model written by [`FittedSarimax::save`] from `dir`.
pub fn load(dir: &Path) -> Result<FittedSarimax, ModelError> {
    let fit: SarimaxFit = crate::models::load_json(dir, PARAMS_FILE)?;
    if fit.params.len() != fit.spec.param_names().len() {
        return Err(ModelError::io(
            &dir.join(PARAMS_FILE),
            "parameter count does not match the spec",
        ));
    }
    Ok(FittedSarimax::new(fit))
}

/// [`load`] boxed for the model interface (what a bundle loader dispatching on the family
/// name wants).
pub fn load_boxed(dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
    Ok(Box::new(load(dir)?))
}

/// Fit every spec on `data` in parallel. Results follow `specs`; a failing point carries its
/// spec and error and does not stop the others. Each fit is deterministic and independent, so
/// results do not depend on the number of threads.
// The error is returned by value on purpose: it is rare and callers match on its fields.
#[allow(clippy::result_large_err)]
pub fn fit_grid(specs: &[SarimaxSpec], data: &FitData) -> Vec<Result<FittedSarimax, GridError>> {
    specs
        .par_iter()
        .map(|spec| {
            SarimaxForecaster { spec: spec.clone() }
                .fit_concrete(data)
                .map_err(|error| GridError {
                    spec: spec.clone(),
                    error,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::sarimax::spec::Trend;

    /// Standard errors can be NaN and AICc +∞; JSON holds neither, and the bundle must still
    /// load (it used to be written with `null`s it then refused to read).
    #[test]
    fn non_finite_statistics_survive_save_and_load() {
        let y: Vec<f64> = (0..60)
            .map(|t| (t as f64 * 0.7).sin() + 0.05 * t as f64)
            .collect();
        let spec = SarimaxSpec {
            order: (1, 0, 0),
            seasonal: (0, 0, 0, 0),
            trend: Trend::C,
            exog: vec![],
            exact_diffuse: false,
        };
        let mut fit = crate::models::sarimax::fit(&spec, &y, &[]).unwrap();
        fit.bse[0] = f64::NAN;
        fit.aicc = f64::INFINITY;
        let dir = tempfile::tempdir().unwrap();
        FittedSarimax::new(fit.clone()).save(dir.path()).unwrap();
        let back = load(dir.path()).unwrap().fit;
        assert!(back.bse[0].is_nan());
        assert_eq!(back.bse[1..], fit.bse[1..]);
        assert_eq!(back.aicc, f64::INFINITY);
        assert_eq!(back.params, fit.params);
        // Files written before non-finite values were spelled out hold `null`s.
        let text = std::fs::read_to_string(dir.path().join(PARAMS_FILE))
            .unwrap()
            .replace("\"NaN\"", "null");
        std::fs::write(dir.path().join(PARAMS_FILE), text).unwrap();
        assert!(load(dir.path()).unwrap().fit.bse[0].is_nan());
        // MLflow's spelling of infinity reads too; anything else is an error naming the file.
        let text = std::fs::read_to_string(dir.path().join(PARAMS_FILE)).unwrap();
        std::fs::write(
            dir.path().join(PARAMS_FILE),
            text.replace("\"inf\"", "\"Infinity\""),
        )
        .unwrap();
        assert_eq!(load(dir.path()).unwrap().fit.aicc, f64::INFINITY);
        std::fs::write(
            dir.path().join(PARAMS_FILE),
            text.replace("\"inf\"", "\"lots\""),
        )
        .unwrap();
        assert!(load(dir.path()).is_err());
    }
}
