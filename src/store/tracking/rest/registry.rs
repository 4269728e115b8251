//! The model registry over MLflow's REST API (`registered-models/...`, `model-versions/...`):
//! registered models, versions (waiting out asynchronous registration) and aliases. Apart from
//! runs because the registry has its own endpoints and its own error conventions (a missing
//! alias is a 400, an existing model a `RESOURCE_ALREADY_EXISTS`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::RestTracker;
use super::artifacts;
use super::wire::*;
use crate::store::tracking::{ModelVersion, TrackingError, parse_logged_model_uri, parse_runs_uri};

// The Tracker operations on the registry (the trait documents each); mod.rs dispatches to them.

pub(super) fn create_registered_model(
    store: &RestTracker,
    name: &str,
) -> Result<(), TrackingError> {
    match store.call(
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

pub(super) fn create_model_version(
    store: &RestTracker,
    name: &str,
    source: &str,
    run_id: &str,
    model_id: Option<&str>,
    tags: &[(String, String)],
) -> Result<ModelVersion, TrackingError> {
    let api = "model-versions/create";
    let mut body = json!({"name": name, "source": source, "run_id": run_id,
                          "tags": kv_json(tags)});
    if let Some(m) = model_id {
        body["model_id"] = json!(m);
    }
    let v = store.call("POST", api, &[], Some(&body))?;
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
        mv = get_model_version(store, name, &mv.version)?;
    }
    if mv.status == "FAILED_REGISTRATION" {
        return Err(TrackingError::Invalid(format!(
            "model {name} version {}: registration failed",
            mv.version
        )));
    }
    Ok(mv)
}

pub(super) fn get_model_version(
    store: &RestTracker,
    name: &str,
    version: &str,
) -> Result<ModelVersion, TrackingError> {
    let api = "model-versions/get";
    let v = store.call("GET", api, &[("name", name), ("version", version)], None)?;
    parse_version(
        api,
        v.get("model_version")
            .ok_or_else(|| bad(api, "no model_version"))?,
    )
}

pub(super) fn set_alias(
    store: &RestTracker,
    name: &str,
    alias: &str,
    version: &str,
) -> Result<(), TrackingError> {
    store.call(
        "POST",
        "registered-models/alias",
        &[],
        Some(&json!({"name": name, "alias": alias, "version": version})),
    )?;
    Ok(())
}

pub(super) fn get_alias(
    store: &RestTracker,
    name: &str,
    alias: &str,
) -> Result<Option<ModelVersion>, TrackingError> {
    let api = "registered-models/alias";
    match store.call("GET", api, &[("name", name), ("alias", alias)], None) {
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

pub(super) fn delete_alias(
    store: &RestTracker,
    name: &str,
    alias: &str,
) -> Result<(), TrackingError> {
    // DELETE with a JSON body (the query form is ignored by the server).
    match store.call(
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

pub(super) fn list_versions(
    store: &RestTracker,
    name: &str,
) -> Result<Vec<ModelVersion>, TrackingError> {
    let api = "model-versions/search";
    let filter = format!("name='{}'", name.replace('\'', "\\'"));
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = vec![("filter", filter.as_str()), ("max_results", "1000")];
        if let Some(t) = &token {
            q.push(("page_token", t.as_str()));
        }
        let v = store.call("GET", api, &q, None)?;
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
        let rm = store.call("GET", "registered-models/get", &[("name", name)], None)?;
        let mut by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in rm
            .get("registered_model")
            .and_then(|r| r.get("aliases"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(al), Some(ver)) = (as_string(a.get("alias")), as_string(a.get("version")))
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

pub(super) fn download_model_version(
    store: &RestTracker,
    name: &str,
    version: &str,
    dest_dir: &Path,
) -> Result<PathBuf, TrackingError> {
    let mv = get_model_version(store, name, version)?;
    if let Some(model_id) = parse_logged_model_uri(&mv.source) {
        let dst = dest_dir.join("model");
        artifacts::download_logged_model(store, model_id, &dst)?;
        return Ok(dst);
    }
    if let Some((run_id, path)) = parse_runs_uri(&mv.source) {
        return artifacts::download_artifacts(store, run_id, path, dest_dir);
    }
    // A resolved source (what MLflow's register_model stores): a folder under its run's
    // artifact root, downloaded through the run like a runs:/ URI.
    let unsupported = || {
        TrackingError::Unsupported(format!(
            "model {name} version {version}: source {} is neither a runs:/ URI nor inside its \
             run's artifact root",
            mv.source
        ))
    };
    let run_id = mv.run_id.as_deref().ok_or_else(unsupported)?;
    let root = super::runs::get_run(store, run_id)?.info.artifact_uri;
    let path = mv
        .source
        .strip_prefix(root.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|p| !p.is_empty())
        .ok_or_else(unsupported)?;
    artifacts::download_artifacts(store, run_id, path, dest_dir)
}

pub(super) fn set_model_version_tag(
    store: &RestTracker,
    name: &str,
    version: &str,
    key: &str,
    value: &str,
) -> Result<(), TrackingError> {
    store.call(
        "POST",
        "model-versions/set-tag",
        &[],
        Some(&json!({"name": name, "version": version, "key": key, "value": value})),
    )?;
    Ok(())
}
