//! Forecasts with standard errors and intervals, from the end of a series or from many
//! origins in one Kalman pass (the rolling-origin backtest's hot path).

use serde::{Deserialize, Serialize};

use super::diffuse;
use super::estimate::{check_inputs, check_params};
use super::kalman::Filter;
use super::spec::{Layout, SarimaxSpec};
use super::statespace::Ssm;
use crate::models::ModelError;

/// h-step forecasts: mean, standard error and a central interval at `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarimaxForecast {
    pub mean: Vec<f64>,
    pub se: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub level: f64,
}

fn check_level(level: f64) -> Result<f64, ModelError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(ModelError::BadInput(format!(
            "interval level must be strictly between 0 and 1, got {level}"
        )));
    }
    Ok(crate::util::stats::z_for_level(level))
}

/// Forecast `horizon` steps from the filter's current position (time index `t0` is the
/// first forecast step, 0-based from the start of the series the trend counts from).
fn forecast_from(
    filt: &mut Filter<'_>,
    t0: usize,
    future: &[&[f64]],
    horizon: usize,
    z: f64,
    level: f64,
) -> SarimaxForecast {
    let ssm = filt.ssm;
    // Without observations the covariance grows again: the steady-state shortcut is off.
    filt.steady = false;
    filt.steady_after = usize::MAX;
    let mut out = SarimaxForecast {
        mean: Vec::with_capacity(horizon),
        se: Vec::with_capacity(horizon),
        lower: Vec::with_capacity(horizon),
        upper: Vec::with_capacity(horizon),
        level,
    };
    for h in 0..horizon {
        let (m, var) = filt.moments();
        let mean = m + ssm.obs_intercept(future, h);
        let se = var.max(0.0).sqrt();
        out.mean.push(mean);
        out.se.push(se);
        out.lower.push(mean - z * se);
        out.upper.push(mean + z * se);
        if h + 1 < horizon {
            let c = if ssm.has_trend() {
                ssm.intercept(t0 + h)
            } else {
                0.0
            };
            filt.predict(c);
        }
    }
    out
}

fn check_future(spec: &SarimaxSpec, future: &[&[f64]], horizon: usize) -> Result<(), ModelError> {
    if future.len() != spec.exog.len() {
        return Err(ModelError::BadInput(format!(
            "{spec}: forecasting needs future values of {} exog column(s) {:?}, got {}",
            spec.exog.len(),
            spec.exog,
            future.len()
        )));
    }
    for (name, col) in spec.exog.iter().zip(future) {
        if col.len() < horizon {
            return Err(ModelError::BadInput(format!(
                "{spec}: future exog {name:?} has {} values for a horizon of {horizon}",
                col.len()
            )));
        }
        if col[..horizon].iter().any(|v| !v.is_finite()) {
            return Err(ModelError::BadInput(format!(
                "{spec}: future exog {name:?} has a non-finite value"
            )));
        }
    }
    Ok(())
}

/// Filter `y` (NaN = missing) with fixed `params`, then forecast `horizon` steps using
/// `future_exog[j][h]` for the exog columns. The trend's time index continues from `y`.
pub fn forecast(
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
    future_exog: &[&[f64]],
    horizon: usize,
    level: f64,
) -> Result<SarimaxForecast, ModelError> {
    forecast_cached(
        &EndCache::default(),
        spec,
        params,
        y,
        exog,
        future_exog,
        horizon,
        level,
    )
}

/// [`forecast`], reusing the end state in `cache` when it was filtered from the same `y` and
/// `exog` (bit for bit), and keeping the new one otherwise. Forecasts from one fixed history
/// (a served model's) then cost the horizon's steps, not a pass over the whole history.
#[allow(clippy::too_many_arguments)]
pub fn forecast_cached(
    cache: &EndCache,
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
    future_exog: &[&[f64]],
    horizon: usize,
    level: f64,
) -> Result<SarimaxForecast, ModelError> {
    check_future(spec, future_exog, horizon)?;
    let z = check_level(level)?;
    let held = cache.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let end = match held {
        Some(end) if end.filtered(params, y, exog) => end,
        _ => {
            let end = std::sync::Arc::new(filter_to_end(spec, params, y, exog)?);
            *cache.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(end.clone());
            end
        }
    };
    Ok(end.forecast(future_exog, horizon, z, level))
}

/// The last [`EndState`] a fitted model forecast from. Not part of the model: a clone starts
/// empty, and every cache compares equal.
#[derive(Debug, Default)]
pub struct EndCache(std::sync::Mutex<Option<std::sync::Arc<EndState>>>);

impl Clone for EndCache {
    fn clone(&self) -> Self {
        EndCache::default()
    }
}

impl PartialEq for EndCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A model filtered to the end of a series: the series it saw (as bits, so a missing value
/// matches itself), the state-space model and the filter's position.
#[derive(Debug)]
pub struct EndState {
    params: Vec<u64>,
    y: Vec<u64>,
    exog: Vec<Vec<u64>>,
    ssm: Ssm,
    state: super::kalman::FilterState,
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn same(bits: &[u64], x: &[f64]) -> bool {
    bits.len() == x.len() && bits.iter().zip(x).all(|(b, v)| *b == v.to_bits())
}

impl EndState {
    fn filtered(&self, params: &[f64], y: &[f64], exog: &[&[f64]]) -> bool {
        same(&self.params, params)
            && same(&self.y, y)
            && self.exog.len() == exog.len()
            && self.exog.iter().zip(exog).all(|(b, x)| same(b, x))
    }

    fn forecast(&self, future: &[&[f64]], horizon: usize, z: f64, level: f64) -> SarimaxForecast {
        let mut filt = Filter::resume(&self.ssm, self.state.clone());
        forecast_from(&mut filt, self.y.len(), future, horizon, z, level)
    }
}

/// Filters all of `y` with fixed `params`: the state every forecast from its end starts at.
fn filter_to_end(
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
) -> Result<EndState, ModelError> {
    check_inputs(spec, y, exog, true)?;
    let l = Layout::new(spec);
    check_params(spec, &l, params)?;
    let ssm = Ssm::new(spec, &l, params);
    let broke = || spec.numerical("the Kalman filter broke down while filtering".into());
    let state = if spec.exact_diffuse {
        let (f, ended) = diffuse::run(&ssm, y, exog, |_, _| {}).ok_or_else(broke)?;
        if !ended {
            return Err(spec.unsupported(
                "series too short to leave the diffuse initial period; cannot forecast".into(),
            ));
        }
        f.state()
    } else {
        let mut f = Filter::new(&ssm).ok_or_else(broke)?;
        f.steady_after = ssm.k_diff + 1;
        for (t, &yt) in y.iter().enumerate() {
            let d = ssm.obs_intercept(exog, t);
            f.update(yt, d).map_err(|_| broke())?;
            let c = if ssm.has_trend() {
                ssm.intercept(t)
            } else {
                0.0
            };
            f.predict(c);
        }
        f.state()
    };
    Ok(EndState {
        params: bits(params),
        y: bits(y),
        exog: exog.iter().map(|x| bits(x)).collect(),
        ssm,
        state,
    })
}

/// Forecasts from many origins in one pass: `origins[k]` is the index of the last observed
/// row of `y`; `future(o)` gives the exog values for rows o+1..o+horizon. Origins may come in
/// any order; the result follows `origins`.
#[allow(clippy::too_many_arguments)]
pub fn forecast_origins(
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
    origins: &[usize],
    future: &dyn Fn(usize) -> Result<Vec<Vec<f64>>, ModelError>,
    horizon: usize,
    level: f64,
) -> Result<Vec<SarimaxForecast>, ModelError> {
    check_inputs(spec, y, exog, true)?;
    let l = Layout::new(spec);
    check_params(spec, &l, params)?;
    let z = check_level(level)?;
    if let Some(&o) = origins.iter().find(|&&o| o >= y.len()) {
        return Err(ModelError::BadInput(format!(
            "{spec}: origin {o} is past the last row {}",
            y.len().saturating_sub(1)
        )));
    }
    if spec.exact_diffuse {
        return origins
            .iter()
            .map(|&o| {
                let fut = future(o)?;
                let refs: Vec<&[f64]> = fut.iter().map(|v| v.as_slice()).collect();
                let ex: Vec<&[f64]> = exog.iter().map(|c| &c[..o + 1]).collect();
                forecast(spec, params, &y[..o + 1], &ex, &refs, horizon, level)
            })
            .collect();
    }
    let ssm = Ssm::new(spec, &l, params);
    let broke = || spec.numerical("the Kalman filter broke down while filtering".into());
    let mut order: Vec<usize> = (0..origins.len()).collect();
    order.sort_by_key(|&k| origins[k]);
    let mut out: Vec<Option<SarimaxForecast>> = vec![None; origins.len()];
    let mut f = Filter::new(&ssm).ok_or_else(broke)?;
    f.steady_after = ssm.k_diff + 1;
    let mut t = 0;
    for k in order {
        let o = origins[k];
        while t <= o {
            let d = ssm.obs_intercept(exog, t);
            f.update(y[t], d).map_err(|_| broke())?;
            let c = if ssm.has_trend() {
                ssm.intercept(t)
            } else {
                0.0
            };
            f.predict(c);
            t += 1;
        }
        let fut = future(o)?;
        let refs: Vec<&[f64]> = fut.iter().map(|v| v.as_slice()).collect();
        check_future(spec, &refs, horizon)?;
        // Forecasting moves the state forward; work on a copy so filtering can continue.
        let mut g = f.clone();
        out[k] = Some(forecast_from(&mut g, o + 1, &refs, horizon, z, level));
    }
    Ok(out
        .into_iter()
        .map(|f| f.expect("every origin visited"))
        .collect())
}
