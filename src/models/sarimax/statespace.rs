//! Harvey-form state-space matrices for SARIMAX with the differencing states kept in the state
//! vector (statsmodels `simple_differencing=False`), and the default initialisation.
//!
//! State vector: `[d differencing states, D·s seasonal differencing states, k_order ARMA
//! states]`. The design picks the level of every differencing layer plus the first ARMA state,
//! so every design entry is 1. The transition is very sparse (companion rows have at most two
//! non-zeros, differencing rows a handful), so it is stored row-wise as (column, value) pairs
//! and the covariance recursion costs O(m² · nnz/row) instead of O(m³).

use super::spec::{Layout, SarimaxSpec};
use super::transforms::is_stationary;

/// Approximate diffuse prior variance for the differencing states (statsmodels'
/// `initial_variance`).
pub(crate) const DIFFUSE_VARIANCE: f64 = 1e6;

/// A filled-in state-space model for one parameter vector.
#[derive(Debug, Clone)]
pub(crate) struct Ssm {
    pub m: usize,
    /// Start offsets into `t_col`/`t_val` per row (len m + 1).
    pub t_start: Vec<usize>,
    pub t_col: Vec<usize>,
    pub t_val: Vec<f64>,
    /// Indices of the state picked by the design (all coefficients 1).
    pub z_idx: Vec<usize>,
    /// Selection vector on the ARMA block (R[k_diff..]); the state disturbance variance is
    /// sigma2, so R Q R' = sigma2 · r r' on that block.
    pub r: Vec<f64>,
    pub sigma2: f64,
    /// First ARMA state (= number of differencing states).
    pub k_diff: usize,
    pub k_order: usize,
    /// Reduced AR coefficients φ* (len k_ar) of `1 - Σ φ*_i L^i`.
    pub ar: Vec<f64>,
    /// Trend coefficients by power of t, and the regression coefficients.
    pub trend: Vec<(u32, f64)>,
    pub beta: Vec<f64>,
}

/// Multiply `1 + a1 L + ...` by `1 + b1 L^s + ...` given as coefficient lists without the 1.
pub(crate) fn polymul_seasonal(a: &[f64], b: &[f64], s: usize) -> Vec<f64> {
    let n = a.len() + b.len() * s;
    let mut full = vec![0.0; n + 1];
    let mut pa = vec![1.0];
    pa.extend_from_slice(a);
    let mut pb = vec![0.0; b.len() * s + 1];
    pb[0] = 1.0;
    for (i, v) in b.iter().enumerate() {
        pb[(i + 1) * s] = *v;
    }
    for (i, x) in pa.iter().enumerate() {
        for (j, y) in pb.iter().enumerate() {
            full[i + j] += x * y;
        }
    }
    full[1..].to_vec()
}

impl Ssm {
    /// Build the model for constrained parameters `params` (statsmodels order).
    pub fn new(spec: &SarimaxSpec, l: &Layout, params: &[f64]) -> Ssm {
        // Reduced AR polynomial: (1 - φ(L))(1 - Φ(L^s)) = 1 - Σ φ*_i L^i.
        let neg_ar: Vec<f64> = params[l.i_ar()..l.i_ma()].iter().map(|v| -v).collect();
        let neg_sar: Vec<f64> = params[l.i_sar()..l.i_sma()].iter().map(|v| -v).collect();
        let ar: Vec<f64> = polymul_seasonal(&neg_ar, &neg_sar, l.s.max(1))
            .into_iter()
            .map(|v| -v)
            .collect();
        let ma = polymul_seasonal(
            &params[l.i_ma()..l.i_sar()],
            &params[l.i_sma()..l.i_sigma2()],
            l.s.max(1),
        );
        let m = l.k_states;
        let kd = l.k_diff;
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m];
        // Simple differencing states: upper-triangular ones, plus the seasonal level(s) and
        // the first ARMA state.
        for (i, row) in rows.iter_mut().enumerate().take(l.d) {
            for j in i..l.d {
                row.push((j, 1.0));
            }
            for k in 0..l.sd {
                row.push((l.d + (k + 1) * l.s - 1, 1.0));
            }
            row.push((kd, 1.0));
        }
        // Seasonal differencing layers: a rotated companion with the wrap-around 1, the next
        // layer's last state and the first ARMA state feeding the first state of each layer.
        for k in 0..l.sd {
            let start = l.d + k * l.s;
            let end = start + l.s;
            rows[start].push((end - 1, 1.0));
            if k + 1 < l.sd {
                rows[start].push((end + l.s - 1, 1.0));
            }
            rows[start].push((kd, 1.0));
            for i in 1..l.s {
                rows[start + i].push((start + i - 1, 1.0));
            }
        }
        // ARMA companion block (Harvey): T[i,0] = φ*_{i+1}, T[i,i+1] = 1.
        for i in 0..l.k_order {
            let row = &mut rows[kd + i];
            if i < ar.len() && ar[i] != 0.0 {
                row.push((kd, ar[i]));
            }
            if i + 1 < l.k_order {
                row.push((kd + i + 1, 1.0));
            }
        }
        let mut t_start = Vec::with_capacity(m + 1);
        let mut t_col = Vec::new();
        let mut t_val = Vec::new();
        for row in &mut rows {
            row.sort_by_key(|e| e.0);
            t_start.push(t_col.len());
            for &(c, v) in row.iter() {
                t_col.push(c);
                t_val.push(v);
            }
        }
        t_start.push(t_col.len());

        let mut z_idx: Vec<usize> = (0..l.d).collect();
        for k in 0..l.sd {
            z_idx.push(l.d + (k + 1) * l.s - 1);
        }
        z_idx.push(kd);

        let mut r = vec![0.0; l.k_order];
        r[0] = 1.0;
        for (i, v) in ma.iter().enumerate() {
            if i + 1 < l.k_order {
                r[i + 1] = *v;
            }
        }
        let trend = spec
            .trend
            .powers()
            .iter()
            .zip(&params[..l.k_trend])
            .map(|(&pw, &v)| (pw, v))
            .collect();
        Ssm {
            m,
            t_start,
            t_col,
            t_val,
            z_idx,
            r,
            sigma2: params[l.i_sigma2()],
            k_diff: kd,
            k_order: l.k_order,
            ar,
            trend,
            beta: params[l.i_exog()..l.i_ar()].to_vec(),
        }
    }

    /// State intercept on the first ARMA state at 0-based time `t` (time index t + 1).
    #[inline]
    pub fn intercept(&self, t: usize) -> f64 {
        let tt = (t + 1) as f64;
        self.trend
            .iter()
            .map(|&(pw, v)| if pw == 0 { v } else { v * tt })
            .sum()
    }

    /// True when the trend makes the state intercept time-varying.
    pub fn has_trend(&self) -> bool {
        !self.trend.is_empty()
    }

    /// Observation intercept x_t'β at time t from the exog rows (`exog[j][t]`).
    #[inline]
    pub fn obs_intercept(&self, exog: &[&[f64]], t: usize) -> f64 {
        self.beta.iter().zip(exog).map(|(b, col)| b * col[t]).sum()
    }

    /// True when the reduced AR polynomial is stationary (required for the stationary
    /// initialisation of the ARMA block).
    pub fn is_stationary(&self) -> bool {
        is_stationary(&self.ar)
    }

    /// Initial state mean and covariance (statsmodels' default: approximate diffuse on the
    /// differencing states, stationary distribution of the ARMA block). With `exact` the
    /// differencing block gets zero here and is handled by the exact diffuse filter.
    pub fn initial(&self, exact: bool) -> Option<(Vec<f64>, Vec<f64>)> {
        let m = self.m;
        let kd = self.k_diff;
        let ko = self.k_order;
        let mut a = vec![0.0; m];
        let mut p = vec![0.0; m * m];
        if !exact {
            for i in 0..kd {
                p[i * m + i] = DIFFUSE_VARIANCE;
            }
        }
        // Stationary mean (I - T)^{-1} c_0 on the companion block has the closed form
        // x_0 = c/(1 - Σφ), x_i = x_0 Σ_{j>i} φ_j.
        let c0 = self.intercept(0);
        if c0 != 0.0 {
            let sum: f64 = self.ar.iter().sum();
            let x0 = c0 / (1.0 - sum);
            a[kd] = x0;
            for i in 1..ko {
                let tail: f64 = self.ar.iter().skip(i).sum();
                a[kd + i] = x0 * tail;
            }
        }
        let cov = self.stationary_cov()?;
        for i in 0..ko {
            for j in 0..ko {
                p[(kd + i) * m + kd + j] = cov[i * ko + j];
            }
        }
        Some((a, p))
    }

    /// Solve P = T P T' + σ² r r' on the ARMA block by doubling
    /// (P = Σ_k T^k Q T'^k, squaring T each round), which needs only products of the small
    /// block and converges quadratically in the spectral radius.
    fn stationary_cov(&self) -> Option<Vec<f64>> {
        if self.k_order <= 12 {
            return self.stationary_cov_direct();
        }
        let n = self.k_order;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            if i < self.ar.len() {
                a[i * n] = self.ar[i];
            }
            if i + 1 < n {
                a[i * n + i + 1] = 1.0;
            }
        }
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = self.sigma2 * self.r[i] * self.r[j];
            }
        }
        lyapunov_doubling(a, s, n)
    }
}

/// Solve X = A X A' + S (n×n, row-major, S symmetric) by doubling: X = Σ_k A^k S A'^k,
/// squaring A each round. Also solves the adjoint equation of the stationary covariance
/// (A = T') in `grad`. A starts as a companion matrix and its first powers are mostly zeros,
/// so both products skip zero entries of A: A S A' is formed as A (A S)' (S symmetric).
pub(crate) fn lyapunov_doubling(mut a: Vec<f64>, mut s: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let mut tmp = vec![0.0; n * n];
    let mut tmp_t = vec![0.0; n * n];
    let mut tmp2 = vec![0.0; n * n];
    for _ in 0..200 {
        let amax = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if amax == 0.0 {
            return Some(s);
        }
        // tmp = A S, tmp2 = A (A S)' = A S A'
        matmul(&a, &s, &mut tmp, n);
        for i in 0..n {
            for j in 0..n {
                tmp_t[j * n + i] = tmp[i * n + j];
            }
        }
        matmul(&a, &tmp_t, &mut tmp2, n);
        let smax = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut inc = 0.0f64;
        for i in 0..n * n {
            s[i] += tmp2[i];
            inc = inc.max(tmp2[i].abs());
        }
        if !inc.is_finite() {
            return None;
        }
        matmul(&a, &a, &mut tmp, n);
        std::mem::swap(&mut a, &mut tmp);
        if inc <= 1e-18 * smax {
            // Symmetrise away rounding.
            for i in 0..n {
                for j in 0..i {
                    let v = 0.5 * (s[i * n + j] + s[j * n + i]);
                    s[i * n + j] = v;
                    s[j * n + i] = v;
                }
            }
            return Some(s);
        }
    }
    None
}

impl Ssm {
    /// Small blocks: solve (I - T⊗T) vech(P) = vech(Q) directly. T is the companion, so each
    /// equation has at most four terms; an LU of size k(k+1)/2 is cheaper than doubling
    /// when k is small and its accuracy does not depend on how close a root is to 1.
    fn stationary_cov_direct(&self) -> Option<Vec<f64>> {
        let n = self.k_order;
        let nu = n * (n + 1) / 2;
        let idx = |i: usize, j: usize| {
            let (a, b) = if i <= j { (i, j) } else { (j, i) };
            a * n - a * (a + 1) / 2 + b
        };
        // Row i of T as (col, value) pairs.
        let row = |i: usize| {
            let mut v: [(usize, f64); 2] = [(0, 0.0), (0, 0.0)];
            let mut k = 0;
            if i < self.ar.len() && self.ar[i] != 0.0 {
                v[k] = (0, self.ar[i]);
                k += 1;
            }
            if i + 1 < n {
                v[k] = (i + 1, 1.0);
                k += 1;
            }
            (v, k)
        };
        let mut a = nalgebra::DMatrix::<f64>::zeros(nu, nu);
        let mut b = nalgebra::DVector::<f64>::zeros(nu);
        for i in 0..n {
            let (ri, ki) = row(i);
            for j in i..n {
                let (rj, kj) = row(j);
                let e = idx(i, j);
                a[(e, e)] += 1.0;
                for &(ca, va) in &ri[..ki] {
                    for &(cb, vb) in &rj[..kj] {
                        a[(e, idx(ca, cb))] -= va * vb;
                    }
                }
                b[e] = self.sigma2 * self.r[i] * self.r[j];
            }
        }
        let sol = a.lu().solve(&b)?;
        let mut p = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                p[i * n + j] = sol[idx(i, j)];
            }
        }
        p.iter().all(|v| v.is_finite()).then_some(p)
    }
}

fn matmul(a: &[f64], b: &[f64], out: &mut [f64], n: usize) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..n {
                out[i * n + j] += aik * b[k * n + j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::sarimax::spec::Trend;

    #[test]
    fn ar1_stationary_variance() {
        let spec = SarimaxSpec::arima(1, 0, 0, Trend::C);
        let l = Layout::new(&spec);
        let ssm = Ssm::new(&spec, &l, &[2.0, 0.5, 3.0]);
        let (a, p) = ssm.initial(false).unwrap();
        assert!((a[0] - 4.0).abs() < 1e-12);
        assert!((p[0] - 3.0 / 0.75).abs() < 1e-12);
    }

    #[test]
    fn seasonal_polynomial_product() {
        let v = polymul_seasonal(&[-0.5], &[-0.3], 4);
        assert_eq!(v, vec![-0.5, 0.0, 0.0, -0.3, 0.15]);
    }
}
