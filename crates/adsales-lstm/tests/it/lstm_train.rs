//! Training: determinism, loss decrease, early stopping, save/load, intervals, errors.

use adsales::config::LstmDevice;
use adsales::models::{FitData, FittedForecaster, Forecaster, Frame, FutureInputs, ModelError};
use adsales_lstm::synthetic::synthetic_frame;
use adsales_lstm::{FittedLstm, GridMode, LstmSpec, fit_grid, train, window};
use tch::Device;

fn tiny_spec() -> LstmSpec {
    LstmSpec {
        learning_rate: 0.01,
        batch_size: 16,
        sequence_length: 10,
        dropout: 0.2,
        weight_decay: 1e-4,
        hidden_size: 8,
        num_layers: 2,
        max_epochs: 8,
        patience: 100,
        max_horizon: 7,
        seed: 7,
        device: LstmDevice::Cpu,
        known: Vec::new(),
    }
}

fn frame() -> Frame {
    synthetic_frame(200, 12, 0.02, 3)
}

fn data(f: &Frame) -> FitData<'_> {
    FitData {
        frame: f,
        train_end: 140,
        val_end: Some(170),
    }
}

#[test]
fn loss_decreases_and_runs_are_bit_identical() {
    let f = frame();
    let a = tiny_spec().fit_lstm(&data(&f)).unwrap();
    let b = tiny_spec().fit_lstm(&data(&f)).unwrap();
    let tl = &a.history.train_loss;
    assert_eq!(tl.len(), 8);
    assert!(tl[tl.len() - 1] < tl[0], "train loss {tl:?}");
    assert!(a.history.best_val_loss() < a.history.val_loss[0]);
    // Bit-identical: compare the f64/f32 bit patterns, not approximate values.
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.history.train_loss), bits(&b.history.train_loss));
    assert_eq!(bits(&a.history.val_loss), bits(&b.history.val_loss));
    assert_eq!(a.weights, b.weights);
    // A different seed is a different run (the comparison above can fail).
    let c = LstmSpec {
        seed: 8,
        ..tiny_spec()
    }
    .fit_lstm(&data(&f))
    .unwrap();
    assert_ne!(bits(&a.history.train_loss), bits(&c.history.train_loss));
}

#[test]
fn grid_results_do_not_depend_on_scheduling() {
    let f = frame();
    let specs: Vec<LstmSpec> = [0.01, 0.003]
        .iter()
        .flat_map(|&lr| {
            [0.0, 0.2].map(|dropout| LstmSpec {
                learning_rate: lr,
                dropout,
                max_epochs: 4,
                ..tiny_spec()
            })
        })
        .collect();
    let run = |mode| -> Vec<FittedLstm> {
        fit_grid(&specs, &data(&f), mode)
            .into_iter()
            .map(Result::unwrap)
            .collect()
    };
    let one = run(GridMode::Sequential { threads: 1 });
    let two = run(GridMode::Sequential { threads: 2 });
    let conc = run(GridMode::Concurrent { workers: 2 });
    assert_eq!(one, two);
    assert_eq!(one, conc);
    assert_ne!(one[0].weights, one[1].weights);
}

#[test]
fn early_stopping_stops_and_restores_the_best_epoch() {
    let f = frame();
    // A large learning rate overfits/oscillates quickly, so patience runs out.
    let spec = LstmSpec {
        learning_rate: 0.05,
        dropout: 0.0,
        max_epochs: 200,
        patience: 3,
        ..tiny_spec()
    };
    let fitted = spec.fit_lstm(&data(&f)).unwrap();
    let h = &fitted.history;
    assert!(h.stopped_early, "ran {} epochs", h.epochs());
    assert!(h.epochs() < 200);
    assert_eq!(h.epochs(), h.best_epoch + spec.patience);
    let best = h.val_loss[h.best_epoch - 1];
    assert!(h.val_loss.iter().all(|&v| v >= best));
    // The first minimum is kept (strict improvement).
    assert!(h.val_loss[..h.best_epoch - 1].iter().all(|&v| v > best));
    // The kept weights are the best epoch's: recomputing the validation loss gives its value.
    let d = data(&f);
    let seq = spec.sequence_length;
    let w = window::build(
        &f,
        window::val_origins(seq, d.train_end, d.val_end.unwrap()),
        d.val_end.unwrap(),
        seq,
        spec.max_horizon,
    );
    let pred = train::predict(&fitted.weights, &w.x, w.len(), seq, Device::Cpu);
    let (mut sse, mut n) = (0f64, 0f64);
    for ((p, y), m) in pred.iter().zip(&w.y).zip(&w.mask) {
        if *m > 0.0 {
            sse += f64::from((p - y) * (p - y));
            n += 1.0;
        }
    }
    let recomputed = sse / n;
    assert!(
        (recomputed - best).abs() <= 1e-6 * best.max(1e-6),
        "recomputed {recomputed} vs best {best} (last {})",
        h.val_loss.last().unwrap()
    );
    assert!(fitted.info().message.contains("early stopping"));
}

#[test]
fn save_load_gives_identical_forecasts() {
    let f = frame();
    let fitted = tiny_spec().fit_lstm(&data(&f)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fitted.save(dir.path()).unwrap();
    let loaded = FittedLstm::load(dir.path()).unwrap();
    assert_eq!(loaded, fitted);
    let hist = f.rows(0..170);
    let a = fitted
        .forecast(&hist, &FutureInputs::default(), 7, 0.9)
        .unwrap();
    let b = loaded
        .forecast(&hist, &FutureInputs::default(), 7, 0.9)
        .unwrap();
    assert_eq!(a, b);
    assert!(a.lower.iter().zip(&a.mean).all(|(l, m)| l < m));
    // Batched origins equal one forecast per origin.
    let origins = [150, 160, 169];
    let many = loaded
        .forecast_origins(&f, &origins, &|_| FutureInputs::default(), 5, 0.8)
        .unwrap();
    for (o, fc) in origins.iter().zip(&many) {
        let one = loaded
            .forecast(&f.rows(0..o + 1), &FutureInputs::default(), 5, 0.8)
            .unwrap();
        assert_eq!(&one, fc);
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let f = frame();
    let fitted = tiny_spec().fit_lstm(&data(&f)).unwrap();
    let err = fitted
        .forecast(&f, &FutureInputs::default(), 8, 0.9)
        .unwrap_err();
    assert!(matches!(err, ModelError::BadInput(_)));
    assert!(err.to_string().contains("lstm.max_horizon"), "{err}");
    let err = fitted
        .forecast(&f.rows(0..5), &FutureInputs::default(), 3, 0.9)
        .unwrap_err();
    assert!(err.to_string().contains("lstm.sequence_length"), "{err}");
    let err = LstmSpec {
        dropout: 1.5,
        ..tiny_spec()
    }
    .fit(&data(&f))
    .err()
    .unwrap();
    assert!(err.to_string().contains("lstm.dropout"), "{err}");
    let no_val = FitData {
        val_end: None,
        ..data(&f)
    };
    assert!(tiny_spec().fit(&no_val).is_err());
    let err = LstmSpec {
        sequence_length: 150,
        ..tiny_spec()
    }
    .fit(&data(&f))
    .err()
    .unwrap();
    assert!(err.to_string().contains("lstm.sequence_length"), "{err}");
    // `lstm.device: cuda` where libtorch sees no GPU (CI, this machine) is refused by name;
    // with a GPU it trains there.
    let on_cuda = LstmSpec {
        device: LstmDevice::Cuda,
        ..tiny_spec()
    }
    .fit_lstm(&data(&f));
    if tch::Cuda::is_available() {
        assert!(on_cuda.is_ok());
    } else {
        let err = on_cuda.err().unwrap().to_string();
        assert!(err.contains("lstm.device is cuda"), "{err}");
    }
}

/// Split-conformal coverage on held-out windows reaches the nominal level within sampling
/// error. The synthetic series has i.i.d. noise, so residuals are close to exchangeable.
#[test]
fn conformal_intervals_reach_nominal_coverage() {
    let f = synthetic_frame(700, 12, 0.05, 11);
    let spec = LstmSpec {
        learning_rate: 0.01,
        dropout: 0.0,
        max_epochs: 30,
        patience: 5,
        sequence_length: 14,
        max_horizon: 3,
        ..tiny_spec()
    };
    // A large validation split gives a precise calibration set; test on the rest.
    let d = FitData {
        frame: &f,
        train_end: 300,
        val_end: Some(500),
    };
    let fitted = spec.fit_lstm(&d).unwrap();
    let origins: Vec<usize> = (500..697).collect();
    let target = f.target();
    let mut seen = Vec::new();
    for level in [0.8, 0.9] {
        let fcs = fitted
            .forecast_origins(&f, &origins, &|_| FutureInputs::default(), 3, level)
            .unwrap();
        let (mut hit, mut n) = (0usize, 0usize);
        for (o, fc) in origins.iter().zip(&fcs) {
            for s in 0..3 {
                let y = target[o + 1 + s];
                hit += usize::from(fc.lower[s] <= y && y <= fc.upper[s]);
                n += 1;
            }
        }
        let cov = hit as f64 / n as f64;
        // Steps overlap across origins, so use a generous 4 binomial standard errors of the
        // per-origin count (197 origins).
        let se = (level * (1.0 - level) / origins.len() as f64).sqrt();
        assert!(
            (cov - level).abs() < 4.0 * se,
            "level {level}: coverage {cov:.3} (se {se:.3})"
        );
        let width: f64 = fcs.iter().map(|f| f.upper[0] - f.lower[0]).sum();
        seen.push((cov, width));
    }
    // The band is built for the level asked: a wider level covers more and is wider (the
    // tolerance above alone would let one level's band pass for the other).
    assert!(seen[0].0 < seen[1].0, "coverage {seen:?}");
    assert!(seen[0].1 < seen[1].1, "width {seen:?}");
}

#[test]
fn plugs_into_the_model_interface() {
    let f = frame();
    let spec: Box<dyn Forecaster> = Box::new(tiny_spec());
    assert_eq!(spec.family().as_str(), "lstm");
    assert!(!spec.refit_for_test());
    assert_eq!(spec.params().len(), 13);
    assert!(spec.params().contains(&("device".into(), "cpu".into())));
    assert!(
        spec.params()
            .contains(&("known_drivers".into(), String::new()))
    );
    let fitted = spec.fit(&data(&f)).unwrap();
    let hist = fitted.metric_history();
    assert_eq!(hist[0].0, "train_loss");
    assert_eq!(hist[1].0, "val_loss");
    assert_eq!(hist[0].1.len(), fitted.info().iterations);
}

#[test]
fn default_config_gives_the_reference_grid() {
    use adsales_lstm::LstmGrid;
    let cfg = adsales::config::LstmConfig::default();
    let grid = LstmGrid::from_config(&cfg, 42);
    assert_eq!(grid, LstmGrid::default());
    let specs = grid.specs();
    assert_eq!(specs.len(), 8);
    assert_eq!(specs[0], LstmSpec::default());
    assert!(specs.iter().all(|s| s.check().is_ok()));
}
