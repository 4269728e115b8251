//! The data half of the pipeline for one daily series: raw CSV → daily frame → features →
//! split/scale, with the size checks between them (protocol §1–§3).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use tracing::info;

use super::config::{DataConfig, FeatureConfig, SplitRatios};
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

/// One daily series and how it becomes model inputs: the unit of work of `train`.
#[derive(Debug, Clone, Copy)]
pub struct SeriesSource<'a> {
    /// The raw CSV the series is read from.
    pub path: &'a Path,
    pub data: &'a DataConfig,
    pub features: &'a FeatureConfig,
    pub split: SplitRatios,
}

/// Runs data → features → split/scale and checks that every segment is large enough.
/// Writes nothing.
pub fn run_data_stages(src: &SeriesSource) -> Result<DataStages> {
    let t0 = Instant::now();
    let daily = data::load(src.path, src.data)?;
    stages_from_daily(src, daily, t0)
}

/// The stages after the data stage, on a daily series made elsewhere (a segment's); `t0`
/// is when its data stage began.
pub fn stages_from_daily(src: &SeriesSource, daily: Daily, t0: Instant) -> Result<DataStages> {
    let t1 = Instant::now();
    let features = features::build(&daily, src.features, &src.data.target, src.path)?;
    let t2 = Instant::now();
    let prepared = preprocess::prepare(&features, src.split);
    check_sizes(src, &daily, &features, &prepared)?;
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
    src: &SeriesSource,
    daily: &Daily,
    features: &Features,
    prep: &Prepared,
) -> Result<(), InputError> {
    let s = prep.split;
    if s.n_train() < MIN_TRAIN_ROWS || s.n_val() < 1 || s.n_test() < 1 {
        return Err(InputError::new(format!(
            "data file {}: too few days: {} days give {} feature rows after a warm-up of {} \
             (lags up to {}, windows up to {}), split into train {}, val {}, test {}; need at \
             least {} train rows and one val and one test row (about {} days in all)",
            src.path.display(),
            daily.len(),
            features.len(),
            features.warmup,
            src.features.lags.iter().max().copied().unwrap_or(0),
            src.features
                .rolling_windows
                .iter()
                .max()
                .copied()
                .unwrap_or(0),
            s.n_train(),
            s.n_val(),
            s.n_test(),
            MIN_TRAIN_ROWS,
            features.warmup + (MIN_TRAIN_ROWS as f64 / src.split.train).ceil() as usize + 1
        )));
    }
    Ok(())
}
