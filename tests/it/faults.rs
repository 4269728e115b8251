//! Faults: Ctrl-C during train marks runs KILLED; credentials never reach logs or errors.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn project(families: &str, uri: &str) -> Project {
    Project::bundled(&config_text(families, uri))
}

#[test]
fn ctrl_c_marks_runs_killed() {
    // The SARIMAX grid with its rolling evaluation takes over a second in the test build:
    // long enough to interrupt the train mid-way once its run is registered.
    let p = project("sarimax, mstl", "mlruns");
    let child = Command::new(env!("CARGO_BIN_EXE_adsales"))
        .args(["-q", "train", "--config", "config.yaml"])
        .current_dir(p.dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    // The config artifact is logged once the run is registered for interrupts.
    let logged_config = || {
        walk_files(&p.path("mlruns"))
            .iter()
            .any(|f| f.ends_with("artifacts/config/config.yaml"))
    };
    while !logged_config() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "train run never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("marked KILLED"), "{err}");
    let statuses = run_statuses(&p.path("mlruns"));
    assert!(!statuses.is_empty());
    // 1 (RUNNING) must not remain; runs already closed keep FINISHED (3), the rest are
    // KILLED (5), the train run among them.
    assert!(
        statuses.iter().all(|s| s == "5" || s == "3"),
        "{statuses:?}"
    );
    let train_meta = walk_files(&p.path("mlruns"))
        .into_iter()
        .find(|f| {
            f.ends_with("tags/adsales.kind")
                && std::fs::read_to_string(f).is_ok_and(|k| k == "train")
        })
        .map(|f| f.parent().unwrap().parent().unwrap().join("meta.yaml"))
        .expect("the train run");
    let meta = std::fs::read_to_string(train_meta).unwrap();
    assert!(meta.contains("status: 5"), "train run not KILLED:\n{meta}");
    assert!(
        !p.path("mlruns/models/Ad_Sales_Forecaster/aliases/Staging")
            .exists()
    );
}

#[test]
fn credentials_never_appear_in_logs_or_errors() {
    let p = project("seasonal_naive", "http://127.0.0.1:9");
    let o = Command::new(env!("CARGO_BIN_EXE_adsales"))
        .args(["-vv", "train", "--config", "config.yaml"])
        .current_dir(p.dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .env("MLFLOW_TRACKING_TOKEN", "tok-SECRET-1234")
        .env("MLFLOW_TRACKING_USERNAME", "alice")
        .env("MLFLOW_TRACKING_PASSWORD", "pw-SECRET-5678")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // The request really went out over HTTP (and the log file was written) before checking
    // that no credential appears in either.
    assert!(stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
    let log = std::fs::read_to_string(p.path("logs/adsales.log")).expect("the log file");
    assert!(!log.is_empty());
    for text in [stderr(&o), stdout(&o), log] {
        assert!(!text.contains("SECRET"), "a credential leaked:\n{text}");
        // Base64 of "alice:pw-SECRET-5678" would be the basic-auth header value.
        assert!(
            !text.contains("YWxpY2U6cHctU0VDUkVULTU2Nzg="),
            "basic-auth header leaked"
        );
    }
}
