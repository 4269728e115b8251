//! The data layer: raw CSV → validated daily series ([`daily`]) → features → split and
//! scaling, and the synthetic sample data (protocol §1–§3).

pub mod config;
mod daily;
pub mod events;
pub mod features;
mod frame;
pub mod pipeline;
pub mod preprocess;
mod read;
pub mod sample;
pub mod segments;

pub use self::config::{DataConfig, Exog, FeatureConfig, FillMissing, FuturePolicy, SplitRatios};
pub use self::daily::*;
pub use self::frame::Frame;
