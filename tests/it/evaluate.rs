//! `adsales evaluate`: the days that happened after a version's history, forecast as the
//! version forecasts, compared with the actuals, logged on the version's run by date; read
//! back by our store and by MLflow's own client.

use std::process::Command;

use crate::common::*;
use crate::serve::{SARIMAX, trained};

/// December 2025's rows moved to January 2026: `days` new days after the bundled history.
pub fn january_rows(p: &Project, days: u32) -> String {
    let raw = std::fs::read_to_string(p.path("raw.csv")).unwrap();
    let mut out = String::from(HEADER);
    out.push('\n');
    for line in raw.lines().filter(|l| l.starts_with("2025-12-")) {
        let day: u32 = line[8..10].parse().unwrap();
        if day <= days {
            out.push_str(&format!("2026-01{}\n", &line[7..]));
        }
    }
    out
}

#[test]
fn evaluate_logs_each_new_days_error_where_mlflow_reads_it() {
    let p = trained(SARIMAX);
    let rows = january_rows(&p, 10);
    p.write("new.csv", &rows);
    let o = p.run(&[
        "evaluate",
        "--config",
        "config.yaml",
        "--data",
        "new.csv",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let days = r["days"].as_array().unwrap();
    assert_eq!(days.len(), 10);
    assert_eq!(days[0]["date"], "2026-01-01");
    assert_eq!(r["logged_metrics"], 43);

    // The first day's forecast is what infer forecasts for it with that day's actual spend
    // as the plan (another code path: one origin, no backtest).
    let spend: f64 = rows
        .lines()
        .filter(|l| l.starts_with("2026-01-01,"))
        .map(|l| l.split(',').nth(9).unwrap().parse::<f64>().unwrap())
        .sum();
    p.write("plan.csv", &format!("date,ad_spend\n2026-01-01,{spend}\n"));
    let o = p.run(&[
        "infer",
        "--config",
        "config.yaml",
        "--days",
        "1",
        "--plan",
        "plan.csv",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let inf: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (ours, theirs) in [
        ("forecast", "predicted_revenue"),
        ("lower", "lower"),
        ("upper", "upper"),
    ] {
        let (a, b) = (
            days[0][ours].as_f64().unwrap(),
            inf["forecast"][0][theirs].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{ours}: {a} vs infer {b}");
    }
    // Each day's actual is the sum of its raw rows.
    let revenue: f64 = rows
        .lines()
        .filter(|l| l.starts_with("2026-01-01,"))
        .map(|l| l.split(',').nth(12).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((days[0]["actual"].as_f64().unwrap() - revenue).abs() < 1e-6);

    // In the store, on the version's run, stepped by date.
    let run_id = r["run_id"].as_str().unwrap().to_string();
    let (tracker, _) = p.runs("");
    let hist = tracker.metric_history(&run_id, "eval_abs_error").unwrap();
    assert_eq!(hist.len(), 10);
    let jan1 =
        adsales::cmd::evaluate::date_step(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert_eq!(hist[0].step, jan1);
    assert_eq!(hist[0].value, days[0]["error"].as_f64().unwrap().abs());

    // The run lists its bundle as a logged model, as MLflow's log_model does.
    let run = tracker.get_run(&run_id).unwrap();
    let logged: serde_json::Value =
        serde_json::from_str(&run.tags["mlflow.log-model.history"]).unwrap();
    assert_eq!(logged[0]["artifact_path"], "model");
    assert_eq!(logged[0]["run_id"], run_id.as_str());
    assert_eq!(
        logged[0]["flavors"]["python_function"]["loader_module"],
        "adsales_pyfunc"
    );
    assert_eq!(logged[0]["flavors"]["adsales"]["family"], "sarimax");

    // MLflow's own client reads the same history.
    if let Some(python) = crate::tracking_common::venv_python() {
        let script = format!(
            "import json, mlflow\n\
             c = mlflow.MlflowClient(tracking_uri='file://{}')\n\
             h = c.get_metric_history('{run_id}', 'eval_abs_error')\n\
             print(json.dumps(sorted([m.step, m.value] for m in h)))\n",
            p.path("mlruns").display()
        );
        let out = Command::new(python)
            .args(["-c", &script])
            .env("MLFLOW_ALLOW_FILE_STORE", "true")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let seen: Vec<(i64, f64)> = serde_json::from_slice(&out.stdout).unwrap();
        let ours: Vec<(i64, f64)> = hist.iter().map(|m| (m.step, m.value)).collect();
        assert_eq!(seen, ours);
    }

    // --no-log changes nothing; data with no new day is refused.
    let o = p.run(&[
        "evaluate",
        "--config",
        "config.yaml",
        "--data",
        "new.csv",
        "--no-log",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        tracker
            .metric_history(&run_id, "eval_abs_error")
            .unwrap()
            .len(),
        10
    );
    let o = p.run(&["evaluate", "--config", "config.yaml", "--data", "raw.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no day after the model's history"),
        "{}",
        stderr(&o)
    );
}
