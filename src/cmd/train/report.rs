//! The train report's renderings: the leaderboard as text and CSV, and the test charts.

use anyhow::Result;

use super::TrainReport;
use crate::config::Config;

/// The leaderboard as CSV (every family's best point).
pub fn leaderboard_csv(report: &TrainReport) -> String {
    let mut out = String::from(
        "winner,family,best_spec,val_rmse,test_rmse,test_mae,test_mape,test_r2,test_mase,test_coverage,test_width,test_winkler,seconds\n",
    );
    for (i, f) in report.families.iter().enumerate() {
        if let (Some(p), Some(t)) = (f.best_point(), &f.test) {
            let m = &t.metrics;
            out.push_str(&format!(
                "{},{},\"{}\",{},{},{},{},{},{},{},{},{},{}\n",
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
                m.width,
                m.winkler,
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
        "{:<2}{:<15} {:<w$} {:>11} {:>11} {:>7} {:>6} {:>7} {:>11} {:>8}\n",
        "",
        "family",
        "best spec",
        "val RMSE",
        "test RMSE",
        "MAPE%",
        "MASE",
        "cover%",
        "width",
        "time s"
    ));
    for (i, f) in report.families.iter().enumerate() {
        let mark = if Some(i) == report.winner { "*" } else { "" };
        let failed = f.points.iter().filter(|p| p.val.is_none()).count();
        match (f.best_point(), &f.test) {
            (Some(p), Some(t)) => out.push_str(&format!(
                "{:<2}{:<15} {:<w$} {:>11.2} {:>11.2} {:>7.2} {:>6.3} {:>7.1} {:>11.0} {:>8.3}{}\n",
                mark,
                f.family.as_str(),
                p.spec,
                p.val.as_ref().map(|v| v.metrics.rmse).unwrap_or(f64::NAN),
                t.metrics.rmse,
                t.metrics.mape,
                t.metrics.mase,
                100.0 * t.metrics.coverage,
                t.metrics.width,
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

/// What `adsales train` prints: the leaderboard, the winner, the registration and the stage
/// timings.
pub fn summary(report: &TrainReport, opts: &super::TrainOptions) -> String {
    let mut out = format!("{}\n", leaderboard(report));
    if let Some(w) = report.winner {
        let f = &report.families[w];
        out.push_str(&format!(
            "winner by test RMSE: {} ({})\n",
            f.best_point().map(|p| p.spec.as_str()).unwrap_or("?"),
            f.family.as_str()
        ));
    }
    match &report.registration {
        Some(r) => out.push_str(&format!(
            "registered {} version {} as @{} (previously {})\n",
            r.name,
            r.version,
            r.alias,
            r.previous
                .as_deref()
                .map(|v| format!("version {v}"))
                .unwrap_or_else(|| "unset".into())
        )),
        None if opts.track => out.push_str("not registered (--no-register)\n"),
        None => out.push_str("not tracked (--no-track)\n"),
    }
    let timings: Vec<String> = report
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2}s"))
        .collect();
    out.push_str(&format!("stage timings: {}\n", timings.join(", ")));
    out
}
