//! The local MLflow-format file store: the same scenario as the REST backend, read back by
//! MLflow's own Python client, plus concurrent writers (threads and two real processes).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use adsales::store::tracking::local::{LocalTracker, path_to_file_uri};
use adsales::store::tracking::{Batch, NewRun, RunSearch, Tracker, TrackingError, open_tracker};

use crate::tracking_common::*;

#[test]
fn local_store_scenario_and_python_crosscheck() {
    let dir = tempfile::tempdir().unwrap();
    // ADSALES_TEST_KEEP_STORE=<empty folder> keeps the store for a look with MLflow's tools.
    let root = match std::env::var("ADSALES_TEST_KEEP_STORE") {
        Ok(p) if !p.is_empty() => Path::new(&p).join("mlruns"),
        _ => dir.path().join("mlruns"),
    };
    let t = open_tracker(root.to_str().unwrap()).unwrap();
    let work = dir.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let logged = scenario(t.as_ref(), &work);

    // Layout details MLflow relies on.
    let root = fs::canonicalize(&root).unwrap();
    assert!(root.join("0/meta.yaml").is_file(), "default experiment 0");
    let exp_meta = fs::read_to_string(root.join(&logged.experiment_id).join("meta.yaml")).unwrap();
    assert!(
        exp_meta.contains(&format!(
            "artifact_location: {}",
            path_to_file_uri(&root.join(&logged.experiment_id))
        )),
        "{exp_meta}"
    );
    assert_eq!(logged.experiment_id.len(), 18);
    assert_eq!(logged.parent_run_id.len(), 32);
    assert!(logged.parent_run_id.chars().all(|c| c.is_ascii_hexdigit()));
    let metric_file = root
        .join(&logged.experiment_id)
        .join(&logged.history_run_id)
        .join("metrics/rmse");
    let lines = fs::read_to_string(metric_file).unwrap();
    assert!(lines.lines().nth(1).unwrap().contains(" nan 1"), "{lines}");
    let alias = fs::read_to_string(
        root.join("models")
            .join(&logged.model_name)
            .join("aliases/Staging"),
    )
    .unwrap();
    assert_eq!(alias, "2");

    python_crosscheck(&path_to_file_uri(&root), &logged, &work);

    // `mlflow migrate-filestore` imports everything into sqlite: every table count it reports
    // (source vs target) agrees, and it found our runs, metrics and registry.
    let Some(python) = venv_python() else { return };
    let mlflow = python.with_file_name("mlflow");
    let out = Command::new(mlflow)
        .args(["migrate-filestore", "--source"])
        .arg(&root)
        .arg("--target")
        .arg(format!("sqlite:///{}", work.join("migrated.db").display()))
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let mut counts = std::collections::BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [table, a, b] = f.as_slice()
            && let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>())
        {
            assert_eq!(a, b, "migrate-filestore {table}: {text}");
            counts.insert(table.to_string(), a);
        }
    }
    assert_eq!(counts.get("runs"), Some(&4), "{text}");
    assert_eq!(counts.get("model_versions"), Some(&2), "{text}");
    assert_eq!(counts.get("registered_model_aliases"), Some(&1), "{text}");
    assert_eq!(counts.get("datasets"), Some(&1), "{text}");
}

#[test]
fn file_uri_and_default_path_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("my store");
    let a = open_tracker(root.to_str().unwrap()).unwrap();
    let uri = path_to_file_uri(&fs::canonicalize(&root).unwrap());
    assert!(uri.contains("%20"));
    let b = open_tracker(&uri).unwrap();
    let id = a.get_or_create_experiment("x").unwrap();
    assert_eq!(b.get_or_create_experiment("x").unwrap(), id);
    // A file where the store should be is the user's mistake: exit code 2.
    let f = dir.path().join("file");
    fs::write(&f, "").unwrap();
    let e = open_tracker(f.to_str().unwrap()).unwrap_err();
    assert!(adsales::util::error::is_input_error(&anyhow::Error::new(e)));
}

#[test]
fn alias_refused_until_the_bundle_is_complete_and_intact() {
    let dir = tempfile::tempdir().unwrap();
    let t = LocalTracker::open(&dir.path().join("mlruns")).unwrap();
    let exp = t.get_or_create_experiment("e").unwrap();
    let run = t.create_run(&NewRun::new(&exp, "r")).unwrap();
    t.create_registered_model("M").unwrap();
    let src = adsales::store::tracking::runs_uri(&run.run_id, "model");
    let v = t
        .create_model_version("M", &src, &run.run_id, None, &[])
        .unwrap();
    // No artifacts yet: no alias.
    assert!(t.set_alias("M", "Staging", &v.version).is_err());
    assert_eq!(t.get_alias("M", "Staging").unwrap(), None);
    // Upload a bundle, then corrupt it in the store: still no alias.
    let b = dir.path().join("b");
    fs::create_dir_all(&b).unwrap();
    fs::write(b.join("params.json"), "{}").unwrap();
    adsales::store::bundle::finalize_bundle(
        &b,
        &adsales::store::bundle::BundleMeta {
            family: "naive".into(),
            spec: "naive".into(),
            run_id: Some(run.run_id.clone()),
        },
    )
    .unwrap();
    t.log_artifacts(&run.run_id, &b, Some("model")).unwrap();
    let stored = t
        .root()
        .join(&exp)
        .join(&run.run_id)
        .join("artifacts/model/params.json");
    fs::write(&stored, "{\"x\":1}").unwrap();
    assert!(matches!(
        t.set_alias("M", "Staging", &v.version),
        Err(TrackingError::Bundle(_))
    ));
    assert_eq!(t.get_alias("M", "Staging").unwrap(), None);
    fs::write(&stored, "{}").unwrap();
    t.set_alias("M", "Staging", &v.version).unwrap();
    assert_eq!(t.get_alias("M", "Staging").unwrap().unwrap().version, "1");
    // Reserved and unsafe names.
    for a in ["latest", "v1", "../x"] {
        assert!(t.set_alias("M", a, "1").is_err(), "{a}");
    }
    assert!(t.create_registered_model("../evil").is_err());
    assert!(t.get_run("../../etc").is_err());
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let t = LocalTracker::open(&dir.path().join("mlruns")).unwrap();
    let exp = t.get_or_create_experiment("e").unwrap();
    let run = t.create_run(&NewRun::new(&exp, "r")).unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(dir.path().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), src.join("link")).unwrap();
    assert!(matches!(
        t.log_artifacts(&run.run_id, &src, None),
        Err(TrackingError::UnsafePath { .. })
    ));
    assert!(
        t.log_artifact(&run.run_id, &src.join("link"), None)
            .is_err()
    );
    assert!(
        t.log_artifacts(&run.run_id, dir.path(), Some("../up"))
            .is_err()
    );
}

const WORKER_ENV: &str = "ADSALES_TEST_HAMMER_ROOT";
const RUNS_PER_WORKER: usize = 15;
const BATCHES_PER_WORKER: usize = 40;
const VERSIONS_PER_WORKER: usize = 5;

/// Body of one writer: run by the test below in two child processes (this same test binary,
/// filtered to this test, with the env var set). Without the env var it does nothing.
#[test]
fn hammer_worker() {
    let Ok(root) = std::env::var(WORKER_ENV) else {
        return;
    };
    let shared_run = std::env::var("ADSALES_TEST_HAMMER_RUN").unwrap();
    let worker = std::env::var("ADSALES_TEST_HAMMER_ID").unwrap();
    hammer(Path::new(&root), &shared_run, &worker);
}

fn hammer(root: &Path, shared_run: &str, worker: &str) {
    let t = LocalTracker::open(root).unwrap();
    for i in 0..RUNS_PER_WORKER {
        // Every writer races to create the same experiments.
        let exp = t
            .get_or_create_experiment(&format!("race-{}", i % 3))
            .unwrap();
        let r = t
            .create_run(&NewRun::new(&exp, format!("{worker}-{i}")))
            .unwrap();
        t.log_batch(
            &r.run_id,
            &Batch::new()
                .param("worker", worker)
                .metric("m", i as f64, i as i64),
        )
        .unwrap();
    }
    for i in 0..BATCHES_PER_WORKER {
        let mut b = Batch::new().tag(format!("last_{worker}"), i.to_string());
        for k in 0..5 {
            b = b.metric("shared", (i * 5 + k) as f64, (i * 5 + k) as i64);
        }
        t.log_batch(shared_run, &b).unwrap();
    }
    t.create_registered_model("Race").unwrap();
    for _ in 0..VERSIONS_PER_WORKER {
        let src = adsales::store::tracking::runs_uri(shared_run, "model");
        t.create_model_version("Race", &src, shared_run, None, &[])
            .unwrap();
    }
}

#[test]
fn two_processes_and_threads_writing_one_store_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    let t = LocalTracker::open(&root).unwrap();
    let exp = t.get_or_create_experiment("shared").unwrap();
    let shared = t.create_run(&NewRun::new(&exp, "shared")).unwrap();

    let exe = std::env::current_exe().unwrap();
    // The harness names a test by its module path without the crate (`area::test`).
    let worker_test = match module_path!().split_once("::") {
        Some((_krate, module)) => format!("{module}::hammer_worker"),
        None => "hammer_worker".to_string(),
    };
    let spawn = |id: &str| {
        Command::new(&exe)
            .args([
                "--exact",
                worker_test.as_str(),
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(WORKER_ENV, &root)
            .env("ADSALES_TEST_HAMMER_RUN", &shared.run_id)
            .env("ADSALES_TEST_HAMMER_ID", id)
            .spawn()
            .unwrap()
    };
    let mut children = vec![spawn("p1"), spawn("p2")];
    // Two threads of this process join the race too.
    std::thread::scope(|s| {
        for id in ["t1", "t2"] {
            let root = &root;
            let run = &shared.run_id;
            s.spawn(move || hammer(root, run, id));
        }
    });
    for c in &mut children {
        assert!(c.wait().unwrap().success(), "a writer process failed");
    }
    let writers = 4;

    // One experiment per name, despite the race.
    let t = LocalTracker::open(&root).unwrap();
    let mut ids = BTreeSet::new();
    for k in 0..3 {
        ids.insert(t.get_or_create_experiment(&format!("race-{k}")).unwrap());
    }
    assert_eq!(ids.len(), 3);
    let mut exp_names = Vec::new();
    for e in fs::read_dir(t.root()).unwrap() {
        let p = e.unwrap().path().join("meta.yaml");
        if p.is_file() {
            let text = fs::read_to_string(&p).unwrap();
            exp_names.push(
                text.lines()
                    .find(|l| l.starts_with("name:"))
                    .unwrap()
                    .to_string(),
            );
        }
    }
    let unique_names: BTreeSet<_> = exp_names.iter().cloned().collect();
    assert_eq!(
        exp_names.len(),
        unique_names.len(),
        "duplicate experiments: {exp_names:?}"
    );

    // Every run is whole and readable.
    let runs = t
        .search_runs(&RunSearch::new(ids.iter().next().unwrap().clone()).max_results(10_000))
        .unwrap();
    assert!(!runs.is_empty());
    let mut total = 0;
    for e in &ids {
        let runs = t
            .search_runs(&RunSearch::new(e.clone()).max_results(10_000))
            .unwrap();
        for r in &runs {
            assert!(r.params.contains_key("worker"));
            assert_eq!(r.metrics["m"].key, "m");
        }
        total += runs.len();
    }
    assert_eq!(total, writers * RUNS_PER_WORKER);

    // No metric point lost or torn in the shared run.
    let hist = t.metric_history(&shared.run_id, "shared").unwrap();
    assert_eq!(hist.len(), writers * BATCHES_PER_WORKER * 5);
    let r = t.get_run(&shared.run_id).unwrap();
    for w in ["p1", "p2", "t1", "t2"] {
        assert_eq!(
            r.tags[&format!("last_{w}")],
            (BATCHES_PER_WORKER - 1).to_string()
        );
    }

    // Version numbers unique and contiguous.
    let versions: Vec<u64> = t
        .list_versions("Race")
        .unwrap()
        .iter()
        .map(|v| v.version.parse().unwrap())
        .collect();
    assert_eq!(
        versions,
        (1..=(writers * VERSIONS_PER_WORKER) as u64).collect::<Vec<_>>()
    );

    // No temp file left behind anywhere.
    let mut stack = vec![t.root().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.contains(".tmp-"),
                "leftover temp file {}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}
