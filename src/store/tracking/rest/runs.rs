//! Experiments and runs over MLflow's tracking API (`/api/2.0/mlflow/experiments/...`,
//! `runs/...`, `metrics/...`): creating and finding experiments, creating runs, logging params,
//! metrics, tags and dataset inputs within the server's per-request limits, finishing runs,
//! reading them back and searching (page by page).

use serde_json::{Value, json};

use super::RestTracker;
use super::wire::*;
use crate::store::tracking::{
    Batch, DatasetInput, Metric, NewRun, Run, RunInfo, RunSearch, RunStatus, TrackingError, now_ms,
    user_name, validate_key,
};

/// MLflow's per-request limits for `runs/log-batch`.
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_PER_BATCH: usize = 100;
const MAX_TAGS_PER_BATCH: usize = 100;

impl RestTracker {
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

    fn log_batch_chunk(
        &self,
        run_id: &str,
        params: &[(String, String)],
        metrics: &[Metric],
        tags: &[(String, String)],
        model_id: Option<&str>,
    ) -> Result<(), TrackingError> {
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|m| {
                let mut j = json!({"key": m.key, "value": metric_value_json(m.value),
                                   "timestamp": m.timestamp, "step": m.step});
                if let Some(id) = model_id {
                    j["model_id"] = json!(id);
                }
                j
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

// The Tracker operations on experiments and runs (the trait documents each); mod.rs
// dispatches to them.

pub(super) fn get_experiment(
    store: &RestTracker,
    name: &str,
) -> Result<Option<String>, TrackingError> {
    Ok(store
        .experiment_by_name(name)?
        .filter(|(_, stage)| stage != "deleted")
        .map(|(id, _)| id))
}

pub(super) fn get_or_create_experiment(
    store: &RestTracker,
    name: &str,
) -> Result<String, TrackingError> {
    let api = "experiments/get-by-name";
    match store.experiment_by_name(name)? {
        Some((id, stage)) if stage != "deleted" => return Ok(id),
        // get-by-name also finds deleted experiments, and their name stays taken.
        Some((id, _)) => {
            return Err(TrackingError::Invalid(format!(
                "experiment {name:?} (id {id}) is deleted on the server: restore it or use another name"
            )));
        }
        None => {}
    }
    match store.call(
        "POST",
        "experiments/create",
        &[],
        Some(&json!({"name": name})),
    ) {
        Ok(v) => as_string(v.get("experiment_id"))
            .ok_or_else(|| bad("experiments/create", "no experiment_id")),
        // Someone created it between our two calls.
        Err(TrackingError::Api { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => {
            get_experiment(store, name)?.ok_or_else(|| bad(api, "no experiment_id"))
        }
        Err(e) => Err(e),
    }
}

pub(super) fn create_run(store: &RestTracker, run: &NewRun) -> Result<RunInfo, TrackingError> {
    let tags = run.all_tags();
    let body = json!({
        "experiment_id": run.experiment_id,
        "run_name": run.run_name,
        "start_time": run.start_time.unwrap_or_else(now_ms),
        "user_id": user_name(),
        "tags": kv_json(&tags),
    });
    let v = store.call("POST", "runs/create", &[], Some(&body))?;
    let r = v.get("run").ok_or_else(|| bad("runs/create", "no run"))?;
    Ok(parse_run("runs/create", r)?.info)
}

pub(super) fn log_batch(
    store: &RestTracker,
    run_id: &str,
    batch: &Batch,
) -> Result<(), TrackingError> {
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
        store.log_batch_chunk(
            run_id,
            pc.unwrap_or(&[]),
            mc.unwrap_or(&[]),
            tc.unwrap_or(&[]),
            batch.model_id.as_deref(),
        )?;
    }
}

pub(super) fn log_inputs(
    store: &RestTracker,
    run_id: &str,
    inputs: &[DatasetInput],
) -> Result<(), TrackingError> {
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
    store.call(
        "POST",
        "runs/log-inputs",
        &[],
        Some(&json!({"run_id": run_id, "datasets": datasets})),
    )?;
    Ok(())
}

pub(super) fn finish_run(
    store: &RestTracker,
    run_id: &str,
    status: RunStatus,
    end_time: Option<i64>,
) -> Result<(), TrackingError> {
    store.call(
        "POST",
        "runs/update",
        &[],
        Some(&json!({"run_id": run_id, "status": status.as_str(),
                     "end_time": end_time.unwrap_or_else(now_ms)})),
    )?;
    Ok(())
}

pub(super) fn get_run(store: &RestTracker, run_id: &str) -> Result<Run, TrackingError> {
    let v = store.call("GET", "runs/get", &[("run_id", run_id)], None)?;
    let r = v.get("run").ok_or_else(|| bad("runs/get", "no run"))?;
    parse_run("runs/get", r)
}

pub(super) fn search_runs(
    store: &RestTracker,
    search: &RunSearch,
) -> Result<Vec<Run>, TrackingError> {
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
        let v = store.call("POST", "runs/search", &[], Some(&body))?;
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

pub(super) fn metric_history(
    store: &RestTracker,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>, TrackingError> {
    let api = "metrics/get-history";
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = vec![("run_id", run_id), ("metric_key", key)];
        if let Some(t) = &token {
            q.push(("page_token", t.as_str()));
        }
        let v = store.call("GET", api, &q, None)?;
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
