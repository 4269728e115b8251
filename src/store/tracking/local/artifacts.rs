//! Run artifacts in the file store: the `artifacts/` folder of each run, where files are
//! copied in and out (refusing symbolic links) and listed. Apart from runs because artifacts
//! are whole files and folders moved by copy, not records the store writes itself.

use std::fs;
use std::path::{Path, PathBuf};

use super::LocalTracker;
use super::format::*;
use crate::store::tracking::fsutil::copy_tree_no_symlinks;
use crate::store::tracking::{ArtifactEntry, TrackingError, safe_relative_path};

impl LocalTracker {
    pub(super) fn artifact_root(&self, run_id: &str) -> Result<PathBuf, TrackingError> {
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
}

// The Tracker operations on artifacts (the trait documents each); mod.rs dispatches to them.

pub(super) fn log_artifact(
    store: &LocalTracker,
    run_id: &str,
    local_file: &Path,
    artifact_path: Option<&str>,
) -> Result<(), TrackingError> {
    let root = store.artifact_root(run_id)?;
    let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
    let name = local_file
        .file_name()
        .ok_or_else(|| TrackingError::UnsafePath {
            path: local_file.display().to_string(),
            reason: "no file name".into(),
        })?;
    let meta = fs::symlink_metadata(local_file).map_err(|e| TrackingError::io(local_file, e))?;
    if !meta.is_file() {
        return Err(TrackingError::UnsafePath {
            path: local_file.display().to_string(),
            reason: "not a regular file (symbolic links are refused)".into(),
        });
    }
    copy_tree_no_symlinks(local_file, &root.join(sub).join(name))
}

pub(super) fn log_artifacts(
    store: &LocalTracker,
    run_id: &str,
    local_dir: &Path,
    artifact_path: Option<&str>,
) -> Result<(), TrackingError> {
    let root = store.artifact_root(run_id)?;
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

pub(super) fn list_artifacts(
    store: &LocalTracker,
    run_id: &str,
    path: &str,
) -> Result<Vec<ArtifactEntry>, TrackingError> {
    let rel = safe_relative_path(path)?;
    let dir = store.artifact_root(run_id)?.join(&rel);
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

pub(super) fn download_artifacts(
    store: &LocalTracker,
    run_id: &str,
    path: &str,
    dest_dir: &Path,
) -> Result<PathBuf, TrackingError> {
    let rel = safe_relative_path(path)?;
    let src = store.artifact_root(run_id)?.join(&rel);
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
