//! `adsales info`: what data, runs and registered models there are. Read-only: it creates no
//! experiment and no run.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::store::tracking::tags;
use crate::store::tracking::{RunSearch, Tracker, open_tracker};

/// `adsales info`'s arguments.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: super::ConfigArg,
}

impl InfoArgs {
    /// Reads the config, gathers and prints what there is.
    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let info = gather(&cfg);
        let text = if self.json {
            serde_json::to_string_pretty(&info)? + "\n"
        } else {
            to_text(&info)
        };
        std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct DataInfo {
    pub path: PathBuf,
    /// Why the summary is missing (file absent or invalid).
    pub problem: Option<String>,
    pub raw_rows: Option<usize>,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub days: Option<usize>,
    pub filled_days: Vec<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotInfo {
    pub path: PathBuf,
    pub exists: bool,
    pub rows: Option<usize>,
    pub columns: Option<usize>,
    pub modified: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FamilyRow {
    pub family: String,
    pub best_spec: String,
    pub val_rmse: Option<f64>,
    pub test_rmse: Option<f64>,
    pub test_mape: Option<f64>,
    pub test_mase: Option<f64>,
    /// Share of test actuals inside the (calibrated) intervals, and their mean width.
    pub test_coverage: Option<f64>,
    pub test_width: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct TrainRunInfo {
    pub run_id: String,
    pub run_name: String,
    pub status: String,
    pub start_time: Option<String>,
    pub winner: Option<String>,
    pub leaderboard: Vec<FamilyRow>,
    /// A segmented train's levels (`segments:`), from its run's params and metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsInfo>,
}

#[derive(Debug, Serialize)]
pub struct SegmentsInfo {
    pub nodes: Option<String>,
    pub method: Option<String>,
    pub levels: Vec<LevelRow>,
}

#[derive(Debug, Serialize)]
pub struct LevelRow {
    pub level: String,
    pub base_test_rmse: Option<f64>,
    pub test_rmse: Option<f64>,
    pub test_coverage: Option<f64>,
}

/// The levels of a segmented train run (`segments_level_names` and its `level_*` metrics).
fn segments_info(r: &crate::store::tracking::Run) -> Option<SegmentsInfo> {
    let names = r.params.get("segments_level_names")?;
    let levels = names
        .split(" | ")
        .map(|name| {
            let key = name.replace(' ', "");
            LevelRow {
                level: name.to_string(),
                base_test_rmse: r.metric(&format!("level_{key}_base_test_rmse")),
                test_rmse: r.metric(&format!("level_{key}_test_rmse")),
                test_coverage: r.metric(&format!("level_{key}_test_coverage")),
            }
        })
        .collect();
    Some(SegmentsInfo {
        nodes: r.params.get("segments_nodes").cloned(),
        method: r.params.get("reconcile_method").cloned(),
        levels,
    })
}

#[derive(Debug, Serialize)]
pub struct VersionInfo {
    pub version: String,
    pub aliases: Vec<String>,
    pub family: Option<String>,
    pub spec: Option<String>,
    pub test_rmse: Option<String>,
    pub run_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TrackingInfo {
    pub uri: String,
    pub experiment: String,
    pub experiment_id: Option<String>,
    /// Why the tracking part is missing (server unreachable...).
    pub problem: Option<String>,
    pub train_runs: usize,
    pub latest_train: Option<TrainRunInfo>,
    pub model_name: String,
    pub alias: String,
    pub versions: Vec<VersionInfo>,
    pub aliased: Option<VersionInfo>,
}

#[derive(Debug, Serialize)]
pub struct Info {
    pub config: PathBuf,
    pub data: DataInfo,
    pub snapshot: SnapshotInfo,
    pub tracking: TrackingInfo,
}

fn data_info(cfg: &Config) -> DataInfo {
    let mut d = DataInfo {
        path: cfg.paths.raw_data.clone(),
        problem: None,
        raw_rows: None,
        first_date: None,
        last_date: None,
        days: None,
        filled_days: Vec::new(),
        columns: cfg.data.sum_columns.clone(),
    };
    match crate::data::load(&cfg.paths.raw_data, &cfg.data) {
        Ok(daily) => {
            d.raw_rows = Some(daily.raw_rows);
            d.first_date = daily.dates.first().map(|x| x.to_string());
            d.last_date = daily.dates.last().map(|x| x.to_string());
            d.days = Some(daily.len());
            d.filled_days = daily.filled_dates().iter().map(|x| x.to_string()).collect();
        }
        Err(e) => d.problem = Some(e.to_string()),
    }
    d
}

fn snapshot_info(cfg: &Config) -> SnapshotInfo {
    let path = cfg.paths.processed_data.clone();
    let meta = std::fs::metadata(&path).ok();
    let (mut rows, mut columns) = (None, None);
    if meta.is_some()
        && let Ok(mut rdr) = csv::Reader::from_path(&path)
    {
        columns = rdr.headers().ok().map(|h| h.len());
        rows = Some(rdr.records().count());
    }
    SnapshotInfo {
        exists: meta.is_some(),
        modified: meta.and_then(|m| m.modified().ok()).map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        }),
        path,
        rows,
        columns,
    }
}

fn ms_to_string(ms: i64) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

fn version_info(v: &crate::store::tracking::ModelVersion) -> VersionInfo {
    VersionInfo {
        version: v.version.clone(),
        aliases: v.aliases.clone(),
        family: v.tags.get(tags::FAMILY).cloned(),
        spec: v.tags.get(tags::SPEC).cloned(),
        test_rmse: v.tags.get(tags::TEST_RMSE).cloned(),
        run_id: v.run_id.clone(),
    }
}

fn tracking_info(cfg: &Config, tracking: &mut TrackingInfo) -> Result<()> {
    let t: Box<dyn Tracker> = open_tracker(&cfg.mlflow.tracking_uri)?;
    tracking.uri = t.uri();
    if let Some(exp) = t.get_experiment(&cfg.mlflow.experiment_name)? {
        let runs =
            t.search_runs(&RunSearch::new(&exp).filter(format!("tags.{} = 'train'", tags::KIND)))?;
        tracking.train_runs = runs.len();
        if let Some(latest) = runs.iter().max_by_key(|r| r.info.start_time.unwrap_or(0)) {
            let filter = format!("tags.mlflow.parentRunId = '{}'", latest.info.run_id);
            let fams = t.search_runs(&RunSearch::new(&exp).filter(filter))?;
            let mut board: Vec<FamilyRow> = fams
                .iter()
                .map(|r| FamilyRow {
                    family: r.params.get(tags::FAMILY).cloned().unwrap_or_default(),
                    best_spec: r
                        .params
                        .get("best_spec")
                        .cloned()
                        .unwrap_or_else(|| "(failed)".into()),
                    val_rmse: r.metric(tags::VAL_RMSE),
                    test_rmse: r.metric(tags::TEST_RMSE),
                    test_mape: r.metric("test_mape"),
                    test_mase: r.metric("test_mase"),
                    test_coverage: r.metric("test_coverage"),
                    test_width: r.metric("test_width"),
                })
                .collect();
            board.sort_by(|a, b| {
                a.test_rmse
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.test_rmse.unwrap_or(f64::INFINITY))
            });
            tracking.latest_train = Some(TrainRunInfo {
                run_id: latest.info.run_id.clone(),
                run_name: latest.info.run_name.clone(),
                status: latest.info.status.to_string(),
                start_time: latest.info.start_time.and_then(ms_to_string),
                winner: latest.params.get("winner_spec").cloned(),
                leaderboard: board,
                segments: segments_info(latest),
            });
        }
        tracking.experiment_id = Some(exp);
    }
    let versions = t.list_versions(&cfg.mlflow.model_name)?;
    tracking.versions = versions.iter().map(version_info).collect();
    tracking.aliased = versions
        .iter()
        .find(|v| v.aliases.contains(&cfg.mlflow.alias))
        .map(version_info);
    Ok(())
}

/// Gathers everything; problems are reported inside, not as errors.
pub fn gather(cfg: &Config) -> Info {
    let mut tracking = TrackingInfo {
        uri: cfg.mlflow.tracking_uri.clone(),
        experiment: cfg.mlflow.experiment_name.clone(),
        experiment_id: None,
        problem: None,
        train_runs: 0,
        latest_train: None,
        model_name: cfg.mlflow.model_name.clone(),
        alias: cfg.mlflow.alias.clone(),
        versions: Vec::new(),
        aliased: None,
    };
    if let Err(e) = tracking_info(cfg, &mut tracking) {
        tracking.problem = Some(format!("{e:#}"));
    }
    Info {
        config: cfg.source.clone(),
        data: data_info(cfg),
        snapshot: snapshot_info(cfg),
        tracking,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into())
}

/// Human-readable report.
pub fn to_text(i: &Info) -> String {
    let mut s = String::new();
    s.push_str(&format!("config      {}\n\n", i.config.display()));
    push_data(&mut s, &i.data);
    push_snapshot(&mut s, &i.snapshot);
    let t = &i.tracking;
    s.push_str(&format!("tracking    {}\n", t.uri));
    // Without a tracking store there is nothing more to say.
    if let Some(p) = &t.problem {
        s.push_str(&format!("            problem: {p}\n"));
        return s;
    }
    push_experiment(&mut s, t);
    if let Some(l) = &t.latest_train {
        push_latest_train(&mut s, l);
    }
    push_registry(&mut s, t);
    s
}

/// The raw data summary, or why there is none.
fn push_data(s: &mut String, d: &DataInfo) {
    s.push_str(&format!("data        {}\n", d.path.display()));
    match &d.problem {
        Some(p) => s.push_str(&format!("            problem: {p}\n")),
        None => {
            s.push_str(&format!(
                "            {} rows, {} days from {} to {}, {} filled{}\n",
                d.raw_rows.unwrap_or(0),
                d.days.unwrap_or(0),
                d.first_date.as_deref().unwrap_or("?"),
                d.last_date.as_deref().unwrap_or("?"),
                d.filled_days.len(),
                if d.filled_days.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", d.filled_days.join(", "))
                }
            ));
            s.push_str(&format!(
                "            daily columns: {}\n",
                d.columns.join(", ")
            ));
        }
    }
}

/// The processed snapshot's shape and age, or that it is not written yet.
fn push_snapshot(s: &mut String, sn: &SnapshotInfo) {
    if sn.exists {
        s.push_str(&format!(
            "processed   {}: {} rows x {} columns, written {}\n\n",
            sn.path.display(),
            sn.rows.unwrap_or(0),
            sn.columns.unwrap_or(0),
            sn.modified.as_deref().unwrap_or("?")
        ));
    } else {
        s.push_str(&format!(
            "processed   {}: not written yet (run `adsales train`)\n\n",
            sn.path.display()
        ));
    }
}

fn push_experiment(s: &mut String, t: &TrackingInfo) {
    match &t.experiment_id {
        Some(id) => s.push_str(&format!(
            "experiment  {} (id {id}), {} train run(s)\n",
            t.experiment, t.train_runs
        )),
        None => s.push_str(&format!(
            "experiment  {}: none yet; nothing trained (run `adsales train`)\n",
            t.experiment
        )),
    }
}

/// The latest train run and its leaderboard table.
fn push_latest_train(s: &mut String, l: &TrainRunInfo) {
    s.push_str(&format!(
        "\nlatest train {} ({}), {}, started {}\n",
        l.run_name,
        l.run_id,
        l.status,
        l.start_time.as_deref().unwrap_or("?")
    ));
    if let Some(sg) = &l.segments {
        s.push_str(&format!(
            "  segments: {} nodes, reconciled by {} (not registered: segmented models are not \
             registered yet)\n",
            sg.nodes.as_deref().unwrap_or("?"),
            sg.method.as_deref().unwrap_or("?")
        ));
        s.push_str(&format!(
            "  {:<28} {:>15} {:>17} {:>7}\n",
            "level", "base test RMSE", "reconciled RMSE", "cover%"
        ));
        for r in &sg.levels {
            s.push_str(&format!(
                "  {:<28} {:>15} {:>17} {:>7}\n",
                r.level,
                opt(r.base_test_rmse),
                opt(r.test_rmse),
                r.test_coverage
                    .map(|x| format!("{:.1}", 100.0 * x))
                    .unwrap_or_else(|| "-".into())
            ));
        }
        return;
    }
    // The spec column as wide as its longest entry (SARIMAX specs with exog run long).
    let w = l
        .leaderboard
        .iter()
        .map(|r| r.best_spec.chars().count())
        .chain(std::iter::once("best spec".len()))
        .max()
        .unwrap_or(0);
    s.push_str(&format!(
        "  {:<15} {:<w$} {:>11} {:>11} {:>7} {:>6} {:>7} {:>11}\n",
        "family", "best spec", "val RMSE", "test RMSE", "MAPE%", "MASE", "cover%", "width"
    ));
    for r in &l.leaderboard {
        s.push_str(&format!(
            "  {:<15} {:<w$} {:>11} {:>11} {:>7} {:>6} {:>7} {:>11}\n",
            r.family,
            r.best_spec,
            opt(r.val_rmse),
            opt(r.test_rmse),
            opt(r.test_mape),
            r.test_mase
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "-".into()),
            r.test_coverage
                .map(|x| format!("{:.1}", 100.0 * x))
                .unwrap_or_else(|| "-".into()),
            r.test_width
                .map(|x| format!("{x:.0}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
}

/// Registered versions and where the serving alias points.
fn push_registry(s: &mut String, t: &TrackingInfo) {
    s.push_str(&format!("\nregistry    {}\n", t.model_name));
    if t.versions.is_empty() {
        s.push_str("            no versions registered yet\n");
    }
    for v in &t.versions {
        s.push_str(&format!(
            "  version {:<4} {:<10} {} {}\n",
            v.version,
            v.aliases
                .iter()
                .map(|a| format!("@{a}"))
                .collect::<Vec<_>>()
                .join(" "),
            v.family.as_deref().unwrap_or("?"),
            v.spec.as_deref().unwrap_or("")
        ));
    }
    match &t.aliased {
        Some(v) => s.push_str(&format!(
            "@{} -> version {}: {} {} (test RMSE {})\n",
            t.alias,
            v.version,
            v.family.as_deref().unwrap_or("?"),
            v.spec.as_deref().unwrap_or(""),
            v.test_rmse
                .as_deref()
                .and_then(|x| x.parse::<f64>().ok())
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "?".into())
        )),
        None => s.push_str(&format!("@{}: not set\n", t.alias)),
    }
}
