//! `adsales train`: data → features → split/scale → families → selection (protocol §1–§6).
//!
//! Every family runs the same protocol (§4): each grid point is fitted on train and judged on
//! validation by the rolling-origin backtest; the family's best point by validation RMSE is
//! judged on test (refitted on train + val where the family refits); the winner across
//! families is the lowest test RMSE, ties going to the simpler family.
//!
//! [`train_series`] is that protocol for one daily series; [`run`] is the command around it
//! (outputs, tracking, registration). `grid` evaluates, `bundle` writes model bundles,
//! `report` renders, `runlog` tracks the run tree.

mod bundle;
mod combine;
pub mod grid;
pub mod report;
pub mod runlog;
pub mod segments;

use std::time::Instant;

use anyhow::{Context, Result};
use tracing::{info, warn};

use self::grid::{EvalContext, FamilyResult, select_winner};
use self::runlog::{LoggedBest, Registration, TrainTracking};
use crate::cmd::interrupt;
use crate::config::Config;
use crate::data::pipeline::{self, DataStages};
use crate::models::{Family, family};
use crate::store::tracking::{Batch, RunStatus};

pub use self::report::{leaderboard, leaderboard_csv};

/// `adsales train`'s arguments.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: super::ConfigArg,
    /// Do not log anything to MLflow (and so do not register).
    #[arg(long)]
    pub no_track: bool,
    /// Log runs but do not register the winner or move the alias.
    #[arg(long)]
    pub no_register: bool,
}

impl TrainArgs {
    pub fn options(&self, g: super::Global) -> TrainOptions {
        TrainOptions {
            track: !self.no_track,
            register: !self.no_track && !self.no_register,
            progress: !g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Reads the config, trains and prints the summary.
    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let opts = self.options(g);
        if let Some(seg) = &cfg.segments {
            let report = segments::run(&cfg, seg, &opts)?;
            std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                segments::summary(&report, &opts).as_bytes(),
            )?;
            return Ok(());
        }
        let report = run(&cfg, &opts)?;
        std::io::Write::write_all(
            &mut std::io::stdout().lock(),
            report::summary(&report, &opts).as_bytes(),
        )?;
        Ok(())
    }
}

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

/// One series' families and their winner.
pub struct SeriesResult {
    pub families: Vec<FamilyResult>,
    /// Index into `families` of the winner (lowest test RMSE).
    pub winner: usize,
    /// Seconds spent forecasting the future drivers at every origin.
    pub exog_seconds: f64,
}

/// Runs every configured family (and the seasonal-naive baseline, always) on one prepared
/// series and selects the winner. `on_family` sees each family's result as soon as its grid
/// is done (tracking logs it there).
pub fn train_series(
    cfg: &Config,
    stages: &DataStages,
    progress: bool,
    on_family: &mut dyn FnMut(&FamilyResult) -> Result<()>,
) -> Result<SeriesResult> {
    let t_exog = Instant::now();
    let ctx = EvalContext::new(cfg, stages)?;
    let exog_seconds = t_exog.elapsed().as_secs_f64();
    let mut order = cfg.families.clone();
    // The baseline is always evaluated and reported (protocol §4).
    if !order.contains(&Family::SeasonalNaive) {
        order.insert(0, Family::SeasonalNaive);
    }
    // The combination averages the others' bests, so it runs last wherever it is listed.
    if order.contains(&Family::Combination) {
        order.retain(|f| *f != Family::Combination);
        order.push(Family::Combination);
    }
    let mut families = Vec::new();
    for fam in order {
        let result = if fam == Family::Combination {
            ctx.run_combination(&families)
        } else {
            let model_family = family::get(fam)?;
            let specs = model_family.specs(&cfg.models)?;
            let bar = progress_bar(progress, fam, specs.len());
            let _guard = model_family.grid_guard();
            let result = ctx.run_family(fam, &specs, &bar);
            bar.finish_and_clear();
            result
        };
        match result.best_point() {
            Some(p) => {
                info!(family = fam.as_str(), best = %p.spec, seconds = result.seconds, "family done")
            }
            None => warn!(family = fam.as_str(), "every grid point failed"),
        }
        on_family(&result)?;
        families.push(result);
    }
    let winner = select_winner(&families).ok_or_else(|| {
        anyhow::anyhow!("no family produced a test evaluation; see the warnings above")
    })?;
    info!(winner = %families[winner].best_point().map(|p| p.spec.as_str()).unwrap_or(""), "selection by test RMSE");
    Ok(SeriesResult {
        families,
        winner,
        exog_seconds,
    })
}

/// Runs the whole train command: tracking (unless disabled) opens first, so an unreachable
/// server fails before any training; on any failure every open run is marked FAILED.
pub fn run(cfg: &Config, opts: &TrainOptions) -> Result<TrainReport> {
    let t_start = Instant::now();
    // A family that cannot run here (not installed, no GPU for `lstm.device: cuda`) fails
    // before anything is read or tracked; for the lstm family outside `adsales-torch` this
    // is the error that hands the command over.
    for &f in &cfg.families {
        family::get(f)?
            .check(&cfg.models)
            .map_err(crate::util::error::InputError::new)?;
    }
    // Bad data is the user's to fix before anything is tracked: validating it first (tens of
    // milliseconds, no writes) keeps failed runs out of MLflow for a typo in a CSV.
    let stages = pipeline::run_data_stages(&cfg.series())?;
    let tracking = if opts.track {
        Some(TrainTracking::start(cfg)?)
    } else {
        info!("tracking disabled (--no-track)");
        None
    };
    let res = run_tracked(cfg, opts, tracking.as_deref(), stages, t_start);
    if let Some(t) = &tracking {
        interrupt::set_active(None);
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
    bundle::write_outputs(cfg, &stages)?;
    let data_sha = crate::store::bundle::sha256_file(&cfg.paths.raw_data)
        .with_context(|| format!("hashing {}", cfg.paths.raw_data.display()))?;
    if let Some(t) = tracking {
        t.log_dataset(&cfg.paths.raw_data, &data_sha, stages.daily.raw_rows)?;
    }
    let mut logged_best: Vec<Option<LoggedBest>> = Vec::new();
    let mut tracking_seconds = 0.0;
    let series = train_series(cfg, &stages, opts.progress, &mut |result| {
        let t_log = Instant::now();
        let best = match tracking {
            Some(t) => t.log_family(result, &|dir, run_id| {
                bundle::write_family_bundle(cfg, &stages, result, &data_sha, dir, Some(run_id))
            })?,
            None => None,
        };
        tracking_seconds += t_log.elapsed().as_secs_f64();
        logged_best.push(best);
        Ok(())
    })?;
    let winner = series.winner;
    let mut report = TrainReport {
        stages,
        families: series.families,
        winner: Some(winner),
        registration: None,
        timings: Vec::new(),
    };
    let mut artifacts = report::write_plots(cfg, &report)?;
    let board = cfg.paths.artifacts_dir.join("leaderboard.csv");
    crate::util::fsutil::write_atomic(&board, leaderboard_csv(&report).as_bytes())
        .with_context(|| format!("writing {}", board.display()))?;
    artifacts.push(board);

    if let Some(t) = tracking {
        let t_reg = Instant::now();
        if opts.register {
            let best = logged_best[winner].as_ref().ok_or_else(|| {
                anyhow::anyhow!("the winner's bundle was not uploaded; nothing to register")
            })?;
            let tags = version_tags(&report.families[winner], &data_sha);
            report.registration = Some(t.register(cfg, best, tags)?);
        } else {
            info!("registration skipped (--no-register)");
        }
        tracking_seconds += t_reg.elapsed().as_secs_f64();
    }
    report.timings = timings(&report, series.exog_seconds, tracking_seconds, t_start);
    if let Some(t) = tracking {
        t.log_train_summary(&summary_batch(&report, winner), &artifacts)?;
    }
    Ok(report)
}

/// The tags of the registered version: what won, how well, on which data.
fn version_tags(w: &FamilyResult, data_sha: &str) -> Vec<(String, String)> {
    use crate::store::tracking::tags;
    let p = w.best_point().expect("winner has a best point");
    let test = w.test.as_ref().expect("winner tested");
    let mut out = vec![
        (tags::FAMILY.to_string(), w.family.as_str().to_string()),
        (tags::SPEC.to_string(), p.spec.clone()),
        (
            tags::TEST_RMSE.to_string(),
            format!("{}", test.metrics.rmse),
        ),
        (
            tags::TEST_MAPE.to_string(),
            format!("{}", test.metrics.mape),
        ),
        (tags::DATA_SHA256.to_string(), data_sha.to_string()),
    ];
    if let Some(v) = &p.val {
        out.push((tags::VAL_RMSE.to_string(), format!("{}", v.metrics.rmse)));
    }
    out
}

/// Seconds per stage, in pipeline order.
fn timings(
    report: &TrainReport,
    exog_seconds: f64,
    tracking_seconds: f64,
    t_start: Instant,
) -> Vec<(String, f64)> {
    let [d, f, s] = report.stages.timings;
    let mut out = vec![
        ("data".to_string(), d),
        ("features".to_string(), f),
        ("split_scale".to_string(), s),
        ("exog_forecasts".to_string(), exog_seconds),
    ];
    for fam in &report.families {
        out.push((format!("family_{}", fam.family.as_str()), fam.seconds));
    }
    out.push(("tracking".to_string(), tracking_seconds));
    out.push(("total".to_string(), t_start.elapsed().as_secs_f64()));
    out
}

/// The train run's closing params, metrics and tags.
fn summary_batch(report: &TrainReport, winner: usize) -> Batch {
    let w = &report.families[winner];
    let mut b = Batch::new()
        .param("winner_family", w.family.as_str())
        .param(
            "winner_spec",
            w.best_point().map(|p| p.spec.clone()).unwrap_or_default(),
        );
    // Headline metrics on the train run itself, so trains compare in MLflow's run list
    // without opening their child runs.
    if let Some(v) = w.best_point().and_then(|p| p.val.as_ref()) {
        b = b.metric("winner_val_rmse", v.metrics.rmse, 0);
    }
    if let Some(t) = &w.test {
        b = b.metric("winner_test_rmse", t.metrics.rmse, 0).metric(
            "winner_test_coverage",
            t.metrics.coverage,
            0,
        );
    }
    for (k, v) in &report.timings {
        b = b.metric(format!("time_{k}_s"), *v, 0);
    }
    if let Some(r) = &report.registration {
        b = b.tag(
            crate::store::tracking::tags::REGISTERED_VERSION,
            r.version.clone(),
        );
    }
    b
}
