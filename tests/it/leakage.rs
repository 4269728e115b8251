//! No leakage: `forecast`-policy exog values after an origin never reach a model at that
//! origin, while `known` columns do use their (planned) actuals.

use adsales::config::{Exog, FuturePolicy};
use adsales::eval::exog::{FutureTable, forecast_driver, inputs_at};
use adsales::models::Frame;
use adsales::models::mstl::{ETS_SEARCH, EtsEngine};
use chrono::{Duration, NaiveDate};

fn frame(n: usize) -> Frame {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let wave = |i: usize, a: f64| a + (i % 7) as f64 * 0.05 + (i as f64 * 0.37).sin() * 0.02;
    Frame {
        dates: (0..n).map(|i| start + Duration::days(i as i64)).collect(),
        names: vec!["revenue".into(), "ad_spend".into(), "clicks".into()],
        cols: vec![
            (0..n).map(|i| wave(i, 0.5)).collect(),
            (0..n).map(|i| wave(i, 0.3)).collect(),
            (0..n).map(|i| wave(i, 0.4)).collect(),
        ],
        target: "revenue".into(),
    }
}

fn exog() -> Vec<Exog> {
    vec![
        Exog {
            name: "ad_spend".into(),
            policy: FuturePolicy::Known,
        },
        Exog {
            name: "clicks".into(),
            policy: FuturePolicy::Forecast,
        },
    ]
}

#[test]
fn poisoned_future_clicks_do_not_change_inputs_at_earlier_origins() {
    let clean = frame(120);
    let mut poisoned = clean.clone();
    let origin = 80;
    for v in &mut poisoned.cols[2][origin + 1..] {
        *v = 1e12;
    }
    let origins: Vec<usize> = (60..=origin).collect();
    let a = FutureTable::build(&clean, &exog(), &origins, 7).unwrap();
    let b = FutureTable::build(&poisoned, &exog(), &origins, 7).unwrap();
    for &o in &origins {
        assert_eq!(
            a.get(o),
            b.get(o),
            "origin {o}: inputs changed by future clicks"
        );
    }
    // Poisoning clicks *before* the origin does change the forecast: the test can fail.
    let mut early = clean.clone();
    early.cols[2][origin - 3] = 5.0;
    let c = inputs_at(&early, &exog(), origin, 7).unwrap();
    assert_ne!(c.get("clicks"), a.get(origin).get("clicks"));
}

/// Over a segment the forecaster is fitted once, on the data up to the earliest origin, and
/// filtered forward: clicks poisoned inside the segment change the inputs from the origins
/// that see them, never those of earlier origins (a fit on the whole segment would leak them
/// backwards).
#[test]
fn clicks_inside_the_segment_reach_only_the_origins_after_them() {
    let clean = frame(120);
    let origins: Vec<usize> = (60..=80).collect();
    let a = FutureTable::build(&clean, &exog(), &origins, 7).unwrap();
    // At the first origin the table is the fit made there (the one-shot fit and forecast of
    // inference).
    let fitted_at_60 = forecast_driver(&clean.cols[2][..=60], 7, ETS_SEARCH, EtsEngine::Adsales);
    assert_eq!(
        a.get(60).get("clicks"),
        Some(fitted_at_60.unwrap().as_slice())
    );
    let mut poisoned = clean.clone();
    for v in &mut poisoned.cols[2][70..] {
        *v = 1e6;
    }
    let b = FutureTable::build(&poisoned, &exog(), &origins, 7).unwrap();
    for &o in &origins {
        if o < 70 {
            assert_eq!(a.get(o), b.get(o), "origin {o} saw clicks after it");
        } else {
            assert_ne!(a.get(o).get("clicks"), b.get(o).get("clicks"), "origin {o}");
        }
    }
}

#[test]
fn known_columns_use_actuals_after_the_origin() {
    let f = frame(100);
    let inp = inputs_at(&f, &exog(), 50, 7).unwrap();
    assert_eq!(inp.get("ad_spend").unwrap(), &f.cols[1][51..58]);
    let clicks = inp.get("clicks").unwrap();
    assert_eq!(clicks.len(), 7);
    assert_ne!(
        clicks,
        &f.cols[2][51..58],
        "forecast columns are not the actuals"
    );
}

/// End to end with SARIMAX: poisoning clicks after an origin (in the frame the model filters
/// and in the data the exog forecaster sees) leaves the forecasts from that origin unchanged.
#[test]
fn sarimax_forecasts_ignore_poisoned_future_clicks() {
    use adsales::models::sarimax::{SarimaxForecaster, SarimaxSpec, Trend};
    use adsales::models::{FitData, Forecaster};
    let clean = frame(140);
    let spec = SarimaxSpec {
        order: (1, 0, 0),
        seasonal: (0, 0, 0, 0),
        trend: Trend::C,
        exog: vec!["ad_spend".into(), "clicks".into()],
        exact_diffuse: false,
    };
    let fitted = SarimaxForecaster { spec }
        .fit(&FitData {
            frame: &clean,
            train_end: 100,
            val_end: None,
        })
        .unwrap();
    let origins: Vec<usize> = (100..120).collect();
    let run = |f: &Frame| {
        let table = FutureTable::build(f, &exog(), &origins, 7).unwrap();
        fitted
            .forecast_origins(f, &origins, &|o| table.get(o), 7, 0.95)
            .unwrap()
    };
    let base = run(&clean);
    let last = *origins.last().unwrap();
    let mut poisoned = clean.clone();
    for v in &mut poisoned.cols[2][last + 1..] {
        *v = 1e9;
    }
    assert_eq!(run(&poisoned), base, "future clicks leaked into a forecast");
    // Poisoning clicks before the last origin does change its forecast: the test can fail.
    let mut early = clean.clone();
    early.cols[2][last - 1] = 50.0;
    assert_ne!(run(&early).last(), base.last());
}

/// Calibration (protocol §4.4) reads the validation errors only, and the local scale of an
/// interval reads nothing after its origin. Poisoning the last 20 days' revenue (inside the
/// test segment) changes the test errors but not one byte of the calibration in the bundle;
/// poisoning only the last day (after every origin) changes the test errors but not one
/// interval width.
#[test]
fn calibration_reads_nothing_after_validation() {
    use crate::common::{Project, raw_csv, stderr, walk_files};
    let days = 200;
    let clean = raw_csv(days, &[]);
    let poison_from = |k: usize| -> String {
        let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
            + Duration::days((days - k) as i64);
        clean
            .lines()
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                match cells[0].parse::<NaiveDate>() {
                    Ok(d) if d >= first => {
                        let mut c: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
                        c[12] = format!("{:.2}", c[12].parse::<f64>().unwrap() * 3.0);
                        c.join(",")
                    }
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    // (test RMSE, test width, the calibration file of the family's bundle)
    let train = |csv: &str| -> (String, String, String) {
        let p = Project::new();
        p.write("raw.csv", csv);
        p.config("");
        let o = p.run(&["train", "--config", "config.yaml", "--no-register"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(p.path("artifacts/leaderboard.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let row: Vec<String> = rdr
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(String::from)
            .collect();
        let col = |k: &str| row[header.iter().position(|h| h == k).unwrap()].clone();
        let cal: Vec<_> = walk_files(&p.path("mlruns"))
            .into_iter()
            // The run's copy (its logged model under `models/m-…` holds the same bundle).
            .filter(|f| {
                f.ends_with("calibration.json") && !f.to_string_lossy().contains("/models/m-")
            })
            .collect();
        assert_eq!(cal.len(), 1, "{cal:?}");
        let cal = std::fs::read_to_string(&cal[0]).unwrap();
        assert!(cal.contains("\"scale\""), "normalised calibration: {cal}");
        (col("test_rmse"), col("test_width"), cal)
    };
    let base = train(&clean);
    let late = train(&poison_from(20));
    assert_ne!(base.0, late.0, "the poison must reach the test errors");
    assert_eq!(
        base.2, late.2,
        "the calibration must not see the test segment"
    );
    // The widths of origins inside the poisoned days do follow the poisoned history: the
    // check can fail.
    assert_ne!(base.1, late.1);
    let last = train(&poison_from(1));
    assert_ne!(base.0, last.0, "the poison must reach the test errors");
    assert_eq!(base.1, last.1, "a width must not see past its origin");
}

/// auto_arima's order search and fit read only the rows it is fitted on: poisoning every row
/// after the training segment (target and driver) leaves the chosen model and its parameters
/// unchanged, bit for bit.
#[test]
fn auto_arima_search_reads_nothing_after_its_rows() {
    use adsales::models::auto_arima::AutoArimaSettings;
    use adsales::models::auto_arima::family::AutoArimaForecaster;
    use adsales::models::{FitData, Forecaster};
    let clean = frame(160);
    let mut poisoned = clean.clone();
    let train_end = 120;
    for col in &mut poisoned.cols {
        for v in &mut col[train_end..] {
            *v = *v * 7.0 + 3.0;
        }
    }
    let point = AutoArimaForecaster {
        season_length: 7,
        exog: vec!["ad_spend".into()],
        search: AutoArimaSettings::default(),
    };
    let fit = |f: &Frame| {
        let m = point
            .fit(&FitData {
                frame: f,
                train_end,
                val_end: None,
            })
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        std::fs::read_to_string(dir.path().join(adsales::models::sarimax::PARAMS_FILE)).unwrap()
    };
    assert_eq!(fit(&clean), fit(&poisoned));
    // The poison does reach a fit that is given those rows: the check can fail.
    let longer = |f: &Frame| {
        point
            .fit(&FitData {
                frame: f,
                train_end: 160,
                val_end: None,
            })
            .unwrap()
            .info()
    };
    assert_ne!(longer(&clean).llf, longer(&poisoned).llf);
}
