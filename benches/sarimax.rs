//! Library fit times on the statsmodels parity fixtures.
//!
//! - `cargo bench --bench sarimax` runs criterion on a few representative fixtures.
//! - `<bench binary> --per-fixture [DIR] [REPS]` prints one JSON line per fixture with the
//!   median fit time in seconds (used by `scripts/bench_sarimax.py`, which can point at a
//!   dev- or release-profile binary).

use std::path::{Path, PathBuf};
use std::time::Instant;

use adsales::models::sarimax::{SarimaxSpec, Trend, fit};
use criterion::{Criterion, criterion_group};
use serde_json::Value;

struct Case {
    name: String,
    spec: SarimaxSpec,
    y: Vec<f64>,
    exog: Vec<Vec<f64>>,
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default()
}

fn load(dir: &Path) -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
            let s = &v["spec"];
            let o = floats(&s["order"]);
            let so = floats(&s["seasonal"]);
            let exog: Vec<String> = s["exog"]
                .as_array()?
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect();
            Some(Case {
                name: v["name"].as_str()?.to_string(),
                spec: SarimaxSpec {
                    order: (o[0] as usize, o[1] as usize, o[2] as usize),
                    seasonal: (
                        so[0] as usize,
                        so[1] as usize,
                        so[2] as usize,
                        so[3] as usize,
                    ),
                    trend: Trend::parse(s["trend"].as_str()?)?,
                    exog: exog.clone(),
                    exact_diffuse: s["exact_diffuse"].as_bool().unwrap_or(false),
                },
                y: floats(&v["y"]),
                exog: exog.iter().map(|c| floats(&v["exog"][c])).collect(),
            })
        })
        .collect()
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarimax")
}

fn per_fixture(dir: &Path, reps: usize) {
    for c in load(dir) {
        let ex: Vec<&[f64]> = c.exog.iter().map(|v| v.as_slice()).collect();
        let mut times = Vec::with_capacity(reps);
        let mut last = None;
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            let r = fit(&c.spec, &c.y, &ex);
            times.push(t.elapsed().as_secs_f64());
            last = Some(r);
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        let line = match last {
            Some(Ok(f)) => serde_json::json!({"name": c.name, "seconds": med, "llf": f.llf,
                "converged": f.converged, "iterations": f.iterations}),
            Some(Err(e)) => {
                serde_json::json!({"name": c.name, "seconds": med, "error": e.to_string()})
            }
            None => continue,
        };
        println!("{line}");
    }
}

fn bench_fits(cr: &mut Criterion) {
    let cases = load(&fixture_dir());
    let mut g = cr.benchmark_group("sarimax_fit");
    g.sample_size(10);
    for name in [
        "nile_arma11_c",
        "co2_airline_s12",
        "synth_sarimax_200_011_7_exog2",
    ] {
        if let Some(c) = cases.iter().find(|c| c.name == name) {
            let ex: Vec<&[f64]> = c.exog.iter().map(|v| v.as_slice()).collect();
            g.bench_function(name, |b| b.iter(|| fit(&c.spec, &c.y, &ex)));
        }
    }
    g.finish();
}

criterion_group!(benches, bench_fits);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--per-fixture") {
        let dir = args
            .get(i + 1)
            .filter(|a| !a.starts_with("--"))
            .map(PathBuf::from)
            .unwrap_or_else(fixture_dir);
        let reps = args.get(i + 2).and_then(|r| r.parse().ok()).unwrap_or(3);
        per_fixture(&dir, reps);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
