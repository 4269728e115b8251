//! The file store's on-disk formats (the `meta.yaml` documents MLflow's `FileStore` reads),
//! `file://` URIs, and the name checks that keep every id and key inside the store.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::tracking::TrackingError;
use crate::util::error::InputError;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ExperimentMeta {
    pub(super) artifact_location: String,
    #[serde(default)]
    pub(super) creation_time: Option<i64>,
    pub(super) experiment_id: String,
    #[serde(default)]
    pub(super) last_update_time: Option<i64>,
    #[serde(default = "active")]
    pub(super) lifecycle_stage: String,
    pub(super) name: String,
}

pub(super) fn active() -> String {
    "active".into()
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RunMeta {
    pub(super) artifact_uri: String,
    #[serde(default)]
    pub(super) end_time: Option<i64>,
    #[serde(default)]
    pub(super) entry_point_name: String,
    pub(super) experiment_id: String,
    #[serde(default = "active")]
    pub(super) lifecycle_stage: String,
    pub(super) run_id: String,
    #[serde(default)]
    pub(super) run_name: String,
    #[serde(default)]
    pub(super) source_name: String,
    #[serde(default = "source_local")]
    pub(super) source_type: i64,
    #[serde(default)]
    pub(super) source_version: String,
    #[serde(default)]
    pub(super) start_time: Option<i64>,
    #[serde(default = "running")]
    pub(super) status: i64,
    /// Always empty: kept because old MLflow versions read it.
    #[serde(default)]
    pub(super) tags: Vec<serde_norway::Value>,
    #[serde(default)]
    pub(super) user_id: String,
    #[serde(default)]
    pub(super) deleted_time: Option<i64>,
}

pub(super) fn source_local() -> i64 {
    4
}
pub(super) fn running() -> i64 {
    1
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DatasetMeta {
    pub(super) digest: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) profile: Option<String>,
    #[serde(default)]
    pub(super) schema: Option<String>,
    pub(super) source: String,
    pub(super) source_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InputMeta {
    pub(super) destination_id: String,
    pub(super) destination_type: String,
    pub(super) source_id: String,
    pub(super) source_type: String,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RegisteredModelMeta {
    pub(super) creation_timestamp: i64,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) last_updated_timestamp: i64,
    pub(super) name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct VersionMeta {
    pub(super) creation_timestamp: i64,
    #[serde(default = "stage_none")]
    pub(super) current_stage: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) last_updated_timestamp: i64,
    /// The logged model the version was made from (MLflow 3).
    #[serde(default)]
    pub(super) model_id: Option<String>,
    pub(super) name: String,
    #[serde(default)]
    pub(super) run_id: Option<String>,
    #[serde(default)]
    pub(super) run_link: Option<String>,
    pub(super) source: String,
    #[serde(default = "ready")]
    pub(super) status: String,
    #[serde(default)]
    pub(super) status_message: Option<String>,
    #[serde(default)]
    pub(super) storage_location: Option<String>,
    #[serde(default)]
    pub(super) user_id: Option<String>,
    pub(super) version: u64,
}

pub(super) fn stage_none() -> String {
    "None".into()
}
pub(super) fn ready() -> String {
    "READY".into()
}

/// Path of a tracking URI that is a `file:` URI or a plain path.
pub(crate) fn file_uri_to_path(uri: &str) -> Result<PathBuf, TrackingError> {
    let rest = if let Some(r) = uri.strip_prefix("file://") {
        // file:///abs or file://localhost/abs
        let r = r.strip_prefix("localhost").unwrap_or(r);
        if !r.starts_with('/') {
            return Err(InputError::new(format!(
                "tracking URI {uri:?}: a file URI with a host is not supported; use file:///absolute/path"
            ))
            .into());
        }
        r
    } else if let Some(r) = uri.strip_prefix("file:") {
        r
    } else {
        return Ok(PathBuf::from(uri));
    };
    Ok(PathBuf::from(percent_decode(rest)))
}

pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Ok(h) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `file://` URI of an absolute path, percent-encoding what a URI path may not hold (as
/// Python's `pathlib.Path.as_uri` does).
pub fn path_to_file_uri(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::from("file://");
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// MLflow writes metric values with Python's `str(float)`: `nan`, `inf`, `-inf`.
pub(super) fn format_metric_value(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v == f64::INFINITY {
        "inf".into()
    } else if v == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{v:?}")
    }
}

pub(super) fn yaml<T: Serialize>(v: &T) -> Result<Vec<u8>, TrackingError> {
    serde_norway::to_string(v)
        .map(String::into_bytes)
        .map_err(|e| TrackingError::Invalid(format!("cannot serialise store metadata: {e}")))
}

pub(super) fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TrackingError> {
    let text = fs::read_to_string(path).map_err(|e| TrackingError::io(path, e))?;
    serde_norway::from_str(&text).map_err(|e| TrackingError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(super) fn read_string(path: &Path) -> Result<String, TrackingError> {
    fs::read_to_string(path).map_err(|e| TrackingError::io(path, e))
}

/// Run ids become folder names: only what MLflow allows, nothing that walks paths.
pub(super) fn check_run_id(run_id: &str) -> Result<(), TrackingError> {
    let ok = !run_id.is_empty()
        && run_id.len() <= 256
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(TrackingError::Invalid(format!("invalid run id {run_id:?}")))
    }
}

/// Registered model names become folder names.
pub(super) fn check_model_name(name: &str) -> Result<(), TrackingError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0', ':']);
    if ok {
        Ok(())
    } else {
        Err(TrackingError::Invalid(format!(
            "invalid registered model name {name:?}: no '/', '\\', ':' and no leading '.'"
        )))
    }
}

pub(super) fn check_alias(alias: &str) -> Result<(), TrackingError> {
    let ok = !alias.is_empty()
        && alias.len() <= 255
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    if !ok || reserved {
        return Err(TrackingError::Invalid(format!(
            "invalid alias {alias:?}: letters, digits, '_' and '-' only; 'latest' and 'v<N>' are reserved"
        )));
    }
    Ok(())
}

pub(super) fn check_version(version: &str) -> Result<u64, TrackingError> {
    version
        .parse::<u64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| TrackingError::Invalid(format!("invalid model version {version:?}")))
}

/// Key-per-file folder → map (keys with `/` are nested files, as MLflow stores them).
pub(super) fn read_kv_dir(dir: &Path) -> Result<BTreeMap<String, String>, TrackingError> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for rel in crate::store::tracking::fsutil::list_files_rel(dir)? {
        if rel.split('/').any(|s| s.starts_with('.')) {
            continue;
        }
        out.insert(rel.clone(), read_string(&dir.join(&rel))?);
    }
    Ok(out)
}

pub(super) fn subdirs(dir: &Path) -> Result<Vec<String>, TrackingError> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(TrackingError::io(dir, e)),
    };
    for e in rd {
        let e = e.map_err(|err| TrackingError::io(dir, err))?;
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_as_python_writes_them() {
        assert_eq!(format_metric_value(f64::NAN), "nan");
        assert_eq!(format_metric_value(f64::INFINITY), "inf");
        assert_eq!(format_metric_value(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_metric_value(1.0), "1.0");
        for s in ["nan", "inf", "-inf", "1e20"] {
            assert!(s.parse::<f64>().is_ok());
        }
    }

    #[test]
    fn file_uris() {
        let p = Path::new("/tmp/a b/mlruns");
        let u = path_to_file_uri(p);
        assert_eq!(u, "file:///tmp/a%20b/mlruns");
        assert_eq!(file_uri_to_path(&u).unwrap(), p);
        assert_eq!(file_uri_to_path("mlruns").unwrap(), Path::new("mlruns"));
        assert_eq!(file_uri_to_path("file:rel").unwrap(), Path::new("rel"));
        assert!(file_uri_to_path("file://host/x").is_err());
    }

    #[test]
    fn aliases_checked() {
        assert!(check_alias("Staging").is_ok());
        for a in ["latest", "v3", "../x", "", "a/b"] {
            assert!(check_alias(a).is_err(), "{a}");
        }
    }
}
