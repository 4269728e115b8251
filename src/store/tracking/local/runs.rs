//! Experiments and runs in the file store: creating them, logging params, metrics, tags and
//! dataset inputs, finishing, reading back and searching. Everything under
//! `<root>/<experiment>/<run>/` except the `artifacts/` folder (`artifacts.rs`); reading a run's
//! files back is `read.rs`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::format::*;
use super::{LocalTracker, META, MODELS};
use crate::store::tracking::filter::{Filter, OrderBy};
use crate::store::tracking::fsutil::{atomic_write, random_hex, replace, replace_in};
use crate::store::tracking::{
    Batch, DatasetInput, Metric, NewRun, Run, RunInfo, RunSearch, RunStatus, TrackingError, now_ms,
    user_name, validate_key,
};

impl LocalTracker {
    pub(super) fn write_experiment(&self, id: &str, name: &str) -> Result<(), TrackingError> {
        let dir = self.root.join(id);
        fs::create_dir_all(&dir).map_err(|e| TrackingError::io(&dir, e))?;
        let now = now_ms();
        let meta = ExperimentMeta {
            artifact_location: path_to_file_uri(&dir),
            creation_time: Some(now),
            experiment_id: id.to_string(),
            last_update_time: Some(now),
            lifecycle_stage: active(),
            name: name.to_string(),
        };
        atomic_write(&dir.join(META), &yaml(&meta)?)
    }

    fn experiments(&self) -> Result<Vec<ExperimentMeta>, TrackingError> {
        let mut out = Vec::new();
        for d in subdirs(&self.root)? {
            if d == MODELS || d.starts_with('.') {
                continue;
            }
            let p = self.root.join(&d).join(META);
            if p.exists() {
                out.push(read_yaml::<ExperimentMeta>(&p)?);
            }
        }
        Ok(out)
    }

    fn write_kv(
        &self,
        run_dir: &Path,
        folder: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let target = run_dir.join(folder).join(key);
        // Temp file in the run folder, not in the key folder where it would read as a key.
        replace_in(&target, value.as_bytes(), run_dir)
    }
}

// The Tracker operations on experiments and runs (the trait documents each); mod.rs
// dispatches to them.

pub(super) fn get_experiment(
    store: &LocalTracker,
    name: &str,
) -> Result<Option<String>, TrackingError> {
    Ok(store
        .experiments()?
        .into_iter()
        .find(|e| e.name == name && e.lifecycle_stage == "active")
        .map(|e| e.experiment_id))
}

pub(super) fn get_or_create_experiment(
    store: &LocalTracker,
    name: &str,
) -> Result<String, TrackingError> {
    if name.trim().is_empty() {
        return Err(TrackingError::Invalid("experiment name is empty".into()));
    }
    if let Some(id) = get_experiment(store, name)? {
        return Ok(id);
    }
    // Re-check under the lock: another process may have created it meanwhile.
    let _lock = store.lock()?;
    if let Some(id) = get_experiment(store, name)? {
        return Ok(id);
    }
    let mut rng = rand::rng();
    let id = loop {
        // 18-digit ids, like MLflow's file store.
        let id = rng.random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000u64);
        let id = id.to_string();
        if !store.root.join(&id).exists() {
            break id;
        }
    };
    store.write_experiment(&id, name)?;
    Ok(id)
}

pub(super) fn create_run(store: &LocalTracker, run: &NewRun) -> Result<RunInfo, TrackingError> {
    let exp_dir = store.root.join(&run.experiment_id);
    if run.experiment_id.is_empty()
        || !run.experiment_id.chars().all(|c| c.is_ascii_digit())
        || !exp_dir.join(META).is_file()
    {
        return Err(TrackingError::NotFound {
            what: "experiment",
            name: run.experiment_id.clone(),
        });
    }
    if let Some(p) = &run.parent_run_id {
        store.run_dir(p)?;
    }
    let tags = run.all_tags();
    for (k, _) in &tags {
        validate_key("tag", k)?;
    }
    let run_id = loop {
        let id = random_hex(16);
        if !exp_dir.join(&id).exists() {
            break id;
        }
    };
    let dir = exp_dir.join(&run_id);
    for sub in ["metrics", "params", "tags", "artifacts"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| TrackingError::io(dir.join(sub), e))?;
    }
    for (k, v) in &tags {
        store.write_kv(&dir, "tags", k, v)?;
    }
    let meta = RunMeta {
        artifact_uri: path_to_file_uri(&dir.join("artifacts")),
        end_time: None,
        entry_point_name: String::new(),
        experiment_id: run.experiment_id.clone(),
        lifecycle_stage: active(),
        run_id: run_id.clone(),
        run_name: run.run_name.clone(),
        source_name: String::new(),
        source_type: source_local(),
        source_version: String::new(),
        start_time: Some(run.start_time.unwrap_or_else(now_ms)),
        status: RunStatus::Running.code(),
        tags: vec![],
        user_id: user_name(),
        deleted_time: None,
    };
    // meta.yaml last: the run exists for readers only once it is complete.
    atomic_write(&dir.join(META), &yaml(&meta)?)?;
    LocalTracker::run_info(&meta)
}

pub(super) fn log_batch(
    store: &LocalTracker,
    run_id: &str,
    batch: &Batch,
) -> Result<(), TrackingError> {
    let dir = store.run_dir(run_id)?;
    let model_dir = batch
        .model_id
        .as_deref()
        .map(|m| store.logged_model_dir(m))
        .transpose()?;
    for (k, _) in &batch.params {
        validate_key("param", k)?;
    }
    for (k, _) in &batch.tags {
        validate_key("tag", k)?;
    }
    for m in &batch.metrics {
        validate_key("metric", &m.key)?;
    }
    for (k, v) in &batch.params {
        let p = dir.join("params").join(k);
        match fs::read_to_string(&p) {
            Ok(old) if &old == v => continue,
            Ok(old) => {
                return Err(TrackingError::Invalid(format!(
                    "run {run_id}: param {k:?} was logged as {old:?}, cannot change it to {v:?}"
                )));
            }
            Err(_) => store.write_kv(&dir, "params", k, v)?,
        }
    }
    for (k, v) in &batch.tags {
        store.write_kv(&dir, "tags", k, v)?;
    }
    append_metrics(&dir.join("metrics"), &batch.metrics, None)?;
    // A logged model's lines also name the run that logged them (MLflow's fourth field).
    if let Some(mdir) = model_dir {
        append_metrics(&mdir.join("metrics"), &batch.metrics, Some(run_id))?;
    }
    Ok(())
}

/// Appends metric points to their histories in `mdir` (one file per key), as
/// `<timestamp> <value> <step>[ <run_id>]` lines.
pub(super) fn append_metrics(
    mdir: &Path,
    metrics: &[Metric],
    run_id: Option<&str>,
) -> Result<(), TrackingError> {
    let mut lines: BTreeMap<&str, String> = BTreeMap::new();
    for m in metrics {
        let line = lines.entry(&m.key).or_default();
        line.push_str(&format!(
            "{} {} {}",
            m.timestamp,
            format_metric_value(m.value),
            m.step
        ));
        if let Some(r) = run_id {
            line.push(' ');
            line.push_str(r);
        }
        line.push('\n');
    }
    for (k, text) in lines {
        let p = mdir.join(k);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| TrackingError::io(parent, e))?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| TrackingError::io(&p, e))?;
        // One write per key and batch: appends from other writers cannot interleave in it.
        f.write_all(text.as_bytes())
            .map_err(|e| TrackingError::io(&p, e))?;
    }
    Ok(())
}

pub(super) fn log_inputs(
    store: &LocalTracker,
    run_id: &str,
    inputs: &[DatasetInput],
) -> Result<(), TrackingError> {
    let dir = store.run_dir(run_id)?;
    let exp_dir = dir.parent().unwrap_or(&dir).to_path_buf();
    for input in inputs {
        input.validate()?;
    }
    for input in inputs {
        // MLflow names these folders md5(name + digest) and md5(dataset id + run id); any
        // stable unique name reads back the same, so we use sha256 truncated to 32 hex.
        let ds_id = hex::encode(&Sha256::digest(format!("{}{}", input.name, input.digest))[..16]);
        let ds_dir = exp_dir.join("datasets").join(&ds_id);
        if !ds_dir.join(META).is_file() {
            let meta = DatasetMeta {
                digest: input.digest.clone(),
                name: input.name.clone(),
                profile: input.profile(),
                schema: None,
                source: input.source.clone(),
                source_type: input.source_type.clone(),
            };
            replace(&ds_dir.join(META), &yaml(&meta)?)?;
        }
        let in_id = hex::encode(&Sha256::digest(format!("{ds_id}{run_id}"))[..16]);
        let mut tags = BTreeMap::new();
        if let Some(c) = &input.context {
            tags.insert("mlflow.data.context".to_string(), c.clone());
        }
        let meta = InputMeta {
            destination_id: run_id.to_string(),
            destination_type: "RUN".into(),
            source_id: ds_id,
            source_type: "DATASET".into(),
            tags,
        };
        replace(&dir.join("inputs").join(in_id).join(META), &yaml(&meta)?)?;
    }
    Ok(())
}

pub(super) fn finish_run(
    store: &LocalTracker,
    run_id: &str,
    status: RunStatus,
    end_time: Option<i64>,
) -> Result<(), TrackingError> {
    let dir = store.run_dir(run_id)?;
    let mut meta = store.read_run_meta(&dir)?;
    meta.status = status.code();
    meta.end_time = Some(end_time.unwrap_or_else(now_ms));
    atomic_write(&dir.join(META), &yaml(&meta)?)
}

pub(super) fn get_run(store: &LocalTracker, run_id: &str) -> Result<Run, TrackingError> {
    let dir = store.run_dir(run_id)?;
    store.load_run(&dir)
}

pub(super) fn search_runs(
    store: &LocalTracker,
    search: &RunSearch,
) -> Result<Vec<Run>, TrackingError> {
    let filter = Filter::parse(&search.filter)?;
    let orders = search
        .order_by
        .iter()
        .map(|o| OrderBy::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    // Metrics are read only for runs whose params, tags and attributes already match,
    // unless the filter itself is on metrics.
    let eager = filter.reads_metrics();
    let mut runs = Vec::new();
    for exp in &search.experiment_ids {
        if exp.is_empty() || !exp.chars().all(|c| c.is_ascii_digit()) {
            return Err(TrackingError::Invalid(format!(
                "invalid experiment id {exp:?}"
            )));
        }
        for d in subdirs(&store.root.join(exp))? {
            let dir = store.root.join(exp).join(&d);
            // Folders without meta.yaml are runs still being created, or not runs at all.
            if check_run_id(&d).is_err() || !dir.join(META).is_file() {
                continue;
            }
            let mut run = store.load_run_head(&dir)?;
            if eager {
                store.load_run_data(&dir, &mut run)?;
            }
            if filter.matches(&run) {
                if !eager {
                    store.load_run_data(&dir, &mut run)?;
                }
                runs.push(run);
            }
        }
    }
    runs.sort_by(|a, b| {
        for o in &orders {
            let c = o.compare(a, b);
            if c.is_ne() {
                return c;
            }
        }
        // MLflow's default: newest first, then run id.
        b.info
            .start_time
            .cmp(&a.info.start_time)
            .then_with(|| a.info.run_id.cmp(&b.info.run_id))
    });
    runs.truncate(search.max_results);
    Ok(runs)
}

pub(super) fn metric_history(
    store: &LocalTracker,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>, TrackingError> {
    validate_key("metric", key)?;
    let p = store.run_dir(run_id)?.join("metrics").join(key);
    if !p.is_file() {
        return Ok(Vec::new());
    }
    store.read_history(&p, key)
}
