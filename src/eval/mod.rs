//! Evaluation: the rolling-origin backtest, its metrics, and the future driver inputs every
//! model is judged with (protocol §4–§5).

pub mod backtest;
pub mod calibration;
pub mod exog;
pub mod hierarchy;
pub mod metrics;
