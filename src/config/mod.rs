//! `config.yaml`: serde types (every key optional with the shipped default, unknown keys
//! rejected; in `file`) and the one-time validation into checked values that later stages
//! trust.

mod file;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::util::error::InputError;

pub use self::file::*;

// ---------------------------------------------------------------------------------------
// Checked values.
// ---------------------------------------------------------------------------------------

/// An exogenous column and its future policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exog {
    pub name: String,
    pub policy: FuturePolicy,
}

/// Paths resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Paths {
    pub raw_data: PathBuf,
    pub processed_data: PathBuf,
    pub artifacts_dir: PathBuf,
    pub logs_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DataConfig {
    pub date_column: String,
    pub date_format: String,
    pub target: String,
    pub exog: Vec<Exog>,
    /// Every column summed per day: target first, then exog, then the extra sum columns.
    pub sum_columns: Vec<String>,
    pub fill_missing: FillMissing,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureConfig {
    pub calendar: bool,
    pub lags: Vec<usize>,
    pub rolling_windows: Vec<usize>,
    pub rolling_columns: Vec<String>,
    pub pct_change_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct SplitRatios {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

#[derive(Debug, Clone)]
pub struct MlflowConfig {
    /// After the `MLFLOW_TRACKING_URI` override; a relative path is resolved against the
    /// config file's folder.
    pub tracking_uri: String,
    pub experiment_name: String,
    pub model_name: String,
    pub alias: String,
}

/// The validated configuration every stage reads.
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
    pub arima: ArimaGridFile,
    pub sarimax: SarimaxFile,
    pub lstm: LstmFile,
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

/// Collects "key: message" problems so one run reports the first clearly.
struct Checker<'a> {
    path: &'a Path,
}

impl Checker<'_> {
    fn err(&self, key: &str, msg: impl std::fmt::Display) -> InputError {
        InputError::new(format!(
            "config file {}: key `{key}`: {msg}",
            self.path.display()
        ))
    }
    fn non_empty<T>(&self, key: &str, v: &[T]) -> Result<(), InputError> {
        if v.is_empty() {
            Err(self.err(key, "must list at least one value"))
        } else {
            Ok(())
        }
    }
    fn name(&self, key: &str, v: &str) -> Result<(), InputError> {
        if v.trim().is_empty() {
            Err(self.err(key, "must be a non-empty name"))
        } else {
            Ok(())
        }
    }
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

impl ConfigFile {
    /// Validates into checked values; `path` is the config file (for messages and as the
    /// base of relative paths).
    pub fn check(self, path: &Path, env_tracking_uri: Option<&str>) -> Result<Config, InputError> {
        let c = Checker { path };
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

        // data
        let d = &self.data;
        c.name("data.date_column", &d.date_column)?;
        c.name("data.target", &d.target)?;
        if d.date_format.trim().is_empty() {
            return Err(c.err(
                "data.date_format",
                "must be a strftime format such as %Y-%m-%d",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, e) in d.exog.iter().enumerate() {
            c.name(&format!("data.exog[{i}].name"), &e.name)?;
            if e.name == d.target {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    format!("`{}` is the target; a column cannot drive itself", e.name),
                ));
            }
            if e.name == d.date_column {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    "is the date column; exogenous drivers must be numeric columns",
                ));
            }
            if !seen.insert(e.name.clone()) {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    format!("`{}` is listed twice", e.name),
                ));
            }
        }
        let mut sum_columns = vec![d.target.clone()];
        sum_columns.extend(d.exog.iter().map(|e| e.name.clone()));
        for (i, s) in d.sum_columns.iter().enumerate() {
            c.name(&format!("data.sum_columns[{i}]"), s)?;
            if s == &d.date_column {
                return Err(c.err(
                    &format!("data.sum_columns[{i}]"),
                    "is the date column; only numeric columns can be summed",
                ));
            }
            if !sum_columns.contains(s) {
                sum_columns.push(s.clone());
            }
        }

        // features
        let f = &self.features;
        for (i, &l) in f.lags.iter().enumerate() {
            if l == 0 {
                return Err(c.err(
                    &format!("features.lags[{i}]"),
                    "lags must be at least 1 day",
                ));
            }
        }
        for (i, &w) in f.rolling_windows.iter().enumerate() {
            if w < 2 {
                return Err(c.err(
                    &format!("features.rolling_windows[{i}]"),
                    "windows must be at least 2 days (a sample std needs two values)",
                ));
            }
        }
        let exog_names: Vec<String> = d.exog.iter().map(|e| e.name.clone()).collect();
        let rolling_columns = match &f.rolling_columns {
            Some(v) => v.clone(),
            None => {
                let mut v = vec![d.target.clone()];
                v.extend(exog_names.iter().cloned());
                v
            }
        };
        let pct_change_columns = match &f.pct_change_columns {
            Some(v) => v.clone(),
            None => {
                let mut v = vec![d.target.clone()];
                if exog_names.iter().any(|n| n == "ad_spend") {
                    v.push("ad_spend".into());
                }
                v
            }
        };
        for (key, cols) in [
            ("features.rolling_columns", &rolling_columns),
            ("features.pct_change_columns", &pct_change_columns),
        ] {
            for (i, col) in cols.iter().enumerate() {
                if !sum_columns.contains(col) {
                    return Err(c.err(
                        &format!("{key}[{i}]"),
                        format!(
                            "`{col}` is not a daily column; expected one of: {}",
                            sum_columns.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut lags = f.lags.clone();
        lags.sort_unstable();
        lags.dedup();
        let mut windows = f.rolling_windows.clone();
        windows.sort_unstable();
        windows.dedup();

        // split
        let s = &self.split;
        for (key, v) in [
            ("split.train", s.train),
            ("split.val", s.val),
            ("split.test", s.test),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(c.err(
                    key,
                    format!("must be a ratio strictly between 0 and 1, got {v}"),
                ));
            }
        }
        let total = s.train + s.val + s.test;
        if (total - 1.0).abs() > 1e-9 {
            return Err(c.err(
                "split",
                format!(
                    "train + val + test must sum to 1, got {} + {} + {} = {total}",
                    s.train, s.val, s.test
                ),
            ));
        }

        // families
        c.non_empty("families", &self.families)?;
        let mut families = Vec::new();
        for fam in &self.families {
            if !families.contains(fam) {
                families.push(*fam);
            }
        }

        // mlflow
        let m = &self.mlflow;
        c.name("mlflow.experiment_name", &m.experiment_name)?;
        c.name("mlflow.model_name", &m.model_name)?;
        c.name("mlflow.alias", &m.alias)?;
        if m.alias == "latest" || (m.alias.starts_with('v') && m.alias[1..].parse::<u64>().is_ok())
        {
            return Err(c.err(
                "mlflow.alias",
                format!("`{}` is reserved by MLflow (`latest` and `v<N>`)", m.alias),
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
            resolve(&base, Path::new(&uri_raw))
                .to_string_lossy()
                .into_owned()
        };

        // arima grid
        let a = &self.arima.param_grid;
        c.non_empty("arima.param_grid.p", &a.p)?;
        c.non_empty("arima.param_grid.d", &a.d)?;
        c.non_empty("arima.param_grid.q", &a.q)?;
        c.non_empty("arima.param_grid.trend", &a.trend)?;
        for (key, v) in [("p", &a.p), ("d", &a.d), ("q", &a.q)] {
            if let Some(x) = v.iter().find(|&&x| x > 30) {
                return Err(c.err(
                    &format!("arima.param_grid.{key}"),
                    format!("{x} is far beyond what daily data can identify (at most 30)"),
                ));
            }
        }

        // sarimax
        let sx = &self.sarimax;
        for (i, e) in sx.exog.iter().enumerate() {
            if !exog_names.contains(e) {
                return Err(c.err(
                    &format!("sarimax.exog[{i}]"),
                    format!(
                        "`{e}` is not in data.exog (which lists: {})",
                        if exog_names.is_empty() {
                            "nothing".into()
                        } else {
                            exog_names.join(", ")
                        }
                    ),
                ));
            }
        }
        let g = &sx.param_grid;
        c.non_empty("sarimax.param_grid.order", &g.order)?;
        c.non_empty("sarimax.param_grid.seasonal_order", &g.seasonal_order)?;
        c.non_empty("sarimax.param_grid.trend", &g.trend)?;
        for (i, so) in g.seasonal_order.iter().enumerate() {
            let [sp, sd, sq, period] = *so;
            if (sp + sd + sq) > 0 && period < 2 {
                return Err(c.err(
                    &format!("sarimax.param_grid.seasonal_order[{i}]"),
                    format!("seasonal terms need a period s of at least 2, got s = {period}"),
                ));
            }
        }

        // lstm
        let l = &self.lstm;
        let lg = &l.param_grid;
        c.non_empty("lstm.param_grid.learning_rate", &lg.learning_rate)?;
        c.non_empty("lstm.param_grid.batch_size", &lg.batch_size)?;
        c.non_empty("lstm.param_grid.sequence_length", &lg.sequence_length)?;
        c.non_empty("lstm.param_grid.dropout", &lg.dropout)?;
        c.non_empty("lstm.param_grid.weight_decay", &lg.weight_decay)?;
        if let Some(x) = lg
            .learning_rate
            .iter()
            .find(|x| !(x.is_finite() && **x > 0.0))
        {
            return Err(c.err(
                "lstm.param_grid.learning_rate",
                format!("must be > 0, got {x}"),
            ));
        }
        if lg.batch_size.contains(&0) {
            return Err(c.err("lstm.param_grid.batch_size", "must be at least 1"));
        }
        if lg.sequence_length.contains(&0) {
            return Err(c.err("lstm.param_grid.sequence_length", "must be at least 1"));
        }
        if let Some(x) = lg.dropout.iter().find(|x| !(**x >= 0.0 && **x < 1.0)) {
            return Err(c.err(
                "lstm.param_grid.dropout",
                format!("must be in [0, 1), got {x}"),
            ));
        }
        if let Some(x) = lg
            .weight_decay
            .iter()
            .find(|x| !(x.is_finite() && **x >= 0.0))
        {
            return Err(c.err(
                "lstm.param_grid.weight_decay",
                format!("must be >= 0, got {x}"),
            ));
        }
        if l.hidden_size.to_vec().is_empty() || l.hidden_size.to_vec().contains(&0) {
            return Err(c.err(
                "lstm.hidden_size",
                "must be at least 1 (a number or a list)",
            ));
        }
        if l.num_layers.to_vec().is_empty() || l.num_layers.to_vec().contains(&0) {
            return Err(c.err("lstm.num_layers", "must be at least 1 (a number or a list)"));
        }
        if l.max_epochs == 0 {
            return Err(c.err("lstm.max_epochs", "must be at least 1"));
        }
        if l.max_horizon < self.forecast_days {
            return Err(c.err(
                "lstm.max_horizon",
                format!(
                    "must be at least forecast_days ({}), got {}",
                    self.forecast_days, l.max_horizon
                ),
            ));
        }

        Ok(Config {
            source: path.to_path_buf(),
            seed: self.seed,
            forecast_days: self.forecast_days,
            interval_level: self.interval_level,
            paths: Paths {
                raw_data: resolve(&base, &self.paths.raw_data),
                processed_data: resolve(&base, &self.paths.processed_data),
                artifacts_dir: resolve(&base, &self.paths.artifacts_dir),
                logs_dir: resolve(&base, &self.paths.logs_dir),
            },
            data: DataConfig {
                date_column: d.date_column.clone(),
                date_format: d.date_format.clone(),
                target: d.target.clone(),
                exog: d
                    .exog
                    .iter()
                    .map(|e| Exog {
                        name: e.name.clone(),
                        policy: e.future,
                    })
                    .collect(),
                sum_columns,
                fill_missing: d.fill_missing,
            },
            features: FeatureConfig {
                calendar: f.calendar,
                lags,
                rolling_windows: windows,
                rolling_columns,
                pct_change_columns,
            },
            split: SplitRatios {
                train: s.train,
                val: s.val,
                test: s.test,
            },
            families,
            mlflow: MlflowConfig {
                tracking_uri,
                experiment_name: m.experiment_name.clone(),
                model_name: m.model_name.clone(),
                alias: m.alias.clone(),
            },
            arima: self.arima.param_grid.clone(),
            sarimax: self.sarimax.clone(),
            lstm: self.lstm.clone(),
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
