//! The intermittent family against statsforecast 2.1.1 (CrostonClassic, CrostonSBA, TSB,
//! ADIDA) on the fixtures `scripts/gen_intermittent_fixtures.py` writes: simulated demand of
//! several densities, a single demand, and two sample-data segments with many zero days.

use adsales::data::Frame;
use adsales::models::intermittent::{Intermittent, Method};
use adsales::models::{FitData, Forecaster, FutureInputs};

use crate::common::*;

fn method(name: &str) -> Method {
    match name {
        "croston" => Method::Croston,
        "croston_sba" => Method::CrostonSba,
        "tsb_0.1_0.1" => Method::Tsb {
            alpha_d: 0.1,
            alpha_p: 0.1,
        },
        "tsb_0.2_0.2" => Method::Tsb {
            alpha_d: 0.2,
            alpha_p: 0.2,
        },
        "adida" => Method::Adida,
        other => panic!("fixture names unknown method {other}"),
    }
}

#[test]
fn forecasts_equal_statsforecast() {
    let fixtures = json_fixtures("intermittent");
    assert!(fixtures.len() >= 7, "{} fixtures", fixtures.len());
    let mut checked = 0;
    for fx in &fixtures {
        let name = fx["name"].as_str().unwrap();
        let y = floats(&fx["y"]);
        let h = fx["h"].as_u64().unwrap() as usize;
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let frame = Frame {
            dates: (0..y.len())
                .map(|i| start + chrono::Duration::days(i as i64))
                .collect(),
            names: vec!["y".into()],
            cols: vec![y.clone()],
            target: "y".into(),
        };
        for (mname, want) in fx["forecasts"].as_object().unwrap() {
            let want = floats(want);
            let model = Intermittent {
                method: method(mname),
            };
            let fitted = model
                .fit(&FitData {
                    frame: &frame,
                    train_end: y.len(),
                    val_end: None,
                })
                .unwrap();
            let got = fitted
                .forecast(&frame, &FutureInputs::default(), h, 0.95)
                .unwrap();
            assert_eq!(got.mean.len(), want.len());
            for (g, w) in got.mean.iter().zip(&want) {
                let tol = 1e-9 * w.abs().max(1e-6);
                assert!(
                    (g - w).abs() <= tol,
                    "{name} {mname}: ours {g}, statsforecast {w}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 35, "{checked} forecasts checked");
}
