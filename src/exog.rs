//! Future values of exogenous columns at each origin (protocol §5).
//!
//! - `known` columns (planned, e.g. ad spend): the actual values after the origin.
//! - `forecast` columns (outcomes, e.g. clicks): an MSTL(7) + AutoETS forecast made from the
//!   values up to and including the origin, never the actual future.
//!
//! The inputs at an origin depend only on the data, not on the model, so they are computed
//! once per origin and shared by every family and grid point.

use std::collections::HashMap;

use rayon::prelude::*;
use tracing::{debug, info};

use crate::config::{Exog, FuturePolicy};
use crate::models::mstl::{ETS_SEARCH, forecast_with};
use crate::models::{Frame, FutureInputs, ModelError};

/// The season of daily ad data (protocol: seasonal naive(7), MSTL(7), MASE scaled by the
/// seasonal-naive(7) error): what the baselines, MSTL and the exog forecaster all use.
pub const WEEK: usize = 7;

/// Precomputed future inputs for a set of origins.
#[derive(Debug, Clone, Default)]
pub struct FutureTable {
    by_origin: HashMap<usize, FutureInputs>,
}

impl FutureTable {
    /// Computes the future inputs of `exog` for every origin in `origins`, over the scaled
    /// frame `data` (rows after the last origin may exist; `forecast` columns never read them).
    pub fn build(
        data: &Frame,
        exog: &[Exog],
        origins: &[usize],
        horizon: usize,
    ) -> Result<FutureTable, ModelError> {
        let entries: Result<Vec<(usize, FutureInputs)>, ModelError> = origins
            .par_iter()
            .map(|&o| Ok((o, inputs_at(data, exog, o, horizon)?)))
            .collect();
        let by_origin: HashMap<usize, FutureInputs> = entries?.into_iter().collect();
        debug!(origins = by_origin.len(), "future exog inputs ready");
        Ok(FutureTable { by_origin })
    }

    /// Inputs for origin `o` (empty if `o` was not precomputed).
    pub fn get(&self, o: usize) -> FutureInputs {
        self.by_origin.get(&o).cloned().unwrap_or_default()
    }
}

/// Logs each column's future policy (once per train: both segments share them).
pub fn log_policies(exog: &[Exog]) {
    for e in exog {
        let policy = match e.policy {
            FuturePolicy::Known => "known: actual values after the origin",
            FuturePolicy::Forecast => "forecast: MSTL(7)+AutoETS from data up to the origin",
        };
        info!(column = %e.name, "exog future policy {policy}");
    }
}

/// A driver's next `horizon` values forecast from its history `past` (everything up to the
/// origin) by MSTL(7) + AutoETS with the search `ets` — what `forecast`-policy columns get in
/// evaluation and at inference, and known-policy ones at inference without a plan.
pub fn forecast_driver(past: &[f64], horizon: usize, ets: &str) -> Result<Vec<f64>, ModelError> {
    Ok(forecast_with(past, WEEK, horizon, 0.95, ets)?.mean)
}

/// The future inputs at origin `o`: `horizon` values per column.
pub fn inputs_at(
    data: &Frame,
    exog: &[Exog],
    o: usize,
    horizon: usize,
) -> Result<FutureInputs, ModelError> {
    let mut out = Vec::with_capacity(exog.len());
    for e in exog {
        let col = data.col(&e.name).ok_or_else(|| {
            ModelError::BadInput(format!("exogenous column `{}` is not in the frame", e.name))
        })?;
        let values = match e.policy {
            FuturePolicy::Known => known_after(col, o, horizon),
            FuturePolicy::Forecast => forecast_driver(&col[..=o], horizon, ETS_SEARCH)?,
        };
        out.push((e.name.clone(), values));
    }
    Ok(FutureInputs { exog: out })
}

/// Actual values o+1..o+horizon; past the end of the data the last value is carried forward
/// (those steps lie outside every evaluated segment and are never scored).
pub fn known_after(col: &[f64], o: usize, horizon: usize) -> Vec<f64> {
    let last = *col.last().unwrap_or(&0.0);
    (1..=horizon)
        .map(|h| col.get(o + h).copied().unwrap_or(last))
        .collect()
}
