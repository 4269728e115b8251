//! Our ETS filter and forecasts against statsmodels' `ETSModel.smooth` with the same fixed
//! parameters and initial states (fixtures: `scripts/gen_ets_fixtures.py`): point forecasts
//! (including the damped-trend sum φ + … + φ^h, where augurs differs) and the shape of the
//! h-step interval widths. Estimation is checked against augurs in `src/models/ets.rs`.

use adsales::models::ets::{Ets, EtsTrend};

use crate::common::{floats, json_fixtures};

#[test]
fn forecasts_equal_statsmodels_with_the_same_parameters() {
    let fixtures = json_fixtures("ets");
    assert!(
        fixtures.len() >= 12,
        "expected the generated fixtures in tests/fixtures/ets"
    );
    let mut damped = 0;
    for f in &fixtures {
        let name = f["name"].as_str().unwrap();
        let trend = match f["trend"].as_str().unwrap() {
            "none" => EtsTrend::None,
            "additive" => EtsTrend::Additive,
            "damped" => EtsTrend::Damped,
            t => panic!("{name}: trend {t}"),
        };
        damped += (trend == EtsTrend::Damped) as usize;
        let y = floats(&f["y"]);
        let model = Ets {
            trend,
            alpha: f["alpha"].as_f64().unwrap(),
            beta: f["beta"].as_f64().unwrap(),
            phi: f["phi"].as_f64().unwrap(),
            level0: f["level0"].as_f64().unwrap(),
            slope0: f["slope0"].as_f64().unwrap(),
            sigma2: 1.0,
            aicc: f64::NAN,
        };
        let want = floats(&f["mean"]);
        let ratio = floats(&f["width_ratio"]);
        let got = model.forecast(&y, want.len(), 0.95);
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
        for h in 0..want.len() {
            let d = (got.mean[h] - want[h]).abs();
            assert!(
                d <= 1e-9 * scale,
                "{name} step {}: mean {} vs statsmodels {} (|d| {d:e})",
                h + 1,
                got.mean[h],
                want[h]
            );
            let r = (got.upper[h] - got.mean[h]) / (got.upper[0] - got.mean[0]);
            assert!(
                (r - ratio[h]).abs() <= 1e-9 * ratio[h],
                "{name} step {}: width ratio {r} vs statsmodels {}",
                h + 1,
                ratio[h]
            );
        }
    }
    assert!(
        damped >= 4,
        "the damped models are where the references differ"
    );
}
