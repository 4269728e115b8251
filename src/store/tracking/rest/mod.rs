//! Our typed client of MLflow's REST API (measured against a real MLflow 3.17.2 server in
//! `tests/it/tracking_rest.rs`), over `ureq` with rustls.
//!
//! Traps handled here:
//! - NaN/±Inf metric values go out as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (a bare
//!   NaN would be stored as 0). The server keeps ±Inf as ±`f64::MAX`; we read that back as ±Inf.
//! - Ids and int64 fields may arrive as strings or numbers; both are read.
//! - A missing alias is a 400 `INVALID_PARAMETER_VALUE`, an existing model a 400
//!   `RESOURCE_ALREADY_EXISTS`: both are understood, everything else surfaces MLflow's
//!   `error_code` and `message`.
//! - Connection errors, timeouts, 429 and 5xx are retried a bounded number of times with
//!   exponential backoff; every request has a timeout.
//! - `MLFLOW_TRACKING_TOKEN` (bearer) or `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`
//!   (basic) are sent on every request and never logged, printed or put in an error.
//!
//! Layout of this folder: `mod.rs` holds the client (configuration from the environment) and
//! the [`Tracker`] impl, which only dispatches: one trait impl cannot span files, so each
//! operation is a function named after its trait method in the file of its area: `runs.rs`
//! (experiments and runs), `artifacts.rs` (through the server's artifact proxy), `registry.rs`
//! (models, versions, aliases). `http.rs` sends requests, `wire.rs` reads and writes MLflow's
//! JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::{
    ArtifactEntry, Batch, DatasetInput, LoggedModel, LoggedModelStatus, Metric, ModelVersion,
    NewLoggedModel, NewRun, Run, RunInfo, RunSearch, RunStatus, Tracker, TrackingError,
};
use crate::util::error::InputError;

mod artifacts;
mod http;
mod logged;
mod registry;
mod runs;
#[cfg(test)]
mod tests;
mod wire;

use http::Auth;
pub use http::RetryPolicy;
use wire::base64;

/// MLflow tracking server client.
pub struct RestTracker {
    base: String,
    agent: ureq::Agent,
    auth: Option<Auth>,
    retry: RetryPolicy,
    timeout: Duration,
    /// run id → artifact path on the server's artifact proxy (`<exp>/<run>/artifacts`).
    artifact_roots: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for RestTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestTracker")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RestTracker {
    /// Client for `base_uri` with credentials from `MLFLOW_TRACKING_TOKEN` or
    /// `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`, timeout from
    /// `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds, default 120) and retries from
    /// `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (default 5).
    pub fn from_env(base_uri: &str) -> Result<RestTracker, TrackingError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = if let Some(t) = env("MLFLOW_TRACKING_TOKEN") {
            Some(Auth::Bearer(t))
        } else {
            match (
                env("MLFLOW_TRACKING_USERNAME"),
                env("MLFLOW_TRACKING_PASSWORD"),
            ) {
                (Some(u), Some(p)) => Some(Auth::Basic(base64(format!("{u}:{p}").as_bytes()))),
                (Some(_), None) | (None, Some(_)) => {
                    return Err(InputError::new(
                        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together",
                    )
                    .into());
                }
                (None, None) => None,
            }
        };
        let num = |k: &str| -> Result<Option<u64>, TrackingError> {
            match env(k) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    InputError::new(format!("{k}={v:?} is not a whole number")).into()
                }),
            }
        };
        let timeout =
            Duration::from_secs(num("MLFLOW_HTTP_REQUEST_TIMEOUT")?.unwrap_or(120).max(1));
        let mut retry = RetryPolicy::default();
        if let Some(n) = num("MLFLOW_HTTP_REQUEST_MAX_RETRIES")? {
            retry.max_retries = n.min(20) as u32;
        }
        Self::new(base_uri, auth, retry, timeout)
    }

    fn new(
        base_uri: &str,
        auth: Option<Auth>,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<RestTracker, TrackingError> {
        let base = base_uri.trim().trim_end_matches('/').to_string();
        let lower = base.to_ascii_lowercase();
        let after = lower.split_once("://").map(|x| x.1).unwrap_or("");
        if !(lower.starts_with("http://") || lower.starts_with("https://")) || after.is_empty() {
            return Err(InputError::new(format!(
                "tracking URI {base_uri:?} is not an http(s) URL"
            ))
            .into());
        }
        if after.split('/').next().unwrap_or("").contains('@') {
            return Err(InputError::new(
                "tracking URI must not hold credentials; use MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN",
            )
            .into());
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .user_agent(concat!("adsales/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(RestTracker {
            base,
            agent,
            auth,
            retry,
            timeout,
            artifact_roots: Mutex::new(HashMap::new()),
        })
    }

    /// Replace the retry policy (tests use a short one).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

impl Tracker for RestTracker {
    fn uri(&self) -> String {
        self.base.clone()
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
