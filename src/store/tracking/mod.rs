//! Experiment tracking and the model registry: one interface, two backends.
//!
//! The rest of the program sees only [`Tracker`]. [`open_tracker`] picks the backend from the
//! tracking URI (config `mlflow.tracking_uri`, overridden by `MLFLOW_TRACKING_URI`):
//! - `http://` / `https://` → [`rest::RestTracker`], our typed client of MLflow's REST API;
//! - a path or a `file:` URI (default `mlruns`) → [`local::LocalTracker`], an MLflow-format file
//!   store that MLflow's own tools read (`MLFLOW_ALLOW_FILE_STORE=true`).
//!
//! Every id (experiment, run, model version) is a string, as MLflow's wire format has them.
//! All methods take `&self` and every backend is `Send + Sync`, so one `Arc<dyn Tracker>` can be
//! shared by the threads that fit grid points; [`Batch`] collects a grid point's params, metrics
//! and tags so they go out in one call.

mod error;
pub(crate) mod filter;
mod fsutil;
pub mod local;
mod requests;
pub mod rest;
mod system;
pub(crate) mod tags;
mod types;
mod uri;
mod validate;

use std::path::{Path, PathBuf};

// Each file above holds one concern; re-exported here so callers keep writing
// `store::tracking::X` whichever file X lives in.
pub use error::TrackingError;
pub use requests::{Batch, NewLoggedModel, NewRun, RunSearch};
pub(crate) use system::{TAG_PARENT_RUN_ID, TAG_RUN_NAME, now_ms, system_tags, user_name};
pub use types::{
    ArtifactEntry, DatasetInput, LoggedModel, LoggedModelStatus, Metric, ModelVersion, Run,
    RunInfo, RunStatus,
};
pub use uri::{open_tracker, runs_uri};
pub(crate) use uri::{parse_logged_model_uri, parse_runs_uri};
pub(crate) use validate::{safe_relative_path, validate_key, validate_model_id};

/// The tracking and registry operations the product needs.
pub trait Tracker: Send + Sync + std::fmt::Debug {
    /// The tracking URI, for display (never holds credentials).
    fn uri(&self) -> String;

    /// Id of the experiment called `name`, created if missing (safe against a concurrent
    /// creator).
    fn get_or_create_experiment(&self, name: &str) -> Result<String, TrackingError>;
    /// Id of the active experiment called `name`, without creating it.
    fn get_experiment(&self, name: &str) -> Result<Option<String>, TrackingError>;
    fn create_run(&self, run: &NewRun) -> Result<RunInfo, TrackingError>;
    fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), TrackingError>;
    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError>;
    /// Upload one file to `<artifact_path>/<file name>` (run artifact root when `None`).
    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError>;
    /// Upload the contents of `local_dir` (recursively) under `artifact_path`.
    fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError>;
    /// Set the final status and end time (now when `None`).
    fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), TrackingError>;
    fn get_run(&self, run_id: &str) -> Result<Run, TrackingError>;
    fn search_runs(&self, search: &RunSearch) -> Result<Vec<Run>, TrackingError>;
    /// Every point of one metric, in logging order.
    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError>;
    /// Direct children of `path` ("" = the artifact root).
    fn list_artifacts(&self, run_id: &str, path: &str)
    -> Result<Vec<ArtifactEntry>, TrackingError>;
    /// Download artifact `path` (file or folder) into `dest_dir`; returns `dest_dir/<path>`.
    fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError>;

    /// A new logged model (MLflow 3), `PENDING` until [`Tracker::finalize_logged_model`].
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel, TrackingError>;
    /// Upload the contents of `local_dir` as the logged model's artifacts.
    fn log_logged_model_artifacts(
        &self,
        model: &LoggedModel,
        local_dir: &Path,
    ) -> Result<(), TrackingError>;
    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<(), TrackingError>;
    /// Record the logged model as an output of the run (the runs table's Models column).
    fn log_outputs(&self, run_id: &str, model_id: &str, step: i64) -> Result<(), TrackingError>;
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError>;
    /// The active logged models of an experiment, newest first.
    fn search_logged_models(&self, experiment_id: &str) -> Result<Vec<LoggedModel>, TrackingError>;

    /// Create a registered model; an existing one is fine.
    fn create_registered_model(&self, name: &str) -> Result<(), TrackingError>;
    /// New version from `source` (normally the run's resolved `model` folder), linked to the
    /// logged model `model_id` when given.
    fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, TrackingError>;
    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError>;
    /// Point `alias` at `version` (moving it if set).
    fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), TrackingError>;
    /// Sets (or overwrites) one tag of a model version.
    fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError>;
    /// The version `alias` points at; `Ok(None)` when the alias (or the model) is not there.
    fn get_alias(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>, TrackingError>;
    /// Remove `alias`; removing an absent alias is fine.
    fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError>;
    /// All versions of `name` (oldest first) with their aliases; empty if the model is absent.
    fn list_versions(&self, name: &str) -> Result<Vec<ModelVersion>, TrackingError>;
    /// Download a version's artifacts into `dest_dir`; returns the folder holding them.
    fn download_model_version(
        &self,
        name: &str,
        version: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError>;
}
