//! What outlives a process: model bundles and their files, and the MLflow tracking backends
//! (protocol §6–§7).

pub mod bundle;
pub mod modelio;
pub mod pyfunc;
pub mod tracking;
