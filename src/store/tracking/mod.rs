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

pub mod filter;
mod fsutil;
pub mod local;
pub mod rest;
pub mod tags;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::error::InputError;

/// Tracking URI used when neither config nor environment names one.
pub const DEFAULT_TRACKING_URI: &str = "mlruns";

/// Tag MLflow uses to nest a run under its parent.
pub const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
/// Tag holding a run's display name.
pub const TAG_RUN_NAME: &str = "mlflow.runName";

/// Errors from either backend.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    /// The tracking URI (user config or `MLFLOW_TRACKING_URI`) is unusable. Carries an
    /// [`InputError`] (in the error chain) so the CLI exits 2.
    #[error("tracking configuration")]
    BadUri(#[from] InputError),
    /// The server answered with an MLflow error (`error_code`, `message`).
    #[error("MLflow {endpoint}: HTTP {status} {code}: {message}")]
    Api {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer after the bounded retries (connection refused, timeout, 5xx, 429...).
    #[error("MLflow {endpoint}: {reason}")]
    Transport { endpoint: String, reason: String },
    /// The server answered 2xx with a body we cannot use. Not the user's fault: exit 1.
    #[error("MLflow {endpoint}: malformed response: {reason}")]
    BadResponse { endpoint: String, reason: String },
    /// A run, experiment, model or version that does not exist.
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },
    /// A request MLflow would refuse (bad key, param re-logged with another value, ...).
    #[error("{0}")]
    Invalid(String),
    /// An artifact path that would escape its folder, or a symlink we refuse to follow.
    #[error("unsafe artifact path {path:?}: {reason}")]
    UnsafePath { path: String, reason: String },
    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file in the local store that does not parse.
    #[error("tracking store file {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// The operation does not apply to this backend or server setup.
    #[error("{0}")]
    Unsupported(String),
    /// The model bundle of a version failed verification.
    #[error(transparent)]
    Bundle(#[from] crate::store::bundle::BundleError),
}

impl TrackingError {
    /// True for "does not exist", whichever backend said it.
    pub fn is_not_found(&self) -> bool {
        match self {
            TrackingError::NotFound { .. } => true,
            TrackingError::Api { code, status, .. } => {
                code == "RESOURCE_DOES_NOT_EXIST" || *status == 404
            }
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrackingError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Run lifecycle states, as MLflow names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    /// The wire name (`RUNNING`, `FINISHED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => return None,
        })
    }
    /// The integer the file store keeps in `meta.yaml` (MLflow's `RunStatus` enum).
    pub fn code(self) -> i64 {
        match self {
            RunStatus::Running => 1,
            RunStatus::Scheduled => 2,
            RunStatus::Finished => 3,
            RunStatus::Failed => 4,
            RunStatus::Killed => 5,
        }
    }
    pub fn from_code(c: i64) -> Option<Self> {
        Some(match c {
            1 => RunStatus::Running,
            2 => RunStatus::Scheduled,
            3 => RunStatus::Finished,
            4 => RunStatus::Failed,
            5 => RunStatus::Killed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric point. `value` may be NaN or ±Inf: both backends keep them (never 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub step: i64,
}

impl Metric {
    /// A point stamped now.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp: now_ms(),
            step,
        }
    }
}

/// Params, metrics and tags to log in one call. Backends split it to fit server limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub params: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
    pub tags: Vec<(String, String)>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn param(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.params.push((key.into(), value.to_string()));
        self
    }
    /// A metric at `step`, stamped now.
    pub fn metric(mut self, key: impl Into<String>, value: f64, step: i64) -> Self {
        self.metrics.push(Metric::new(key, value, step));
        self
    }
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
    pub fn is_empty(&self) -> bool {
        self.params.is_empty() && self.metrics.is_empty() && self.tags.is_empty()
    }
}

/// A dataset a run used (MLflow "dataset input").
///
/// MLflow caps `digest` at 36 characters (measured: a 64-hex sha256 is a 400), so the full
/// sha256 travels in the dataset profile (`{"num_rows": N, "sha256": "..."}`) and `digest` holds
/// its first 32 hex digits.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInput {
    pub name: String,
    /// Short digest MLflow shows (at most 36 characters).
    pub digest: String,
    /// e.g. `local`.
    pub source_type: String,
    /// Where it came from, as MLflow stores it (a JSON string such as `{"uri": "..."}`).
    pub source: String,
    pub num_rows: Option<u64>,
    /// Full sha256 (hex) of the data.
    pub sha256: Option<String>,
    /// Tag `mlflow.data.context` (`train`, `eval`, ...).
    pub context: Option<String>,
}

impl DatasetInput {
    /// A local file with its sha256 (hex): source becomes `{"uri": "<path>"}`.
    pub fn local_file(
        name: impl Into<String>,
        path: &Path,
        sha256: impl Into<String>,
        num_rows: Option<u64>,
    ) -> Self {
        let sha256 = sha256.into();
        DatasetInput {
            name: name.into(),
            digest: sha256.chars().take(32).collect(),
            source_type: "local".into(),
            source: serde_json::json!({ "uri": path.display().to_string() }).to_string(),
            num_rows,
            sha256: Some(sha256),
            context: None,
        }
    }

    /// The MLflow `profile` field we write (a JSON string).
    pub(crate) fn profile(&self) -> Option<String> {
        let mut p = serde_json::Map::new();
        if let Some(n) = self.num_rows {
            p.insert("num_rows".into(), n.into());
        }
        if let Some(s) = &self.sha256 {
            p.insert("sha256".into(), s.clone().into());
        }
        (!p.is_empty()).then(|| serde_json::Value::Object(p).to_string())
    }

    /// `(num_rows, sha256)` from a profile we wrote.
    pub(crate) fn from_profile(profile: Option<&str>) -> (Option<u64>, Option<String>) {
        let Some(v) = profile.and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        else {
            return (None, None);
        };
        (
            v.get("num_rows").and_then(|n| n.as_u64()),
            v.get("sha256").and_then(|s| s.as_str()).map(str::to_string),
        )
    }

    pub(crate) fn validate(&self) -> Result<(), TrackingError> {
        if self.name.is_empty() || self.digest.is_empty() || self.digest.chars().count() > 36 {
            return Err(TrackingError::Invalid(format!(
                "dataset input {:?}: name must be set and digest 1 to 36 characters (MLflow's limit), got {:?}",
                self.name, self.digest
            )));
        }
        Ok(())
    }
}

/// What to create a run with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRun {
    pub experiment_id: String,
    pub run_name: String,
    /// Nest under this run (tag `mlflow.parentRunId`).
    pub parent_run_id: Option<String>,
    /// Epoch ms; now when `None`.
    pub start_time: Option<i64>,
    /// Extra tags; they win over the system tags on the same key.
    pub tags: Vec<(String, String)>,
}

impl NewRun {
    pub fn new(experiment_id: impl Into<String>, run_name: impl Into<String>) -> Self {
        NewRun {
            experiment_id: experiment_id.into(),
            run_name: run_name.into(),
            ..Default::default()
        }
    }
    pub fn parent(mut self, run_id: impl Into<String>) -> Self {
        self.parent_run_id = Some(run_id.into());
        self
    }
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// System tags, then the parent tag, then the caller's tags (last one wins per key).
    pub(crate) fn all_tags(&self) -> Vec<(String, String)> {
        let mut map: BTreeMap<String, String> = system_tags().iter().cloned().collect();
        map.insert(TAG_RUN_NAME.into(), self.run_name.clone());
        if let Some(p) = &self.parent_run_id {
            map.insert(TAG_PARENT_RUN_ID.into(), p.clone());
        }
        for (k, v) in &self.tags {
            map.insert(k.clone(), v.clone());
        }
        map.into_iter().collect()
    }
}

/// A run's identity and lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub status: RunStatus,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub user_id: String,
}

/// A run with its data. `metrics` holds the latest point of each key (highest step, then
/// timestamp), as MLflow reports it; use [`Tracker::metric_history`] for all points.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, Metric>,
    pub tags: BTreeMap<String, String>,
    pub inputs: Vec<DatasetInput>,
}

impl Run {
    pub fn parent_run_id(&self) -> Option<&str> {
        self.tags.get(TAG_PARENT_RUN_ID).map(String::as_str)
    }
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).map(|m| m.value)
    }
}

/// A run search. `filter` uses MLflow's syntax; the local store understands
/// `params.k = 'v'`, `tags.k = 'v'` / `!=`, `metrics.k <op> number`,
/// `attributes.status|run_name|run_id = '...'`, joined with `AND` (see [`filter`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSearch {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    /// e.g. `["metrics.rmse ASC"]`; runs without the key come last.
    pub order_by: Vec<String>,
    pub max_results: usize,
}

impl RunSearch {
    pub fn new(experiment_id: impl Into<String>) -> Self {
        RunSearch {
            experiment_ids: vec![experiment_id.into()],
            filter: String::new(),
            order_by: Vec::new(),
            max_results: 1000,
        }
    }
    pub fn filter(mut self, f: impl Into<String>) -> Self {
        self.filter = f.into();
        self
    }
    pub fn order_by(mut self, o: impl Into<String>) -> Self {
        self.order_by.push(o.into());
        self
    }
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }
}

/// One entry of an artifact listing; `path` is relative to the run's artifact root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    pub path: String,
    pub is_dir: bool,
    pub size: Option<u64>,
}

/// A registered model version.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    /// Version number as a string ("1", "2", ...).
    pub version: String,
    pub run_id: Option<String>,
    /// e.g. `runs:/<run_id>/model`.
    pub source: String,
    pub status: String,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub creation_timestamp: Option<i64>,
}

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

    /// Create a registered model; an existing one is fine.
    fn create_registered_model(&self, name: &str) -> Result<(), TrackingError>;
    /// New version from `source` (normally `runs:/<run_id>/model`).
    fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, TrackingError>;
    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError>;
    /// Point `alias` at `version` (moving it if set).
    fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), TrackingError>;
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

/// Open the backend the tracking URI names. An empty URI means [`DEFAULT_TRACKING_URI`].
pub fn open_tracker(uri: &str) -> Result<Box<dyn Tracker>, TrackingError> {
    let uri = uri.trim();
    let uri = if uri.is_empty() {
        DEFAULT_TRACKING_URI
    } else {
        uri
    };
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(Box::new(rest::RestTracker::from_env(uri)?))
    } else if let Some(scheme) = uri_scheme(uri)
        && scheme != "file"
    {
        Err(InputError::new(format!(
            "tracking URI {uri:?}: scheme {scheme:?} is not supported (use http(s)://, file: or a path)"
        ))
        .into())
    } else {
        Ok(Box::new(local::LocalTracker::open(
            &local::file_uri_to_path(uri)?,
        )?))
    }
}

/// `scheme` of `scheme:rest` when it looks like a URI scheme (and not a Windows drive letter).
fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let ok = scheme.len() > 1
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    ok.then_some(scheme)
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The `runs:/<run_id>/<path>` URI of an artifact.
pub fn runs_uri(run_id: &str, path: &str) -> String {
    format!("runs:/{run_id}/{}", path.trim_start_matches('/'))
}

/// Split `runs:/<run_id>/<path>` into run id and path.
pub fn parse_runs_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("runs:/")?;
    let rest = rest.trim_start_matches('/');
    let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!run.is_empty()).then_some((run, path))
}

/// System tags computed once per process: `mlflow.source.name`, `mlflow.source.type`,
/// `mlflow.user`, and `mlflow.source.git.commit` when the working directory is in a git
/// checkout (no commit tag otherwise, and no failure).
pub fn system_tags() -> &'static [(String, String)] {
    static TAGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TAGS.get_or_init(|| {
        let mut tags = vec![
            ("mlflow.source.name".to_string(), source_name()),
            ("mlflow.source.type".to_string(), "LOCAL".to_string()),
            ("mlflow.user".to_string(), user_name()),
        ];
        if let Some(c) = git_commit() {
            tags.push(("mlflow.source.git.commit".to_string(), c));
        }
        tags
    })
}

fn source_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "adsales".to_string())
}

pub(crate) fn user_name() -> String {
    ["MLFLOW_TRACKING_USER_ID", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

/// Keys MLflow accepts (alphanumerics, `_ - . space /`), refusing `..` segments and a
/// leading `/` because the file store turns keys into paths.
pub(crate) fn validate_key(kind: &str, key: &str) -> Result<(), TrackingError> {
    let chars_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || "_-. /".contains(c));
    // A segment starting with '.' would be a hidden file the store skips as a temp file.
    let bad_segment = key.split('/').any(|s| s.is_empty() || s.starts_with('.'));
    if key.is_empty() || key.len() > 250 || !chars_ok || bad_segment {
        return Err(TrackingError::Invalid(format!(
            "invalid {kind} key {key:?}: use letters, digits, '_', '-', '.', ' ', '/' (no empty segments, none starting with '.'), at most 250 characters"
        )));
    }
    Ok(())
}

/// Check that an artifact path (ours or a server's) stays inside its root: relative, no `..`,
/// no empty or `.` segments, no backslashes or NULs. Returns it with no leading/trailing `/`.
pub fn safe_relative_path(path: &str) -> Result<String, TrackingError> {
    let bad = |reason: &str| TrackingError::UnsafePath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(bad("must be relative, without backslashes"));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if uri_scheme(trimmed).is_some() && trimmed.contains(":/") {
        return Err(bad("must be a relative path, not a URI"));
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(bad("no empty, '.' or '..' segments"));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative_path("model/MLmodel").unwrap(),
            "model/MLmodel"
        );
        assert_eq!(safe_relative_path("").unwrap(), "");
        for p in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "file:///x",
        ] {
            assert!(safe_relative_path(p).is_err(), "{p}");
        }
    }

    #[test]
    fn keys() {
        assert!(validate_key("metric", "val/rmse 7").is_ok());
        for k in ["", "../x", "/x", "a//b", "a$b", "a/./b", ".hidden", "a/.b"] {
            assert!(validate_key("metric", k).is_err(), "{k}");
        }
    }

    #[test]
    fn runs_uris() {
        assert_eq!(parse_runs_uri("runs:/abc/model"), Some(("abc", "model")));
        assert_eq!(parse_runs_uri("runs:/abc"), Some(("abc", "")));
        assert_eq!(parse_runs_uri("s3://x"), None);
        assert_eq!(runs_uri("abc", "model"), "runs:/abc/model");
    }

    #[test]
    fn scheme_detection() {
        assert_eq!(uri_scheme("file:///x"), Some("file"));
        assert_eq!(uri_scheme("C:\\x"), None);
        assert_eq!(uri_scheme("mlruns"), None);
        assert!(open_tracker("s3://bucket").is_err());
    }
}
