//! Data stage + features on a generated 1,000,000-row raw file (issue 2's benchmark).
//! Run: `cargo bench --bench data_pipeline`.

use std::path::Path;

use adsales::config::ConfigFile;
use adsales::data::sample::{self, SampleSpec};
use adsales::data::{self, features};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw_1m.csv");
    // 731 days × ~1368 rows a day ≈ 1,000,000 rows (~95 MB).
    let spec = SampleSpec {
        rows_per_day: (1360, 1376),
        missing_days: vec![],
        ..SampleSpec::default()
    };
    let rows = sample::write_file(&spec, &raw).unwrap();
    eprintln!("generated {rows} rows at {}", raw.display());
    let cfg = ConfigFile::default()
        .check(Path::new("config.yaml"), None)
        .unwrap();
    let mut g = c.benchmark_group("data_pipeline");
    g.sample_size(10);
    g.bench_function("load_aggregate_features_1m_rows", |b| {
        b.iter(|| {
            let daily = data::load(&raw, &cfg.data).unwrap();
            features::build(&daily, &cfg.features, &cfg.data.target, &raw).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
