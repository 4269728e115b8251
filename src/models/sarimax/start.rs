//! Start parameters, reproducing statsmodels' `SARIMAX.start_params`: OLS for the exog
//! coefficients on the differenced data, then a conditional-sum-of-squares (Hannan–Rissanen
//! style) regression for trend + ARMA and separately for the seasonal ARMA, each replaced by
//! zeros when not stationary / invertible.

use nalgebra::{DMatrix, DVector};

use super::spec::Layout;
use super::transforms::{is_invertible_ma, is_stationary};

/// Least squares via the pseudo-inverse with numpy's cutoff (1e-15 · largest singular value).
/// `x` is row-major `rows × cols`.
pub(crate) fn pinv_solve(x: &[f64], rows: usize, cols: usize, y: &[f64]) -> Option<Vec<f64>> {
    if cols == 0 {
        return Some(Vec::new());
    }
    if rows == 0 {
        return Some(vec![0.0; cols]);
    }
    let xm = DMatrix::from_row_slice(rows, cols, x);
    let svd = xm.svd(true, true);
    let smax = svd.singular_values.iter().fold(0.0f64, |m, v| m.max(*v));
    let eps = 1e-15 * smax;
    let sol = svd.solve(&DVector::from_column_slice(y), eps).ok()?;
    let v: Vec<f64> = sol.iter().copied().collect();
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// `(1 - L)^d (1 - L^s)^D` applied to `x`.
pub(crate) fn difference(x: &[f64], d: usize, sd: usize, s: usize) -> Vec<f64> {
    let mut v = x.to_vec();
    for _ in 0..sd {
        if v.len() <= s {
            return Vec::new();
        }
        v = (s..v.len()).map(|i| v[i] - v[i - s]).collect();
    }
    for _ in 0..d {
        if v.is_empty() {
            return v;
        }
        v = (1..v.len()).map(|i| v[i] - v[i - 1]).collect();
    }
    v
}

struct Css {
    trend: Vec<f64>,
    ar: Vec<f64>,
    ma: Vec<f64>,
    variance: Option<f64>,
}

/// statsmodels `_conditional_sum_squares`. `ar_lags`/`ma_lags` are the included lags
/// (1-based); `k_ar`/`k_ma` the polynomial degrees; `trend` the trend regressors (row-major
/// n × k_trend, already truncated to the differenced length).
fn css(
    endog: &[f64],
    k_ar: usize,
    ar_lags: &[usize],
    k_ma: usize,
    ma_lags: &[usize],
    k_trend: usize,
    trend: &[f64],
) -> Css {
    let n = endog.len();
    let k = 2 * k_ma;
    let r = (k + k_ma).max(k_ar);
    let kpa = if k_ar == 0 { 0 } else { ar_lags.len() };
    let kpm = if k_ma == 0 { 0 } else { ma_lags.len() };
    if k_ar + k_ma + k_trend == 0 {
        return Css {
            trend: vec![],
            ar: vec![],
            ma: vec![],
            variance: None,
        };
    }
    let attempt = || -> Option<(Vec<f64>, Vec<f64>)> {
        // statsmodels raises (and falls back) when a lag matrix would need more lags than data.
        if (k_ma > 0 && k >= n) || (k_ar > 0 && k_ar >= n) || r >= n {
            return None;
        }
        let mut resid_ar = Vec::new();
        if k_ma > 0 {
            let rows = n - k;
            let mut x = Vec::with_capacity(rows * k);
            for t in k..n {
                for j in 1..=k {
                    x.push(endog[t - j]);
                }
            }
            let b = pinv_solve(&x, rows, k, &endog[k..])?;
            resid_ar = (0..rows)
                .map(|i| endog[k + i] - (0..k).map(|j| x[i * k + j] * b[j]).sum::<f64>())
                .collect();
        }
        let rows = n - r;
        let cols = k_trend + kpa + kpm;
        let mut x = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            let t = r + i;
            // Trend rows are taken from the start (statsmodels' `trend_data[:-r]`).
            x.extend_from_slice(&trend[i * k_trend..(i + 1) * k_trend]);
            for &lag in ar_lags.iter().take(kpa) {
                x.push(endog[t - lag]);
            }
            for &lag in ma_lags.iter().take(kpm) {
                // residuals are aligned so that resid_ar[j] belongs to time k + j.
                x.push(resid_ar[t - lag - k]);
            }
        }
        let params = pinv_solve(&x, rows, cols, &endog[r..])?;
        let resid = (0..rows)
            .map(|i| endog[r + i] - (0..cols).map(|j| x[i * cols + j] * params[j]).sum::<f64>())
            .collect();
        Some((params, resid))
    };
    let (params, resid) = attempt().unwrap_or_else(|| {
        let mean = if n > 0 {
            endog.iter().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let resid = if n == 0 {
            vec![1.0; kpm * 2 + 1]
        } else {
            let mut v = vec![0.0; kpm * 2];
            v.extend(endog.iter().map(|y| y - mean));
            v
        };
        (vec![0.0; k_trend + kpa + kpm], resid)
    });
    let variance = if resid.len() > 1.max(kpm) {
        let tail = &resid[kpm..];
        Some(tail.iter().map(|e| e * e).sum::<f64>() / tail.len() as f64)
    } else {
        let mean = endog.iter().sum::<f64>() / n.max(1) as f64;
        Some(endog.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n.max(1) as f64)
    };
    Css {
        trend: params[..k_trend].to_vec(),
        ar: params[k_trend..k_trend + kpa].to_vec(),
        ma: params[k_trend + kpa..k_trend + kpa + kpm].to_vec(),
        variance,
    }
}

/// Start parameters in statsmodels' order (constrained space).
pub(crate) fn start_params(l: &Layout, powers: &[u32], y: &[f64], exog: &[&[f64]]) -> Vec<f64> {
    let nobs = y.len();
    let mut endog = difference(y, l.d, l.sd, l.s);
    let n = endog.len();
    let exog_d: Vec<Vec<f64>> = exog.iter().map(|c| difference(c, l.d, l.sd, l.s)).collect();
    // Trend regressors for t = 1..n (statsmodels truncates the undifferenced trend data).
    let mut trend = Vec::with_capacity(n * l.k_trend);
    for i in 0..n {
        for &pw in powers {
            trend.push(((i + 1) as f64).powi(pw as i32));
        }
    }
    let mut beta = Vec::new();
    if l.k_exog > 0 {
        let mut x = Vec::with_capacity(n * l.k_exog);
        for i in 0..n {
            for c in &exog_d {
                x.push(c[i]);
            }
        }
        beta = pinv_solve(&x, n, l.k_exog, &endog).unwrap_or_else(|| vec![0.0; l.k_exog]);
        for i in 0..n {
            endog[i] -= (0..l.k_exog)
                .map(|j| x[i * l.k_exog + j] * beta[j])
                .sum::<f64>();
        }
    }
    let ar_lags: Vec<usize> = (1..=l.p).collect();
    let ma_lags: Vec<usize> = (1..=l.q).collect();
    let main = css(&endog, l.p, &ar_lags, l.q, &ma_lags, l.k_trend, &trend);
    let mut ar = main.ar;
    if l.p > 0 && !is_stationary(&ar) {
        ar.iter_mut().for_each(|v| *v = 0.0);
    }
    let mut ma = main.ma;
    if l.q > 0 && !is_invertible_ma(&ma) {
        ma.iter_mut().for_each(|v| *v = 0.0);
    }
    let sar_lags: Vec<usize> = (1..=l.sp).map(|i| i * l.s).collect();
    let sma_lags: Vec<usize> = (1..=l.sq).map(|i| i * l.s).collect();
    let seas = css(&endog, l.sp * l.s, &sar_lags, l.sq * l.s, &sma_lags, 0, &[]);
    // Seasonal coefficients are those of 1 - Φ1 L^s - ...: test them as a polynomial in L^s.
    let mut sar = seas.ar;
    if l.sp > 0 && !is_stationary(&sar) {
        sar.iter_mut().for_each(|v| *v = 0.0);
    }
    let mut sma = seas.ma;
    if l.sq > 0 && !is_invertible_ma(&sma) {
        sma.iter_mut().for_each(|v| *v = 0.0);
    }
    let inner: f64 = endog.iter().map(|v| v * v).sum();
    let variance = main.variance.or(seas.variance).unwrap_or(if l.k_exog > 0 {
        inner
    } else {
        inner / nobs.max(1) as f64
    });
    let mut out = Vec::with_capacity(l.n_params);
    out.extend(main.trend);
    out.extend(beta);
    out.extend(ar);
    out.extend(ma);
    out.extend(sar);
    out.extend(sma);
    out.push(if variance.is_finite() {
        variance.max(1e-10)
    } else {
        1.0
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differencing() {
        let x = [1.0, 2.0, 4.0, 7.0, 11.0];
        assert_eq!(difference(&x, 1, 0, 0), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(difference(&x, 0, 1, 2), vec![3.0, 5.0, 7.0]);
        assert_eq!(difference(&x, 1, 1, 2), vec![2.0, 2.0]);
    }

    #[test]
    fn pinv_ols() {
        // y = 2 x exactly
        let x = [1.0, 2.0, 3.0];
        let b = pinv_solve(&x, 3, 1, &[2.0, 4.0, 6.0]).unwrap();
        assert!((b[0] - 2.0).abs() < 1e-12);
    }
}
