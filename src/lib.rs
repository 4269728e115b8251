//! adsales: daily ad-revenue forecasting with the whole model lifecycle.
//!
//! Data flows one way: config → data → features → preprocess → models → tracking.

pub mod bundle;
pub mod error;
pub mod models;
pub mod tracking;
