//! From a model reference to a loaded, verified model version (protocol §7).

use anyhow::{Context, Result};
use serde::Serialize;
use tracing::info;

use crate::models::Family;
use crate::store::modelio::{self, LoadedModel};
use crate::store::tracking::{Tracker, tags};
use crate::util::error::InputError;

/// Which registered model to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Alias {
        name: String,
        alias: String,
    },
    Version {
        name: String,
        version: String,
    },
    /// A model folder on disk (a bundle as `mlflow.pyfunc` hands it over), outside any
    /// registry: `file:///path/to/model` or a path holding an `MLmodel`.
    Local {
        path: std::path::PathBuf,
    },
}

impl ModelRef {
    /// Parses `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `file:///PATH` or the path of a
    /// model folder.
    pub fn parse(uri: &str) -> Result<ModelRef, InputError> {
        let bad = || {
            InputError::new(format!(
                "--model-uri {uri:?}: expected models:/NAME@ALIAS, models:/NAME/VERSION, or a \
                 model folder (a path or file:// URI of a folder holding an MLmodel)"
            ))
        };
        let local = uri
            .strip_prefix("file://")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let p = std::path::Path::new(uri);
                p.join(crate::store::bundle::MLMODEL)
                    .is_file()
                    .then(|| p.to_path_buf())
            });
        if let Some(path) = local {
            if !path.join(crate::store::bundle::MLMODEL).is_file() {
                return Err(InputError::new(format!(
                    "--model-uri {uri:?}: {} holds no MLmodel; it is not a model folder",
                    path.display()
                )));
            }
            return Ok(ModelRef::Local { path });
        }
        let rest = uri.strip_prefix("models:/").ok_or_else(bad)?;
        if let Some((name, alias)) = rest.rsplit_once('@') {
            if name.is_empty() || alias.is_empty() {
                return Err(bad());
            }
            return Ok(ModelRef::Alias {
                name: name.into(),
                alias: alias.into(),
            });
        }
        if let Some((name, version)) = rest.rsplit_once('/')
            && !name.is_empty()
            && version.parse::<u64>().is_ok()
        {
            return Ok(ModelRef::Version {
                name: name.into(),
                version: version.into(),
            });
        }
        Err(bad())
    }
    /// The registered model's name (a local folder's path).
    pub fn name(&self) -> String {
        match self {
            ModelRef::Alias { name, .. } | ModelRef::Version { name, .. } => name.clone(),
            ModelRef::Local { path } => path.display().to_string(),
        }
    }
}

/// The model that produced a forecast.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub alias: Option<String>,
    pub family: String,
    pub spec: String,
    pub run_id: Option<String>,
}

/// A resolved model reference: the version, the alias it came through, and the version's
/// `family` tag (set at registration).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub version: String,
    pub alias: Option<String>,
    pub family: Option<String>,
}

/// A registered version, loaded and verified.
pub struct ModelVersion {
    pub info: ModelInfo,
    pub model: LoadedModel,
}

/// Resolves the model reference to a version, listing what exists when it cannot.
pub fn resolve(tracker: &dyn Tracker, r: &ModelRef) -> Result<Resolved> {
    if let ModelRef::Local { path } = r {
        return Err(InputError::new(format!(
            "{} is a model folder, not a registered model",
            path.display()
        ))
        .into());
    }
    let uri = tracker.uri();
    let versions = tracker
        .list_versions(&r.name())
        .with_context(|| format!("MLflow tracking at {uri}: listing versions of {}", r.name()))?;
    let what_exists = || -> String {
        if versions.is_empty() {
            format!(
                "model {} has no versions in {uri}; run `adsales train` first",
                r.name()
            )
        } else {
            let list: Vec<String> = versions
                .iter()
                .map(|v| {
                    if v.aliases.is_empty() {
                        format!("version {}", v.version)
                    } else {
                        format!("version {} (@{})", v.version, v.aliases.join(", @"))
                    }
                })
                .collect();
            format!("available: {}", list.join("; "))
        }
    };
    match r {
        ModelRef::Alias { name, alias } => {
            let v = tracker.get_alias(name, alias).with_context(|| {
                format!("MLflow tracking at {uri}: reading alias {alias} of {name}")
            })?;
            match v {
                Some(v) => Ok(Resolved {
                    family: v.tags.get(tags::FAMILY).cloned(),
                    version: v.version,
                    alias: Some(alias.clone()),
                }),
                None => Err(InputError::new(format!(
                    "no model version has alias @{alias} on registered model {name}; {}",
                    what_exists()
                ))
                .into()),
            }
        }
        ModelRef::Local { .. } => unreachable!("refused above"),
        ModelRef::Version { name, version } => {
            if let Some(v) = versions.iter().find(|v| &v.version == version) {
                Ok(Resolved {
                    version: version.clone(),
                    alias: None,
                    family: v.tags.get(tags::FAMILY).cloned(),
                })
            } else {
                Err(InputError::new(format!(
                    "registered model {name} has no version {version}; {}",
                    what_exists()
                ))
                .into())
            }
        }
    }
}

/// Resolves `r`, downloads the version's bundle, verifies every file and loads its model.
/// A family this process cannot run (the LSTM outside `adsales-torch`) fails before the
/// download, with the error that hands the command over.
pub fn load(tracker: &dyn Tracker, r: &ModelRef) -> Result<ModelVersion> {
    if let ModelRef::Local { path } = r {
        return load_local(path);
    }
    let Resolved {
        version,
        alias,
        family,
    } = resolve(tracker, r)?;
    // The bundle's own manifest stays the authority when the tag is missing: loading it
    // raises the same error.
    if let Some(f) = family.as_deref().and_then(Family::from_id) {
        crate::models::family::get(f)?;
    }
    let tmp = tempfile::tempdir().context("creating a temp folder")?;
    let dir = tracker
        .download_model_version(&r.name(), &version, tmp.path())
        .with_context(|| {
            format!(
                "MLflow tracking at {}: downloading {} version {version}",
                tracker.uri(),
                r.name()
            )
        })?;
    let model = modelio::load_bundle(&dir)
        .with_context(|| format!("loading {} version {version}", r.name()))?;
    Ok(version_of(model, r.name(), version, alias))
}

/// A model folder outside the registry, verified and loaded like a downloaded version.
fn load_local(path: &std::path::Path) -> Result<ModelVersion> {
    let model = modelio::load_bundle(path)
        .with_context(|| format!("loading the model folder {}", path.display()))?;
    Ok(version_of(
        model,
        path.display().to_string(),
        "local".into(),
        None,
    ))
}

/// A loaded bundle with what names it; the family and spec come from its manifest.
fn version_of(
    model: LoadedModel,
    name: String,
    version: String,
    alias: Option<String>,
) -> ModelVersion {
    let mf = &model.manifest;
    info!(model = %name, version = %version, family = %mf.flavors.adsales.family, "loaded model");
    let info = ModelInfo {
        name,
        version,
        alias,
        family: mf.flavors.adsales.family.clone(),
        spec: mf.flavors.adsales.spec.clone(),
        run_id: mf.run_id.clone(),
    };
    ModelVersion { info, model }
}
