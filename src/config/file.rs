//! The top of `config.yaml` as serde reads it: every key optional with the shipped default,
//! unknown keys rejected. Each section's type lives next to the code that uses it (`data`,
//! `models`); `super` checks the file once into [`super::Config`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::config::{DataFile, FeaturesFile, SplitFile};
use crate::models::Family;
use crate::models::auto_arima::family::AutoArimaFile;
use crate::models::sarimax::config::{ArimaFile, SarimaxFile};
use crate::models::torch::LstmFile;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    pub seed: u64,
    pub forecast_days: usize,
    /// Central prediction-interval level used in evaluation and by default at inference.
    pub interval_level: f64,
    pub paths: PathsFile,
    pub data: DataFile,
    pub features: FeaturesFile,
    pub split: SplitFile,
    pub families: Vec<Family>,
    pub mlflow: MlflowFile,
    pub arima: ArimaFile,
    pub sarimax: SarimaxFile,
    pub auto_arima: AutoArimaFile,
    pub lstm: LstmFile,
    /// Forecast every segment and reconcile (absent: one total series, as always).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<crate::data::segments::SegmentsFile>,
}

impl Default for ConfigFile {
    fn default() -> Self {
        ConfigFile {
            seed: 42,
            forecast_days: 7,
            interval_level: 0.95,
            paths: PathsFile::default(),
            data: DataFile::default(),
            features: FeaturesFile::default(),
            split: SplitFile::default(),
            // Every built-in family but `intermittent`, which is for segment series (it joins
            // their grids by default) and would change what a plain train runs.
            families: crate::models::family::BUILT_IN
                .iter()
                .map(|(f, _)| *f)
                .filter(|f| *f != Family::Intermittent)
                .collect(),
            mlflow: MlflowFile::default(),
            arima: ArimaFile::default(),
            sarimax: SarimaxFile::default(),
            auto_arima: AutoArimaFile::default(),
            lstm: LstmFile::default(),
            segments: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsFile {
    pub raw_data: PathBuf,
    pub processed_data: PathBuf,
    pub artifacts_dir: PathBuf,
    pub logs_dir: PathBuf,
}

impl Default for PathsFile {
    fn default() -> Self {
        PathsFile {
            raw_data: "data/raw/global_ads_performance_dataset.csv".into(),
            processed_data: "data/processed/processed_ads.csv".into(),
            artifacts_dir: "artifacts".into(),
            logs_dir: "logs".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlflowFile {
    pub tracking_uri: String,
    pub experiment_name: String,
    pub model_name: String,
    pub alias: String,
    /// The alias `adsales promote` moves to a winning challenger.
    pub promote_to: String,
    /// How much lower (a fraction) the challenger's RMSE must be than the champion's.
    pub promote_margin: f64,
}

impl Default for MlflowFile {
    fn default() -> Self {
        MlflowFile {
            tracking_uri: "mlruns".into(),
            experiment_name: "Ad_Sales_TimeSeries".into(),
            model_name: "Ad_Sales_Forecaster".into(),
            alias: "Staging".into(),
            promote_to: "Production".into(),
            promote_margin: 0.0,
        }
    }
}
