//! Kalman filter for the univariate SARIMAX state space: exact Gaussian log-likelihood,
//! predicted moments for forecasting. Buffers are allocated once per filter, never per step.

use super::statespace::Ssm;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Filter state: predicted mean `a` and covariance `p` (row-major m×m) for the next time.
#[derive(Debug, Clone)]
pub(crate) struct Filter<'a> {
    pub ssm: &'a Ssm,
    pub a: Vec<f64>,
    pub p: Vec<f64>,
    tmp: Vec<f64>,
    pz: Vec<f64>,
    a_tmp: Vec<f64>,
    /// Predicted P of the previous step, to detect convergence to the steady state.
    p_prev: Vec<f64>,
    f_steady: f64,
    /// Once P stops changing (relative 1e-13) the covariance recursion is frozen: only the
    /// mean is updated, O(m · nnz) per step instead of O(m²). Off again after a missing value.
    pub steady: bool,
    /// Steady-state detection only after this many steps (the diffuse burn-in).
    pub steady_after: usize,
    steps: usize,
}

/// Relative change of P below which the filter is treated as converged. Freezing then
/// changes the log-likelihood by far less than 1e-10 relative.
const STEADY_TOL: f64 = 1e-13;

/// One observation's innovation `v` and its variance `f`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Innovation {
    pub v: f64,
    pub f: f64,
}

impl Innovation {
    #[inline]
    pub fn loglike(&self) -> f64 {
        -0.5 * (LN_2PI + self.f.ln() + self.v * self.v / self.f)
    }
}

/// A filter's position without its borrow of the model: what forecasts from the same point
/// start from again (a served model forecasts from the end of one fixed history).
#[derive(Debug, Clone)]
pub(crate) struct FilterState {
    a: Vec<f64>,
    p: Vec<f64>,
    pz: Vec<f64>,
    p_prev: Vec<f64>,
    f_steady: f64,
    steady: bool,
    steady_after: usize,
    steps: usize,
}

impl<'a> Filter<'a> {
    /// The position reached, to [`resume`](Self::resume) from later.
    pub fn state(&self) -> FilterState {
        FilterState {
            a: self.a.clone(),
            p: self.p.clone(),
            pz: self.pz.clone(),
            p_prev: self.p_prev.clone(),
            f_steady: self.f_steady,
            steady: self.steady,
            steady_after: self.steady_after,
            steps: self.steps,
        }
    }

    /// The filter at `s` on `ssm` (the model `s` was taken from): continues exactly as the
    /// filter `s` was taken from would have (the scratch buffers hold nothing between steps).
    pub fn resume(ssm: &'a Ssm, s: FilterState) -> Filter<'a> {
        let m = ssm.m;
        Filter {
            ssm,
            a: s.a,
            p: s.p,
            tmp: vec![0.0; m * m],
            pz: s.pz,
            a_tmp: vec![0.0; m],
            p_prev: s.p_prev,
            f_steady: s.f_steady,
            steady: s.steady,
            steady_after: s.steady_after,
            steps: s.steps,
        }
    }

    /// Start at the default initialisation; `None` when the AR part is not stationary.
    pub fn new(ssm: &'a Ssm) -> Option<Filter<'a>> {
        if !ssm.is_stationary() {
            return None;
        }
        let (a, p) = ssm.initial(false)?;
        let m = ssm.m;
        Some(Filter {
            ssm,
            a,
            p,
            tmp: vec![0.0; m * m],
            pz: vec![0.0; m],
            a_tmp: vec![0.0; m],
            p_prev: vec![0.0; m * m],
            f_steady: f64::NAN,
            steady: false,
            steady_after: usize::MAX,
            steps: 0,
        })
    }

    /// Forecast of the next observation: (mean without obs intercept, variance).
    #[inline]
    pub fn moments(&self) -> (f64, f64) {
        let m = self.ssm.m;
        let z = &self.ssm.z_idx;
        let mean: f64 = z.iter().map(|&i| self.a[i]).sum();
        let mut var = 0.0;
        for &i in z {
            for &j in z {
                var += self.p[i * m + j];
            }
        }
        (mean, var)
    }

    /// Condition on observation `y` (NaN = missing) with observation intercept `d`.
    /// Returns the innovation, or `None` for a missing value; `Err` when the innovation
    /// variance is not positive and finite.
    #[inline]
    pub fn update(&mut self, y: f64, d: f64) -> Result<Option<Innovation>, ()> {
        if y.is_nan() {
            self.steady = false;
            return Ok(None);
        }
        let m = self.ssm.m;
        let z = &self.ssm.z_idx;
        let mut zy = 0.0;
        for &j in z {
            zy += self.a[j];
        }
        if self.steady {
            let f = self.f_steady;
            let v = y - d - zy;
            let k = v / f;
            for i in 0..m {
                self.a[i] += self.pz[i] * k;
            }
            return Ok(Some(Innovation { v, f }));
        }
        for i in 0..m {
            let row = &self.p[i * m..(i + 1) * m];
            let mut acc = 0.0;
            for &j in z {
                acc += row[j];
            }
            self.pz[i] = acc;
        }
        let mut f = 0.0;
        for &j in z {
            f += self.pz[j];
        }
        if !(f > 0.0 && f.is_finite()) {
            return Err(());
        }
        let v = y - d - zy;
        let k = v / f;
        for i in 0..m {
            self.a[i] += self.pz[i] * k;
        }
        self.f_steady = f;
        let finv = 1.0 / f;
        for i in 0..m {
            let pi = self.pz[i] * finv;
            if pi == 0.0 {
                continue;
            }
            let row = &mut self.p[i * m..(i + 1) * m];
            for (x, pj) in row.iter_mut().zip(&self.pz) {
                *x -= pi * pj;
            }
        }
        Ok(Some(Innovation { v, f }))
    }

    /// Move to the next time: a ← T a + c·e_k, P ← T P T' + σ² r r' (ARMA block).
    #[inline]
    pub fn predict(&mut self, c: f64) {
        let ssm = self.ssm;
        let m = ssm.m;
        let (ts, tc, tv) = (&ssm.t_start, &ssm.t_col, &ssm.t_val);
        for i in 0..m {
            let mut acc = 0.0;
            for e in ts[i]..ts[i + 1] {
                acc += tv[e] * self.a[tc[e]];
            }
            self.a_tmp[i] = acc;
        }
        std::mem::swap(&mut self.a, &mut self.a_tmp);
        self.a[ssm.k_diff] += c;
        self.steps += 1;
        if self.steady {
            return;
        }
        let check = self.steps > self.steady_after;
        // tmp = T P (rows of T are sparse)
        for i in 0..m {
            let out = &mut self.tmp[i * m..(i + 1) * m];
            out.iter_mut().for_each(|v| *v = 0.0);
            for e in ts[i]..ts[i + 1] {
                let (col, val) = (tc[e], tv[e]);
                let src = &self.p[col * m..(col + 1) * m];
                if val == 1.0 {
                    for j in 0..m {
                        out[j] += src[j];
                    }
                } else {
                    for j in 0..m {
                        out[j] += val * src[j];
                    }
                }
            }
        }
        // P = (T P) T' on the upper triangle, mirrored: exact symmetry for free.
        for i in 0..m {
            let row = &self.tmp[i * m..(i + 1) * m];
            for j in i..m {
                let mut acc = 0.0;
                for e in ts[j]..ts[j + 1] {
                    acc += tv[e] * row[tc[e]];
                }
                self.p[i * m + j] = acc;
            }
        }
        let kd = ssm.k_diff;
        let s2 = ssm.sigma2;
        for i in 0..ssm.k_order {
            let ri = ssm.r[i] * s2;
            if ri == 0.0 {
                continue;
            }
            for j in i..ssm.k_order {
                self.p[(kd + i) * m + kd + j] += ri * ssm.r[j];
            }
        }
        for i in 0..m {
            for j in 0..i {
                self.p[i * m + j] = self.p[j * m + i];
            }
        }
        if check {
            let mut diff = 0.0f64;
            let mut scale = 0.0f64;
            for (a, b) in self.p.iter().zip(&self.p_prev) {
                diff = diff.max((a - b).abs());
                scale = scale.max(a.abs());
            }
            if diff <= STEADY_TOL * scale {
                self.steady = true;
            }
        }
        self.p_prev.copy_from_slice(&self.p);
    }
}

/// Run the filter over `y` and call `obs(t, loglike_t)` for every non-missing observation.
/// Returns `None` if the model cannot be initialised or an innovation variance breaks down.
///
/// After the d + D·s burn-in observations the differencing states are exact functions of the
/// data (e.g. with d = 1 the level state at t+1 *is* y_t), so their covariance rows are zero
/// and the filter is exactly the ARMA-block filter on the differenced series. With no missing
/// values we switch to that smaller filter ([`ArmaFilter`]) once the burn-in is done; the
/// result is the same likelihood (to rounding) at a fraction of the cost.
pub(crate) fn run<F: FnMut(usize, f64)>(
    ssm: &Ssm,
    y: &[f64],
    exog: &[&[f64]],
    mut obs: F,
) -> Option<()> {
    let mut f = Filter::new(ssm)?;
    f.steady_after = ssm.k_diff + 1;
    let has_exog = !ssm.beta.is_empty();
    let has_trend = ssm.has_trend();
    let reduce = y.iter().all(|v| v.is_finite());
    let kd = ssm.k_diff;
    for (t, &yt) in y.iter().enumerate() {
        if reduce && t == kd {
            return ArmaFilter::from_full(&f).run(y, exog, t, obs, &mut NoRecord);
        }
        let d = if has_exog {
            ssm.obs_intercept(exog, t)
        } else {
            0.0
        };
        match f.update(yt, d) {
            Ok(Some(inn)) => obs(t, inn.loglike()),
            Ok(None) => {}
            Err(()) => return None,
        }
        let c = if has_trend { ssm.intercept(t) } else { 0.0 };
        f.predict(c);
    }
    Some(())
}

/// Hook into [`ArmaFilter::run`] for the adjoint (reverse-mode) gradient in `grad`: it sees
/// every step's innovation, the filtered first ARMA state and, while the covariance still
/// moves (and once when it freezes), the predicted covariance whose first column is the gain.
/// The plain likelihood passes [`NoRecord`], which compiles away.
pub(crate) trait Recorder {
    /// One step: innovation `v`, filtered first ARMA state `a0`, predicted covariance `p`
    /// (k×k, upper triangle valid; its first row is the gain column by symmetry) used for this
    /// step's gain, and whether it was frozen (steady) at this step.
    fn step(&mut self, v: f64, a0: f64, p: &[f64], steady: bool);
}

pub(crate) struct NoRecord;

impl Recorder for NoRecord {
    #[inline(always)]
    fn step(&mut self, _: f64, _: f64, _: &[f64], _: bool) {}
}

/// The ARMA block of the filter once the differencing states are known exactly.
pub(crate) struct ArmaFilter<'a> {
    ssm: &'a Ssm,
    k: usize,
    /// Companion first column φ*_1..φ*_k (zero-padded).
    phi: Vec<f64>,
    a: Vec<f64>,
    p: Vec<f64>,
    /// Differencing states (means; their variance is zero).
    a_diff: Vec<f64>,
    a_diff_tmp: Vec<f64>,
    col0: Vec<f64>,
    p_prev: Vec<f64>,
    f_prev: f64,
    steady: bool,
}

impl<'a> ArmaFilter<'a> {
    pub(crate) fn from_full(f: &Filter<'a>) -> ArmaFilter<'a> {
        let ssm = f.ssm;
        let (m, kd, k) = (ssm.m, ssm.k_diff, ssm.k_order);
        let mut phi = vec![0.0; k];
        for (i, v) in ssm.ar.iter().enumerate().take(k) {
            phi[i] = *v;
        }
        let mut p = vec![0.0; k * k];
        for i in 0..k {
            p[i * k..(i + 1) * k].copy_from_slice(&f.p[(kd + i) * m + kd..(kd + i) * m + kd + k]);
        }
        ArmaFilter {
            ssm,
            k,
            phi,
            a: f.a[kd..].to_vec(),
            p,
            a_diff: f.a[..kd].to_vec(),
            a_diff_tmp: vec![0.0; kd],
            col0: vec![0.0; k + 1],
            p_prev: vec![0.0; k * k],
            f_prev: f64::NAN,
            steady: false,
        }
    }

    pub(crate) fn run<F: FnMut(usize, f64), R: Recorder>(
        mut self,
        y: &[f64],
        exog: &[&[f64]],
        t0: usize,
        mut obs: F,
        rec: &mut R,
    ) -> Option<()> {
        let ssm = self.ssm;
        let k = self.k;
        let kd = ssm.k_diff;
        let has_exog = !ssm.beta.is_empty();
        let has_trend = ssm.has_trend();
        // Design entries on the differencing states (all but the last z index, which is kd).
        let zd = &ssm.z_idx[..ssm.z_idx.len() - 1];
        let s2 = ssm.sigma2;
        for (t, &yt) in y.iter().enumerate().skip(t0) {
            let d = if has_exog {
                ssm.obs_intercept(exog, t)
            } else {
                0.0
            };
            let zdiff: f64 = zd.iter().map(|&j| self.a_diff[j]).sum();
            let w = yt - d - zdiff;
            let f = self.p[0];
            if !(f > 0.0 && f.is_finite()) {
                return None;
            }
            let v = w - self.a[0];
            obs(t, Innovation { v, f }.loglike());
            // Update: gain P[:,0]/F.
            let kv = v / f;
            // P is kept as its upper triangle: column 0 is read as row 0.
            for i in 0..k {
                self.a[i] += self.p[i] * kv;
            }
            rec.step(v, self.a[0], &self.p, self.steady);
            if !self.steady {
                for i in 0..k {
                    self.col0[i] = self.p[i];
                }
                self.col0[k] = 0.0;
            }
            // Differencing states move deterministically; the filtered first ARMA state is w.
            if kd > 0 {
                let (ts, tc, tv) = (&ssm.t_start, &ssm.t_col, &ssm.t_val);
                for i in 0..kd {
                    let mut acc = 0.0;
                    for e in ts[i]..ts[i + 1] {
                        let c = tc[e];
                        acc += tv[e] * if c < kd { self.a_diff[c] } else { w };
                    }
                    self.a_diff_tmp[i] = acc;
                }
                std::mem::swap(&mut self.a_diff, &mut self.a_diff_tmp);
            }
            // Predict the ARMA block: companion T, intercept on the first state.
            let a0 = self.a[0];
            for i in 0..k {
                let next = if i + 1 < k { self.a[i + 1] } else { 0.0 };
                self.a[i] = self.phi[i] * a0 + next;
            }
            if has_trend {
                self.a[0] += ssm.intercept(t);
            }
            if self.steady {
                continue;
            }
            // With Z = e_1 and no measurement error the first state is observed exactly, so
            // the filtered covariance has a zero first row and column and the companion's
            // first column (φ*) drops out of T P T':
            //   P⁺[i][j] = P[i+1][j+1] − c_{i+1} c_{j+1} / F + σ² r_i r_j,   c = P[:,0].
            // In place on the upper triangle: row i reads only row i+1 at columns > i, which is
            // not yet overwritten (the lower triangle is never read, so it is not kept).
            let finv = 1.0 / f;
            let r = &ssm.r;
            for i in 0..k {
                let ci = self.col0[i + 1] * finv;
                let ri = s2 * r[i];
                let (head, tail) = self.p.split_at_mut((i + 1) * k);
                let row = &mut head[i * k + i..];
                let cj = &self.col0[i + 1..k + 1];
                let rj = &r[i..k];
                // Columns i..k-1 read the row below at i+1..k; the last column reads 0.
                let below = if i + 1 < k { &tail[i + 1..k] } else { &[][..] };
                let nb = below.len();
                for (((x, b), c), rr) in row[..nb].iter_mut().zip(below).zip(cj).zip(rj) {
                    *x = b - ci * c + ri * rr;
                }
                row[nb] = 0.0 - ci * cj[nb] + ri * rj[nb];
            }
            // Cheap test first: F must have settled before the whole matrix is compared.
            let fnew = self.p[0];
            let settled = (fnew - self.f_prev).abs() <= STEADY_TOL * fnew;
            self.f_prev = fnew;
            if settled && t > t0 {
                // Upper triangle only (the same maxima as the full symmetric matrix).
                let mut diff = 0.0f64;
                let mut scale = 0.0f64;
                for i in 0..k {
                    let r = i * k + i..(i + 1) * k;
                    for (a, b) in self.p[r.clone()].iter().zip(&self.p_prev[r]) {
                        diff = diff.max((a - b).abs());
                        scale = scale.max(a.abs());
                    }
                }
                self.steady = diff <= STEADY_TOL * scale;
            }
            if settled {
                self.p_prev.copy_from_slice(&self.p);
            }
        }
        Some(())
    }
}

/// Log-likelihood with the first `burn` observations left out; NaN when it breaks down.
pub(crate) fn loglike(ssm: &Ssm, y: &[f64], exog: &[&[f64]], burn: usize) -> f64 {
    let mut llf = 0.0;
    match run(ssm, y, exog, |t, l| {
        if t >= burn {
            llf += l
        }
    }) {
        Some(()) => llf,
        None => f64::NAN,
    }
}
