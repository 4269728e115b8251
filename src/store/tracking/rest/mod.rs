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
use crate::util::error::InputError;

mod http;
#[cfg(test)]
mod tests;
mod wire;

pub use http::RetryPolicy;
use http::{Auth, Body};
use wire::*;

/// MLflow's per-request limits for `runs/log-batch`.
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_PER_BATCH: usize = 100;
const MAX_TAGS_PER_BATCH: usize = 100;

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

    /// `(id, lifecycle_stage)` of the experiment called `name`, deleted ones included.
    fn experiment_by_name(&self, name: &str) -> Result<Option<(String, String)>, TrackingError> {
        let api = "experiments/get-by-name";
        match self.call("GET", api, &[("experiment_name", name)], None) {
            Ok(v) => {
                let e = v.get("experiment");
                let id = as_string(e.and_then(|e| e.get("experiment_id")))
                    .ok_or_else(|| bad(api, "no experiment_id"))?;
                let stage = as_string(e.and_then(|e| e.get("lifecycle_stage")))
                    .unwrap_or_else(|| "active".into());
                Ok(Some((id, stage)))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
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
        Ok(self
            .experiment_by_name(name)?
            .filter(|(_, stage)| stage != "deleted")
            .map(|(id, _)| id))
    }

    fn get_or_create_experiment(&self, name: &str) -> Result<String, TrackingError> {
        let api = "experiments/get-by-name";
        match self.experiment_by_name(name)? {
            Some((id, stage)) if stage != "deleted" => return Ok(id),
            // get-by-name also finds deleted experiments, and their name stays taken.
            Some((id, _)) => {
                return Err(TrackingError::Invalid(format!(
                    "experiment {name:?} (id {id}) is deleted on the server: restore it or use another name"
                )));
            }
            None => {}
        }
        match self.call(
            "POST",
            "experiments/create",
            &[],
            Some(&json!({"name": name})),
        ) {
            Ok(v) => as_string(v.get("experiment_id"))
                .ok_or_else(|| bad("experiments/create", "no experiment_id")),
            // Someone created it between our two calls.
            Err(TrackingError::Api { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => self
                .get_experiment(name)?
                .ok_or_else(|| bad(api, "no experiment_id")),
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
        let r = v.get("run").ok_or_else(|| bad("runs/create", "no run"))?;
        Ok(parse_run("runs/create", r)?.info)
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
        let r = v.get("run").ok_or_else(|| bad("runs/get", "no run"))?;
        parse_run("runs/get", r)
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
                out.push(parse_run("runs/search", r)?);
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
                out.push(parse_metric(api, m)?);
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
            let p = as_string(f.get("path")).ok_or_else(|| bad(api, "file without path"))?;
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
        let mut mv = parse_version(
            api,
            v.get("model_version")
                .ok_or_else(|| bad(api, "no model_version"))?,
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
        parse_version(
            api,
            v.get("model_version")
                .ok_or_else(|| bad(api, "no model_version"))?,
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
            Ok(v) => Ok(Some(parse_version(
                api,
                v.get("model_version")
                    .ok_or_else(|| bad(api, "no model_version"))?,
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
                out.push(parse_version(api, mv)?);
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
