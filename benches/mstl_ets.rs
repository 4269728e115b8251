//! MSTL(7) + AutoETS, the exog forecaster and `mstl` family: augurs' search at every origin
//! (what each origin cost before fits were kept) against ours — a fit, and a forecast from a
//! later origin with the fit's parameters fixed (what each backtest origin costs now).
//!
//! `cargo bench --bench mstl_ets`

use adsales::models::mstl::MstlEts;
use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// 500 days of a weekly pattern on a slow trend with noise: the size of the bundled data.
fn series() -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let noise = Normal::new(0.0, 0.03).unwrap();
    (0..500)
        .map(|t| 0.5 + 0.1 * (t % 7) as f64 + 0.0005 * t as f64 + noise.sample(&mut rng))
        .collect()
}

fn bench(c: &mut Criterion) {
    let y = series();
    let mut g = c.benchmark_group("mstl7_autoets_500");
    g.bench_function("augurs_fit_forecast", |b| {
        b.iter(|| {
            let m = MSTLModel::new(vec![7], AutoETS::new(1, "AZN").unwrap().into_trend_model());
            m.fit(&y).unwrap().predict(7, 0.95).unwrap()
        })
    });
    g.bench_function("ours_fit_forecast", |b| {
        b.iter(|| MstlEts::fit(&y, 7).unwrap().forecast(&y, 7, 0.95).unwrap())
    });
    let fitted = MstlEts::fit(&y[..400], 7).unwrap();
    g.bench_function("ours_forecast_fixed_fit", |b| {
        b.iter(|| fitted.forecast(&y, 7, 0.95).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
