//! The schema of `config.yaml` as serde reads it: every key optional with the shipped
//! default, unknown keys rejected. `super` validates it once into checked values.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Future policy of an exogenous column (protocol §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FuturePolicy {
    /// A planned quantity (ad spend): evaluation may use actuals; inference takes a plan.
    Known,
    /// An outcome (clicks): forecast at each origin from data up to the origin.
    Forecast,
}

/// What to do with days that have no rows at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillMissing {
    Interpolate,
    Zero,
    Error,
}

/// Deterministic trend of a SARIMAX model: none, constant, linear in time, both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    N,
    C,
    T,
    Ct,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::N => "n",
            Trend::C => "c",
            Trend::T => "t",
            Trend::Ct => "ct",
        }
    }
}

/// Model families `adsales train` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    SeasonalNaive,
    Arima,
    Sarimax,
    Lstm,
    Mstl,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::SeasonalNaive => "seasonal_naive",
            Family::Arima => "arima",
            Family::Sarimax => "sarimax",
            Family::Lstm => "lstm",
            Family::Mstl => "mstl",
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// The file as written (serde). Defaults equal the shipped config.yaml.
// ---------------------------------------------------------------------------------------

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
    pub lstm: LstmFile,
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
            families: vec![
                Family::SeasonalNaive,
                Family::Arima,
                Family::Sarimax,
                Family::Lstm,
                Family::Mstl,
            ],
            mlflow: MlflowFile::default(),
            arima: ArimaFile::default(),
            sarimax: SarimaxFile::default(),
            lstm: LstmFile::default(),
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
#[serde(deny_unknown_fields)]
pub struct ExogFile {
    pub name: String,
    pub future: FuturePolicy,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataFile {
    pub date_column: String,
    /// strftime format of the date column.
    pub date_format: String,
    pub target: String,
    pub exog: Vec<ExogFile>,
    /// Additive columns summed per day; the target and the exog columns are always included.
    pub sum_columns: Vec<String>,
    pub fill_missing: FillMissing,
}

impl Default for DataFile {
    fn default() -> Self {
        DataFile {
            date_column: "date".into(),
            date_format: "%Y-%m-%d".into(),
            target: "revenue".into(),
            exog: vec![
                ExogFile {
                    name: "ad_spend".into(),
                    future: FuturePolicy::Known,
                },
                ExogFile {
                    name: "clicks".into(),
                    future: FuturePolicy::Forecast,
                },
                ExogFile {
                    name: "impressions".into(),
                    future: FuturePolicy::Forecast,
                },
            ],
            sum_columns: vec!["conversions".into()],
            fill_missing: FillMissing::Interpolate,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesFile {
    pub calendar: bool,
    pub lags: Vec<usize>,
    pub rolling_windows: Vec<usize>,
    /// Columns that get rolling mean/std; default: the target and every exog column.
    pub rolling_columns: Option<Vec<String>>,
    /// Columns that get a 1-day percent change; default: the target and `ad_spend` if present.
    pub pct_change_columns: Option<Vec<String>>,
}

impl Default for FeaturesFile {
    fn default() -> Self {
        FeaturesFile {
            calendar: true,
            lags: vec![1, 7, 14, 30],
            rolling_windows: vec![7, 14, 30],
            rolling_columns: None,
            pct_change_columns: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitFile {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Default for SplitFile {
    fn default() -> Self {
        SplitFile {
            train: 0.70,
            val: 0.15,
            test: 0.15,
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
}

impl Default for MlflowFile {
    fn default() -> Self {
        MlflowFile {
            tracking_uri: "mlruns".into(),
            experiment_name: "Ad_Sales_TimeSeries".into(),
            model_name: "Ad_Sales_Forecaster".into(),
            alias: "Staging".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArimaFile {
    pub param_grid: ArimaGridFile,
}

impl Default for ArimaFile {
    fn default() -> Self {
        ArimaFile {
            param_grid: ArimaGridFile {
                p: vec![0, 1, 2],
                d: vec![0, 1],
                q: vec![0, 1, 2],
                trend: vec![Trend::N, Trend::C],
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArimaGridFile {
    pub p: Vec<u32>,
    pub d: Vec<u32>,
    pub q: Vec<u32>,
    pub trend: Vec<Trend>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SarimaxFile {
    /// Exogenous columns the SARIMAX family regresses on (each must be in `data.exog`).
    pub exog: Vec<String>,
    pub param_grid: SarimaxGridFile,
}

impl Default for SarimaxFile {
    fn default() -> Self {
        SarimaxFile {
            exog: vec!["ad_spend".into(), "clicks".into(), "impressions".into()],
            param_grid: SarimaxGridFile {
                order: vec![[1, 0, 1], [1, 1, 1], [2, 0, 1]],
                seasonal_order: vec![[0, 0, 0, 7], [1, 0, 1, 7], [0, 1, 1, 7], [1, 1, 1, 7]],
                trend: vec![Trend::N],
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SarimaxGridFile {
    pub order: Vec<[u32; 3]>,
    pub seasonal_order: Vec<[u32; 4]>,
    pub trend: Vec<Trend>,
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
