//! `adsales fit`: fit one SARIMAX spec on any CSV column and print the estimates and a
//! forecast. It fits the raw column as given: no aggregation, gap filling or scaling.
//!
//! JSON schema (`--json`, stable; `schema` = "adsales.fit/1"):
//! ```text
//! { "schema": "adsales.fit/1",
//!   "csv": str, "target": str,
//!   "spec": { "order": [p,d,q], "seasonal": [P,D,Q,s], "trend": "n|c|t|ct",
//!             "exog": [str], "exact_diffuse": bool },
//!   "param_names": [str],                       // statsmodels order
//!   "params": { name: number },  "std_errors": { name: number|null },   // OPG
//!   "llf", "aic", "bic", "hqic", "aicc": number,
//!   "nobs": int, "nobs_effective": int,
//!   "converged": bool, "iterations": int, "message": str,
//!   "forecast": { "level": number, "step": [int], "date": [str]|null,
//!                 "mean": [number], "se": [number], "lower": [number], "upper": [number] } }
//! ```
//! Non-finite numbers (e.g. an undefined standard error) are written as `null`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;

use crate::models::ModelError;
use crate::models::sarimax::{self, SarimaxSpec, Trend};
use crate::util::error::InputError;

/// Options of `adsales fit`.
#[derive(clap::Args, Debug, Clone)]
pub struct FitArgs {
    /// CSV file with a header row; the target (and exog) columns must be numeric.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Column to model, used as given (no aggregation or scaling).
    #[arg(long, value_name = "COL")]
    pub target: String,
    /// Optional date column (YYYY-MM-DD): used only to label forecast dates, continuing
    /// with the spacing of the last two rows.
    #[arg(long, value_name = "COL")]
    pub date_column: Option<String>,
    /// Exogenous regressor columns, comma separated (regression with SARIMA errors).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub exog: Vec<String>,
    /// CSV with future values of the --exog columns (same names), at least --horizon rows.
    /// Required when --exog is given and --horizon > 0.
    #[arg(long, value_name = "FILE")]
    pub future_exog: Option<PathBuf>,
    /// Non-seasonal order p,d,q (e.g. 1,1,1).
    #[arg(long, value_name = "p,d,q")]
    pub order: String,
    /// Seasonal order P,D,Q,s (e.g. 0,1,1,7); omitted means no seasonal part.
    #[arg(long, value_name = "P,D,Q,s")]
    pub seasonal: Option<String>,
    /// Trend in the state equation: n (none), c (intercept), t (drift · t), ct (both).
    /// statsmodels SARIMAX convention: with d = 0 the mean is intercept / (1 - Σ ar).
    #[arg(long, default_value = "n", value_name = "n|c|t|ct")]
    pub trend: String,
    /// Number of steps to forecast after the last row (0 for none).
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub horizon: usize,
    /// Coverage of the forecast interval, strictly between 0 and 1.
    #[arg(long, default_value_t = 0.95, value_name = "LEVEL")]
    pub level: f64,
    /// Exact diffuse initialisation of the differencing states instead of statsmodels'
    /// default approximate diffuse prior (variance 1e6, first d + D·s observations burned).
    #[arg(long)]
    pub exact_diffuse: bool,
    /// Print JSON (schema "adsales.fit/1", documented at the top of src/fit_cmd.rs) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The forecast part of a [`FitReport`].
#[derive(Debug, Clone, Serialize)]
pub struct ForecastReport {
    pub level: f64,
    pub step: Vec<usize>,
    pub date: Option<Vec<String>>,
    pub mean: Vec<f64>,
    pub se: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Everything `adsales fit` reports; serialises to the JSON schema above.
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    pub schema: &'static str,
    pub csv: String,
    pub target: String,
    pub spec: SarimaxSpec,
    pub param_names: Vec<String>,
    pub params: BTreeMap<String, f64>,
    pub std_errors: BTreeMap<String, f64>,
    pub llf: f64,
    pub aic: f64,
    pub bic: f64,
    pub hqic: f64,
    pub aicc: f64,
    pub nobs: usize,
    pub nobs_effective: usize,
    pub converged: bool,
    pub iterations: usize,
    pub message: String,
    pub forecast: ForecastReport,
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(InputError::new(msg))
}

fn parse_orders(text: &str, n: usize, option: &str) -> anyhow::Result<Vec<usize>> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let vals: Option<Vec<usize>> = parts.iter().map(|p| p.parse::<usize>().ok()).collect();
    match vals {
        Some(v) if v.len() == n => Ok(v),
        _ => Err(bad(format!(
            "{option} {text:?}: expected {n} comma-separated non-negative integers"
        ))),
    }
}

/// Build the spec from the options (errors name the option).
pub fn spec_from_args(args: &FitArgs) -> anyhow::Result<SarimaxSpec> {
    let o = parse_orders(&args.order, 3, "--order")?;
    let s = match &args.seasonal {
        Some(t) => parse_orders(t, 4, "--seasonal")?,
        None => vec![0, 0, 0, 0],
    };
    let trend = Trend::parse(&args.trend).ok_or_else(|| {
        bad(format!(
            "--trend {:?}: expected one of n, c, t, ct",
            args.trend
        ))
    })?;
    let exog: Vec<String> = args
        .exog
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let spec = SarimaxSpec {
        order: (o[0], o[1], o[2]),
        seasonal: (s[0], s[1], s[2], s[3]),
        trend,
        exog,
        exact_diffuse: args.exact_diffuse,
    };
    spec.validate()
        .map_err(|e| bad(format!("--order/--seasonal: {e}")))?;
    Ok(spec)
}

/// A CSV read as named columns of strings.
struct Table {
    path: String,
    headers: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> anyhow::Result<Table> {
        let shown = path.display().to_string();
        let mut rdr = csv::Reader::from_path(path)
            .map_err(|e| bad(format!("cannot read CSV {shown}: {e}")))?;
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| bad(format!("{shown}: bad header: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            rows.push(rec.map_err(|e| bad(format!("{shown}: row {}: {e}", i + 2)))?);
        }
        Ok(Table {
            path: shown,
            headers,
            rows,
        })
    }

    fn index(&self, col: &str, option: &str) -> anyhow::Result<usize> {
        self.headers.iter().position(|h| h == col).ok_or_else(|| {
            bad(format!(
                "{}: no column {col:?} (from {option}); columns are {:?}",
                self.path, self.headers
            ))
        })
    }

    /// Numeric column; errors name file, line (header = line 1) and column.
    fn numbers(&self, col: &str, option: &str) -> anyhow::Result<Vec<f64>> {
        let j = self.index(col, option)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cell = r.get(j).unwrap_or("").trim();
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(bad(format!(
                        "{}: line {}, column {col:?}: {cell:?} is not a finite number",
                        self.path,
                        i + 2
                    ))),
                }
            })
            .collect()
    }

    fn dates(&self, col: &str) -> anyhow::Result<Vec<NaiveDate>> {
        let j = self.index(col, "--date-column")?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cell = r.get(j).unwrap_or("").trim();
                NaiveDate::parse_from_str(cell, "%Y-%m-%d").map_err(|_| {
                    bad(format!(
                        "{}: line {}, column {col:?}: {cell:?} is not a YYYY-MM-DD date",
                        self.path,
                        i + 2
                    ))
                })
            })
            .collect()
    }
}

/// Data problems the user can fix (too short, constant, singular exog, bad orders) are input
/// errors (exit 2); numerical failures stay ordinary errors.
fn model_err(e: ModelError) -> anyhow::Error {
    match e {
        ModelError::Unsupported { .. } | ModelError::BadInput(_) => bad(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// Fit and forecast; the data behind both output formats.
pub fn run(args: &FitArgs) -> anyhow::Result<FitReport> {
    let spec = spec_from_args(args)?;
    check_level(args.level)?;
    let table = Table::read(&args.csv)?;
    let y = table.numbers(&args.target, "--target")?;
    let exog: Vec<Vec<f64>> = spec
        .exog
        .iter()
        .map(|c| table.numbers(c, "--exog"))
        .collect::<anyhow::Result<_>>()?;
    let future = future_exog(args, &spec)?;
    let dates = match &args.date_column {
        Some(c) => Some(table.dates(c)?),
        None => None,
    };
    let ex: Vec<&[f64]> = exog.iter().map(|v| v.as_slice()).collect();
    let fit = sarimax::fit(&spec, &y, &ex)
        .map_err(model_err)
        .with_context(|| format!("fitting {spec} to {} column {:?}", table.path, args.target))?;
    let fut: Vec<&[f64]> = future.iter().map(|v| v.as_slice()).collect();
    let fc = sarimax::forecast(&spec, &fit.params, &y, &ex, &fut, args.horizon, args.level)
        .map_err(model_err)
        .with_context(|| format!("forecasting {} steps with {spec}", args.horizon))?;
    let forecast = ForecastReport {
        level: args.level,
        step: (1..=args.horizon).collect(),
        date: dates.and_then(|d| forecast_dates(&d, args.horizon)),
        mean: fc.mean,
        se: fc.se,
        lower: fc.lower,
        upper: fc.upper,
    };
    Ok(report(args, table.path, spec, &fit, forecast))
}

fn check_level(level: f64) -> anyhow::Result<()> {
    if !(level > 0.0 && level < 1.0) {
        return Err(bad(format!(
            "--level {level}: must be strictly between 0 and 1"
        )));
    }
    Ok(())
}

/// The future values of the exog columns, from --future-exog. Only needed (and only read)
/// when there is exog and something to forecast; otherwise one empty column per exog.
fn future_exog(args: &FitArgs, spec: &SarimaxSpec) -> anyhow::Result<Vec<Vec<f64>>> {
    if spec.exog.is_empty() || args.horizon == 0 {
        return Ok(vec![Vec::new(); spec.exog.len()]);
    }
    let path = args.future_exog.as_ref().ok_or_else(|| {
        bad(format!(
            "--future-exog FILE is required to forecast {} steps with --exog {}; \
             or use --horizon 0",
            args.horizon,
            spec.exog.join(",")
        ))
    })?;
    let ft = Table::read(path)?;
    let cols: Vec<Vec<f64>> = spec
        .exog
        .iter()
        .map(|c| ft.numbers(c, "--future-exog"))
        .collect::<anyhow::Result<_>>()?;
    if ft.rows.len() < args.horizon {
        return Err(bad(format!(
            "{}: {} rows of future exog, --horizon needs {}",
            ft.path,
            ft.rows.len(),
            args.horizon
        )));
    }
    Ok(cols)
}

/// Labels for the forecast steps, continuing the spacing of the last two dates; none when
/// there are fewer than two dates or they do not increase.
fn forecast_dates(d: &[NaiveDate], horizon: usize) -> Option<Vec<String>> {
    let n = d.len();
    if n < 2 {
        return None;
    }
    let step = (d[n - 1] - d[n - 2]).num_days();
    (step > 0).then(|| {
        (1..=horizon as i64)
            .map(|h| (d[n - 1] + chrono::Duration::days(step * h)).to_string())
            .collect()
    })
}

/// Puts the fitted estimates and the forecast together, parameters keyed by name.
fn report(
    args: &FitArgs,
    csv: String,
    spec: SarimaxSpec,
    fit: &sarimax::SarimaxFit,
    forecast: ForecastReport,
) -> FitReport {
    let by_name = |v: &[f64]| fit.names.iter().cloned().zip(v.iter().copied()).collect();
    FitReport {
        schema: "adsales.fit/1",
        csv,
        target: args.target.clone(),
        param_names: fit.names.clone(),
        params: by_name(&fit.params),
        std_errors: by_name(&fit.bse),
        spec,
        llf: fit.llf,
        aic: fit.aic,
        bic: fit.bic,
        hqic: fit.hqic,
        aicc: fit.aicc,
        nobs: fit.nobs,
        nobs_effective: fit.nobs_effective,
        converged: fit.converged,
        iterations: fit.iterations,
        message: fit.message.clone(),
        forecast,
    }
}

/// The human-readable summary.
pub fn render_text(r: &FitReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} on {} column {:?}", r.spec, r.csv, r.target);
    let _ = writeln!(
        s,
        "nobs {} (effective {}), converged: {}, iterations: {} ({})",
        r.nobs,
        r.nobs_effective,
        if r.converged { "yes" } else { "NO" },
        r.iterations,
        r.message
    );
    let _ = writeln!(
        s,
        "\n{:<16} {:>16} {:>14} {:>9}",
        "param", "coef", "std err", "z"
    );
    for n in &r.param_names {
        let (v, se) = (r.params[n], r.std_errors[n]);
        let _ = writeln!(s, "{n:<16} {v:>16.6} {se:>14.6} {:>9.3}", v / se);
    }
    let _ = writeln!(
        s,
        "\nllf {:.4}  aic {:.4}  bic {:.4}  hqic {:.4}  aicc {:.4}",
        r.llf, r.aic, r.bic, r.hqic, r.aicc
    );
    let f = &r.forecast;
    if !f.mean.is_empty() {
        let pct = f.level * 100.0;
        let _ = writeln!(
            s,
            "\n{:>4} {:>10} {:>14} {:>14} {:>14} {:>14}",
            "step",
            "date",
            "mean",
            "se",
            format!("lower {pct:.0}%"),
            format!("upper {pct:.0}%")
        );
        for i in 0..f.mean.len() {
            let date = f.date.as_ref().map(|d| d[i].as_str()).unwrap_or("");
            let _ = writeln!(
                s,
                "{:>4} {:>10} {:>14.4} {:>14.4} {:>14.4} {:>14.4}",
                f.step[i], date, f.mean[i], f.se[i], f.lower[i], f.upper[i]
            );
        }
    }
    s
}

impl FitArgs {
    /// The report rendered in the chosen format (JSON or the text summary).
    pub fn render(&self, report: &FitReport) -> anyhow::Result<String> {
        if self.json {
            Ok(serde_json::to_string_pretty(report)? + "\n")
        } else {
            Ok(render_text(report))
        }
    }

    /// `adsales fit`: fit, then print the summary (or JSON) to stdout.
    pub fn execute(&self, g: super::Global) -> anyhow::Result<()> {
        use std::io::Write;
        crate::util::logging::init(g.verbosity, None);
        let out = self.render(&run(self)?)?;
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(out.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("writing to stdout"),
        }
    }
}
