//! `adsales serve` as a real process on loopback: MLflow's scoring protocol in every body
//! format, answers equal to the byte to `adsales infer --format json`, hostile requests and
//! limits, the bearer token, graceful shutdown, and the alias swap under load.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// SARIMAX with ad_spend as a known driver: fast to train, reads a plan.
pub const SARIMAX: &str = "paths:\n  raw_data: raw.csv\nfamilies: [sarimax]\nsarimax:\n  exog: [ad_spend]\n  param_grid:\n    order: [[1, 0, 0]]\n    seasonal_order: [[0, 0, 0, 7]]\n    trend: [c]\nmlflow:\n  tracking_uri: mlruns\n";

pub fn trained(config: &str) -> Project {
    let p = Project::bundled(config);
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "train failed:\n{}", stderr(&o));
    p
}

/// A running `adsales serve` on a free port; stopped with SIGTERM when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    log: PathBuf,
}

impl Server {
    pub fn start(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_bin(env!("CARGO_BIN_EXE_adsales"), p, args, env)
    }

    pub fn start_bin(bin: &str, p: &Project, args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = p.path(&format!("serve-{}.err", std::process::id() ^ rand_id()));
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--config", "config.yaml", "--port", "0"])
            .args(args)
            .current_dir(p.dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // A file, not a pipe: the access log must never block the server.
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .rsplit_once("http://")
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| {
                let _ = child.wait();
                panic!(
                    "serve did not start: {line:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Server { child, addr, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status (killed after 20 s).
    pub fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// Resident memory of the server process in kB.
    pub fn rss_kb(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn rand_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed) << 16
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// (status, body, model-version header) of a POST.
pub fn post(a: &ureq::Agent, url: &str, content_type: &str, body: &str) -> (u16, String, String) {
    let r = a
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    let version = r
        .headers()
        .get("adsales-model-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, r.into_body().read_to_string().unwrap(), version)
}

/// What `adsales infer --format json` gives under `forecast`, compact: the `predictions` a
/// server must answer with, byte for byte.
pub fn infer_rows(p: &Project, args: &[&str]) -> String {
    let mut all = vec!["infer", "--config", "config.yaml", "--format", "json"];
    all.extend_from_slice(args);
    let o = p.run(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    serde_json::to_string(&v["forecast"]).unwrap()
}

/// The seven days after the bundled history, with a spend of `base + 1000·d`.
fn plan_rows(base: f64) -> Vec<(String, f64)> {
    (1..=7)
        .map(|d| (format!("2026-01-{d:02}"), base + 1000.0 * d as f64))
        .collect()
}

fn plan_csv(rows: &[(String, f64)]) -> String {
    let mut s = String::from("date,ad_spend\n");
    for (d, v) in rows {
        s.push_str(&format!("{d},{v}\n"));
    }
    s
}

#[test]
fn every_body_format_answers_what_infer_prints() {
    let p = trained(SARIMAX);
    let rows = plan_rows(30000.0);
    p.write("plan.csv", &plan_csv(&rows));
    let want = format!(
        "{{\"predictions\":{}}}",
        infer_rows(&p, &["--plan", "plan.csv"])
    );
    let srv = Server::start(&p, &[], &[]);
    let a = agent();
    let url = srv.url("/invocations");

    let data: Vec<serde_json::Value> = rows
        .iter()
        .map(|(d, v)| serde_json::json!([d, v]))
        .collect();
    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|(d, v)| serde_json::json!({"date": d, "ad_spend": v}))
        .collect();
    let columns = serde_json::json!({
        "date": rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "ad_spend": rows.iter().map(|r| r.1).collect::<Vec<_>>(),
    });
    let bodies = [
        (
            "application/json",
            serde_json::json!({"dataframe_split": {"columns": ["date", "ad_spend"], "data": data, "index": (0..7).collect::<Vec<_>>()}}).to_string(),
        ),
        (
            "application/json; charset=utf-8",
            serde_json::json!({"dataframe_records": records}).to_string(),
        ),
        (
            "application/json",
            serde_json::json!({"inputs": columns}).to_string(),
        ),
        (
            "application/json",
            serde_json::json!({"instances": records, "params": {"days": 7}}).to_string(),
        ),
        ("text/csv", plan_csv(&rows)),
        ("text/csv; charset=UTF-8", plan_csv(&rows)),
    ];
    for (ct, body) in &bodies {
        let (status, got, version) = post(&a, &url, ct, body);
        assert_eq!(status, 200, "{ct} {body}: {got}");
        assert_eq!(got, want, "{ct} {body}");
        assert_eq!(version, "Ad_Sales_Forecaster/1");
    }

    // No rows: the drivers are forecast, as infer does without a plan; days and level are
    // params.
    let (status, got, _) = post(
        &a,
        &url,
        "application/json",
        r#"{"dataframe_split": {"columns": ["date", "ad_spend"], "data": []}, "params": {"days": 3, "level": 0.8}}"#,
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got,
        format!(
            "{{\"predictions\":{}}}",
            infer_rows(&p, &["--days", "3", "--level", "0.8"])
        )
    );
    // The defaults are the config's: 7 days at 95%.
    let (_, got, _) = post(&a, &url, "application/json", r#"{"inputs": []}"#);
    assert_eq!(got, format!("{{\"predictions\":{}}}", infer_rows(&p, &[])));

    for path in ["/ping", "/health"] {
        let r = a.get(&srv.url(path)).call().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.into_body().read_to_string().unwrap(), "\n");
    }
    let r = a.get(&srv.url("/version")).call().unwrap();
    assert!(
        r.into_body()
            .read_to_string()
            .unwrap()
            .starts_with("adsales ")
    );
    // One access-log line per request, with status and path.
    let log = srv.log();
    assert!(
        log.lines()
            .filter(|l| l.contains("path=/invocations") && l.contains("status=200"))
            .count()
            >= bodies.len() + 2,
        "{log}"
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
fn the_bearer_token_guards_invocations_and_never_reaches_the_log() {
    let p = trained(SARIMAX);
    let secret = "tok-5f1e9c2a-never-log-me";
    let srv = Server::start(
        &p,
        &["--token-env", "ADSALES_SERVE_TOKEN"],
        &[("ADSALES_SERVE_TOKEN", secret)],
    );
    let a = agent();
    let url = srv.url("/invocations");
    let send = |auth: Option<&str>| {
        let mut rb = a.post(&url).header("Content-Type", "application/json");
        if let Some(h) = auth {
            rb = rb.header("Authorization", h);
        }
        rb.send(r#"{"inputs": []}"#).unwrap().status().as_u16()
    };
    assert_eq!(send(None), 401);
    assert_eq!(send(Some("Bearer wrong")), 401);
    assert_eq!(send(Some(&format!("Basic {secret}"))), 401);
    assert_eq!(send(Some(&format!("Bearer {secret}"))), 200);
    // Probes stay open.
    assert_eq!(
        a.get(&srv.url("/ping")).call().unwrap().status().as_u16(),
        200
    );
    assert!(!srv.log().contains(secret));

    // An unset variable is refused before anything is bound.
    let o = p.run(&[
        "serve",
        "--config",
        "config.yaml",
        "--port",
        "0",
        "--token-env",
        "ADSALES_NO_SUCH_VARIABLE",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ADSALES_NO_SUCH_VARIABLE"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let p = trained(SARIMAX);
    let mut srv = Server::start(&p, &[], &[]);
    let body = r#"{"inputs": [], "params": {"days": 2}}"#;
    let mut s = TcpStream::connect(&srv.addr).unwrap();
    s.write_all(
        format!(
            "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{}",
            body.len(),
            &body[..5]
        )
        .as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-TERM", &srv.pid().to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&body.as_bytes()[5..]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"predictions\""), "{answer}");
    assert_eq!(srv.stop(), Some(0), "{}", srv.log());
    // No new connection is accepted once it stopped.
    assert!(TcpStream::connect(&srv.addr).is_err());
}

#[test]
fn bad_arguments_and_a_missing_model_exit_before_binding() {
    let p = Project::bundled(SARIMAX);
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--config", "config.yaml", "--port", "0"];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let o = serve(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run `adsales train` first"),
        "{}",
        stderr(&o)
    );
    for (args, needle) in [
        (&["--host", "localhost:80"][..], "--host"),
        (&["--workers", "0"][..], "--workers"),
        (&["--timeout", "0"][..], "--timeout"),
        (&["--model-uri", "runs:/x"][..], "--model-uri"),
        (
            &[
                "--model-uri",
                "models:/Ad_Sales_Forecaster/1",
                "--watch-alias",
                "5",
            ][..],
            "--watch-alias needs",
        ),
    ] {
        let o = serve(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
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
        .create_model_version("Ad_Sales_Forecaster", &v1.source, &run_id, &[])
        .unwrap();
    let params = walk_files(&p.path("mlruns"))
        .into_iter()
        .find(|f| {
            f.to_string_lossy().contains(&run_id)
                && f.ends_with("artifacts/model/sarimax_params.json")
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
