//! The LSTM reads the known drivers of its forecast days: the future term by hand, the
//! windows' future values, and a trained model whose forecast follows the plan it is given.

use adsales::config::LstmDevice;
use adsales::models::{FitData, FittedForecaster, Forecaster, Frame, FutureInputs};
use adsales_lstm::LstmSpec;
use adsales_lstm::net::{Net, NetShape, Weights};
use adsales_lstm::synthetic::synthetic_frame;
use adsales_lstm::window;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

#[test]
fn the_future_term_is_a_shared_linear_map_of_each_days_drivers() {
    let shape = NetShape {
        n_features: 2,
        hidden: 3,
        layers: 1,
        horizon: 4,
        known: 2,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut w = Weights::init(shape, &mut rng);
    let names: Vec<String> = shape.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.last().map(String::as_str), Some("future.weight"));
    // Head silenced: the output is the future term alone.
    let head_w = names.iter().position(|n| n == "head.weight").unwrap();
    w.values[head_w].iter_mut().for_each(|v| *v = 0.0);
    w.values[head_w + 1].iter_mut().for_each(|v| *v = 0.0);
    *w.values.last_mut().unwrap() = vec![0.5, -2.0];
    let net = Net::new(&w, Device::Cpu);
    let x: Vec<f32> = (0..10).map(|_| rng.random_range(0.0..1.0)).collect();
    let f: Vec<f32> = (0..8).map(|_| rng.random_range(0.0..1.0)).collect();
    let out = tch::no_grad(|| {
        net.forward_with(
            &Tensor::from_slice(&x).view([1, 5, 2]),
            Some(&Tensor::from_slice(&f).view([1, 4, 2])),
            None,
        )
    });
    let got = Vec::<f32>::try_from(out.view([-1]).to_kind(Kind::Float)).unwrap();
    for h in 0..4 {
        let want = 0.5 * f[2 * h] - 2.0 * f[2 * h + 1];
        assert!(
            (got[h] - want).abs() < 1e-6,
            "step {h}: {} vs {want}",
            got[h]
        );
    }
}

#[test]
fn windows_carry_the_drivers_of_their_label_rows_and_nothing_past_the_split() {
    let f = synthetic_frame(40, 9, 0.0, 1);
    let (seq, h, label_end) = (5, 4, 20);
    let w = window::build_with_known(&f, 9..20, label_end, seq, h, &[3, 1]);
    assert_eq!(w.known, 2);
    assert_eq!(w.future.len(), w.len() * h * 2);
    for (i, &t) in w.ends.iter().enumerate() {
        for s in 0..h {
            let r = t + 1 + s;
            for (j, c) in [3, 1].into_iter().enumerate() {
                let want = if r < label_end {
                    f.cols[c][r] as f32
                } else {
                    0.0
                };
                assert_eq!(w.future[(i * h + s) * 2 + j], want, "window {t} step {s}");
            }
        }
    }
}

/// A target that moves with a driver on the same day (plus a weekly pattern and noise).
fn spend_frame(rows: usize) -> Frame {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let spend: Vec<f64> = (0..rows).map(|_| rng.random_range(0.0..1.0)).collect();
    let target: Vec<f64> = (0..rows)
        .map(|i| 0.2 + 0.5 * spend[i] + 0.05 * (i % 7) as f64 + rng.random_range(-0.02..0.02))
        .collect();
    Frame {
        dates: synthetic_frame(rows, 9, 0.0, 1).dates,
        names: vec!["revenue".into(), "spend".into()],
        cols: vec![target, spend],
        target: "revenue".into(),
    }
}

#[test]
fn a_plan_moves_the_forecast_the_way_the_driver_moves_the_target() {
    let f = spend_frame(300);
    let spec = LstmSpec {
        learning_rate: 0.01,
        batch_size: 16,
        sequence_length: 7,
        dropout: 0.0,
        weight_decay: 0.0,
        hidden_size: 8,
        num_layers: 1,
        max_epochs: 60,
        patience: 60,
        max_horizon: 7,
        seed: 3,
        device: LstmDevice::Cpu,
        known: vec!["spend".into()],
    };
    let fitted = spec
        .fit_lstm(&FitData {
            frame: &f,
            train_end: 220,
            val_end: Some(260),
        })
        .unwrap();
    assert_eq!(spec.drivers(), vec!["spend".to_string()]);
    let plan = |v: f64| FutureInputs {
        exog: vec![("spend".into(), vec![v; 7])],
    };
    let history = f.rows(0..260);
    let high = fitted.forecast(&history, &plan(0.9), 7, 0.9).unwrap();
    let low = fitted.forecast(&history, &plan(0.1), 7, 0.9).unwrap();
    // The target moves by 0.5 × 0.8 = 0.4 between the two plans.
    for h in 0..7 {
        let d = high.mean[h] - low.mean[h];
        assert!(d > 0.2 && d < 0.6, "step {h}: high − low = {d}");
    }
    // Without the driver's values the model cannot forecast: a clear error.
    let err = fitted
        .forecast(&history, &FutureInputs::default(), 7, 0.9)
        .unwrap_err();
    assert!(err.to_string().contains("spend"), "{err}");
}
