//! A family defined here, outside the crate, through the `ModelFamily` trait alone (the way
//! the libtorch `lstm` family plugs in): it trains, is judged by the same backtest, registers
//! and infers end to end. Its scores are checked against a hand computation of the same model
//! on the prepared frame, so a backtest or registry that skipped or misread it fails.
//!
//! Its own test binary, not a module of `tests/it`: it installs a family into the process's
//! registry and runs a tracked train in this process, which holds the process-wide Ctrl-C
//! state (`cmd::interrupt`) that `it::regression` checks is empty.

use std::path::Path;

use adsales::cmd::infer::{InferOptions, run as infer};
use adsales::cmd::train::{TrainOptions, run as train};
use adsales::config::Config;
use adsales::models::family::{ModelFamily, ModelsConfig, install};
use adsales::models::{
    Family, FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs,
    ModelError, load_json, save_json,
};

const ID: &str = "last_week_mean";
const WINDOW: usize = 7;

/// The forecast of every step is the mean of the last seven observed days.
struct LastWeekMean;

#[derive(serde::Serialize, serde::Deserialize)]
struct FittedLastWeekMean {
    sigma: f64,
}

fn mean_of_window(y: &[f64]) -> f64 {
    y[y.len() - WINDOW..].iter().sum::<f64>() / WINDOW as f64
}

impl Forecaster for LastWeekMean {
    fn family(&self) -> Family {
        Family::from_id(ID).expect("installed before use")
    }
    fn spec(&self) -> String {
        format!("LastWeekMean({WINDOW})")
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![("window".into(), WINDOW.to_string())]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let y = &data.frame.target()[..data.train_end];
        let errors: Vec<f64> = (WINDOW..y.len())
            .map(|t| y[t] - mean_of_window(&y[..t]))
            .collect();
        let sigma = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
        Ok(Box::new(FittedLastWeekMean { sigma }))
    }
}

impl FittedForecaster for FittedLastWeekMean {
    fn forecast(
        &self,
        history: &Frame,
        _future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let m = mean_of_window(history.target());
        let z = adsales::util::stats::z_for_level(level);
        Ok(Forecast {
            mean: vec![m; horizon],
            lower: vec![m - z * self.sigma; horizon],
            upper: vec![m + z * self.sigma; horizon],
            level,
        })
    }
    fn info(&self) -> FitInfo {
        FitInfo {
            converged: true,
            message: "closed form".into(),
            ..FitInfo::default()
        }
    }
    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        save_json(dir, "last_week_mean.json", self)
    }
}

struct LastWeekMeanFamily;
static FAMILY: LastWeekMeanFamily = LastWeekMeanFamily;

impl ModelFamily for LastWeekMeanFamily {
    fn id(&self) -> &'static str {
        ID
    }
    fn simplicity(&self) -> u32 {
        10
    }
    fn specs(&self, _cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        Ok(vec![Box::new(LastWeekMean)])
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let m: FittedLastWeekMean = load_json(dir, "last_week_mean.json")?;
        Ok(Box::new(m))
    }
}

/// RMSE of the last-week mean over every (origin, step) pair of `segment`, computed directly
/// on the real-unit target (protocol §4: origins a-1..b-2, steps inside the segment).
fn hand_rmse(y: &[f64], segment: std::ops::Range<usize>, horizon: usize) -> f64 {
    let (mut ss, mut n) = (0.0, 0usize);
    for o in segment.start - 1..segment.end - 1 {
        let f = mean_of_window(&y[..=o]);
        for actual in &y[o + 1..(o + 1 + horizon).min(segment.end)] {
            ss += (actual - f).powi(2);
            n += 1;
        }
    }
    (ss / n as f64).sqrt()
}

/// A project on the bundled data with `families` (our family installed), tracked in a local
/// store inside its folder.
fn project(families: &str) -> (tempfile::TempDir, Config) {
    install(&FAMILY);
    let dir = tempfile::tempdir().unwrap();
    let raw = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/raw/global_ads_performance_dataset.csv")
        .canonicalize()
        .unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "paths:\n  raw_data: {}\nfamilies: [{families}]\nmlflow:\n  tracking_uri: mlruns\n",
            raw.display()
        ),
    )
    .unwrap();
    let cfg = Config::load(&config).unwrap();
    (dir, cfg)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn a_family_from_outside_the_crate_trains_registers_and_infers() {
    let (_dir, cfg) = project(ID);
    assert_eq!(cfg.families, vec![Family::Installed(ID)]);

    let report = train(&cfg, &TrainOptions::default()).unwrap();
    // The baseline runs too; the plug-in family is judged by the same backtest.
    let names: Vec<&str> = report.families.iter().map(|f| f.family.as_str()).collect();
    assert_eq!(names, ["seasonal_naive", ID]);
    let ours = &report.families[1];
    let prep = &report.stages.prepared;
    let (s, y, h) = (prep.split, prep.real.target(), cfg.forecast_days);
    let val = ours.best_point().unwrap().val.as_ref().unwrap();
    assert!(close(
        val.metrics.rmse,
        hand_rmse(y, s.train_end..s.val_end, h)
    ));
    let test = ours.test.as_ref().unwrap();
    assert!(close(test.metrics.rmse, hand_rmse(y, s.val_end..s.n, h)));
    // On this data a weekly mean beats last week's values: the plug-in wins and registers.
    assert_eq!(report.families[report.winner.unwrap()].family.as_str(), ID);
    let reg = report.registration.as_ref().expect("registered");

    let got = infer(
        &cfg,
        &InferOptions {
            days: 3,
            model_uri: None,
            data: None,
            plan: None,
            level: 0.9,
        },
    )
    .unwrap();
    assert_eq!(got.model.family, ID);
    assert_eq!(got.model.version, reg.version);
    let expected = mean_of_window(y);
    assert_eq!(got.forecast.len(), 3);
    for row in &got.forecast {
        assert!(
            close(row.prediction, expected),
            "{} vs {expected}",
            row.prediction
        );
        assert!(row.lower < row.prediction && row.prediction < row.upper);
    }
}

/// RMSE over `segment` of the mean of the seasonal naive and the last-week mean: the
/// combination of the two families, by hand.
fn hand_combination_rmse(y: &[f64], segment: std::ops::Range<usize>, horizon: usize) -> f64 {
    let (mut ss, mut n) = (0.0, 0usize);
    for o in segment.start - 1..segment.end - 1 {
        let lwm = mean_of_window(&y[..=o]);
        for h in 1..=horizon.min(segment.end - 1 - o) {
            let naive = y[o + h - 7];
            ss += (y[o + h] - (naive + lwm) / 2.0).powi(2);
            n += 1;
        }
    }
    (ss / n as f64).sqrt()
}

/// Every file called `name` under `dir`.
fn find_files(dir: &Path, name: &str, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            find_files(&p, name, out);
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
}

#[test]
fn the_combination_averages_the_family_bests_and_its_bundle_forecasts_their_mean() {
    let (dir, cfg) = project(&format!("combination, {ID}"));
    let report = train(
        &cfg,
        &TrainOptions {
            register: false,
            ..TrainOptions::default()
        },
    )
    .unwrap();
    // Listed first, run last: it needs the others' bests.
    let names: Vec<&str> = report.families.iter().map(|f| f.family.as_str()).collect();
    assert_eq!(names, ["seasonal_naive", ID, "combination"]);
    let comb = &report.families[2];
    assert_eq!(comb.points.len(), 1, "two members: one grid point (k = 2)");
    let p = comb.best_point().unwrap();
    assert!(
        p.spec.starts_with("Mean(") && p.spec.contains(ID) && p.spec.contains("seasonal_naive")
    );
    let prep = &report.stages.prepared;
    let (s, y, h) = (prep.split, prep.real.target(), cfg.forecast_days);
    let val = p.val.as_ref().unwrap().metrics.rmse;
    let want = hand_combination_rmse(y, s.train_end..s.val_end, h);
    assert!(close(val, want), "{val} vs {want}");
    let test = comb.test.as_ref().unwrap().metrics.rmse;
    let want = hand_combination_rmse(y, s.val_end..s.n, h);
    assert!(close(test, want), "{test} vs {want}");

    // Its bundle, as logged: two members in folders of their own, and a forecast that is the
    // mean of the members' forecasts from the last day.
    let mut found = Vec::new();
    find_files(&dir.path().join("mlruns"), "combination.json", &mut found);
    // The run's copy (its logged model under `models/m-…` holds the same bundle).
    found.retain(|f| !f.to_string_lossy().contains("/models/m-"));
    assert_eq!(found.len(), 1, "{found:?}");
    let bundle = found[0].parent().unwrap();
    let model = adsales::store::modelio::load_bundle(bundle).unwrap();
    let v = adsales::inference::registry::ModelVersion {
        info: adsales::inference::registry::ModelInfo {
            name: "n".into(),
            version: "1".into(),
            alias: None,
            family: "combination".into(),
            spec: p.spec.clone(),
            run_id: None,
        },
        model,
    };
    let got = adsales::inference::forecast(
        &v,
        &adsales::inference::Request {
            newer: None,
            plan: None,
            days: 3,
            level: 0.9,
        },
    )
    .unwrap();
    let n = y.len();
    let lwm = mean_of_window(y);
    for (i, row) in got.forecast.iter().enumerate() {
        let want = (y[n + i - 7] + lwm) / 2.0;
        assert!(close(row.prediction, want), "{} vs {want}", row.prediction);
        assert!(row.lower < row.prediction && row.prediction < row.upper);
    }
}
