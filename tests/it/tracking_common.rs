//! The tracking scenario both backends must pass, the cross-check with MLflow's own Python
//! client, and the MLflow server the REST tests share.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use adsales::store::bundle::{self, BundleMeta};
use adsales::store::tracking::{
    Batch, DatasetInput, Metric, NewRun, RunSearch, RunStatus, Tracker, TrackingError,
};

use crate::common::repo_root;

pub const MODEL: &str = "Ad_Sales_Forecaster";

/// What the scenario logged, for the Python cross-check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Logged {
    pub experiment_id: String,
    pub parent_run_id: String,
    /// Children ordered by their final rmse, best first.
    pub children_by_rmse: Vec<String>,
    pub failed_run_id: String,
    pub rmse_history: Vec<Option<f64>>,
    pub history_run_id: String,
    pub model_name: String,
    pub staging_version: String,
    pub staging_run_id: String,
    /// sha256 of each bundle file, as in MLmodel.
    pub bundle_files: BTreeMap<String, String>,
    pub dataset_digest: String,
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", rand::random::<u64>())
}

fn write_bundle(dir: &Path, spec: &str, run_id: &str) -> BTreeMap<String, String> {
    fs::create_dir_all(dir.join("extra")).unwrap();
    fs::write(
        dir.join("params.json"),
        format!("{{\"spec\": \"{spec}\", \"phi\": [0.5]}}"),
    )
    .unwrap();
    fs::write(dir.join("scaler.json"), "{\"min\": 0.0, \"max\": 10.0}").unwrap();
    fs::write(dir.join("feature_spec.json"), "{\"columns\": [\"y\"]}").unwrap();
    fs::write(
        dir.join("extra/history_tail.csv"),
        "date,y\n2024-01-01,1.5\n",
    )
    .unwrap();
    let m = bundle::finalize_bundle(
        dir,
        &BundleMeta {
            family: "sarimax".into(),
            spec: spec.into(),
            run_id: Some(run_id.into()),
        },
    )
    .unwrap();
    m.flavors
        .adsales
        .files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect()
}

/// The acceptance scenario: nested runs, params, metrics with steps (NaN included), tags,
/// dataset input, artifacts up and down, registry with two versions and a moving alias,
/// a FAILED run. Panics (fails the test) on any mismatch.
pub fn scenario(t: &dyn Tracker, work: &Path) -> Logged {
    let exp_name = unique("adsales-test");
    assert_eq!(t.get_experiment(&exp_name).unwrap(), None);
    let exp = t.get_or_create_experiment(&exp_name).unwrap();
    assert_eq!(t.get_experiment(&exp_name).unwrap(), Some(exp.clone()));
    assert_eq!(
        t.get_or_create_experiment(&exp_name).unwrap(),
        exp,
        "get-or-create is stable"
    );

    let parent = t.create_run(&NewRun::new(&exp, "train")).unwrap();
    assert_eq!(parent.status, RunStatus::Running);
    assert_eq!(parent.run_name, "train");

    // Two children with metrics over steps; arima's step 1 is NaN and must stay NaN.
    let mut child_ids = BTreeMap::new();
    let finals = [
        ("arima", [3.0, f64::NAN, 2.5]),
        ("sarimax", [2.0, 1.8, 1.5]),
    ];
    for (family, rmse) in finals {
        let c = t
            .create_run(
                &NewRun::new(&exp, family)
                    .parent(&parent.run_id)
                    .tag("family", family),
            )
            .unwrap();
        let mut b = Batch::new()
            .param("family", family)
            .param("order", "(1,0,1)")
            .tag("stage", "grid");
        for (step, v) in rmse.iter().enumerate() {
            b.metrics.push(Metric {
                key: "rmse".into(),
                value: *v,
                timestamp: 1_700_000_000_000 + step as i64,
                step: step as i64,
            });
        }
        b.metrics.push(Metric::new("inf_metric", f64::INFINITY, 0));
        t.log_batch(&c.run_id, &b).unwrap();
        // Re-logging the same param value is fine; a different value is refused.
        t.log_batch(&c.run_id, &Batch::new().param("family", family))
            .unwrap();
        assert!(
            t.log_batch(&c.run_id, &Batch::new().param("family", "other"))
                .is_err()
        );
        child_ids.insert(family, c.run_id);
    }
    let arima = child_ids["arima"].clone();
    let sarimax = child_ids["sarimax"].clone();

    // Metric history, NaN intact.
    let hist = t.metric_history(&arima, "rmse").unwrap();
    assert_eq!(hist.len(), 3);
    assert_eq!(hist[0].value, 3.0);
    assert!(
        hist[1].value.is_nan(),
        "NaN must read back as NaN, got {}",
        hist[1].value
    );
    assert_eq!(hist[2].value, 2.5);
    assert_eq!(
        hist.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );

    // Dataset input.
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let mut ds =
        DatasetInput::local_file("ad_sales", Path::new("/data/ads.csv"), digest, Some(365));
    ds.context = Some("train".into());
    t.log_inputs(&parent.run_id, &[ds.clone()]).unwrap();

    // Bundle up, listed, down, verified.
    let bundle_dir = work.join("bundle");
    let files = write_bundle(&bundle_dir, "SARIMAX(1,0,1)", &sarimax);
    t.log_artifacts(&sarimax, &bundle_dir, Some("model"))
        .unwrap();
    let arima_bundle = work.join("bundle-arima");
    write_bundle(&arima_bundle, "ARIMA(1,0,1)", &arima);
    t.log_artifacts(&arima, &arima_bundle, Some("model"))
        .unwrap();
    let note = work.join("notes.txt");
    fs::write(&note, "leaderboard").unwrap();
    t.log_artifact(&parent.run_id, &note, Some("reports"))
        .unwrap();
    t.log_artifact(&parent.run_id, &note, None).unwrap();

    let listed = t.list_artifacts(&sarimax, "model").unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.path.as_str()).collect();
    for want in ["model/MLmodel", "model/params.json", "model/extra"] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(listed.iter().any(|e| e.path == "model/extra" && e.is_dir));
    let root_list = t.list_artifacts(&parent.run_id, "").unwrap();
    assert!(
        root_list.iter().any(|e| e.path == "notes.txt" && !e.is_dir),
        "{root_list:?}"
    );

    let dl = t
        .download_artifacts(&sarimax, "model", &work.join("dl"))
        .unwrap();
    assert_eq!(dl, work.join("dl/model"));
    bundle::verify_bundle(&dl).unwrap();
    let one = t
        .download_artifacts(&parent.run_id, "reports/notes.txt", &work.join("dl1"))
        .unwrap();
    assert_eq!(fs::read_to_string(one).unwrap(), "leaderboard");
    assert!(matches!(
        t.download_artifacts(&sarimax, "../escape", &work.join("dl2")),
        Err(TrackingError::UnsafePath { .. })
    ));

    // A failed child.
    let failed = t
        .create_run(&NewRun::new(&exp, "lstm").parent(&parent.run_id))
        .unwrap();
    t.log_batch(&failed.run_id, &Batch::new().param("family", "lstm"))
        .unwrap();
    t.finish_run(&failed.run_id, RunStatus::Failed, None)
        .unwrap();
    for id in [&arima, &sarimax] {
        t.finish_run(id, RunStatus::Finished, None).unwrap();
    }
    let f = t.get_run(&failed.run_id).unwrap();
    assert_eq!(f.info.status, RunStatus::Failed);
    assert!(f.info.end_time.is_some());

    // get_run: params, tags, latest metrics, system tags, inputs.
    let r = t.get_run(&arima).unwrap();
    assert_eq!(r.params["family"], "arima");
    assert_eq!(r.tags["stage"], "grid");
    assert_eq!(r.parent_run_id(), Some(parent.run_id.as_str()));
    assert_eq!(r.metric("rmse"), Some(2.5));
    assert_eq!(r.metric("inf_metric"), Some(f64::INFINITY));
    assert!(r.tags.contains_key("mlflow.user"));
    assert!(r.tags.contains_key("mlflow.source.name"));
    // Tests run in the package root; inside a git checkout the commit is recorded.
    if repo_root().join(".git").exists() {
        let c = &r.tags["mlflow.source.git.commit"];
        assert_eq!(c.len(), 40, "{c}");
    }
    assert_eq!(r.info.status, RunStatus::Finished);
    let p = t.get_run(&parent.run_id).unwrap();
    assert_eq!(p.inputs.len(), 1, "{:?}", p.inputs);
    assert_eq!(p.inputs[0].digest, &digest[..32]);
    assert_eq!(p.inputs[0].sha256.as_deref(), Some(digest));
    assert_eq!(p.inputs[0].num_rows, Some(365));
    assert_eq!(p.inputs[0].context.as_deref(), Some("train"));

    // Search: children of the parent, best rmse first; the run without rmse last.
    let found = t
        .search_runs(
            &RunSearch::new(&exp)
                .filter(format!("tags.mlflow.parentRunId = '{}'", parent.run_id))
                .order_by("metrics.rmse ASC"),
        )
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|r| r.info.run_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![sarimax.as_str(), arima.as_str(), failed.run_id.as_str()]
    );
    let by_param = t
        .search_runs(&RunSearch::new(&exp).filter("params.family = 'arima'"))
        .unwrap();
    assert_eq!(by_param.len(), 1);
    assert_eq!(by_param[0].info.run_id, arima);
    let good = t
        .search_runs(
            &RunSearch::new(&exp).filter("metrics.rmse < 2 and attributes.status = 'FINISHED'"),
        )
        .unwrap();
    assert_eq!(good.len(), 1);
    assert_eq!(good[0].info.run_id, sarimax);

    // Registry.
    let model = unique(MODEL);
    t.create_registered_model(&model).unwrap();
    t.create_registered_model(&model).unwrap(); // idempotent
    assert_eq!(t.get_alias(&model, "Staging").unwrap(), None);
    let src1 = adsales::store::tracking::runs_uri(&arima, "model");
    let v1 = t
        .create_model_version(
            &model,
            &src1,
            &arima,
            None,
            &[("family".into(), "arima".into())],
        )
        .unwrap();
    assert_eq!(v1.version, "1");
    assert_eq!(v1.source, src1);
    assert_eq!(v1.status, "READY");
    let v2 = t
        .create_model_version(
            &model,
            &adsales::store::tracking::runs_uri(&sarimax, "model"),
            &sarimax,
            None,
            &[],
        )
        .unwrap();
    assert_eq!(v2.version, "2");
    // A version tag set later (promote's record) reads back, and overwrites.
    t.set_model_version_tag(&model, "2", "promotion.Production.decision", "kept")
        .unwrap();
    t.set_model_version_tag(&model, "2", "promotion.Production.decision", "promoted")
        .unwrap();
    assert_eq!(
        t.get_model_version(&model, "2").unwrap().tags["promotion.Production.decision"],
        "promoted"
    );
    assert!(t.set_model_version_tag(&model, "9", "k", "v").is_err());
    t.set_alias(&model, "Staging", "1").unwrap();
    assert_eq!(
        t.get_alias(&model, "Staging").unwrap().unwrap().version,
        "1"
    );
    t.set_alias(&model, "Staging", "2").unwrap();
    let staged = t.get_alias(&model, "Staging").unwrap().unwrap();
    assert_eq!(staged.version, "2");
    assert_eq!(staged.run_id.as_deref(), Some(sarimax.as_str()));
    assert_eq!(t.get_alias(&model, "Production").unwrap(), None);
    t.delete_alias(&model, "Production").unwrap();
    t.set_alias(&model, "Challenger", "1").unwrap();
    t.delete_alias(&model, "Challenger").unwrap();
    assert_eq!(t.get_alias(&model, "Challenger").unwrap(), None);
    let versions = t.list_versions(&model).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].version, "1");
    assert!(versions[0].aliases.is_empty(), "{:?}", versions[0].aliases);
    assert_eq!(versions[1].aliases, vec!["Staging".to_string()]);
    assert_eq!(
        versions[0].tags.get("family").map(String::as_str),
        Some("arima")
    );
    assert!(
        t.list_versions(&unique("no-such-model"))
            .unwrap_or_default()
            .is_empty()
    );
    let got = t
        .download_model_version(&model, "2", &work.join("mv"))
        .unwrap();
    let m = bundle::verify_bundle(&got).unwrap();
    assert_eq!(m.flavors.adsales.spec, "SARIMAX(1,0,1)");
    assert_eq!(m.run_id.as_deref(), Some(sarimax.as_str()));

    // Errors: unknown run is "not found".
    let e = t.get_run("0123456789abcdef0123456789abcdef").unwrap_err();
    assert!(e.is_not_found(), "{e}");

    t.finish_run(&parent.run_id, RunStatus::Finished, None)
        .unwrap();

    Logged {
        experiment_id: exp,
        parent_run_id: parent.run_id,
        children_by_rmse: vec![sarimax.clone(), arima.clone()],
        failed_run_id: failed.run_id,
        rmse_history: vec![Some(3.0), None, Some(2.5)],
        history_run_id: arima,
        model_name: model,
        staging_version: "2".into(),
        staging_run_id: sarimax,
        bundle_files: files,
        dataset_digest: digest[..32].into(),
    }
}

/// True under CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv's python (the script installs the venv when missing). `None` (with a loud
/// message) when it cannot be had outside CI; under CI that is a failure.
pub fn venv_python() -> Option<PathBuf> {
    let out = Command::new(repo_root().join("scripts/mlflow-server.sh"))
        .arg("python")
        .output();
    let why = match out {
        Ok(o) if o.status.success() => {
            return Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
        Err(e) => e.to_string(),
    };
    if in_ci() {
        panic!("CI: no MLflow venv for the Python cross-checks:\n{why}");
    }
    eprintln!("\n*** SKIPPED Python cross-check: no MLflow venv:\n{why}\n");
    None
}

/// Run tests/py/crosscheck.py: MLflow's own client reads what we logged.
pub fn python_crosscheck(tracking_uri: &str, logged: &Logged, work: &Path) {
    let spec = work.join("logged.json");
    fs::write(&spec, serde_json::to_string_pretty(logged).unwrap()).unwrap();
    let Some(python) = venv_python() else { return };
    let out = Command::new(python)
        .arg(repo_root().join("tests/py/crosscheck.py"))
        .arg(tracking_uri)
        .arg(&spec)
        .arg(work.join("py-dl"))
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("run the Python cross-check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python cross-check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("CROSSCHECK OK"), "{stdout}\n{stderr}");
}

/// The MLflow server a test uses. Every test of the process that asks shares one: the first
/// finds or starts it, and when the last of them is done, one started here is stopped. (Tests
/// run as threads of one process; a server stopped by one while another used it would fail
/// that other test.)
pub struct Server {
    pub uri: String,
}

/// The process's shared server: how many [`Server`]s are alive, its URI, whether we started it.
struct Shared {
    users: usize,
    uri: String,
    started_here: bool,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    users: 0,
    uri: String::new(),
    started_here: false,
});

fn shared() -> MutexGuard<'static, Shared> {
    // A test that panicked while holding the lock leaves the counts as they were.
    SHARED.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut s = shared();
        s.users -= 1;
        if s.users == 0 && std::mem::take(&mut s.started_here) {
            let _ = std::process::Command::new(repo_root().join("scripts/mlflow-server.sh"))
                .arg("stop")
                .status();
        }
    }
}

pub fn server() -> Option<Server> {
    // Held while finding or starting, so a second test waits for the first's server.
    let mut s = shared();
    if s.users == 0 {
        let (uri, started_here) = find_or_start_server()?;
        s.uri = uri;
        s.started_here = started_here;
    }
    s.users += 1;
    Some(Server { uri: s.uri.clone() })
}

/// The server's URI and whether it was started here.
fn find_or_start_server() -> Option<(String, bool)> {
    if let Ok(uri) = std::env::var("ADSALES_TEST_MLFLOW_URI")
        && !uri.trim().is_empty()
    {
        return Some((uri.trim().to_string(), false));
    }
    let script = repo_root().join("scripts/mlflow-server.sh");
    // Reuse a server someone else started with the script.
    if let Ok(out) = std::process::Command::new(&script).arg("uri").output()
        && out.status.success()
    {
        return Some((
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            false,
        ));
    }
    let out = std::process::Command::new(&script).arg("start").output();
    match out {
        Ok(o) if o.status.success() => {
            Some((String::from_utf8_lossy(&o.stdout).trim().to_string(), true))
        }
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            if in_ci() {
                panic!("CI: the MLflow test server could not start:\n{why}");
            }
            eprintln!(
                "\n*** SKIPPED: no MLflow server (set ADSALES_TEST_MLFLOW_URI or fix \
                 scripts/mlflow-server.sh start):\n{why}\n"
            );
            None
        }
    }
}

/// Run tests/py/check_train.py: MLflow's client walks a tree logged by `adsales train`.
pub fn python_check_train(
    tracking_uri: &str,
    experiment: &str,
    model: &str,
    alias: &str,
    work: &Path,
) {
    let Some(python) = venv_python() else { return };
    let out = Command::new(python)
        .arg(repo_root().join("tests/py/check_train.py"))
        .args([tracking_uri, experiment, model, alias])
        .arg(work.join("py-dl"))
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("run the Python train check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python train check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("TRAIN CHECK OK"), "{stdout}\n{stderr}");
}
