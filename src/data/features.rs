//! Feature engineering (protocol §2): calendar, rolling statistics, lags, momentum.
//!
//! Day t only ever uses data up to and including day t. Values equal pandas'
//! `rolling(w).mean()/.std()`, `shift(k)` and `pct_change()`; each rolling window is summed
//! directly (two-pass for the variance) rather than updated online, so there is no drift
//! from adding and removing values and the result matches pandas to ~1e-12.

use std::path::Path;

use chrono::{Datelike, NaiveDate};

use super::config::FeatureConfig;
use crate::data::Daily;
use crate::util::error::InputError;

/// The feature table in real units, warm-up rows dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub dates: Vec<NaiveDate>,
    pub names: Vec<String>,
    pub cols: Vec<Vec<f64>>,
    pub is_filled: Vec<bool>,
    pub target: String,
    /// Daily rows dropped at the start because a lag or window was not full yet.
    pub warmup: usize,
}

impl Features {
    pub fn len(&self) -> usize {
        self.dates.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }
    pub fn col(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|j| self.cols[j].as_slice())
    }
}

/// Rolling mean over full windows of `w` values (NaN before).
pub fn rolling_mean(x: &[f64], w: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if w == 0 {
        return out;
    }
    for i in (w - 1)..x.len() {
        let win = &x[i + 1 - w..=i];
        out[i] = win.iter().sum::<f64>() / w as f64;
    }
    out
}

/// Rolling sample standard deviation (ddof = 1) over full windows of `w` values.
pub fn rolling_std(x: &[f64], w: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if w < 2 {
        return out;
    }
    for i in (w - 1)..x.len() {
        let win = &x[i + 1 - w..=i];
        let mean = win.iter().sum::<f64>() / w as f64;
        let ss: f64 = win.iter().map(|v| (v - mean) * (v - mean)).sum();
        out[i] = (ss / (w - 1) as f64).sqrt();
    }
    out
}

/// `x` shifted forward by `k` days (value of day t−k on day t).
pub fn lag(x: &[f64], k: usize) -> Vec<f64> {
    (0..x.len())
        .map(|i| if i >= k { x[i - k] } else { f64::NAN })
        .collect()
}

/// 1-day percent change, pandas semantics: x_t / x_{t−1} − 1 (±inf when x_{t−1} = 0).
pub fn pct_change(x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            if i == 0 {
                f64::NAN
            } else {
                x[i] / x[i - 1] - 1.0
            }
        })
        .collect()
}

/// Builds every feature column from the daily frame.
pub fn build(
    daily: &Daily,
    cfg: &FeatureConfig,
    target: &str,
    source: &Path,
) -> Result<Features, InputError> {
    let n = daily.len();
    let mut names: Vec<String> = daily.names.clone();
    let mut cols: Vec<Vec<f64>> = daily.cols.clone();
    // Column order is the snapshot's and the models' input order: daily columns, calendar,
    // rolling, lags, percent changes.
    let mut derived = Vec::new();
    if cfg.calendar {
        derived.extend(calendar_features(&daily.dates));
    }
    derived.extend(cfg.events.columns(&daily.dates));
    derived.extend(rolling_features(daily, cfg));
    derived.extend(lag_features(daily, cfg, target));
    derived.extend(pct_change_features(daily, cfg));
    for (name, c) in derived {
        names.push(name);
        cols.push(c);
    }

    let warmup = warmup_rows(&cols, n);
    if warmup >= n {
        return Err(InputError::new(format!(
            "data file {}: {} days are not enough for the features (lags up to {}, windows up \
             to {}): no day has every feature defined",
            source.display(),
            n,
            cfg.lags.iter().max().copied().unwrap_or(0),
            cfg.rolling_windows.iter().max().copied().unwrap_or(0)
        )));
    }
    check_finite_after_warmup(daily, &names, &cols, warmup, source)?;
    Ok(Features {
        dates: daily.dates[warmup..].to_vec(),
        names,
        cols: cols.into_iter().map(|c| c[warmup..].to_vec()).collect(),
        is_filled: daily.is_filled[warmup..].to_vec(),
        target: target.to_string(),
        warmup,
    })
}

/// A named feature column.
type Feature = (String, Vec<f64>);

fn daily_col<'a>(daily: &'a Daily, name: &str) -> &'a [f64] {
    daily.col(name).expect("validated column")
}

/// Day of week (Monday = 0), month, quarter, ISO week and a weekend flag.
fn calendar_features(dates: &[NaiveDate]) -> Vec<Feature> {
    let dow: Vec<f64> = dates
        .iter()
        .map(|d| d.weekday().num_days_from_monday() as f64)
        .collect();
    let month: Vec<f64> = dates.iter().map(|d| d.month() as f64).collect();
    let quarter: Vec<f64> = dates
        .iter()
        .map(|d| ((d.month() - 1) / 3 + 1) as f64)
        .collect();
    let week: Vec<f64> = dates.iter().map(|d| d.iso_week().week() as f64).collect();
    let weekend: Vec<f64> = dow
        .iter()
        .map(|&d| if d >= 5.0 { 1.0 } else { 0.0 })
        .collect();
    [
        ("day_of_week", dow),
        ("month", month),
        ("quarter", quarter),
        ("week_of_year", week),
        ("is_weekend", weekend),
    ]
    .into_iter()
    .map(|(name, c)| (name.to_string(), c))
    .collect()
}

/// Rolling mean then std for each configured column and window.
fn rolling_features(daily: &Daily, cfg: &FeatureConfig) -> Vec<Feature> {
    let mut out = Vec::new();
    for c in &cfg.rolling_columns {
        let x = daily_col(daily, c);
        for &w in &cfg.rolling_windows {
            out.push((format!("{c}_roll_mean_{w}"), rolling_mean(x, w)));
            out.push((format!("{c}_roll_std_{w}"), rolling_std(x, w)));
        }
    }
    out
}

/// The target lagged by each configured number of days.
fn lag_features(daily: &Daily, cfg: &FeatureConfig, target: &str) -> Vec<Feature> {
    let y = daily_col(daily, target);
    cfg.lags
        .iter()
        .map(|&k| (format!("{target}_lag_{k}"), lag(y, k)))
        .collect()
}

/// The 1-day percent change of each configured column.
fn pct_change_features(daily: &Daily, cfg: &FeatureConfig) -> Vec<Feature> {
    cfg.pct_change_columns
        .iter()
        .map(|c| (format!("{c}_pct_change"), pct_change(daily_col(daily, c))))
        .collect()
}

/// Warm-up: the number of leading rows where some feature is not defined yet (`n` if none).
fn warmup_rows(cols: &[Vec<f64>], n: usize) -> usize {
    (0..n)
        .find(|&i| cols.iter().all(|c| !c[i].is_nan()))
        .unwrap_or(n)
}

/// After the warm-up every value must be finite: a gap in the middle would break the daily
/// spacing models rely on, so it is an error that names its cause.
fn check_finite_after_warmup(
    daily: &Daily,
    names: &[String],
    cols: &[Vec<f64>],
    warmup: usize,
    source: &Path,
) -> Result<(), InputError> {
    let n = daily.len();
    for (j, c) in cols.iter().enumerate() {
        if let Some(i) = (warmup..n).find(|&i| !c[i].is_finite()) {
            let hint = if names[j].ends_with("_pct_change") {
                " (the previous day is 0: a percent change is undefined; use \
                 data.fill_missing: interpolate or drop the column from \
                 features.pct_change_columns)"
            } else {
                ""
            };
            return Err(InputError::new(format!(
                "data file {}: feature `{}` is not finite on {}{hint}",
                source.display(),
                names[j],
                daily.dates[i]
            )));
        }
    }
    Ok(())
}

/// The processed snapshot as CSV text: date, every feature, is_filled.
pub fn to_csv(f: &Features) -> Vec<u8> {
    table_csv(&f.dates, &f.names, &f.cols, &f.is_filled)
}

/// A daily table as CSV: `date`, the columns, `is_filled` (1/0). Floats use `{}`, the
/// shortest text that parses back to the same f64, so the file round-trips exactly.
pub fn table_csv(
    dates: &[NaiveDate],
    names: &[String],
    cols: &[Vec<f64>],
    is_filled: &[bool],
) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["date".to_string()];
    header.extend(names.iter().cloned());
    header.push("is_filled".into());
    w.write_record(&header).expect("in-memory write");
    let mut rec = Vec::with_capacity(header.len());
    for i in 0..dates.len() {
        rec.clear();
        rec.push(dates[i].to_string());
        rec.extend(cols.iter().map(|c| format!("{}", c[i])));
        rec.push(if is_filled[i] { "1" } else { "0" }.into());
        w.write_record(&rec).expect("in-memory write");
    }
    w.into_inner().expect("in-memory flush")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_and_lags_by_hand() {
        let x = [1.0, 2.0, 4.0, 7.0];
        let m = rolling_mean(&x, 3);
        assert!(m[1].is_nan());
        assert_eq!(m[2], 7.0 / 3.0);
        let s = rolling_std(&x, 2);
        assert!((s[1] - (0.5f64).sqrt()).abs() < 1e-15);
        assert_eq!(lag(&x, 2)[3], 2.0);
        assert_eq!(pct_change(&x)[3], 7.0 / 4.0 - 1.0);
        assert_eq!(pct_change(&[0.0, 1.0])[1], f64::INFINITY);
    }
}
