//! Features equal pandas on the same input (fixtures: tests/fixtures/gen_features.py).

use std::path::Path;

use adsales::config::{DataConfig, Exog, FeatureConfig, FillMissing, FuturePolicy};
use adsales::data::{self, features};
use serde::Deserialize;

use crate::common::repo_root;

#[derive(Deserialize)]
struct Case {
    name: String,
    raw: String,
    expected: String,
    target: String,
    exog: Vec<String>,
    extra: Vec<String>,
    lags: Vec<usize>,
    windows: Vec<usize>,
    rolling_cols: Vec<String>,
    pct_cols: Vec<String>,
    fill: String,
}

fn read_expected(path: &Path) -> (Vec<String>, Vec<String>, Vec<Vec<f64>>) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let mut dates = Vec::new();
    let mut cols = vec![Vec::new(); header.len() - 1];
    for rec in rdr.records() {
        let rec = rec.unwrap();
        dates.push(rec[0].to_string());
        for j in 1..header.len() {
            cols[j - 1].push(rec[j].parse::<f64>().unwrap());
        }
    }
    (header[1..].to_vec(), dates, cols)
}

#[test]
fn features_match_pandas() {
    let manifest =
        std::fs::read_to_string(repo_root().join("tests/fixtures/features/manifest.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&manifest).unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        let mut sum_columns = vec![case.target.clone()];
        sum_columns.extend(case.exog.iter().cloned());
        for e in &case.extra {
            if !sum_columns.contains(e) {
                sum_columns.push(e.clone());
            }
        }
        let dcfg = DataConfig {
            date_column: "date".into(),
            date_format: "%Y-%m-%d".into(),
            target: case.target.clone(),
            exog: case
                .exog
                .iter()
                .map(|n| Exog {
                    name: n.clone(),
                    policy: FuturePolicy::Known,
                })
                .collect(),
            sum_columns,
            fill_missing: match case.fill.as_str() {
                "interpolate" => FillMissing::Interpolate,
                "zero" => FillMissing::Zero,
                _ => FillMissing::Error,
            },
        };
        let fcfg = FeatureConfig {
            calendar: true,
            lags: case.lags.clone(),
            rolling_windows: case.windows.clone(),
            rolling_columns: case.rolling_cols.clone(),
            pct_change_columns: case.pct_cols.clone(),
            // The pandas fixtures have no event columns (tested in data::events).
            events: Default::default(),
        };
        let raw = repo_root().join(&case.raw);
        let daily = data::load(&raw, &dcfg).unwrap();
        let f = features::build(&daily, &fcfg, &case.target, &raw).unwrap();
        let (names, dates, expected) = read_expected(&repo_root().join(&case.expected));
        let mut ours_names = f.names.clone();
        ours_names.push("is_filled".into());
        assert_eq!(ours_names, names, "{}: column names and order", case.name);
        let our_dates: Vec<String> = f.dates.iter().map(|d| d.to_string()).collect();
        assert_eq!(our_dates, dates, "{}: dates after warm-up", case.name);
        let mut worst = 0.0f64;
        for (j, name) in names.iter().enumerate() {
            let ours: Vec<f64> = if name == "is_filled" {
                f.is_filled
                    .iter()
                    .map(|&b| if b { 1.0 } else { 0.0 })
                    .collect()
            } else {
                f.cols[j].clone()
            };
            for (i, (a, b)) in ours.iter().zip(&expected[j]).enumerate() {
                let tol = 1e-9 * b.abs().max(1e-3);
                assert!(
                    (a - b).abs() <= tol,
                    "{}: column {name} row {i} ({}): ours {a} pandas {b}",
                    case.name,
                    dates[i]
                );
                if b.abs() > 1e-3 {
                    worst = worst.max((a - b).abs() / b.abs());
                }
            }
        }
        eprintln!(
            "{}: {} columns x {} rows, worst relative deviation {worst:.2e}",
            case.name,
            names.len(),
            dates.len()
        );
    }
}
