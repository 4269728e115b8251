//! Behaviour of the SARIMAX engine and family beyond statsmodels parity: bad data, failure
//! modes, forecasting from later origins, the model interface, save/load, and the grid.

use adsales::models::sarimax::{
    FitOptions, SarimaxForecaster, SarimaxSpec, Trend, fit, fit_grid, fit_with, forecast,
    forecast_origins, load, loglike,
};
use adsales::models::{FitData, FittedForecaster, Forecaster, Frame, FutureInputs, ModelError};
use chrono::NaiveDate;

/// Deterministic daily-like series: weekly pattern, AR(1) noise, an exog effect.
fn series(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state = 12345u64;
    let mut noise = || {
        // xorshift + sum of uniforms ≈ normal; deterministic, no RNG crate needed.
        let mut s = 0.0;
        for _ in 0..12 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s += (state % 1_000_000) as f64 / 1e6;
        }
        s - 6.0
    };
    let x: Vec<f64> = (0..n)
        .map(|t| 10.0 + (t as f64 / 5.0).sin() + 0.3 * noise())
        .collect();
    let mut e = 0.0;
    let y = (0..n)
        .map(|t| {
            e = 0.5 * e + noise();
            let week = [2.0, 1.0, 0.0, -1.0, -2.0, 3.0, 4.0][t % 7];
            50.0 + week + 1.5 * x[t] + e
        })
        .collect();
    (y, x)
}

fn seasonal_spec(exog: bool) -> SarimaxSpec {
    SarimaxSpec {
        order: (1, 0, 1),
        seasonal: (0, 1, 1, 7),
        trend: Trend::N,
        exog: if exog { vec!["x".into()] } else { vec![] },
        exact_diffuse: false,
    }
}

fn frame(y: &[f64], x: &[f64]) -> Frame {
    let d0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    Frame {
        dates: (0..y.len())
            .map(|i| d0 + chrono::Duration::days(i as i64))
            .collect(),
        names: vec!["revenue".into(), "x".into()],
        cols: vec![y.to_vec(), x.to_vec()],
        target: "revenue".into(),
    }
}

fn unsupported(r: Result<impl std::fmt::Debug, ModelError>) -> String {
    match r {
        Err(ModelError::Unsupported { spec, reason }) => format!("{spec}: {reason}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn non_convergence_is_a_structured_result() {
    let (y, x) = series(200);
    let opts = FitOptions {
        maxiter: 2,
        ..FitOptions::default()
    };
    let f = fit_with(&seasonal_spec(true), &y, &[&x], &opts).unwrap();
    assert!(!f.converged);
    // maxiter applies per run: the first run plus one restart from zero ARMA values.
    assert_eq!(f.iterations, 4);
    assert!(f.message.contains("maxiter"), "{}", f.message);
    assert!(f.llf.is_finite());
}

#[test]
fn singular_exog_is_an_error_naming_the_spec() {
    let (y, x) = series(120);
    let x2: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    let mut spec = seasonal_spec(true);
    spec.exog.push("x2".into());
    let msg = unsupported(fit(&spec, &y, &[&x, &x2]));
    assert!(
        msg.contains("singular") && msg.contains("SARIMAX(1,0,1)(0,1,1,7)"),
        "{msg}"
    );
    let zeros = vec![0.0; y.len()];
    let msg = unsupported(fit(&seasonal_spec(true), &y, &[&zeros]));
    assert!(msg.contains("singular"), "{msg}");
}

#[test]
fn constant_series_is_an_error() {
    let y = vec![3.0; 100];
    let msg = unsupported(fit(&SarimaxSpec::arima(1, 0, 0, Trend::C), &y, &[]));
    assert!(msg.contains("constant"), "{msg}");
    // A straight line differenced once is constant too.
    let line: Vec<f64> = (0..100).map(|t| t as f64).collect();
    let msg = unsupported(fit(&SarimaxSpec::arima(1, 1, 0, Trend::N), &line, &[]));
    assert!(msg.contains("constant"), "{msg}");
}

#[test]
fn too_short_series_is_an_error() {
    let (y, _) = series(10);
    let msg = unsupported(fit(&seasonal_spec(false), &y, &[]));
    assert!(msg.contains("too short"), "{msg}");
    let msg = unsupported(fit(&SarimaxSpec::arima(3, 0, 3, Trend::C), &y[..6], &[]));
    assert!(msg.contains("too short"), "{msg}");
    assert!(fit(&SarimaxSpec::arima(0, 0, 0, Trend::N), &[], &[]).is_err());
}

#[test]
fn unidentifiable_orders_are_errors() {
    let (y, _) = series(200);
    let mut spec = SarimaxSpec::arima(7, 0, 0, Trend::N);
    spec.seasonal = (1, 0, 0, 7);
    assert!(unsupported(fit(&spec, &y, &[])).contains("both"));
    let mut spec = SarimaxSpec::arima(0, 0, 1, Trend::N);
    spec.seasonal = (0, 0, 1, 1);
    assert!(unsupported(fit(&spec, &y, &[])).contains("at least 2"));
    let mut spec = SarimaxSpec::arima(0, 0, 1, Trend::N);
    spec.seasonal = (0, 1, 3, 300);
    assert!(unsupported(fit(&spec, &y, &[])).contains("too large"));
}

#[test]
fn bad_inputs_never_panic() {
    let (y, x) = series(60);
    let spec = seasonal_spec(true);
    // wrong number of exog columns, short exog, NaN target, bad params, bad level
    assert!(fit(&spec, &y, &[]).is_err());
    assert!(fit(&spec, &y, &[&x[..10]]).is_err());
    let mut yn = y.clone();
    yn[5] = f64::NAN;
    assert!(fit(&spec, &yn, &[&x]).is_err());
    assert!(loglike(&spec, &[1.0], &y, &[&x]).is_err());
    let p = [1.0, 0.5, 0.2, 0.3, 1.0];
    assert!(loglike(&spec, &p, &y, &[&x]).is_ok());
    // non-stationary AR at fixed params: an error, not a panic or NaN
    let bad = [1.0, 1.5, 0.2, 0.3, 1.0];
    assert!(loglike(&spec, &bad, &y, &[&x]).is_err());
    assert!(forecast(&spec, &p, &y, &[&x], &[&x[..3]], 3, 1.5).is_err());
    assert!(forecast(&spec, &p, &y, &[&x], &[], 3, 0.9).is_err());
    assert!(forecast(&spec, &p, &y, &[&x], &[&x[..2]], 3, 0.9).is_err());
}

#[test]
fn forecasting_from_a_later_origin_filters_the_new_rows() {
    let (y, x) = series(300);
    let spec = seasonal_spec(true);
    let f = fit(&spec, &y[..200], &[&x[..200]]).unwrap();
    // origins inside and after the fitting rows, forecast with fixed params
    let origins = [150usize, 199, 240, 280, 260];
    let fut = |o: usize| Ok(vec![x[o + 1..(o + 8).min(300)].to_vec()]);
    let many = forecast_origins(&spec, &f.params, &y, &[&x], &origins, &fut, 7, 0.9).unwrap();
    for (k, &o) in origins.iter().enumerate() {
        let one = forecast(
            &spec,
            &f.params,
            &y[..=o],
            &[&x[..=o]],
            &[&x[o + 1..o + 8]],
            7,
            0.9,
        )
        .unwrap();
        assert_eq!(many[k].mean.len(), 7, "origin {o}");
        assert_eq!(one.mean.len(), 7, "origin {o}");
        for (a, b) in many[k].mean.iter().zip(&one.mean) {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "origin {o}: {a} vs {b}"
            );
        }
        for (mine, theirs) in [(&many[k].upper, &one.upper), (&many[k].lower, &one.lower)] {
            assert_eq!(mine.len(), theirs.len(), "origin {o}");
            for (a, b) in mine.iter().zip(theirs) {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "origin {o}: {a} vs {b}"
                );
            }
        }
    }
    // The later origin really uses the new observations: a shock after the fit end moves it.
    let mut y2 = y.clone();
    y2[279] += 100.0;
    let a = forecast(
        &spec,
        &f.params,
        &y[..280],
        &[&x[..280]],
        &[&x[280..287]],
        7,
        0.9,
    )
    .unwrap();
    let b = forecast(
        &spec,
        &f.params,
        &y2[..280],
        &[&x[..280]],
        &[&x[280..287]],
        7,
        0.9,
    )
    .unwrap();
    assert!((a.mean[0] - b.mean[0]).abs() > 1.0);
    // Missing values are skipped by the filter, not fatal.
    let mut y3 = y[..250].to_vec();
    y3[220] = f64::NAN;
    let c = forecast(&spec, &f.params, &y3, &[&x[..250]], &[&x[250..257]], 7, 0.9).unwrap();
    assert!(c.mean.iter().all(|v| v.is_finite()));
}

#[test]
fn family_adapter_fits_forecasts_saves_and_loads() {
    let (y, x) = series(260);
    let fr = frame(&y, &x);
    let data = FitData {
        frame: &fr,
        train_end: 200,
        val_end: None,
    };
    let arima = SarimaxForecaster {
        spec: SarimaxSpec::arima(1, 0, 0, Trend::C),
    };
    assert_eq!(arima.family().as_str(), "arima");
    let fam = SarimaxForecaster {
        spec: seasonal_spec(true),
    };
    assert_eq!(fam.family().as_str(), "sarimax");
    let fitted = fam.fit(&data).unwrap();
    let direct = fit(&fam.spec, &y[..200], &[&x[..200]]).unwrap();
    assert_eq!(fitted.info().llf, Some(direct.llf));
    let future = FutureInputs {
        exog: vec![("x".into(), x[230..237].to_vec())],
    };
    let fc = fitted.forecast(&fr.rows(0..230), &future, 7, 0.95).unwrap();
    let want = forecast(
        &fam.spec,
        &direct.params,
        &y[..230],
        &[&x[..230]],
        &[&x[230..237]],
        7,
        0.95,
    )
    .unwrap();
    assert_eq!(fc.mean, want.mean);
    assert_eq!(fc.lower, want.lower);
    // one pass over all origins == the default per-origin implementation
    let origins = [200usize, 210, 220, 250];
    let fut = |o: usize| FutureInputs {
        exog: vec![("x".into(), x[o + 1..(o + 8).min(260)].to_vec())],
    };
    let pass = fitted
        .forecast_origins(&fr, &origins, &fut, 7, 0.8)
        .unwrap();
    for (k, &o) in origins.iter().enumerate() {
        let h = 7.min(259 - o);
        let one = fitted
            .forecast(&fr.rows(0..o + 1), &fut(o), h, 0.8)
            .unwrap();
        for i in 0..h {
            assert!((pass[k].mean[i] - one.mean[i]).abs() < 1e-9 * one.mean[i].abs());
        }
    }
    // missing future exog is a clear error
    let err = fitted
        .forecast(&fr, &FutureInputs::default(), 3, 0.95)
        .unwrap_err();
    assert!(err.to_string().contains("\"x\""), "{err}");
    // save → load round trip forecasts identically
    let dir = tempfile::tempdir().unwrap();
    fitted.save(dir.path()).unwrap();
    let back = load(dir.path()).unwrap();
    let fc2 = back.forecast(&fr.rows(0..230), &future, 7, 0.95).unwrap();
    assert_eq!(fc2, fc);
    assert!(load(&dir.path().join("nowhere")).is_err());
}

#[test]
fn grid_reports_failures_and_ignores_thread_count() {
    let (y, x) = series(220);
    let fr = frame(&y, &x);
    let data = FitData {
        frame: &fr,
        train_end: 200,
        val_end: None,
    };
    let mut specs = vec![
        SarimaxSpec::arima(1, 0, 0, Trend::C),
        SarimaxSpec::arima(0, 1, 1, Trend::N),
        seasonal_spec(true),
        SarimaxSpec::arima(2, 0, 1, Trend::C),
    ];
    // a failing point: exog column that is not in the frame
    let mut bad = seasonal_spec(false);
    bad.exog = vec!["nope".into()];
    specs.insert(2, bad);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit_grid(&specs, &data))
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.len(), specs.len());
    assert_eq!(two.len(), specs.len());
    for (k, (a, b)) in one.iter().zip(&two).enumerate() {
        match (a, b) {
            // Compared as JSON, which is exact for every f64 and equates the NaN standard
            // errors the pipeline's fits leave uncomputed (NaN != NaN under `==`).
            (Ok(a), Ok(b)) => assert_eq!(
                serde_json::to_string(a).unwrap(),
                serde_json::to_string(b).unwrap(),
                "point {k}"
            ),
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string());
                assert!(a.to_string().contains("nope"), "{a}");
                assert_eq!(a.spec, specs[k]);
            }
            _ => panic!("point {k} differs between thread counts"),
        }
    }
    assert!(one[2].is_err());
    assert_eq!(one.iter().filter(|r| r.is_ok()).count(), 4);
}

#[test]
fn exact_diffuse_option_fits_and_forecasts() {
    let (y, _) = series(150);
    let mut spec = SarimaxSpec::arima(1, 1, 1, Trend::N);
    spec.exact_diffuse = true;
    let f = fit(&spec, &y, &[]).unwrap();
    assert!(f.converged, "{}", f.message);
    assert_eq!(f.nobs_effective, 150);
    let fc = forecast(&spec, &f.params, &y, &[], &[], 5, 0.95).unwrap();
    assert!(fc.se.windows(2).all(|w| w[1] >= w[0]));
}

/// A fitted model keeps the filter's end state of the last history it forecast from (what a
/// server asks for again and again): forecasts from it equal a fresh filter's to the bit, for
/// any future inputs, horizon and level, and another history is filtered anew.
#[test]
fn repeated_forecasts_from_one_history_equal_a_fresh_filter() {
    let (mut y, x) = series(260);
    // A missing value in the history (after the fit rows) must match itself: NaN != NaN.
    y[210] = f64::NAN;
    let fr = frame(&y, &x);
    let fam = SarimaxForecaster {
        spec: seasonal_spec(true),
    };
    let fitted = fam
        .fit(&FitData {
            frame: &fr,
            train_end: 200,
            val_end: None,
        })
        .unwrap();
    let params = fit(&fam.spec, &y[..200], &[&x[..200]]).unwrap().params;
    let fresh = |end: usize, fut: &[f64], h: usize, level: f64| {
        forecast(
            &fam.spec,
            &params,
            &y[..end],
            &[&x[..end]],
            &[fut],
            h,
            level,
        )
        .unwrap()
    };
    for (end, fut, h, level) in [
        (230, &x[230..237], 7, 0.95),
        (230, &x[200..214], 14, 0.8),
        (230, &x[230..233], 3, 0.5),
        (240, &x[240..247], 7, 0.95),
        (230, &x[230..237], 7, 0.95),
    ] {
        let future = FutureInputs {
            exog: vec![("x".into(), fut.to_vec())],
        };
        let got = fitted
            .forecast(&fr.rows(0..end), &future, h, level)
            .unwrap();
        let want = fresh(end, fut, h, level);
        assert_eq!(got.mean, want.mean, "end {end}, h {h}");
        assert_eq!(got.lower, want.lower, "end {end}, h {h}");
        assert_eq!(got.upper, want.upper, "end {end}, h {h}");
    }
}
