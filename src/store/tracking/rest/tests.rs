//! Unit tests of the REST client: wire format, credentials, retries, hostile answers.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use super::http::Auth;
use super::wire::{base64, encode_path, metric_value_json, parse_metric_value};
use super::{RestTracker, RetryPolicy};
use crate::store::tracking::{Tracker, TrackingError};

#[test]
fn base64_matches_rfc4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
}

#[test]
fn metric_values_never_bare_nan() {
    assert_eq!(metric_value_json(f64::NAN), json!("NaN"));
    assert_eq!(metric_value_json(f64::INFINITY), json!("Infinity"));
    assert_eq!(metric_value_json(f64::NEG_INFINITY), json!("-Infinity"));
    assert_eq!(metric_value_json(1.5), json!(1.5));
    assert!(parse_metric_value(&json!("NaN")).unwrap().is_nan());
    assert_eq!(parse_metric_value(&json!("Infinity")), Some(f64::INFINITY));
    assert_eq!(
        parse_metric_value(&json!("-Infinity")),
        Some(f64::NEG_INFINITY)
    );
    assert_eq!(parse_metric_value(&json!("nonsense")), None);
    assert_eq!(
        parse_metric_value(&json!(1.7976931348623157e308)),
        Some(f64::INFINITY)
    );
    assert_eq!(parse_metric_value(&json!(null)), None);
}

#[test]
fn credentials_never_in_debug() {
    let t = RestTracker::new(
        "http://127.0.0.1:1",
        Some(Auth::Bearer("s3cr3t-token".into())),
        RetryPolicy::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    let d = format!("{t:?}");
    assert!(!d.contains("s3cr3t"), "{d}");
    assert!(d.contains("redacted"));
    let b = Auth::Basic(base64(b"u:hunter2"));
    assert!(!format!("{b:?}").contains(&base64(b"u:hunter2")));
    assert!(
        RestTracker::new(
            "http://u:p@host",
            None,
            RetryPolicy::default(),
            Duration::from_secs(1)
        )
        .is_err()
    );
}

#[test]
fn connection_refused_is_retried_then_reported() {
    // Port 1 on loopback: nothing listens there.
    let t = RestTracker::new(
        "http://127.0.0.1:1",
        None,
        RetryPolicy {
            max_retries: 2,
            first_backoff: Duration::from_millis(1),
        },
        Duration::from_secs(2),
    )
    .unwrap();
    let err = t.get_run("abc").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TrackingError::Transport { .. }), "{msg}");
    assert!(msg.contains("3 attempts"), "{msg}");
}

/// A scripted HTTP server on loopback for properties a real MLflow will not show us
/// (hostile listings, 503s, what headers we send). Answers `respond(request line)` and
/// records each request's head.
fn fake_server(
    respond: impl Fn(&str) -> (u16, String) + Send + 'static,
) -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let first = head.lines().next().unwrap_or("").to_string();
            log2.lock().unwrap().push(head);
            let (status, text) = respond(&first);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (format!("http://{addr}"), log)
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        first_backoff: Duration::from_millis(5),
    }
}

#[test]
fn hostile_artifact_listing_is_refused() {
    let (uri, _) = fake_server(|req| {
        if req.contains("runs/get") {
            (200, r#"{"run":{"info":{"run_id":"r1","experiment_id":"1","artifact_uri":"mlflow-artifacts:/1/r1/artifacts"}}}"#.into())
        } else if req.contains("artifacts/list") {
            (
                200,
                r#"{"files":[{"path":"model/../../../etc/passwd","is_dir":false}]}"#.into(),
            )
        } else {
            (200, "pwned".into())
        }
    });
    let t = RestTracker::new(&uri, None, quick(), Duration::from_secs(5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = t
        .download_artifacts("r1", "model", &dir.path().join("d"))
        .unwrap_err();
    assert!(matches!(e, TrackingError::UnsafePath { .. }), "{e}");
    // An absolute path, and a sibling that is not a child of what we listed.
    for bad in ["/etc/passwd", "other/file"] {
        let body = format!(r#"{{"files":[{{"path":"{bad}","is_dir":false}}]}}"#);
        let (uri, _) = fake_server(move |_| (200, body.clone()));
        let t = RestTracker::new(&uri, None, quick(), Duration::from_secs(5)).unwrap();
        assert!(matches!(
            t.list_artifacts("r1", "model"),
            Err(TrackingError::UnsafePath { .. })
        ));
    }
}

#[test]
fn transient_errors_are_retried_and_token_is_sent_but_never_shown() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = calls.clone();
    let (uri, log) =
        fake_server(
            move |_| match c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => (503, "busy".into()),
                1 => (429, "slow down".into()),
                2 => (200, r#"{"experiment":{"experiment_id":"42"}}"#.into()),
                _ => (
                    401,
                    r#"{"error_code":"UNAUTHENTICATED","message":"bad credentials"}"#.into(),
                ),
            },
        );
    let t = RestTracker::new(
        &uri,
        Some(Auth::Bearer("tok-s3cr3t".into())),
        quick(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(t.get_or_create_experiment("e").unwrap(), "42");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let heads = log.lock().unwrap().clone();
    assert!(
        heads.iter().all(|h| h.contains("Bearer tok-s3cr3t")),
        "{heads:?}"
    );
    // A 4xx is not retried and surfaces error_code and message, without the token.
    let e = t.get_run("abc").unwrap_err();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
    let msg = e.to_string();
    assert!(
        msg.contains("UNAUTHENTICATED") && msg.contains("bad credentials"),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t") && !format!("{e:?}").contains("s3cr3t"));
    // 5xx forever: bounded.
    let (uri, log) = fake_server(|_| (500, "boom".into()));
    let t = RestTracker::new(&uri, None, quick(), Duration::from_secs(5)).unwrap();
    assert!(matches!(
        t.get_run("abc"),
        Err(TrackingError::Transport { .. })
    ));
    assert_eq!(log.lock().unwrap().len(), 4);
}

#[test]
fn basic_auth_header() {
    let (uri, log) = fake_server(|_| (200, r#"{"experiment":{"experiment_id":"1"}}"#.into()));
    let t = RestTracker::new(
        &uri,
        Some(Auth::Basic(base64(b"alice:pw"))),
        quick(),
        Duration::from_secs(5),
    )
    .unwrap();
    t.get_or_create_experiment("e").unwrap();
    assert!(log.lock().unwrap()[0].contains(&format!("Basic {}", base64(b"alice:pw"))));
}

#[test]
fn segments_encoded() {
    assert_eq!(encode_path("a b/c%d"), "a%20b/c%25d");
}
