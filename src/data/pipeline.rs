//! The data half of the pipeline shared by train, infer and info:
//! raw CSV → daily frame → features → split/scale, with the size checks between them.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use tracing::info;

use crate::config::Config;
use crate::data::features::{self, Features};
use crate::data::preprocess::{self, Prepared};
use crate::data::{self, Daily};
use crate::util::error::InputError;

/// Smallest train segment we accept: two full weeks beyond the seasonal lag, so the
/// seasonal-naive scale and the weekly models have something to learn from.
pub const MIN_TRAIN_ROWS: usize = 21;

/// Everything the data stages produce.
#[derive(Debug, Clone)]
pub struct DataStages {
    pub daily: Daily,
    pub features: Features,
    pub prepared: Prepared,
    /// Seconds spent in (data, features, split/scale).
    pub timings: [f64; 3],
}

/// Runs data → features → split/scale and checks that every segment is large enough.
/// Writes nothing.
pub fn run_data_stages(cfg: &Config) -> Result<DataStages> {
    let t0 = Instant::now();
    let daily = data::load(&cfg.paths.raw_data, &cfg.data)?;
    let t1 = Instant::now();
    let features = features::build(&daily, &cfg.features, &cfg.data.target, &cfg.paths.raw_data)?;
    let t2 = Instant::now();
    let prepared = preprocess::prepare(&features, cfg.split);
    check_sizes(cfg, &daily, &features, &prepared, &cfg.paths.raw_data)?;
    let t3 = Instant::now();
    info!(
        rows = features.len(),
        columns = features.names.len(),
        warmup = features.warmup,
        train = prepared.split.n_train(),
        val = prepared.split.n_val(),
        test = prepared.split.n_test(),
        "features ready"
    );
    Ok(DataStages {
        daily,
        features,
        prepared,
        timings: [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    })
}

fn check_sizes(
    cfg: &Config,
    daily: &Daily,
    features: &Features,
    prep: &Prepared,
    source: &Path,
) -> Result<(), InputError> {
    let s = prep.split;
    if s.n_train() < MIN_TRAIN_ROWS || s.n_val() < 1 || s.n_test() < 1 {
        return Err(InputError::new(format!(
            "data file {}: too few days: {} days give {} feature rows after a warm-up of {} \
             (lags up to {}, windows up to {}), split into train {}, val {}, test {}; need at \
             least {} train rows and one val and one test row (about {} days in all)",
            source.display(),
            daily.len(),
            features.len(),
            features.warmup,
            cfg.features.lags.iter().max().copied().unwrap_or(0),
            cfg.features
                .rolling_windows
                .iter()
                .max()
                .copied()
                .unwrap_or(0),
            s.n_train(),
            s.n_val(),
            s.n_test(),
            MIN_TRAIN_ROWS,
            features.warmup + (MIN_TRAIN_ROWS as f64 / cfg.split.train).ceil() as usize + 1
        )));
    }
    Ok(())
}

/// Writes the processed snapshot and the scaler JSON atomically.
pub fn write_outputs(cfg: &Config, stages: &DataStages) -> Result<()> {
    crate::util::fsutil::write_atomic(
        &cfg.paths.processed_data,
        &features::to_csv(&stages.features),
    )
    .with_context(|| format!("writing {}", cfg.paths.processed_data.display()))?;
    let scaler_path = cfg.paths.artifacts_dir.join("scaler.json");
    crate::util::fsutil::write_atomic(&scaler_path, stages.prepared.scaler.to_json().as_bytes())
        .with_context(|| format!("writing {}", scaler_path.display()))?;
    info!(
        processed = %cfg.paths.processed_data.display(),
        scaler = %scaler_path.display(),
        "wrote processed snapshot and scaler"
    );
    Ok(())
}
