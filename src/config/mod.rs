//! `config.yaml`: the file as serde reads it (`file`, each section's type next to the code
//! that uses it) and the one-time check into the [`Config`] every command reads. Only the
//! commands read a whole `Config`; each stage gets its own checked section.

mod file;

use std::path::{Path, PathBuf};

use crate::util::error::{ConfigKeys, InputError};

pub use self::file::*;
pub use crate::data::config::{
    DataConfig, DataFile, Exog, ExogFile, FeatureConfig, FeaturesFile, FillMissing, FuturePolicy,
    SplitFile, SplitRatios,
};
pub use crate::models::family::{Family, ModelsConfig};
pub use crate::models::sarimax::Trend;
pub use crate::models::sarimax::config::{
    ArimaFile, ArimaGrid, ArimaGridFile, SarimaxFile, SarimaxGridFile, SarimaxSettings,
};
pub use crate::models::torch::{LstmConfig, LstmDevice, LstmFile, LstmGridFile, OneOrMany};

/// Paths resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Paths {
    pub raw_data: PathBuf,
    pub processed_data: PathBuf,
    pub artifacts_dir: PathBuf,
    pub logs_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct MlflowConfig {
    /// After the `MLFLOW_TRACKING_URI` override; a relative path is resolved against the
    /// config file's folder.
    pub tracking_uri: String,
    pub experiment_name: String,
    pub model_name: String,
    pub alias: String,
    /// The alias `promote` moves (`mlflow.promote_to`).
    pub promote_to: String,
    /// `mlflow.promote_margin`: the challenger's RMSE must be below (1 − margin) × the
    /// champion's.
    pub promote_margin: f64,
}

/// The validated configuration every command reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages and as a tracking artifact).
    pub source: PathBuf,
    pub seed: u64,
    pub forecast_days: usize,
    pub interval_level: f64,
    pub paths: Paths,
    pub data: DataConfig,
    pub features: FeatureConfig,
    pub split: SplitRatios,
    pub families: Vec<Family>,
    pub mlflow: MlflowConfig,
    /// The families' own sections (and the seed), which their grids are built from.
    pub models: ModelsConfig,
    /// `segments:`: forecast every node of these levels and reconcile.
    pub segments: Option<crate::data::segments::Segments>,
}

impl Config {
    /// Reads, parses and validates `path`. Every error is an [`InputError`] naming the file
    /// and the key.
    pub fn load(path: &Path) -> Result<Config, InputError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            InputError::new(format!("config file {}: cannot read: {e}", path.display()))
        })?;
        if meta.is_dir() {
            return Err(InputError::new(format!(
                "config file {}: is a directory, expected a YAML file",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(format!("config file {}: cannot read: {e}", path.display()))
        })?;
        let env_uri = std::env::var("MLFLOW_TRACKING_URI")
            .ok()
            .filter(|s| !s.trim().is_empty());
        Self::from_yaml(&text, path, env_uri.as_deref())
    }

    /// Every driver a model may read: the data's (`data.exog`) and the event columns.
    pub fn drivers(&self) -> Vec<Exog> {
        let mut d = self.data.exog.clone();
        d.extend(self.features.event_drivers());
        d
    }

    /// The configured series as the data stages read it.
    pub fn series(&self) -> crate::data::pipeline::SeriesSource<'_> {
        crate::data::pipeline::SeriesSource {
            path: &self.paths.raw_data,
            data: &self.data,
            features: &self.features,
            split: self.split,
        }
    }

    /// Parses YAML `text` as if read from `path` (used for messages and to resolve relative
    /// paths). `env_tracking_uri` overrides `mlflow.tracking_uri` when given.
    pub fn from_yaml(
        text: &str,
        path: &Path,
        env_tracking_uri: Option<&str>,
    ) -> Result<Config, InputError> {
        let file = parse_yaml(text, path)?;
        file.check(path, env_tracking_uri)
    }
}

fn parse_yaml(text: &str, path: &Path) -> Result<ConfigFile, InputError> {
    if text.trim().is_empty() {
        // An empty file is a valid "all defaults" document for YAML, but almost certainly a
        // mistake; say so instead of silently training on defaults.
        return Err(InputError::new(format!(
            "config file {}: is empty; expected a YAML mapping (see config.yaml in the repository)",
            path.display()
        )));
    }
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, ConfigFile>(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde_norway already prefixes most messages with the key path; avoid saying it twice.
        if key == "." || key.is_empty() || inner.starts_with(&key) {
            InputError::new(format!("config file {}: {inner}", path.display()))
        } else {
            InputError::new(format!(
                "config file {}: key `{key}`: {inner}",
                path.display()
            ))
        }
    })
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() || base == Path::new(".") {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn is_remote_uri(uri: &str) -> bool {
    uri.starts_with("http://") || uri.starts_with("https://")
}

impl PathsFile {
    /// The paths, relative ones resolved against the config file's folder `base`.
    fn resolve(&self, base: &Path) -> Paths {
        Paths {
            raw_data: resolve(base, &self.raw_data),
            processed_data: resolve(base, &self.processed_data),
            artifacts_dir: resolve(base, &self.artifacts_dir),
            logs_dir: resolve(base, &self.logs_dir),
        }
    }
}

impl MlflowFile {
    /// Checks the `mlflow` section; `env_tracking_uri` (MLFLOW_TRACKING_URI) overrides the
    /// file's tracking URI and, being typed where the command runs, is not resolved against
    /// the config's folder `base`.
    fn check(
        &self,
        c: &ConfigKeys,
        base: &Path,
        env_tracking_uri: Option<&str>,
    ) -> Result<MlflowConfig, InputError> {
        let m = self;
        c.name("mlflow.experiment_name", &m.experiment_name)?;
        c.name("mlflow.model_name", &m.model_name)?;
        for (key, alias) in [
            ("mlflow.alias", &m.alias),
            ("mlflow.promote_to", &m.promote_to),
        ] {
            c.name(key, alias)?;
            if alias == "latest" || (alias.starts_with('v') && alias[1..].parse::<u64>().is_ok()) {
                return Err(c.err(
                    key,
                    format!("`{alias}` is reserved by MLflow (`latest` and `v<N>`)"),
                ));
            }
        }
        if m.promote_to == m.alias {
            return Err(c.err(
                "mlflow.promote_to",
                format!("must differ from mlflow.alias (`{}`): promotion moves a model from one alias to another", m.alias),
            ));
        }
        if !(0.0..1.0).contains(&m.promote_margin) {
            return Err(c.err(
                "mlflow.promote_margin",
                format!("must be a fraction in [0, 1), got {}", m.promote_margin),
            ));
        }
        let uri_raw = env_tracking_uri
            .unwrap_or(&m.tracking_uri)
            .trim()
            .to_string();
        if uri_raw.is_empty() {
            return Err(c.err("mlflow.tracking_uri", "must be a path or an http(s):// URI"));
        }
        let tracking_uri = if is_remote_uri(&uri_raw) || uri_raw.starts_with("file:") {
            uri_raw
        } else if env_tracking_uri.is_some() {
            // From the environment: relative to where the user runs the command.
            uri_raw
        } else {
            resolve(base, Path::new(&uri_raw))
                .to_string_lossy()
                .into_owned()
        };
        Ok(MlflowConfig {
            tracking_uri,
            experiment_name: m.experiment_name.clone(),
            model_name: m.model_name.clone(),
            alias: m.alias.clone(),
            promote_to: m.promote_to.clone(),
            promote_margin: m.promote_margin,
        })
    }
}

impl ConfigFile {
    /// Validates into checked values, section by section; `path` is the config file (for
    /// messages and as the base of relative paths).
    pub fn check(self, path: &Path, env_tracking_uri: Option<&str>) -> Result<Config, InputError> {
        let c = ConfigKeys { path };
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();

        if self.forecast_days == 0 {
            return Err(c.err("forecast_days", "must be at least 1 (days to forecast)"));
        }
        if !(self.interval_level > 0.0 && self.interval_level < 1.0) {
            return Err(c.err(
                "interval_level",
                format!(
                    "must be between 0 and 1 (exclusive), got {}",
                    self.interval_level
                ),
            ));
        }
        let data = self.data.check(&c)?;
        let features = self.features.check(&c, &data)?;
        let split = self.split.check(&c)?;

        c.non_empty("families", &self.families)?;
        let mut families = Vec::new();
        for fam in &self.families {
            if !families.contains(fam) {
                families.push(*fam);
            }
        }

        let mlflow = self.mlflow.check(&c, &base, env_tracking_uri)?;
        let segments = match &self.segments {
            Some(sf) => Some(sf.check(&c, &data, &families)?),
            None => None,
        };
        // Every driver a model may read: the data's and the event calendar's (as `drivers()`).
        let drivers = [data.exog.clone(), features.event_drivers()].concat();
        let models = ModelsConfig {
            seed: self.seed,
            arima: self.arima.check(&c)?,
            sarimax: self.sarimax.check(&c, &drivers)?,
            auto_arima: self.auto_arima.check(&c, &drivers)?,
            // The LSTM reads every driver whose future values are known at forecast time.
            lstm: self.lstm.check(
                &c,
                self.forecast_days,
                drivers
                    .iter()
                    .filter(|e| e.policy != crate::data::FuturePolicy::Forecast)
                    .map(|e| e.name.clone())
                    .collect(),
            )?,
        };

        Ok(Config {
            source: path.to_path_buf(),
            seed: self.seed,
            forecast_days: self.forecast_days,
            interval_level: self.interval_level,
            paths: self.paths.resolve(&base),
            data,
            features,
            split,
            families,
            mlflow,
            models,
            segments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let cfg = ConfigFile::default()
            .check(Path::new("config.yaml"), None)
            .unwrap();
        assert_eq!(cfg.data.sum_columns[0], "revenue");
        assert_eq!(cfg.features.rolling_columns.len(), 4);
        assert_eq!(cfg.mlflow.tracking_uri, "mlruns");
    }

    #[test]
    fn env_overrides_tracking_uri() {
        let cfg = ConfigFile::default()
            .check(Path::new("x/config.yaml"), Some("http://127.0.0.1:5000"))
            .unwrap();
        assert_eq!(cfg.mlflow.tracking_uri, "http://127.0.0.1:5000");
        let cfg = ConfigFile::default()
            .check(Path::new("x/config.yaml"), None)
            .unwrap();
        assert_eq!(cfg.mlflow.tracking_uri, "x/mlruns");
    }
}
