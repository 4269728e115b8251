//! End to end on the local MLflow store: train registers a model, infer forecasts from it.

use crate::common::*;

/// A project with the bundled data and a fast family set.
fn trained_project(families: &str) -> Project {
    let p = Project::bundled(&config_text(families, "mlruns"));
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "train failed:\n{}", stderr(&o));
    p
}

fn infer(p: &Project, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["infer", "--config", "config.yaml"];
    args.extend_from_slice(extra);
    p.run(&args)
}

#[test]
fn train_registers_and_infer_forecasts() {
    let p = trained_project("seasonal_naive");
    let alias = p.path("mlruns/models/Ad_Sales_Forecaster/aliases/Staging");
    assert_eq!(std::fs::read_to_string(&alias).unwrap().trim(), "1");
    for f in [
        "test_forecast.png",
        "test_forecast.svg",
        "step_rmse.png",
        "leaderboard.csv",
        "scaler.json",
    ] {
        assert!(p.path("artifacts").join(f).exists(), "{f}");
    }

    // The train run carries the winner's headline metrics, equal to the leaderboard's.
    let (_, runs) = p.runs("params.winner_family = 'seasonal_naive'");
    assert_eq!(runs.len(), 1, "one train run");
    let board = std::fs::read_to_string(p.path("artifacts/leaderboard.csv")).unwrap();
    let row: Vec<&str> = board.lines().nth(1).unwrap().split(',').collect();
    let test_rmse: f64 = row[4].parse().unwrap();
    let got = runs[0].metric("winner_test_rmse").expect("headline metric");
    assert!(
        (got - test_rmse).abs() <= 1e-6 * test_rmse,
        "{got} vs {test_rmse}"
    );
    assert!(runs[0].metric("winner_val_rmse").is_some());
    assert!(
        runs[0]
            .metric("winner_test_coverage")
            .is_some_and(|c| (0.0..=1.0).contains(&c))
    );

    // Table: 7 days (forecast_days) starting the day after the data ends (2025-12-31).
    let o = infer(&p, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("version 1 (@Staging)"), "{out}");
    assert!(
        out.contains("2026-01-01") && out.contains("2026-01-07") && !out.contains("2026-01-08"),
        "{out}"
    );

    // JSON schema.
    let o = infer(&p, &["--format", "json", "--days", "3", "--level", "0.8"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], "adsales.forecast/1");
    assert_eq!(v["model"]["version"], "1");
    assert_eq!(v["model"]["family"], "seasonal_naive");
    assert_eq!(v["level"], 0.8);
    let rows = v["forecast"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        let (lo, mid, hi) = (
            r["lower"].as_f64().unwrap(),
            r["predicted_revenue"].as_f64().unwrap(),
            r["upper"].as_f64().unwrap(),
        );
        assert!(lo < mid && mid < hi, "{r}");
    }
    // Seasonal naive: the first forecast equals revenue 7 days before the first forecast day.
    let raw = std::fs::read_to_string(p.path("raw.csv")).unwrap();
    let day_sum: f64 = raw
        .lines()
        .filter(|l| l.starts_with("2025-12-25"))
        .map(|l| l.split(',').nth(12).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((rows[0]["predicted_revenue"].as_f64().unwrap() - day_sum).abs() < 1e-6 * day_sum);

    // CSV to a file, and a plot.
    let o = infer(
        &p,
        &["--format", "csv", "--output", "fc.csv", "--plot", "fc.png"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(p.path("fc.csv")).unwrap();
    assert!(csv.starts_with("date,predicted_revenue,lower,upper\n"));
    assert_eq!(csv.lines().count(), 8);
    assert!(std::fs::metadata(p.path("fc.png")).unwrap().len() > 1000);

    // --data with newer days shifts the start.
    let mut newer = String::from(HEADER);
    newer.push('\n');
    for d in 1..=5 {
        newer.push_str(&format!(
            "2026-01-0{d},Google Ads,Search,SaaS,USA,100000,2000,2.0,1.0,2000.00,50,40.0,9000.00,4.5\n"
        ));
    }
    p.write("newer.csv", &newer);
    let o = infer(
        &p,
        &["--data", "newer.csv", "--format", "csv", "--days", "2"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("2026-01-06") && out.contains("2026-01-07") && !out.contains("2026-01-05,"),
        "{out}"
    );

    // Errors: unknown model, unknown alias, bad URI, bad days.
    let o = infer(&p, &["--model-uri", "models:/Nope@Staging"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Nope has no versions"),
        "{}",
        stderr(&o)
    );
    let o = infer(
        &p,
        &["--model-uri", "models:/Ad_Sales_Forecaster@Production"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("available: version 1 (@Staging)"),
        "{}",
        stderr(&o)
    );
    let o = infer(&p, &["--model-uri", "Ad_Sales_Forecaster"]);
    assert_eq!(o.status.code(), Some(2));
    let o = infer(&p, &["--days", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = infer(
        &p,
        &[
            "--model-uri",
            "models:/Ad_Sales_Forecaster/1",
            "--days",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn tampered_bundle_is_refused() {
    let p = trained_project("seasonal_naive");
    // Flip a byte of the registered version's params file inside the store: the version is
    // made from the logged model (`models/m-…/artifacts`), which the run's `model/` mirrors.
    let hits: Vec<_> = walk_files(&p.path("mlruns"))
        .into_iter()
        .filter(|e| {
            e.ends_with("artifacts/model/params.json")
                || (e.to_string_lossy().contains("/models/m-")
                    && e.ends_with("artifacts/params.json"))
        })
        .collect();
    assert_eq!(hits.len(), 2, "bundle params in the store: {hits:?}");
    for params in hits {
        let mut bytes = std::fs::read(&params).unwrap();
        bytes[2] ^= 0x20;
        std::fs::write(&params, bytes).unwrap();
    }
    let o = infer(&p, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("params.json does not match its sha256"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn infer_before_any_training_says_what_to_run() {
    let p = Project::new();
    p.config("");
    let o = infer(&p, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run `adsales train` first"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn info_reports_data_runs_and_registry() {
    // Nothing trained yet: says so, exit 0, and creates no experiment.
    let p = Project::new();
    p.write("raw.csv", &raw_csv(120, &[30]));
    p.config("");
    let o = p.run(&["info", "--config", "config.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("120 days") && out.contains("1 filled (2024-01-31)"),
        "{out}"
    );
    assert!(out.contains("nothing trained"), "{out}");
    assert!(out.contains("no versions registered yet"), "{out}");

    let p = trained_project("seasonal_naive");
    let o = p.run(&["info", "--json", "--config", "config.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["data"]["days"], 731);
    assert_eq!(v["tracking"]["train_runs"], 1);
    assert_eq!(v["tracking"]["aliased"]["version"], "1");
    assert_eq!(v["tracking"]["aliased"]["family"], "seasonal_naive");
    let board = v["tracking"]["latest_train"]["leaderboard"]
        .as_array()
        .unwrap();
    assert_eq!(board.len(), 1);
    assert!(board[0]["test_rmse"].as_f64().unwrap() > 0.0);
    assert_eq!(v["snapshot"]["exists"], true);
}

#[test]
fn plan_moves_a_sarimax_forecast_in_the_expected_direction() {
    let p = Project::bundled(
        "paths:\n  raw_data: raw.csv\nfamilies: [sarimax]\nsarimax:\n  exog: [ad_spend]\n  param_grid:\n    order: [[1, 0, 0]]\n    seasonal_order: [[0, 0, 0, 7]]\n    trend: [c]\nmlflow:\n  tracking_uri: mlruns\n",
    );
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("winner by test RMSE: SARIMAX"),
        "{}",
        stdout(&o)
    );
    let plan = |spend: f64, days: usize| {
        let mut s = String::from("date,ad_spend\n");
        for d in 1..=days {
            s.push_str(&format!("2026-01-{d:02},{spend}\n"));
        }
        s
    };
    p.write("low.csv", &plan(15000.0, 7));
    p.write("high.csv", &plan(45000.0, 7));
    let forecast = |file: &str| -> Vec<f64> {
        let o = infer(&p, &["--plan", file, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["exog"][0]["source"], "plan");
        v["forecast"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["predicted_revenue"].as_f64().unwrap())
            .collect()
    };
    let (lo, hi) = (forecast("low.csv"), forecast("high.csv"));
    for (l, h) in lo.iter().zip(&hi) {
        assert!(
            h > l,
            "more planned spend must raise the revenue forecast: {l} vs {h}"
        );
    }
    // Without a plan the spend is forecast, and the output says so.
    let o = infer(&p, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exog"][0]["source"], "forecast");
    // A plan that misses forecast dates, or the column, is refused naming what is missing.
    p.write("short.csv", &plan(15000.0, 5));
    let o = infer(&p, &["--plan", "short.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing dates 2026-01-06, 2026-01-07"),
        "{}",
        stderr(&o)
    );
    p.write("nocol.csv", "date,budget\n2026-01-01,5\n");
    let o = infer(&p, &["--plan", "nocol.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing column `ad_spend`"),
        "{}",
        stderr(&o)
    );
}

/// A version's source is its logged model (`models:/<model_id>`, as MLflow 3 registers one),
/// whose recorded location is absolute; a store copied to another folder still serves it.
#[test]
fn a_moved_store_still_finds_its_versions() {
    let p = trained_project("seasonal_naive");
    let (tracker, _) = p.runs("");
    let v = tracker
        .get_model_version("Ad_Sales_Forecaster", "1")
        .unwrap();
    assert!(
        v.source.starts_with("models:/m-") && v.model_id.is_some(),
        "{} {:?}",
        v.source,
        v.model_id
    );
    let before = stdout(&infer(&p, &["--format", "csv"]));
    let moved = Project::new();
    let o = std::process::Command::new("cp")
        .args(["-a", &format!("{}/.", p.dir.path().display())])
        .arg(moved.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    drop(p);
    let o = infer(&moved, &["--format", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), before);
}
