//! `adsales` does not link libtorch (its static initialisation costs ~170 ms at every start);
//! commands that need the `lstm` family run in the twin binary `adsales-torch`, which `adsales`
//! starts in its own place (src/models/torch.rs, src/cli.rs). These tests drive the real
//! `adsales` binary and check that the hand-over happens, and fails clearly without the twin.

use crate::common::*;

/// The bundled data, the `lstm` family only, a tiny fast grid.
fn lstm_project() -> Project {
    Project::bundled(
        "paths:\n  raw_data: raw.csv\nfamilies: [lstm]\nmlflow:\n  tracking_uri: mlruns\n\
         lstm:\n  hidden_size: 8\n  num_layers: 1\n  max_epochs: 3\n  patience: 2\n  \
         param_grid:\n    learning_rate: [0.01]\n    batch_size: [32]\n    \
         sequence_length: [14]\n    dropout: [0.0]\n    weight_decay: [0.0]\n",
    )
}

#[test]
fn adsales_does_not_link_libtorch() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_adsales"))
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{libs}");
    assert!(
        !libs.contains("libtorch"),
        "adsales links libtorch:\n{libs}"
    );
    assert!(!libs.contains("libc10"), "adsales links libc10:\n{libs}");
}

#[test]
fn lstm_train_and_infer_run_in_the_torch_twin() {
    let p = lstm_project();
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let board = stdout(&o);
    assert!(
        board
            .lines()
            .any(|l| l.contains("lstm") && l.contains("LSTM(hidden=8")),
        "the lstm family trained:\n{board}"
    );

    // Whatever won, point the alias at the LSTM's logged bundle so infer must load an LSTM.
    let (tracker, runs) = p.runs("params.family = 'lstm'");
    let with_bundle = runs
        .iter()
        .find(|r| {
            tracker
                .list_artifacts(&r.info.run_id, "")
                .unwrap()
                .iter()
                .any(|a| a.path == "model")
        })
        .expect("the lstm family's best run holds a bundle");
    // Its loss history is logged like every other grid point's (its model was moved into the
    // test evaluation before the run was logged).
    for key in ["train_loss", "val_loss"] {
        assert!(
            with_bundle.metric(key).is_some(),
            "{key} missing on the best run"
        );
    }
    let id = &with_bundle.info.run_id;
    // Tagged as registration tags it (the hand-over happens before the download), and
    // untagged (the bundle's manifest tells, once loaded).
    let source = format!("runs:/{id}/model");
    let family_tag = [("family".to_string(), "lstm".to_string())];
    let untagged = tracker
        .create_model_version("Ad_Sales_Forecaster", &source, id, None, &[])
        .unwrap();
    let v = tracker
        .create_model_version("Ad_Sales_Forecaster", &source, id, None, &family_tag)
        .unwrap();
    tracker
        .set_alias("Ad_Sales_Forecaster", "Staging", &v.version)
        .unwrap();

    let untagged_uri = format!("models:/Ad_Sales_Forecaster/{}", untagged.version);
    for extra in [&[][..], &["--model-uri", untagged_uri.as_str()][..]] {
        let mut args = vec!["infer", "--config", "config.yaml", "--format", "json"];
        args.extend_from_slice(extra);
        let o = p.run(&args);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["model"]["family"], "lstm", "{json}");
        assert_eq!(json["forecast"].as_array().unwrap().len(), 7, "{json}");
    }

    // `serve` hands an LSTM over before it binds: the twin answers, with infer's numbers.
    {
        use crate::serve::{Server, agent, infer_rows, post};
        let srv = Server::start(&p, &[], &[]);
        let (status, body, version) = post(
            &agent(),
            &srv.url("/invocations"),
            "application/json",
            r#"{"inputs": []}"#,
        );
        assert_eq!(status, 200, "{body}\n{}", srv.log());
        assert_eq!(version, format!("Ad_Sales_Forecaster/{}", v.version));
        assert_eq!(body, format!("{{\"predictions\":{}}}", infer_rows(&p, &[])));
    }

    // Without the twin: one clear message naming it, exit 1, nothing tracked by the attempt.
    let runs_before = walk_files(&p.path("mlruns")).len();
    let missing = p.path("no-such-adsales-torch");
    let without_twin = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_adsales"))
            .args(args)
            .current_dir(p.dir.path())
            .env("ADSALES_TORCH_BIN", &missing)
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap()
    };
    for args in [
        &["train", "--config", "config.yaml"][..],
        &["infer", "--config", "config.yaml"][..],
        &["serve", "--config", "config.yaml", "--port", "0"][..],
    ] {
        let o = without_twin(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("adsales-torch") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(walk_files(&p.path("mlruns")).len(), runs_before);

    // A version tagged lstm hands over before its bundle is downloaded: with a source that
    // does not exist, the error is the missing twin's, not the download's.
    let ghost = tracker
        .create_model_version(
            "Ad_Sales_Forecaster",
            &format!("runs:/{id}/no-such-model"),
            id,
            None,
            &family_tag,
        )
        .unwrap();
    let runs_before = walk_files(&p.path("mlruns")).len();
    let ghost_uri = format!("models:/Ad_Sales_Forecaster/{}", ghost.version);
    let o = without_twin(&[
        "infer",
        "--config",
        "config.yaml",
        "--model-uri",
        &ghost_uri,
    ]);
    let err = stderr(&o);
    assert!(
        err.contains("does not exist") && !err.contains("downloading"),
        "{err}"
    );

    // A "twin" that is `adsales` itself would hand over again: refused, no exec loop.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_adsales"))
        .args(["train", "--config", "config.yaml"])
        .current_dir(p.dir.path())
        .env("ADSALES_TORCH_BIN", env!("CARGO_BIN_EXE_adsales"))
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("lacks the lstm family"), "{err}");
    assert_eq!(walk_files(&p.path("mlruns")).len(), runs_before);

    // A twin built from other sources than the `adsales` handing over (what a partial build
    // leaves behind) refuses, before anything is tracked; from the same sources it runs.
    let twin = std::path::Path::new(env!("CARGO_BIN_EXE_adsales")).with_file_name("adsales-torch");
    let handed_over = |source: &str| {
        std::process::Command::new(&twin)
            .args(["train", "--config", "config.yaml"])
            .current_dir(p.dir.path())
            .env(adsales::cmd::PARENT_SOURCE_ENV, source)
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap()
    };
    let o = handed_over("0123456789abcdef");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("built from other sources") && err.contains("make release"),
        "{err}"
    );
    assert_eq!(walk_files(&p.path("mlruns")).len(), runs_before);
    let o = handed_over(adsales::cmd::SOURCE_ID);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
