//! An MLflow-format file store (the layout MLflow's own `FileStore` writes, see
//! `shared/design/mlflow.md`), so `mlflow ui`, the Python client (`MLFLOW_ALLOW_FILE_STORE=true`)
//! and `mlflow migrate-filestore` read what we log.
//!
//! Concurrency: several threads and several processes may write one store.
//! - Every file except metric histories is written whole to a temp file and renamed into place.
//! - Metric histories are append-only logs (as MLflow keeps them); each batch goes out as one
//!   `write` on an `O_APPEND` descriptor, so concurrent appenders never overwrite each other
//!   (a temp + rename would lose a concurrent append).
//! - Experiment creation and model-version numbering happen under an exclusive `flock` on
//!   `<root>/.adsales.lock` (a file, which MLflow ignores; released by the OS if we die).
//! - A run or version folder is visible to readers only once its `meta.yaml` is in place, and
//!   `meta.yaml` is written last.
//! - An alias file is written only after the version's artifacts are checked complete (for a
//!   model bundle: every file's sha256 verified).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;
use sha2::{Digest, Sha256};

use super::filter::{Filter, OrderBy};
use super::fsutil::{
    StoreLock, atomic_write, atomic_write_in, copy_tree_no_symlinks, replace, replace_in,
};
use super::{
    ArtifactEntry, Batch, DatasetInput, Metric, ModelVersion, NewRun, Run, RunInfo, RunSearch,
    RunStatus, Tracker, TrackingError, now_ms, safe_relative_path, validate_key,
};
use crate::util::error::InputError;

mod format;
mod read;
mod registry;
use format::*;
pub use format::{file_uri_to_path, path_to_file_uri};

const META: &str = "meta.yaml";
const MODELS: &str = "models";
const TRASH: &str = ".trash";
const DEFAULT_EXPERIMENT_ID: &str = "0";

/// The local MLflow file store rooted at an absolute path.
#[derive(Debug, Clone)]
pub struct LocalTracker {
    root: PathBuf,
}

impl LocalTracker {
    /// Open (creating if needed) the store at `root`, with the default experiment `0`.
    pub fn open(root: &Path) -> Result<LocalTracker, TrackingError> {
        if root.exists() && !root.is_dir() {
            return Err(InputError::new(format!(
                "tracking store {} exists and is not a folder",
                root.display()
            ))
            .into());
        }
        fs::create_dir_all(root).map_err(|e| TrackingError::io(root, e))?;
        let root = fs::canonicalize(root).map_err(|e| TrackingError::io(root, e))?;
        let store = LocalTracker { root };
        fs::create_dir_all(store.root.join(TRASH))
            .map_err(|e| TrackingError::io(store.root.join(TRASH), e))?;
        if !store.root.join(DEFAULT_EXPERIMENT_ID).join(META).exists() {
            let _lock = store.lock()?;
            if !store.root.join(DEFAULT_EXPERIMENT_ID).join(META).exists() {
                store.write_experiment(DEFAULT_EXPERIMENT_ID, "Default")?;
            }
        }
        Ok(store)
    }

    /// The store's absolute root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> Result<StoreLock, TrackingError> {
        StoreLock::acquire(&self.root.join(".adsales.lock"))
    }

    fn write_experiment(&self, id: &str, name: &str) -> Result<(), TrackingError> {
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

    /// Folder of run `run_id`, searched across experiments.
    fn run_dir(&self, run_id: &str) -> Result<PathBuf, TrackingError> {
        check_run_id(run_id)?;
        for d in subdirs(&self.root)? {
            if d == MODELS || d.starts_with('.') {
                continue;
            }
            let p = self.root.join(&d).join(run_id);
            if p.join(META).is_file() {
                return Ok(p);
            }
        }
        Err(TrackingError::NotFound {
            what: "run",
            name: run_id.to_string(),
        })
    }

    fn artifact_root(&self, run_id: &str) -> Result<PathBuf, TrackingError> {
        let dir = self.run_dir(run_id)?;
        let meta = self.read_run_meta(&dir)?;
        if meta.artifact_uri.starts_with("file:") {
            file_uri_to_path(&meta.artifact_uri)
        } else if meta.artifact_uri.is_empty() {
            Ok(dir.join("artifacts"))
        } else {
            Err(TrackingError::Unsupported(format!(
                "run {run_id}: artifact location {} is not a local folder",
                meta.artifact_uri
            )))
        }
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

impl Tracker for LocalTracker {
    fn uri(&self) -> String {
        path_to_file_uri(&self.root)
    }

    fn get_experiment(&self, name: &str) -> Result<Option<String>, TrackingError> {
        Ok(self
            .experiments()?
            .into_iter()
            .find(|e| e.name == name && e.lifecycle_stage == "active")
            .map(|e| e.experiment_id))
    }

    fn get_or_create_experiment(&self, name: &str) -> Result<String, TrackingError> {
        if name.trim().is_empty() {
            return Err(TrackingError::Invalid("experiment name is empty".into()));
        }
        if let Some(id) = self.get_experiment(name)? {
            return Ok(id);
        }
        // Re-check under the lock: another process may have created it meanwhile.
        let _lock = self.lock()?;
        if let Some(id) = self.get_experiment(name)? {
            return Ok(id);
        }
        let mut rng = rand::rng();
        let id = loop {
            // 18-digit ids, like MLflow's file store.
            let id = rng.random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000u64);
            let id = id.to_string();
            if !self.root.join(&id).exists() {
                break id;
            }
        };
        self.write_experiment(&id, name)?;
        Ok(id)
    }

    fn create_run(&self, run: &NewRun) -> Result<RunInfo, TrackingError> {
        let exp_dir = self.root.join(&run.experiment_id);
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
            self.run_dir(p)?;
        }
        let tags = run.all_tags();
        for (k, _) in &tags {
            validate_key("tag", k)?;
        }
        let run_id = loop {
            let id = super::fsutil::random_hex(16);
            if !exp_dir.join(&id).exists() {
                break id;
            }
        };
        let dir = exp_dir.join(&run_id);
        for sub in ["metrics", "params", "tags", "artifacts"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| TrackingError::io(dir.join(sub), e))?;
        }
        for (k, v) in &tags {
            self.write_kv(&dir, "tags", k, v)?;
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
            user_id: super::user_name(),
            deleted_time: None,
        };
        // meta.yaml last: the run exists for readers only once it is complete.
        atomic_write(&dir.join(META), &yaml(&meta)?)?;
        Self::run_info(&meta)
    }

    fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), TrackingError> {
        let dir = self.run_dir(run_id)?;
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
                Err(_) => self.write_kv(&dir, "params", k, v)?,
            }
        }
        for (k, v) in &batch.tags {
            self.write_kv(&dir, "tags", k, v)?;
        }
        let mut lines: BTreeMap<&str, String> = BTreeMap::new();
        for m in &batch.metrics {
            lines.entry(&m.key).or_default().push_str(&format!(
                "{} {} {}\n",
                m.timestamp,
                format_metric_value(m.value),
                m.step
            ));
        }
        for (k, text) in lines {
            let p = dir.join("metrics").join(k);
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

    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        let dir = self.run_dir(run_id)?;
        let exp_dir = dir.parent().unwrap_or(&dir).to_path_buf();
        for input in inputs {
            input.validate()?;
        }
        for input in inputs {
            // MLflow names these folders md5(name + digest) and md5(dataset id + run id); any
            // stable unique name reads back the same, so we use sha256 truncated to 32 hex.
            let ds_id =
                hex::encode(&Sha256::digest(format!("{}{}", input.name, input.digest))[..16]);
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

    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        let root = self.artifact_root(run_id)?;
        let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
        let name = local_file
            .file_name()
            .ok_or_else(|| TrackingError::UnsafePath {
                path: local_file.display().to_string(),
                reason: "no file name".into(),
            })?;
        let meta =
            fs::symlink_metadata(local_file).map_err(|e| TrackingError::io(local_file, e))?;
        if !meta.is_file() {
            return Err(TrackingError::UnsafePath {
                path: local_file.display().to_string(),
                reason: "not a regular file (symbolic links are refused)".into(),
            });
        }
        copy_tree_no_symlinks(local_file, &root.join(sub).join(name))
    }

    fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<(), TrackingError> {
        let root = self.artifact_root(run_id)?;
        let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
        let meta = fs::symlink_metadata(local_dir).map_err(|e| TrackingError::io(local_dir, e))?;
        if !meta.is_dir() {
            return Err(TrackingError::UnsafePath {
                path: local_dir.display().to_string(),
                reason: "not a folder (symbolic links are refused)".into(),
            });
        }
        copy_tree_no_symlinks(local_dir, &root.join(sub))
    }

    fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), TrackingError> {
        let dir = self.run_dir(run_id)?;
        let mut meta = self.read_run_meta(&dir)?;
        meta.status = status.code();
        meta.end_time = Some(end_time.unwrap_or_else(now_ms));
        atomic_write(&dir.join(META), &yaml(&meta)?)
    }

    fn get_run(&self, run_id: &str) -> Result<Run, TrackingError> {
        let dir = self.run_dir(run_id)?;
        self.load_run(&dir)
    }

    fn search_runs(&self, search: &RunSearch) -> Result<Vec<Run>, TrackingError> {
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
            for d in subdirs(&self.root.join(exp))? {
                let dir = self.root.join(exp).join(&d);
                // Folders without meta.yaml are runs still being created, or not runs at all.
                if check_run_id(&d).is_err() || !dir.join(META).is_file() {
                    continue;
                }
                let mut run = self.load_run_head(&dir)?;
                if eager {
                    self.load_run_data(&dir, &mut run)?;
                }
                if filter.matches(&run) {
                    if !eager {
                        self.load_run_data(&dir, &mut run)?;
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

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        validate_key("metric", key)?;
        let p = self.run_dir(run_id)?.join("metrics").join(key);
        if !p.is_file() {
            return Ok(Vec::new());
        }
        self.read_history(&p, key)
    }

    fn list_artifacts(
        &self,
        run_id: &str,
        path: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let rel = safe_relative_path(path)?;
        let dir = self.artifact_root(run_id)?.join(&rel);
        let mut out = Vec::new();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(TrackingError::io(&dir, e)),
        };
        for e in rd {
            let e = e.map_err(|err| TrackingError::io(&dir, err))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let md = e
                .metadata()
                .map_err(|err| TrackingError::io(e.path(), err))?;
            out.push(ArtifactEntry {
                path: if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                },
                is_dir: md.is_dir(),
                size: md.is_file().then_some(md.len()),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        let rel = safe_relative_path(path)?;
        let src = self.artifact_root(run_id)?.join(&rel);
        if !src.exists() {
            return Err(TrackingError::NotFound {
                what: "artifact",
                name: format!("{run_id}/{rel}"),
            });
        }
        let dst = dest_dir.join(&rel);
        copy_tree_no_symlinks(&src, &dst)?;
        Ok(dst)
    }

    fn create_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        let dir = self.model_dir(name)?;
        if dir.join(META).is_file() {
            return Ok(());
        }
        let _lock = self.lock()?;
        if dir.join(META).is_file() {
            return Ok(());
        }
        let now = now_ms();
        let meta = RegisteredModelMeta {
            creation_timestamp: now,
            description: None,
            last_updated_timestamp: now,
            name: name.to_string(),
        };
        atomic_write(&dir.join(META), &yaml(&meta)?)
    }

    fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, TrackingError> {
        let mdir = self.model_dir(name)?;
        if !mdir.join(META).is_file() {
            return Err(TrackingError::NotFound {
                what: "registered model",
                name: name.to_string(),
            });
        }
        self.run_dir(run_id)?;
        for (k, _) in tags {
            validate_key("model version tag", k)?;
        }
        let _lock = self.lock()?;
        let version = self.version_numbers(name)?.last().copied().unwrap_or(0) + 1;
        let vdir = self.version_dir(name, version)?;
        fs::create_dir_all(&vdir).map_err(|e| TrackingError::io(&vdir, e))?;
        for (k, v) in tags {
            atomic_write_in(&vdir.join("tags").join(k), v.as_bytes(), &vdir)?;
        }
        let now = now_ms();
        let meta = VersionMeta {
            creation_timestamp: now,
            current_stage: stage_none(),
            description: None,
            last_updated_timestamp: now,
            name: name.to_string(),
            run_id: Some(run_id.to_string()),
            run_link: None,
            source: source.to_string(),
            status: ready(),
            status_message: None,
            storage_location: Some(source.to_string()),
            user_id: None,
            version,
        };
        atomic_write(&vdir.join(META), &yaml(&meta)?)?;
        self.read_version(name, version, &BTreeMap::new())
    }

    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError> {
        let v = check_version(version)?;
        self.read_version(name, v, &self.aliases(name)?)
    }

    fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), TrackingError> {
        check_alias(alias)?;
        let mv = self.get_model_version(name, version)?;
        // Only point an alias at a version whose artifacts are all there and intact.
        let src = self.version_source_dir(&mv)?;
        if !src.exists() {
            return Err(TrackingError::NotFound {
                what: "model version artifacts",
                name: format!("{name} version {version} ({})", src.display()),
            });
        }
        if src.join(crate::store::bundle::MLMODEL).is_file() {
            crate::store::bundle::verify_bundle(&src)?;
        }
        let mdir = self.model_dir(name)?;
        atomic_write_in(
            &mdir.join("aliases").join(alias),
            mv.version.as_bytes(),
            &mdir,
        )
    }

    fn get_alias(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>, TrackingError> {
        check_alias(alias)?;
        let p = self.model_dir(name)?.join("aliases").join(alias);
        let v = match fs::read_to_string(&p) {
            Ok(v) => v,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrackingError::io(&p, e)),
        };
        self.get_model_version(name, v.trim()).map(Some)
    }

    fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        check_alias(alias)?;
        let p = self.model_dir(name)?.join("aliases").join(alias);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(TrackingError::io(&p, e)),
        }
    }

    fn list_versions(&self, name: &str) -> Result<Vec<ModelVersion>, TrackingError> {
        let aliases = self.aliases(name)?;
        let mut out = Vec::new();
        for v in self.version_numbers(name)? {
            match self.read_version(name, v, &aliases) {
                Ok(mv) => out.push(mv),
                // A version being created by another process has no meta.yaml yet.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn download_model_version(
        &self,
        name: &str,
        version: &str,
        dest_dir: &Path,
    ) -> Result<PathBuf, TrackingError> {
        let mv = self.get_model_version(name, version)?;
        let src = self.version_source_dir(&mv)?;
        if !src.exists() {
            return Err(TrackingError::NotFound {
                what: "model version artifacts",
                name: format!("{name} version {version}"),
            });
        }
        let leaf = src
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        let dst = dest_dir.join(leaf);
        copy_tree_no_symlinks(&src, &dst)?;
        Ok(dst)
    }
}
