//! adsales: daily ad-revenue forecasting with the whole model lifecycle.
//!
//! Layers, each using only those after it (nothing points up, no cycles):
//! `cmd` → `config` → `inference` → `eval`, `store` → `models` → `data` → `util`.
//! The contract every stage follows is `docs/protocol.md`; comments cite it by section (§N).

pub mod cmd;
pub mod config;
pub mod data;
pub mod eval;
pub mod inference;
pub mod models;
pub mod store;
pub mod util;
