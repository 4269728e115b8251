//! MLflow 3 logged models on both backends (the local file store and a real MLflow 3.17.2
//! server): created pending, metrics linked by a batch, artifacts uploaded, finalized, recorded
//! as the run's output, listed newest first, registered as `models:/<id>` and downloaded back
//! through the registry. MLflow's own client reads what `train` writes in `check_train.py`.

use std::fs;
use std::path::Path;

use adsales::store::tracking::{
    Batch, LoggedModelStatus, NewLoggedModel, NewRun, Tracker, TrackingError, open_tracker,
};

use crate::tracking_common::*;

fn new_model(exp: &str, run: &str, name: &str) -> NewLoggedModel {
    NewLoggedModel {
        experiment_id: exp.to_string(),
        name: name.to_string(),
        source_run_id: run.to_string(),
        model_type: Some("sarimax".into()),
        params: vec![("spec".into(), "SARIMAX(1,1,1)".into())],
        tags: vec![("family".into(), "sarimax".into())],
    }
}

fn scenario(t: &dyn Tracker, work: &Path) {
    let exp = t.get_or_create_experiment(&unique("logged")).unwrap();
    let run = t.create_run(&NewRun::new(&exp, "best")).unwrap().run_id;
    let m = t
        .create_logged_model(&new_model(&exp, &run, "sarimax"))
        .unwrap();
    assert!(
        m.model_id.starts_with("m-") && m.model_id.len() == 34,
        "{}",
        m.model_id
    );
    assert_eq!(m.status, LoggedModelStatus::Pending);
    assert_eq!(m.name, "sarimax");
    assert_eq!(m.source_run_id.as_deref(), Some(run.as_str()));
    assert!(
        m.artifact_uri
            .ends_with(&format!("/models/{}/artifacts", m.model_id)),
        "{}",
        m.artifact_uri
    );

    // Linked metrics: the model keeps the latest step's value; the run gets them too.
    let b = Batch::new()
        .metric("val_rmse", 2.5, 0)
        .metric("val_rmse", 1.5, 1)
        .for_model(&m.model_id);
    t.log_batch(&run, &b).unwrap();
    t.log_batch(&run, &Batch::new().metric("loss", 9.0, 0))
        .unwrap();

    let src = work.join("bundle");
    fs::create_dir_all(src.join("code")).unwrap();
    fs::write(src.join("MLmodel"), "flavors: {}\n").unwrap();
    fs::write(src.join("code/mod.py"), "x = 1\n").unwrap();
    t.log_logged_model_artifacts(&m, &src).unwrap();
    t.log_outputs(&run, &m.model_id, 0).unwrap();
    t.finalize_logged_model(&m.model_id, LoggedModelStatus::Ready)
        .unwrap();

    let got = t.get_logged_model(&m.model_id).unwrap();
    assert_eq!(got.status, LoggedModelStatus::Ready);
    assert_eq!(got.metrics.get("val_rmse"), Some(&1.5), "{:?}", got.metrics);
    assert!(!got.metrics.contains_key("loss"), "{:?}", got.metrics);
    assert_eq!(
        got.params.get("spec").map(String::as_str),
        Some("SARIMAX(1,1,1)")
    );
    assert_eq!(got.tags.get("family").map(String::as_str), Some("sarimax"));
    assert!(got.tags.contains_key("mlflow.user"), "{:?}", got.tags);
    assert_eq!(t.get_run(&run).unwrap().metric("val_rmse"), Some(1.5));

    // A second model of the same experiment lists first (newest first).
    std::thread::sleep(std::time::Duration::from_millis(5));
    let m2 = t
        .create_logged_model(&new_model(&exp, &run, "arima"))
        .unwrap();
    let listed: Vec<String> = t
        .search_logged_models(&exp)
        .unwrap()
        .into_iter()
        .map(|x| x.model_id)
        .collect();
    assert_eq!(listed, vec![m2.model_id.clone(), m.model_id.clone()]);

    // Registered from the model, downloaded back whole through the registry.
    let name = unique("LM");
    t.create_registered_model(&name).unwrap();
    let source = format!("models:/{}", m.model_id);
    let v = t
        .create_model_version(&name, &source, &run, Some(&m.model_id), &[])
        .unwrap();
    assert_eq!(v.source, source);
    let dl = t
        .download_model_version(&name, &v.version, &work.join("dl"))
        .unwrap();
    assert_eq!(
        fs::read_to_string(dl.join("MLmodel")).unwrap(),
        "flavors: {}\n"
    );
    assert_eq!(
        fs::read_to_string(dl.join("code/mod.py")).unwrap(),
        "x = 1\n"
    );
    let tagged = t.get_logged_model(&m.model_id).unwrap();
    let versions = &tagged.tags["mlflow.modelVersions"];
    assert!(versions.contains(&name), "{versions}");

    // Ids that are not model ids never reach a path or a URL.
    for bad in ["../x", "m-zz", "m-", "run"] {
        assert!(
            matches!(t.get_logged_model(bad), Err(TrackingError::Invalid(_))),
            "{bad}"
        );
    }
    assert!(
        t.get_logged_model(&format!("m-{}", "0".repeat(32)))
            .is_err()
    );
}

#[test]
fn logged_models_on_the_local_store() {
    let work = tempfile::tempdir().unwrap();
    let t = open_tracker(work.path().join("mlruns").to_str().unwrap()).unwrap();
    scenario(t.as_ref(), work.path());
    // A batch linked to a model that is not there writes nothing.
    let exp = t.get_or_create_experiment("x").unwrap();
    let run = t.create_run(&NewRun::new(&exp, "r")).unwrap().run_id;
    let ghost = Batch::new()
        .metric("a", 1.0, 0)
        .for_model(format!("m-{}", "1".repeat(32)));
    assert!(matches!(
        t.log_batch(&run, &ghost),
        Err(TrackingError::NotFound { .. })
    ));
    assert!(t.get_run(&run).unwrap().metrics.is_empty());
}

#[test]
fn logged_models_on_a_real_server() {
    let Some(srv) = server() else { return };
    let work = tempfile::tempdir().unwrap();
    let t = open_tracker(&srv.uri).unwrap();
    scenario(t.as_ref(), work.path());
}
