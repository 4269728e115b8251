//! adsales: daily ad-revenue forecasting with the whole model lifecycle.
//!
//! Data flows one way: config → data → features → preprocess → models → tracking.

pub mod backtest;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod data;
pub mod error;
pub mod exog;
pub mod features;
pub mod fit_cmd;
pub mod fsutil;
pub mod infer;
pub mod info;
pub mod logging;
pub mod metrics;
pub mod modelio;
pub mod models;
pub mod pipeline;
pub mod plots;
pub mod preprocess;
pub mod runlog;
pub mod sample;
pub mod stats;
pub mod tracking;
pub mod train;
