//! The values that cross the [`Tracker`](super::Tracker) interface: run states, metric
//! points, dataset inputs, runs, artifact listings and model versions. Plain data with a few
//! accessors; the request builders callers fill in ([`Batch`](super::Batch),
//! [`NewRun`](super::NewRun), [`RunSearch`](super::RunSearch)) live in `requests.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{TAG_PARENT_RUN_ID, TrackingError, now_ms};

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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
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
    pub(crate) fn code(self) -> i64 {
        match self {
            RunStatus::Running => 1,
            RunStatus::Scheduled => 2,
            RunStatus::Finished => 3,
            RunStatus::Failed => 4,
            RunStatus::Killed => 5,
        }
    }
    pub(crate) fn from_code(c: i64) -> Option<Self> {
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
/// timestamp), as MLflow reports it; use
/// [`Tracker::metric_history`](super::Tracker::metric_history) for all points.
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
    /// The MLflow 3 logged model the version was made from, when there is one.
    pub model_id: Option<String>,
}

/// Lifecycle of an MLflow 3 logged model (`LoggedModelStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    Pending,
    Ready,
    Failed,
}

impl LoggedModelStatus {
    /// The integer both MLflow's wire format and its file store use.
    pub(crate) fn code(self) -> i64 {
        match self {
            LoggedModelStatus::Pending => 1,
            LoggedModelStatus::Ready => 2,
            LoggedModelStatus::Failed => 3,
        }
    }
    pub(crate) fn from_code(c: i64) -> Option<Self> {
        Some(match c {
            1 => LoggedModelStatus::Pending,
            2 => LoggedModelStatus::Ready,
            3 => LoggedModelStatus::Failed,
            _ => return None,
        })
    }
    /// The enum name the REST API sends back (`LOGGED_MODEL_READY`, ...).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "LOGGED_MODEL_PENDING" => LoggedModelStatus::Pending,
            "LOGGED_MODEL_READY" => LoggedModelStatus::Ready,
            "LOGGED_MODEL_UPLOAD_FAILED" => LoggedModelStatus::Failed,
            _ => return None,
        })
    }
}

/// An MLflow 3 logged model: the entity the experiment's Models tab lists, with its own
/// artifacts, params, tags and metrics, made by a source run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits.
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    /// Where its artifacts live (`file://...` or `mlflow-artifacts:/...`).
    pub artifact_uri: String,
    pub source_run_id: Option<String>,
    pub status: LoggedModelStatus,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// The latest value of each metric linked to the model.
    pub metrics: BTreeMap<String, f64>,
}
