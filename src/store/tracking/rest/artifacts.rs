//! Run artifacts over the server's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`,
//! listed through the tracking API's `artifacts/list`): uploads, listings and downloads. Apart
//! from runs because this is where files cross the wire: a download streams into a temp file,
//! and every path the server sends back is checked before it becomes a local path.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::RestTracker;
use super::http::Body;
use super::wire::*;
use crate::store::tracking::fsutil::{list_files_rel, random_hex};
use crate::store::tracking::{ArtifactEntry, TrackingError, safe_relative_path};

impl RestTracker {
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
        let run = super::runs::get_run(self, run_id)?;
        let path = self.proxied_root(&format!("run {run_id}"), &run.info.artifact_uri)?;
        if let Ok(mut m) = self.artifact_roots.lock() {
            m.insert(run_id.to_string(), path.clone());
        }
        Ok(path)
    }

    /// Path on the artifact proxy of an `mlflow-artifacts:` location (`owner` names what it
    /// belongs to, for the error).
    pub(super) fn proxied_root(&self, owner: &str, uri: &str) -> Result<String, TrackingError> {
        let rest = uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
            TrackingError::Unsupported(format!(
                "{owner}: artifact location {uri} is not served by the tracking server \
                 (start the server with --serve-artifacts / --artifacts-destination)"
            ))
        })?;
        // `mlflow-artifacts:/p` or `mlflow-artifacts://host:port/p`.
        let path = match rest.strip_prefix("//") {
            Some(r) => r.split_once('/').map(|x| x.1).unwrap_or(""),
            None => rest.trim_start_matches('/'),
        };
        Ok(path.trim_end_matches('/').to_string())
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

    /// Uploads every file under `local_dir` to `<root>/<sub>/...` (symbolic links refused).
    pub(super) fn put_tree(
        &self,
        root: &str,
        sub: &str,
        local_dir: &Path,
    ) -> Result<(), TrackingError> {
        let meta = fs::symlink_metadata(local_dir).map_err(|e| TrackingError::io(local_dir, e))?;
        if !meta.is_dir() {
            return Err(TrackingError::UnsafePath {
                path: local_dir.display().to_string(),
                reason: "not a folder (symbolic links are refused)".into(),
            });
        }
        for rel in list_files_rel(local_dir)? {
            let dest = if sub.is_empty() {
                rel.clone()
            } else {
                format!("{sub}/{rel}")
            };
            safe_relative_path(&dest)?;
            self.put_artifact(root, &dest, &local_dir.join(&rel))?;
        }
        Ok(())
    }

    pub(super) fn get_artifact_file(
        &self,
        root: &str,
        rel: &str,
        dest: &Path,
    ) -> Result<(), TrackingError> {
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
        let tmp = dest.with_file_name(format!(".{name}.part-{}", random_hex(6)));
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
}

// The Tracker operations on artifacts (the trait documents each); mod.rs dispatches to them.

pub(super) fn log_artifact(
    store: &RestTracker,
    run_id: &str,
    local_file: &Path,
    artifact_path: Option<&str>,
) -> Result<(), TrackingError> {
    let meta = fs::symlink_metadata(local_file).map_err(|e| TrackingError::io(local_file, e))?;
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
    let root = store.artifact_root(run_id)?;
    store.put_artifact(&root, &rel, local_file)
}

pub(super) fn log_artifacts(
    store: &RestTracker,
    run_id: &str,
    local_dir: &Path,
    artifact_path: Option<&str>,
) -> Result<(), TrackingError> {
    let sub = safe_relative_path(artifact_path.unwrap_or(""))?;
    let root = store.artifact_root(run_id)?;
    store.put_tree(&root, &sub, local_dir)
}

pub(super) fn list_artifacts(
    store: &RestTracker,
    run_id: &str,
    path: &str,
) -> Result<Vec<ArtifactEntry>, TrackingError> {
    let rel = safe_relative_path(path)?;
    let api = "artifacts/list";
    let mut q = vec![("run_id", run_id)];
    if !rel.is_empty() {
        q.push(("path", rel.as_str()));
    }
    let v = store.call("GET", api, &q, None)?;
    listed_children(api, &v, &rel)
}

/// The `files` of a listing of folder `rel` (the tracking API's and the logged-model API's
/// share the shape). The server's paths become local paths: any that could escape, or that
/// are not children of what was listed, are refused.
fn listed_children(api: &str, v: &Value, rel: &str) -> Result<Vec<ArtifactEntry>, TrackingError> {
    let mut out = Vec::new();
    for f in v
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = as_string(f.get("path")).ok_or_else(|| bad(api, "file without path"))?;
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

pub(super) fn download_artifacts(
    store: &RestTracker,
    run_id: &str,
    path: &str,
    dest_dir: &Path,
) -> Result<PathBuf, TrackingError> {
    let rel = safe_relative_path(path)?;
    let root = store.artifact_root(run_id)?;
    let entries = list_artifacts(store, run_id, &rel)?;
    let dst = dest_dir.join(&rel);
    if entries.is_empty() {
        // A file (listing a file gives nothing) or an empty folder.
        if rel.is_empty() {
            fs::create_dir_all(&dst).map_err(|e| TrackingError::io(&dst, e))?;
        } else {
            store.get_artifact_file(&root, &rel, &dst)?;
        }
        return Ok(dst);
    }
    fs::create_dir_all(&dst).map_err(|e| TrackingError::io(&dst, e))?;
    let mut stack = entries;
    while let Some(e) = stack.pop() {
        if e.is_dir {
            stack.extend(list_artifacts(store, run_id, &e.path)?);
        } else {
            store.get_artifact_file(&root, &e.path, &dest_dir.join(&e.path))?;
        }
    }
    Ok(dst)
}

/// Every file of logged model `model_id` into `dst` (listed through
/// `logged-models/<id>/artifacts/directories`, fetched through the artifact proxy).
pub(super) fn download_logged_model(
    store: &RestTracker,
    model_id: &str,
    dst: &Path,
) -> Result<(), TrackingError> {
    let model = super::logged::get_logged_model(store, model_id)?;
    let root = store.proxied_root(&format!("logged model {model_id}"), &model.artifact_uri)?;
    let api = format!("logged-models/{model_id}/artifacts/directories");
    fs::create_dir_all(dst).map_err(|e| TrackingError::io(dst, e))?;
    let mut stack = vec![String::new()];
    // Bounded: a bundle has a few dozen files and folders.
    let mut budget = 10_000usize;
    while let Some(dir) = stack.pop() {
        let q: Vec<(&str, &str)> = if dir.is_empty() {
            vec![]
        } else {
            vec![("artifact_directory_path", dir.as_str())]
        };
        let v = store.call("GET", &api, &q, None)?;
        for e in listed_children(&api, &v, &dir)? {
            budget = budget
                .checked_sub(1)
                .ok_or_else(|| bad(&api, "too many artifacts"))?;
            if e.is_dir {
                stack.push(e.path);
            } else {
                store.get_artifact_file(&root, &e.path, &dst.join(&e.path))?;
            }
        }
    }
    Ok(())
}
