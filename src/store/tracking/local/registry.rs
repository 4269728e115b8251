//! The model registry in the file store (`<root>/models/<name>/`): registered models, their
//! numbered versions and aliases, and where they live on disk. Apart from runs because the
//! registry has its own layout and its own rules: versions are numbered under the store lock,
//! and an alias is written only once its version's artifacts are verified.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::format::*;
use super::{LocalTracker, META, MODELS, file_uri_to_path};
use crate::store::tracking::fsutil::{atomic_write, atomic_write_in, copy_tree_no_symlinks};
use crate::store::tracking::{
    ModelVersion, TrackingError, now_ms, parse_logged_model_uri, parse_runs_uri,
    safe_relative_path, validate_key,
};

impl LocalTracker {
    pub(super) fn model_dir(&self, name: &str) -> Result<PathBuf, TrackingError> {
        check_model_name(name)?;
        Ok(self.root.join(MODELS).join(name))
    }

    pub(super) fn version_dir(&self, name: &str, version: u64) -> Result<PathBuf, TrackingError> {
        Ok(self.model_dir(name)?.join(format!("version-{version}")))
    }

    pub(super) fn read_version(
        &self,
        name: &str,
        version: u64,
        aliases: &BTreeMap<String, String>,
    ) -> Result<ModelVersion, TrackingError> {
        let dir = self.version_dir(name, version)?;
        let p = dir.join(META);
        if !p.is_file() {
            return Err(TrackingError::NotFound {
                what: "model version",
                name: format!("{name} version {version}"),
            });
        }
        let m: VersionMeta = read_yaml(&p)?;
        let v = m.version.to_string();
        Ok(ModelVersion {
            name: m.name,
            aliases: aliases
                .iter()
                .filter(|(_, ver)| ver.trim() == v)
                .map(|(a, _)| a.clone())
                .collect(),
            version: v,
            run_id: m.run_id,
            source: m.source,
            status: m.status,
            tags: read_kv_dir(&dir.join("tags"))?,
            creation_timestamp: Some(m.creation_timestamp),
            model_id: m.model_id,
        })
    }

    pub(super) fn aliases(&self, name: &str) -> Result<BTreeMap<String, String>, TrackingError> {
        Ok(read_kv_dir(&self.model_dir(name)?.join("aliases"))?
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_string()))
            .collect())
    }

    pub(super) fn version_numbers(&self, name: &str) -> Result<Vec<u64>, TrackingError> {
        let mut v: Vec<u64> = subdirs(&self.model_dir(name)?)?
            .iter()
            .filter_map(|d| d.strip_prefix("version-")?.parse().ok())
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Folder holding a version's artifacts (from its `models:/<model_id>`, `runs:/` or
    /// `file:` source).
    pub(super) fn version_source_dir(&self, mv: &ModelVersion) -> Result<PathBuf, TrackingError> {
        if let Some(model_id) = parse_logged_model_uri(&mv.source) {
            return self.logged_model_artifacts(model_id);
        }
        if let Some((run_id, path)) = parse_runs_uri(&mv.source) {
            let rel = safe_relative_path(path)?;
            Ok(self.artifact_root(run_id)?.join(rel))
        } else if mv.source.starts_with("file:") {
            let p = file_uri_to_path(&mv.source)?;
            // A store that moved (copied to another folder or machine) still holds its runs,
            // while this absolute source (like MLflow's) names the old place: a source inside
            // its run's artifacts is found in the run's folder of this store.
            if !p.exists()
                && let Some(run_id) = &mv.run_id
                && let Some((_, rel)) = mv.source.split_once(&format!("/{run_id}/artifacts/"))
            {
                return Ok(self
                    .run_dir(run_id)?
                    .join("artifacts")
                    .join(safe_relative_path(rel)?));
            }
            Ok(p)
        } else {
            Err(TrackingError::Unsupported(format!(
                "model {} version {}: source {} is not local",
                mv.name, mv.version, mv.source
            )))
        }
    }
}

// The Tracker operations on the registry (the trait documents each); mod.rs dispatches to them.

pub(super) fn create_registered_model(
    store: &LocalTracker,
    name: &str,
) -> Result<(), TrackingError> {
    let dir = store.model_dir(name)?;
    if dir.join(META).is_file() {
        return Ok(());
    }
    let _lock = store.lock()?;
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

pub(super) fn create_model_version(
    store: &LocalTracker,
    name: &str,
    source: &str,
    run_id: &str,
    model_id: Option<&str>,
    tags: &[(String, String)],
) -> Result<ModelVersion, TrackingError> {
    let mdir = store.model_dir(name)?;
    if !mdir.join(META).is_file() {
        return Err(TrackingError::NotFound {
            what: "registered model",
            name: name.to_string(),
        });
    }
    store.run_dir(run_id)?;
    // Where the artifacts are, resolved (MLflow's `storage_location`).
    let storage_location = match model_id {
        Some(m) => path_to_file_uri(&store.logged_model_artifacts(m)?),
        None => source.to_string(),
    };
    for (k, _) in tags {
        validate_key("model version tag", k)?;
    }
    let _lock = store.lock()?;
    let version = store.version_numbers(name)?.last().copied().unwrap_or(0) + 1;
    let vdir = store.version_dir(name, version)?;
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
        model_id: model_id.map(str::to_string),
        name: name.to_string(),
        run_id: Some(run_id.to_string()),
        run_link: None,
        source: source.to_string(),
        status: ready(),
        status_message: None,
        storage_location: Some(storage_location),
        user_id: None,
        version,
    };
    atomic_write(&vdir.join(META), &yaml(&meta)?)?;
    // The logged model lists the versions made from it, as MLflow's server records them.
    if let Some(m) = model_id {
        store.add_model_version_to_logged_model(m, name, version)?;
    }
    store.read_version(name, version, &BTreeMap::new())
}

pub(super) fn get_model_version(
    store: &LocalTracker,
    name: &str,
    version: &str,
) -> Result<ModelVersion, TrackingError> {
    let v = check_version(version)?;
    store.read_version(name, v, &store.aliases(name)?)
}

pub(super) fn set_alias(
    store: &LocalTracker,
    name: &str,
    alias: &str,
    version: &str,
) -> Result<(), TrackingError> {
    check_alias(alias)?;
    let mv = get_model_version(store, name, version)?;
    // Only point an alias at a version whose artifacts are all there and intact.
    let src = store.version_source_dir(&mv)?;
    if !src.exists() {
        return Err(TrackingError::NotFound {
            what: "model version artifacts",
            name: format!("{name} version {version} ({})", src.display()),
        });
    }
    if src.join(crate::store::bundle::MLMODEL).is_file() {
        crate::store::bundle::verify_bundle(&src)?;
    }
    let mdir = store.model_dir(name)?;
    atomic_write_in(
        &mdir.join("aliases").join(alias),
        mv.version.as_bytes(),
        &mdir,
    )
}

pub(super) fn get_alias(
    store: &LocalTracker,
    name: &str,
    alias: &str,
) -> Result<Option<ModelVersion>, TrackingError> {
    check_alias(alias)?;
    let p = store.model_dir(name)?.join("aliases").join(alias);
    let v = match fs::read_to_string(&p) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrackingError::io(&p, e)),
    };
    get_model_version(store, name, v.trim()).map(Some)
}

pub(super) fn delete_alias(
    store: &LocalTracker,
    name: &str,
    alias: &str,
) -> Result<(), TrackingError> {
    check_alias(alias)?;
    let p = store.model_dir(name)?.join("aliases").join(alias);
    match fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TrackingError::io(&p, e)),
    }
}

pub(super) fn list_versions(
    store: &LocalTracker,
    name: &str,
) -> Result<Vec<ModelVersion>, TrackingError> {
    let aliases = store.aliases(name)?;
    let mut out = Vec::new();
    for v in store.version_numbers(name)? {
        match store.read_version(name, v, &aliases) {
            Ok(mv) => out.push(mv),
            // A version being created by another process has no meta.yaml yet.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

pub(super) fn download_model_version(
    store: &LocalTracker,
    name: &str,
    version: &str,
    dest_dir: &Path,
) -> Result<PathBuf, TrackingError> {
    let mv = get_model_version(store, name, version)?;
    let src = store.version_source_dir(&mv)?;
    if !src.exists() {
        return Err(TrackingError::NotFound {
            what: "model version artifacts",
            name: format!("{name} version {version}"),
        });
    }
    // A logged model's artifacts sit in a folder called `artifacts`: name the copy `model`.
    let leaf = if parse_logged_model_uri(&mv.source).is_some() {
        "model".into()
    } else {
        src.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    };
    let dst = dest_dir.join(leaf);
    copy_tree_no_symlinks(&src, &dst)?;
    Ok(dst)
}

pub(super) fn set_model_version_tag(
    store: &LocalTracker,
    name: &str,
    version: &str,
    key: &str,
    value: &str,
) -> Result<(), TrackingError> {
    validate_key("model version tag", key)?;
    let v = check_version(version)?;
    // It must exist (this reads its meta.yaml) before a tag is written into its folder.
    store.read_version(name, v, &BTreeMap::new())?;
    let vdir = store.version_dir(name, v)?;
    atomic_write_in(&vdir.join("tags").join(key), value.as_bytes(), &vdir)
}
