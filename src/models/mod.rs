//! The model interface every family implements, and the shared data types models see.
//!
//! Unfitted settings (a grid point) and fitted state are separate types: a [`Forecaster`]
//! is a spec that can be fitted; fitting gives a [`FittedForecaster`] that forecasts from any
//! origin with its parameters fixed. The backtest, the grid search, registration and inference
//! only ever see these two traits, so a new family is one new module.

pub mod auto_arima;
pub mod calibration;
pub mod combination;
pub mod ets;
pub mod family;
pub mod intermittent;
pub mod mstl;
pub mod naive;
pub mod reconcile;
pub mod sarimax;
pub mod torch;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::family::{Family, ModelFamily, ModelsConfig};
pub use crate::data::Frame;

/// The season of daily ad data (protocol: seasonal naive(7), MSTL(7), MASE scaled by the
/// seasonal-naive(7) error): what the baselines, MSTL and the exog forecaster all use.
pub const WEEK: usize = 7;

/// Errors a model can raise; each names the spec it belongs to where that helps.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The data cannot support the spec (too short, constant, singular exog, ...).
    #[error("{spec}: {reason}")]
    Unsupported { spec: String, reason: String },
    /// Inputs passed at forecast time do not fit the model (missing exog, bad horizon...).
    #[error("{0}")]
    BadInput(String),
    /// Numerical failure while fitting or forecasting.
    #[error("{spec}: numerical failure: {reason}")]
    Numerical { spec: String, reason: String },
    /// Reading or writing a saved model.
    #[error("model file {path}: {reason}")]
    Io { path: String, reason: String },
    /// The `lstm` family runs in the libtorch-linked `adsales-torch` binary, not this process.
    #[error(
        "the lstm family needs libtorch, which this process does not load (run `adsales-torch`)"
    )]
    NeedsLibtorch,
}

impl ModelError {
    /// Reading or writing the model file `path` failed for `reason`.
    pub fn io(path: &Path, reason: impl std::fmt::Display) -> ModelError {
        ModelError::Io {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What a model may be fitted on: rows `..train_end` of `frame`; families that early-stop
/// (the LSTM) may also read targets in `train_end..val_end` for validation.
#[derive(Debug, Clone, Copy)]
pub struct FitData<'a> {
    pub frame: &'a Frame,
    pub train_end: usize,
    pub val_end: Option<usize>,
}

/// Future values of exogenous columns for the steps after an origin (scaled, one vector per
/// column, each at least `horizon` long). Which values these are (actuals for `known`
/// columns, forecasts made at the origin for `forecast` columns) is the caller's business.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FutureInputs {
    pub exog: Vec<(String, Vec<f64>)>,
}

impl FutureInputs {
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.exog
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// A point forecast with a central prediction interval at `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub level: f64,
}

/// How a fit went: surfaced in tracking and in the leaderboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    pub converged: bool,
    pub iterations: usize,
    /// Why the optimiser stopped (or "closed form").
    pub message: String,
    /// Log-likelihood and information criteria, where the family has them.
    pub llf: Option<f64>,
    pub aic: Option<f64>,
    pub bic: Option<f64>,
    /// The model the fit settled on, where the family chooses it while fitting (auto_arima's
    /// orders); tracked as the `fitted_model` run tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl FitInfo {
    /// A fit with no optimiser (the baselines, the intermittent recursions).
    pub fn closed_form() -> FitInfo {
        FitInfo {
            converged: true,
            iterations: 0,
            message: "closed form".into(),
            ..FitInfo::default()
        }
    }
}

/// A grid point: settings that can be fitted.
pub trait Forecaster: Send + Sync {
    /// The family the point belongs to.
    fn family(&self) -> Family;
    /// Human-readable spec, e.g. `ARIMA(1,0,1) trend=c`.
    fn spec(&self) -> String;
    /// Settings as (key, value) pairs for tracking.
    fn params(&self) -> Vec<(String, String)>;
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError>;
    /// The exogenous drivers whose future values the point's model reads (protocol §5);
    /// its bundle records them, and inference plans or forecasts only these.
    fn drivers(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether the test evaluation refits on train + val (statistical families) or keeps the
    /// model fitted on train and early-stopped on val (the LSTM).
    fn refit_for_test(&self) -> bool {
        true
    }
}

/// A fitted model: parameters fixed, forecasts from any origin.
pub trait FittedForecaster: Send + Sync {
    /// Forecast `horizon` steps after the last row of `history` (which is the origin).
    /// `history` has the same columns as the frame the model was fitted on and may extend past
    /// the fitting rows (state-space models filter the new rows; the LSTM reads its window).
    fn forecast(
        &self,
        history: &Frame,
        future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError>;

    /// Forecasts from many origins (`origins[k]` is the index of the last observed row) over
    /// the same `data`. The default re-runs [`forecast`](Self::forecast) per origin; families
    /// that can share work (one Kalman pass for all origins) override it.
    fn forecast_origins(
        &self,
        data: &Frame,
        origins: &[usize],
        future: &dyn Fn(usize) -> FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Vec<Forecast>, ModelError> {
        origins
            .iter()
            .map(|&o| self.forecast(&data.rows(0..o + 1), &future(o), horizon, level))
            .collect()
    }

    fn info(&self) -> FitInfo;

    /// Per-epoch (or per-iteration) histories to log as metric series, e.g. the LSTM's
    /// `train_loss` and `val_loss`. Empty for closed-form and statistical families.
    fn metric_history(&self) -> Vec<(String, Vec<f64>)> {
        Vec::new()
    }

    /// Write the model's files into `dir` (parameters as JSON, weights...).
    fn save(&self, dir: &Path) -> Result<(), ModelError>;
}

/// Serde for `f64`s that may be NaN or ±∞, which JSON cannot hold (serde_json writes them as
/// `null` and then refuses to read that back as a number): written as the strings `"NaN"`,
/// `"inf"`, `"-inf"`; read from those (or any spelling Rust's float parser takes, such as
/// MLflow's `"Infinity"`), from numbers, or from `null` (NaN).
/// Use `#[serde(with = "crate::models::nonfinite")]`, or `nonfinite::vec` on a `Vec<f64>`.
pub mod nonfinite {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
        Null(()),
    }

    fn to_f64<E: serde::de::Error>(r: Repr) -> Result<f64, E> {
        match r {
            Repr::Num(v) => Ok(v),
            Repr::Null(()) => Ok(f64::NAN),
            // Rust's float parser reads "NaN", "inf", "-inf" and MLflow's "Infinity" alike.
            Repr::Text(t) => t
                .parse()
                .map_err(|_| E::custom(format!("not a number: {t:?}"))),
        }
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            v if v.is_nan() => s.serialize_str("NaN"),
            v if v == f64::INFINITY => s.serialize_str("inf"),
            v if v == f64::NEG_INFINITY => s.serialize_str("-inf"),
            v => s.serialize_f64(v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        to_f64(Repr::deserialize(d)?)
    }

    pub mod vec {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            struct One(f64);
            impl serde::Serialize for One {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    super::serialize(&self.0, s)
                }
            }
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for &x in v {
                seq.serialize_element(&One(x))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<super::Repr>::deserialize(d)?
                .into_iter()
                .map(super::to_f64)
                .collect()
        }
    }
}

/// Writes `value` as pretty JSON to `dir/name` atomically (the small families' params file).
pub fn save_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), ModelError> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value).expect("model params serialise");
    crate::util::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| ModelError::io(&path, e))
}

/// Reads `dir/name` written by [`save_json`].
pub fn load_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T, ModelError> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::io(&path, e))
}
