//! Inference as a library call (protocol §7): resolve a model reference and load its bundle
//! ([`registry`]), then [`forecast`] from in-memory inputs — newer daily rows and a [`Plan`].
//! `adsales infer` only reads files into these; a server can fill them from requests.

pub mod plan;
pub mod registry;
pub mod score;

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use tracing::{info, warn};

use crate::data::{Daily, FuturePolicy};
use crate::models::FutureInputs;
use crate::store::modelio::LoadedModel;

pub use self::plan::Plan;
pub use self::registry::{ModelInfo, ModelRef, ModelVersion};

/// Where an exogenous column's future values came from.
#[derive(Debug, Clone, Serialize)]
pub struct ExogSource {
    pub name: String,
    pub policy: FuturePolicy,
    /// `plan` (from the plan), `calendar` (event columns), or `forecast` (MSTL(7)+AutoETS
    /// from the history).
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

/// A forecast and everything a reader needs to trust it.
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

/// Daily rows newer than the model's history (read with the model's data settings,
/// [`LoadedModel::spec`]`.data_config()`), and where they came from.
#[derive(Debug, Clone, Copy)]
pub struct NewerRows<'a> {
    pub daily: &'a Daily,
    pub source: &'a Path,
}

/// What to forecast.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub newer: Option<NewerRows<'a>>,
    /// Planned values of the known-policy drivers; without one they are forecast.
    pub plan: Option<&'a Plan>,
    pub days: usize,
    pub level: f64,
}

/// The known-policy drivers the model reads: the columns a plan must give.
pub fn known_drivers(m: &LoadedModel) -> Vec<String> {
    m.spec.known_drivers()
}

/// Rebuilds the scaled frame from the bundle's history (plus newer rows) and forecasts
/// `req.days` days after its last day, in real units.
pub fn forecast(v: &ModelVersion, req: &Request) -> Result<InferResult> {
    prepare(v, req.newer)?.forecast(v, req.plan, req.days, req.level)
}

/// The model's input frame rebuilt from its history (plus newer rows): everything a forecast
/// needs that does not depend on the horizon, the plan or the level. A server prepares once
/// per loaded model and forecasts from it for every request.
pub struct Prepared {
    history_start: NaiveDate,
    new_days: usize,
    frame: crate::data::Frame,
    /// The real-unit target of every day of the frame.
    y: Vec<f64>,
    /// Forecasts of the drivers that have no plan, by (column, days): deterministic given the
    /// frame, and the costliest part of a forecast without a plan.
    driver_forecasts: std::sync::Mutex<std::collections::HashMap<(String, usize), Vec<f64>>>,
}

/// Rebuilds the model's scaled frame from its history and `newer` rows (protocol §7).
pub fn prepare(v: &ModelVersion, newer: Option<NewerRows>) -> Result<Prepared> {
    let m = &v.model;
    let spec = &m.spec;
    let mut daily = m.history.clone();
    let mut new_days = 0;
    if let Some(newer) = newer {
        let (merged, n) =
            crate::data::append_newer(&daily, newer.daily, spec.fill_missing, newer.source)?;
        if n == 0 {
            warn!(file = %newer.source.display(), "--data has no days after the model's history ({}); nothing added", daily.dates.last().expect("non-empty"));
        }
        daily = merged;
        new_days = n;
    }
    let features = model_features(
        m,
        &daily,
        newer
            .map(|n| n.source)
            .unwrap_or(Path::new("model history")),
    )?;
    let frame = crate::data::preprocess::scale(&features, &m.scaler);
    let y = features.col(&spec.target).expect("target").to_vec();
    Ok(Prepared {
        history_start: daily.dates[0],
        new_days,
        frame,
        y,
        driver_forecasts: Default::default(),
    })
}

/// The model's feature columns rebuilt from `daily` (read from `source`), checked against the
/// columns it was fitted on and its scaler's.
pub(crate) fn model_features(
    m: &LoadedModel,
    daily: &Daily,
    source: &Path,
) -> Result<crate::data::features::Features> {
    let spec = &m.spec;
    let features = crate::data::features::build(daily, &spec.features, &spec.target, source)?;
    if features.names != spec.columns || m.scaler.columns != spec.columns {
        anyhow::bail!(
            "the rebuilt feature columns differ from the model's or its scaler's; the bundle is \
             inconsistent"
        );
    }
    Ok(features)
}

impl Prepared {
    /// The last day of the history forecasts start after.
    pub fn last_day(&self) -> NaiveDate {
        *self.frame.dates.last().expect("features are never empty")
    }

    /// Forecasts `days` days after the last day of the frame, in real units.
    pub fn forecast(
        &self,
        v: &ModelVersion,
        plan: Option<&Plan>,
        days: usize,
        level: f64,
    ) -> Result<InferResult> {
        let m = &v.model;
        let last = self.last_day();
        let dates: Vec<NaiveDate> = (1..=days)
            .map(|h| last + Duration::days(h as i64))
            .collect();
        let (future, exog_sources) = self.driver_inputs(m, plan, &dates)?;
        let f = m.fitted.forecast(&self.frame, &future, days, level)?;
        let forecast = forecast_rows(m, &f, &dates, &self.y, level)?;
        let from = self.y.len().saturating_sub(60);
        Ok(InferResult {
            model: v.info.clone(),
            target: m.spec.target.clone(),
            level,
            history_start: self.history_start,
            history_end: last,
            new_days_from_data: self.new_days,
            exog: exog_sources,
            forecast,
            recent: (from..self.y.len())
                .map(|i| (self.frame.dates[i], self.y[i]))
                .collect(),
        })
    }

    /// The future values of every driver the model reads over `dates` (scaled): planned ones
    /// from `plan` when given, the others forecast from `frame` as at evaluation (protocol §5).
    fn driver_inputs(
        &self,
        m: &LoadedModel,
        plan: Option<&Plan>,
        dates: &[NaiveDate],
    ) -> Result<(FutureInputs, Vec<ExogSource>)> {
        let spec = &m.spec;
        let days = dates.len();
        let known = known_drivers(m);
        let plan = match plan {
            Some(p) if !known.is_empty() => Some(p.values_for(dates)?),
            Some(p) => {
                warn!(plan = %p.source, "the model has no known-policy drivers; the plan is not used");
                None
            }
            None => None,
        };
        let mut exog_sources = Vec::new();
        let mut future = FutureInputs::default();
        // Every event column over the forecast days at once (the calendar drivers read them).
        let events = spec.features.events.columns(dates);
        // Only the drivers the model reads need future values.
        for e in spec
            .exog
            .iter()
            .filter(|e| spec.model_exog.contains(&e.name))
        {
            let j = m
                .scaler
                .index_of(&e.name)
                .ok_or_else(|| anyhow::anyhow!("scaler has no column {}", e.name))?;
            let planned = plan.as_ref().filter(|_| e.policy == FuturePolicy::Known);
            let (values, source) = match planned {
                Some(plan) => (m.scaler.transform(j, &plan[&e.name]), "plan"),
                None if e.policy == FuturePolicy::Calendar => {
                    let (_, col) = events.iter().find(|(n, _)| n == &e.name).ok_or_else(|| {
                        anyhow::anyhow!("the bundle's event calendar has no {}", e.name)
                    })?;
                    (m.scaler.transform(j, col), "calendar")
                }
                None => (self.driver_forecast(m, &e.name, days)?, "forecast"),
            };
            exog_sources.push(ExogSource {
                name: e.name.clone(),
                policy: e.policy,
                source: source.into(),
            });
            future.exog.push((e.name.clone(), values));
        }
        Ok((future, exog_sources))
    }

    /// The MSTL(7)+AutoETS forecast of driver `name` over `days` days (memoised).
    fn driver_forecast(&self, m: &LoadedModel, name: &str, days: usize) -> Result<Vec<f64>> {
        let key = (name.to_string(), days);
        let memo = || {
            self.driver_forecasts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if let Some(v) = memo().get(&key) {
            return Ok(v.clone());
        }
        if m.spec
            .exog
            .iter()
            .any(|e| e.name == name && e.policy == FuturePolicy::Known)
        {
            info!(column = %name, "no plan: planned values of {name} are forecast (MSTL(7)+AutoETS)");
        }
        let col = self.frame.col(name).expect("exog column in frame");
        let values =
            crate::eval::exog::forecast_driver(col, days, &m.spec.exog_ets, m.spec.exog_engine)
                .with_context(|| format!("forecasting {name} for the horizon"))?;
        memo().insert(key, values.clone());
        Ok(values)
    }
}

/// The forecast in real units with its intervals as the backtest judged them: calibrated
/// (§4.4) when the bundle carries a calibration, at the local scale of the last known day
/// (the last value of `y`, the real-unit target); the model's own otherwise.
fn forecast_rows(
    m: &LoadedModel,
    f: &crate::models::Forecast,
    dates: &[NaiveDate],
    y: &[f64],
    level: f64,
) -> Result<Vec<ForecastRow>> {
    let t = m
        .scaler
        .index_of(&m.spec.target)
        .ok_or_else(|| anyhow::anyhow!("scaler has no target column"))?;
    let scale = m.calibration.as_ref().map(|c| c.scale_at(y, y.len() - 1));
    Ok(dates
        .iter()
        .enumerate()
        .map(|(h, d)| {
            let prediction = m.scaler.inverse_value(t, f.mean[h]);
            let (lower, upper) = match (&m.calibration, scale) {
                (Some(c), Some(scale)) => c.interval(prediction, h, level, scale),
                _ => (
                    m.scaler.inverse_value(t, f.lower[h]),
                    m.scaler.inverse_value(t, f.upper[h]),
                ),
            };
            ForecastRow {
                date: *d,
                prediction,
                lower,
                upper,
            }
        })
        .collect())
}
