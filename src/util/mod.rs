//! Small shared pieces with no knowledge of the pipeline: errors, atomic files, logging,
//! plots, statistics.

pub mod error;
pub mod fsutil;
pub mod logging;
pub mod plots;
pub mod stats;
