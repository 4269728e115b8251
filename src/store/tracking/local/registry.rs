//! Registry helpers of the file store: where models, versions and aliases live, and how a
//! version's record and artifact folder are read back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::format::*;
use super::{LocalTracker, META, MODELS, file_uri_to_path};
use crate::store::tracking::{ModelVersion, TrackingError, parse_runs_uri, safe_relative_path};

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

    /// Folder holding a version's artifacts (from its `runs:/` or `file:` source).
    pub(super) fn version_source_dir(&self, mv: &ModelVersion) -> Result<PathBuf, TrackingError> {
        if let Some((run_id, path)) = parse_runs_uri(&mv.source) {
            let rel = safe_relative_path(path)?;
            Ok(self.artifact_root(run_id)?.join(rel))
        } else if mv.source.starts_with("file:") {
            file_uri_to_path(&mv.source)
        } else {
            Err(TrackingError::Unsupported(format!(
                "model {} version {}: source {} is not local",
                mv.name, mv.version, mv.source
            )))
        }
    }
}
