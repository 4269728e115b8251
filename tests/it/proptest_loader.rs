//! Random bytes and random near-CSV text fed to the loader never panic: every outcome is a
//! daily frame or an error message naming the file.

use adsales::config::ConfigFile;
use proptest::prelude::*;
use std::path::Path;

use crate::common::HEADER;

fn check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.csv");
    std::fs::write(&path, bytes).unwrap();
    let cfg = ConfigFile::default()
        .check(Path::new("config.yaml"), None)
        .unwrap();
    match adsales::data::load(&path, &cfg.data) {
        Ok(d) => assert!(!d.is_empty()),
        Err(e) => assert!(e.to_string().contains("raw.csv"), "{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes);
    }

    #[test]
    fn random_rows_after_a_valid_header_never_panic(
        rows in proptest::collection::vec("[0-9a-zA-Z,.\\-: \"\\r;]{0,80}", 0..12)
    ) {
        let mut text = format!("{HEADER}\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        check(text.as_bytes());
    }

    #[test]
    fn plausible_rows_with_random_values_never_panic(
        vals in proptest::collection::vec((1u32..40, "[-0-9.eE+a-z]{0,12}"), 1..20)
    ) {
        let mut text = format!("{HEADER}\n");
        for (day, v) in vals {
            text.push_str(&format!("2024-01-{:02},G,S,I,US,{v},10,1,1,{v},1,1,{v},1\n", day.min(28)));
        }
        check(text.as_bytes());
    }
}
