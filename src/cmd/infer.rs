//! `adsales infer`: registry alias → bundle → forecast in dollars with intervals (protocol §7).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use tracing::{info, warn};

use crate::config::{Config, FuturePolicy};
use crate::models::{Family, FutureInputs};
use crate::store::modelio::{self, LoadedModel};
use crate::store::tracking::tags;
use crate::store::tracking::{Tracker, open_tracker};
use crate::util::error::InputError;

/// What to forecast and how to print it.
#[derive(Debug, Clone)]
pub struct InferOptions {
    pub days: usize,
    /// `models:/NAME@ALIAS` or `models:/NAME/VERSION`; default from the config.
    pub model_uri: Option<String>,
    pub data: Option<PathBuf>,
    pub plan: Option<PathBuf>,
    pub level: f64,
}

/// Which registered model to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Alias { name: String, alias: String },
    Version { name: String, version: String },
}

impl ModelRef {
    pub fn parse(uri: &str) -> Result<ModelRef, InputError> {
        let bad = || {
            InputError::new(format!(
                "--model-uri {uri:?}: expected models:/NAME@ALIAS or models:/NAME/VERSION"
            ))
        };
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
    pub fn name(&self) -> &str {
        match self {
            ModelRef::Alias { name, .. } | ModelRef::Version { name, .. } => name,
        }
    }
}

/// Where an exogenous column's future values came from.
#[derive(Debug, Clone, Serialize)]
pub struct ExogSource {
    pub name: String,
    pub policy: FuturePolicy,
    /// `plan` (from --plan), or `forecast` (MSTL(7)+AutoETS from the history).
    pub source: String,
}

/// One forecast day in real units.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastRow {
    pub date: NaiveDate,
    pub prediction: f64,
    pub lower: f64,
    pub upper: f64,
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

/// The result of `infer`.
#[derive(Debug, Clone, Serialize)]
pub struct InferResult {
    pub model: ModelInfo,
    pub target: String,
    pub level: f64,
    pub history_start: NaiveDate,
    pub history_end: NaiveDate,
    pub new_days_from_data: usize,
    pub exog: Vec<ExogSource>,
    pub forecast: Vec<ForecastRow>,
    /// Recent history (date, actual) for plots.
    #[serde(skip)]
    pub recent: Vec<(NaiveDate, f64)>,
}

/// A resolved model reference: the version, the alias it came through, and the version's
/// `family` tag (set at registration).
struct Resolved {
    version: String,
    alias: Option<String>,
    family: Option<String>,
}

/// Resolves the model reference to a version, listing what exists when it cannot.
fn resolve_version(tracker: &dyn Tracker, r: &ModelRef) -> Result<Resolved> {
    let uri = tracker.uri();
    let versions = tracker
        .list_versions(r.name())
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

/// Reads a plan CSV: a date column and one column per known-policy exog, covering `dates`.
pub fn read_plan(
    path: &Path,
    date_column: &str,
    columns: &[String],
    dates: &[NaiveDate],
    date_format: &str,
) -> Result<HashMap<String, Vec<f64>>, InputError> {
    let err = |m: String| InputError::new(format!("plan file {}: {m}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(err("is a directory, expected a CSV file".into()));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| err(format!("row 1 (header): {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let idx = |c: &str| header.iter().position(|h| h == c);
    let di = idx(date_column).ok_or_else(|| {
        err(format!(
            "missing column `{date_column}` (the header has: {})",
            header.join(", ")
        ))
    })?;
    let mut col_idx = Vec::new();
    for c in columns {
        col_idx.push(idx(c).ok_or_else(|| {
            err(format!(
                "missing column `{c}` (a known-policy driver the model needs; the header has: {})",
                header.join(", ")
            ))
        })?);
    }
    let mut by_date: HashMap<NaiveDate, Vec<f64>> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| err(format!("row {row}: {e}")))?;
        let ds = rec.get(di).unwrap_or("");
        let d = NaiveDate::parse_from_str(ds, date_format)
            .map_err(|_| err(format!("row {row}, column `{date_column}`: cannot parse date `{ds}` with format {date_format}")))?;
        let mut vals = Vec::new();
        for (c, &j) in columns.iter().zip(&col_idx) {
            let s = rec.get(j).unwrap_or("");
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|_| err(format!("row {row}, column `{c}`: `{s}` is not a number")))?;
            if !v.is_finite() || v < 0.0 {
                return Err(err(format!(
                    "row {row}, column `{c}`: `{s}` must be a finite, non-negative number"
                )));
            }
            vals.push(v);
        }
        if by_date.insert(d, vals).is_some() {
            return Err(err(format!("row {row}: date {d} appears more than once")));
        }
    }
    let missing: Vec<String> = dates
        .iter()
        .filter(|d| !by_date.contains_key(d))
        .map(|d| d.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "does not cover the forecast horizon: missing dates {}",
            missing.join(", ")
        )));
    }
    let mut out = HashMap::new();
    for (k, c) in columns.iter().enumerate() {
        out.insert(c.clone(), dates.iter().map(|d| by_date[d][k]).collect());
    }
    Ok(out)
}

/// Rebuilds the scaled frame from the bundle's history (plus newer rows) and forecasts.
pub fn forecast_from_bundle(
    m: &LoadedModel,
    opts: &InferOptions,
    model: ModelInfo,
) -> Result<InferResult> {
    let spec = &m.spec;
    let mut daily = m.history.clone();
    let mut new_days = 0;
    if let Some(path) = &opts.data {
        let newer = crate::data::load(path, &spec.data_config())?;
        let (merged, n) = crate::data::append_newer(&daily, &newer, spec.fill_missing, path)?;
        if n == 0 {
            warn!(file = %path.display(), "--data has no days after the model's history ({}); nothing added", daily.dates.last().expect("non-empty"));
        }
        daily = merged;
        new_days = n;
    }
    let features = crate::data::features::build(
        &daily,
        &spec.features,
        &spec.target,
        opts.data.as_deref().unwrap_or(Path::new("model history")),
    )?;
    if features.names != spec.columns || m.scaler.columns != spec.columns {
        anyhow::bail!(
            "the rebuilt feature columns differ from the model's or its scaler's; the bundle is \
             inconsistent"
        );
    }
    let frame = crate::data::preprocess::scale(&features, &m.scaler);
    let last = *frame.dates.last().expect("features are never empty");
    let dates: Vec<NaiveDate> = (1..=opts.days)
        .map(|h| last + Duration::days(h as i64))
        .collect();

    // Only the drivers the model reads need future values.
    let used: Vec<&crate::config::Exog> = spec
        .exog
        .iter()
        .filter(|e| spec.model_exog.contains(&e.name))
        .collect();
    let known: Vec<String> = used
        .iter()
        .filter(|e| e.policy == FuturePolicy::Known)
        .map(|e| e.name.clone())
        .collect();
    let plan = match &opts.plan {
        Some(p) if !known.is_empty() => Some(read_plan(
            p,
            &spec.date_column,
            &known,
            &dates,
            &spec.date_format,
        )?),
        Some(p) => {
            warn!(plan = %p.display(), "the model has no known-policy drivers; the plan is not used");
            None
        }
        None => None,
    };
    let mut exog_sources = Vec::new();
    let mut future = FutureInputs::default();
    for e in used {
        let j = m
            .scaler
            .index_of(&e.name)
            .ok_or_else(|| anyhow::anyhow!("scaler has no column {}", e.name))?;
        let (values, source) = match (&plan, e.policy) {
            (Some(plan), FuturePolicy::Known) => (m.scaler.transform(j, &plan[&e.name]), "plan"),
            _ => {
                let col = frame.col(&e.name).expect("exog column in frame");
                let values = crate::eval::exog::forecast_driver(
                    col,
                    opts.days,
                    &m.spec.exog_ets,
                    m.spec.exog_engine,
                )
                .with_context(|| format!("forecasting {} for the horizon", e.name))?;
                (values, "forecast")
            }
        };
        if e.policy == FuturePolicy::Known && source == "forecast" {
            info!(column = %e.name, "no --plan: planned values of {} are forecast (MSTL(7)+AutoETS)", e.name);
        }
        exog_sources.push(ExogSource {
            name: e.name.clone(),
            policy: e.policy,
            source: source.into(),
        });
        future.exog.push((e.name.clone(), values));
    }
    let f = m.fitted.forecast(&frame, &future, opts.days, opts.level)?;
    let t = m
        .scaler
        .index_of(&spec.target)
        .ok_or_else(|| anyhow::anyhow!("scaler has no target column"))?;
    let forecast = dates
        .iter()
        .enumerate()
        .map(|(h, d)| ForecastRow {
            date: *d,
            prediction: m.scaler.inverse_value(t, f.mean[h]),
            lower: m.scaler.inverse_value(t, f.lower[h]),
            upper: m.scaler.inverse_value(t, f.upper[h]),
        })
        .collect();
    let y = features.col(&spec.target).expect("target");
    let from = features.len().saturating_sub(60);
    Ok(InferResult {
        model,
        target: spec.target.clone(),
        level: opts.level,
        history_start: daily.dates[0],
        history_end: last,
        new_days_from_data: new_days,
        exog: exog_sources,
        forecast,
        recent: (from..features.len())
            .map(|i| (features.dates[i], y[i]))
            .collect(),
    })
}

/// The whole infer command.
pub fn run(cfg: &Config, opts: &InferOptions) -> Result<InferResult> {
    let r = match &opts.model_uri {
        Some(u) => ModelRef::parse(u)?,
        None => ModelRef::Alias {
            name: cfg.mlflow.model_name.clone(),
            alias: cfg.mlflow.alias.clone(),
        },
    };
    let tracker = open_tracker(&cfg.mlflow.tracking_uri)
        .with_context(|| format!("opening MLflow tracking at {}", cfg.mlflow.tracking_uri))?;
    let Resolved {
        version,
        alias,
        family,
    } = resolve_version(tracker.as_ref(), &r)?;
    // An LSTM needs the libtorch-linked twin: say so before downloading the bundle, which the
    // twin will download again (the bundle's own manifest stays the authority when the tag is
    // missing: loading it raises the same error).
    if let Some(f) = family.as_deref().and_then(Family::from_id) {
        crate::models::family::get(f)?;
    }
    let tmp = tempfile::tempdir().context("creating a temp folder")?;
    let dir = tracker
        .download_model_version(r.name(), &version, tmp.path())
        .with_context(|| {
            format!(
                "MLflow tracking at {}: downloading {} version {version}",
                tracker.uri(),
                r.name()
            )
        })?;
    let loaded = modelio::load_bundle(&dir)
        .with_context(|| format!("loading {} version {version}", r.name()))?;
    let mf = &loaded.manifest;
    info!(model = %r.name(), version = %version, family = %mf.flavors.adsales.family, "loaded model");
    let model = ModelInfo {
        name: r.name().to_string(),
        version,
        alias,
        family: mf.flavors.adsales.family.clone(),
        spec: mf.flavors.adsales.spec.clone(),
        run_id: mf.run_id.clone(),
    };
    forecast_from_bundle(&loaded, opts, model)
}

/// Output as an aligned table.
pub fn to_table(r: &InferResult) -> String {
    let mut s = format!(
        "model {} version {}{} — {} {}\n",
        r.model.name,
        r.model.version,
        r.model
            .alias
            .as_deref()
            .map(|a| format!(" (@{a})"))
            .unwrap_or_default(),
        r.model.family,
        r.model.spec
    );
    let exog: Vec<String> = r
        .exog
        .iter()
        .map(|e| format!("{} from {}", e.name, e.source))
        .collect();
    if !exog.is_empty() {
        s.push_str(&format!("drivers: {}\n", exog.join(", ")));
    }
    s.push_str(&format!(
        "history {} to {}{}\n\n",
        r.history_start,
        r.history_end,
        if r.new_days_from_data > 0 {
            format!(" ({} new days from --data)", r.new_days_from_data)
        } else {
            String::new()
        }
    ));
    let pct = format!("{:.0}%", r.level * 100.0);
    s.push_str(&format!(
        "{:<12} {:>18} {:>14} {:>14}\n",
        "date",
        format!("predicted_{}", r.target),
        format!("lower {pct}"),
        format!("upper {pct}")
    ));
    for row in &r.forecast {
        s.push_str(&format!(
            "{:<12} {:>18.2} {:>14.2} {:>14.2}\n",
            row.date, row.prediction, row.lower, row.upper
        ));
    }
    s
}

/// Output as CSV: date, predicted_<target>, lower, upper.
pub fn to_csv(r: &InferResult) -> String {
    let mut s = format!("date,predicted_{},lower,upper\n", r.target);
    for row in &r.forecast {
        s.push_str(&format!(
            "{},{},{},{}\n",
            row.date, row.prediction, row.lower, row.upper
        ));
    }
    s
}

/// Output as JSON (schema in README: model, target, level, history, drivers, forecast).
pub fn to_json(r: &InferResult) -> String {
    let rows: Vec<serde_json::Value> = r
        .forecast
        .iter()
        .map(|row| {
            serde_json::json!({
                "date": row.date.to_string(),
                format!("predicted_{}", r.target): row.prediction,
                "lower": row.lower,
                "upper": row.upper,
            })
        })
        .collect();
    let v = serde_json::json!({
        "schema": "adsales.forecast/1",
        "model": r.model,
        "target": r.target,
        "level": r.level,
        "history_start": r.history_start.to_string(),
        "history_end": r.history_end.to_string(),
        "new_days_from_data": r.new_days_from_data,
        "exog": r.exog,
        "forecast": rows,
    });
    serde_json::to_string_pretty(&v).expect("serialises") + "\n"
}
