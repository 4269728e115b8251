//! Future values of exogenous columns at each origin (protocol §5).
//!
//! - `known` columns (planned, e.g. ad spend): the actual values after the origin.
//! - `forecast` columns (outcomes, e.g. clicks): an MSTL(7) + AutoETS forecast made from the
//!   values up to and including the origin, never the actual future.
//!
//! Over a segment's origins the forecaster is fitted once, on the data up to the earliest
//! origin, and from each later origin it decomposes that origin's history and filters it with
//! those parameters fixed (protocol §4, as every state-space model here). Nothing after an
//! origin is read for that origin's inputs.
//!
//! The inputs at an origin depend only on the data, not on the model, so they are computed
//! once per origin and shared by every family and grid point.

use std::collections::HashMap;

use rayon::prelude::*;
use tracing::{debug, info};

use crate::data::{Exog, FuturePolicy};
use crate::models::mstl::{EtsEngine, MstlEts, forecast_with};
use crate::models::{Frame, FutureInputs, ModelError};

pub use crate::models::WEEK;

/// Precomputed future inputs for a set of origins.
#[derive(Debug, Clone, Default)]
pub struct FutureTable {
    by_origin: HashMap<usize, FutureInputs>,
}

impl FutureTable {
    /// Computes the future inputs of `exog` for every origin in `origins`, over the scaled
    /// frame `data` (rows after the last origin may exist; `forecast` columns never read them).
    /// Each `forecast` column's model is fitted on the data up to the earliest origin.
    pub fn build(
        data: &Frame,
        exog: &[Exog],
        origins: &[usize],
        horizon: usize,
    ) -> Result<FutureTable, ModelError> {
        let Some(&first) = origins.iter().min() else {
            return Ok(FutureTable::default());
        };
        let columns: Vec<(&Exog, &[f64])> = exog
            .iter()
            .map(|e| Ok((e, column(data, &e.name)?)))
            .collect::<Result<_, ModelError>>()?;
        let models: Vec<Option<MstlEts>> = columns
            .par_iter()
            .map(|&(e, col)| match e.policy {
                FuturePolicy::Known | FuturePolicy::Calendar => Ok(None),
                FuturePolicy::Forecast => MstlEts::fit(&col[..=first], WEEK).map(Some),
            })
            .collect::<Result<_, ModelError>>()?;
        let entries: Result<Vec<(usize, FutureInputs)>, ModelError> = origins
            .par_iter()
            .map(|&o| {
                let mut inputs = Vec::with_capacity(columns.len());
                for (&(e, col), model) in columns.iter().zip(&models) {
                    let values = match model {
                        None => known_after(col, o, horizon),
                        Some(m) => m.forecast(&col[..=o], horizon, 0.95)?.mean,
                    };
                    inputs.push((e.name.clone(), values));
                }
                Ok((o, FutureInputs { exog: inputs }))
            })
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
            FuturePolicy::Calendar => "calendar: the event calendar after the origin",
        };
        info!(column = %e.name, "exog future policy {policy}");
    }
}

/// A driver's next `horizon` values forecast from its history `past` (everything up to the
/// origin) by MSTL(7) + AutoETS with the search `ets` on `engine`, fitted on all of `past` —
/// what inference gives `forecast`-policy drivers, and known-policy ones without a plan.
pub fn forecast_driver(
    past: &[f64],
    horizon: usize,
    ets: &str,
    engine: EtsEngine,
) -> Result<Vec<f64>, ModelError> {
    Ok(forecast_with(past, WEEK, horizon, 0.95, ets, engine)?.mean)
}

/// The future inputs at origin `o`: `horizon` values per column (a table of that one origin,
/// so the forecasters are fitted at `o`).
pub fn inputs_at(
    data: &Frame,
    exog: &[Exog],
    o: usize,
    horizon: usize,
) -> Result<FutureInputs, ModelError> {
    Ok(FutureTable::build(data, exog, &[o], horizon)?.get(o))
}

fn column<'a>(data: &'a Frame, name: &str) -> Result<&'a [f64], ModelError> {
    data.col(name).ok_or_else(|| {
        ModelError::BadInput(format!("exogenous column `{name}` is not in the frame"))
    })
}

/// Actual values o+1..o+horizon; past the end of the data the last value is carried forward
/// (those steps lie outside every evaluated segment and are never scored).
pub fn known_after(col: &[f64], o: usize, horizon: usize) -> Vec<f64> {
    let last = *col.last().unwrap_or(&0.0);
    (1..=horizon)
        .map(|h| col.get(o + h).copied().unwrap_or(last))
        .collect()
}
