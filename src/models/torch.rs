//! The seam between the statistical core and the libtorch-backed `lstm` family, and the
//! family's config section.
//!
//! Loading libtorch costs ~170 ms of C++ static initialisation at process start, paid before
//! `main` by any binary that links it, even one that only forecasts with SARIMAX. So the
//! `adsales` binary does not link it: the `lstm` family lives in the `adsales-lstm` crate,
//! whose `adsales-torch` binary installs it ([`crate::models::family::install`]) at start-up
//! and otherwise runs the very same CLI. When `adsales` meets work that needs libtorch (a
//! train with the `lstm` family, an LSTM bundle at inference), the registry answers
//! [`ModelError::NeedsLibtorch`](super::ModelError::NeedsLibtorch) and the CLI replaces its
//! process with `adsales-torch` (see `cmd::handover`), before anything is written or tracked.
//!
//! The section is parsed and checked here, once, so that the family's crate trusts it.

use serde::{Deserialize, Serialize};

use crate::util::error::{ConfigKeys, InputError};

/// A value given either as a scalar or as a list of candidates (a grid axis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Where the LSTM trains (`lstm.device`). Forecasts always run on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LstmDevice {
    /// CUDA when libtorch sees a GPU, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// CUDA, or an error when there is none.
    Cuda,
}

impl LstmDevice {
    pub fn as_str(self) -> &'static str {
        match self {
            LstmDevice::Auto => "auto",
            LstmDevice::Cpu => "cpu",
            LstmDevice::Cuda => "cuda",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LstmFile {
    pub device: LstmDevice,
    pub hidden_size: OneOrMany<usize>,
    pub num_layers: OneOrMany<usize>,
    pub max_epochs: usize,
    pub patience: usize,
    /// Steps the network outputs directly; forecasts beyond it are refused.
    pub max_horizon: usize,
    pub param_grid: LstmGridFile,
}

impl Default for LstmFile {
    fn default() -> Self {
        LstmFile {
            device: LstmDevice::Auto,
            hidden_size: OneOrMany::One(64),
            num_layers: OneOrMany::One(2),
            max_epochs: 100,
            patience: 10,
            max_horizon: 28,
            param_grid: LstmGridFile {
                learning_rate: vec![0.001, 0.01],
                batch_size: vec![32],
                sequence_length: vec![14, 30],
                dropout: vec![0.0, 0.2],
                weight_decay: vec![1e-4],
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LstmGridFile {
    pub learning_rate: Vec<f64>,
    pub batch_size: Vec<usize>,
    pub sequence_length: Vec<usize>,
    pub dropout: Vec<f64>,
    pub weight_decay: Vec<f64>,
}

/// The checked `lstm` section: every grid axis as a non-empty list of valid values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmConfig {
    pub device: LstmDevice,
    pub hidden_size: Vec<usize>,
    pub num_layers: Vec<usize>,
    pub max_epochs: usize,
    pub patience: usize,
    pub max_horizon: usize,
    pub learning_rate: Vec<f64>,
    pub batch_size: Vec<usize>,
    pub sequence_length: Vec<usize>,
    pub dropout: Vec<f64>,
    pub weight_decay: Vec<f64>,
    /// The drivers whose values on each forecast day the network reads: the `known`-policy
    /// ones and the event calendar (not a config key: they follow from `data` and `features`).
    pub known: Vec<String>,
}

impl Default for LstmConfig {
    fn default() -> Self {
        LstmFile::default().values()
    }
}

impl LstmFile {
    /// The values as they are, without checks (the shipped defaults are valid).
    fn values(&self) -> LstmConfig {
        let g = &self.param_grid;
        LstmConfig {
            device: self.device,
            hidden_size: self.hidden_size.to_vec(),
            num_layers: self.num_layers.to_vec(),
            max_epochs: self.max_epochs,
            patience: self.patience,
            max_horizon: self.max_horizon,
            learning_rate: g.learning_rate.clone(),
            batch_size: g.batch_size.clone(),
            sequence_length: g.sequence_length.clone(),
            dropout: g.dropout.clone(),
            weight_decay: g.weight_decay.clone(),
            known: Vec::new(),
        }
    }

    /// Checks the section (keys named `lstm.*`); forecasts may ask for up to
    /// `forecast_days` steps, which the network must output. `known` are the drivers it reads
    /// for the forecast days.
    pub fn check(
        &self,
        c: &ConfigKeys,
        forecast_days: usize,
        known: Vec<String>,
    ) -> Result<LstmConfig, InputError> {
        let v = self.values();
        v.check().map_err(|(key, why)| c.err(&key, why))?;
        if v.max_horizon < forecast_days {
            return Err(c.err(
                "lstm.max_horizon",
                format!(
                    "must be at least forecast_days ({forecast_days}), got {}",
                    v.max_horizon
                ),
            ));
        }
        Ok(LstmConfig { known, ..v })
    }
}

impl LstmConfig {
    /// The one set of rules for LSTM settings, for the config section and for specs read
    /// back from a bundle or built by hand (the twin crate's `LstmSpec::check`): every axis
    /// lists at least one value and every value can train. The error is (key, why), the key
    /// as written in the config.
    pub fn check(&self) -> Result<(), (String, String)> {
        fn fail<T>(key: &str, why: impl Into<String>) -> Result<T, (String, String)> {
            Err((format!("lstm.{key}"), why.into()))
        }
        for (key, empty) in [
            ("param_grid.learning_rate", self.learning_rate.is_empty()),
            ("param_grid.batch_size", self.batch_size.is_empty()),
            (
                "param_grid.sequence_length",
                self.sequence_length.is_empty(),
            ),
            ("param_grid.dropout", self.dropout.is_empty()),
            ("param_grid.weight_decay", self.weight_decay.is_empty()),
        ] {
            if empty {
                return fail(key, "must list at least one value");
            }
        }
        if let Some(x) = self
            .learning_rate
            .iter()
            .find(|x| !(x.is_finite() && **x > 0.0))
        {
            return fail("param_grid.learning_rate", format!("must be > 0, got {x}"));
        }
        if self.batch_size.contains(&0) {
            return fail("param_grid.batch_size", "must be at least 1");
        }
        if self.sequence_length.contains(&0) {
            return fail("param_grid.sequence_length", "must be at least 1");
        }
        if let Some(x) = self.dropout.iter().find(|x| !(**x >= 0.0 && **x < 1.0)) {
            return fail("param_grid.dropout", format!("must be in [0, 1), got {x}"));
        }
        if let Some(x) = self
            .weight_decay
            .iter()
            .find(|x| !(x.is_finite() && **x >= 0.0))
        {
            return fail("param_grid.weight_decay", format!("must be >= 0, got {x}"));
        }
        if self.hidden_size.is_empty() || self.hidden_size.contains(&0) {
            return fail("hidden_size", "must be at least 1 (a number or a list)");
        }
        if self.num_layers.is_empty() || self.num_layers.contains(&0) {
            return fail("num_layers", "must be at least 1 (a number or a list)");
        }
        for (key, v) in [
            ("max_epochs", self.max_epochs),
            ("patience", self.patience),
            ("max_horizon", self.max_horizon),
        ] {
            if v == 0 {
                return fail(key, "must be at least 1");
            }
        }
        Ok(())
    }
}
