//! Same config and seed → identical leaderboards and bundle files (MLmodel aside: it holds
//! the creation time and run id), whatever the thread count.

use std::collections::BTreeMap;

use crate::common::*;

/// Every family on the bundled data, with smaller grids to keep the debug-build test quick
/// (two default trains took three minutes of the suite): twelve SARIMAX points (two orders,
/// every driver set) and two LSTM points (so dropout draws run on two threads at once).
fn project(families: &str) -> Project {
    Project::bundled(&format!(
        "{}sarimax:\n  param_grid:\n    order: [[1, 1, 1], [2, 0, 1]]\n    \
         seasonal_order: [[0, 1, 1, 7]]\n    trend: [n]\nlstm:\n  hidden_size: 16\n  num_layers: 2\n  max_epochs: 6\n  patience: 3\n  \
         param_grid:\n    learning_rate: [0.01]\n    batch_size: [32]\n    \
         sequence_length: [14]\n    dropout: [0.0, 0.2]\n    weight_decay: [0.0001]\n",
        config_text(families, "mlruns")
    ))
}

/// Bundle files of registered version `v` (name → bytes), MLmodel excluded.
fn bundle(p: &Project, v: u32) -> BTreeMap<String, Vec<u8>> {
    let meta = std::fs::read_to_string(p.path(&format!(
        "mlruns/models/Ad_Sales_Forecaster/version-{v}/meta.yaml"
    )))
    .unwrap();
    let run_id = meta
        .lines()
        .find_map(|l| l.strip_prefix("run_id: "))
        .unwrap()
        .trim()
        .trim_matches('\'')
        .to_string();
    let model_dir = walk_files(&p.path("mlruns"))
        .into_iter()
        .find(|f| f.to_string_lossy().contains(&run_id) && f.ends_with("artifacts/model/MLmodel"))
        .expect("bundle of the version")
        .parent()
        .unwrap()
        .to_path_buf();
    walk_files(&model_dir)
        .into_iter()
        .filter(|f| !f.ends_with("MLmodel"))
        .map(|f| {
            (
                f.strip_prefix(&model_dir).unwrap().display().to_string(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect()
}

/// The leaderboard without its timing column.
fn board(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path("artifacts/leaderboard.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

fn train(p: &Project, threads: &str) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_adsales"))
        .args(["-q", "train", "--config", "config.yaml"])
        .current_dir(p.dir.path())
        .env("RAYON_NUM_THREADS", threads)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn same_seed_same_results_across_runs_and_thread_counts() {
    let families = std::env::var("ADSALES_REPRO_FAMILIES").unwrap_or_else(|_| {
        "seasonal_naive, arima, sarimax, auto_arima, lstm, mstl, combination".into()
    });
    let p = project(&families);
    train(&p, "2");
    let (b1, m1) = (board(&p), bundle(&p, 1));
    train(&p, "1");
    let (b2, m2) = (board(&p), bundle(&p, 2));
    assert_eq!(b1, b2, "leaderboards differ");
    // Header + every listed family (the seasonal-naive baseline is always there).
    for fam in families.split(',').map(str::trim).chain(["seasonal_naive"]) {
        assert!(
            b1.iter().any(|l| l.split(',').nth(1) == Some(fam)),
            "{fam} missing from the leaderboard: {b1:?}"
        );
    }
    assert_eq!(m1.keys().collect::<Vec<_>>(), m2.keys().collect::<Vec<_>>());
    for (k, v) in &m1 {
        assert!(v == &m2[k], "bundle file {k} differs between runs");
    }
    assert!(m1.contains_key("history.csv") && m1.contains_key("feature_spec.json"));
}
