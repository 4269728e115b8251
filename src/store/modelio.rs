//! What goes into a model bundle and how it comes back (protocol §6–7).
//!
//! A bundle holds the fitted model's own files (written by `FittedForecaster::save`), the
//! scaler, the feature spec (everything needed to rebuild the exact frame the model saw:
//! columns, lags, windows, exog policies, date format, fill policy) and the daily history
//! (aggregated, gap-filled base columns of every day). Inference rebuilds features from that
//! history (plus any newer rows), so a forecast from a bundle equals one made at train time.
//! `bundle::finalize_bundle` then hashes every file into the `MLmodel` manifest.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::data::Daily;
use crate::data::preprocess::MinMaxScaler;
use crate::data::{DataConfig, Exog, FeatureConfig, FillMissing};
use crate::models::calibration::Calibration;
use crate::models::{Family, FittedForecaster, ModelError};
use crate::store::bundle::{self, BundleMeta, MlModel};

pub const SCALER_FILE: &str = "scaler.json";
pub const FEATURE_SPEC_FILE: &str = "feature_spec.json";
pub const HISTORY_FILE: &str = "history.csv";
pub const SUMMARY_FILE: &str = "summary.json";
/// The split-conformal calibration of the model's intervals (protocol §4.4); absent in
/// bundles saved before calibration, whose intervals are the model's own.
pub const CALIBRATION_FILE: &str = "calibration.json";

/// How to rebuild the model's input frame from raw rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub family: String,
    pub spec: String,
    pub date_column: String,
    pub date_format: String,
    pub target: String,
    pub sum_columns: Vec<String>,
    pub exog: Vec<Exog>,
    pub fill_missing: FillMissing,
    pub features: FeatureConfig,
    /// Column order of the frame the model was fitted on.
    pub columns: Vec<String>,
    /// Exogenous columns whose future values the model reads (SARIMAX); inference forecasts
    /// or plans only these.
    pub model_exog: Vec<String>,
    pub forecast_days: usize,
    pub interval_level: f64,
    /// sha256 of the raw training file.
    pub data_sha256: String,
    /// AutoETS search of the MSTL forecaster of exogenous columns (what the model was
    /// evaluated with; bundles from before it was recorded used "ZZN").
    #[serde(default = "crate::models::mstl::legacy_ets_search")]
    pub exog_ets: String,
    /// The implementation of that search: ours for bundles saved since our ETS, augurs' for
    /// those saved before (the default when absent), as each model was evaluated.
    #[serde(default)]
    pub exog_engine: crate::models::mstl::EtsEngine,
}

impl FeatureSpec {
    /// The known-policy drivers the model reads: the columns a plan must give.
    pub fn known_drivers(&self) -> Vec<String> {
        self.exog
            .iter()
            .filter(|e| {
                self.model_exog.contains(&e.name) && e.policy == crate::data::FuturePolicy::Known
            })
            .map(|e| e.name.clone())
            .collect()
    }

    /// The data-stage config that reads new raw rows the way training did.
    pub fn data_config(&self) -> DataConfig {
        DataConfig {
            date_column: self.date_column.clone(),
            date_format: self.date_format.clone(),
            target: self.target.clone(),
            exog: self.exog.clone(),
            sum_columns: self.sum_columns.clone(),
            fill_missing: self.fill_missing,
        }
    }
}

/// The daily history as CSV (same layout as the processed snapshot).
pub fn history_to_csv(d: &Daily) -> Vec<u8> {
    crate::data::features::table_csv(&d.dates, &d.names, &d.cols, &d.is_filled)
}

pub fn history_from_csv(path: &Path) -> Result<Daily, ModelError> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| ModelError::io(path, e))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| ModelError::io(path, e))?
        .iter()
        .map(String::from)
        .collect();
    if header.len() < 3
        || header[0] != "date"
        || header.last().map(String::as_str) != Some("is_filled")
    {
        return Err(ModelError::io(
            path,
            "expected columns date, ..., is_filled",
        ));
    }
    let names = header[1..header.len() - 1].to_vec();
    let (mut dates, mut cols, mut filled) = (Vec::new(), vec![Vec::new(); names.len()], Vec::new());
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| ModelError::io(path, e))?;
        let bad = |what: &str| ModelError::io(path, format!("row {}: bad {what}", i + 2));
        dates.push(NaiveDate::parse_from_str(&rec[0], "%Y-%m-%d").map_err(|_| bad("date"))?);
        for (j, c) in cols.iter_mut().enumerate() {
            c.push(rec[j + 1].parse::<f64>().map_err(|_| bad(&names[j]))?);
        }
        filled.push(&rec[header.len() - 1] == "1");
    }
    Ok(Daily {
        raw_rows: dates.len(),
        dates,
        names,
        cols,
        is_filled: filled,
    })
}

/// Writes every bundle file into `dir` (which must be empty or absent) and the manifest.
#[allow(clippy::too_many_arguments)]
pub fn write_bundle(
    dir: &Path,
    spec: &FeatureSpec,
    scaler: &MinMaxScaler,
    history: &Daily,
    fitted: &dyn FittedForecaster,
    summary: &serde_json::Value,
    calibration: Option<&Calibration>,
    run_id: Option<&str>,
) -> Result<MlModel, ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    fitted.save(dir)?;
    let put = |name: &str, bytes: &[u8]| put_file(dir, name, bytes);
    put(SCALER_FILE, scaler.to_json().as_bytes())?;
    put(
        FEATURE_SPEC_FILE,
        serde_json::to_string_pretty(spec)
            .expect("serialises")
            .as_bytes(),
    )?;
    put(HISTORY_FILE, &history_to_csv(history))?;
    put(
        SUMMARY_FILE,
        serde_json::to_string_pretty(summary)
            .expect("serialises")
            .as_bytes(),
    )?;
    if let Some(c) = calibration {
        put(
            CALIBRATION_FILE,
            serde_json::to_string(c).expect("serialises").as_bytes(),
        )?;
    }
    let mlflow = crate::store::pyfunc::write_files(dir, spec, history)?;
    bundle::finalize_bundle_with(
        dir,
        &BundleMeta {
            family: spec.family.clone(),
            spec: spec.spec.clone(),
            run_id: run_id.map(String::from),
        },
        Some(&mlflow),
    )
    .map_err(|e| ModelError::io(dir, e))
}

/// Writes `bytes` to `dir/name` atomically, making the folders `name` passes through.
pub(crate) fn put_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ModelError> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
    }
    crate::util::fsutil::write_atomic(&p, bytes).map_err(|e| ModelError::io(&p, e))
}

/// A verified, loaded bundle.
pub struct LoadedModel {
    pub manifest: MlModel,
    pub spec: FeatureSpec,
    pub scaler: MinMaxScaler,
    pub history: Daily,
    pub summary: serde_json::Value,
    pub calibration: Option<Calibration>,
    pub fitted: Box<dyn FittedForecaster>,
}

/// Verifies every sha256, then loads the model of the bundle's family.
pub fn load_bundle(dir: &Path) -> anyhow::Result<LoadedModel> {
    let manifest = bundle::verify_bundle(dir)?;
    let read = |name: &str| -> Result<String, ModelError> {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| ModelError::io(&p, e))
    };
    let spec: FeatureSpec = serde_json::from_str(&read(FEATURE_SPEC_FILE)?)
        .map_err(|e| ModelError::io(&dir.join(FEATURE_SPEC_FILE), e))?;
    let scaler = MinMaxScaler::from_json(&read(SCALER_FILE)?)
        .map_err(|e| ModelError::io(&dir.join(SCALER_FILE), e))?;
    let history = history_from_csv(&dir.join(HISTORY_FILE))?;
    let summary = serde_json::from_str(&read(SUMMARY_FILE)?)
        .map_err(|e| ModelError::io(&dir.join(SUMMARY_FILE), e))?;
    let calibration = if dir.join(CALIBRATION_FILE).is_file() {
        let c: Calibration = serde_json::from_str(&read(CALIBRATION_FILE)?)
            .map_err(|e| ModelError::io(&dir.join(CALIBRATION_FILE), e))?;
        if c.errors.is_empty()
            || c.errors
                .iter()
                .flatten()
                .any(|e| !(e.is_finite() && *e >= 0.0))
        {
            return Err(ModelError::io(
                &dir.join(CALIBRATION_FILE),
                "errors must be finite, non-negative numbers for at least one step",
            )
            .into());
        }
        if let Some(sc) = &c.scale
            && !(sc.window > 0 && sc.period > 0 && sc.floor.is_finite() && sc.floor > 0.0)
        {
            return Err(ModelError::io(
                &dir.join(CALIBRATION_FILE),
                "scale: window and period must be positive and floor a positive number",
            )
            .into());
        }
        Some(c)
    } else {
        None
    };
    let fitted = load_fitted(&manifest.flavors.adsales.family, dir)?;
    Ok(LoadedModel {
        manifest,
        spec,
        scaler,
        history,
        summary,
        calibration,
        fitted,
    })
}

/// Restores the fitted model of the family called `family` from its files in `dir`.
pub fn load_fitted(family: &str, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
    let f = Family::from_id(family).ok_or_else(|| {
        ModelError::BadInput(format!(
            "model family `{family}` in {} cannot be loaded by this build",
            dir.display()
        ))
    })?;
    crate::models::family::get(f)?.load(dir)
}
