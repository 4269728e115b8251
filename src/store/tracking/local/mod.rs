//! An MLflow-format file store (the layout MLflow's own `FileStore` writes; MLflow's client
//! reads it back in `tests/it/tracking_local.rs`), so `mlflow ui`, the Python client (`MLFLOW_ALLOW_FILE_STORE=true`)
//! and `mlflow migrate-filestore` read what we log.
//!
//! Concurrency: several threads and several processes may write one store.
//! - Every file except metric histories is written whole to a temp file and renamed into place.
//! - Metric histories are append-only logs (as MLflow keeps them); each batch goes out as one
//!   `write` on an `O_APPEND` descriptor, so concurrent appenders never overwrite each other
//!   (a temp + rename would lose a concurrent append).
//! - Experiment creation and model-version numbering happen under an exclusive `flock` on
//!   `<root>/.adsales.lock` (a file, which MLflow ignores; released by the OS if we die).
//! - A run or version folder is visible to readers only once its `meta.yaml` is in place, and
//!   `meta.yaml` is written last.
//! - An alias file is written only after the version's artifacts are checked complete (for a
//!   model bundle: every file's sha256 verified).
//!
//! Layout of this folder: `mod.rs` holds the store itself (opening, locking, finding a run) and
//! the [`Tracker`] impl, which only dispatches: one trait impl cannot span files, so each
//! operation is a function named after its trait method in the file of its area: `runs.rs`
//! (experiments and runs), `artifacts.rs`, `logged.rs` (MLflow 3 logged models), `registry.rs`
//! (registered models, versions, aliases).
//! `read.rs` reads runs back, `format.rs` has the on-disk formats.

use std::fs;
use std::path::{Path, PathBuf};

use super::fsutil::StoreLock;
use super::{
    ArtifactEntry, Batch, DatasetInput, LoggedModel, LoggedModelStatus, Metric, ModelVersion,
    NewLoggedModel, NewRun, Run, RunInfo, RunSearch, RunStatus, Tracker, TrackingError,
};
use crate::util::error::InputError;

mod artifacts;
mod format;
mod logged;
mod read;
mod registry;
mod runs;
pub(crate) use format::file_uri_to_path;
pub use format::path_to_file_uri;
use format::*;

const META: &str = "meta.yaml";
const MODELS: &str = "models";
const TRASH: &str = ".trash";
const DEFAULT_EXPERIMENT_ID: &str = "0";

/// The local MLflow file store rooted at an absolute path.
#[derive(Debug, Clone)]
pub struct LocalTracker {
    root: PathBuf,
}

impl LocalTracker {
    /// Open (creating if needed) the store at `root`, with the default experiment `0`.
    pub fn open(root: &Path) -> Result<LocalTracker, TrackingError> {
        if root.exists() && !root.is_dir() {
            return Err(InputError::new(format!(
                "tracking store {} exists and is not a folder",
                root.display()
            ))
            .into());
        }
        fs::create_dir_all(root).map_err(|e| TrackingError::io(root, e))?;
        let root = fs::canonicalize(root).map_err(|e| TrackingError::io(root, e))?;
        let store = LocalTracker { root };
        fs::create_dir_all(store.root.join(TRASH))
            .map_err(|e| TrackingError::io(store.root.join(TRASH), e))?;
        if !store.root.join(DEFAULT_EXPERIMENT_ID).join(META).exists() {
            let _lock = store.lock()?;
            if !store.root.join(DEFAULT_EXPERIMENT_ID).join(META).exists() {
                store.write_experiment(DEFAULT_EXPERIMENT_ID, "Default")?;
            }
        }
        Ok(store)
    }

    /// The store's absolute root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> Result<StoreLock, TrackingError> {
        StoreLock::acquire(&self.root.join(".adsales.lock"))
    }

    /// Folder of run `run_id`, searched across experiments.
    fn run_dir(&self, run_id: &str) -> Result<PathBuf, TrackingError> {
        check_run_id(run_id)?;
        for d in subdirs(&self.root)? {
            if d == MODELS || d.starts_with('.') {
                continue;
            }
            let p = self.root.join(&d).join(run_id);
            if p.join(META).is_file() {
                return Ok(p);
            }
        }
        Err(TrackingError::NotFound {
            what: "run",
            name: run_id.to_string(),
        })
    }
}

impl Tracker for LocalTracker {
    fn uri(&self) -> String {
        path_to_file_uri(&self.root)
    }

    fn get_experiment(&self, name: &str) -> Result<Option<String>, TrackingError> {
        runs::get_experiment(self, name)
    }

    fn get_or_create_experiment(&self, name: &str) -> Result<String, TrackingError> {
        runs::get_or_create_experiment(self, name)
    }

    fn create_run(&self, run: &NewRun) -> Result<RunInfo, TrackingError> {
        runs::create_run(self, run)
    }

    fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), TrackingError> {
        runs::log_batch(self, run_id, batch)
    }

    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        runs::log_inputs(self, run_id, inputs)
    }

    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        artifacts::log_artifact(self, run_id, local_file, artifact_path)
    }

    fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        artifacts::log_artifacts(self, run_id, local_dir, artifact_path)
    }

    fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), TrackingError> {
        runs::finish_run(self, run_id, status, end_time)
    }

    fn get_run(&self, run_id: &str) -> Result<Run, TrackingError> {
        runs::get_run(self, run_id)
    }

    fn search_runs(&self, search: &RunSearch) -> Result<Vec<Run>, TrackingError> {
        runs::search_runs(self, search)
    }

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        runs::metric_history(self, run_id, key)
    }

    fn list_artifacts(
        &self,
        run_id: &str,
        path: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        artifacts::list_artifacts(self, run_id, path)
    }

    fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        artifacts::download_artifacts(self, run_id, path, dest_dir)
    }

    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel, TrackingError> {
        logged::create_logged_model(self, model)
    }

    fn log_logged_model_artifacts(
        &self,
        model: &LoggedModel,
        local_dir: &Path,
    ) -> Result<(), TrackingError> {
        logged::log_logged_model_artifacts(self, model, local_dir)
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<(), TrackingError> {
        logged::finalize_logged_model(self, model_id, status)
    }

    fn log_outputs(&self, run_id: &str, model_id: &str, step: i64) -> Result<(), TrackingError> {
        logged::log_outputs(self, run_id, model_id, step)
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError> {
        logged::get_logged_model(self, model_id)
    }

    fn search_logged_models(&self, experiment_id: &str) -> Result<Vec<LoggedModel>, TrackingError> {
        logged::search_logged_models(self, experiment_id)
    }

    fn create_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        registry::create_registered_model(self, name)
    }

    fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, TrackingError> {
        registry::create_model_version(self, name, source, run_id, model_id, tags)
    }

    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError> {
        registry::get_model_version(self, name, version)
    }

    fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), TrackingError> {
        registry::set_alias(self, name, alias, version)
    }

    fn get_alias(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>, TrackingError> {
        registry::get_alias(self, name, alias)
    }

    fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        registry::set_model_version_tag(self, name, version, key, value)
    }

    fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        registry::delete_alias(self, name, alias)
    }

    fn list_versions(&self, name: &str) -> Result<Vec<ModelVersion>, TrackingError> {
        registry::list_versions(self, name)
    }

    fn download_model_version(
        &self,
        name: &str,
        version: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        registry::download_model_version(self, name, version, dest_dir)
    }
}
