//! Reconciled backtests (issue 15): the base forecasts of every node at every origin of a
//! segment, reconciled origin by origin, scored per level, and the method chosen on
//! validation.
//!
//! Each origin's forecasts form one nodes × steps matrix ŷ; a method gives S P ŷ, coherent by
//! construction. Methods are compared by the mean over levels of the reconciled RMSE relative
//! to the base RMSE of that level, so the total's large dollars do not drown the segments'.

use nalgebra::DMatrix;

use super::backtest::{self, Evaluation, OriginForecast};
use super::metrics::rmse;
use crate::data::preprocess::Prepared;
use crate::models::reconcile::{self, Insample, Method, Structure};
use crate::models::{FittedForecaster, FutureInputs};

/// The methods train tries when `segments.reconcile` is `auto`: top-down ones only on strict
/// hierarchies, the residual-based MinTrace ones only `with_residuals`. Simplest first (ties
/// keep the first).
pub fn candidates(st: &Structure, with_residuals: bool) -> Vec<Method> {
    let mut out = vec![Method::BottomUp];
    if top_down_fits(st) {
        out.extend([
            Method::ForecastProportions,
            Method::AverageProportions,
            Method::ProportionAverages,
        ]);
    }
    out.extend([Method::Ols, Method::WlsStruct]);
    if with_residuals {
        out.extend([Method::WlsVar, Method::MintCov, Method::MintShrink]);
    }
    out
}

/// Whether top-down reconciliation applies: a strict hierarchy with one root (the total) that
/// every bottom series is under; several roots (levels without `[]`) would split one root's
/// forecast over every bottom series.
pub fn top_down_fits(st: &Structure) -> bool {
    st.parents()
        .is_some_and(|p| p.iter().filter(|x| x.is_none()).count() == 1)
        && st.s.row(0).iter().all(|v| *v == 1.0)
}

/// In-sample one-step values and fitted values (nodes × days) from before the segment being
/// reconciled: what the residual-based MinTrace methods estimate W from.
pub struct Residuals<'a> {
    pub y: &'a DMatrix<f64>,
    pub fitted: &'a DMatrix<f64>,
}

/// Reconciles `evals` (one per node, in the structure's row order, all with the same origins
/// and steps). `history` (nodes × T, real units, data before the segment only) feeds the
/// top-down proportions, `residuals` the residual-based MinTrace methods. Intervals are left
/// at the point forecast: the caller calibrates them.
pub fn reconcile_evaluations(
    st: &Structure,
    evals: &[&Evaluation],
    history: &DMatrix<f64>,
    residuals: Option<&Residuals>,
    method: Method,
    nonnegative: bool,
) -> Result<Vec<Evaluation>, String> {
    let n = st.s.nrows();
    if evals.len() != n {
        return Err(format!("{} evaluations for {n} nodes", evals.len()));
    }
    let origins = evals[0].forecasts.len();
    if let Some(e) = evals.iter().find(|e| e.forecasts.len() != origins) {
        return Err(format!(
            "nodes have different backtests ({} and {} origins)",
            origins,
            e.forecasts.len()
        ));
    }
    let insample = match residuals {
        Some(r) if method.needs_fitted() => Insample {
            y: r.y,
            fitted: Some(r.fitted),
        },
        _ => Insample {
            y: history,
            fitted: None,
        },
    };
    let mut out: Vec<Vec<OriginForecast>> = vec![Vec::with_capacity(origins); n];
    for k in 0..origins {
        let first = &evals[0].forecasts[k];
        let steps = first.mean.len();
        let mut y_hat = DMatrix::from_fn(n, steps, |i, h| evals[i].forecasts[k].mean[h]);
        if nonnegative {
            // As hierarchicalforecast's non-negative MinTrace: negative bases count as zero
            // (for every method here, so bottom-up and top-down stay non-negative too).
            y_hat.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        if let Some(e) = evals
            .iter()
            .find(|e| e.forecasts[k].origin != first.origin || e.forecasts[k].mean.len() != steps)
        {
            return Err(format!(
                "origin {} of one node is origin {} of another",
                first.origin, e.forecasts[k].origin
            ));
        }
        let is_min_trace = method != Method::BottomUp && !method.top_down();
        let rec = if nonnegative && is_min_trace {
            reconcile::reconcile_nonnegative(st, &y_hat, Some(&insample), method)?
        } else {
            reconcile::reconcile(st, &y_hat, Some(&insample), method)?
        };
        for (i, node) in out.iter_mut().enumerate() {
            let mean: Vec<f64> = (0..steps).map(|h| rec[(i, h)]).collect();
            node.push(OriginForecast::point(first.origin, mean));
        }
    }
    Ok(out.into_iter().map(Evaluation::unscored).collect())
}

/// Days of in-sample one-step forecasts the residual-based methods estimate W from: eight
/// weeks before the segment (fewer when the fitting rows are short).
pub const RESIDUAL_DAYS: usize = 56;

/// One-step forecasts of `model` for the `RESIDUAL_DAYS` days before row `end` (each from the
/// data up to the day before, parameters fixed, drivers at their actual values as in-sample
/// fitted values are), with the actuals: (actual, fitted), real units. `None` when the rows
/// before are too few or the model fails there.
pub fn one_step_insample(
    model: &dyn FittedForecaster,
    prep: &Prepared,
    end: usize,
    drivers: &[String],
) -> Option<(Vec<f64>, Vec<f64>)> {
    let days = RESIDUAL_DAYS.min(end.saturating_sub(28));
    if days < 14 {
        return None;
    }
    let cols: Vec<(&String, &[f64])> = drivers
        .iter()
        .filter_map(|d| prep.scaled.col(d).map(|c| (d, c)))
        .collect();
    let future = |o: usize| FutureInputs {
        exog: cols
            .iter()
            .map(|(n, c)| ((*n).clone(), vec![c[(o + 1).min(c.len() - 1)]]))
            .collect(),
    };
    let ev = backtest::evaluate(model, prep, end - days..end, 1, 0.95, &future, 1.0).ok()?;
    let y = prep.real.target();
    let fitted: Vec<f64> = ev.forecasts.iter().map(|f| f.mean[0]).collect();
    let actual: Vec<f64> = ev.forecasts.iter().map(|f| y[f.origin + 1]).collect();
    (fitted.len() == days && fitted.iter().all(|v| v.is_finite())).then_some((actual, fitted))
}

/// RMSE of the nodes `members` pooled over every (node, origin, step); `actual[i]` is node
/// i's whole real-unit target.
pub fn pooled_rmse(evals: &[&Evaluation], actual: &[&[f64]], members: &[usize]) -> f64 {
    let (mut a, mut p) = (Vec::new(), Vec::new());
    for &i in members {
        for f in &evals[i].forecasts {
            for (h, m) in f.mean.iter().enumerate() {
                a.push(actual[i][f.origin + 1 + h]);
                p.push(*m);
            }
        }
    }
    rmse(&a, &p)
}

/// Coverage of the central intervals of `members`, pooled like [`pooled_rmse`].
pub fn pooled_coverage(evals: &[&Evaluation], actual: &[&[f64]], members: &[usize]) -> f64 {
    let (mut inside, mut total) = (0usize, 0usize);
    for &i in members {
        for f in &evals[i].forecasts {
            for h in 0..f.mean.len() {
                let y = actual[i][f.origin + 1 + h];
                total += 1;
                inside += usize::from(y >= f.lower[h] && y <= f.upper[h]);
            }
        }
    }
    inside as f64 / total.max(1) as f64
}

/// The score a method is chosen by: the mean over levels of reconciled RMSE / base RMSE
/// (a level whose base RMSE is zero counts as 1 when the reconciled one is zero too).
pub fn relative_score(
    base: &[&Evaluation],
    rec: &[&Evaluation],
    actual: &[&[f64]],
    levels: &[Vec<usize>],
) -> f64 {
    let ratios: Vec<f64> = levels
        .iter()
        .map(|m| {
            let (b, r) = (pooled_rmse(base, actual, m), pooled_rmse(rec, actual, m));
            if b > 0.0 {
                r / b
            } else if r == 0.0 {
                1.0
            } else {
                f64::INFINITY
            }
        })
        .collect();
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

/// The largest relative gap between an aggregate's forecast and the sum of its bottom
/// series' forecasts (0 for coherent forecasts).
pub fn incoherence(st: &Structure, evals: &[&Evaluation]) -> f64 {
    let (n, m) = st.s.shape();
    let mut worst = 0.0f64;
    for k in 0..evals[0].forecasts.len() {
        for h in 0..evals[0].forecasts[k].mean.len() {
            // MinTrace rounds each node at the scale of the largest forecast it mixes in, so a
            // near-zero aggregate is judged against a thousandth of the largest node.
            let top = evals
                .iter()
                .map(|e| e.forecasts[k].mean[h].abs())
                .fold(0.0f64, f64::max);
            for i in 0..n - m {
                let sum: f64 = (0..m)
                    .filter(|&j| st.s[(i, j)] != 0.0)
                    .map(|j| evals[n - m + j].forecasts[k].mean[h])
                    .sum();
                let v = evals[i].forecasts[k].mean[h];
                let gap = (v - sum).abs() / v.abs().max(sum.abs()).max(1e-3 * top).max(1e-300);
                worst = worst.max(if v == sum { 0.0 } else { gap });
            }
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(origins: &[(usize, Vec<f64>)]) -> Evaluation {
        Evaluation::unscored(
            origins
                .iter()
                .map(|(o, m)| OriginForecast::point(*o, m.clone()))
                .collect(),
        )
    }

    /// Total = A + B: the toy case of shared/design/hierarchy.md, one level down.
    fn structure() -> Structure {
        let s = DMatrix::from_row_slice(3, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        Structure::new(vec!["total".into(), "A".into(), "B".into()], s).unwrap()
    }

    #[test]
    fn bottom_up_sums_every_origin_and_is_coherent() {
        let st = structure();
        let evals = [
            ev(&[(0, vec![10.0, 11.0]), (1, vec![12.0])]),
            ev(&[(0, vec![4.0, 5.0]), (1, vec![6.0])]),
            ev(&[(0, vec![3.0, 3.5]), (1, vec![2.0])]),
        ];
        let refs: Vec<&Evaluation> = evals.iter().collect();
        let hist = DMatrix::from_element(3, 4, 1.0);
        assert!(incoherence(&st, &refs) > 0.1);
        let rec = reconcile_evaluations(&st, &refs, &hist, None, Method::BottomUp, false).unwrap();
        assert_eq!(rec[0].forecasts[0].mean, vec![7.0, 8.5]);
        assert_eq!(rec[0].forecasts[1].mean, vec![8.0]);
        assert_eq!(rec[0].forecasts[1].origin, 1);
        let r: Vec<&Evaluation> = rec.iter().collect();
        assert_eq!(incoherence(&st, &r), 0.0);
        // OLS on Total = A + B: b = (S'S)⁻¹S'ŷ = (5, 4), by hand, so the total is 9.
        let ols = reconcile_evaluations(&st, &refs, &hist, None, Method::Ols, false).unwrap();
        assert!((ols[0].forecasts[0].mean[0] - 9.0).abs() < 1e-12);
        assert!((ols[1].forecasts[0].mean[0] - 5.0).abs() < 1e-12);
        assert!((ols[2].forecasts[0].mean[0] - 4.0).abs() < 1e-12);
        // Non-negative: B's base −3 counts as zero; OLS's bottoms are then (5, 1) by hand
        // (b = (S'S)⁻¹S'ŷ with ŷ = (7, 4, 0)), all ≥ 0 and still coherent.
        let neg = [
            ev(&[(0, vec![7.0])]),
            ev(&[(0, vec![4.0])]),
            ev(&[(0, vec![-3.0])]),
        ];
        let nrefs: Vec<&Evaluation> = neg.iter().collect();
        let h2 = DMatrix::from_element(3, 4, 1.0);
        let nn = reconcile_evaluations(&st, &nrefs, &h2, None, Method::Ols, true).unwrap();
        let got: Vec<f64> = nn.iter().map(|e| e.forecasts[0].mean[0]).collect();
        for (g, w) in got.iter().zip([6.0, 5.0, 1.0]) {
            assert!((g - w).abs() < 1e-9, "{got:?}");
        }
        let bu = reconcile_evaluations(&st, &nrefs, &h2, None, Method::BottomUp, true).unwrap();
        assert_eq!(bu[0].forecasts[0].mean, vec![4.0]);
    }

    #[test]
    fn scores_pool_each_level_and_average_the_ratios() {
        let actual: Vec<Vec<f64>> = vec![vec![0.0, 10.0, 10.0], vec![0.0, 5.0, 5.0]];
        let a: Vec<&[f64]> = actual.iter().map(|v| v.as_slice()).collect();
        let base = [ev(&[(0, vec![12.0, 10.0])]), ev(&[(0, vec![5.0, 7.0])])];
        let rec = [ev(&[(0, vec![11.0, 10.0])]), ev(&[(0, vec![5.0, 6.0])])];
        let b: Vec<&Evaluation> = base.iter().collect();
        let r: Vec<&Evaluation> = rec.iter().collect();
        // level 0: base rmse sqrt(2), rec sqrt(0.5); level 1: base sqrt(2), rec sqrt(0.5).
        assert!((pooled_rmse(&b, &a, &[0]) - 2f64.sqrt()).abs() < 1e-12);
        let s = relative_score(&b, &r, &a, &[vec![0], vec![1]]);
        assert!((s - 0.5).abs() < 1e-12, "{s}");
        assert!(pooled_coverage(&b, &a, &[0, 1]) == 0.5);
    }

    #[test]
    fn mismatched_origins_are_refused() {
        let st = structure();
        let evals = [
            ev(&[(0, vec![1.0])]),
            ev(&[(1, vec![1.0])]),
            ev(&[(0, vec![1.0])]),
        ];
        let refs: Vec<&Evaluation> = evals.iter().collect();
        let hist = DMatrix::from_element(3, 2, 1.0);
        assert!(reconcile_evaluations(&st, &refs, &hist, None, Method::BottomUp, false).is_err());
    }
}
