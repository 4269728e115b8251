//! MLflow 3 logged models over the REST API (`logged-models`, `logged-models/<id>`,
//! `logged-models/search`, `runs/outputs`). Their artifacts go through the artifact proxy
//! under the model's own root (`mlflow-artifacts:/<exp>/models/<id>/artifacts`), which the
//! server picks. Apart from runs because a model has its own endpoints and lifecycle.

use std::path::Path;

use serde_json::{Value, json};

use super::RestTracker;
use super::wire::*;
use crate::store::tracking::{
    LoggedModel, LoggedModelStatus, NewLoggedModel, TrackingError, system_tags, validate_key,
    validate_model_id,
};

fn model_of(api: &str, v: &Value) -> Result<LoggedModel, TrackingError> {
    parse_logged_model(api, v.get("model").ok_or_else(|| bad(api, "no model"))?)
}

// The Tracker operations on logged models (the trait documents each); mod.rs dispatches to them.

pub(super) fn create_logged_model(
    store: &RestTracker,
    new: &NewLoggedModel,
) -> Result<LoggedModel, TrackingError> {
    for (k, _) in &new.params {
        validate_key("param", k)?;
    }
    // MLflow's log_model puts the source tags (user, source name and type) on the model.
    let mut tags: Vec<(String, String)> = system_tags().to_vec();
    tags.extend(new.tags.iter().cloned());
    let mut body = json!({
        "experiment_id": new.experiment_id,
        "name": new.name,
        "source_run_id": new.source_run_id,
        "params": kv_json(&new.params),
        "tags": kv_json(&tags),
    });
    if let Some(t) = &new.model_type {
        body["model_type"] = json!(t);
    }
    let api = "logged-models";
    model_of(api, &store.call("POST", api, &[], Some(&body))?)
}

pub(super) fn log_logged_model_artifacts(
    store: &RestTracker,
    model: &LoggedModel,
    local_dir: &Path,
) -> Result<(), TrackingError> {
    validate_model_id(&model.model_id)?;
    let root = store.proxied_root(
        &format!("logged model {}", model.model_id),
        &model.artifact_uri,
    )?;
    store.put_tree(&root, "", local_dir)
}

pub(super) fn finalize_logged_model(
    store: &RestTracker,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<(), TrackingError> {
    validate_model_id(model_id)?;
    store.call(
        "PATCH",
        &format!("logged-models/{model_id}"),
        &[],
        Some(&json!({"model_id": model_id, "status": status.code()})),
    )?;
    Ok(())
}

pub(super) fn log_outputs(
    store: &RestTracker,
    run_id: &str,
    model_id: &str,
    step: i64,
) -> Result<(), TrackingError> {
    validate_model_id(model_id)?;
    store.call(
        "POST",
        "runs/outputs",
        &[],
        Some(&json!({"run_id": run_id, "models": [{"model_id": model_id, "step": step}]})),
    )?;
    Ok(())
}

pub(super) fn get_logged_model(
    store: &RestTracker,
    model_id: &str,
) -> Result<LoggedModel, TrackingError> {
    validate_model_id(model_id)?;
    let api = format!("logged-models/{model_id}");
    model_of(&api, &store.call("GET", &api, &[], None)?)
}

pub(super) fn search_logged_models(
    store: &RestTracker,
    experiment_id: &str,
) -> Result<Vec<LoggedModel>, TrackingError> {
    let api = "logged-models/search";
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    // Bounded: 100 pages of 100 models.
    for _ in 0..100 {
        let mut body = json!({"experiment_ids": [experiment_id], "max_results": 100,
                              "order_by": [{"field_name": "creation_timestamp", "ascending": false}]});
        if let Some(t) = &token {
            body["page_token"] = json!(t);
        }
        let v = store.call("POST", api, &[], Some(&body))?;
        for m in v
            .get("models")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(parse_logged_model(api, m)?);
        }
        token = as_string(v.get("next_page_token")).filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}
