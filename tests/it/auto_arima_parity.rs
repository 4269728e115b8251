//! Parity of the `auto_arima` search with statsforecast 2.1.1's `AutoARIMA` on the fixtures
//! written by `scripts/gen_auto_arima_fixtures.py` (public data sets, the bundled ad data,
//! simulated series; with and without regressors). Per the forecast-quality issue: the same
//! orders and constant on at least 90% of them, and where they agree the AICc equal to 1e-6
//! relative, or lower (a better optimum of the same likelihood). Run with `--nocapture` for
//! the table of every fixture.
//!
//! The reference is statsforecast with R's semantics restored and its AICc taken from the
//! exact diffuse likelihood at its parameters; the script's docstring says why (its port
//! overwrites the filter's initial covariance between evaluations, and R's κ = 1e6 prior is
//! 1e-6-relative inexact on differenced models). Both are statsforecast's own code.

use adsales::models::auto_arima::{AutoArimaSettings, auto_arima};
use serde_json::Value;

use crate::common::{floats, json_fixtures};

struct Case {
    name: String,
    period: usize,
    y: Vec<f64>,
    names: Vec<String>,
    xreg: Vec<Vec<f64>>,
    want: Value,
    want_stock: Value,
}

fn cases() -> Vec<Case> {
    json_fixtures("auto_arima")
        .into_iter()
        .map(|v| Case {
            name: v["name"].as_str().unwrap().to_string(),
            period: v["period"].as_u64().unwrap() as usize,
            y: floats(&v["y"]),
            names: v["xreg_names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
            xreg: v["xreg"].as_array().unwrap().iter().map(floats).collect(),
            want: v["expected"].clone(),
            want_stock: v["stock"].clone(),
        })
        .collect()
}

fn label(order: [usize; 3], seasonal: [usize; 3], constant: bool) -> String {
    let [p, d, q] = order;
    let [sp, sd, sq] = seasonal;
    format!(
        "({p},{d},{q})({sp},{sd},{sq}){}",
        if constant { " c" } else { "" }
    )
}

#[test]
fn auto_arima_chooses_the_orders_statsforecast_chooses() {
    let all = cases();
    assert!(
        all.len() >= 20,
        "need at least 20 fixtures, found {}",
        all.len()
    );
    let st = AutoArimaSettings::default();
    let mut agree = 0;
    let mut failures = Vec::new();
    println!(
        "{:18} {:>20} {:>20} {:>14} {:>14} {:>9}",
        "fixture", "statsforecast", "ours", "their AICc", "our AICc", "rel"
    );
    for c in &all {
        let refs: Vec<&[f64]> = c.xreg.iter().map(|v| v.as_slice()).collect();
        let t0 = std::time::Instant::now();
        let got = auto_arima(&c.y, &refs, &c.names, c.period, &st)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let o = floats(&c.want["order"]);
        let so = floats(&c.want["seasonal"]);
        let want = label(
            [o[0] as usize, o[1] as usize, o[2] as usize],
            [so[0] as usize, so[1] as usize, so[2] as usize],
            c.want["constant"].as_bool().unwrap(),
        );
        let (p, d, q) = got.fit.spec.order;
        let (sp, _, sq, _) = got.fit.spec.seasonal;
        let ours = label(
            [p, d, q],
            [sp, got.big_d, sq],
            got.fit.spec.trend != adsales::models::sarimax::Trend::N,
        );
        let their = c.want["aicc_exact"].as_f64().unwrap();
        let rel = (got.aicc - their) / their.abs();
        println!(
            "{:18} {:>20} {:>20} {:>14.4} {:>14.4} {:>9.1e} {:>3} fits {:.2}s",
            c.name,
            want,
            ours,
            their,
            got.aicc,
            rel,
            got.tried.len(),
            t0.elapsed().as_secs_f64()
        );
        if ours != want {
            // The walk, to compare with statsforecast's `trace=True`.
            for t in &got.tried {
                println!(
                    "    ({},{},{})({},{},{}) {} : {:.4}",
                    t.p,
                    d,
                    t.q,
                    t.big_p,
                    got.big_d,
                    t.big_q,
                    if t.constant { "c" } else { " " },
                    t.ic
                );
            }
        }
        if ours == want {
            agree += 1;
            // Lower AICc = higher likelihood: our optimum beat theirs, not a disagreement. Our
            // engine keeps the MA part invertible (as statsmodels does) where R's optimiser
            // leaves it free: when their optimum has an MA root on the unit circle, ours stops
            // just inside and may trail by a little.
            let boundary = ma_on_unit_circle(&c.want["coef"]);
            if rel > 1e-6 && !(boundary && rel <= 1e-5) {
                failures.push(format!(
                    "{}: AICc {} vs statsforecast {} ({rel:.1e})",
                    c.name, got.aicc, their
                ));
            }
        }
    }
    println!("orders agree on {agree} of {}", all.len());
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        agree * 10 >= all.len() * 9,
        "orders agree on only {agree} of {}",
        all.len()
    );
}

/// Whether the non-seasonal or seasonal MA polynomial of statsforecast's coefficients has a
/// root within 1e-3 of the unit circle (or inside it): Schur–Cohn step-down on
/// 1 + θ1 z + ... scaled to radius 1.001.
fn ma_on_unit_circle(coef: &Value) -> bool {
    let poly = |prefix: &str| -> Vec<f64> {
        (1..)
            .map_while(|i| coef.get(format!("{prefix}{i}")).and_then(Value::as_f64))
            .collect()
    };
    [poly("ma"), poly("sma")].iter().any(|theta| {
        let mut a: Vec<f64> = theta
            .iter()
            .enumerate()
            .map(|(i, v)| -v * 1.001f64.powi(i as i32 + 1))
            .collect();
        while let Some(&r) = a.last() {
            if r.abs() >= 1.0 {
                return true;
            }
            let k = a.len() - 1;
            let prev: Vec<f64> = (0..k)
                .map(|i| (a[i] + r * a[k - 1 - i]) / (1.0 - r * r))
                .collect();
            a = prev;
        }
        false
    })
}

/// On a random walk with drift the exact maximum likelihood has a closed form (the drift is
/// the mean first difference, σ² their mean squared deviation): ours reaches it, and
/// statsforecast as shipped reports a value above it, which no likelihood of that model can
/// have (why the fixtures restore R's semantics).
#[test]
fn random_walk_with_drift_reaches_the_closed_form_maximum() {
    let c = cases()
        .into_iter()
        .find(|c| c.name == "sim_rw_drift")
        .unwrap();
    let dy: Vec<f64> = c.y.windows(2).map(|w| w[1] - w[0]).collect();
    let n = dy.len() as f64;
    let mean = dy.iter().sum::<f64>() / n;
    let s2 = dy.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let closed = -0.5 * n * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0);
    let got = auto_arima(&c.y, &[], &[], 1, &AutoArimaSettings::default()).unwrap();
    assert_eq!(
        (got.fit.spec.order, got.fit.spec.trend),
        ((0, 1, 0), adsales::models::sarimax::Trend::C)
    );
    // AICc with k = 2 (drift, σ²) over n observations, back to the log-likelihood.
    let llf = -(got.aicc - 4.0 - 12.0 / (n - 3.0)) / 2.0;
    assert!(
        (llf - closed).abs() < 1e-8 * closed.abs(),
        "{llf} vs {closed}"
    );
    let stock = c.want_stock["loglik"].as_f64().unwrap();
    assert!(
        stock > closed + 0.1,
        "statsforecast as shipped: {stock}, maximum {closed}"
    );
}

/// Series with nothing to search are refused with a message that says why (review finding:
/// they used to fail with "no candidate model" or fit a degenerate model).
#[test]
fn degenerate_series_are_refused_clearly() {
    let st = AutoArimaSettings::default();
    let msg = |y: Vec<f64>| auto_arima(&y, &[], &[], 7, &st).unwrap_err().to_string();
    assert!(msg(vec![5.0; 30]).contains("constant"));
    assert!(msg((0..40).map(|t| 2.0 * t as f64 + 1.0).collect()).contains("deterministic"));
    let mut y: Vec<f64> = (0..40).map(|t| ((t * 7 % 11) as f64).sin()).collect();
    y[3] = f64::NAN;
    assert!(msg(y).contains("1 of the 40 target values"));
}
