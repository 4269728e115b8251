//! `lstm.device: cuda` on a machine whose libtorch sees no GPU is a config error found before
//! anything is trained or tracked (exit 2, the key named, no MLflow run).

use std::path::Path;
use std::process::Command;

#[test]
fn cuda_without_a_gpu_is_refused_before_tracking() {
    if tch::Cuda::is_available() {
        // With a GPU the setting is valid; the training tests cover that path.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    std::fs::copy(
        root.join("data/raw/global_ads_performance_dataset.csv"),
        dir.path().join("raw.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "paths:\n  raw_data: raw.csv\nfamilies: [lstm]\nmlflow:\n  tracking_uri: mlruns\n\
         lstm:\n  device: cuda\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_adsales-torch"))
        .args(["train", "--config", "config.yaml"])
        .current_dir(dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("lstm.device is cuda"), "{err}");
    assert!(
        !dir.path().join("mlruns").exists()
            || std::fs::read_dir(dir.path().join("mlruns"))
                .unwrap()
                .count()
                == 0,
        "something was tracked"
    );
}
