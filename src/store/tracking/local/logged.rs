//! MLflow 3 logged models in the file store: `<root>/<experiment>/models/<model_id>/` with
//! `meta.yaml`, `params/`, `tags/`, `metrics/` and `artifacts/`, and the run → model link in
//! `<root>/<experiment>/<run>/outputs/<model_id>/meta.yaml`, in the layout MLflow 3.17.2's own
//! `FileStore` writes (its `search_logged_models` and the UI's Models tab read it back). Apart
//! from runs because a model has its own folder tree and lifecycle (pending → ready).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::*;
use super::{LocalTracker, META, MODELS};
use crate::store::tracking::fsutil::{atomic_write, copy_tree_no_symlinks, random_hex, replace_in};
use crate::store::tracking::{
    LoggedModel, LoggedModelStatus, NewLoggedModel, TrackingError, now_ms, system_tags,
    validate_key, validate_model_id,
};

/// `models/<id>/meta.yaml`; keys in MLflow's (sorted) order.
#[derive(Debug, Serialize, Deserialize)]
struct ModelMeta {
    artifact_location: String,
    creation_timestamp: i64,
    experiment_id: String,
    last_updated_timestamp: i64,
    #[serde(default = "active")]
    lifecycle_stage: String,
    model_id: String,
    #[serde(default)]
    model_type: Option<String>,
    name: String,
    #[serde(default)]
    source_run_id: Option<String>,
    status: i64,
    #[serde(default)]
    status_message: Option<String>,
}

/// `<run>/outputs/<model_id>/meta.yaml`, as MLflow's `_FileStoreOutput` writes it.
#[derive(Debug, Serialize)]
struct OutputMeta<'a> {
    destination_id: &'a str,
    destination_type: &'a str,
    source_id: &'a str,
    source_type: &'a str,
    step: i64,
    tags: BTreeMap<String, String>,
}

impl LocalTracker {
    /// Folder of logged model `model_id`, searched across experiments.
    pub(super) fn logged_model_dir(&self, model_id: &str) -> Result<PathBuf, TrackingError> {
        validate_model_id(model_id)?;
        for d in subdirs(&self.root)? {
            if d == MODELS || d.starts_with('.') {
                continue;
            }
            let p = self.root.join(&d).join(MODELS).join(model_id);
            if p.join(META).is_file() {
                return Ok(p);
            }
        }
        Err(TrackingError::NotFound {
            what: "logged model",
            name: model_id.to_string(),
        })
    }

    fn model_meta(dir: &Path) -> Result<ModelMeta, TrackingError> {
        read_yaml(&dir.join(META))
    }

    fn read_logged_model(&self, dir: &Path) -> Result<(ModelMeta, LoggedModel), TrackingError> {
        let m = Self::model_meta(dir)?;
        let metrics = self
            .latest_metrics(&dir.join("metrics"))?
            .into_iter()
            .map(|(k, p)| (k, p.value))
            .collect();
        let status =
            LoggedModelStatus::from_code(m.status).ok_or_else(|| TrackingError::Corrupt {
                path: dir.join(META),
                reason: format!("unknown logged model status {}", m.status),
            })?;
        let lm = LoggedModel {
            model_id: m.model_id.clone(),
            experiment_id: m.experiment_id.clone(),
            name: m.name.clone(),
            artifact_uri: m.artifact_location.clone(),
            source_run_id: m.source_run_id.clone(),
            status,
            params: read_kv_dir(&dir.join("params"))?,
            tags: read_kv_dir(&dir.join("tags"))?,
            metrics,
        };
        Ok((m, lm))
    }

    /// Folder of the logged model's artifacts. Its recorded location is absolute, like
    /// MLflow's; a store copied elsewhere still finds them in the model's own folder.
    pub(super) fn logged_model_artifacts(&self, model_id: &str) -> Result<PathBuf, TrackingError> {
        let dir = self.logged_model_dir(model_id)?;
        let meta = Self::model_meta(&dir)?;
        if meta.artifact_location.starts_with("file:") {
            let p = file_uri_to_path(&meta.artifact_location)?;
            if p.exists() {
                return Ok(p);
            }
        }
        Ok(dir.join("artifacts"))
    }

    /// Adds `{name, version}` to the model's `mlflow.modelVersions` tag.
    pub(super) fn add_model_version_to_logged_model(
        &self,
        model_id: &str,
        name: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        const KEY: &str = "mlflow.modelVersions";
        let dir = self.logged_model_dir(model_id)?;
        let path = dir.join("tags").join(KEY);
        let mut list: Vec<serde_json::Value> = match fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| TrackingError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(_) => Vec::new(),
        };
        let entry = serde_json::json!({"name": name, "version": version});
        if !list.contains(&entry) {
            list.push(entry);
        }
        let text = serde_json::Value::Array(list).to_string();
        replace_in(&path, text.as_bytes(), &dir)
    }
}

// The Tracker operations on logged models (the trait documents each); mod.rs dispatches to them.

pub(super) fn create_logged_model(
    store: &LocalTracker,
    new: &NewLoggedModel,
) -> Result<LoggedModel, TrackingError> {
    let exp_dir = store.root.join(&new.experiment_id);
    if new.experiment_id.is_empty()
        || !new.experiment_id.chars().all(|c| c.is_ascii_digit())
        || !exp_dir.join(META).is_file()
    {
        return Err(TrackingError::NotFound {
            what: "experiment",
            name: new.experiment_id.clone(),
        });
    }
    store.run_dir(&new.source_run_id)?;
    for (k, _) in &new.params {
        validate_key("param", k)?;
    }
    for (k, _) in &new.tags {
        validate_key("tag", k)?;
    }
    let exp: ExperimentMeta = read_yaml(&exp_dir.join(META))?;
    let model_id = format!("m-{}", random_hex(16));
    let dir = exp_dir.join(MODELS).join(&model_id);
    let artifact_location = format!(
        "{}/{MODELS}/{model_id}/artifacts",
        exp.artifact_location.trim_end_matches('/')
    );
    fs::create_dir_all(dir.join("artifacts")).map_err(|e| TrackingError::io(&dir, e))?;
    for (folder, kvs) in [("params", &new.params), ("tags", &new.tags)] {
        // MLflow's log_model puts the source tags (user, source name and type) on the model.
        let mut all: BTreeMap<&str, &str> = BTreeMap::new();
        if folder == "tags" {
            for (k, v) in system_tags() {
                all.insert(k.as_str(), v.as_str());
            }
        }
        for (k, v) in kvs.iter() {
            all.insert(k.as_str(), v.as_str());
        }
        for (k, v) in all {
            replace_in(&dir.join(folder).join(k), v.as_bytes(), &dir)?;
        }
    }
    let now = now_ms();
    let meta = ModelMeta {
        artifact_location,
        creation_timestamp: now,
        experiment_id: new.experiment_id.clone(),
        last_updated_timestamp: now,
        lifecycle_stage: active(),
        model_id: model_id.clone(),
        model_type: new.model_type.clone(),
        name: new.name.clone(),
        source_run_id: Some(new.source_run_id.clone()),
        status: LoggedModelStatus::Pending.code(),
        status_message: None,
    };
    // meta.yaml last: readers see the model only once it is whole.
    atomic_write(&dir.join(META), &yaml(&meta)?)?;
    Ok(store.read_logged_model(&dir)?.1)
}

pub(super) fn log_logged_model_artifacts(
    store: &LocalTracker,
    model: &LoggedModel,
    local_dir: &Path,
) -> Result<(), TrackingError> {
    copy_tree_no_symlinks(local_dir, &store.logged_model_artifacts(&model.model_id)?)
}

pub(super) fn finalize_logged_model(
    store: &LocalTracker,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<(), TrackingError> {
    let dir = store.logged_model_dir(model_id)?;
    let mut meta = LocalTracker::model_meta(&dir)?;
    meta.status = status.code();
    meta.last_updated_timestamp = now_ms();
    atomic_write(&dir.join(META), &yaml(&meta)?)
}

pub(super) fn log_outputs(
    store: &LocalTracker,
    run_id: &str,
    model_id: &str,
    step: i64,
) -> Result<(), TrackingError> {
    store.logged_model_dir(model_id)?;
    let out = store.run_dir(run_id)?.join("outputs").join(model_id);
    fs::create_dir_all(&out).map_err(|e| TrackingError::io(&out, e))?;
    // MLflow writes the model id as both ends (its reader keys the output by source_id).
    let meta = OutputMeta {
        destination_id: model_id,
        destination_type: "MODEL_OUTPUT",
        source_id: model_id,
        source_type: "RUN_OUTPUT",
        step,
        tags: BTreeMap::new(),
    };
    atomic_write(&out.join(META), &yaml(&meta)?)
}

pub(super) fn get_logged_model(
    store: &LocalTracker,
    model_id: &str,
) -> Result<LoggedModel, TrackingError> {
    let dir = store.logged_model_dir(model_id)?;
    Ok(store.read_logged_model(&dir)?.1)
}

pub(super) fn search_logged_models(
    store: &LocalTracker,
    experiment_id: &str,
) -> Result<Vec<LoggedModel>, TrackingError> {
    if experiment_id.is_empty() || !experiment_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(TrackingError::Invalid(format!(
            "invalid experiment id {experiment_id:?}"
        )));
    }
    let models = store.root.join(experiment_id).join(MODELS);
    let mut out = Vec::new();
    for d in subdirs(&models)? {
        let dir = models.join(&d);
        if validate_model_id(&d).is_err() || !dir.join(META).is_file() {
            continue;
        }
        let (meta, lm) = store.read_logged_model(&dir)?;
        if meta.lifecycle_stage == "active" && meta.experiment_id == experiment_id {
            out.push((meta.creation_timestamp, lm));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.model_id.cmp(&b.1.model_id)));
    Ok(out.into_iter().map(|(_, m)| m).collect())
}
