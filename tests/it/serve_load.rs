//! `adsales serve` under stress and beside MLflow: hostile requests and limits, 200
//! connections and memory, the alias swap under load, and MLflow's own client, pyfunc loader
//! and `mlflow models serve` on the same model.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::serve::*;

/// A raw HTTP/1.1 exchange: `request` bytes out, the whole answer back (the server closes).
fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn hostile_requests_get_clear_errors_and_leave_the_server_whole() {
    let p = trained(SARIMAX);
    let srv = Server::start(&p, &["--max-body-bytes", "4096", "--timeout", "2"], &[]);
    let a = agent();
    let url = srv.url("/invocations");
    let json = "application/json";
    for (ct, body, status, needle) in [
        (json, "{\"inputs\": [", 400, "not valid JSON"),
        (
            json,
            r#"{"inputs": [], "instances": []}"#,
            400,
            "exactly one of",
        ),
        (json, "[]", 400, "got a list"),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": "lots"}]}"#,
            400,
            "row 0, column `ad_spend`: expected a number",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": 20260101, "ad_spend": 1}]}"#,
            400,
            "expected a date string",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": 1, "clicks": 5}]}"#,
            400,
            "unknown column `clicks`; this model's rows take date, ad_spend",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01"}]}"#,
            400,
            "lack column `ad_spend`",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2025-12-20", "ad_spend": 1}]}"#,
            400,
            "which ends 2025-12-31",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": 1}, {"date": "2026-01-03", "ad_spend": 1}]}"#,
            400,
            "date 2026-01-03 should be 2026-01-02",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": -5}]}"#,
            400,
            "non-negative",
        ),
        (
            json,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": 1}], "params": {"days": 3}}"#,
            400,
            "params.days is 3 but the request has 1 rows",
        ),
        (
            json,
            r#"{"inputs": [], "params": {"segment": "platform=TikTok Ads"}}"#,
            400,
            "not built yet",
        ),
        ("text/csv", "date,ad_spend\n2026-01-01\n", 400, "line 2"),
        ("text/plain", "hello", 415, "not supported"),
        ("application/xml", "<a/>", 415, "not supported"),
        (
            "application/json; charset=latin-1",
            "{}",
            415,
            "charset latin-1",
        ),
    ] {
        let (got_status, got, _) = post(&a, &url, ct, body);
        assert_eq!(got_status, status, "{ct} {body}: {got}");
        let v: serde_json::Value = serde_json::from_str(&got).unwrap_or_else(|e| {
            panic!("{ct} {body}: the error is not JSON ({e}): {got}");
        });
        assert!(v["error_code"].is_string(), "{got}");
        let msg = v["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{ct} {body}: {msg}");
    }

    // Huge bodies: announced (refused before reading) and chunked (cut off at the limit).
    let big = format!("{{\"inputs\": [], \"pad\": \"{}\"}}", "x".repeat(10_000));
    let (status, got, _) = post(&a, &url, json, &big);
    assert_eq!(status, 413, "{got}");
    assert!(got.contains("REQUEST_LIMIT_EXCEEDED"), "{got}");
    let mut chunked = String::from(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..10 {
        chunked.push_str(&format!("3e8\r\n{}\r\n", "y".repeat(1000)));
    }
    chunked.push_str("0\r\n\r\n");
    let answer = raw(&srv.addr, chunked.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Garbage instead of HTTP, and a method on the wrong path.
    let answer = raw(&srv.addr, b"\x16\x03\x01 not http at all\r\n\r\n");
    assert!(!answer.contains("200 OK"), "{answer}");
    let r = a.get(&url).call().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = a.get(&srv.url("/nope")).call().unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // A slow client: headers never finished. Others are served meanwhile, and the server
    // closes it after the header timeout.
    let mut slow = TcpStream::connect(&srv.addr).unwrap();
    slow.write_all(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A slow body: announced, half sent, then nothing; answered 504 at the request timeout.
    let mut stalled = TcpStream::connect(&srv.addr).unwrap();
    stalled
        .write_all(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"inputs\"",
        )
        .unwrap();
    let t = Instant::now();
    let (status, _, _) = post(&a, &url, json, r#"{"inputs": []}"#);
    assert_eq!(status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stalled.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("DEADLINE_EXCEEDED"), "{answer}");
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 256];
    match slow.read(&mut buf) {
        // Closed (hyper answers nothing to headers that never ended)...
        Ok(0) => {}
        Ok(n) => panic!(
            "a half-sent request was answered: {}",
            String::from_utf8_lossy(&buf[..n])
        ),
        // ... or reset; a read that timed out means the server kept it open.
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the slow client was never cut off: {e}"
        ),
    }
    // Connections idle past the header timeout were closed too: a new client from here.
    let a = agent();

    // 200 concurrent connections, each a keep-alive client with a few requests; then many
    // more requests: no failure, and memory back where it was.
    let body = serde_json::json!({"dataframe_records": plan_rows(20000.0)
        .iter()
        .map(|(d, v)| serde_json::json!({"date": d, "ad_spend": v}))
        .collect::<Vec<_>>()})
    .to_string();
    let burst = |clients: usize, each: usize| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let (url, body) = (url.clone(), body.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    (0..each)
                        .filter(|_| post(&a, &url, "application/json", &body).0 != 200)
                        .count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    };
    assert_eq!(burst(200, 3), 0, "failed requests at 200 connections");
    let warm = srv.rss_kb();
    assert_eq!(burst(16, 250), 0);
    let after = srv.rss_kb();
    assert!(
        after < warm + 16 * 1024,
        "RSS grew from {warm} kB to {after} kB over 4,000 requests"
    );
    // Still whole: it answers, and nothing in its log says it panicked.
    let (status, _, _) = post(&a, &url, json, r#"{"inputs": []}"#);
    assert_eq!(status, 200);
    assert!(!srv.log().contains("panicked"), "{}", srv.log());
}

#[test]
fn watch_alias_swaps_versions_under_load_and_refuses_a_tampered_one() {
    let p = trained(SARIMAX);
    let srv = Server::start(&p, &["--watch-alias", "1"], &[]);
    let url = srv.url("/invocations");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four clients forecast without pause during everything below.
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let a = agent();
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (status, body, version) =
                        post(&a, &url, "application/json", r#"{"inputs": []}"#);
                    seen.push((status, version, body));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A second train registers version 2 (another spec, so other numbers) and moves @Staging.
    p.write("config.yaml", &SARIMAX.replace("trend: [c]", "trend: [n]"));
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = agent();
    let t = Instant::now();
    loop {
        let (_, _, v) = post(&a, &url, "application/json", r#"{"inputs": []}"#);
        if v == "Ad_Sales_Forecaster/2" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "never swapped:\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, v2_answer, _) = post(&a, &url, "application/json", r#"{"inputs": []}"#);
    assert_eq!(
        v2_answer,
        format!("{{\"predictions\":{}}}", infer_rows(&p, &[]))
    );

    // Version 3 is version 1's bundle with a flipped byte: refused, version 2 keeps serving.
    let (tracker, _) = p.runs("");
    let v1 = tracker
        .get_model_version("Ad_Sales_Forecaster", "1")
        .unwrap();
    let run_id = v1.run_id.clone().unwrap();
    let v3 = tracker
        .create_model_version("Ad_Sales_Forecaster", &v1.source, &run_id, None, &[])
        .unwrap();
    let model_id = v1.source.strip_prefix("models:/").unwrap().to_string();
    let params = walk_files(&p.path("mlruns"))
        .into_iter()
        .find(|f| {
            f.to_string_lossy().contains(&model_id) && f.ends_with("artifacts/sarimax_params.json")
        })
        .expect("version 1's bundle in the store");
    let mut bytes = std::fs::read(&params).unwrap();
    bytes[2] ^= 0x20;
    std::fs::write(&params, bytes).unwrap();
    // Our registry refuses to alias a tampered version; another client (MLflow's own, a
    // REST server) need not check, so the alias is moved the way such a client leaves it.
    let alias_file = walk_files(&p.path("mlruns"))
        .into_iter()
        .find(|f| f.ends_with("aliases/Staging"))
        .expect("the alias in the store");
    assert!(
        tracker
            .set_alias("Ad_Sales_Forecaster", "Staging", &v3.version)
            .is_err()
    );
    std::fs::write(&alias_file, &v3.version).unwrap();
    let t = Instant::now();
    while !srv.log().contains("which is refused") {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no refusal:\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen: Vec<_> = load.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(seen.len() > 20, "only {} requests under load", seen.len());
    let failed: Vec<_> = seen.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(failed.is_empty(), "failed during the swaps: {failed:?}");
    // Before the swap version 1 answered, after it version 2, and never version 3.
    assert_eq!(seen[0].1, "Ad_Sales_Forecaster/1");
    assert!(seen.iter().any(|(_, v, _)| v == "Ad_Sales_Forecaster/2"));
    assert!(seen.iter().all(|(_, v, _)| v != "Ad_Sales_Forecaster/3"));
    for (_, v, body) in &seen {
        if v == "Ad_Sales_Forecaster/2" {
            assert_eq!(body, &v2_answer);
        }
    }
    let (_, _, v) = post(&a, &url, "application/json", r#"{"inputs": []}"#);
    assert_eq!(v, "Ad_Sales_Forecaster/2");
    assert!(
        srv.log().contains("does not match its sha256"),
        "{}",
        srv.log()
    );
}

#[test]
fn mlflows_scoring_client_reads_our_answers() {
    let Some(python) = crate::tracking_common::venv_python() else {
        return;
    };
    let p = trained(SARIMAX);
    let rows = plan_rows(25000.0);
    p.write("plan.csv", &plan_csv(&rows));
    let want: serde_json::Value =
        serde_json::from_str(&infer_rows(&p, &["--plan", "plan.csv"])).unwrap();
    let srv = Server::start(&p, &[], &[]);
    let (host, port) = srv.addr.rsplit_once(':').unwrap();
    let out = Command::new(python)
        .arg(repo_root().join("tests/py/scoring_client.py"))
        .args([host, port, p.path("plan.csv").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // One answer per way MLflow's client sends a frame: dates as text and as timestamps.
    let answers: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answers.len(), 2);
    for got in &answers {
        assert_eq!(got["predictions"], want, "{got}");
    }
}

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn mlflow_loads_and_serves_the_registered_bundle_as_we_do() {
    let Some(python) = crate::tracking_common::venv_python() else {
        return;
    };
    let p = trained(SARIMAX);
    let rows = plan_rows(28000.0);
    p.write("plan.csv", &plan_csv(&rows));
    let parse = |s: &str| -> serde_json::Value { serde_json::from_str(s).unwrap() };
    let with_plan = parse(&infer_rows(&p, &["--plan", "plan.csv"]));
    let no_plan = parse(&infer_rows(&p, &["--days", "3", "--level", "0.8"]));
    let store = format!("file://{}", p.path("mlruns").display());
    let venv_bin = python.parent().unwrap().to_path_buf();
    let env = |c: &mut Command| {
        c.current_dir(p.dir.path())
            .env("MLFLOW_TRACKING_URI", &store)
            .env("MLFLOW_ALLOW_FILE_STORE", "true")
            .env("ADSALES_BIN", env!("CARGO_BIN_EXE_adsales"))
            .env(
                "PATH",
                format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap()),
            );
    };

    // mlflow.pyfunc.load_model of the alias: our signature, and infer's numbers.
    let mut c = Command::new(&python);
    c.arg(repo_root().join("tests/py/pyfunc_check.py"))
        .args(["models:/Ad_Sales_Forecaster@Staging", "plan.csv"]);
    env(&mut c);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["inputs"], serde_json::json!(["date", "ad_spend"]));
    assert_eq!(
        seen["outputs"],
        serde_json::json!(["date", "predicted_revenue", "lower", "upper"])
    );
    assert_eq!(
        seen["params"],
        serde_json::json!({"days": 7, "level": 0.95})
    );
    assert_eq!(
        seen["flavors"],
        serde_json::json!(["adsales", "python_function"])
    );
    assert_eq!(seen["with_plan"], with_plan);
    assert_eq!(seen["no_plan"], no_plan);

    // `mlflow models serve` on the alias answers the request `adsales serve` answers, with
    // the same predictions.
    let port = free_port();
    let mut c = Command::new(venv_bin.join("mlflow"));
    c.args([
        "models",
        "serve",
        "-m",
        "models:/Ad_Sales_Forecaster@Staging",
    ])
    .args(["--env-manager", "local", "-p", &port.to_string()])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(p.path("mlflow-serve.err")).unwrap());
    env(&mut c);
    // MLflow starts uvicorn with PR_SET_PDEATHSIG=SIGTERM: ending the CLI process ends it.
    struct Reaped(Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let theirs = Reaped(c.spawn().unwrap());
    let ours = Server::start(&p, &[], &[]);
    let a = agent();
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    while a
        .get(&format!("{url}/ping"))
        .call()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "mlflow models serve never answered /ping:\n{}",
            std::fs::read_to_string(p.path("mlflow-serve.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let body = serde_json::json!({"dataframe_split": {
        "columns": ["date", "ad_spend"],
        "data": rows.iter().map(|(d, v)| serde_json::json!([d, v])).collect::<Vec<_>>(),
    }})
    .to_string();
    let (s1, theirs_body, _) = post(&a, &format!("{url}/invocations"), "application/json", &body);
    let (s2, ours_body, _) = post(&a, &ours.url("/invocations"), "application/json", &body);
    drop(theirs);
    assert_eq!((s1, s2), (200, 200), "{theirs_body}\n{ours_body}");
    assert_eq!(parse(&theirs_body), parse(&ours_body));
    assert_eq!(parse(&ours_body)["predictions"], with_plan);
}
