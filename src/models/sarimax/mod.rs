//! SARIMAX(p,d,q)(P,D,Q,s) with trend and exogenous regressors by exact state-space maximum
//! likelihood, reproducing statsmodels' `SARIMAX` defaults (see `shared/design/statsmodels.md`
//! and [`spec`] for the trend convention). ARIMA is the same engine without seasonal terms or
//! exog.
//!
//! The engine works on plain slices ([`fit`], [`loglike`], [`forecast`], [`forecast_origins`]);
//! [`family`] plugs it into the model interface (`arima` / `sarimax` families).
//!
//! Seams: [`spec`] (orders, names) → `transforms` (Monahan/Jones) → `statespace` (Harvey
//! matrices, initialisation) → `kalman` / `diffuse` (likelihood) → `start` (OLS + CSS start
//! values) → `optim` (L-BFGS) → [`estimate`] (fit, std errors, criteria) → [`forecast`].

mod diffuse;
pub mod estimate;
pub mod family;
pub mod forecast;
mod kalman;
mod optim;
pub mod spec;
mod start;
mod statespace;
mod transforms;

pub use estimate::{FitOptions, SarimaxFit, fit, fit_with, loglike, loglike_obs};
pub use family::{FittedSarimax, GridError, SarimaxForecaster, fit_grid, load};
pub use forecast::{SarimaxForecast, forecast, forecast_origins, norm_ppf};
pub use spec::{SarimaxSpec, Trend};
