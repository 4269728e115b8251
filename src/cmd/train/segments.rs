//! `adsales train` with `segments:` (issue 15): every node of the structure is one daily
//! series trained by [`super::train_series`] (same protocol, same driver policies, the node's
//! own drivers; its base is the family best by validation), then every origin of the validation and test backtests is reconciled, the
//! method chosen on validation, and the reconciled test forecasts' intervals calibrated on
//! the reconciled validation errors (protocol §4.4), so nothing after validation chooses or
//! calibrates anything.
//!
//! Not built yet, and said so by the command: registering the reconciled model, inference per
//! segment and budget scenarios.

use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use nalgebra::DMatrix;
use rayon::prelude::*;
use tracing::{info, warn};

use super::TrainOptions;
use crate::config::Config;
use crate::data::pipeline::{self, DataStages};
use crate::data::segments::{self, ReconcileChoice, Segments};
use crate::eval::backtest::Evaluation;
use crate::eval::hierarchy;
use crate::eval::metrics::seasonal_naive_mae;
use crate::eval::{calibration, exog::WEEK};
use crate::models::reconcile::{METHODS, Method, Structure};
use crate::store::tracking::{Batch, RunStatus};

/// One node's trained series: its winner's validation and test backtests.
pub struct NodeResult {
    pub id: String,
    pub level: usize,
    pub family: String,
    pub spec: String,
    pub val: Evaluation,
    pub test: Evaluation,
    /// The real-unit target, indexed like the backtests' origins.
    pub actual: Vec<f64>,
    pub zero_days: usize,
    pub seconds: f64,
    /// One-step in-sample (actual, fitted) before validation (the train fit) and before test
    /// (the train + val refit), for the residual-based MinTrace methods.
    pub insample_val: Option<Insample>,
    pub insample_test: Option<Insample>,
}

/// One node's in-sample (actual, fitted) one-step values.
pub type Insample = (Vec<f64>, Vec<f64>);

/// The nodes' in-sample (actual, fitted) matrices, when every node has them over the same days.
fn residual_matrices(
    nodes: &[NodeResult],
    pick: fn(&NodeResult) -> &Option<Insample>,
) -> Option<(DMatrix<f64>, DMatrix<f64>)> {
    let all: Vec<&Insample> = nodes
        .iter()
        .map(|n| pick(n).as_ref())
        .collect::<Option<_>>()?;
    let t = all.first()?.0.len();
    if all.iter().any(|a| a.0.len() != t) {
        return None;
    }
    let n = all.len();
    Some((
        DMatrix::from_fn(n, t, |i, j| all[i].0[j]),
        DMatrix::from_fn(n, t, |i, j| all[i].1[j]),
    ))
}

/// One level's test figures.
pub struct LevelResult {
    pub name: String,
    pub nodes: usize,
    pub base_rmse: f64,
    pub reconciled_rmse: f64,
    pub base_coverage: f64,
    pub reconciled_coverage: f64,
}

pub struct SegmentsReport {
    pub nodes: Vec<NodeResult>,
    pub method: Method,
    /// Validation score of every method tried (mean over levels of reconciled / base RMSE).
    pub tried: Vec<(Method, f64)>,
    pub levels: Vec<LevelResult>,
    /// Reconciled test backtests, in node order, intervals calibrated.
    pub reconciled: Vec<Evaluation>,
    pub incoherence: f64,
    pub seconds: f64,
    pub tracked: Option<String>,
}

fn method_name(m: Method) -> &'static str {
    METHODS
        .iter()
        .find(|(_, x)| *x == m)
        .map(|(n, _)| *n)
        .expect("every method is named")
}

/// The config each node trains with: the segment families, and no percent-change features
/// (a segment with a zero day has ±inf changes; no family reads them).
fn node_config(cfg: &Config, seg: &Segments) -> Config {
    let mut c = cfg.clone();
    c.families = seg.families.clone();
    c.features.pct_change_columns.clear();
    c
}

/// Trains every node and reconciles. Tracking, when on, is one train run with per-level
/// metrics and the tables as artifacts (not a run per node).
pub fn run(cfg: &Config, seg: &Segments, opts: &TrainOptions) -> Result<SegmentsReport> {
    let t0 = Instant::now();
    for &f in &seg.families {
        crate::models::family::get(f)?
            .check(&cfg.models)
            .map_err(crate::util::error::InputError::new)?;
    }
    let total = crate::data::load(&cfg.paths.raw_data, &cfg.data)?;
    let data = segments::load(&cfg.paths.raw_data, &cfg.data, seg, &total)?;
    info!(
        nodes = data.nodes.len(),
        bottom = data.structure.n_bottom(),
        levels = seg.levels.len(),
        strict = data.structure.parents().is_some(),
        "segments built"
    );
    if let ReconcileChoice::Fixed(m) = seg.reconcile
        && m.top_down()
        && !hierarchy::top_down_fits(&data.structure)
    {
        return Err(crate::util::error::InputError::new(format!(
            "config file {}: key `segments.reconcile`: {} needs a strict hierarchy under one \
             total (levels starting with []); these levels are grouped (a node has two \
             parents) or have no total; use bottom_up or min_trace:*",
            cfg.source.display(),
            method_name(m)
        ))
        .into());
    }
    let tracking = if opts.track {
        Some(super::runlog::TrainTracking::start(cfg)?)
    } else {
        None
    };
    let res = train_and_reconcile(cfg, seg, data, tracking.as_deref(), t0);
    if let Some(t) = &tracking {
        crate::cmd::interrupt::set_active(None);
        t.close(if res.is_ok() {
            RunStatus::Finished
        } else {
            RunStatus::Failed
        });
    }
    res
}

fn train_and_reconcile(
    cfg: &Config,
    seg: &Segments,
    data: segments::SegmentedData,
    tracking: Option<&super::runlog::TrainTracking>,
    t0: Instant,
) -> Result<SegmentsReport> {
    let ncfg = node_config(cfg, seg);
    let mut prepared = Vec::with_capacity(data.nodes.len());
    let mut split = None;
    for (node, daily) in data.nodes.iter().zip(data.dailies) {
        let zero_days = segments::zero_days(&daily);
        let stages = pipeline::stages_from_daily(&ncfg.series(), daily, Instant::now())
            .with_context(|| format!("segment `{}`", node.id))?;
        let s = stages.prepared.split;
        if *split.get_or_insert(s) != s {
            return Err(anyhow!(
                "segment `{}`: its split differs from the other segments'",
                node.id
            ));
        }
        prepared.push((node, stages, zero_days));
    }
    // Nodes train side by side: one node's grid leaves cores idle between its fits (118% of
    // two cores measured, one node at a time). Each node's result does not depend on the
    // others or on the threads, and the results keep node order.
    let nodes: Vec<NodeResult> = prepared
        .par_iter()
        .map(|(node, stages, zero_days)| {
            train_node(&ncfg, node, stages, *zero_days, Instant::now())
        })
        .collect::<Result<_>>()?;
    let split = split.ok_or_else(|| anyhow!("segments: no node to train"))?;
    let st = &data.structure;
    let levels: Vec<Vec<usize>> = (0..seg.levels.len())
        .map(|l| (0..nodes.len()).filter(|&i| nodes[i].level == l).collect())
        .collect();
    let actual: Vec<&[f64]> = nodes.iter().map(|n| n.actual.as_slice()).collect();
    let history = |end: usize| DMatrix::from_fn(nodes.len(), end, |i, t| nodes[i].actual[t]);

    // Choose on validation (histories up to the validation start only).
    let val_base: Vec<&Evaluation> = nodes.iter().map(|n| &n.val).collect();
    let hist_val = history(split.train_end);
    let res_val = residual_matrices(&nodes, |n| &n.insample_val);
    let res_test = residual_matrices(&nodes, |n| &n.insample_test);
    let rv = res_val
        .as_ref()
        .map(|(y, fitted)| hierarchy::Residuals { y, fitted });
    let rt = res_test
        .as_ref()
        .map(|(y, fitted)| hierarchy::Residuals { y, fitted });
    let with_residuals = rv.is_some() && rt.is_some();
    let methods = match seg.reconcile {
        ReconcileChoice::Auto => hierarchy::candidates(st, with_residuals),
        ReconcileChoice::Fixed(m) if m.needs_fitted() && !with_residuals => {
            return Err(anyhow!(
                "config file {}: key `segments.reconcile`: {} needs every node's in-sample \
                 one-step forecasts, and some node's model could not give them (fewer than 42 \
                 days before validation, or its family has no train fit); use another method",
                cfg.source.display(),
                method_name(m)
            ));
        }
        ReconcileChoice::Fixed(m) => vec![m],
    };
    let auto = seg.reconcile == ReconcileChoice::Auto;
    let mut scored: Vec<(Method, f64, Vec<Evaluation>)> = Vec::new();
    for m in methods {
        let rec = match hierarchy::reconcile_evaluations(
            st,
            &val_base,
            &hist_val,
            rv.as_ref(),
            m,
            seg.nonnegative,
        ) {
            Ok(r) => r,
            // A method that cannot run here (a singular covariance) is left out of the choice.
            Err(e) if auto => {
                warn!(method = method_name(m), "reconciliation left out: {e}");
                continue;
            }
            Err(e) => {
                return Err(anyhow!(
                    "config file {}: key `segments.reconcile`: {} cannot reconcile the \
                     validation forecasts here: {e}",
                    cfg.source.display(),
                    method_name(m)
                ));
            }
        };
        let refs: Vec<&Evaluation> = rec.iter().collect();
        let score = hierarchy::relative_score(&val_base, &refs, &actual, &levels);
        info!(
            method = method_name(m),
            score, "reconciliation on validation"
        );
        scored.push((m, score, rec));
    }
    // Every score in the order tried (for the report), then best first; stable, so equal
    // scores keep the simpler method.
    let tried: Vec<(Method, f64)> = scored.iter().map(|(m, s, _)| (*m, *s)).collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));

    // Test: the best method on validation reconciles test, its intervals calibrated on
    // validation. Its W is estimated again from the train + val refits, which can be singular
    // where validation's was not: then the next best method on validation is used.
    let test_base: Vec<&Evaluation> = nodes.iter().map(|n| &n.test).collect();
    let hist_test = history(split.val_end);
    let mut chosen = None;
    for (m, _, val_rec) in scored {
        match hierarchy::reconcile_evaluations(
            st,
            &test_base,
            &hist_test,
            rt.as_ref(),
            m,
            seg.nonnegative,
        ) {
            Ok(t) => {
                chosen = Some((m, val_rec, t));
                break;
            }
            Err(e) if auto => {
                warn!(
                    method = method_name(m),
                    "best on validation but cannot reconcile test, next method: {e}"
                )
            }
            Err(e) => {
                return Err(anyhow!(
                    "segments: reconciling test with {}: {e}",
                    method_name(m)
                ));
            }
        }
    }
    let (method, val_rec, mut test_rec) =
        chosen.ok_or_else(|| anyhow!("segments: no reconciliation method could run"))?;
    for (i, ev) in test_rec.iter_mut().enumerate() {
        let cal = calibration::from_evaluation(&val_rec[i], actual[i]);
        let scale = seasonal_naive_mae(&actual[i][..split.val_end], WEEK);
        calibration::apply(&cal, ev, actual[i], cfg.interval_level, scale);
    }
    let rec_refs: Vec<&Evaluation> = test_rec.iter().collect();
    let incoherence = hierarchy::incoherence(st, &rec_refs);
    if incoherence > 1e-9 {
        return Err(anyhow!(
            "segments: reconciled forecasts are not coherent (relative gap {incoherence:e})"
        ));
    }
    let level_results = levels
        .iter()
        .zip(&seg.levels)
        .map(|(m, cols)| LevelResult {
            name: segments::level_name(cols),
            nodes: m.len(),
            base_rmse: hierarchy::pooled_rmse(&test_base, &actual, m),
            reconciled_rmse: hierarchy::pooled_rmse(&rec_refs, &actual, m),
            base_coverage: hierarchy::pooled_coverage(&test_base, &actual, m),
            reconciled_coverage: hierarchy::pooled_coverage(&rec_refs, &actual, m),
        })
        .collect();
    let mut report = SegmentsReport {
        nodes,
        method,
        tried,
        levels: level_results,
        reconciled: test_rec,
        incoherence,
        seconds: 0.0,
        tracked: None,
    };
    let artifacts = write_tables(cfg, st, &report)?;
    report.seconds = t0.elapsed().as_secs_f64();
    if let Some(t) = tracking {
        t.log_train_summary(&summary_batch(&report, seg), &artifacts)?;
        report.tracked = Some(t.uri());
    }
    Ok(report)
}

/// Trains one node with the segment families; its base forecasts are those of the family
/// best by validation RMSE (not test, as one series' winner is: the reconciliation is chosen
/// and calibrated on validation, and a base picked on test would carry test into that).
fn train_node(
    cfg: &Config,
    node: &segments::Node,
    stages: &DataStages,
    zero_days: usize,
    started: Instant,
) -> Result<NodeResult> {
    let series = super::train_series(cfg, stages, false, &mut |_| Ok(()))
        .with_context(|| format!("segment `{}`", node.id))?;
    let mut families = series.families;
    let best = super::grid::select_by_validation(&families).ok_or_else(|| {
        anyhow!(
            "segment `{}`: no family has a validation and a test backtest",
            node.id
        )
    })?;
    let w = families.swap_remove(best);
    let p = w
        .best_point()
        .ok_or_else(|| anyhow!("segment `{}`: no best point", node.id))?;
    let val = p
        .val
        .clone()
        .ok_or_else(|| anyhow!("segment `{}`: winner has no validation backtest", node.id))?;
    let spec = p.spec.clone();
    let s = stages.prepared.split;
    let combined = (w.family == crate::models::Family::Combination)
        .then(|| combination_train_fit(&mut families, p))
        .flatten();
    let insample_val = p
        .fitted
        .as_deref()
        .or(combined
            .as_ref()
            .map(|c| c as &dyn crate::models::FittedForecaster))
        .and_then(|m| hierarchy::one_step_insample(m, &stages.prepared, s.train_end, &p.drivers));
    let insample_test = w
        .test_model
        .as_deref()
        .and_then(|m| hierarchy::one_step_insample(m, &stages.prepared, s.val_end, &p.drivers));
    let test = w
        .test
        .clone()
        .ok_or_else(|| anyhow!("segment `{}`: winner has no test backtest", node.id))?;
    info!(segment = %node.id, family = w.family.as_str(), %spec, test_rmse = test.metrics.rmse, "segment trained");
    Ok(NodeResult {
        id: node.id.clone(),
        level: node.level,
        family: w.family.as_str().to_string(),
        spec,
        val,
        test,
        actual: stages.prepared.real.target().to_vec(),
        zero_days,
        seconds: started.elapsed().as_secs_f64(),
        insample_val,
        insample_test,
    })
}

/// The combination `p` (a point of the combination family) as fitted on train: the mean of
/// its members' train fits (the family keeps only their train + val refits). `None` when a
/// member's train fit is missing.
fn combination_train_fit(
    families: &mut [super::grid::FamilyResult],
    p: &super::grid::PointResult,
) -> Option<crate::models::combination::Combination> {
    use crate::models::combination::{Combination, Member};
    let names = p.params.iter().find(|(k, _)| k == "members")?.1.clone();
    let mut members = Vec::new();
    for name in names.split(',') {
        let f = families.iter_mut().find(|f| f.family.as_str() == name)?;
        let b = f.best?;
        let point = &mut f.points[b];
        members.push(Member {
            family: f.family,
            spec: point.spec.clone(),
            model: std::sync::Arc::from(point.fitted.take()?),
        });
    }
    Some(Combination { members })
}

/// `segments_leaderboard.csv` (one row per node), `segments_levels.csv` (one per level) and
/// `segments_test_forecasts.csv` (every reconciled test forecast, hierarchicalforecast's
/// `unique_id` naming) in the artifacts folder.
fn write_tables(
    cfg: &Config,
    st: &Structure,
    r: &SegmentsReport,
) -> Result<Vec<std::path::PathBuf>> {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "'"));
    let mut board = String::from(
        "unique_id,level,family,best_spec,zero_days,val_rmse,test_rmse,reconciled_test_rmse,reconciled_test_coverage,seconds\n",
    );
    for (n, rec) in r.nodes.iter().zip(&r.reconciled) {
        board.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            q(&n.id),
            r.levels[n.level].name,
            n.family,
            q(&n.spec),
            n.zero_days,
            n.val.metrics.rmse,
            n.test.metrics.rmse,
            rec.metrics.rmse,
            rec.metrics.coverage,
            n.seconds
        ));
    }
    let mut levels = String::from(
        "level,nodes,base_test_rmse,reconciled_test_rmse,ratio,base_coverage,reconciled_coverage\n",
    );
    for l in &r.levels {
        levels.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            q(&l.name),
            l.nodes,
            l.base_rmse,
            l.reconciled_rmse,
            l.reconciled_rmse / l.base_rmse,
            l.base_coverage,
            l.reconciled_coverage
        ));
    }
    let mut fc = String::from("unique_id,origin,step,base,reconciled,lower,upper,actual\n");
    for (i, (n, rec)) in r.nodes.iter().zip(&r.reconciled).enumerate() {
        for (b, f) in n.test.forecasts.iter().zip(&rec.forecasts) {
            for h in 0..f.mean.len() {
                fc.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    q(&st.ids[i]),
                    f.origin,
                    h + 1,
                    b.mean[h],
                    f.mean[h],
                    f.lower[h],
                    f.upper[h],
                    n.actual[f.origin + 1 + h]
                ));
            }
        }
    }
    let dir = &cfg.paths.artifacts_dir;
    let mut out = Vec::new();
    for (name, text) in [
        ("segments_leaderboard.csv", board),
        ("segments_levels.csv", levels),
        ("segments_test_forecasts.csv", fc),
    ] {
        let path = dir.join(name);
        crate::util::fsutil::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        out.push(path);
    }
    Ok(out)
}

fn summary_batch(r: &SegmentsReport, seg: &Segments) -> Batch {
    let mut b = Batch::new()
        .param("segments_levels", format!("{:?}", seg.levels))
        .param("segments_nodes", r.nodes.len().to_string())
        .param("reconcile_method", method_name(r.method))
        .param(
            "segments_level_names",
            r.levels
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        )
        .metric("segments_seconds", r.seconds, 0);
    for l in &r.levels {
        let key = l.name.replace(' ', "");
        b = b
            .metric(format!("level_{key}_base_test_rmse"), l.base_rmse, 0)
            .metric(format!("level_{key}_test_rmse"), l.reconciled_rmse, 0)
            .metric(
                format!("level_{key}_test_coverage"),
                l.reconciled_coverage,
                0,
            );
    }
    for (m, s) in &r.tried {
        b = b.metric(
            format!("reconcile_val_score_{}", method_name(*m).replace(':', "_")),
            *s,
            0,
        );
    }
    b
}

/// What `adsales train` prints with segments.
pub fn summary(r: &SegmentsReport, opts: &TrainOptions) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<28} {:>5} {:>15} {:>17} {:>7} {:>10} {:>10}\n",
        "level", "nodes", "base test RMSE", "reconciled RMSE", "ratio", "base cov%", "rec cov%"
    ));
    for l in &r.levels {
        out.push_str(&format!(
            "{:<28} {:>5} {:>15.2} {:>17.2} {:>7.3} {:>10.1} {:>10.1}\n",
            l.name,
            l.nodes,
            l.base_rmse,
            l.reconciled_rmse,
            l.reconciled_rmse / l.base_rmse,
            100.0 * l.base_coverage,
            100.0 * l.reconciled_coverage
        ));
    }
    let tried: Vec<String> = r
        .tried
        .iter()
        .map(|(m, s)| format!("{} {s:.4}", method_name(*m)))
        .collect();
    out.push_str(&format!(
        "\nreconciliation: {} (validation score, mean reconciled/base RMSE over levels: {})\n",
        method_name(r.method),
        tried.join(", ")
    ));
    out.push_str(&format!(
        "{} segments trained in {:.1}s; tables in segments_leaderboard.csv, \
         segments_levels.csv, segments_test_forecasts.csv\n",
        r.nodes.len(),
        r.seconds
    ));
    match &r.tracked {
        Some(uri) => out.push_str(&format!(
            "tracked at {uri} (one train run, metrics per level)\n"
        )),
        None => out.push_str("not tracked (--no-track)\n"),
    }
    if opts.register {
        out.push_str(
            "not registered: registering a segmented model is not built yet (issue 15); \
             `infer` still serves the last single-series version\n",
        );
    }
    out
}
