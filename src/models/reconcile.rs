//! Forecast reconciliation: base forecasts of every node of a hierarchical or grouped
//! structure made coherent (each aggregate equal to the sum of its bottom series), as
//! hierarchicalforecast 1.5.3 computes it (`tests/it/reconcile_golden.rs` holds the two side
//! by side). Every method is ỹ = S P ŷ for a P of its own:
//! - bottom-up: P = [0 | I];
//! - top-down (strict hierarchies only): forecast proportions down the tree, or historical
//!   average proportions / proportions of averages of the in-sample values;
//! - MinTrace (Wickramasuriya, Athanasopoulos & Hyndman 2019): P = J − (UᵀWU)⁻¹UᵀWJᵀ… written
//!   with Uᵀ = [I | −A], J = [0 | I], for W = I (`ols`), diag(S·1) (`wls_struct`), the
//!   in-sample residuals' mean squares (`wls_var`), covariance (`mint_cov`) or Schäfer–Strimmer
//!   shrunk covariance (`mint_shrink`).

use nalgebra::DMatrix;

/// Diagonal floor of the residual-based covariances (hierarchicalforecast's `2e-8`).
const RIDGE: f64 = 2e-8;

/// The summing matrix: row i is node `ids[i]`, column j bottom series j; the aggregates come
/// first and the bottom rows, last, are the identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    pub ids: Vec<String>,
    pub s: DMatrix<f64>,
    /// Each node's parent when the structure is a strict hierarchy (found once, in `new`).
    parents: Option<Vec<Option<usize>>>,
}

/// A reconciliation method, as `adsales reconcile --method` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    BottomUp,
    ForecastProportions,
    AverageProportions,
    ProportionAverages,
    Ols,
    WlsStruct,
    WlsVar,
    MintCov,
    MintShrink,
}

/// Every method name, in the order `--help` lists them.
pub const METHODS: [(&str, Method); 9] = [
    ("bottom_up", Method::BottomUp),
    ("top_down:forecast_proportions", Method::ForecastProportions),
    ("top_down:average_proportions", Method::AverageProportions),
    ("top_down:proportion_averages", Method::ProportionAverages),
    ("min_trace:ols", Method::Ols),
    ("min_trace:wls_struct", Method::WlsStruct),
    ("min_trace:wls_var", Method::WlsVar),
    ("min_trace:mint_cov", Method::MintCov),
    ("min_trace:mint_shrink", Method::MintShrink),
];

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        METHODS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }
    /// Whether the method reads in-sample values (and, for MinTrace, fitted values).
    pub fn needs_insample(self) -> bool {
        matches!(
            self,
            Method::AverageProportions
                | Method::ProportionAverages
                | Method::WlsVar
                | Method::MintCov
                | Method::MintShrink
        )
    }
    /// Whether it reads in-sample fitted values (residuals).
    pub fn needs_fitted(self) -> bool {
        matches!(self, Method::WlsVar | Method::MintCov | Method::MintShrink)
    }
    /// One of the three top-down methods.
    pub fn top_down(self) -> bool {
        matches!(
            self,
            Method::ForecastProportions | Method::AverageProportions | Method::ProportionAverages
        )
    }
}

/// In-sample data of every node (rows as in the structure, columns in time): actuals and,
/// for the residual-based methods, the fitted values of the model being reconciled.
pub struct Insample<'a> {
    pub y: &'a DMatrix<f64>,
    pub fitted: Option<&'a DMatrix<f64>>,
}

impl Structure {
    /// Checks the matrix: 0/1 entries, one row per id, the last rows the identity.
    pub fn new(ids: Vec<String>, s: DMatrix<f64>) -> Result<Structure, String> {
        let (n, m) = s.shape();
        if ids.len() != n {
            return Err(format!("{} ids for {n} rows", ids.len()));
        }
        if m == 0 || n < m {
            return Err(format!("{n} rows cannot hold {m} bottom series"));
        }
        if let Some(v) = s.iter().find(|v| **v != 0.0 && **v != 1.0) {
            return Err(format!("entries must be 0 or 1, found {v}"));
        }
        let aggs = n - m;
        for j in 0..m {
            for k in 0..m {
                if s[(aggs + j, k)] != f64::from(u8::from(j == k)) {
                    return Err(format!(
                        "the last {m} rows must be the bottom series, each with a single 1 in \
                         its own column (row of `{}` is not)",
                        ids[aggs + j]
                    ));
                }
            }
        }
        for (i, id) in ids.iter().enumerate().take(aggs) {
            if s.row(i).iter().all(|v| *v == 0.0) {
                return Err(format!("row of `{id}` sums no bottom series"));
            }
        }
        let parents = tree(&s);
        Ok(Structure { ids, s, parents })
    }

    pub fn n_bottom(&self) -> usize {
        self.s.ncols()
    }

    /// The parent of every node in a strict hierarchy (the smallest node whose bottom series
    /// include its own; among equal sets, the nearest one listed before it), or `None` when
    /// two nodes overlap without one containing the other (a grouped structure).
    pub fn parents(&self) -> Option<&[Option<usize>]> {
        self.parents.as_deref()
    }
}

/// The tree behind [`Structure::parents`].
fn tree(s: &DMatrix<f64>) -> Option<Vec<Option<usize>>> {
    let n = s.nrows();
    let sets: Vec<Vec<bool>> = (0..n)
        .map(|i| s.row(i).iter().map(|v| *v != 0.0).collect())
        .collect();
    let size: Vec<usize> = sets
        .iter()
        .map(|s| s.iter().filter(|b| **b).count())
        .collect();
    let within = |a: &[bool], b: &[bool]| a.iter().zip(b).all(|(x, y)| !x || *y);
    let mut parents = vec![None; n];
    for j in 0..n {
        for i in 0..n {
            if i == j {
                continue;
            }
            let overlap = sets[i].iter().zip(&sets[j]).any(|(x, y)| *x && *y);
            let contains = within(&sets[j], &sets[i]);
            let contained = within(&sets[i], &sets[j]);
            if overlap && !contains && !contained {
                return None;
            }
            let candidate = contains && (size[i] > size[j] || (size[i] == size[j] && i < j));
            // The smallest container; among equal ones the closest above (a chain of single
            // children: total → region → store, each its own parent's child).
            let closer = |p: usize| size[i] < size[p] || (size[i] == size[p] && i > p);
            if candidate && parents[j].is_none_or(closer) {
                parents[j] = Some(i);
            }
        }
    }
    Some(parents)
}

/// `y_hat` must have one row per node.
fn check_rows(st: &Structure, y_hat: &DMatrix<f64>) -> Result<(), String> {
    let n = st.s.nrows();
    if y_hat.nrows() == n {
        Ok(())
    } else {
        Err(format!("{} forecast rows for {n} nodes", y_hat.nrows()))
    }
}

/// Reconciles `y_hat` (nodes × horizon) by `method`.
pub fn reconcile(
    st: &Structure,
    y_hat: &DMatrix<f64>,
    insample: Option<&Insample>,
    method: Method,
) -> Result<DMatrix<f64>, String> {
    let (n, m) = st.s.shape();
    check_rows(st, y_hat)?;
    if method.top_down() && st.parents().is_none() {
        return Err(
            "top-down reconciliation needs a strict hierarchy; this structure is grouped \
             (two nodes share bottom series without one containing the other)"
                .into(),
        );
    }
    let need = |what: &str| format!("{} needs in-sample {what}", name(method));
    match method {
        Method::BottomUp => Ok(&st.s * y_hat.rows(n - m, m)),
        Method::ForecastProportions => Ok(forecast_proportions(st, y_hat)),
        Method::AverageProportions | Method::ProportionAverages => {
            let y = insample.map(|i| i.y).ok_or_else(|| need("values"))?;
            let out = historical_proportions(st, y_hat, y, method);
            if out.iter().any(|v| !v.is_finite()) {
                return Err(format!(
                    "{}: the in-sample top total is zero where the proportions need it",
                    name(method)
                ));
            }
            Ok(out)
        }
        _ => {
            let w = covariance(st, insample, method)?;
            Ok(&st.s * min_trace_p(st, &w)? * y_hat)
        }
    }
}

fn name(method: Method) -> &'static str {
    METHODS
        .iter()
        .find(|(_, m)| *m == method)
        .map_or("?", |(n, _)| n)
}

/// Top-down by the base forecasts' proportions: each node's reconciled value is split among
/// its children in proportion to their base forecasts (equally when those sum to ~0).
fn forecast_proportions(st: &Structure, y_hat: &DMatrix<f64>) -> DMatrix<f64> {
    let parents = st.parents().expect("checked strict");
    let n = st.s.nrows();
    let children: Vec<Vec<usize>> = (0..n)
        .map(|i| (0..n).filter(|&j| parents[j] == Some(i)).collect())
        .collect();
    let mut out = DMatrix::zeros(n, y_hat.ncols());
    for h in 0..y_hat.ncols() {
        let mut queue: std::collections::VecDeque<usize> =
            (0..n).filter(|&i| parents[i].is_none()).collect();
        for &top in &queue {
            out[(top, h)] = y_hat[(top, h)];
        }
        while let Some(i) = queue.pop_front() {
            let kids = &children[i];
            let sum: f64 = kids.iter().map(|&k| y_hat[(k, h)]).sum();
            for &k in kids {
                out[(k, h)] = if sum.abs() < 1e-8 {
                    out[(i, h)] / kids.len() as f64
                } else {
                    y_hat[(k, h)] * out[(i, h)] / sum
                };
                queue.push_back(k);
            }
        }
    }
    out
}

/// Top-down by historical proportions of each bottom series in the top node (the row with the
/// most bottom series): the mean of the ratios, or the ratio of the means.
fn historical_proportions(
    st: &Structure,
    y_hat: &DMatrix<f64>,
    y: &DMatrix<f64>,
    method: Method,
) -> DMatrix<f64> {
    let (n, m) = st.s.shape();
    let sums: Vec<f64> = (0..n).map(|i| st.s.row(i).sum()).collect();
    // The first row with the largest sum, as numpy's argmax.
    let top = (0..n).fold(0, |b, i| if sums[i] > sums[b] { i } else { b });
    let t = y.ncols() as f64;
    let top_mean = y.row(top).sum() / t;
    let prop: Vec<f64> = (0..m)
        .map(|j| {
            let b = y.row(n - m + j);
            match method {
                Method::AverageProportions => {
                    // numpy's nanmean: days where both are zero (0/0) are skipped.
                    let ratios: Vec<f64> = b
                        .iter()
                        .zip(y.row(top).iter())
                        .map(|(x, z)| x / z)
                        .filter(|r| !r.is_nan())
                        .collect();
                    ratios.iter().sum::<f64>() / ratios.len() as f64
                }
                _ => b.sum() / t / top_mean,
            }
        })
        .collect();
    let bottom = DMatrix::from_fn(m, y_hat.ncols(), |j, h| prop[j] * y_hat[(top, h)]);
    &st.s * bottom
}

/// The W of a MinTrace method.
fn covariance(
    st: &Structure,
    insample: Option<&Insample>,
    method: Method,
) -> Result<DMatrix<f64>, String> {
    let n = st.s.nrows();
    match method {
        Method::Ols => return Ok(DMatrix::identity(n, n)),
        Method::WlsStruct => {
            return Ok(DMatrix::from_diagonal(&st.s.column_sum()));
        }
        _ => {}
    }
    let (y, fitted) = match insample {
        Some(Insample { y, fitted: Some(f) }) => (*y, *f),
        _ => {
            return Err(format!(
                "{} needs in-sample values and fitted values (--insample with a y column and \
                 the model's columns)",
                name(method)
            ));
        }
    };
    if y.shape() != fitted.shape() || y.nrows() != n {
        return Err("in-sample values and fitted values must cover the same nodes and days".into());
    }
    let r = y - fitted; // nodes × T
    let t = r.ncols();
    if t < 2 {
        return Err(format!("{} needs at least 2 in-sample days", name(method)));
    }
    // hierarchicalforecast refuses residuals that are all but zero: an overfitted model.
    let zero = (0..n).filter(|&i| r.row(i).sum().abs() < 1e-4).count() as f64 / n as f64;
    if zero > 0.98 {
        return Err(format!(
            "in-sample residuals are close to 0 for {:.0}% of the nodes: check the fitted values",
            zero * 100.0
        ));
    }
    Ok(match method {
        Method::WlsVar => DMatrix::from_fn(n, n, |i, j| {
            if i == j {
                r.row(i).iter().map(|v| v * v).sum::<f64>() / t as f64 + RIDGE
            } else {
                0.0
            }
        }),
        Method::MintCov => sample_covariance(&r),
        _ => shrunk_covariance(&r),
    })
}

/// Centred sample covariance of the rows of `r` (divided by T − 1), as numpy's `cov`.
fn sample_covariance(r: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, t) = r.shape();
    let c = centred(r);
    DMatrix::from_fn(n, n, |i, j| c.row(i).dot(&c.row(j)) / (t as f64 - 1.0))
}

fn centred(r: &DMatrix<f64>) -> DMatrix<f64> {
    let t = r.ncols() as f64;
    let mut c = r.clone();
    for i in 0..r.nrows() {
        let mean = r.row(i).sum() / t;
        c.row_mut(i).add_scalar_mut(-mean);
    }
    c
}

/// Schäfer & Strimmer (2005) shrinkage of the covariance towards its diagonal: the
/// off-diagonal entries scaled by 1 − λ, λ = Σ Var̂(r_ij) / Σ r_ij² over i ≠ j of the
/// correlations of the standardised residuals (population std + 2e-8, variance factor
/// 1 / (T(T − 1))), clamped to [0, 1]; the diagonal floored at 2e-8.
fn shrunk_covariance(r: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, t) = r.shape();
    let tf = t as f64;
    let c = centred(r);
    let std: Vec<f64> = (0..n)
        .map(|i| (c.row(i).iter().map(|v| v * v).sum::<f64>() / tf).sqrt() + RIDGE)
        .collect();
    let z = DMatrix::from_fn(n, t, |i, k| c[(i, k)] / std[i]);
    let mut cov = sample_covariance(r);
    let (mut var_sum, mut sq_sum) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..i {
            let w: Vec<f64> = (0..t).map(|k| z[(i, k)] * z[(j, k)]).collect();
            let mean = w.iter().sum::<f64>() / tf;
            var_sum += w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
            sq_sum += mean * mean;
        }
    }
    let lambda = (var_sum / (tf * (tf - 1.0)) / (sq_sum + RIDGE)).clamp(0.0, 1.0);
    for i in 0..n {
        for j in 0..n {
            if i != j {
                cov[(i, j)] *= 1.0 - lambda;
            }
        }
        cov[(i, i)] = cov[(i, i)].max(RIDGE);
    }
    cov
}

/// P = J − ((UᵀWU)⁻¹ UᵀWJᵀ)ᵀ Uᵀ with Uᵀ = [I | −A], J = [0 | I], in hierarchicalforecast's
/// arrangement (entries below 1e-10 of the two factors set to zero before solving).
fn min_trace_p(st: &Structure, w: &DMatrix<f64>) -> Result<DMatrix<f64>, String> {
    let (n, m) = st.s.shape();
    let aggs = n - m;
    if aggs == 0 {
        return Ok(DMatrix::identity(m, m));
    }
    let mut ut = DMatrix::zeros(aggs, n);
    for i in 0..aggs {
        ut[(i, i)] = 1.0;
        for j in 0..m {
            ut[(i, aggs + j)] = -st.s[(i, j)];
        }
    }
    let mut j_mat = DMatrix::zeros(m, n);
    for j in 0..m {
        j_mat[(j, aggs + j)] = 1.0;
    }
    let utw = &ut * w;
    let clean = |mut x: DMatrix<f64>| {
        x.iter_mut()
            .filter(|v| v.abs() < 1e-10)
            .for_each(|v| *v = 0.0);
        x
    };
    let coef = clean(&utw * ut.transpose());
    // An LU rarely meets an exact zero pivot in floating point: judge the conditioning (a
    // sample covariance of T days has rank T − 1 at most).
    let sv = coef.singular_values();
    let (smin, smax) = sv
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    if smin.is_nan() || smin <= 1e-12 * smax {
        return Err(
            "min_trace is ill-conditioned here (UᵀWU is singular: with mint_cov, fewer in-sample \
             days than aggregates + 1; with wls_var or mint_cov, a node whose in-sample \
             residuals are all zero); use more history or another method"
                .into(),
        );
    }
    let dep = clean(utw.columns(aggs, m).into_owned());
    let solved = coef
        .lu()
        .solve(&dep)
        .filter(|x| x.iter().all(|v| v.is_finite()))
        .ok_or("min_trace is ill-conditioned here (singular UᵀWU); try another method")?;
    Ok(j_mat - solved.transpose() * ut)
}

/// Non-negative MinTrace, as hierarchicalforecast's `MinTrace(nonnegative=True)`: negative
/// base forecasts are taken as zero, then the bottom forecasts minimise
/// ½ bᵀ(SᵀW⁺S)b − (SᵀW⁺ŷ)ᵀb subject to b ≥ 0, and ỹ = S b. hierarchicalforecast solves the QP
/// with an interior-point method (clarabel, to its tolerance) and rounds to float32; this
/// active-set solution is exact (KKT to rounding), so the two agree to clarabel's tolerance.
pub fn reconcile_nonnegative(
    st: &Structure,
    y_hat: &DMatrix<f64>,
    insample: Option<&Insample>,
    method: Method,
) -> Result<DMatrix<f64>, String> {
    if matches!(method, Method::BottomUp) || method.top_down() {
        return Err(format!(
            "non-negative reconciliation applies to the min_trace methods, not {}",
            name(method)
        ));
    }
    check_rows(st, y_hat)?;
    let w = covariance(st, insample, method)?;
    let smax = w.singular_values().iter().fold(0.0f64, |m, v| m.max(*v));
    let w_pinv = w.pseudo_inverse(1e-15 * smax).map_err(String::from)?;
    let a = st.s.transpose() * w_pinv;
    let q = &a * &st.s;
    if q.clone().cholesky().is_none() {
        return Err(format!(
            "{} is ill-conditioned for non-negative reconciliation (SᵀW⁺S is not positive definite)",
            name(method)
        ));
    }
    let clipped = y_hat.map(|v| v.max(0.0));
    let c = &a * clipped;
    let mut bottom = DMatrix::zeros(st.n_bottom(), y_hat.ncols());
    for h in 0..y_hat.ncols() {
        let b = nonnegative_qp(&q, &c.column(h).into_owned())?;
        bottom.set_column(h, &b);
    }
    Ok(&st.s * bottom)
}

/// min ½ bᵀQb − cᵀb subject to b ≥ 0, Q positive definite: Lawson & Hanson's active-set
/// method in quadratic form (finite; each inner step keeps b feasible).
fn nonnegative_qp(
    q: &DMatrix<f64>,
    c: &nalgebra::DVector<f64>,
) -> Result<nalgebra::DVector<f64>, String> {
    let m = c.len();
    let tol = 1e-12 * c.amax().max(1.0);
    let mut b = nalgebra::DVector::zeros(m);
    let mut free = vec![false; m];
    let solve_free = |free: &[bool]| -> Option<nalgebra::DVector<f64>> {
        let idx: Vec<usize> = (0..m).filter(|&i| free[i]).collect();
        let qq = DMatrix::from_fn(idx.len(), idx.len(), |i, j| q[(idx[i], idx[j])]);
        let cc = nalgebra::DVector::from_fn(idx.len(), |i, _| c[idx[i]]);
        let zz = qq.cholesky()?.solve(&cc);
        let mut z = nalgebra::DVector::zeros(m);
        for (k, &i) in idx.iter().enumerate() {
            z[i] = zz[k];
        }
        Some(z)
    };
    for _ in 0..3 * m + 3 {
        let grad = c - q * &b;
        let Some(j) = (0..m)
            .filter(|&i| !free[i] && grad[i] > tol)
            .max_by(|&x, &y| grad[x].total_cmp(&grad[y]))
        else {
            return Ok(b);
        };
        free[j] = true;
        loop {
            let z = solve_free(&free).ok_or("the non-negative QP is singular")?;
            if (0..m).filter(|&i| free[i]).all(|i| z[i] > 0.0) {
                b = z;
                break;
            }
            // Step towards z as far as feasibility allows, then fix what hit zero.
            let alpha = (0..m)
                .filter(|&i| free[i] && z[i] <= 0.0)
                .map(|i| b[i] / (b[i] - z[i]))
                .fold(1.0f64, f64::min);
            b += (z - &b) * alpha;
            for i in 0..m {
                if free[i] && b[i] <= tol {
                    free[i] = false;
                    b[i] = 0.0;
                }
            }
        }
    }
    Err("the non-negative QP did not converge".into())
}
