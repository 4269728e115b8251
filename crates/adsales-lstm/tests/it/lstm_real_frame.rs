//! The LSTM on the real processed frame (config.yaml's bundled data through the pipeline):
//! fits, forecasts every test origin with the window ending there, and does so reproducibly.

use adsales::models::{FitData, FittedForecaster, FutureInputs};
use adsales_lstm::{LstmGrid, LstmSpec};

#[test]
fn fits_and_backtests_on_the_processed_frame() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let cfg = adsales::config::Config::load(&root.join("config.yaml")).unwrap();
    let stages = adsales::data::pipeline::run_data_stages(&cfg.series()).unwrap();
    let p = &stages.prepared;
    // The configured grid's first point, made small so the test stays quick.
    let spec = LstmSpec {
        hidden_size: 16,
        max_epochs: 4,
        ..LstmGrid::from_config(&cfg.models.lstm, cfg.seed).specs()[0].clone()
    };
    let data = FitData {
        frame: &p.scaled,
        train_end: p.split.train_end,
        val_end: Some(p.split.val_end),
    };
    let a = spec.fit_lstm(&data).unwrap();
    let b = spec.fit_lstm(&data).unwrap();
    assert_eq!(a, b);
    let h = cfg.forecast_days;
    // The configured known drivers (ad_spend and the events) are read on the forecast days:
    // their actual values, carried forward past the last row, as the backtest gives them.
    assert!(
        spec.known.contains(&"ad_spend".to_string()),
        "{:?}",
        spec.known
    );
    let n = p.scaled.len();
    let future = |o: usize| FutureInputs {
        exog: spec
            .known
            .iter()
            .map(|name| {
                let col = p.scaled.col(name).unwrap();
                (
                    name.clone(),
                    (1..=h).map(|s| col[(o + s).min(n - 1)]).collect(),
                )
            })
            .collect(),
    };
    let origins: Vec<usize> = (p.split.val_end - 1..n - 1).collect();
    let fcs = a
        .forecast_origins(&p.scaled, &origins, &future, h, cfg.interval_level)
        .unwrap();
    assert_eq!(fcs.len(), origins.len());
    for f in &fcs {
        assert_eq!(f.mean.len(), h);
        assert!(f.mean.iter().all(|v| v.is_finite()));
        assert!(f.lower.iter().zip(&f.upper).all(|(l, u)| l <= u));
    }
    // Each origin's forecast is the one made from the history ending there, and no later row.
    for k in [0, origins.len() / 2, origins.len() - 1] {
        let o = origins[k];
        let alone = a
            .forecast(&p.scaled.rows(0..o + 1), &future(o), h, cfg.interval_level)
            .unwrap();
        assert_eq!(fcs[k], alone, "origin {o}");
    }
}
