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

/// Standard normal quantile (Wichura's AS 241, relative accuracy about 1e-16).
pub fn norm_ppf(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p == 0.0 {
            f64::NEG_INFINITY
        } else if p == 1.0 {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = (((((((2.509_080_928_730_122_7e3 * r + 3.343_057_558_358_813e4) * r
            + 6.726_577_092_700_87e4)
            * r
            + 4.592_195_393_154_987e4)
            * r
            + 1.373_169_376_550_946e4)
            * r
            + 1.971_590_950_306_551_3e3)
            * r
            + 1.331_416_678_917_843_8e2)
            * r
            + 3.387_132_872_796_366_5)
            * q;
        let den = ((((((5.226_495_278_852_545e3 * r + 2.872_908_573_572_194_3e4) * r
            + 3.930_789_580_009_271e4)
            * r
            + 2.121_379_430_158_659_7e4)
            * r
            + 5.394_196_021_424_751e3)
            * r
            + 6.871_870_074_920_579e2)
            * r
            + 4.231_333_070_160_091e1)
            * r
            + 1.0;
        return num / den;
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        let num = ((((((7.745_450_142_783_414e-4 * r + 2.272_384_498_926_918_4e-2) * r
            + 2.417_807_251_774_506e-1)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_546)
            * r
            + 1.423_437_110_749_683_5;
        let den = ((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r
            + 1.519_866_656_361_645_7e-2)
            * r
            + 1.481_039_764_274_800_8e-1)
            * r
            + 6.897_673_349_851e-1)
            * r
            + 1.676_384_830_183_803_8)
            * r
            + 2.053_191_626_637_759)
            * r
            + 1.0;
        num / den
    } else {
        let r = r - 5.0;
        let num = ((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 1.242_660_947_388_078_4e-3)
            * r
            + 2.653_218_952_657_612_4e-2)
            * r
            + 2.965_605_718_285_048_7e-1)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103;
        let den = ((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446e-7) * r
            + 1.846_318_317_510_054_8e-5)
            * r
            + 7.868_691_311_456_133e-4)
            * r
            + 1.487_536_129_085_061_5e-2)
            * r
            + 1.369_298_809_227_358)
            * r
            + 5.998_322_065_558_88e-1)
            * r
            + 1.0;
        num / den
    };
    if q < 0.0 { -val } else { val }
}

fn check_level(level: f64) -> Result<f64, ModelError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(ModelError::BadInput(format!(
            "interval level must be strictly between 0 and 1, got {level}"
        )));
    }
    Ok(norm_ppf(0.5 + level / 2.0))
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
    check_inputs(spec, y, exog, true)?;
    let l = Layout::new(spec);
    check_params(spec, &l, params)?;
    check_future(spec, future_exog, horizon)?;
    let z = check_level(level)?;
    let ssm = Ssm::new(spec, &l, params);
    let broke = || spec.numerical("the Kalman filter broke down while filtering".into());
    let mut filt = if spec.exact_diffuse {
        let (f, ended) = diffuse::run(&ssm, y, exog, |_, _| {}).ok_or_else(broke)?;
        if !ended {
            return Err(spec.unsupported(
                "series too short to leave the diffuse initial period; cannot forecast".into(),
            ));
        }
        f
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
        f
    };
    Ok(forecast_from(
        &mut filt,
        y.len(),
        future_exog,
        horizon,
        z,
        level,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppf_values() {
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-15);
        assert!((norm_ppf(0.5)).abs() < 1e-16);
        assert!((norm_ppf(0.05) + 1.644_853_626_951_472_2).abs() < 1e-14);
        assert!((norm_ppf(1e-10) + 6.361_340_902_404_056).abs() < 1e-12);
    }
}
