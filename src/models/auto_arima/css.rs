//! Conditional-sum-of-squares start values, as R's `arima(method = "CSS-ML")` (and so
//! statsforecast) takes them before maximum likelihood: on ARMA(p, q) with MA terms the exact
//! likelihood can have several optima, and the CSS estimate tends to start the search in the
//! basin R finds. The walk fits each candidate from this start and from the engine's own
//! (statsmodels') start and keeps the higher likelihood.

use crate::models::sarimax::SarimaxSpec;
use crate::models::sarimax::optim::{Settings, minimize};
use crate::models::sarimax::start::{difference, pinv_solve};
use crate::models::sarimax::statespace::polymul_seasonal;
use crate::models::sarimax::transforms::{is_invertible_ma, is_stationary};

/// R's `ARIMA_CSS`: the residuals of the differenced, regression-adjusted series `w` under
/// the expanded polynomials, conditioned on its first `ncond` = p + P·s values (R counts the
/// d + D·s values differencing used up too; `w` no longer has them); returns σ² = mean
/// squared residual.
fn css_sigma2(w: &[f64], ncond: usize, phi: &[f64], theta: &[f64]) -> f64 {
    let n = w.len();
    let mut resid = vec![0.0; n];
    let (mut ssq, mut nu) = (0.0, 0usize);
    for l in ncond..n {
        let mut e = w[l];
        for (j, ph) in phi.iter().enumerate() {
            e -= ph * w[l - j - 1];
        }
        for (j, th) in theta.iter().enumerate().take(l - ncond) {
            e -= th * resid[l - j - 1];
        }
        resid[l] = e;
        ssq += e * e;
        nu += 1;
    }
    if nu == 0 { f64::NAN } else { ssq / nu as f64 }
}

/// Start parameters for `spec` (statsmodels' order: trend, exog, AR, MA, seasonal AR,
/// seasonal MA, σ²) from a CSS fit, or `None` when the CSS optimum is not stationary and
/// invertible (R stops there; our walk then keeps the engine's own start).
pub fn css_start(spec: &SarimaxSpec, y: &[f64], xreg: &[&[f64]]) -> Option<Vec<f64>> {
    let (p, d, q) = spec.order;
    let (sp, sd, sq, s) = spec.seasonal;
    let s = s.max(1);
    let n = y.len();
    // Regressors as R adds them: a mean with d + D = 0, a drift (t = 1..n) with d + D = 1.
    let mut cols: Vec<Vec<f64>> = Vec::new();
    if spec.trend != crate::models::sarimax::Trend::N {
        cols.push(if d + sd == 0 {
            vec![1.0; n]
        } else {
            (1..=n).map(|t| t as f64).collect()
        });
    }
    cols.extend(xreg.iter().map(|c| c.to_vec()));
    // Each regressor in units of its spread, so every coordinate of the optimiser moves on
    // one scale (R scales its steps by the OLS standard errors instead).
    let spread: Vec<f64> = cols
        .iter()
        .map(|c| {
            let m = c.iter().sum::<f64>() / n as f64;
            let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64).sqrt();
            if sd > 0.0 { sd } else { c[0].abs().max(1.0) }
        })
        .collect();
    for (c, sd) in cols.iter_mut().zip(&spread) {
        c.iter_mut().for_each(|v| *v /= sd);
    }
    let k = cols.len();
    // Differencing is linear, so the series and each regressor are differenced once and the
    // objective only recombines them: w = Δy − Σ β_j Δx_j.
    let dy = difference(y, d, sd, s);
    let dx: Vec<Vec<f64>> = cols.iter().map(|c| difference(c, d, sd, s)).collect();
    // OLS on the differenced data for the regression start (R: lm on diff(x), diff(xreg)).
    let beta0 = if k > 0 {
        let rows = dy.len();
        let flat: Vec<f64> = (0..rows)
            .flat_map(|t| dx.iter().map(move |c| c[t]))
            .collect();
        pinv_solve(&flat, rows, k, &dy)?
    } else {
        Vec::new()
    };
    let narma = p + q + sp + sq;
    let ncond = p + sp * s;
    if ncond >= dy.len() {
        return None;
    }
    let split = |x: &[f64]| {
        let neg = |v: &[f64]| v.iter().map(|a| -a).collect::<Vec<_>>();
        let phi = neg(&polymul_seasonal(
            &neg(&x[..p]),
            &neg(&x[p + q..p + q + sp]),
            s,
        ));
        let theta = polymul_seasonal(&x[p..p + q], &x[p + q + sp..narma], s);
        (phi, theta)
    };
    // σ² of the CSS residuals at parameters x (ARMA coefficients, then the β's).
    let sigma2_at = |x: &[f64]| -> f64 {
        let mut w = dy.clone();
        for (beta, c) in x[narma..].iter().zip(&dx) {
            w.iter_mut().zip(c).for_each(|(v, xc)| *v -= beta * xc);
        }
        let (phi, theta) = split(x);
        css_sigma2(&w, ncond, &phi, &theta)
    };
    let objective = |x: &[f64]| -> f64 {
        let s2 = sigma2_at(x);
        if s2 > 0.0 {
            0.5 * s2.ln()
        } else {
            f64::INFINITY
        }
    };
    let mut x0 = vec![0.0; narma];
    x0.extend(&beta0);
    // R's BFGS stops at 100 iterations too; this is only a start.
    let settings = Settings {
        maxiter: 100,
        pgtol: 1e-6,
        ..Settings::default()
    };
    let out = minimize(objective, &x0, &settings);
    let x = out.x;
    if !out.f.is_finite()
        || !is_stationary(&x[..p])
        || !is_stationary(&x[p + q..p + q + sp])
        || !is_invertible_ma(&x[p..p + q])
        || !is_invertible_ma(&x[p + q + sp..narma])
    {
        return None;
    }
    // σ² and the regression terms in the engine's parametrisation: the state intercept is
    // the mean (or drift per differenced step) times 1 − Σ φ of the expanded AR polynomial.
    let (phi, _) = split(&x);
    let sigma2 = sigma2_at(&x);
    let mut start = Vec::with_capacity(k + narma + 1);
    let mut betas = x[narma..].iter().zip(&spread).map(|(b, sd)| b / sd);
    if spec.trend != crate::models::sarimax::Trend::N {
        let step = if d + sd == 0 {
            1.0
        } else {
            (d + sd * s) as f64
        };
        start.push(betas.next()? * step * (1.0 - phi.iter().sum::<f64>()));
    }
    start.extend(betas);
    start.extend_from_slice(&x[..narma]);
    start.push(sigma2);
    Some(start)
}
