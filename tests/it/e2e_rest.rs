//! `train`, `infer` and `info` against a real MLflow server, and MLflow's Python client
//! reading what train logged (REST and local store).

use std::process::Command;

use crate::common::*;
use crate::tracking_common;

fn project(experiment: &str, model: &str, uri: &str) -> Project {
    Project::bundled(&format!(
        "paths:\n  raw_data: raw.csv\nfamilies: [seasonal_naive]\nmlflow:\n  tracking_uri: {uri}\n  experiment_name: {experiment}\n  model_name: {model}\n"
    ))
}

fn run(p: &Project, args: &[&str], env_uri: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_adsales"));
    c.args(args)
        .current_dir(p.dir.path())
        .env_remove("RUST_LOG");
    match env_uri {
        Some(u) => c.env("MLFLOW_TRACKING_URI", u),
        None => c.env_remove("MLFLOW_TRACKING_URI"),
    };
    c.output().unwrap()
}

#[test]
fn train_infer_info_against_a_real_server() {
    let Some(server) = tracking_common::server() else {
        return;
    };
    let exp = tracking_common::unique("e2e_exp");
    let model = tracking_common::unique("e2e_model");
    // The config says mlruns; the environment wins.
    let p = project(&exp, &model, "mlruns");
    for round in 1..=2 {
        let o = run(&p, &["train", "--config", "config.yaml"], Some(&server.uri));
        assert_eq!(o.status.code(), Some(0), "train {round}: {}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("registered {model} version {round} as @Staging")),
            "{}",
            stdout(&o)
        );
    }
    assert!(
        !p.path("mlruns").exists(),
        "nothing written to the local store"
    );
    let o = run(
        &p,
        &[
            "infer",
            "--config",
            "config.yaml",
            "--format",
            "json",
            "--days",
            "2",
        ],
        Some(&server.uri),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"]["version"], "2");
    assert_eq!(v["forecast"].as_array().unwrap().len(), 2);
    let o = run(
        &p,
        &["info", "--json", "--config", "config.yaml"],
        Some(&server.uri),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tracking"]["train_runs"], 2);
    assert_eq!(v["tracking"]["versions"].as_array().unwrap().len(), 2);
    tracking_common::python_check_train(&server.uri, &exp, &model, "Staging", p.dir.path());
}

#[test]
fn unreachable_server_fails_fast_before_training() {
    let p = project("x", "y", "http://127.0.0.1:9");
    let o = run(&p, &["train", "--config", "config.yaml"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
    assert!(
        p.no_outputs(),
        "training must not start when tracking is down"
    );
}

/// Also what MLflow's own client reads from a local store written by `train`.
#[test]
fn two_concurrent_trains_share_a_local_store() {
    let p = project("Ad_Sales_TimeSeries", "Ad_Sales_Forecaster", "mlruns");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_adsales"))
            .args(["-q", "train", "--config", "config.yaml"])
            .current_dir(p.dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for c in [a, b] {
        let o = c.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let versions: Vec<String> = std::fs::read_dir(p.path("mlruns/models/Ad_Sales_Forecaster"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("version-"))
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let uri = format!("file://{}", p.path("mlruns").display());
    tracking_common::python_check_train(
        &uri,
        "Ad_Sales_TimeSeries",
        "Ad_Sales_Forecaster",
        "Staging",
        p.dir.path(),
    );
}
