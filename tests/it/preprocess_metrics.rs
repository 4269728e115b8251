//! Scaler, metrics, backtest and seasonal-naive checks against hand-computed values.

use adsales::config::SplitRatios;
use adsales::data::features::Features;
use adsales::data::preprocess::{self, MinMaxScaler};
use adsales::eval::backtest;
use adsales::eval::metrics::{self, Metrics};
use adsales::models::naive::SeasonalNaive;
use adsales::models::{FitData, Forecaster, FutureInputs};
use chrono::{Duration, NaiveDate};

fn ratios() -> SplitRatios {
    SplitRatios {
        train: 0.7,
        val: 0.15,
        test: 0.15,
    }
}

#[test]
fn scaler_fits_train_only_and_round_trips() {
    let names = vec!["a".to_string(), "const".to_string()];
    let a: Vec<f64> = (0..10).map(|i| i as f64 * 1.5 + 0.1).collect();
    let c = vec![3.3; 10];
    let s = MinMaxScaler::fit(&names, &[a.clone(), c.clone()], 7);
    assert_eq!(s.min[0], 0.1);
    assert_eq!(s.max[0], 6.0 * 1.5 + 0.1);
    let t = s.transform(0, &a);
    assert_eq!(t[0], 0.0);
    assert_eq!(t[6], 1.0);
    assert!(
        t[9] > 1.0,
        "test values beyond the train range stay beyond 1"
    );
    let back = s.inverse(0, &t);
    for (x, y) in a.iter().zip(&back) {
        assert!((x - y).abs() <= 1e-15 * x.abs().max(1.0), "{x} vs {y}");
    }
    // Constant column: maps to 0 and inverts exactly.
    let tc = s.transform(1, &c);
    assert!(tc.iter().all(|&v| v == 0.0));
    assert_eq!(s.inverse(1, &tc), c);
    // JSON keeps the column order.
    let json = s.to_json();
    let s2 = MinMaxScaler::from_json(&json).unwrap();
    assert_eq!(s2, s);
    assert!(json.find("\"a\"").unwrap() < json.find("\"const\"").unwrap());
}

#[test]
fn metrics_match_hand_computation() {
    let a = [100.0, 0.0, 50.0, 200.0];
    let p = [110.0, 5.0, 40.0, 190.0];
    // errors: -10, -5, 10, 10 → squares 100, 25, 100, 100 → mean 81.25
    assert!((metrics::rmse(&a, &p) - 81.25f64.sqrt()).abs() < 1e-12);
    assert!((metrics::mae(&a, &p) - 8.75).abs() < 1e-12);
    // MAPE skips the zero actual: (0.1 + 0.2 + 0.05) / 3 · 100
    let (mape, skipped) = metrics::mape(&a, &p);
    assert!((mape - 35.0 / 3.0).abs() < 1e-12);
    assert_eq!(skipped, 1);
    // R²: mean 87.5, SS_tot = 156.25 + 7656.25 + 1406.25 + 12656.25 = 21875
    assert!((metrics::r2(&a, &p) - (1.0 - 325.0 / 21875.0)).abs() < 1e-12);
    // Seasonal-naive scale with m = 2 on [1, 2, 4, 8, 16]: |4-1|, |8-2|, |16-4| → 7
    assert!((metrics::seasonal_naive_mae(&[1.0, 2.0, 4.0, 8.0, 16.0], 2) - 7.0).abs() < 1e-12);
    assert!((metrics::mase(&a, &p, 7.0) - 1.25).abs() < 1e-12);
    let m = Metrics::compute(
        &a,
        &p,
        &[90.0, -1.0, 45.0, 150.0],
        &[120.0, 1.0, 60.0, 190.0],
        7.0,
        0.8,
    );
    assert_eq!(m.coverage, 0.75);
    // Widths 30, 2, 15, 40 → 21.75; Winkler at 80%: 200 is 10 above 190, times 2/0.2 = 100
    // on top of the widths (87) → 187 / 4.
    assert!((m.width - 21.75).abs() < 1e-12);
    assert!((m.winkler - 46.75).abs() < 1e-12);
    assert!(metrics::rmse(&[], &[]).is_nan());
}

/// A weekly-periodic series: the seasonal naive forecast is exact, so every metric is 0.
#[test]
fn seasonal_naive_backtest_on_a_periodic_series_is_exact() {
    let n = 120;
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let y: Vec<f64> = (0..n).map(|i| 100.0 + 10.0 * (i % 7) as f64).collect();
    let features = Features {
        dates: (0..n).map(|i| start + Duration::days(i as i64)).collect(),
        names: vec!["revenue".into()],
        cols: vec![y.clone()],
        is_filled: vec![false; n],
        target: "revenue".into(),
        warmup: 0,
    };
    let prep = preprocess::prepare(&features, ratios());
    let s = prep.split;
    let fitted = SeasonalNaive { period: 7 }
        .fit(&FitData {
            frame: &prep.scaled,
            train_end: s.train_end,
            val_end: None,
        })
        .unwrap();
    let ev = backtest::evaluate(
        fitted.as_ref(),
        &prep,
        s.train_end..s.val_end,
        7,
        0.95,
        &|_| FutureInputs::default(),
        metrics::seasonal_naive_mae(&y[..s.train_end], 7),
    )
    .unwrap();
    assert!(ev.metrics.rmse < 1e-9, "rmse {}", ev.metrics.rmse);
    // Origins: train_end-1 ..= val_end-2, each trimmed to the segment.
    assert_eq!(ev.forecasts.len(), s.n_val());
    let pairs: usize = ev.forecasts.iter().map(|f| f.mean.len()).sum();
    let expected: usize = (0..s.n_val()).map(|k| 7.min(s.n_val() - k)).sum();
    assert_eq!(pairs, expected);
    assert_eq!(ev.metrics.n, expected);
    assert_eq!(ev.step_rmse.len(), 7);
}

/// Hand-checked forecasts and the seasonal-naive interval formula.
#[test]
fn seasonal_naive_forecast_by_hand() {
    let n = 60;
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let y: Vec<f64> = (0..n)
        .map(|i| (i % 7) as f64 + if i % 2 == 0 { 0.5 } else { 0.0 })
        .collect();
    let frame = adsales::models::Frame {
        dates: (0..n).map(|i| start + Duration::days(i as i64)).collect(),
        names: vec!["y".into()],
        cols: vec![y.clone()],
        target: "y".into(),
    };
    let fitted = SeasonalNaive { period: 7 }
        .fit(&FitData {
            frame: &frame,
            train_end: n,
            val_end: None,
        })
        .unwrap();
    // Residuals y_t − y_{t−7} are ±0.5 (parity flips every 7 steps): σ = 0.5.
    let f = fitted
        .forecast(&frame, &FutureInputs::default(), 9, 0.95)
        .unwrap();
    assert_eq!(f.mean[0], y[n - 7]);
    assert_eq!(f.mean[6], y[n - 1]);
    assert_eq!(f.mean[7], y[n - 7]);
    let z = 1.959_963_984_540_054;
    assert!((f.upper[0] - f.mean[0] - z * 0.5).abs() < 1e-12);
    assert!((f.upper[8] - f.mean[8] - z * 0.5 * 2f64.sqrt()).abs() < 1e-12);
}

/// Coverage, mean width, Winkler score and the split-conformal half-width against numpy on
/// seeded cases (`scripts/gen_interval_fixtures.py`; numpy's `inverted_cdf` quantile is the
/// conformal order statistic).
#[test]
fn interval_scores_and_conformal_quantiles_match_numpy() {
    use adsales::models::calibration::Calibration;
    let path = crate::common::repo_root().join("tests/fixtures/intervals/cases.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = |c: &serde_json::Value, k: &str| -> Vec<f64> {
        c[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for c in cases {
        let level = c["level"].as_f64().unwrap();
        let (a, l, u) = (v(c, "actual"), v(c, "lower"), v(c, "upper"));
        let m = Metrics::compute(&a, &a, &l, &u, 1.0, level);
        assert!(
            close(m.coverage, c["coverage"].as_f64().unwrap()),
            "{level}"
        );
        assert!(close(m.width, c["width"].as_f64().unwrap()), "{level}");
        assert!(close(m.winkler, c["winkler"].as_f64().unwrap()), "{level}");
        let mut errors = v(c, "errors");
        errors.sort_by(f64::total_cmp);
        let cal = Calibration {
            errors: vec![errors],
            scale: None,
        };
        assert_eq!(
            cal.half_width(0, level),
            c["half_width"].as_f64().unwrap(),
            "{level}"
        );
    }
}
