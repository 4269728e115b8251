//! The `auto_arima` family: orders chosen automatically by the Hyndman–Khandakar stepwise
//! search ([`search`]), regression with ARIMA errors on the configured known drivers, every
//! candidate fitted by exact maximum likelihood on the SARIMAX engine. The fitted model is a
//! SARIMAX model, saved and forecast as one.
//!
//! Parity with statsforecast 2.1.1's `AutoARIMA` (its defaults, `approximation=False`) is
//! held by `tests/it/auto_arima_parity.rs` on fixtures from `scripts/gen_auto_arima_fixtures.py`.

mod css;
pub mod family;
pub mod search;
pub mod unitroot;

pub use search::{AutoArimaFit, Tried, auto_arima};

/// Bounds and starting point of the search (statsforecast's `AutoARIMA` defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct AutoArimaSettings {
    pub max_p: usize,
    pub max_q: usize,
    pub max_big_p: usize,
    pub max_big_q: usize,
    pub max_d: usize,
    pub max_big_d: usize,
    pub start_p: usize,
    pub start_q: usize,
    pub start_big_p: usize,
    pub start_big_q: usize,
    /// Most candidates the walk fits.
    pub nmodels: usize,
}

impl Default for AutoArimaSettings {
    fn default() -> Self {
        AutoArimaSettings {
            max_p: 5,
            max_q: 5,
            max_big_p: 2,
            max_big_q: 2,
            max_d: 2,
            max_big_d: 1,
            start_p: 2,
            start_q: 2,
            start_big_p: 1,
            start_big_q: 1,
            nmodels: 94,
        }
    }
}
