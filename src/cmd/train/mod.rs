//! `adsales train`: data → features → split/scale → families → selection.
//!
//! Every family runs the same protocol (§4): each grid point is fitted on train and judged on
//! validation by the rolling-origin backtest; the family's best point by validation RMSE is
//! judged on test (refitted on train + val where the family refits); the winner across
//! families is the lowest test RMSE, ties going to the simpler family.

pub mod runlog;

use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use crate::cmd::train::runlog::{LoggedBest, Registration, TrainTracking};
use crate::config::{Config, Family};
use crate::data::pipeline::{self, DataStages};
use crate::eval::backtest::{self, Evaluation};
use crate::eval::exog::{FutureTable, WEEK};
use crate::eval::metrics::seasonal_naive_mae;
use crate::models::{FitData, FitInfo, FittedForecaster, Forecaster, ModelError};
use crate::store::modelio::{self, FeatureSpec};
use crate::store::tracking::RunStatus;

/// Options from the command line.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Log runs to MLflow (`--no-track` turns it off).
    pub track: bool,
    /// Register the winner and move the alias (`--no-register` turns it off).
    pub register: bool,
    /// Draw progress bars (on a terminal, without `-q`).
    pub progress: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            track: true,
            register: true,
            progress: false,
        }
    }
}

/// One grid point's validation result.
#[derive(Serialize)]
pub struct PointResult {
    pub spec: String,
    pub params: Vec<(String, String)>,
    pub fit_seconds: f64,
    pub info: Option<FitInfo>,
    pub val: Option<Evaluation>,
    /// The error, when fitting or evaluating failed.
    pub error: Option<String>,
    #[serde(skip)]
    pub fitted: Option<Box<dyn FittedForecaster>>,
}

/// One family's grid, its best point and that point's test evaluation.
#[derive(Serialize)]
pub struct FamilyResult {
    pub family: Family,
    pub points: Vec<PointResult>,
    /// Index into `points` of the lowest validation RMSE.
    pub best: Option<usize>,
    pub test: Option<Evaluation>,
    #[serde(skip)]
    pub test_model: Option<Box<dyn FittedForecaster>>,
    pub seconds: f64,
}

impl FamilyResult {
    pub fn best_point(&self) -> Option<&PointResult> {
        self.best.map(|i| &self.points[i])
    }
}

/// What a train produced.
pub struct TrainReport {
    pub stages: DataStages,
    pub families: Vec<FamilyResult>,
    /// Index into `families` of the winner (lowest test RMSE).
    pub winner: Option<usize>,
    /// The registered version, when registration ran.
    pub registration: Option<Registration>,
    /// Seconds per stage, in pipeline order.
    pub timings: Vec<(String, f64)>,
}

/// Shared, model-independent inputs of every evaluation.
pub struct EvalContext<'a> {
    pub cfg: &'a Config,
    pub stages: &'a DataStages,
    pub val_future: FutureTable,
    pub test_future: FutureTable,
    pub val_scale: f64,
    pub test_scale: f64,
}

impl<'a> EvalContext<'a> {
    pub fn new(cfg: &'a Config, stages: &'a DataStages) -> Result<EvalContext<'a>> {
        let prep = &stages.prepared;
        let s = prep.split;
        let h = cfg.forecast_days;
        let t0 = Instant::now();
        let val_origins = backtest::origins(&(s.train_end..s.val_end));
        let test_origins = backtest::origins(&(s.val_end..s.n));
        // Only SARIMAX reads future exog values, and only its own columns: forecasting any
        // other driver at every origin would be wasted work.
        let exog: Vec<crate::config::Exog> = if cfg.families.contains(&Family::Sarimax) {
            cfg.data
                .exog
                .iter()
                .filter(|e| cfg.sarimax.exog.contains(&e.name))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        crate::eval::exog::log_policies(&exog);
        let val_future = FutureTable::build(&prep.scaled, &exog, &val_origins, h)
            .context("forecasting exogenous columns at the validation origins")?;
        let test_future = FutureTable::build(&prep.scaled, &exog, &test_origins, h)
            .context("forecasting exogenous columns at the test origins")?;
        info!(
            seconds = t0.elapsed().as_secs_f64(),
            origins = val_origins.len() + test_origins.len(),
            "future exog inputs computed once per origin"
        );
        let y = prep.real.target();
        Ok(EvalContext {
            cfg,
            stages,
            val_future,
            test_future,
            val_scale: seasonal_naive_mae(&y[..s.train_end], WEEK),
            test_scale: seasonal_naive_mae(&y[..s.val_end], WEEK),
        })
    }

    fn evaluate(&self, model: &dyn FittedForecaster, test: bool) -> Result<Evaluation, ModelError> {
        let prep = &self.stages.prepared;
        let s = prep.split;
        let (segment, table, scale) = if test {
            (s.val_end..s.n, &self.test_future, self.test_scale)
        } else {
            (s.train_end..s.val_end, &self.val_future, self.val_scale)
        };
        backtest::evaluate(
            model,
            prep,
            segment,
            self.cfg.forecast_days,
            self.cfg.interval_level,
            &|o| table.get(o),
            scale,
        )
    }

    /// Fits one grid point on train and evaluates it on validation; errors are kept.
    pub fn run_point(&self, model: &dyn Forecaster, bar: &indicatif::ProgressBar) -> PointResult {
        let r = self.run_point_inner(model);
        bar.inc(1);
        r
    }

    fn run_point_inner(&self, model: &dyn Forecaster) -> PointResult {
        let prep = &self.stages.prepared;
        let t0 = Instant::now();
        let fitted = model.fit(&FitData {
            frame: &prep.scaled,
            train_end: prep.split.train_end,
            val_end: Some(prep.split.val_end),
        });
        let fit_seconds = t0.elapsed().as_secs_f64();
        let (val, info, fitted, error) = match fitted {
            Ok(f) => match self.evaluate(f.as_ref(), false) {
                Ok(ev) => (Some(ev), Some(f.info()), Some(f), None),
                Err(e) => (None, Some(f.info()), None, Some(e.to_string())),
            },
            Err(e) => (None, None, None, Some(e.to_string())),
        };
        if let Some(e) = &error {
            warn!(spec = %model.spec(), "grid point failed: {e}");
        }
        PointResult {
            spec: model.spec(),
            params: model.params(),
            fit_seconds,
            info,
            val,
            error,
            fitted,
        }
    }

    /// Runs a whole grid on all cores, picks the best point by validation RMSE and evaluates
    /// it on test.
    pub fn run_family(
        &self,
        family: Family,
        specs: &[Box<dyn Forecaster>],
        bar: &indicatif::ProgressBar,
    ) -> FamilyResult {
        let t0 = Instant::now();
        // Collecting a parallel iterator keeps grid order, so results do not depend on the
        // thread count.
        let mut points: Vec<PointResult> = specs
            .par_iter()
            .map(|m| self.run_point(m.as_ref(), bar))
            .collect();
        let best = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.val.as_ref().map(|v| (i, v.metrics.rmse)))
            .filter(|(_, r)| r.is_finite())
            // Strictly smaller wins, so ties keep the earlier (simpler) grid point.
            .fold(None, |acc: Option<(usize, f64)>, (i, r)| match acc {
                Some((_, br)) if br <= r => acc,
                _ => Some((i, r)),
            })
            .map(|(i, _)| i);
        let (mut test, mut test_model) = (None, None);
        if let Some(b) = best {
            let spec = &specs[b];
            let model = if spec.refit_for_test() {
                let prep = &self.stages.prepared;
                spec.fit(&FitData {
                    frame: &prep.scaled,
                    train_end: prep.split.val_end,
                    val_end: None,
                })
            } else {
                points[b]
                    .fitted
                    .take()
                    .ok_or_else(|| ModelError::BadInput("no fitted model".into()))
            };
            match model.and_then(|m| self.evaluate(m.as_ref(), true).map(|ev| (ev, m))) {
                Ok((ev, m)) => {
                    test = Some(ev);
                    test_model = Some(m);
                }
                Err(e) => {
                    warn!(spec = %spec.spec(), "test evaluation of the family's best point failed: {e}");
                    points[b].error = Some(format!("test evaluation failed: {e}"));
                }
            }
        }
        FamilyResult {
            family,
            points,
            best,
            test,
            test_model,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

/// A per-family bar (grid points done/total, ETA), hidden unless `show`.
fn progress_bar(show: bool, fam: Family, n: usize) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(
        Some(n as u64),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{prefix:>15} [{bar:30}] {pos}/{len} grid points, ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(fam.as_str());
    bar
}

/// The grid of a family as boxed specs, in grid order.
pub fn family_specs(family: Family, cfg: &Config) -> Result<Vec<Box<dyn Forecaster>>> {
    use crate::models::sarimax::{SarimaxForecaster, SarimaxSpec};
    use crate::models::{mstl::Mstl, naive::SeasonalNaive};
    let trend = |t: crate::config::Trend| {
        crate::models::sarimax::Trend::parse(t.as_str()).expect("config trends are valid")
    };
    Ok(match family {
        Family::SeasonalNaive => vec![Box::new(SeasonalNaive { period: WEEK })],
        Family::Mstl => vec![Box::new(Mstl { period: WEEK })],
        Family::Arima => {
            let g = &cfg.arima;
            let mut specs: Vec<Box<dyn Forecaster>> = Vec::new();
            for &p in &g.p {
                for &d in &g.d {
                    for &q in &g.q {
                        for &t in &g.trend {
                            // A constant with differencing is not identified (statsmodels'
                            // ARIMA refuses it too): only trend n with d > 0.
                            if d > 0 && t != crate::config::Trend::N {
                                continue;
                            }
                            specs.push(Box::new(SarimaxForecaster {
                                spec: SarimaxSpec::arima(
                                    p as usize,
                                    d as usize,
                                    q as usize,
                                    trend(t),
                                ),
                            }));
                        }
                    }
                }
            }
            specs
        }
        Family::Sarimax => {
            let g = &cfg.sarimax.param_grid;
            let mut specs: Vec<Box<dyn Forecaster>> = Vec::new();
            for o in &g.order {
                for so in &g.seasonal_order {
                    for &t in &g.trend {
                        let seasonal = if so[0] + so[1] + so[2] == 0 {
                            (0, 0, 0, 0)
                        } else {
                            (
                                so[0] as usize,
                                so[1] as usize,
                                so[2] as usize,
                                so[3] as usize,
                            )
                        };
                        specs.push(Box::new(SarimaxForecaster {
                            spec: SarimaxSpec {
                                order: (o[0] as usize, o[1] as usize, o[2] as usize),
                                seasonal,
                                trend: trend(t),
                                exog: cfg.sarimax.exog.clone(),
                                exact_diffuse: false,
                            },
                        }));
                    }
                }
            }
            specs
        }
        // `run` checked that the family is installed before anything was tracked.
        Family::Lstm => crate::models::torch::require()?.specs(&cfg.lstm, cfg.seed),
    })
}

/// Simplicity rank for tie-breaks across families (lower is simpler).
fn simplicity(f: Family) -> usize {
    match f {
        Family::SeasonalNaive => 0,
        Family::Arima => 1,
        Family::Mstl => 2,
        Family::Sarimax => 3,
        Family::Lstm => 4,
    }
}

/// Index of the lowest test RMSE; ties go to the simpler family.
pub fn select_winner(families: &[FamilyResult]) -> Option<usize> {
    families
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            f.test
                .as_ref()
                .map(|t| (i, t.metrics.rmse, simplicity(f.family)))
        })
        .filter(|(_, r, _)| r.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|(i, _, _)| i)
}

/// Runs the whole train command: tracking (unless disabled) opens first, so an unreachable
/// server fails before any training; on any failure every open run is marked FAILED.
pub fn run(cfg: &Config, opts: &TrainOptions) -> Result<TrainReport> {
    let t_start = Instant::now();
    if cfg.families.contains(&Family::Lstm) {
        crate::models::torch::require()?
            .check(&cfg.lstm)
            .map_err(crate::util::error::InputError::new)?;
    }
    // Bad data is the user's to fix before anything is tracked: validating it first (tens of
    // milliseconds, no writes) keeps failed runs out of MLflow for a typo in a CSV.
    let stages = pipeline::run_data_stages(cfg)?;
    let tracking = if opts.track {
        Some(TrainTracking::start(cfg)?)
    } else {
        info!("tracking disabled (--no-track)");
        None
    };
    let res = run_tracked(cfg, opts, tracking.as_deref(), stages, t_start);
    if let Some(t) = &tracking {
        crate::cmd::train::runlog::set_active(None);
        t.close(if res.is_ok() {
            RunStatus::Finished
        } else {
            RunStatus::Failed
        });
    }
    res
}

fn run_tracked(
    cfg: &Config,
    opts: &TrainOptions,
    tracking: Option<&TrainTracking>,
    stages: DataStages,
    t_start: Instant,
) -> Result<TrainReport> {
    pipeline::write_outputs(cfg, &stages)?;
    let data_sha = crate::store::bundle::sha256_file(&cfg.paths.raw_data)
        .with_context(|| format!("hashing {}", cfg.paths.raw_data.display()))?;
    if let Some(t) = tracking {
        t.log_dataset(&cfg.paths.raw_data, &data_sha, stages.daily.raw_rows)?;
    }
    let t_exog = Instant::now();
    let ctx = EvalContext::new(cfg, &stages)?;
    let exog_seconds = t_exog.elapsed().as_secs_f64();

    let mut order = cfg.families.clone();
    // The baseline is always evaluated and reported (protocol §4).
    if !order.contains(&Family::SeasonalNaive) {
        order.insert(0, Family::SeasonalNaive);
    }
    let mut families = Vec::new();
    let mut logged_best: Vec<Option<LoggedBest>> = Vec::new();
    let mut tracking_seconds = 0.0;
    for fam in order {
        let specs = family_specs(fam, cfg)?;
        let bar = progress_bar(opts.progress, fam, specs.len());
        // libtorch's thread count is process-wide: held at what the LSTM grid runs best with
        // (one intra-op thread per concurrent grid point) while that grid runs.
        let _threads = match fam {
            Family::Lstm => Some(crate::models::torch::require()?.grid_guard()),
            _ => None,
        };
        let result = ctx.run_family(fam, &specs, &bar);
        bar.finish_and_clear();
        match result.best_point() {
            Some(p) => {
                info!(family = fam.as_str(), best = %p.spec, seconds = result.seconds, "family done")
            }
            None => warn!(family = fam.as_str(), "every grid point failed"),
        }
        let t_log = Instant::now();
        let best = match tracking {
            Some(t) => t.log_family(&result, &|dir, run_id| {
                write_family_bundle(cfg, &stages, &result, &data_sha, dir, Some(run_id))
            })?,
            None => None,
        };
        tracking_seconds += t_log.elapsed().as_secs_f64();
        logged_best.push(best);
        families.push(result);
    }
    drop(ctx);
    let winner = select_winner(&families).ok_or_else(|| {
        anyhow::anyhow!("no family produced a test evaluation; see the warnings above")
    })?;
    info!(winner = %families[winner].best_point().map(|p| p.spec.as_str()).unwrap_or(""), "selection by test RMSE");

    let mut report = TrainReport {
        stages,
        families,
        winner: Some(winner),
        registration: None,
        timings: Vec::new(),
    };
    let mut artifacts = write_plots(cfg, &report)?;
    let board = cfg.paths.artifacts_dir.join("leaderboard.csv");
    crate::util::fsutil::write_atomic(&board, leaderboard_csv(&report).as_bytes())
        .with_context(|| format!("writing {}", board.display()))?;
    artifacts.push(board);

    if let Some(t) = tracking {
        let t_reg = Instant::now();
        if opts.register {
            let w = &report.families[winner];
            let best = logged_best[winner].as_ref().ok_or_else(|| {
                anyhow::anyhow!("the winner's bundle was not uploaded; nothing to register")
            })?;
            let (p, test) = (
                w.best_point().expect("winner has a best point"),
                w.test.as_ref().expect("winner tested"),
            );
            let mut tags = vec![
                ("family".to_string(), w.family.as_str().to_string()),
                ("spec".to_string(), p.spec.clone()),
                ("test_rmse".to_string(), format!("{}", test.metrics.rmse)),
                ("test_mape".to_string(), format!("{}", test.metrics.mape)),
                ("data_sha256".to_string(), data_sha.clone()),
            ];
            if let Some(v) = &p.val {
                tags.push(("val_rmse".to_string(), format!("{}", v.metrics.rmse)));
            }
            report.registration = Some(t.register(cfg, best, tags)?);
        } else {
            info!("registration skipped (--no-register)");
        }
        tracking_seconds += t_reg.elapsed().as_secs_f64();
    }
    let [d, f, s] = report.stages.timings;
    report.timings = vec![
        ("data".to_string(), d),
        ("features".to_string(), f),
        ("split_scale".to_string(), s),
        ("exog_forecasts".to_string(), exog_seconds),
    ];
    for fam in &report.families {
        report
            .timings
            .push((format!("family_{}", fam.family.as_str()), fam.seconds));
    }
    report
        .timings
        .push(("tracking".to_string(), tracking_seconds));
    report
        .timings
        .push(("total".to_string(), t_start.elapsed().as_secs_f64()));
    if let Some(t) = tracking {
        let mut b = crate::store::tracking::Batch::new()
            .param("winner_family", report.families[winner].family.as_str())
            .param(
                "winner_spec",
                report.families[winner]
                    .best_point()
                    .map(|p| p.spec.clone())
                    .unwrap_or_default(),
            );
        for (k, v) in &report.timings {
            b = b.metric(format!("time_{k}_s"), *v, 0);
        }
        if let Some(r) = &report.registration {
            b = b.tag("registered_version", r.version.clone());
        }
        t.log_train_summary(&b, &artifacts)?;
    }
    Ok(report)
}

/// Writes the bundle of a family's best (test) model into `dir`.
pub fn write_family_bundle(
    cfg: &Config,
    stages: &DataStages,
    f: &FamilyResult,
    data_sha: &str,
    dir: &std::path::Path,
    run_id: Option<&str>,
) -> Result<()> {
    let (Some(p), Some(model)) = (f.best_point(), f.test_model.as_ref()) else {
        anyhow::bail!("family {} has no tested model to bundle", f.family.as_str());
    };
    let prep = &stages.prepared;
    let spec = FeatureSpec::from_config(
        cfg,
        f.family.as_str(),
        &p.spec,
        &prep.scaled.names,
        data_sha,
    );
    let summary = serde_json::json!({
        "family": f.family.as_str(),
        "spec": p.spec,
        "params": p.params.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "val": p.val.as_ref().map(|v| &v.metrics),
        "test": f.test.as_ref().map(|t| &t.metrics),
        "test_rmse_by_step": f.test.as_ref().map(|t| &t.step_rmse),
        "last_date": stages.daily.dates.last().map(|d| d.to_string()),
    });
    modelio::write_bundle(
        dir,
        &spec,
        &prep.scaler,
        &stages.daily,
        model.as_ref(),
        &summary,
        run_id,
    )
    .with_context(|| format!("writing the bundle of {}", p.spec))?;
    Ok(())
}

/// The leaderboard as CSV (every family's best point).
pub fn leaderboard_csv(report: &TrainReport) -> String {
    let mut out = String::from(
        "winner,family,best_spec,val_rmse,test_rmse,test_mae,test_mape,test_r2,test_mase,test_coverage,seconds\n",
    );
    for (i, f) in report.families.iter().enumerate() {
        if let (Some(p), Some(t)) = (f.best_point(), &f.test) {
            let m = &t.metrics;
            out.push_str(&format!(
                "{},{},\"{}\",{},{},{},{},{},{},{},{}\n",
                Some(i) == report.winner,
                f.family.as_str(),
                p.spec.replace('"', "'"),
                p.val.as_ref().map(|v| v.metrics.rmse).unwrap_or(f64::NAN),
                m.rmse,
                m.mae,
                m.mape,
                m.r2,
                m.mase,
                m.coverage,
                f.seconds
            ));
        }
    }
    out
}

/// Writes the test-forecast and per-step RMSE charts (PNG and SVG) into the artifacts folder.
pub fn write_plots(cfg: &Config, report: &TrainReport) -> Result<Vec<std::path::PathBuf>> {
    use crate::util::plots::{self, Band};
    let prep = &report.stages.prepared;
    let real = &prep.real;
    let s = prep.split;
    let y = real.target();
    // Recent history before the test segment, then the test actuals.
    let from = s.val_end.saturating_sub(90);
    let history: Vec<_> = (from..s.n).map(|i| (real.dates[i], y[i])).collect();
    let mut bands = Vec::new();
    let mut steps = Vec::new();
    for f in &report.families {
        let (Some(p), Some(t)) = (f.best_point(), &f.test) else {
            continue;
        };
        // The 1-day-ahead forecast from every test origin, as one continuous line.
        let one = t.forecasts.iter().filter(|o| !o.mean.is_empty());
        bands.push(Band {
            name: format!("{} {}", f.family.as_str(), p.spec),
            dates: one.clone().map(|o| real.dates[o.origin + 1]).collect(),
            mean: one.clone().map(|o| o.mean[0]).collect(),
            lower: one.clone().map(|o| o.lower[0]).collect(),
            upper: one.map(|o| o.upper[0]).collect(),
        });
        steps.push((f.family.as_str().to_string(), t.step_rmse.clone()));
    }
    let dir = &cfg.paths.artifacts_dir;
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = dir.join(format!("test_forecast.{ext}"));
        plots::write_atomically(&path, |p| {
            plots::forecast_chart(
                p,
                "Test segment: 1-day-ahead rolling forecasts (95% bands)",
                &history,
                &bands,
            )
        })
        .map_err(anyhow::Error::msg)?;
        written.push(path);
        let path = dir.join(format!("step_rmse.{ext}"));
        plots::write_atomically(&path, |p| plots::step_rmse_chart(p, &steps))
            .map_err(anyhow::Error::msg)?;
        written.push(path);
    }
    Ok(written)
}

/// The leaderboard as a text table.
pub fn leaderboard(report: &TrainReport) -> String {
    let w = report
        .families
        .iter()
        .filter_map(|f| f.best_point().map(|p| p.spec.len()))
        .chain([9, 25])
        .max()
        .unwrap_or(25);
    let mut out = String::new();
    out.push_str(&format!(
        "{:<2}{:<15} {:<w$} {:>11} {:>11} {:>7} {:>6} {:>8}\n",
        "", "family", "best spec", "val RMSE", "test RMSE", "MAPE%", "MASE", "time s"
    ));
    for (i, f) in report.families.iter().enumerate() {
        let mark = if Some(i) == report.winner { "*" } else { "" };
        let failed = f.points.iter().filter(|p| p.val.is_none()).count();
        match (f.best_point(), &f.test) {
            (Some(p), Some(t)) => out.push_str(&format!(
                "{:<2}{:<15} {:<w$} {:>11.2} {:>11.2} {:>7.2} {:>6.3} {:>8.3}{}\n",
                mark,
                f.family.as_str(),
                p.spec,
                p.val.as_ref().map(|v| v.metrics.rmse).unwrap_or(f64::NAN),
                t.metrics.rmse,
                t.metrics.mape,
                t.metrics.mase,
                f.seconds,
                if failed > 0 {
                    format!("  ({failed} of {} grid points failed)", f.points.len())
                } else {
                    String::new()
                }
            )),
            _ => out.push_str(&format!(
                "{:<2}{:<15} {:<w$}\n",
                "",
                f.family.as_str(),
                format!("(all {} grid points failed)", f.points.len())
            )),
        }
    }
    out
}
