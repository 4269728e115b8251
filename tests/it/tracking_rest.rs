//! The REST backend against a real MLflow 3.17.2 server (no mocks).
//!
//! The server comes from `ADSALES_TEST_MLFLOW_URI` when set (what `make test` and `.ci/run`
//! do after `scripts/mlflow-server.sh start`); otherwise the first test that needs one starts
//! it through the script (installing the venv the first time), and the last one done stops it
//! (`tracking_common::server`). If no server can be started the test fails under `CI=true`, and
//! is reported as skipped (loudly) elsewhere.

use adsales::store::tracking::rest::{RestTracker, RetryPolicy};
use adsales::store::tracking::{Batch, NewRun, Tracker, TrackingError, open_tracker};

use crate::tracking_common::*;

#[test]
fn rest_backend_against_a_real_server() {
    let Some(srv) = server() else { return };
    let t0 = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let t = open_tracker(&srv.uri).unwrap();
    assert!(format!("{t:?}").contains("RestTracker"));

    let logged = scenario(t.as_ref(), work.path());
    eprintln!("REST scenario: {:.2?}", t0.elapsed());

    // The raw server keeps NaN as NaN (not 0) because we send the string.
    let hist = t.metric_history(&logged.history_run_id, "rmse").unwrap();
    assert!(hist[1].value.is_nan());

    // MLflow's error_code and message surface.
    let exp = t.get_or_create_experiment(&unique("errors")).unwrap();
    let run = t.create_run(&NewRun::new(&exp, "e")).unwrap();
    t.log_batch(&run.run_id, &Batch::new().param("p", "1"))
        .unwrap();
    match t.log_batch(&run.run_id, &Batch::new().param("p", "2")) {
        Err(TrackingError::Api {
            status,
            code,
            message,
            ..
        }) => {
            assert_eq!(status, 400);
            assert_eq!(code, "INVALID_PARAMETER_VALUE");
            assert!(!message.is_empty());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    match t.get_model_version(&unique("absent"), "1") {
        Err(e @ TrackingError::Api { .. }) => assert!(e.is_not_found(), "{e}"),
        other => panic!("expected not found, got {other:?}"),
    }

    // A deleted experiment is not found, and its name cannot be reused.
    let gone = unique("deleted");
    let gone_id = t.get_or_create_experiment(&gone).unwrap();
    let out = ureq::post(format!("{}/api/2.0/mlflow/experiments/delete", srv.uri))
        .send_json(serde_json::json!({"experiment_id": gone_id}))
        .unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(t.get_experiment(&gone).unwrap(), None);
    let e = t.get_or_create_experiment(&gone).unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");

    // Many metrics in one batch are split to fit the server's limits.
    let mut big = Batch::new();
    for i in 0..2500 {
        big = big.metric("loss", i as f64, i);
    }
    t.log_batch(&run.run_id, &big).unwrap();
    assert_eq!(t.metric_history(&run.run_id, "loss").unwrap().len(), 2500);

    // Several threads share one tracker.
    let shared: std::sync::Arc<dyn Tracker> = std::sync::Arc::from(open_tracker(&srv.uri).unwrap());
    std::thread::scope(|s| {
        for k in 0..4 {
            let shared = shared.clone();
            let rid = run.run_id.clone();
            s.spawn(move || {
                for i in 0..10 {
                    shared
                        .log_batch(
                            &rid,
                            &Batch::new().metric(format!("thread{k}"), i as f64, i),
                        )
                        .unwrap();
                }
            });
        }
    });
    for k in 0..4 {
        assert_eq!(
            t.metric_history(&run.run_id, &format!("thread{k}"))
                .unwrap()
                .len(),
            10
        );
    }

    python_crosscheck(&srv.uri, &logged, work.path());
    eprintln!("REST test incl. Python cross-check: {:.2?}", t0.elapsed());
}

#[test]
fn unreachable_server_fails_after_bounded_retries() {
    // Nothing listens on port 1: connection refused, retried twice, then a clear error.
    let t = RestTracker::from_env("http://127.0.0.1:1")
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 2,
            first_backoff: std::time::Duration::from_millis(10),
        });
    let e = t.get_or_create_experiment("x").unwrap_err();
    assert!(matches!(e, TrackingError::Transport { .. }), "{e}");
    assert!(e.to_string().contains("3 attempts"), "{e}");
}

#[test]
fn bad_uri_is_input_error() {
    let e = open_tracker("ftp://example.com/x").unwrap_err();
    let any = anyhow::Error::new(e);
    assert!(adsales::util::error::is_input_error(&any));
    let e = open_tracker("http://user:secret@127.0.0.1:5000").unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
}
