//! The Hyndman–Khandakar stepwise search (Hyndman & Khandakar 2008, R's
//! `forecast::auto.arima`), step for step as statsforecast 2.1.1's `auto_arima_f` takes it
//! with its `AutoARIMA` defaults: d by KPSS, D by seasonal strength, then a walk over
//! (p, q, P, Q, constant) that moves to the first neighbour with a lower AICc, every candidate
//! fitted by exact maximum likelihood on our SARIMAX engine.

use super::AutoArimaSettings;
use std::collections::HashMap;

use rayon::prelude::*;

use super::css::css_start;
use super::unitroot::{is_constant, ndiffs, nsdiffs};
use crate::models::ModelError;
use crate::models::sarimax::estimate::{FitOptions, SarimaxFit, fit_with, loglike_obs};
use crate::models::sarimax::spec::{SarimaxSpec, Trend};
use crate::models::sarimax::start::{difference, pinv_solve};
use crate::models::sarimax::statespace::polymul_seasonal;
use crate::models::sarimax::transforms::is_stationary;

/// Iterations a candidate's fit may take during the walk (statsforecast's BFGS stops at 100
/// too). Fits that need more creep along the stationarity boundary towards a root the
/// 1.01 check rejects anyway; the chosen model is refitted to convergence.
const SEARCH_MAXITER: usize = 100;

/// One candidate the search fitted: its orders, constant and information criterion
/// (+∞ when the fit failed or a root is within 1.01 of the unit circle).
#[derive(Debug, Clone, PartialEq)]
pub struct Tried {
    pub p: usize,
    pub q: usize,
    pub big_p: usize,
    pub big_q: usize,
    pub constant: bool,
    pub ic: f64,
}

/// What the search chose.
#[derive(Debug, Clone)]
pub struct AutoArimaFit {
    /// The chosen model (its spec is `fit.spec`).
    pub fit: SarimaxFit,
    /// AICc as statsforecast computes it (parameters counted with σ², n − d − D·s
    /// observations).
    pub aicc: f64,
    pub d: usize,
    pub big_d: usize,
    /// Every candidate, in the order tried.
    pub tried: Vec<Tried>,
}

/// The data and the choices fixed before the walk.
struct Search<'a> {
    /// The series divided by `scale`: the engine's approximate diffuse prior (variance 1e6)
    /// is then diffuse for all practical purposes, and its fast filter can run the walk.
    y: &'a [f64],
    scale: f64,
    xreg: &'a [&'a [f64]],
    names: &'a [String],
    m: usize,
    d: usize,
    big_d: usize,
    tried: Vec<Tried>,
    best: Option<(SarimaxFit, f64)>,
    /// Candidates fitted ahead of the walk (on idle threads), not yet tried.
    ahead: HashMap<State, (Option<SarimaxFit>, f64)>,
}

impl Search<'_> {
    fn spec(&self, p: usize, q: usize, sp: usize, sq: usize, constant: bool) -> SarimaxSpec {
        let seasonal = if self.m > 1 && sp + self.big_d + sq > 0 {
            (sp, self.big_d, sq, self.m)
        } else {
            (0, 0, 0, 0)
        };
        SarimaxSpec {
            order: (p, self.d, q),
            seasonal,
            // statsmodels' state intercept: with d + D = 0 it reparametrises R's mean and with
            // d + D = 1 its drift, so the likelihood and forecasts are the same.
            trend: if constant { Trend::C } else { Trend::N },
            exog: self.names.to_vec(),
            exact_diffuse: false,
        }
    }

    /// Fits one candidate (statsforecast's `myarima`) and scores it.
    fn evaluate(&self, (p, q, sp, sq, constant): State) -> (Option<SarimaxFit>, f64) {
        let spec = self.spec(p, q, sp, sq, constant);
        let opts = FitOptions {
            std_errors: false,
            maxiter: SEARCH_MAXITER,
            ..FitOptions::default()
        };
        let started = std::time::Instant::now();
        let mut fitted = fit_with(&spec, self.y, self.xreg, &opts).ok();
        // With ARMA terms, also from R's CSS start; the higher likelihood is kept.
        if p + q + sp + sq > 0
            && let Some(start) = css_start(&spec, self.y, self.xreg)
        {
            let from_css = FitOptions {
                start: Some(start),
                ..opts.clone()
            };
            if let Ok(alt) = fit_with(&spec, self.y, self.xreg, &from_css)
                && fitted.as_ref().is_none_or(|f| alt.llf > f.llf)
            {
                fitted = Some(alt);
            }
        }
        let ic = fitted
            .as_ref()
            .map(|f| self.criterion(f))
            .unwrap_or(f64::INFINITY);
        tracing::trace!(%spec, ic, seconds = started.elapsed().as_secs_f64(), "auto_arima candidate");
        (fitted, ic)
    }

    /// Fits `states` that are neither tried nor fitted ahead, in parallel. The walk still
    /// tries candidates one by one in statsforecast's order, so what it chooses does not
    /// depend on the number of threads; a candidate fitted ahead and never reached costs only
    /// an otherwise idle thread.
    fn fit_ahead(&mut self, states: &[State]) {
        let todo: Vec<State> = states
            .iter()
            .copied()
            .filter(|st| !self.ahead.contains_key(st))
            .collect();
        if todo.len() < 2 {
            return;
        }
        let done: Vec<_> = todo.par_iter().map(|&st| (st, self.evaluate(st))).collect();
        self.ahead.extend(done);
    }

    /// Tries one candidate: records it, and keeps it when it beats the best so far. Returns
    /// whether it did.
    fn try_model(&mut self, p: usize, q: usize, sp: usize, sq: usize, constant: bool) -> bool {
        let state = (p, q, sp, sq, constant);
        let (fitted, ic) = match self.ahead.remove(&state) {
            Some(done) => done,
            None => self.evaluate(state),
        };
        self.tried.push(Tried {
            p,
            q,
            big_p: sp,
            big_q: sq,
            constant,
            ic,
        });
        let better = ic < self.best.as_ref().map_or(f64::INFINITY, |b| b.1);
        if better {
            self.best = Some((fitted.expect("a finite criterion has a fit"), ic));
        }
        better
    }

    /// AICc of a walk fit in the units of the original series: the burned first d + D·s
    /// observations are exactly the ones R's likelihood skips, and scaling by `scale` moves
    /// each remaining one's log-density by −ln(scale).
    fn criterion(&self, fit: &SarimaxFit) -> f64 {
        if near_unit_root(fit) {
            return f64::INFINITY;
        }
        let n_diff = self.d + self.big_d * self.m;
        let used = self.y.len().saturating_sub(n_diff) as f64;
        aicc(fit.llf - used * self.scale.ln(), fit.params.len(), used)
    }

    fn is_new(&self, p: usize, q: usize, sp: usize, sq: usize, constant: bool) -> bool {
        !self
            .tried
            .iter()
            .any(|t| (t.p, t.q, t.big_p, t.big_q, t.constant) == (p, q, sp, sq, constant))
    }
}

/// AICc as statsforecast's `myarima` computes it: σ² counted among the parameters,
/// `used` = n − d − D·s observations.
fn aicc(llf: f64, npar: usize, used: f64) -> f64 {
    if !llf.is_finite() {
        return f64::INFINITY;
    }
    let k = npar as f64;
    let den = used - k - 1.0;
    if den == 0.0 {
        f64::INFINITY
    } else {
        -2.0 * llf + 2.0 * k + 2.0 * k * (k + 1.0) / den
    }
}

/// The log-likelihood R's `arima` reports for an exact diffuse fit: without the first
/// d + D·s observations, whose contributions (−½ ln 2π − ½ ln F∞ each) do not depend on
/// the parameters, so the optimum is the same.
fn exact_likelihood(fit: &SarimaxFit, y: &[f64], xreg: &[&[f64]], n_diff: usize) -> Option<f64> {
    if n_diff == 0 {
        return Some(fit.llf);
    }
    let obs = loglike_obs(&fit.spec, &fit.params, y, xreg).ok()?;
    Some(obs[n_diff.min(obs.len())..].iter().sum())
}

/// Whether the expanded AR or MA polynomial has a root of modulus below 1.01. Like
/// statsforecast, a polynomial whose only non-zero coefficient is the first is not checked.
fn near_unit_root(fit: &SarimaxFit) -> bool {
    let named = |prefix: &str| -> Vec<f64> {
        fit.names
            .iter()
            .zip(&fit.params)
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, v)| *v)
            .collect()
    };
    let s = fit.spec.seasonal.3;
    let neg = |v: Vec<f64>| v.into_iter().map(|x| -x).collect::<Vec<_>>();
    // Lag polynomials `1 + c1 L + ...` as coefficient lists without the 1.
    let ar = polymul_seasonal(&neg(named("ar.L")), &neg(named("ar.S.L")), s.max(1));
    let ma = polymul_seasonal(&named("ma.L"), &named("ma.S.L"), s.max(1));
    root_inside(&ar) || root_inside(&ma)
}

/// Whether `1 + c1 z + ... + cn z^n` has a root with |z| < 1.01: the polynomial in
/// w = z / 1.01 must have all roots outside the unit circle (Schur–Cohn).
fn root_inside(c: &[f64]) -> bool {
    let Some(last) = c.iter().rposition(|v| v.abs() > 1e-8) else {
        return false;
    };
    if last == 0 {
        return false;
    }
    let scaled: Vec<f64> = c[..=last]
        .iter()
        .enumerate()
        .map(|(i, v)| -v * 1.01f64.powi(i as i32 + 1))
        .collect();
    !is_stationary(&scaled)
}

/// Residuals of the OLS regression of `y` on a constant and the non-constant columns of
/// `xreg`, which the unit-root tests see instead of `y` when there are regressors.
fn regression_residuals(y: &[f64], xreg: &[&[f64]]) -> Vec<f64> {
    let cols: Vec<&[f64]> = xreg.iter().copied().filter(|c| !is_constant(c)).collect();
    if cols.is_empty() {
        return y.to_vec();
    }
    let k = cols.len() + 1;
    let mut x = Vec::with_capacity(y.len() * k);
    for t in 0..y.len() {
        x.push(1.0);
        x.extend(cols.iter().map(|c| c[t]));
    }
    match pinv_solve(&x, y.len(), k, y) {
        Some(beta) => (0..y.len())
            .map(|t| y[t] - (0..k).map(|j| x[t * k + j] * beta[j]).sum::<f64>())
            .collect(),
        None => y.to_vec(),
    }
}

/// The differencing orders: D on the (regression-adjusted) series, then d on its seasonal
/// difference; an order that would make a regressor constant is taken back.
fn differences(y: &[f64], xreg: &[&[f64]], m: usize, st: &AutoArimaSettings) -> (usize, usize) {
    let xx = regression_residuals(y, xreg);
    let live: Vec<&[f64]> = xreg.iter().copied().filter(|c| !is_constant(c)).collect();
    let big_d = if m <= 1 || xx.len() <= 2 * m {
        0
    } else {
        nsdiffs(&xx, m, st.max_big_d)
    };
    let dx = difference(&xx, 0, big_d, m.max(1));
    let mut d = ndiffs(&dx, st.max_d);
    if d > 0
        && live
            .iter()
            .any(|c| is_constant(&difference(c, d, big_d, m.max(1))))
    {
        d -= 1;
    }
    (d, big_d)
}

/// Runs the search on `y` with regressors `xreg` (named `names`) and season length `m`.
pub fn auto_arima(
    y: &[f64],
    xreg: &[&[f64]],
    names: &[String],
    m: usize,
    st: &AutoArimaSettings,
) -> Result<AutoArimaFit, ModelError> {
    let n = y.len();
    let unsupported = |reason: String| ModelError::Unsupported {
        spec: format!("auto_arima(s={m})"),
        reason,
    };
    if n < 4 {
        return Err(unsupported(format!(
            "needs at least 4 observations, got {n}"
        )));
    }
    let bad = y.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(unsupported(format!(
            "{bad} of the {n} target values are missing or not finite"
        )));
    }
    if let Some((name, _)) = names
        .iter()
        .zip(xreg)
        .find(|(_, c)| c.iter().any(|v| !v.is_finite()))
    {
        return Err(unsupported(format!(
            "driver `{name}` has missing or non-finite values"
        )));
    }
    // statsforecast answers these with fixed mean/drift models; a zero innovation variance has
    // no likelihood to search, so they are refused here (other families still run).
    if is_constant(y) {
        return Err(unsupported(
            "the series is constant: there is nothing to search".into(),
        ));
    }
    let m = m.max(1);
    let (d, big_d) = differences(y, xreg, m, st);
    if xreg.is_empty() && is_constant(&difference(y, d, big_d, m)) {
        return Err(unsupported(format!(
            "the series is deterministic after d = {d}, D = {big_d} differences (a line or a \
             repeating season): there is no noise to model"
        )));
    }
    let mut max_p = st.max_p.min(n / 3);
    let mut max_q = st.max_q.min(n / 3);
    let (mut max_sp, mut max_sq) = (st.max_big_p.min(n / 3 / m), st.max_big_q.min(n / 3 / m));
    if m == 1 {
        (max_sp, max_sq) = (0, 0);
    } else {
        max_p = max_p.min(m - 1);
        max_q = max_q.min(m - 1);
    }
    // Any positive scale gives the same model; the spread keeps the diffuse prior wide.
    let mean = y.iter().sum::<f64>() / n as f64;
    let spread = (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
    let scale = if spread > 0.0 { spread } else { 1.0 };
    let y_scaled: Vec<f64> = y.iter().map(|v| v / scale).collect();
    let mut s = Search {
        y: &y_scaled,
        scale,
        xreg,
        names,
        m,
        d,
        big_d,
        tried: Vec::new(),
        best: None,
        ahead: HashMap::new(),
    };
    let allow = d + big_d <= 1;
    walk(&mut s, allow, [max_p, max_q, max_sp, max_sq], st, n);
    let (walked, _) = s.best.take().ok_or_else(|| ModelError::Numerical {
        spec: format!("auto_arima(d={d}, D={big_d}, s={m})"),
        reason: "no candidate model could be fitted".into(),
    })?;
    let (fit, aicc) = finish(walked, scale, y, xreg, d + big_d * m)?;
    Ok(AutoArimaFit {
        fit,
        aicc,
        d,
        big_d,
        tried: s.tried,
    })
}

/// The chosen model in the original units with the exact diffuse initialisation, at the
/// walk's optimum continued to convergence, and its AICc as R reports it.
fn finish(
    walked: SarimaxFit,
    scale: f64,
    y: &[f64],
    xreg: &[&[f64]],
    n_diff: usize,
) -> Result<(SarimaxFit, f64), ModelError> {
    let y_scaled: Vec<f64> = y.iter().map(|v| v / scale).collect();
    let opts = |start: Vec<f64>| FitOptions {
        std_errors: false,
        start: Some(start),
        ..FitOptions::default()
    };
    let walked = match fit_with(&walked.spec, &y_scaled, xreg, &opts(walked.params.clone())) {
        Ok(more) if more.llf >= walked.llf && !near_unit_root(&more) => more,
        _ => walked,
    };
    // Back to the original units: the level terms scale with y, the variance with y².
    let start: Vec<f64> = walked
        .names
        .iter()
        .zip(&walked.params)
        .map(|(name, v)| match name.as_str() {
            "sigma2" => v * scale * scale,
            n if n == "intercept" || n == "drift" || walked.spec.exog.iter().any(|e| e == n) => {
                v * scale
            }
            _ => *v,
        })
        .collect();
    let spec = SarimaxSpec {
        exact_diffuse: true,
        ..walked.spec.clone()
    };
    // Evaluated, not re-optimised: on the scaled series the approximate prior is diffuse to
    // ~1e-6 relative, so the walk's optimum is the exact one to that order (the parity test
    // holds it to statsforecast's AICc), and the exact filter has no adjoint gradient.
    let mut fit = fit_with(
        &spec,
        y,
        xreg,
        &FitOptions {
            maxiter: 0,
            ..opts(start)
        },
    )?;
    fit.converged = walked.converged;
    fit.iterations = walked.iterations;
    fit.message = walked.message;
    let used = y.len().saturating_sub(n_diff) as f64;
    let ic = match exact_likelihood(&fit, y, xreg, n_diff) {
        Some(llf) if !near_unit_root(&fit) => aicc(llf, fit.params.len(), used),
        _ => f64::INFINITY,
    };
    Ok((fit, ic))
}

/// The stepwise walk: four (five with a constant) starting models, then neighbours.
fn walk(s: &mut Search, allow_constant: bool, max: [usize; 4], st: &AutoArimaSettings, n: usize) {
    let [max_p, max_q, max_sp, max_sq] = max;
    let constant = allow_constant;
    let small = n < 10;
    let mut p = st
        .start_p
        .min(if small { 1 } else { st.start_p })
        .min(max_p);
    let mut q = st
        .start_q
        .min(if small { 1 } else { st.start_q })
        .min(max_q);
    let mut sp = if small { 0 } else { st.start_big_p.min(max_sp) };
    let mut sq = if small { 0 } else { st.start_big_q.min(max_sq) };
    let (p1, sp1) = (usize::from(max_p > 0), usize::from(s.m > 1 && max_sp > 0));
    let (q1, sq1) = (usize::from(max_q > 0), usize::from(s.m > 1 && max_sq > 0));
    let mut starts = vec![(p, q, sp, sq, constant), (0, 0, 0, 0, constant)];
    if max_p > 0 || max_sp > 0 {
        starts.push((p1, 0, sp1, 0, constant));
    }
    if max_q > 0 || max_sq > 0 {
        starts.push((0, q1, 0, sq1, constant));
    }
    if constant {
        starts.push((0, 0, 0, 0, false));
    }
    starts.dedup();
    s.fit_ahead(&starts);
    s.try_model(p, q, sp, sq, constant);
    if s.try_model(0, 0, 0, 0, constant) {
        (p, q, sp, sq) = (0, 0, 0, 0);
    }
    if (max_p > 0 || max_sp > 0) && s.try_model(p1, 0, sp1, 0, constant) {
        (p, q, sp, sq) = (p1, 0, sp1, 0);
    }
    if (max_q > 0 || max_sq > 0) && s.try_model(0, q1, 0, sq1, constant) {
        (p, q, sp, sq) = (0, q1, 0, sq1);
    }
    // statsforecast keeps `constant` as it was when this one wins (only the orders reset).
    if constant && s.try_model(0, 0, 0, 0, false) {
        (p, q, sp, sq) = (0, 0, 0, 0);
    }
    let mut state = (p, q, sp, sq, constant);
    let mut start = 0;
    while start < s.tried.len() && s.tried.len() < st.nmodels {
        start = s.tried.len();
        let fresh: Vec<State> = neighbours(state, [max_p, max_q, max_sp, max_sq], allow_constant)
            .into_iter()
            .filter(|&(p, q, sp, sq, c)| s.is_new(p, q, sp, sq, c))
            .collect();
        let threads = rayon::current_num_threads().max(1);
        for (i, &cand) in fresh.iter().enumerate() {
            let (p, q, sp, sq, c) = cand;
            if s.tried.len() >= st.nmodels {
                break;
            }
            let room = st.nmodels - s.tried.len();
            s.fit_ahead(&fresh[i..(i + threads.min(room)).min(fresh.len())]);
            if s.try_model(p, q, sp, sq, c) {
                state = cand;
                break;
            }
        }
    }
}

type State = (usize, usize, usize, usize, bool);

/// The neighbours of `state` in statsforecast's order: seasonal moves, non-seasonal moves,
/// then the constant toggled.
fn neighbours(state: State, max: [usize; 4], allow_constant: bool) -> Vec<State> {
    let (p, q, sp, sq, c) = state;
    let [max_p, max_q, max_sp, max_sq] = max;
    let steps = |a: usize, b: usize, max_a: usize, max_b: usize| -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        let (ai, bi) = (a as isize, b as isize);
        for (da, db) in [
            (-1, 0),
            (0, -1),
            (1, 0),
            (0, 1),
            (-1, -1),
            (-1, 1),
            (1, -1),
            (1, 1),
        ] {
            let (na, nb) = (ai + da, bi + db);
            if na >= 0 && nb >= 0 && na as usize <= max_a && nb as usize <= max_b {
                v.push((na as usize, nb as usize));
            }
        }
        v
    };
    let mut out: Vec<State> = steps(sp, sq, max_sp, max_sq)
        .into_iter()
        .map(|(a, b)| (p, q, a, b, c))
        .collect();
    out.extend(
        steps(p, q, max_p, max_q)
            .into_iter()
            .map(|(a, b)| (a, b, sp, sq, c)),
    );
    if allow_constant {
        out.push((p, q, sp, sq, !c));
    }
    out
}
