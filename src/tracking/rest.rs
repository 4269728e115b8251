//! Our typed client of MLflow's REST API (measured against MLflow 3.17.2, see
//! `shared/design/mlflow.md`), over `ureq` with rustls.
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

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use super::{
    ArtifactEntry, Batch, DatasetInput, Metric, ModelVersion, NewRun, Run, RunInfo, RunSearch,
    RunStatus, Tracker, TrackingError, now_ms, parse_runs_uri, safe_relative_path, validate_key,
};
use crate::error::InputError;

/// MLflow's per-request limits for `runs/log-batch`.
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_PER_BATCH: usize = 100;
const MAX_TAGS_PER_BATCH: usize = 100;

/// Credentials for the server. `Debug` never shows them.
#[derive(Clone)]
enum Auth {
    Bearer(String),
    /// Already `user:password` base64-encoded.
    Basic(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic(_) => f.write_str("Basic(<redacted>)"),
        }
    }
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Auth::Bearer(t) => format!("Bearer {t}"),
            Auth::Basic(b) => format!("Basic {b}"),
        }
    }
}

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time, capped at 30 s.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            first_backoff: Duration::from_millis(500),
        }
    }
}

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

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Percent-encode one path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn encode_path(p: &str) -> String {
    p.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The JSON MLflow needs for a metric value.
pub(crate) fn metric_value_json(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

/// A metric value as the server returns it (number or one of the special strings).
pub(crate) fn parse_metric_value(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            s => s.parse().ok()?,
        },
        _ => return None,
    };
    // The server clamps ±Inf to ±f64::MAX when it stores them.
    Some(if x == f64::MAX {
        f64::INFINITY
    } else if x == -f64::MAX {
        f64::NEG_INFINITY
    } else {
        x
    })
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn kv_list(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| Some((as_string(e.get("key"))?, as_string(e.get("value"))?)))
                .collect()
        })
        .unwrap_or_default()
}

fn kv_json(pairs: &[(String, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// A request body.
enum Body<'a> {
    Empty,
    Json(&'a Value),
    Bytes(&'a [u8]),
}

/// Answer of one request: status and body bytes.
struct Answer {
    status: u16,
    body: Vec<u8>,
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

    fn send_once(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, &str)],
        body: &Body,
    ) -> Result<http_types::Response, ureq::Error> {
        macro_rules! prepare {
            ($rb:expr) => {{
                let mut rb = $rb;
                for (k, v) in query {
                    rb = rb.query(*k, *v);
                }
                if let Some(a) = &self.auth {
                    rb = rb.header("Authorization", a.header());
                }
                rb
            }};
        }
        match (method, body) {
            ("GET", _) => prepare!(self.agent.get(url)).call(),
            (m, body) => {
                let rb = match m {
                    "POST" => self.agent.post(url),
                    "PUT" => self.agent.put(url),
                    _ => self.agent.delete(url).force_send_body(),
                };
                let rb = prepare!(rb);
                match body {
                    Body::Json(v) => rb
                        .header("Content-Type", "application/json")
                        .send(v.to_string()),
                    Body::Bytes(b) => rb
                        .header("Content-Type", "application/octet-stream")
                        .send(*b),
                    Body::Empty => rb.send_empty(),
                }
            }
        }
    }

    /// One call with bounded retries on transport errors, 429 and 5xx. `sink` receives the
    /// body of a 2xx answer when given (streamed downloads); otherwise it is returned.
    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        mut sink: Option<&mut dyn FnMut(&mut dyn std::io::Read) -> std::io::Result<()>>,
    ) -> Result<Answer, TrackingError> {
        let url = format!("{}{}", self.base, path);
        let endpoint = path.to_string();
        let mut attempt = 0u32;
        loop {
            let outcome = self.send_once(method, &url, query, &body);
            let retry_reason = match outcome {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status == 429 || status >= 500 {
                        format!("HTTP {status}")
                    } else {
                        let mut buf = Vec::new();
                        let read = if (200..300).contains(&status)
                            && let Some(s) = sink.as_mut()
                        {
                            let mut r = resp.body_mut().with_config().limit(u64::MAX).reader();
                            s(&mut r).map_err(|e| e.to_string())
                        } else {
                            resp.body_mut()
                                .with_config()
                                .limit(1 << 30)
                                .read_to_vec()
                                .map(|v| buf = v)
                                .map_err(|e| e.to_string())
                        };
                        match read {
                            Ok(()) => return Ok(Answer { status, body: buf }),
                            // A body cut off mid-way is a transport failure: retry.
                            Err(e) => format!("reading the answer: {e}"),
                        }
                    }
                }
                Err(e) => e.to_string(),
            };
            if attempt >= self.retry.max_retries {
                return Err(TrackingError::Transport {
                    endpoint,
                    reason: format!("{retry_reason} (gave up after {} attempts)", attempt + 1),
                });
            }
            let wait = self
                .retry
                .first_backoff
                .saturating_mul(1u32 << attempt.min(16))
                .min(Duration::from_secs(30));
            tracing::warn!(endpoint, attempt, error = %retry_reason, "MLflow request failed; retrying in {wait:?}");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// Parse an error answer into [`TrackingError::Api`].
    fn api_error(endpoint: &str, ans: &Answer) -> TrackingError {
        let parsed: Option<Value> = serde_json::from_slice(&ans.body).ok();
        let code = parsed
            .as_ref()
            .and_then(|v| as_string(v.get("error_code")))
            .unwrap_or_else(|| "HTTP_ERROR".into());
        let message = parsed
            .as_ref()
            .and_then(|v| as_string(v.get("message")))
            .unwrap_or_else(|| {
                let t = String::from_utf8_lossy(&ans.body);
                t.chars().take(300).collect()
            });
        TrackingError::Api {
            endpoint: endpoint.to_string(),
            status: ans.status,
            code,
            message,
        }
    }

    /// JSON call to `/api/2.0/mlflow/<api>`.
    fn call(
        &self,
        method: &str,
        api: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, TrackingError> {
        let path = format!("/api/2.0/mlflow/{api}");
        let b = body.map(Body::Json).unwrap_or(Body::Empty);
        let ans = self.request(method, &path, query, b, None)?;
        if !(200..300).contains(&ans.status) {
            return Err(Self::api_error(&path, &ans));
        }
        if ans.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&ans.body).map_err(|e| TrackingError::BadResponse {
            endpoint: path,
            reason: e.to_string(),
        })
    }

    fn bad(api: &str, reason: impl Into<String>) -> TrackingError {
        TrackingError::BadResponse {
            endpoint: format!("/api/2.0/mlflow/{api}"),
            reason: reason.into(),
        }
    }

    fn parse_run(api: &str, v: &Value) -> Result<Run, TrackingError> {
        let info = v
            .get("info")
            .ok_or_else(|| Self::bad(api, "run without info"))?;
        let data = v.get("data");
        let run_id = as_string(info.get("run_id").or_else(|| info.get("run_uuid")))
            .ok_or_else(|| Self::bad(api, "run without run_id"))?;
        let tags = kv_list(data.and_then(|d| d.get("tags")));
        let mut metrics = BTreeMap::new();
        for m in data
            .and_then(|d| d.get("metrics"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let m = Self::parse_metric(api, m)?;
            metrics.insert(m.key.clone(), m);
        }
        let inputs = v
            .get("inputs")
            .and_then(|i| i.get("dataset_inputs"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|di| {
                let d = di.get("dataset")?;
                let itags = kv_list(di.get("tags"));
                let (num_rows, sha256) =
                    DatasetInput::from_profile(as_string(d.get("profile")).as_deref());
                Some(DatasetInput {
                    num_rows,
                    sha256,
                    name: as_string(d.get("name"))?,
                    digest: as_string(d.get("digest")).unwrap_or_default(),
                    source_type: as_string(d.get("source_type")).unwrap_or_default(),
                    source: as_string(d.get("source")).unwrap_or_default(),
                    context: itags.get("mlflow.data.context").cloned(),
                })
            })
            .collect();
        let status = as_string(info.get("status"));
        Ok(Run {
            info: RunInfo {
                run_name: as_string(info.get("run_name"))
                    .or_else(|| tags.get(super::TAG_RUN_NAME).cloned())
                    .unwrap_or_default(),
                experiment_id: as_string(info.get("experiment_id")).unwrap_or_default(),
                status: status
                    .as_deref()
                    .and_then(RunStatus::parse)
                    .unwrap_or(RunStatus::Running),
                start_time: as_i64(info.get("start_time")),
                end_time: as_i64(info.get("end_time")),
                artifact_uri: as_string(info.get("artifact_uri")).unwrap_or_default(),
                user_id: as_string(info.get("user_id")).unwrap_or_default(),
                run_id,
            },
            params: kv_list(data.and_then(|d| d.get("params"))),
            metrics,
            tags,
            inputs,
        })
    }

    fn parse_metric(api: &str, m: &Value) -> Result<Metric, TrackingError> {
        let key = as_string(m.get("key")).ok_or_else(|| Self::bad(api, "metric without key"))?;
        let value = m
            .get("value")
            .and_then(parse_metric_value)
            .ok_or_else(|| Self::bad(api, format!("metric {key:?} without a readable value")))?;
        Ok(Metric {
            key,
            value,
            timestamp: as_i64(m.get("timestamp")).unwrap_or(0),
            step: as_i64(m.get("step")).unwrap_or(0),
        })
    }

    fn parse_version(api: &str, v: &Value) -> Result<ModelVersion, TrackingError> {
        Ok(ModelVersion {
            name: as_string(v.get("name")).ok_or_else(|| Self::bad(api, "version without name"))?,
            version: as_string(v.get("version"))
                .ok_or_else(|| Self::bad(api, "version without number"))?,
            run_id: as_string(v.get("run_id")).filter(|s| !s.is_empty()),
            source: as_string(v.get("source")).unwrap_or_default(),
            status: as_string(v.get("status")).unwrap_or_default(),
            aliases: v
                .get("aliases")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| as_string(Some(x))).collect())
                .unwrap_or_default(),
            tags: kv_list(v.get("tags")),
            creation_timestamp: as_i64(v.get("creation_timestamp")),
        })
    }

    /// Path of a run's artifact root on the artifact proxy (`<exp>/<run>/artifacts`).
    fn artifact_root(&self, run_id: &str) -> Result<String, TrackingError> {
        if let Some(r) = self
            .artifact_roots
            .lock()
            .ok()
            .and_then(|m| m.get(run_id).cloned())
        {
            return Ok(r);
        }
        let run = self.get_run(run_id)?;
        let uri = &run.info.artifact_uri;
        let rest = uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
            TrackingError::Unsupported(format!(
                "run {run_id}: artifact location {uri} is not served by the tracking server \
                 (start the server with --serve-artifacts / --artifacts-destination)"
            ))
        })?;
        // `mlflow-artifacts:/p` or `mlflow-artifacts://host:port/p`.
        let path = match rest.strip_prefix("//") {
            Some(r) => r.split_once('/').map(|x| x.1).unwrap_or(""),
            None => rest.trim_start_matches('/'),
        };
        let path = path.trim_end_matches('/').to_string();
        if let Ok(mut m) = self.artifact_roots.lock() {
            m.insert(run_id.to_string(), path.clone());
        }
        Ok(path)
    }

    fn put_artifact(&self, root: &str, rel: &str, file: &Path) -> Result<(), TrackingError> {
        let data = fs::read(file).map_err(|e| TrackingError::io(file, e))?;
        let path = format!(
            "/api/2.0/mlflow-artifacts/artifacts/{}/{}",
            encode_path(root),
            encode_path(rel)
        );
        let ans = self.request("PUT", &path, &[], Body::Bytes(&data), None)?;
        if !(200..300).contains(&ans.status) {
            return Err(Self::api_error(&path, &ans));
        }
        Ok(())
    }

    fn get_artifact_file(&self, root: &str, rel: &str, dest: &Path) -> Result<(), TrackingError> {
        let path = format!(
            "/api/2.0/mlflow-artifacts/artifacts/{}/{}",
            encode_path(root),
            encode_path(rel)
        );
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| TrackingError::io(parent, e))?;
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.part-{}", super::fsutil::random_hex(6)));
        let mut sink = |r: &mut dyn std::io::Read| -> std::io::Result<()> {
            // Re-created on each attempt, so a retried download starts clean.
            let mut f = fs::File::create(&tmp)?;
            std::io::copy(r, &mut f)?;
            f.flush()
        };
        let res = self.request("GET", &path, &[], Body::Empty, Some(&mut sink));
        let ans = match res {
            Ok(a) => a,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if !(200..300).contains(&ans.status) {
            let _ = fs::remove_file(&tmp);
            return Err(Self::api_error(&path, &ans));
        }
        fs::rename(&tmp, dest).map_err(|e| TrackingError::io(dest, e))
    }

    fn log_batch_chunk(
        &self,
        run_id: &str,
        params: &[(String, String)],
        metrics: &[Metric],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|m| {
                json!({"key": m.key, "value": metric_value_json(m.value),
                       "timestamp": m.timestamp, "step": m.step})
            })
            .collect();
        self.call(
            "POST",
            "runs/log-batch",
            &[],
            Some(&json!({"run_id": run_id, "params": kv_json(params),
                         "metrics": metrics, "tags": kv_json(tags)})),
        )?;
        Ok(())
    }
}

impl Tracker for RestTracker {
    fn uri(&self) -> String {
        self.base.clone()
    }

    fn get_experiment(&self, name: &str) -> Result<Option<String>, TrackingError> {
        let api = "experiments/get-by-name";
        match self.call("GET", api, &[("experiment_name", name)], None) {
            Ok(v) => Ok(Some(
                as_string(v.get("experiment").and_then(|e| e.get("experiment_id")))
                    .ok_or_else(|| Self::bad(api, "no experiment_id"))?,
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get_or_create_experiment(&self, name: &str) -> Result<String, TrackingError> {
        let api = "experiments/get-by-name";
        match self.call("GET", api, &[("experiment_name", name)], None) {
            Ok(v) => {
                return as_string(v.get("experiment").and_then(|e| e.get("experiment_id")))
                    .ok_or_else(|| Self::bad(api, "no experiment_id"));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        match self.call(
            "POST",
            "experiments/create",
            &[],
            Some(&json!({"name": name})),
        ) {
            Ok(v) => as_string(v.get("experiment_id"))
                .ok_or_else(|| Self::bad("experiments/create", "no experiment_id")),
            // Someone created it between our two calls.
            Err(TrackingError::Api { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => {
                let v = self.call("GET", api, &[("experiment_name", name)], None)?;
                as_string(v.get("experiment").and_then(|e| e.get("experiment_id")))
                    .ok_or_else(|| Self::bad(api, "no experiment_id"))
            }
            Err(e) => Err(e),
        }
    }

    fn create_run(&self, run: &NewRun) -> Result<RunInfo, TrackingError> {
        let tags = run.all_tags();
        let body = json!({
            "experiment_id": run.experiment_id,
            "run_name": run.run_name,
            "start_time": run.start_time.unwrap_or_else(now_ms),
            "user_id": super::user_name(),
            "tags": kv_json(&tags),
        });
        let v = self.call("POST", "runs/create", &[], Some(&body))?;
        let r = v
            .get("run")
            .ok_or_else(|| Self::bad("runs/create", "no run"))?;
        Ok(Self::parse_run("runs/create", r)?.info)
    }

    fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), TrackingError> {
        for (k, _) in &batch.params {
            validate_key("param", k)?;
        }
        for m in &batch.metrics {
            validate_key("metric", &m.key)?;
        }
        // Respect the server's per-request limits: params and tags in chunks of 100, metrics
        // in chunks of 1000 (and at most 1000 entities per request overall).
        let mut p = batch.params.chunks(MAX_PARAMS_PER_BATCH);
        let mut t = batch.tags.chunks(MAX_TAGS_PER_BATCH);
        let mut m = batch.metrics.chunks(MAX_METRICS_PER_BATCH - 200);
        loop {
            let (pc, tc, mc) = (p.next(), t.next(), m.next());
            if pc.is_none() && tc.is_none() && mc.is_none() {
                return Ok(());
            }
            self.log_batch_chunk(
                run_id,
                pc.unwrap_or(&[]),
                mc.unwrap_or(&[]),
                tc.unwrap_or(&[]),
            )?;
        }
    }

    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        for d in inputs {
            d.validate()?;
        }
        let datasets: Vec<Value> = inputs
            .iter()
            .map(|d| {
                let mut ds = json!({"name": d.name, "digest": d.digest,
                                    "source_type": d.source_type, "source": d.source});
                if let Some(p) = d.profile() {
                    ds["profile"] = json!(p);
                }
                let tags: Vec<(String, String)> = d
                    .context
                    .iter()
                    .map(|c| ("mlflow.data.context".to_string(), c.clone()))
                    .collect();
                json!({"tags": kv_json(&tags), "dataset": ds})
            })
            .collect();
        self.call(
            "POST",
            "runs/log-inputs",
            &[],
            Some(&json!({"run_id": run_id, "datasets": datasets})),
        )?;
        Ok(())
    }

    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        let meta =
            fs::symlink_metadata(local_file).map_err(|e| TrackingError::io(local_file, e))?;
        let name = local_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let (true, Some(name)) = (meta.is_file(), name) else {
            return Err(TrackingError::UnsafePath {
                path: local_file.display().to_string(),
                reason: "not a regular file (symbolic links are refused)".into(),
            });
        };
        let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
        let rel = if sub.is_empty() {
            name
        } else {
            format!("{sub}/{name}")
        };
        safe_relative_path(&rel)?;
        let root = self.artifact_root(run_id)?;
        self.put_artifact(&root, &rel, local_file)
    }

    fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        let meta = fs::symlink_metadata(local_dir).map_err(|e| TrackingError::io(local_dir, e))?;
        if !meta.is_dir() {
            return Err(TrackingError::UnsafePath {
                path: local_dir.display().to_string(),
                reason: "not a folder (symbolic links are refused)".into(),
            });
        }
        let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
        let root = self.artifact_root(run_id)?;
        for rel in super::fsutil::list_files_rel(local_dir)? {
            let dest = if sub.is_empty() {
                rel.clone()
            } else {
                format!("{sub}/{rel}")
            };
            safe_relative_path(&dest)?;
            self.put_artifact(&root, &dest, &local_dir.join(&rel))?;
        }
        Ok(())
    }

    fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), TrackingError> {
        self.call(
            "POST",
            "runs/update",
            &[],
            Some(&json!({"run_id": run_id, "status": status.as_str(),
                         "end_time": end_time.unwrap_or_else(now_ms)})),
        )?;
        Ok(())
    }

    fn get_run(&self, run_id: &str) -> Result<Run, TrackingError> {
        let v = self.call("GET", "runs/get", &[("run_id", run_id)], None)?;
        let r = v
            .get("run")
            .ok_or_else(|| Self::bad("runs/get", "no run"))?;
        Self::parse_run("runs/get", r)
    }

    fn search_runs(&self, search: &RunSearch) -> Result<Vec<Run>, TrackingError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let want = search.max_results.saturating_sub(out.len()).min(1000);
            if want == 0 {
                break;
            }
            let mut body = json!({
                "experiment_ids": search.experiment_ids,
                "filter": search.filter,
                "order_by": search.order_by,
                "max_results": want,
                "run_view_type": "ACTIVE_ONLY",
            });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.call("POST", "runs/search", &[], Some(&body))?;
            for r in v
                .get("runs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(Self::parse_run("runs/search", r)?);
            }
            token = as_string(v.get("next_page_token")).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        let api = "metrics/get-history";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("run_id", run_id), ("metric_key", key)];
            if let Some(t) = &token {
                q.push(("page_token", t.as_str()));
            }
            let v = self.call("GET", api, &q, None)?;
            for m in v
                .get("metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(Self::parse_metric(api, m)?);
            }
            token = as_string(v.get("next_page_token")).filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    fn list_artifacts(
        &self,
        run_id: &str,
        path: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let rel = safe_relative_path(path)?;
        let api = "artifacts/list";
        let mut q = vec![("run_id", run_id)];
        if !rel.is_empty() {
            q.push(("path", rel.as_str()));
        }
        let v = self.call("GET", api, &q, None)?;
        let mut out = Vec::new();
        for f in v
            .get("files")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = as_string(f.get("path")).ok_or_else(|| Self::bad(api, "file without path"))?;
            // The server's paths become local paths: refuse any that could escape, or that
            // are not children of what we listed.
            let p = safe_relative_path(&p)?;
            let parent = p.rsplit_once('/').map(|x| x.0).unwrap_or("");
            if p.is_empty() || parent != rel {
                return Err(TrackingError::UnsafePath {
                    path: p,
                    reason: format!("listed under {rel:?} but not a child of it"),
                });
            }
            out.push(ArtifactEntry {
                path: p,
                is_dir: f.get("is_dir").and_then(Value::as_bool).unwrap_or(false),
                size: as_i64(f.get("file_size")).map(|s| s.max(0) as u64),
            });
        }
        Ok(out)
    }

    fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        let rel = safe_relative_path(path)?;
        let root = self.artifact_root(run_id)?;
        let entries = self.list_artifacts(run_id, &rel)?;
        let dst = dest_dir.join(&rel);
        if entries.is_empty() {
            // A file (listing a file gives nothing) or an empty folder.
            if rel.is_empty() {
                fs::create_dir_all(&dst).map_err(|e| TrackingError::io(&dst, e))?;
            } else {
                self.get_artifact_file(&root, &rel, &dst)?;
            }
            return Ok(dst);
        }
        fs::create_dir_all(&dst).map_err(|e| TrackingError::io(&dst, e))?;
        let mut stack = entries;
        while let Some(e) = stack.pop() {
            if e.is_dir {
                stack.extend(self.list_artifacts(run_id, &e.path)?);
            } else {
                self.get_artifact_file(&root, &e.path, &dest_dir.join(&e.path))?;
            }
        }
        Ok(dst)
    }

    fn create_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        match self.call(
            "POST",
            "registered-models/create",
            &[],
            Some(&json!({"name": name})),
        ) {
            Ok(_) => Ok(()),
            Err(TrackingError::Api { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, TrackingError> {
        let api = "model-versions/create";
        let v = self.call(
            "POST",
            api,
            &[],
            Some(&json!({"name": name, "source": source, "run_id": run_id,
                         "tags": kv_json(tags)})),
        )?;
        let mut mv = Self::parse_version(
            api,
            v.get("model_version")
                .ok_or_else(|| Self::bad(api, "no model_version"))?,
        )?;
        // Registration is asynchronous for some sources: wait (bounded) until READY.
        let mut wait = Duration::from_millis(200);
        for _ in 0..20 {
            if mv.status != "PENDING_REGISTRATION" {
                break;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(5));
            mv = self.get_model_version(name, &mv.version)?;
        }
        if mv.status == "FAILED_REGISTRATION" {
            return Err(TrackingError::Invalid(format!(
                "model {name} version {}: registration failed",
                mv.version
            )));
        }
        Ok(mv)
    }

    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError> {
        let api = "model-versions/get";
        let v = self.call("GET", api, &[("name", name), ("version", version)], None)?;
        Self::parse_version(
            api,
            v.get("model_version")
                .ok_or_else(|| Self::bad(api, "no model_version"))?,
        )
    }

    fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), TrackingError> {
        self.call(
            "POST",
            "registered-models/alias",
            &[],
            Some(&json!({"name": name, "alias": alias, "version": version})),
        )?;
        Ok(())
    }

    fn get_alias(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>, TrackingError> {
        let api = "registered-models/alias";
        match self.call("GET", api, &[("name", name), ("alias", alias)], None) {
            Ok(v) => Ok(Some(Self::parse_version(
                api,
                v.get("model_version")
                    .ok_or_else(|| Self::bad(api, "no model_version"))?,
            )?)),
            // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE, a missing
            // model with 404.
            Err(TrackingError::Api { code, message, .. })
                if code == "RESOURCE_DOES_NOT_EXIST"
                    || (code == "INVALID_PARAMETER_VALUE"
                        && message.to_ascii_lowercase().contains("alias")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        // DELETE with a JSON body (the query form is ignored by the server).
        match self.call(
            "DELETE",
            "registered-models/alias",
            &[],
            Some(&json!({"name": name, "alias": alias})),
        ) {
            Ok(_) => Ok(()),
            Err(TrackingError::Api { code, .. })
                if code == "RESOURCE_DOES_NOT_EXIST" || code == "INVALID_PARAMETER_VALUE" =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn list_versions(&self, name: &str) -> Result<Vec<ModelVersion>, TrackingError> {
        let api = "model-versions/search";
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("filter", filter.as_str()), ("max_results", "1000")];
            if let Some(t) = &token {
                q.push(("page_token", t.as_str()));
            }
            let v = self.call("GET", api, &q, None)?;
            for mv in v
                .get("model_versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(Self::parse_version(api, mv)?);
            }
            token = as_string(v.get("next_page_token")).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        // Aliases live on the registered model; the search answer may omit them.
        if !out.is_empty() {
            let rm = self.call("GET", "registered-models/get", &[("name", name)], None)?;
            let mut by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for a in rm
                .get("registered_model")
                .and_then(|r| r.get("aliases"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(al), Some(ver)) =
                    (as_string(a.get("alias")), as_string(a.get("version")))
                {
                    by_version.entry(ver).or_default().push(al);
                }
            }
            for mv in &mut out {
                let mut al = by_version.remove(&mv.version).unwrap_or_default();
                al.sort();
                mv.aliases = al;
            }
        }
        out.sort_by_key(|mv| mv.version.parse::<u64>().unwrap_or(u64::MAX));
        Ok(out)
    }

    fn download_model_version(
        &self,
        name: &str,
        version: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        let mv = self.get_model_version(name, version)?;
        let (run_id, path) = parse_runs_uri(&mv.source).ok_or_else(|| {
            TrackingError::Unsupported(format!(
                "model {name} version {version}: source {} is not a runs:/ URI",
                mv.source
            ))
        })?;
        self.download_artifacts(run_id, path, dest_dir)
    }
}

/// The `http::Response` type ureq returns.
mod http_types {
    pub type Response = ureq::http::Response<ureq::Body>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn metric_values_never_bare_nan() {
        assert_eq!(metric_value_json(f64::NAN), json!("NaN"));
        assert_eq!(metric_value_json(f64::INFINITY), json!("Infinity"));
        assert_eq!(metric_value_json(f64::NEG_INFINITY), json!("-Infinity"));
        assert_eq!(metric_value_json(1.5), json!(1.5));
        assert!(parse_metric_value(&json!("NaN")).unwrap().is_nan());
        assert_eq!(
            parse_metric_value(&json!(1.7976931348623157e308)),
            Some(f64::INFINITY)
        );
        assert_eq!(parse_metric_value(&json!(null)), None);
    }

    #[test]
    fn credentials_never_in_debug() {
        let t = RestTracker::new(
            "http://127.0.0.1:1",
            Some(Auth::Bearer("s3cr3t-token".into())),
            RetryPolicy::default(),
            Duration::from_secs(1),
        )
        .unwrap();
        let d = format!("{t:?}");
        assert!(!d.contains("s3cr3t"), "{d}");
        assert!(d.contains("redacted"));
        let b = Auth::Basic(base64(b"u:hunter2"));
        assert!(!format!("{b:?}").contains(&base64(b"u:hunter2")));
        assert!(
            RestTracker::new(
                "http://u:p@host",
                None,
                RetryPolicy::default(),
                Duration::from_secs(1)
            )
            .is_err()
        );
    }

    #[test]
    fn connection_refused_is_retried_then_reported() {
        // Port 1 on loopback: nothing listens there.
        let t = RestTracker::new(
            "http://127.0.0.1:1",
            None,
            RetryPolicy {
                max_retries: 2,
                first_backoff: Duration::from_millis(1),
            },
            Duration::from_secs(2),
        )
        .unwrap();
        let err = t.get_run("abc").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TrackingError::Transport { .. }), "{msg}");
        assert!(msg.contains("3 attempts"), "{msg}");
    }

    #[test]
    fn segments_encoded() {
        assert_eq!(encode_path("a b/c%d"), "a%20b/c%25d");
    }
}
