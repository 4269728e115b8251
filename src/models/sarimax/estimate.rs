//! Maximum-likelihood estimation: checks on the data, objective −llf/nobs over unconstrained
//! parameters, OPG standard errors and information criteria (statsmodels' defaults).

use serde::{Deserialize, Serialize};

use super::grad::{Tape, param_grad};
use super::kalman;
use super::optim::{self, Objective, Settings};
use super::spec::{Layout, SarimaxSpec};
use super::start::{difference, start_params};
use super::statespace::Ssm;
use super::transforms::{transform_params, transform_params_vjp, untransform_params};
use crate::models::ModelError;

/// A fitted SARIMAX model: parameters by name and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarimaxFit {
    pub spec: SarimaxSpec,
    /// Parameter names in statsmodels' order (`intercept`, `drift`, exog, `ar.L1`, ...).
    pub names: Vec<String>,
    /// Constrained (model) parameter values, same order as `names`.
    pub params: Vec<f64>,
    /// Standard errors from the outer product of per-observation score vectors (statsmodels'
    /// default `cov_type="opg"`); NaN where they cannot be computed.
    #[serde(with = "crate::models::nonfinite::vec")]
    pub bse: Vec<f64>,
    pub llf: f64,
    pub aic: f64,
    pub bic: f64,
    pub hqic: f64,
    /// +∞ when there are too few observations for its correction.
    #[serde(with = "crate::models::nonfinite")]
    pub aicc: f64,
    /// Number of observations, and those counted in the likelihood (nobs − burn).
    pub nobs: usize,
    pub nobs_effective: usize,
    pub converged: bool,
    pub iterations: usize,
    pub message: String,
}

impl SarimaxFit {
    /// Value of the parameter called `name`.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.params[i])
    }
}

/// Options for [`fit_with`].
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Maximum L-BFGS iterations (statsmodels stops at 50; we go on to a tighter optimum).
    pub maxiter: usize,
    /// Gradient tolerance on −llf/nobs.
    pub pgtol: f64,
    /// Start from these constrained parameters instead of the OLS/CSS start values.
    pub start: Option<Vec<f64>>,
    /// Compute OPG standard errors (costs 2k extra filter passes).
    pub std_errors: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            maxiter: 500,
            pgtol: 1e-7,
            start: None,
            std_errors: true,
        }
    }
}

/// Checks shared by fitting and filtering: lengths and finiteness.
pub(crate) fn check_inputs(
    spec: &SarimaxSpec,
    y: &[f64],
    exog: &[&[f64]],
    allow_missing: bool,
) -> Result<(), ModelError> {
    spec.validate()?;
    if exog.len() != spec.exog.len() {
        return Err(spec.unsupported(format!(
            "expected {} exog column(s) {:?}, got {}",
            spec.exog.len(),
            spec.exog,
            exog.len()
        )));
    }
    for (name, col) in spec.exog.iter().zip(exog) {
        if col.len() < y.len() {
            return Err(spec.unsupported(format!(
                "exog column {name:?} has {} values for {} observations",
                col.len(),
                y.len()
            )));
        }
        if let Some(i) = col[..y.len()].iter().position(|v| !v.is_finite()) {
            return Err(spec.unsupported(format!(
                "exog column {name:?} has a non-finite value at row {i}"
            )));
        }
    }
    if let Some(i) = y
        .iter()
        .position(|v| v.is_infinite() || (!allow_missing && v.is_nan()))
    {
        return Err(spec.unsupported(format!("target has a non-finite value at row {i}")));
    }
    Ok(())
}

/// Checks that the data can identify the spec at all.
fn check_identifiable(
    spec: &SarimaxSpec,
    l: &Layout,
    y: &[f64],
    exog: &[&[f64]],
) -> Result<(), ModelError> {
    let n_eff = y.len().saturating_sub(l.k_diff);
    if n_eff < l.n_params + 1 || n_eff <= l.k_ar.max(l.k_ma) {
        return Err(spec.unsupported(format!(
            "series too short: {} observations, {} after the d + D·s = {} differencing states, \
             for {} parameters and lag polynomials of degree {}/{}",
            y.len(),
            n_eff,
            l.k_diff,
            l.n_params,
            l.k_ar,
            l.k_ma
        )));
    }
    let first = y[0];
    if y.iter().all(|v| *v == first) {
        return Err(spec.unsupported(
            "target is constant: the innovation variance is zero and the likelihood unbounded"
                .into(),
        ));
    }
    let dy = difference(y, l.d, l.sd, l.s);
    if l.k_exog == 0 && dy.iter().all(|v| *v == dy[0]) && l.k_trend == 0 {
        return Err(spec.unsupported(
            "differenced target is constant: nothing left for the ARMA part to explain".into(),
        ));
    }
    if l.k_exog > 0 {
        // Rank of the (differenced) regressor matrix: collinear columns make β unidentified.
        let n = y.len();
        let mut x = Vec::with_capacity(n * l.k_exog);
        for i in 0..n {
            for c in exog {
                x.push(c[i]);
            }
        }
        let xm = nalgebra::DMatrix::from_row_slice(n, l.k_exog, &x);
        let sv = xm.singular_values();
        let smax = sv.iter().fold(0.0f64, |m, v| m.max(*v));
        let smin = sv.iter().fold(f64::INFINITY, |m, v| m.min(*v));
        if !(smax > 0.0) || smin <= 1e-10 * smax {
            return Err(spec.unsupported(format!(
                "exog matrix {:?} is singular (columns constant zero or collinear; \
                 condition number {:.3e})",
                spec.exog,
                smax / smin
            )));
        }
    }
    Ok(())
}

/// Log-likelihood at constrained parameters `params` (statsmodels' `loglike`, burn = d + D·s).
pub fn loglike(
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
) -> Result<f64, ModelError> {
    check_inputs(spec, y, exog, true)?;
    let l = Layout::new(spec);
    check_params(spec, &l, params)?;
    let ssm = Ssm::new(spec, &l, params);
    let llf = if spec.exact_diffuse {
        super::diffuse::loglike(&ssm, y, exog)
    } else {
        kalman::loglike(&ssm, y, exog, l.k_diff)
    };
    if llf.is_nan() {
        return Err(spec.numerical(
            "the Kalman filter broke down (non-stationary AR part or zero innovation variance)"
                .into(),
        ));
    }
    Ok(llf)
}

pub(crate) fn check_params(
    spec: &SarimaxSpec,
    l: &Layout,
    params: &[f64],
) -> Result<(), ModelError> {
    if params.len() != l.n_params {
        return Err(spec.unsupported(format!(
            "expected {} parameters {:?}, got {}",
            l.n_params,
            l.names(spec),
            params.len()
        )));
    }
    if params.iter().any(|v| !v.is_finite()) {
        return Err(spec.unsupported("parameters must be finite".into()));
    }
    Ok(())
}

/// Per-observation log-likelihood (0 for burned and missing observations).
pub fn loglike_obs(
    spec: &SarimaxSpec,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
) -> Result<Vec<f64>, ModelError> {
    check_inputs(spec, y, exog, true)?;
    let l = Layout::new(spec);
    check_params(spec, &l, params)?;
    llf_obs_raw(spec, &l, params, y, exog)
        .ok_or_else(|| spec.numerical("the Kalman filter broke down".into()))
}

fn llf_obs_raw(
    spec: &SarimaxSpec,
    l: &Layout,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
) -> Option<Vec<f64>> {
    let ssm = Ssm::new(spec, l, params);
    let mut out = vec![0.0; y.len()];
    if spec.exact_diffuse {
        super::diffuse::run(&ssm, y, exog, |t, v| out[t] = v)?;
    } else {
        kalman::run(&ssm, y, exog, |t, v| {
            if t >= l.k_diff {
                out[t] = v
            }
        })?;
    }
    Some(out)
}

/// Fit by maximum likelihood with default options.
pub fn fit(spec: &SarimaxSpec, y: &[f64], exog: &[&[f64]]) -> Result<SarimaxFit, ModelError> {
    fit_with(spec, y, exog, &FitOptions::default())
}

/// Fit by maximum likelihood. Errors when the data cannot support the spec; a fit that does
/// not converge is returned with `converged = false` and the reason in `message`.
pub fn fit_with(
    spec: &SarimaxSpec,
    y: &[f64],
    exog: &[&[f64]],
    opts: &FitOptions,
) -> Result<SarimaxFit, ModelError> {
    check_inputs(spec, y, exog, false)?;
    let l = Layout::new(spec);
    check_identifiable(spec, &l, y, exog)?;
    let start = match &opts.start {
        Some(s) => {
            check_params(spec, &l, s)?;
            s.clone()
        }
        None => start_params(&l, spec.trend.powers(), y, exog),
    };
    let mut x0 = vec![0.0; l.n_params];
    if untransform_params(&l, &start, &mut x0).is_none() {
        // The CSS start may sit on the boundary; zeros for the ARMA part are always valid.
        let mut s = start.clone();
        for v in &mut s[l.i_ar()..l.i_sigma2()] {
            *v = 0.0;
        }
        s[l.i_sigma2()] = s[l.i_sigma2()].abs().max(1e-10);
        untransform_params(&l, &s, &mut x0)
            .ok_or_else(|| spec.numerical("start parameters cannot be transformed".into()))?;
    }
    let burn = l.k_diff;
    let mut objective = NegLoglike {
        spec,
        l: &l,
        y,
        exog,
        nobs: y.len() as f64,
        c: vec![0.0; l.n_params],
        gc: vec![0.0; l.n_params],
        tape: Tape::default(),
        taped: None,
    };
    let arma = l.i_ar()..l.i_sigma2();
    let mut max_move = vec![f64::INFINITY; l.n_params];
    for v in &mut max_move[arma.clone()] {
        *v = 2.0;
    }
    let settings = Settings {
        maxiter: opts.maxiter,
        pgtol: opts.pgtol,
        max_move,
        arma: arma.clone(),
        ..Settings::default()
    };
    let mut out = optim::minimize_obj(&mut objective, &x0, &settings);
    // A fit that stalls, or ends with a partial autocorrelation at ±0.999 (an AR root or
    // MA root on the unit circle, often an AR/MA cancellation), may be a boundary trap:
    // try once more from white-noise ARMA start values and keep the better optimum.
    if (!out.converged || settings.on_boundary(&out.x)) && !arma.is_empty() && opts.start.is_none()
    {
        let mut x1 = x0.clone();
        x1[arma].iter_mut().for_each(|v| *v = 0.0);
        let alt = optim::minimize_obj(&mut objective, &x1, &settings);
        if alt.f.is_finite() && (alt.f < out.f || !out.f.is_finite()) {
            let mut iterations = out.iterations + alt.iterations;
            out = alt;
            if !out.converged {
                // The better run ran out of iterations: give it one more budget.
                let more = optim::minimize_obj(&mut objective, &out.x, &settings);
                iterations += more.iterations;
                if more.f.is_finite() && more.f <= out.f {
                    out = more;
                }
            }
            out.iterations = iterations;
            out.message = format!("{} (restarted from zero ARMA start values)", out.message);
        } else {
            out.iterations += alt.iterations;
        }
    }
    if !out.f.is_finite() {
        return Err(spec.numerical(out.message));
    }
    let mut params = vec![0.0; l.n_params];
    transform_params(&l, &out.x, &mut params);
    let llf = loglike(spec, &params, y, exog)?;
    let bse = if opts.std_errors {
        opg_std_errors(spec, &l, &params, y, exog)
    } else {
        vec![f64::NAN; l.n_params]
    };
    let nobs_eff = y.len() - if spec.exact_diffuse { 0 } else { burn };
    // statsmodels counts the exactly diffuse states as estimated quantities in the criteria.
    let k = (l.n_params + if spec.exact_diffuse { l.k_diff } else { 0 }) as f64;
    let ne = nobs_eff as f64;
    let aic = -2.0 * llf + 2.0 * k;
    Ok(SarimaxFit {
        spec: spec.clone(),
        names: l.names(spec),
        params,
        bse,
        llf,
        aic,
        bic: -2.0 * llf + k * ne.ln(),
        hqic: -2.0 * llf + 2.0 * k * ne.ln().ln(),
        aicc: if ne - k - 1.0 > 0.0 {
            aic + 2.0 * k * (k + 1.0) / (ne - k - 1.0)
        } else {
            f64::INFINITY
        },
        nobs: y.len(),
        nobs_effective: nobs_eff,
        converged: out.converged,
        iterations: out.iterations,
        message: out.message,
    })
}

/// The optimiser's objective: −llf/nobs over unconstrained parameters, with the exact
/// adjoint gradient where the filter supports it (see `grad`).
struct NegLoglike<'a> {
    spec: &'a SarimaxSpec,
    l: &'a Layout,
    y: &'a [f64],
    exog: &'a [&'a [f64]],
    nobs: f64,
    /// Constrained parameters and their gradient (scratch).
    c: Vec<f64>,
    gc: Vec<f64>,
    /// The last forward pass and the point and model it was run at: L-BFGS asks for the
    /// gradient at the point its line search just accepted, so only the backward pass is left.
    tape: Tape,
    taped: Option<(Vec<f64>, Ssm)>,
}

impl Objective for NegLoglike<'_> {
    fn value(&mut self, x: &[f64]) -> f64 {
        transform_params(self.l, x, &mut self.c);
        let ssm = Ssm::new(self.spec, self.l, &self.c);
        let llf = if self.spec.exact_diffuse {
            super::diffuse::loglike(&ssm, self.y, self.exog)
        } else {
            // Same filter and arithmetic as `kalman::loglike`, recorded for the gradient.
            match self.tape.forward(&ssm, self.y, self.exog) {
                Some(llf) => {
                    self.taped = Some((x.to_vec(), ssm));
                    llf
                }
                None => {
                    self.taped = None;
                    f64::NAN
                }
            }
        };
        if llf.is_finite() {
            -llf / self.nobs
        } else {
            f64::INFINITY
        }
    }

    fn gradient(&mut self, x: &[f64], fx: f64, g: &mut [f64], central: bool) -> bool {
        if !self.spec.exact_diffuse {
            if !matches!(&self.taped, Some((tx, _)) if tx.as_slice() == x) {
                self.value(x);
            }
            if let Some((_, ssm)) = &self.taped
                && let Some(sg) = self.tape.backward(ssm, self.y, self.exog)
            {
                // `self.c` holds the constrained parameters of `x`: the recorded pass was the
                // last `value` call, and it was at `x`.
                param_grad(self.l, &self.c, &sg, &mut self.gc);
                transform_params_vjp(self.l, x, &self.gc, g);
                g.iter_mut().for_each(|v| *v /= -self.nobs);
                if g.iter().all(|v| v.is_finite()) {
                    return true;
                }
            }
        }
        optim::fd_gradient(self, x, fx, g, central);
        false
    }
}

/// OPG covariance: inverse of Σ_t s_t s_t' with s_t the gradient of the t-th log-likelihood
/// term in the constrained parameters (central differences).
fn opg_std_errors(
    spec: &SarimaxSpec,
    l: &Layout,
    params: &[f64],
    y: &[f64],
    exog: &[&[f64]],
) -> Vec<f64> {
    let k = l.n_params;
    let n = y.len();
    let mut scores = vec![0.0; n * k];
    let mut p = params.to_vec();
    for i in 0..k {
        let h = 1e-5 * params[i].abs().max(1e-2);
        p[i] = params[i] + h;
        let up = llf_obs_raw(spec, l, &p, y, exog);
        p[i] = params[i] - h;
        let dn = llf_obs_raw(spec, l, &p, y, exog);
        p[i] = params[i];
        match (up, dn) {
            (Some(u), Some(d)) => {
                for t in 0..n {
                    scores[t * k + i] = (u[t] - d[t]) / (2.0 * h);
                }
            }
            _ => return vec![f64::NAN; k],
        }
    }
    let mut info = vec![0.0; k * k];
    for t in 0..n {
        let s = &scores[t * k..(t + 1) * k];
        for a in 0..k {
            for b in 0..k {
                info[a * k + b] += s[a] * s[b];
            }
        }
    }
    // Parameters live on wildly different scales (sigma2 ~ 1e9 on raw dollar data next to AR
    // coefficients ~ 1), so the information matrix is equilibrated by its diagonal before the
    // (pseudo-)inverse; a tolerance relative to the unscaled norm would drop sigma2's direction.
    let d: Vec<f64> = (0..k)
        .map(|i| {
            let v = info[i * k + i];
            if v > 0.0 && v.is_finite() {
                v.sqrt()
            } else {
                f64::NAN
            }
        })
        .collect();
    if d.iter().any(|v| v.is_nan()) {
        return vec![f64::NAN; k];
    }
    let m = nalgebra::DMatrix::from_fn(k, k, |a, b| info[a * k + b] / (d[a] * d[b]));
    match m.pseudo_inverse(1e-12) {
        Ok(cov) => (0..k)
            .map(|i| {
                let v = cov[(i, i)] / (d[i] * d[i]);
                if v >= 0.0 { v.sqrt() } else { f64::NAN }
            })
            .collect(),
        Err(_) => vec![f64::NAN; k],
    }
}
