//! The tracking server dies mid-train: bounded retries, then exit 1 naming the server, no
//! panic, and nothing registered. Uses a private server (its own state folder) so the shared
//! test server is untouched.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adsales::store::tracking::{RunSearch, open_tracker};

use crate::common::*;
use crate::tracking_common;

#[test]
fn server_killed_mid_train_fails_cleanly() {
    let state = tempfile::tempdir().unwrap();
    let script = repo_root().join("scripts/mlflow-server.sh");
    let started = Command::new(&script)
        .arg("start")
        .env("ADSALES_MLFLOW_STATE", state.path())
        .output()
        .unwrap();
    if !started.status.success() {
        let why = String::from_utf8_lossy(&started.stderr);
        assert!(
            !tracking_common::in_ci(),
            "CI: private MLflow server did not start:\n{why}"
        );
        eprintln!("*** SKIPPED: private MLflow server did not start:\n{why}");
        return;
    }
    let uri = String::from_utf8_lossy(&started.stdout).trim().to_string();
    let stop = || {
        let _ = Command::new(&script)
            .arg("stop")
            .env("ADSALES_MLFLOW_STATE", state.path())
            .status();
    };

    // The exog forecasts (for SARIMAX) and MSTL re-estimate at every origin: train is still
    // running (over a second) when the server goes away.
    let p = Project::bundled(&config_text("seasonal_naive, sarimax, mstl", &uri));
    let child = Command::new(env!("CARGO_BIN_EXE_adsales"))
        .args(["-q", "train", "--config", "config.yaml"])
        .current_dir(p.dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the train run exists on the server, then kill the server.
    let tracker = open_tracker(&uri).unwrap();
    let t0 = Instant::now();
    loop {
        let found = tracker
            .get_experiment("Ad_Sales_TimeSeries")
            .ok()
            .flatten()
            .and_then(|e| {
                tracker
                    .search_runs(&RunSearch::new(e).filter("tags.adsales.kind = 'train'"))
                    .ok()
            })
            .is_some_and(|r| !r.is_empty());
        if found {
            break;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            stop();
            panic!("the train run never appeared on {uri}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGKILL the server's process group at once (the script starts it with setsid), so it
    // dies mid-train rather than after a graceful wait; `stop` then cleans up.
    let pid = std::fs::read_to_string(state.path().join("pid")).unwrap();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", pid.trim())])
        .status();
    stop();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(uri.trim_start_matches("http://")),
        "names the server: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!p.path("mlruns").exists(), "no fallback to a local store");
}
