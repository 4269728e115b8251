//! Exact diffuse initialisation of the differencing states (Durbin & Koopman 2012, §5.2,
//! univariate form): P = P* + κ P∞ with κ → ∞. Used when `SarimaxSpec::exact_diffuse` is
//! set; the diffuse periods contribute −½(ln 2π + ln F∞) and nothing is burned.
//!
//! Dense and allocation-light rather than fast: it is an option, not the default path.

use super::kalman::Filter;
use super::statespace::Ssm;

const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// F∞ below this is treated as zero (statsmodels' `tolerance_diffuse` is 1e-19 on P∞).
const TOL: f64 = 1e-9;

/// x ← T x T' (+ nothing); dense m×m via the sparse rows of T.
fn tpt(ssm: &Ssm, p: &mut [f64], tmp: &mut [f64]) {
    let m = ssm.m;
    let (ts, tc, tv) = (&ssm.t_start, &ssm.t_col, &ssm.t_val);
    for i in 0..m {
        for j in 0..m {
            let mut acc = 0.0;
            for e in ts[i]..ts[i + 1] {
                acc += tv[e] * p[tc[e] * m + j];
            }
            tmp[i * m + j] = acc;
        }
    }
    for i in 0..m {
        for j in 0..m {
            let mut acc = 0.0;
            for e in ts[j]..ts[j + 1] {
                acc += tv[e] * tmp[i * m + tc[e]];
            }
            p[i * m + j] = acc;
        }
    }
}

/// Run the exact diffuse filter, calling `obs(t, loglike_t)` for each observation; after the
/// diffuse periods it hands over to the ordinary filter. Returns the filter positioned after
/// the last observation and whether the diffuse part has ended (it has not when the series
/// is shorter than the diffuse periods), or `None` when the filter breaks down.
pub(crate) fn run<'a, F: FnMut(usize, f64)>(
    ssm: &'a Ssm,
    y: &[f64],
    exog: &[&[f64]],
    mut obs: F,
) -> Option<(Filter<'a>, bool)> {
    let mut filt = Filter::new(ssm)?;
    let (a0, pstar0) = ssm.initial(true)?;
    filt.a = a0;
    filt.p = pstar0;
    let m = ssm.m;
    let mut pinf: Vec<f64> = vec![0.0; m * m];
    for i in 0..ssm.k_diff {
        pinf[i * m + i] = 1.0;
    }
    let mut tmp = vec![0.0; m * m];
    let mut minf = vec![0.0; m];
    let mut mstar = vec![0.0; m];
    let z = &ssm.z_idx;
    let mut t = 0;
    let has_exog = !ssm.beta.is_empty();
    while t < y.len() && pinf.iter().any(|v| v.abs() > TOL) {
        let d = if has_exog {
            ssm.obs_intercept(exog, t)
        } else {
            0.0
        };
        let yt = y[t];
        if !yt.is_nan() {
            for i in 0..m {
                minf[i] = z.iter().map(|&j| pinf[i * m + j]).sum();
                mstar[i] = z.iter().map(|&j| filt.p[i * m + j]).sum();
            }
            let finf: f64 = z.iter().map(|&j| minf[j]).sum();
            let fstar: f64 = z.iter().map(|&j| mstar[j]).sum();
            let v = yt - d - z.iter().map(|&j| filt.a[j]).sum::<f64>();
            if finf > TOL {
                for (a, mi) in filt.a.iter_mut().zip(&minf) {
                    *a += mi * v / finf;
                }
                let f2 = fstar / (finf * finf);
                for i in 0..m {
                    for j in 0..m {
                        filt.p[i * m + j] += minf[i] * minf[j] * f2
                            - (mstar[i] * minf[j] + minf[i] * mstar[j]) / finf;
                        pinf[i * m + j] -= minf[i] * minf[j] / finf;
                    }
                }
                obs(t, -0.5 * (LN_2PI + finf.ln()));
            } else {
                if !(fstar > 0.0 && fstar.is_finite()) {
                    return None;
                }
                for (a, mi) in filt.a.iter_mut().zip(&mstar) {
                    *a += mi * v / fstar;
                }
                for i in 0..m {
                    for j in 0..m {
                        filt.p[i * m + j] -= mstar[i] * mstar[j] / fstar;
                    }
                }
                obs(t, -0.5 * (LN_2PI + fstar.ln() + v * v / fstar));
            }
        }
        // Predict both parts; only P* gets the disturbance.
        tpt(ssm, &mut pinf, &mut tmp);
        let c = if ssm.has_trend() {
            ssm.intercept(t)
        } else {
            0.0
        };
        filt.predict(c);
        t += 1;
    }
    let n_diffuse = t;
    let ended = !pinf.iter().any(|v| v.abs() > TOL);
    filt.steady_after = n_diffuse + 1;
    for (t, &yt) in y.iter().enumerate().skip(n_diffuse) {
        let d = if has_exog {
            ssm.obs_intercept(exog, t)
        } else {
            0.0
        };
        match filt.update(yt, d) {
            Ok(Some(inn)) => obs(t, inn.loglike()),
            Ok(None) => {}
            Err(()) => return None,
        }
        let c = if ssm.has_trend() {
            ssm.intercept(t)
        } else {
            0.0
        };
        filt.predict(c);
    }
    Some((filt, ended))
}

/// Exact diffuse log-likelihood (all observations counted); NaN on breakdown.
pub(crate) fn loglike(ssm: &Ssm, y: &[f64], exog: &[&[f64]]) -> f64 {
    let mut llf = 0.0;
    match run(ssm, y, exog, |_, l| llf += l) {
        Some(_) => llf,
        None => f64::NAN,
    }
}
