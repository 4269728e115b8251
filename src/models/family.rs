//! Model families: the one trait every family implements ([`ModelFamily`]) and the one
//! registry that maps a [`Family`] to it ([`get`]).
//!
//! A family is a grid of [`Forecaster`]s built from its config section, a rank for
//! tie-breaks, the drivers its models read, and the loader of its saved models. The training
//! grid, selection, registration and inference ask the registry and never name a family.
//! Adding one: a module with its `ModelFamily` impl and config section, a `Family` variant,
//! and its arm in [`get`] (the compiler points at the rest); see CONTRIBUTING.md.
//!
//! Families whose code lives outside this crate — the libtorch `lstm` family in
//! `adsales-lstm`, or a family a test defines — are [`install`]ed by the binary or test that
//! links them, before the config is read.

use std::any::Any;
use std::path::Path;
use std::sync::RwLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::auto_arima::family::AutoArimaConfig;
use super::sarimax::config::{ArimaGrid, SarimaxSettings};
use super::torch::LstmConfig;
use super::{FittedForecaster, Forecaster, ModelError};

/// A model family `adsales train` can run, as named in `families:`, in bundles and in tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    SeasonalNaive,
    Arima,
    Sarimax,
    /// Orders chosen by the Hyndman–Khandakar stepwise search (`models::auto_arima`).
    AutoArima,
    Lstm,
    Mstl,
    /// The mean of the other families' bests (`models::combination`).
    Combination,
    /// Croston, SBA, TSB and ADIDA for series with many zero days (`models::intermittent`).
    Intermittent,
    /// A family installed at run time under this id (see [`install`]).
    Installed(&'static str),
}

/// The built-in families and their ids, in the order `families:` lists them by default.
pub const BUILT_IN: [(Family, &str); 8] = [
    (Family::SeasonalNaive, "seasonal_naive"),
    (Family::Arima, "arima"),
    (Family::Sarimax, "sarimax"),
    (Family::AutoArima, "auto_arima"),
    (Family::Lstm, "lstm"),
    (Family::Mstl, "mstl"),
    (Family::Combination, "combination"),
    (Family::Intermittent, "intermittent"),
];

impl Family {
    /// The id used in config files, bundles, tags and the leaderboard.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Installed(id) => id,
            f => BUILT_IN
                .iter()
                .find(|(b, _)| *b == f)
                .map(|(_, id)| *id)
                .expect("every built-in family has an id"),
        }
    }

    /// The family called `id`: a built-in one or one installed in this process.
    pub fn from_id(id: &str) -> Option<Family> {
        BUILT_IN
            .iter()
            .find(|(_, b)| *b == id)
            .map(|(f, _)| *f)
            .or_else(|| installed(id).map(|f| Family::Installed(f.id())))
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Family {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Family, D::Error> {
        let id = String::deserialize(d)?;
        Family::from_id(&id).ok_or_else(|| {
            let mut known: Vec<&str> = BUILT_IN.iter().map(|(_, id)| *id).collect();
            known.extend(installed_ids());
            serde::de::Error::custom(format!(
                "unknown family `{id}`, expected one of: {}",
                known.join(", ")
            ))
        })
    }
}

/// The checked config sections of the model families, which their grids are built from.
#[derive(Debug, Clone)]
pub struct ModelsConfig {
    /// Seed of every random choice (the LSTM's initialisation and batches).
    pub seed: u64,
    pub arima: ArimaGrid,
    pub sarimax: SarimaxSettings,
    pub auto_arima: AutoArimaConfig,
    pub lstm: LstmConfig,
}

/// What a model family provides to training, selection and inference.
pub trait ModelFamily: Sync {
    /// The id in `families:`, bundles and tags; [`Family::as_str`] of its variant.
    fn id(&self) -> &'static str;
    /// Rank for tie-breaks across families (protocol §4): lower is simpler.
    fn simplicity(&self) -> u32;
    /// Whether the family's config section can run on this machine (e.g. `lstm.device: cuda`
    /// needs a GPU); the message names the key. Checked before anything is tracked.
    fn check(&self, _cfg: &ModelsConfig) -> Result<(), String> {
        Ok(())
    }
    /// The grid points of its config section, in grid order.
    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError>;
    /// The exogenous drivers whose future values its models read (protocol §5); the
    /// backtest forecasts or plans only these.
    fn drivers(&self, _cfg: &ModelsConfig) -> Vec<String> {
        Vec::new()
    }
    /// Restores a fitted model saved by its `FittedForecaster::save` in `dir`.
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError>;
    /// Held while its grid runs (the LSTM pins libtorch's process-wide thread count).
    fn grid_guard(&self) -> Option<Box<dyn Any>> {
        None
    }
}

/// The family behind `f`. The `lstm` family is installed only by `adsales-torch`: elsewhere
/// this is [`ModelError::NeedsLibtorch`], which tells the CLI to hand over.
pub fn get(f: Family) -> Result<&'static dyn ModelFamily, ModelError> {
    match f {
        Family::SeasonalNaive => Ok(&super::naive::FAMILY),
        Family::Arima => Ok(&super::sarimax::config::ARIMA_FAMILY),
        Family::Sarimax => Ok(&super::sarimax::config::SARIMAX_FAMILY),
        Family::AutoArima => Ok(&super::auto_arima::family::FAMILY),
        Family::Mstl => Ok(&super::mstl::FAMILY),
        Family::Combination => Ok(&super::combination::FAMILY),
        Family::Intermittent => Ok(&super::intermittent::FAMILY),
        Family::Lstm => installed(Family::Lstm.as_str()).ok_or(ModelError::NeedsLibtorch),
        Family::Installed(id) => installed(id).ok_or_else(|| {
            ModelError::BadInput(format!(
                "model family `{id}` is not installed in this build"
            ))
        }),
    }
}

static INSTALLED: RwLock<Vec<&'static dyn ModelFamily>> = RwLock::new(Vec::new());

/// Installs a family defined outside this crate, under its [`ModelFamily::id`] (once; a
/// second family with the same id is ignored). Call it before the config is read.
pub fn install(family: &'static dyn ModelFamily) {
    let mut all = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|f| f.id() == family.id()) {
        all.push(family);
    }
}

/// The installed family called `id`.
fn installed(id: &str) -> Option<&'static dyn ModelFamily> {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|f| f.id() == id)
        .copied()
}

/// Ids of installed families that are not built in (for messages).
fn installed_ids() -> Vec<&'static str> {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|f| f.id())
        .filter(|id| !BUILT_IN.iter().any(|(_, b)| b == id))
        .collect()
}
