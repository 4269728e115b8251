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
pub fn plan_rows(base: f64) -> Vec<(String, f64)> {
    (1..=7)
        .map(|d| (format!("2026-01-{d:02}"), base + 1000.0 * d as f64))
        .collect()
}

pub fn plan_csv(rows: &[(String, f64)]) -> String {
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
