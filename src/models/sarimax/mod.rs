//! SARIMAX(p,d,q)(P,D,Q,s) with trend and exogenous regressors by exact state-space maximum
//! likelihood, reproducing statsmodels 0.15's `SARIMAX` defaults (Harvey form, differencing in
//! the state, its default initialisation; `tests/it/sarimax_parity.rs` holds the two side by
//! side, and [`spec`] gives the trend convention). ARIMA is the same engine without seasonal
//! terms or exog.
//!
//! The engine works on plain slices ([`fit`], [`loglike`], [`forecast`], [`forecast_origins`]);
//! [`family`] plugs it into the model interface (`arima` / `sarimax` families).
//!
//! Seams: [`spec`] (orders, names) → `transforms` (Monahan/Jones) → `statespace` (Harvey
//! matrices, initialisation) → `kalman` / `diffuse` (likelihood) → `start` (OLS + CSS start
//! values) → `grad` (adjoint gradient) → `optim` (L-BFGS) → [`estimate`] (fit, std errors, criteria) → [`forecast`].

// Checks are written `!(x > 0.0)` on purpose throughout: NaN must fail them.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod config;
mod diffuse;
pub mod estimate;
pub mod family;
pub mod forecast;
mod grad;
mod kalman;
pub(crate) mod optim;
pub mod spec;
pub(crate) mod start;
pub(crate) mod statespace;
pub(crate) mod transforms;

pub use estimate::{FitOptions, SarimaxFit, fit, fit_with, loglike, loglike_obs};
pub use family::{
    FittedSarimax, GridError, PARAMS_FILE, SarimaxForecaster, fit_grid, load, load_boxed,
};
pub use forecast::{SarimaxForecast, forecast, forecast_origins};
pub use spec::{SarimaxSpec, Trend};
