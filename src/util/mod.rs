//! Small shared pieces with no knowledge of the pipeline: errors, atomic files, logging,
//! plots, statistics.

pub mod error;
pub(crate) mod fsutil;
pub(crate) mod logging;
pub(crate) mod plots;
pub mod stats;
