//! The model bundle: round trip, and every kind of tampering refused with the file named.

use std::fs;
use std::path::Path;

use adsales::store::bundle::{self, BundleError, BundleMeta, MLMODEL};

fn meta() -> BundleMeta {
    BundleMeta {
        family: "sarimax".into(),
        spec: "SARIMAX(1,0,1)(1,0,1,7)".into(),
        run_id: Some("0123456789abcdef0123456789abcdef".into()),
    }
}

fn make(dir: &Path) {
    fs::create_dir_all(dir.join("tail")).unwrap();
    fs::write(dir.join("params.json"), r#"{"phi":[0.5],"theta":[-0.2]}"#).unwrap();
    fs::write(dir.join("scaler.json"), r#"{"min":1.0,"max":9.0}"#).unwrap();
    fs::write(dir.join("feature_spec.json"), r#"{"lags":[1,7]}"#).unwrap();
    fs::write(dir.join("tail/history.csv"), "date,y\n2024-01-01,3\n").unwrap();
    fs::write(dir.join("weights.bin"), [0u8, 1, 2, 255]).unwrap();
}

const FILES: [&str; 5] = [
    "feature_spec.json",
    "params.json",
    "scaler.json",
    "tail/history.csv",
    "weights.bin",
];

#[test]
fn round_trip() {
    let d = tempfile::tempdir().unwrap();
    make(d.path());
    let written = bundle::finalize_bundle(d.path(), &meta()).unwrap();
    let listed: Vec<&str> = written
        .flavors
        .adsales
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(listed, FILES);
    let read = bundle::verify_bundle(d.path()).unwrap();
    assert_eq!(read, written);
    assert_eq!(read.flavors.adsales.family, "sarimax");
    assert_eq!(read.flavors.adsales.format_version, bundle::FORMAT_VERSION);
    assert_eq!(
        read.run_id.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    // Hashes are real sha256 of the files.
    let f = &read.flavors.adsales.files[1];
    assert_eq!(
        f.sha256,
        bundle::sha256_file(&d.path().join("params.json")).unwrap()
    );
    // The manifest is YAML MLflow can parse: flavors.adsales.
    let text = fs::read_to_string(d.path().join(MLMODEL)).unwrap();
    assert!(text.contains("flavors:\n  adsales:"), "{text}");
    // No temp file left.
    assert!(
        fs::read_dir(d.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
}

#[test]
fn a_flipped_byte_in_any_file_is_refused() {
    for file in FILES {
        let d = tempfile::tempdir().unwrap();
        make(d.path());
        bundle::finalize_bundle(d.path(), &meta()).unwrap();
        let p = d.path().join(file);
        let mut bytes = fs::read(&p).unwrap();
        bytes[0] ^= 0x01;
        fs::write(&p, bytes).unwrap();
        match bundle::verify_bundle(d.path()) {
            Err(e @ BundleError::Mismatch { .. }) => {
                assert!(e.to_string().contains(file), "{e}");
            }
            other => panic!("{file}: expected a mismatch, got {other:?}"),
        }
    }
}

#[test]
fn a_missing_file_is_refused() {
    for file in FILES {
        let d = tempfile::tempdir().unwrap();
        make(d.path());
        bundle::finalize_bundle(d.path(), &meta()).unwrap();
        fs::remove_file(d.path().join(file)).unwrap();
        match bundle::verify_bundle(d.path()) {
            Err(e @ BundleError::Missing { .. }) => assert!(e.to_string().contains(file), "{e}"),
            other => panic!("{file}: expected missing, got {other:?}"),
        }
    }
}

#[test]
fn an_unlisted_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    make(d.path());
    bundle::finalize_bundle(d.path(), &meta()).unwrap();
    fs::write(d.path().join("tail/extra.py"), "import os").unwrap();
    match bundle::verify_bundle(d.path()) {
        Err(e @ BundleError::Unlisted { .. }) => assert!(e.to_string().contains("tail/extra.py")),
        other => panic!("expected unlisted, got {other:?}"),
    }
}

#[test]
fn a_tampered_or_missing_manifest_is_refused() {
    let d = tempfile::tempdir().unwrap();
    make(d.path());
    assert!(matches!(
        bundle::verify_bundle(d.path()),
        Err(BundleError::Io { .. })
    ));
    bundle::finalize_bundle(d.path(), &meta()).unwrap();
    let mf = d.path().join(MLMODEL);
    let text = fs::read_to_string(&mf).unwrap();
    // A listed path escaping the folder.
    fs::write(
        &mf,
        text.replace("path: weights.bin", "path: ../weights.bin"),
    )
    .unwrap();
    assert!(matches!(
        bundle::verify_bundle(d.path()),
        Err(BundleError::BadManifest { .. })
    ));
    // A newer format.
    fs::write(&mf, text.replace("format_version: 1", "format_version: 99")).unwrap();
    assert!(matches!(
        bundle::verify_bundle(d.path()),
        Err(BundleError::UnsupportedVersion { found: 99, .. })
    ));
    fs::write(&mf, "not: [yaml").unwrap();
    assert!(matches!(
        bundle::verify_bundle(d.path()),
        Err(BundleError::BadManifest { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused() {
    let d = tempfile::tempdir().unwrap();
    make(d.path());
    std::os::unix::fs::symlink("/etc/hostname", d.path().join("link")).unwrap();
    assert!(matches!(
        bundle::finalize_bundle(d.path(), &meta()),
        Err(BundleError::NotRegular { .. })
    ));
}
