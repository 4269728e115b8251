//! The seam between the statistical core and the libtorch-backed `lstm` family.
//!
//! Loading libtorch costs ~170 ms of C++ static initialisation at process start, paid before
//! `main` by any binary that links it, even one that only forecasts with SARIMAX. So the
//! `adsales` binary does not link it: the `lstm` family lives in the `adsales-lstm` crate,
//! whose `adsales-torch` binary installs a [`TorchFamily`] here at start-up and otherwise runs
//! the very same CLI. When `adsales` meets work that needs libtorch (a train with the `lstm`
//! family, an LSTM bundle at inference), the CLI replaces its process with `adsales-torch`
//! (see `cli`), before anything is written or tracked.

use std::any::Any;
use std::path::Path;
use std::sync::OnceLock;

use super::{FittedForecaster, Forecaster, ModelError};
use crate::config::LstmFile;

/// What the `lstm` family provides to the pipeline.
pub trait TorchFamily: Sync {
    /// The grid points of the config's `lstm` section, in config order.
    fn specs(&self, cfg: &LstmFile, seed: u64) -> Vec<Box<dyn Forecaster>>;
    /// Holds libtorch's process-wide thread setting for a grid whose points run concurrently
    /// (the way `train` runs every grid) until it is dropped.
    fn grid_guard(&self) -> Box<dyn Any>;
    /// Restores a fitted model saved in `dir`.
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError>;
    /// Whether the config's `lstm` section can run here (e.g. `device: cuda` needs a GPU);
    /// the message names the key.
    fn check(&self, cfg: &LstmFile) -> Result<(), String>;
}

static TORCH: OnceLock<&'static dyn TorchFamily> = OnceLock::new();

/// Installs the `lstm` family (once per process; later calls are ignored).
pub fn install(family: &'static dyn TorchFamily) {
    let _ = TORCH.set(family);
}

/// The installed `lstm` family, if this process links libtorch.
pub fn family() -> Option<&'static dyn TorchFamily> {
    TORCH.get().copied()
}

/// The installed family, or the error that tells the CLI to hand over to `adsales-torch`.
pub fn require() -> Result<&'static dyn TorchFamily, ModelError> {
    family().ok_or(ModelError::NeedsLibtorch)
}
