//! Exact gradient of the Kalman log-likelihood by reverse mode (the adjoint of the filter).
//!
//! Finite differences cost k + 1 (forward) or 2k (central) likelihood evaluations per
//! gradient and carry truncation noise that slows L-BFGS near the optimum. Here one forward
//! pass records what the backward pass needs (innovations, the filtered first ARMA state and,
//! while the covariance still moves, its first column), then one backward pass propagates
//! adjoints through the ARMA-block filter, the diffuse burn-in and the stationary
//! initialisation. A gradient costs about two to three likelihood evaluations whatever k is.
//!
//! The gradient is taken w.r.t. the quantities the state space is built from (reduced AR
//! coefficients φ*, the selection vector r, σ², trend and regression coefficients) and then
//! chained to the model parameters through the lag-polynomial products ([`param_grad`]) and
//! to the optimiser's unconstrained parameters through the Monahan/Jones transform
//! (`transforms::transform_params_vjp`).
//!
//! Covers the default path of `kalman::run` (approximate diffuse initialisation, no missing
//! values); the exact-diffuse filter keeps finite differences. Adjoints of the symmetric
//! covariances are kept symmetric: every producer of P yields P[i][j] and P[j][i] by the same
//! formula, so only P̄ + P̄' matters and contributions to one entry are split over the pair.

use super::kalman::{ArmaFilter, Filter, Recorder};
use super::spec::Layout;
use super::statespace::{Ssm, lyapunov_doubling};

/// ∂llf with respect to the building blocks of an [`Ssm`].
#[derive(Debug)]
pub(crate) struct SsmGrad {
    /// w.r.t. `ssm.ar` (φ*), padded to k_order.
    pub ar: Vec<f64>,
    /// w.r.t. `ssm.r` (entry 0 is the constant 1 and is ignored).
    pub r: Vec<f64>,
    pub sigma2: f64,
    /// w.r.t. the trend coefficients, in `ssm.trend` order.
    pub trend: Vec<f64>,
    pub beta: Vec<f64>,
}

/// A recorded forward pass: what the backward pass needs. Reusable across calls (the
/// buffers keep their capacity), so an optimiser can record while evaluating f and run only
/// the backward pass when it then asks for the gradient at the same point.
#[derive(Debug, Default)]
pub(crate) struct Tape {
    k: usize,
    v: Vec<f64>,
    /// Filtered first ARMA state (it multiplies φ* in the prediction).
    a0: Vec<f64>,
    /// First column of the predicted covariance, per step while it still moves.
    cols: Vec<f64>,
    moving: usize,
    /// First column of the frozen covariance once the filter is steady.
    frozen: Vec<f64>,
    /// Burn-in: state mean and covariance before each update, flat.
    snap_a: Vec<f64>,
    snap_p: Vec<f64>,
    /// Stationary covariance of the ARMA block (the initial P there).
    sigma0: Vec<f64>,
}

impl Recorder for Tape {
    #[inline]
    fn step(&mut self, v: f64, a0: f64, p: &[f64], steady: bool) {
        self.v.push(v);
        self.a0.push(a0);
        let k = self.k;
        if !steady {
            self.cols.extend_from_slice(&p[..k]);
            self.moving += 1;
        } else if self.frozen.is_empty() {
            self.frozen.extend_from_slice(&p[..k]);
        }
    }
}

#[inline]
fn trend_factor(pw: u32, t: usize) -> f64 {
    if pw == 0 { 1.0 } else { (t + 1) as f64 }
}

/// Log-likelihood (burn = d + D·s, as `kalman::loglike`) and its gradient. `None` when the
/// filter cannot run (non-stationary AR part, innovation variance breaking down) or the data
/// have missing values (which fits reject before optimising).
#[cfg(test)]
pub(crate) fn loglike_grad(ssm: &Ssm, y: &[f64], exog: &[&[f64]]) -> Option<(f64, SsmGrad)> {
    let mut tape = Tape::default();
    let llf = tape.forward(ssm, y, exog)?;
    Some((llf, tape.backward(ssm, y, exog)?))
}

impl Tape {
    /// Run the filter of `kalman::run` (same arithmetic, so the same log-likelihood to the
    /// last bit) and record it. `None` where `kalman::loglike` would give NaN, or when `y`
    /// has missing values (not covered by the backward pass; fits reject them up front, so
    /// the objective's +∞ for `None` never stands in for a likelihood that exists).
    pub(crate) fn forward(&mut self, ssm: &Ssm, y: &[f64], exog: &[&[f64]]) -> Option<f64> {
        let (m, kd, k) = (ssm.m, ssm.k_diff, ssm.k_order);
        self.k = k;
        self.v.clear();
        self.a0.clear();
        self.cols.clear();
        self.moving = 0;
        self.frozen.clear();
        self.snap_a.clear();
        self.snap_p.clear();
        self.sigma0.clear();
        if y.len() <= kd || !y.iter().all(|v| v.is_finite()) {
            return None;
        }
        let has_exog = !ssm.beta.is_empty();
        let has_trend = ssm.has_trend();
        let mut f = Filter::new(ssm)?;
        f.steady_after = kd + 1;
        self.sigma0
            .extend((0..k * k).map(|e| f.p[(kd + e / k) * m + kd + e % k]));
        for (t, &yt) in y.iter().enumerate().take(kd) {
            self.snap_a.extend_from_slice(&f.a);
            self.snap_p.extend_from_slice(&f.p);
            let d = if has_exog {
                ssm.obs_intercept(exog, t)
            } else {
                0.0
            };
            match f.update(yt, d) {
                Ok(Some(_)) => {}
                _ => return None,
            }
            f.predict(if has_trend { ssm.intercept(t) } else { 0.0 });
        }
        let mut llf = 0.0;
        ArmaFilter::from_full(&f).run(y, exog, kd, |_, l| llf += l, self)?;
        llf.is_finite().then_some(llf)
    }

    /// The gradient of the log-likelihood recorded by the last [`Tape::forward`] on `ssm`.
    pub(crate) fn backward(&self, ssm: &Ssm, y: &[f64], exog: &[&[f64]]) -> Option<SsmGrad> {
        let (m, kd, k) = (ssm.m, ssm.k_diff, ssm.k_order);
        let n = y.len();
        let steps = n - kd;
        let tape = self;
        let sigma0 = &self.sigma0;
        let has_trend = ssm.has_trend();
        let mut g = SsmGrad {
            ar: vec![0.0; k],
            r: vec![0.0; k],
            sigma2: 0.0,
            trend: vec![0.0; ssm.trend.len()],
            beta: vec![0.0; ssm.beta.len()],
        };
        let mut phi = vec![0.0; k];
        phi[..ssm.ar.len()].copy_from_slice(&ssm.ar);
        let (r, s2) = (&ssm.r, ssm.sigma2);
        let (ts, tc, tv) = (&ssm.t_start, &ssm.t_col, &ssm.t_val);

        // ---- backward through the ARMA block ----
        let mut abar = vec![0.0; k];
        let mut pbar = vec![0.0; k * k];
        let mut pbar_prev = vec![0.0; k * k];
        let mut adbar = vec![0.0; kd];
        let mut adbar_tmp = vec![0.0; kd];
        let mut atil = vec![0.0; k];
        let mut cbar = vec![0.0; k];
        // Gain column shifted up by one (c_{j+1}, with c_k = 0).
        let mut cs = vec![0.0; k];
        let zd = &ssm.z_idx[..ssm.z_idx.len() - 1];
        for idx in (0..steps).rev() {
            let t = kd + idx;
            let moving = idx < tape.moving;
            let c: &[f64] = if moving {
                &tape.cols[idx * k..(idx + 1) * k]
            } else {
                &tape.frozen
            };
            let fv = c[0];
            let v = tape.v[idx];
            cbar.iter_mut().for_each(|x| *x = 0.0);
            let mut fbar = 0.0;
            if moving {
                // P⁺[i][j] = P[i+1][j+1] − c_{i+1} c_{j+1} / F + σ² r_i r_j
                let finv = 1.0 / fv;
                cs[..k - 1].copy_from_slice(&c[1..]);
                let mut quad = 0.0;
                let mut s2b = 0.0;
                for i in 0..k {
                    let row = &pbar[i * k..(i + 1) * k];
                    let (mut qi, mut ui) = (0.0, 0.0);
                    for ((p, cj), rj) in row.iter().zip(&cs).zip(r) {
                        qi += p * cj;
                        ui += p * rj;
                    }
                    if i + 1 < k {
                        cbar[i + 1] -= 2.0 * qi * finv;
                        quad += cs[i] * qi;
                    }
                    s2b += r[i] * ui;
                    g.r[i] += 2.0 * s2 * ui;
                }
                fbar += quad * finv * finv;
                g.sigma2 += s2b;
                // P̄_t[i+1][j+1] = P̄_{t+1}[i][j]; row and column 0 get the gain terms below.
                pbar_prev[..k].iter_mut().for_each(|x| *x = 0.0);
                for i in 0..k - 1 {
                    pbar_prev[(i + 1) * k] = 0.0;
                    pbar_prev[(i + 1) * k + 1..(i + 2) * k]
                        .copy_from_slice(&pbar[i * k..i * k + k - 1]);
                }
                std::mem::swap(&mut pbar, &mut pbar_prev);
            }
            // Prediction a⁺[i] = φ_i ã_0 + ã_{i+1} (+ trend on the first state).
            if has_trend {
                for (tb, &(pw, _)) in g.trend.iter_mut().zip(&ssm.trend) {
                    *tb += abar[0] * trend_factor(pw, t);
                }
            }
            let a0f = tape.a0[idx];
            let mut at0 = 0.0;
            for i in 0..k {
                g.ar[i] += abar[i] * a0f;
                at0 += phi[i] * abar[i];
            }
            atil[0] = at0;
            atil[1..k].copy_from_slice(&abar[..k - 1]);
            // Differencing states: a_d⁺ = T_d [a_d; w].
            let mut wbar = 0.0;
            if kd > 0 {
                adbar_tmp.iter_mut().for_each(|x| *x = 0.0);
                for (i, &gi) in adbar.iter().enumerate() {
                    if gi == 0.0 {
                        continue;
                    }
                    for e in ts[i]..ts[i + 1] {
                        if tc[e] < kd {
                            adbar_tmp[tc[e]] += tv[e] * gi;
                        } else {
                            wbar += tv[e] * gi;
                        }
                    }
                }
                std::mem::swap(&mut adbar, &mut adbar_tmp);
            }
            // Update ã = a + c · v/F.
            let kv = v / fv;
            let mut kvbar = 0.0;
            for i in 0..k {
                kvbar += atil[i] * c[i];
                cbar[i] += atil[i] * kv;
            }
            abar.copy_from_slice(&atil);
            let mut vbar = kvbar / fv;
            fbar -= kvbar * kv / fv;
            // ℓ = −½ (ln 2π + ln F + v²/F)
            fbar += -0.5 * (1.0 / fv - kv * kv);
            vbar -= kv;
            // v = w − a_0, w = y − x'β − Σ differencing levels.
            wbar += vbar;
            abar[0] -= vbar;
            for (bb, col) in g.beta.iter_mut().zip(exog) {
                *bb -= wbar * col[t];
            }
            for &j in zd {
                adbar[j] -= wbar;
            }
            // F = P[0][0], c = P[:,0].
            pbar[0] += fbar + cbar[0];
            for i in 1..k {
                pbar[i * k] += 0.5 * cbar[i];
                pbar[i] += 0.5 * cbar[i];
            }
        }

        // ---- backward through the burn-in on the full state ----
        let mut ab = vec![0.0; m];
        ab[..kd].copy_from_slice(&adbar);
        ab[kd..].copy_from_slice(&abar);
        let mut pb = vec![0.0; m * m];
        for i in 0..k {
            pb[(kd + i) * m + kd..(kd + i) * m + kd + k].copy_from_slice(&pbar[i * k..(i + 1) * k]);
        }
        if kd > 0 {
            burn_in_backward(ssm, y, exog, self, &phi, &mut ab, &mut pb, &mut g);
        }

        // ---- backward through the initialisation ----
        // Stationary mean of the ARMA block: x0 = c0 / (1 − Σφ), a_i = x0 Σ_{j≥i} φ_j.
        let c0 = ssm.intercept(0);
        let sum: f64 = ssm.ar.iter().sum();
        let den = 1.0 - sum;
        let x0 = c0 / den;
        let mut x0bar = ab[kd];
        for i in 1..k {
            let tail: f64 = ssm.ar.iter().skip(i).sum();
            x0bar += ab[kd + i] * tail;
            for j in i..ssm.ar.len() {
                g.ar[j] += ab[kd + i] * x0;
            }
        }
        for j in 0..ssm.ar.len() {
            g.ar[j] += x0bar * c0 / (den * den);
        }
        for tb in &mut g.trend {
            *tb += x0bar / den;
        }
        // Stationary covariance Σ = T Σ T' + σ² r r': with X the solution of the adjoint
        // equation X = T' X T + Σ̄, T̄ = 2 X T Σ and (σ² r r')‾ = X.
        let mut sbar = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                sbar[i * k + j] = 0.5 * (pb[(kd + i) * m + kd + j] + pb[(kd + j) * m + kd + i]);
            }
        }
        let mut tt = vec![0.0; k * k];
        for i in 0..k {
            tt[i] = phi[i]; // T' has φ in its first row
            if i + 1 < k {
                tt[(i + 1) * k + i] = 1.0;
            }
        }
        let x = lyapunov_doubling(tt, sbar, k)?;
        let w: Vec<f64> = (0..k)
            .map(|j| phi[j] * sigma0[0] + if j + 1 < k { sigma0[(j + 1) * k] } else { 0.0 })
            .collect();
        for i in 0..k {
            let row = &x[i * k..(i + 1) * k];
            g.ar[i] += 2.0 * row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
            let xr: f64 = row.iter().zip(r).map(|(a, b)| a * b).sum();
            g.sigma2 += r[i] * xr;
            g.r[i] += 2.0 * s2 * xr;
        }
        if !(g.sigma2.is_finite() && g.ar.iter().all(|v| v.is_finite())) {
            return None;
        }
        Some(g)
    }
}

/// Adjoint of the burn-in steps of `kalman::run` (update then predict on the full state),
/// from the adjoints `ab`, `pb` of the state handed to the ARMA filter back to those of the
/// initial state.
#[allow(clippy::too_many_arguments)]
fn burn_in_backward(
    ssm: &Ssm,
    y: &[f64],
    exog: &[&[f64]],
    tape: &Tape,
    phi: &[f64],
    ab: &mut [f64],
    pb: &mut [f64],
    g: &mut SsmGrad,
) {
    let (m, kd, k) = (ssm.m, ssm.k_diff, ssm.k_order);
    let (ts, tc, tv) = (&ssm.t_start, &ssm.t_col, &ssm.t_val);
    let (r, s2) = (&ssm.r, ssm.sigma2);
    let z = &ssm.z_idx;
    let mut pz = vec![0.0; m];
    let mut au = vec![0.0; m];
    let mut pu = vec![0.0; m * m];
    let mut tpcol = vec![0.0; m];
    let mut tmp = vec![0.0; m * m];
    let mut pbu = vec![0.0; m * m];
    let mut abu = vec![0.0; m];
    let mut q = vec![0.0; m];
    for t in (0..kd).rev() {
        let a = &tape.snap_a[t * m..(t + 1) * m];
        let p = &tape.snap_p[t * m * m..(t + 1) * m * m];
        // Recompute the update: pz = P z, f = z'P z, v = y − d − z'a.
        for i in 0..m {
            pz[i] = z.iter().map(|&j| p[i * m + j]).sum();
        }
        let fz: f64 = z.iter().map(|&j| pz[j]).sum();
        let d = if ssm.beta.is_empty() {
            0.0
        } else {
            ssm.obs_intercept(exog, t)
        };
        let v = y[t] - d - z.iter().map(|&j| a[j]).sum::<f64>();
        let kvz = v / fz;
        for i in 0..m {
            au[i] = a[i] + pz[i] * kvz;
            for j in 0..m {
                pu[i * m + j] = p[i * m + j] - pz[i] * pz[j] / fz;
            }
        }
        // Predict adjoint: a⁺ = T a_u + c e_kd, P⁺ = T P_u T' + σ² r r' (ARMA block).
        for (tb, &(pw, _)) in g.trend.iter_mut().zip(&ssm.trend) {
            *tb += ab[kd] * trend_factor(pw, t);
        }
        for row in 0..m {
            tpcol[row] = (ts[row]..ts[row + 1])
                .map(|e| tv[e] * pu[tc[e] * m + kd])
                .sum();
        }
        for i in 0..k.min(phi.len()) {
            let rowb = &pb[(kd + i) * m..(kd + i + 1) * m];
            let tp: f64 = rowb.iter().zip(&tpcol).map(|(a, b)| a * b).sum();
            g.ar[i] += ab[kd + i] * au[kd] + 2.0 * tp;
        }
        for i in 0..k {
            let row = &pb[(kd + i) * m + kd..(kd + i) * m + kd + k];
            let u: f64 = row.iter().zip(r).map(|(a, b)| a * b).sum();
            g.sigma2 += r[i] * u;
            g.r[i] += 2.0 * s2 * u;
        }
        abu.iter_mut().for_each(|x| *x = 0.0);
        for row in 0..m {
            for e in ts[row]..ts[row + 1] {
                abu[tc[e]] += tv[e] * ab[row];
            }
        }
        // P̄_u = T' P̄⁺ T, via tmp = P̄⁺ T.
        tmp.iter_mut().for_each(|x| *x = 0.0);
        for row in 0..m {
            for e in ts[row]..ts[row + 1] {
                let (c, val) = (tc[e], tv[e]);
                for i in 0..m {
                    tmp[i * m + c] += pb[i * m + row] * val;
                }
            }
        }
        pbu.iter_mut().for_each(|x| *x = 0.0);
        for row in 0..m {
            for e in ts[row]..ts[row + 1] {
                let (c, val) = (tc[e], tv[e]);
                for j in 0..m {
                    pbu[c * m + j] += val * tmp[row * m + j];
                }
            }
        }
        // Update adjoint: a_u = a + pz v/f, P_u = P − pz pz'/f.
        let s1: f64 = abu.iter().zip(&pz).map(|(a, b)| a * b).sum();
        let vbar = s1 / fz;
        let mut fbar = -s1 * v / (fz * fz);
        for i in 0..m {
            q[i] = (0..m).map(|j| pbu[i * m + j] * pz[j]).sum();
        }
        fbar += pz.iter().zip(&q).map(|(a, b)| a * b).sum::<f64>() / (fz * fz);
        let mut pzbar: Vec<f64> = (0..m).map(|i| abu[i] * kvz - 2.0 * q[i] / fz).collect();
        for &j in z {
            pzbar[j] += fbar;
        }
        ab.copy_from_slice(&abu);
        pb.copy_from_slice(&pbu);
        for i in 0..m {
            let h = 0.5 * pzbar[i];
            for &j in z {
                pb[i * m + j] += h;
                pb[j * m + i] += h;
            }
        }
        for &j in z {
            ab[j] -= vbar;
        }
        for (bb, col) in g.beta.iter_mut().zip(exog) {
            *bb -= vbar * col[t];
        }
    }
}

/// Chain an [`SsmGrad`] to the model parameters (statsmodels order) through the lag
/// polynomial products: φ* = −coef of (1 − φ(L))(1 − Φ(L^s)), r = coef of (1 + θ(L))(1 + Θ(L^s)).
pub(crate) fn param_grad(l: &Layout, params: &[f64], sg: &SsmGrad, out: &mut [f64]) {
    out[..l.k_trend].copy_from_slice(&sg.trend);
    out[l.i_exog()..l.i_ar()].copy_from_slice(&sg.beta);
    let s = l.s.max(1);
    let ar = &params[l.i_ar()..l.i_ma()];
    let ma = &params[l.i_ma()..l.i_sar()];
    let sar = &params[l.i_sar()..l.i_sma()];
    let sma = &params[l.i_sma()..l.i_sigma2()];
    // Coefficient of L^lag in a seasonal polynomial 1 + sign·Σ c_j L^{js}, and in a regular one.
    let seas = |c: &[f64], sign: f64, lag: usize| -> f64 {
        if lag == 0 {
            1.0
        } else if lag.is_multiple_of(s) && lag / s <= c.len() {
            sign * c[lag / s - 1]
        } else {
            0.0
        }
    };
    let reg = |c: &[f64], sign: f64, lag: usize| -> f64 {
        if lag == 0 {
            1.0
        } else if lag <= c.len() {
            sign * c[lag - 1]
        } else {
            0.0
        }
    };
    // φ*_lag is sg.ar[lag − 1]; ∂φ*_lag/∂φ_i = B_{lag−i}, ∂φ*_lag/∂Φ_j = A_{lag−js}.
    for i in 1..=l.p {
        out[l.i_ar() + i - 1] = (i..=l.k_ar)
            .map(|lag| sg.ar[lag - 1] * seas(sar, -1.0, lag - i))
            .sum();
    }
    for j in 1..=l.sp {
        out[l.i_sar() + j - 1] = (j * s..=l.k_ar)
            .map(|lag| sg.ar[lag - 1] * reg(ar, -1.0, lag - j * s))
            .sum();
    }
    // r_lag = M_lag; ∂M_lag/∂θ_i = S_{lag−i}, ∂M_lag/∂Θ_j = Ma_{lag−js}.
    let kr = l.k_order - 1;
    for i in 1..=l.q {
        out[l.i_ma() + i - 1] = (i..=kr.min(l.k_ma))
            .map(|lag| sg.r[lag] * seas(sma, 1.0, lag - i))
            .sum();
    }
    for j in 1..=l.sq {
        out[l.i_sma() + j - 1] = (j * s..=kr.min(l.k_ma))
            .map(|lag| sg.r[lag] * reg(ma, 1.0, lag - j * s))
            .sum();
    }
    out[l.i_sigma2()] = sg.sigma2;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::sarimax::kalman;
    use crate::models::sarimax::spec::{SarimaxSpec, Trend};

    fn series(n: usize) -> (Vec<f64>, Vec<f64>) {
        // Deterministic pseudo-random ARMA-ish data with a weekly pattern and a regressor.
        let mut s = 12345u64;
        let mut e = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let x: Vec<f64> = (0..n).map(|t| (t as f64 * 0.3).sin() + e()).collect();
        let mut y = Vec::with_capacity(n);
        let mut prev = 0.0;
        for (t, xt) in x.iter().enumerate() {
            prev = 0.6 * prev + e() + 2.0 * ((t % 7) as f64) / 7.0 + 0.8 * xt + 0.01 * t as f64;
            y.push(10.0 + prev);
        }
        (y, x)
    }

    fn check(spec: SarimaxSpec, params: &[f64]) {
        let (y, x) = series(160);
        let exog: Vec<&[f64]> = if spec.exog.is_empty() {
            vec![]
        } else {
            vec![&x]
        };
        let l = Layout::new(&spec);
        let ssm = Ssm::new(&spec, &l, params);
        let (llf, sg) = loglike_grad(&ssm, &y, &exog).expect("gradient");
        let want = kalman::loglike(&ssm, &y, &exog, l.k_diff);
        assert!((llf - want).abs() <= 1e-12 * want.abs(), "{llf} vs {want}");
        let mut g = vec![0.0; l.n_params];
        param_grad(&l, params, &sg, &mut g);
        for i in 0..l.n_params {
            let h = 1e-6 * params[i].abs().max(1e-2);
            let mut p = params.to_vec();
            p[i] += h;
            let up = kalman::loglike(&Ssm::new(&spec, &l, &p), &y, &exog, l.k_diff);
            p[i] -= 2.0 * h;
            let dn = kalman::loglike(&Ssm::new(&spec, &l, &p), &y, &exog, l.k_diff);
            let fd = (up - dn) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{spec:?} param {i}: adjoint {} vs differences {fd}",
                g[i]
            );
        }
    }

    #[test]
    fn adjoint_matches_differences() {
        check(
            SarimaxSpec::arima(2, 0, 1, Trend::C),
            &[3.0, 0.5, 0.2, 0.3, 0.4],
        );
        check(
            SarimaxSpec::arima(1, 1, 1, Trend::T),
            &[0.01, 0.4, -0.3, 0.5],
        );
        check(SarimaxSpec::arima(0, 2, 2, Trend::N), &[-0.5, 0.1, 0.7]);
        let mut s = SarimaxSpec::arima(1, 0, 1, Trend::Ct);
        s.seasonal = (1, 1, 1, 4);
        s.exog = vec!["x".into()];
        check(s, &[0.1, 0.01, 0.7, 0.5, -0.2, 0.3, -0.4, 0.6]);
        let mut s = SarimaxSpec::arima(1, 1, 0, Trend::N);
        s.seasonal = (1, 0, 1, 13); // k_order 14 > 12: doubling initialisation
        check(s, &[0.3, 0.4, -0.5, 0.6]);
        let mut s = SarimaxSpec::arima(0, 1, 1, Trend::N);
        s.seasonal = (0, 1, 1, 7);
        check(s, &[-0.4, -0.6, 0.5]);
    }
}
