//! The model bundle: the `model/` artifact folder that registration uploads and inference
//! downloads.
//!
//! Others write the model's files into the folder (parameters JSON, weights, `scaler.json`,
//! `feature_spec.json`, the history tail); [`finalize_bundle`] then hashes every file and writes
//! the `MLmodel` manifest (YAML, MLflow's file name) with our flavor `adsales`:
//!
//! ```yaml
//! artifact_path: model
//! flavors:
//!   adsales:
//!     family: sarimax
//!     spec: SARIMAX(1,0,1)(1,0,1,7)
//!     format_version: 1
//!     files:
//!     - path: params.json
//!       sha256: 9f86d0...
//! run_id: 0123abcd...
//! utc_time_created: '2026-11-26 14:00:00.000000'
//! ```
//!
//! [`verify_bundle`] refuses a bundle whose files differ from the manifest in any way: a sha256
//! mismatch, a listed file missing, or a file present but not listed.
//!
//! A failed verification is [`BundleError`], not an `InputError`: the bundle comes from the
//! registry, not from the user, so it exits 1.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Manifest file name, as MLflow names it.
pub const MLMODEL: &str = "MLmodel";
/// Our flavor's key under `flavors`.
pub const FLAVOR: &str = "adsales";
/// Bundle layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("model bundle {}: file {file} does not match its sha256 (expected {expected}, found {actual})", dir.display())]
    Mismatch {
        dir: PathBuf,
        file: String,
        expected: String,
        actual: String,
    },
    #[error("model bundle {}: file {file} listed in MLmodel is missing", dir.display())]
    Missing { dir: PathBuf, file: String },
    #[error("model bundle {}: file {file} is not listed in MLmodel", dir.display())]
    Unlisted { dir: PathBuf, file: String },
    #[error("model bundle {}: {file} is a symbolic link or special file", dir.display())]
    NotRegular { dir: PathBuf, file: String },
    #[error("model bundle {}: bad MLmodel: {reason}", dir.display())]
    BadManifest { dir: PathBuf, reason: String },
    #[error("model bundle {}: format version {found} is not supported (this build reads {FORMAT_VERSION})", dir.display())]
    UnsupportedVersion { dir: PathBuf, found: u32 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of the bundle and its sha256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    pub path: String,
    pub sha256: String,
}

/// The `adsales` flavor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdsalesFlavor {
    pub family: String,
    pub spec: String,
    pub format_version: u32,
    pub files: Vec<BundleFile>,
}

/// The `MLmodel` manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlModel {
    pub artifact_path: String,
    pub flavors: Flavors,
    #[serde(default)]
    pub run_id: Option<String>,
    /// UTC, `%Y-%m-%d %H:%M:%S%.6f` as MLflow writes it.
    pub utc_time_created: String,
    /// MLflow's model signature (`mlflow.models.ModelSignature.to_dict()`: each part a JSON
    /// string); absent in bundles from before the pyfunc flavor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Where the input example is (MLflow's `saved_input_example_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_input_example_info: Option<InputExampleInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavors {
    /// MLflow's generic flavor, so `mlflow.pyfunc.load_model` and `mlflow models serve` load
    /// the bundle (see `crate::store::pyfunc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_function: Option<PyFuncFlavor>,
    pub adsales: AdsalesFlavor,
}

/// The `python_function` flavor: a loader module shipped in the bundle's `code/` folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyFuncFlavor {
    pub loader_module: String,
    pub code: String,
    pub env: PyFuncEnv,
    pub python_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyFuncEnv {
    pub virtualenv: String,
}

/// `signature:` of an MLmodel: column and param schemas as JSON strings, as MLflow writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub inputs: String,
    pub outputs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputExampleInfo {
    pub artifact_path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub pandas_orient: String,
    pub serving_input_path: String,
}

/// What MLflow's own loaders need beside our flavor.
#[derive(Debug, Clone, PartialEq)]
pub struct MlflowParts {
    pub python_function: PyFuncFlavor,
    pub signature: Signature,
    pub saved_input_example_info: InputExampleInfo,
}

/// What the caller knows about the model when sealing the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleMeta {
    pub family: String,
    pub spec: String,
    pub run_id: Option<String>,
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, BundleError> {
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Files MLflow itself writes into a model folder it downloads (`mlflow.pyfunc.load_model` of a
/// `models:/` URI adds the registered name and version). No loader of ours reads them, so they
/// are neither hashed nor refused.
const MLFLOW_WRITTEN: [&str; 1] = ["registered_model_meta"];

/// Every file under `dir` except `MLmodel` (and [`MLFLOW_WRITTEN`]), `/`-separated and
/// sorted. Links and special files are refused.
fn bundle_files(dir: &Path) -> Result<Vec<String>, BundleError> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
        for e in fs::read_dir(d).map_err(io_err(d))? {
            let e = e.map_err(io_err(d))?;
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let ft = e.file_type().map_err(io_err(&p))?;
            if ft.is_dir() {
                walk(root, &p, out)?;
            } else if ft.is_file() {
                if rel != MLMODEL && !MLFLOW_WRITTEN.contains(&rel.as_str()) {
                    out.push(rel);
                }
            } else {
                return Err(BundleError::NotRegular {
                    dir: root.to_path_buf(),
                    file: rel,
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Hash every file in `dir` and write `MLmodel` (atomically). Call it after every file is in.
pub fn finalize_bundle(dir: &Path, meta: &BundleMeta) -> Result<MlModel, BundleError> {
    finalize_bundle_with(dir, meta, None)
}

/// [`finalize_bundle`], with MLflow's pyfunc flavor, signature and input example when given
/// (their files must be in `dir` already: they are hashed like every other).
pub fn finalize_bundle_with(
    dir: &Path,
    meta: &BundleMeta,
    mlflow: Option<&MlflowParts>,
) -> Result<MlModel, BundleError> {
    let files = bundle_files(dir)?
        .into_iter()
        .map(|path| {
            let sha256 = sha256_file(&dir.join(&path))?;
            Ok(BundleFile { path, sha256 })
        })
        .collect::<Result<Vec<_>, BundleError>>()?;
    let model = MlModel {
        artifact_path: "model".into(),
        flavors: Flavors {
            python_function: mlflow.map(|m| m.python_function.clone()),
            adsales: AdsalesFlavor {
                family: meta.family.clone(),
                spec: meta.spec.clone(),
                format_version: FORMAT_VERSION,
                files,
            },
        },
        run_id: meta.run_id.clone(),
        utc_time_created: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string(),
        signature: mlflow.map(|m| m.signature.clone()),
        saved_input_example_info: mlflow.map(|m| m.saved_input_example_info.clone()),
    };
    let text = serde_norway::to_string(&model).map_err(|e| BundleError::BadManifest {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let target = dir.join(MLMODEL);
    crate::util::fsutil::write_atomic(&target, text.as_bytes()).map_err(io_err(&target))?;
    Ok(model)
}

/// Read `MLmodel` without checking the files.
pub fn read_manifest(dir: &Path) -> Result<MlModel, BundleError> {
    let p = dir.join(MLMODEL);
    let text = fs::read_to_string(&p).map_err(io_err(&p))?;
    let model: MlModel = serde_norway::from_str(&text).map_err(|e| BundleError::BadManifest {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    if model.flavors.adsales.format_version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedVersion {
            dir: dir.to_path_buf(),
            found: model.flavors.adsales.format_version,
        });
    }
    Ok(model)
}

/// Check every file against `MLmodel`: refuses a sha256 mismatch, a missing listed file, an
/// extra unlisted file, and listed paths that could escape the folder.
pub fn verify_bundle(dir: &Path) -> Result<MlModel, BundleError> {
    let model = read_manifest(dir)?;
    let mut listed = BTreeSet::new();
    for f in &model.flavors.adsales.files {
        let safe = !f.path.is_empty()
            && !f.path.starts_with('/')
            && !f.path.contains('\\')
            && f.path
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if !safe || f.path == MLMODEL || !listed.insert(f.path.clone()) {
            return Err(BundleError::BadManifest {
                dir: dir.to_path_buf(),
                reason: format!("bad or duplicate file path {:?}", f.path),
            });
        }
    }
    let present = bundle_files(dir)?;
    if let Some(extra) = present.iter().find(|p| !listed.contains(*p)) {
        return Err(BundleError::Unlisted {
            dir: dir.to_path_buf(),
            file: extra.clone(),
        });
    }
    let present: BTreeSet<_> = present.into_iter().collect();
    for f in &model.flavors.adsales.files {
        if !present.contains(&f.path) {
            return Err(BundleError::Missing {
                dir: dir.to_path_buf(),
                file: f.path.clone(),
            });
        }
        let actual = sha256_file(&dir.join(&f.path))?;
        if !actual.eq_ignore_ascii_case(&f.sha256) {
            return Err(BundleError::Mismatch {
                dir: dir.to_path_buf(),
                file: f.path.clone(),
                expected: f.sha256.clone(),
                actual,
            });
        }
    }
    Ok(model)
}

/// The `mlflow.log-model.history` run tag for a bundle logged at `model/`: MLflow's
/// `Model.get_tags_dict()` (run id, artifact path, creation time, a model uuid, the flavors).
/// Our flavor goes without its file list, which can pass MLflow's 8,000-character tag limit.
pub fn log_model_history(m: &MlModel, run_id: &str) -> String {
    let mut flavors = serde_json::Map::new();
    if let Some(p) = &m.flavors.python_function {
        flavors.insert(
            "python_function".into(),
            serde_json::to_value(p).expect("serialises"),
        );
    }
    flavors.insert(
        FLAVOR.into(),
        serde_json::json!({
            "family": m.flavors.adsales.family,
            "spec": m.flavors.adsales.spec,
            "format_version": m.flavors.adsales.format_version,
        }),
    );
    serde_json::json!([{
        "run_id": run_id,
        "artifact_path": m.artifact_path,
        "utc_time_created": m.utc_time_created,
        // One model per run: the run id names it (MLflow's uuid4 hex has the same form).
        "model_uuid": run_id,
        "flavors": flavors,
    }])
    .to_string()
}
