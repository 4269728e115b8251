//! A small L-BFGS minimiser (m = 10). The gradient comes from the [`Objective`]: exact where
//! the caller has one (the Kalman adjoint in `grad`), else finite differences.
//!
//! Written here rather than using argmin's `LBFGS`: the objective is +∞/NaN outside the
//! region where the filter can run (e.g. an innovation variance breaking down), argmin's
//! More–Thuente line search turns that into an error, and we want an allocation-free loop
//! whose stopping rule we control (statsmodels stops at 50 iterations; we continue until
//! the gradient is small so that our optimum is never worse than theirs).

/// Gradient size below which central differences are used.
const CENTRAL_BELOW: f64 = 1e-3;
const WINDOW: usize = 10;
const STALL: f64 = 1e-9;
/// Past this |x| a transformed AR/MA coordinate has a partial autocorrelation beyond ±0.999:
/// a root on the unit circle for all practical purposes.
const BOUNDARY_X: f64 = 22.0;
/// Looser stall test while creeping along that boundary (see `minimize_obj`).
const BOUNDARY_STALL: f64 = 1e-5;

/// Why the minimiser stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub x: Vec<f64>,
    pub f: f64,
    pub iterations: usize,
    pub converged: bool,
    pub message: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub maxiter: usize,
    /// Stop when max |gradient| ≤ pgtol.
    pub pgtol: f64,
    /// Stop when the relative decrease of f is ≤ ftol (counted as converged).
    pub ftol: f64,
    pub memory: usize,
    /// Largest move per iteration in each coordinate (a crude trust region: steps that
    /// shoot the transformed AR/MA coefficients onto the stationarity boundary are where
    /// L-BFGS gets lost). Empty = no caps.
    pub max_move: Vec<f64>,
    /// The transformed AR/MA coordinates, for the boundary stall test.
    pub arma: std::ops::Range<usize>,
}

impl Settings {
    /// Whether coordinate `j` of `x` is an AR/MA coordinate on the boundary (|x| > BOUNDARY_X).
    pub fn at_boundary(&self, x: &[f64], j: usize) -> bool {
        self.arma.contains(&j) && x[j].abs() > BOUNDARY_X
    }

    /// Whether any AR/MA coordinate of `x` is on the boundary.
    pub fn on_boundary(&self, x: &[f64]) -> bool {
        self.arma.clone().any(|j| self.at_boundary(x, j))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            maxiter: 500,
            pgtol: 1e-7,
            ftol: 1e-13,
            memory: 10,
            max_move: Vec::new(),
            arma: 0..0,
        }
    }
}

/// What [`minimize_obj`] minimises.
pub(crate) trait Objective {
    /// f(x); +∞ or NaN where it cannot be evaluated.
    fn value(&mut self, x: &[f64]) -> f64;
    /// Gradient at `x` (with `fx` = f(x)) into `g`; returns true when it is exact. The default
    /// is [`fd_gradient`] (`central` asks for central differences) and returns false.
    fn gradient(&mut self, x: &[f64], fx: f64, g: &mut [f64], central: bool) -> bool {
        fd_gradient(self, x, fx, g, central);
        false
    }
}

/// A plain closure, with finite-difference gradients.
struct Fd<F>(F);

impl<F: FnMut(&[f64]) -> f64> Objective for Fd<F> {
    fn value(&mut self, x: &[f64]) -> f64 {
        (self.0)(x)
    }
}

/// Finite-difference gradient: forward differences (k evaluations) while far from the
/// optimum, central (2k, accurate to ~1e-10) once the gradient is small. Falls back to a
/// one-sided difference where one side is not finite (near the edge of the feasible region).
pub(crate) fn fd_gradient<O: Objective + ?Sized>(
    obj: &mut O,
    x: &[f64],
    fx: f64,
    g: &mut [f64],
    central: bool,
) {
    let mut f = |x: &[f64]| obj.value(x);
    let mut xx = x.to_vec();
    for i in 0..x.len() {
        if !central {
            let h = 1.5e-8 * x[i].abs().max(1.0);
            xx[i] = x[i] + h;
            let fp = f(&xx);
            xx[i] = x[i];
            if fp.is_finite() {
                g[i] = (fp - fx) / h;
                continue;
            }
        }
        let h = 6e-6 * x[i].abs().max(1.0);
        xx[i] = x[i] + h;
        let fp = f(&xx);
        xx[i] = x[i] - h;
        let fm = f(&xx);
        xx[i] = x[i];
        g[i] = match (fp.is_finite(), fm.is_finite()) {
            (true, true) => (fp - fm) / (2.0 * h),
            (true, false) => (fp - fx) / h,
            (false, true) => (fx - fm) / h,
            (false, false) => 0.0,
        };
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `inner` with the coordinates outside `free` held at their values in `full`.
/// (Not generic over the inner objective: the minimiser it feeds builds one itself, and a
/// generic one would nest types without end.)
struct Held<'a> {
    inner: &'a mut dyn Objective,
    full: Vec<f64>,
    free: Vec<usize>,
    g_full: Vec<f64>,
}

impl Held<'_> {
    fn set(&mut self, x: &[f64]) {
        for (k, &j) in self.free.iter().enumerate() {
            self.full[j] = x[k];
        }
    }
}

impl Objective for Held<'_> {
    fn value(&mut self, x: &[f64]) -> f64 {
        self.set(x);
        self.inner.value(&self.full)
    }
    fn gradient(&mut self, x: &[f64], fx: f64, g: &mut [f64], central: bool) -> bool {
        self.set(x);
        let exact = self
            .inner
            .gradient(&self.full, fx, &mut self.g_full, central);
        for (k, &j) in self.free.iter().enumerate() {
            g[k] = self.g_full[j];
        }
        exact
    }
}

/// Minimise a closure with finite-difference gradients.
pub(crate) fn minimize<F: FnMut(&[f64]) -> f64>(f: F, x0: &[f64], st: &Settings) -> Outcome {
    minimize_obj(&mut Fd(f), x0, st)
}

pub(crate) fn minimize_obj<O: Objective>(obj: &mut O, x0: &[f64], st: &Settings) -> Outcome {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut fx = obj.value(&x);
    if !fx.is_finite() {
        return Outcome {
            x,
            f: fx,
            iterations: 0,
            converged: false,
            message: "objective is not finite at the start parameters".into(),
        };
    }
    let mut g = vec![0.0; n];
    // With an exact gradient there is no difference noise to switch away from: `central`
    // (the gradient is accurate enough for the fine stopping rules) holds from the start.
    let exact = obj.gradient(&x, fx, &mut g, false);
    let mut central = exact || g.iter().all(|v| v.abs() < CENTRAL_BELOW);
    if central && !exact {
        obj.gradient(&x, fx, &mut g, true);
    }
    // Objective values of the last iterations, for the stalled-progress test.
    let mut recent: Vec<f64> = Vec::with_capacity(WINDOW + 1);
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(st.memory);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(st.memory);
    let mut rho: Vec<f64> = Vec::with_capacity(st.memory);
    let mut alpha = vec![0.0; st.memory];
    let mut dir = vec![0.0; n];
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut iter = 0;
    loop {
        let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !central && gmax < CENTRAL_BELOW {
            // Close enough that forward-difference noise matters: switch for good.
            central = true;
            obj.gradient(&x, fx, &mut g, true);
            continue;
        }
        if gmax <= st.pgtol {
            return Outcome {
                x,
                f: fx,
                iterations: iter,
                converged: true,
                message: format!("gradient below {:e}", st.pgtol),
            };
        }
        if iter >= st.maxiter {
            return Outcome {
                x,
                f: fx,
                iterations: iter,
                converged: false,
                message: format!(
                    "reached maxiter = {} (max |gradient| {gmax:.3e})",
                    st.maxiter
                ),
            };
        }
        iter += 1;
        // Two-loop recursion: dir = -H g.
        dir.copy_from_slice(&g);
        let k = s_hist.len();
        for i in (0..k).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &dir);
            for j in 0..n {
                dir[j] -= alpha[i] * y_hist[i][j];
            }
        }
        let gamma = if k > 0 {
            dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            // First step: a unit-length move in the steepest-descent direction at most.
            (1.0 / gmax).min(1.0)
        };
        dir.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..k {
            let b = rho[i] * dot(&y_hist[i], &dir);
            for j in 0..n {
                dir[j] += s_hist[i][j] * (alpha[i] - b);
            }
        }
        dir.iter_mut().for_each(|v| *v = -*v);
        let mut slope = dot(&g, &dir);
        if !(slope < 0.0) {
            // Not a descent direction (stale curvature): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            let sc = (1.0 / gmax).min(1.0);
            for j in 0..n {
                dir[j] = -g[j] * sc;
            }
            slope = dot(&g, &dir);
        }
        // Backtracking line search with the Armijo condition; non-finite values shrink.
        let mut step: f64 = 1.0;
        for ((d, cap), xi) in dir.iter().zip(&st.max_move).zip(&x) {
            // Relative beyond the cap: far out on the transformed scale (|x| ≫ 1, a root near
            // the unit circle) a fixed cap would freeze the coordinate.
            let cap = cap * xi.abs().max(1.0);
            if d.abs() * step > cap {
                step = cap / d.abs();
            }
        }
        let mut accepted = false;
        let mut fnew = f64::NAN;
        for _ in 0..60 {
            for j in 0..n {
                xn[j] = x[j] + step * dir[j];
            }
            fnew = obj.value(&xn);
            if fnew.is_finite() && fnew <= fx + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= if fnew.is_finite() { 0.5 } else { 0.1 };
        }
        if !accepted {
            // At a numerically flat optimum the finite-difference gradient is noise; accept it
            // as converged only when that noise is small.
            return Outcome {
                x,
                f: fx,
                iterations: iter,
                converged: gmax <= 1e3 * st.pgtol,
                message: format!("line search found no decrease (max |gradient| {gmax:.3e})"),
            };
        }
        obj.gradient(&xn, fnew, &mut gn, central);
        let mut s = vec![0.0; n];
        let mut yv = vec![0.0; n];
        for j in 0..n {
            s[j] = xn[j] - x[j];
            yv[j] = gn[j] - g[j];
        }
        let sy = dot(&s, &yv);
        if sy > 1e-12 * dot(&yv, &yv).sqrt() * dot(&s, &s).sqrt() && sy > 0.0 {
            if s_hist.len() == st.memory {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
            rho.push(1.0 / sy);
        }
        let rel = (fx - fnew) / fx.abs().max(fnew.abs()).max(1.0);
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        fx = fnew;
        if rel <= st.ftol && central {
            return Outcome {
                x,
                f: fx,
                iterations: iter,
                converged: true,
                message: format!("relative reduction of the objective below {:e}", st.ftol),
            };
        }
        // Creeping along a ridge towards the stationarity/invertibility boundary (x → ∞)
        // improves the objective by ever smaller amounts: stop once WINDOW iterations together
        // gain less than STALL relative, far below what matters for the likelihood.
        recent.push(fx);
        if recent.len() > WINDOW {
            recent.remove(0);
            let gain = (recent[0] - fx) / fx.abs().max(1.0);
            // On the stationarity/invertibility boundary (typically an AR root and an MA root
            // cancelling on the unit circle) the likelihood's supremum is at infinity in x and
            // it keeps creeping up by ~1e-6 relative per WINDOW iterations for as long as one
            // lets it: stop once that creep is below BOUNDARY_STALL.
            let at_boundary = |j: usize| st.at_boundary(&x, j);
            if st.on_boundary(&x) && gain <= BOUNDARY_STALL && central {
                // The creep is along the boundary coordinates only. Hold them where they are
                // and optimise the others properly: the fit is a constrained optimum on the
                // boundary, judged by the usual tests on the free coordinates.
                let free: Vec<usize> = (0..n).filter(|&j| !at_boundary(j)).collect();
                let held = n - free.len();
                let mut sub = Held {
                    inner: obj,
                    full: x.clone(),
                    free: free.clone(),
                    g_full: vec![0.0; n],
                };
                let sub_st = Settings {
                    maxiter: st.maxiter.saturating_sub(iter).max(1),
                    max_move: if st.max_move.is_empty() {
                        Vec::new()
                    } else {
                        free.iter().map(|&j| st.max_move[j]).collect()
                    },
                    arma: 0..0,
                    ..st.clone()
                };
                let x_free: Vec<f64> = free.iter().map(|&j| x[j]).collect();
                let out = minimize_obj(&mut sub, &x_free, &sub_st);
                for (k, &j) in free.iter().enumerate() {
                    x[j] = out.x[k];
                }
                // Only decreasing steps are accepted, so out.f ≤ fx.
                return Outcome {
                    x,
                    f: out.f,
                    iterations: iter + out.iterations,
                    converged: out.converged,
                    message: format!(
                        "{held} AR/MA coordinate(s) held on the stationarity/invertibility \
                         boundary (|partial autocorrelation| > 0.999; the likelihood kept \
                         creeping there by < {BOUNDARY_STALL:e} per {WINDOW} iterations), the \
                         other parameters optimised: {}",
                        out.message
                    ),
                };
            }
            if gain <= STALL && central {
                return Outcome {
                    x,
                    f: fx,
                    iterations: iter,
                    converged: true,
                    message: format!(
                        "objective improved by less than {STALL:e} (relative) over {WINDOW} iterations"
                    ),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosenbrock() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let out = minimize(f, &[-1.2, 1.0], &Settings::default());
        assert!(out.converged, "{out:?}");
        assert!(
            (out.x[0] - 1.0).abs() < 1e-4 && (out.x[1] - 1.0).abs() < 1e-4,
            "{out:?}"
        );
    }

    /// A likelihood whose supremum lies at infinity along an AR/MA coordinate (coordinate 0
    /// here) creeps there without end; the minimiser holds that coordinate and still optimises
    /// the others to the usual tests.
    #[test]
    fn creep_along_the_boundary_holds_that_coordinate() {
        let f = |x: &[f64]| 1.0 + 1.0 / (1.0 + x[0] * x[0]) + (x[1] - 3.0).powi(2);
        let st = Settings {
            arma: 0..1,
            ..Settings::default()
        };
        let out = minimize(f, &[23.0, 0.0], &st);
        assert!(out.converged, "{out:?}");
        assert!(out.message.contains("held on the"), "{out:?}");
        assert!(out.x[0] > 22.0, "{out:?}");
        assert!((out.x[1] - 3.0).abs() < 1e-6, "{out:?}");
        // Without the AR/MA range the same creep is not a boundary: no coordinate is held.
        let plain = minimize(f, &[23.0, 0.0], &Settings::default());
        assert!(!plain.message.contains("held on the"), "{plain:?}");
    }

    #[test]
    fn maxiter_is_reported() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let st = Settings {
            maxiter: 3,
            ..Settings::default()
        };
        let out = minimize(f, &[-1.2, 1.0], &st);
        assert!(!out.converged);
        assert_eq!(out.iterations, 3);
        assert!(out.message.contains("maxiter"));
    }
}
