//! Monahan (1984) / Jones (1980) transforms between unconstrained reals and stationary AR
//! (invertible MA) coefficients, exactly as statsmodels' `constrain_stationary_univariate`.

use super::spec::Layout;

/// The partial autocorrelations r_k = x_k / sqrt(1 + x_k²) ∈ (-1, 1) and the n×n
/// lower-triangular Durbin–Levinson table built from them (row n−1 holds −φ).
fn durbin_levinson(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let r: Vec<f64> = x.iter().map(|v| v / (1.0 + v * v).sqrt()).collect();
    let mut y = vec![0.0; n * n];
    for k in 0..n {
        for i in 0..k {
            y[k * n + i] = y[(k - 1) * n + i] + r[k] * y[(k - 1) * n + (k - i - 1)];
        }
        y[k * n + k] = r[k];
    }
    (r, y)
}

/// Unconstrained → stationary AR coefficients φ (for `1 - φ1 L - ... - φn L^n`).
pub(crate) fn constrain_stationary(x: &[f64], out: &mut [f64]) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let (_, y) = durbin_levinson(x);
    for i in 0..n {
        out[i] = -y[(n - 1) * n + i];
    }
}

/// Vector–Jacobian product of [`constrain_stationary`]: `gx = J(x)' · gout`. Tangents are
/// pushed through the same Durbin–Levinson recursion one input direction at a time (n ≤ a few,
/// so O(n³) is nothing next to one filter pass).
pub(crate) fn constrain_stationary_vjp(x: &[f64], gout: &[f64], gx: &mut [f64]) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let (r, y) = durbin_levinson(x);
    let mut dy = vec![0.0; n * n];
    for d in 0..n {
        // dr_k/dx_d = δ_kd (1 + x²)^(-3/2)
        let drd = (1.0 + x[d] * x[d]).powf(-1.5);
        dy.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..n {
            let dr = if k == d { drd } else { 0.0 };
            for i in 0..k {
                let prev = y[(k - 1) * n + (k - i - 1)];
                let dprev = dy[(k - 1) * n + (k - i - 1)];
                dy[k * n + i] = dy[(k - 1) * n + i] + dr * prev + r[k] * dprev;
            }
            dy[k * n + k] = dr;
        }
        gx[d] = -(0..n).map(|i| gout[i] * dy[(n - 1) * n + i]).sum::<f64>();
    }
}

/// The AR/MA blocks of the parameter vector: (start, length, is MA).
fn arma_blocks(l: &Layout) -> [(usize, usize, bool); 4] {
    [
        (l.i_ar(), l.p, false),
        (l.i_ma(), l.q, true),
        (l.i_sar(), l.sp, false),
        (l.i_sma(), l.sq, true),
    ]
}

/// Vector–Jacobian product of [`transform_params`]: gradient in the unconstrained
/// parameters `x` from the gradient `gc` in the constrained ones.
pub(crate) fn transform_params_vjp(l: &Layout, x: &[f64], gc: &[f64], gx: &mut [f64]) {
    gx[..l.i_ar()].copy_from_slice(&gc[..l.i_ar()]);
    for (start, len, is_ma) in arma_blocks(l) {
        let r = start..start + len;
        constrain_stationary_vjp(&x[r.clone()], &gc[r.clone()], &mut gx[r.clone()]);
        if is_ma {
            gx[r].iter_mut().for_each(|v| *v = -*v);
        }
    }
    let i = l.i_sigma2();
    gx[i] = 2.0 * x[i] * gc[i];
}

/// Inverse of [`constrain_stationary`]. Returns `None` when `phi` is not stationary (a
/// partial autocorrelation reaches ±1), which doubles as the stationarity test.
pub(crate) fn unconstrain_stationary(phi: &[f64], out: &mut [f64]) -> Option<()> {
    let n = phi.len();
    if n == 0 {
        return Some(());
    }
    let mut y = vec![0.0; n * n];
    for i in 0..n {
        y[(n - 1) * n + i] = -phi[i];
    }
    for k in (1..n).rev() {
        let ykk = y[k * n + k];
        let den = 1.0 - ykk * ykk;
        if !(den > 0.0) {
            return None;
        }
        for i in 0..k {
            y[(k - 1) * n + i] = (y[k * n + i] - ykk * y[k * n + (k - i - 1)]) / den;
        }
    }
    for k in 0..n {
        let r = y[k * n + k];
        let den = 1.0 - r * r;
        if !(den > 0.0) || !r.is_finite() {
            return None;
        }
        out[k] = r / den.sqrt();
    }
    Some(())
}

/// True when `1 - φ1 L - ... - φn L^n` has all roots outside the unit circle (Schur–Cohn
/// step-down: every partial autocorrelation strictly inside (-1, 1)). A little stricter
/// than the raw test, like statsmodels' eigenvalue threshold 1 - 1e-10.
pub(crate) fn is_stationary(phi: &[f64]) -> bool {
    let n = phi.len();
    if n == 0 {
        return true;
    }
    if phi.iter().any(|v| !v.is_finite()) {
        return false;
    }
    let mut a = phi.to_vec();
    let mut b = vec![0.0; n];
    for k in (0..n).rev() {
        let r = a[k];
        if r.abs() >= 1.0 - 1e-10 {
            return false;
        }
        let den = 1.0 - r * r;
        for i in 0..k {
            b[i] = (a[i] + r * a[k - 1 - i]) / den;
        }
        a[..k].copy_from_slice(&b[..k]);
    }
    true
}

/// True when `1 + θ1 L + ... + θn L^n` is invertible.
pub(crate) fn is_invertible_ma(theta: &[f64]) -> bool {
    let neg: Vec<f64> = theta.iter().map(|v| -v).collect();
    is_stationary(&neg)
}

/// Constrained (model) parameters from the optimiser's unconstrained ones.
pub(crate) fn transform_params(l: &Layout, x: &[f64], out: &mut [f64]) {
    out[..l.i_ar()].copy_from_slice(&x[..l.i_ar()]);
    for (start, len, is_ma) in arma_blocks(l) {
        let (src, dst) = (&x[start..start + len], &mut out[start..start + len]);
        constrain_stationary(src, dst);
        if is_ma {
            dst.iter_mut().for_each(|v| *v = -*v);
        }
    }
    let i = l.i_sigma2();
    out[i] = x[i] * x[i];
}

/// Unconstrained parameters from constrained ones; `None` if the AR part is not stationary or
/// the MA part not invertible, or sigma2 is negative.
pub(crate) fn untransform_params(l: &Layout, c: &[f64], out: &mut [f64]) -> Option<()> {
    out[..l.i_ar()].copy_from_slice(&c[..l.i_ar()]);
    for (start, len, is_ma) in arma_blocks(l) {
        let mut src: Vec<f64> = c[start..start + len].to_vec();
        if is_ma {
            src.iter_mut().for_each(|v| *v = -*v);
        }
        unconstrain_stationary(&src, &mut out[start..start + len])?;
    }
    let i = l.i_sigma2();
    if !(c[i] >= 0.0) {
        return None;
    }
    out[i] = c[i].sqrt();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let x = [0.3, -1.2, 2.0];
        let mut phi = [0.0; 3];
        constrain_stationary(&x, &mut phi);
        assert!(is_stationary(&phi));
        let mut back = [0.0; 3];
        unconstrain_stationary(&phi, &mut back).unwrap();
        for i in 0..3 {
            assert!((back[i] - x[i]).abs() < 1e-12, "{back:?}");
        }
    }

    #[test]
    fn matches_statsmodels_values() {
        // statsmodels: constrain_stationary_univariate(np.array([0.5, -0.3]))
        let mut phi = [0.0; 2];
        constrain_stationary(&[0.5, -0.3], &mut phi);
        let r1 = 0.5 / (1.25f64).sqrt();
        let r2 = -0.3 / (1.09f64).sqrt();
        assert!((phi[0] + (r1 + r2 * r1)).abs() < 1e-15);
        assert!((phi[1] + r2).abs() < 1e-15);
    }

    #[test]
    fn vjp_matches_differences() {
        let x = [0.7, -1.3, 0.4];
        let gout = [0.3, -2.0, 1.1];
        let mut gx = [0.0; 3];
        constrain_stationary_vjp(&x, &gout, &mut gx);
        for d in 0..3 {
            let h = 1e-6;
            let (mut xp, mut xm) = (x, x);
            xp[d] += h;
            xm[d] -= h;
            let (mut op, mut om) = ([0.0; 3], [0.0; 3]);
            constrain_stationary(&xp, &mut op);
            constrain_stationary(&xm, &mut om);
            let fd: f64 = (0..3).map(|i| gout[i] * (op[i] - om[i]) / (2.0 * h)).sum();
            assert!((fd - gx[d]).abs() < 1e-8, "{d}: {fd} vs {}", gx[d]);
        }
    }

    #[test]
    fn stationarity_test() {
        assert!(is_stationary(&[0.5]));
        assert!(!is_stationary(&[1.0]));
        assert!(!is_stationary(&[1.2, -0.1]));
        assert!(is_stationary(&[1.2, -0.5]));
        assert!(!is_stationary(&[0.5, 0.6]));
        assert!(is_invertible_ma(&[0.9]));
        assert!(!is_invertible_ma(&[-1.5]));
    }
}
