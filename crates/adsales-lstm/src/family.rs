//! The `lstm` family as the root crate's pipeline sees it: its [`ModelFamily`] impl, which
//! `adsales-torch` installs at start-up, and where training runs (`lstm.device`).

use std::path::Path;

use adsales::models::torch::LstmDevice;
use adsales::models::{FittedForecaster, Forecaster, ModelError, ModelFamily, ModelsConfig};
use tch::Device;

use super::{FittedLstm, GridMode, LstmGrid};

/// Where `lstm.device` trains on this machine.
pub fn training_device(choice: LstmDevice) -> Result<Device, &'static str> {
    match choice {
        LstmDevice::Auto => Ok(Device::cuda_if_available()),
        LstmDevice::Cpu => Ok(Device::Cpu),
        LstmDevice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        LstmDevice::Cuda => {
            Err("lstm.device is cuda, but libtorch sees no CUDA device (use auto or cpu)")
        }
    }
}

/// The `lstm` family as the root crate's pipeline sees it (installed by `adsales-torch`).
pub struct Torch;

/// What `adsales-torch` installs with [`adsales::models::family::install`].
pub static TORCH_FAMILY: Torch = Torch;

impl ModelFamily for Torch {
    fn id(&self) -> &'static str {
        "lstm"
    }

    fn simplicity(&self) -> u32 {
        5
    }

    fn check(&self, cfg: &ModelsConfig) -> Result<(), String> {
        training_device(cfg.lstm.device)
            .map(|_| ())
            .map_err(String::from)
    }

    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        Ok(LstmGrid::from_config(&cfg.lstm, cfg.seed)
            .specs()
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn Forecaster>)
            .collect())
    }

    /// The known drivers and events, read on every forecast day.
    fn drivers(&self, cfg: &ModelsConfig) -> Vec<String> {
        cfg.lstm.known.clone()
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        Ok(Box::new(FittedLstm::load(dir)?))
    }

    /// libtorch's thread count is process-wide: held at what the grid runs best with (one
    /// intra-op thread per concurrent grid point) while the grid runs.
    fn grid_guard(&self) -> Option<Box<dyn std::any::Any>> {
        Some(Box::new(GridMode::auto().threads()))
    }
}
