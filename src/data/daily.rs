//! Data stage (protocol §1): raw campaign rows → validated daily frame.
//!
//! `read` sums the rows per date; here the days are reindexed to a full calendar and the
//! gaps filled per policy, in plain loops over the (small) daily series.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use tracing::{info, warn};

use super::config::{DataConfig, FillMissing};
use super::read;
use crate::util::error::InputError;

/// The daily series after aggregation and gap filling.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    pub dates: Vec<NaiveDate>,
    /// The summed columns, in `DataConfig::sum_columns` order (target first).
    pub names: Vec<String>,
    pub cols: Vec<Vec<f64>>,
    /// True on days that had no rows and were filled.
    pub is_filled: Vec<bool>,
    /// Raw rows read (before aggregation).
    pub raw_rows: usize,
}

impl Daily {
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
    pub fn filled_dates(&self) -> Vec<NaiveDate> {
        self.dates
            .iter()
            .zip(&self.is_filled)
            .filter(|(_, f)| **f)
            .map(|(d, _)| *d)
            .collect()
    }
}

pub(super) fn input_err(path: &Path, msg: impl std::fmt::Display) -> InputError {
    InputError::new(format!("data file {}: {msg}", path.display()))
}

/// Loads `path` into a validated daily frame as `cfg` describes.
pub fn load(path: &Path, cfg: &DataConfig) -> Result<Daily, InputError> {
    read::check_file(path)?;
    let (rdr, header) = read::read_header(path, cfg)?;
    let (observed, sums, rows) = read::sum_by_day(path, cfg, rdr, &header)?;
    reindex_and_fill(path, cfg, observed, sums, rows)
}

/// Reindexes to every day from the first to the last and fills the gaps per policy.
fn reindex_and_fill(
    path: &Path,
    cfg: &DataConfig,
    observed: Vec<NaiveDate>,
    sums: Vec<Vec<f64>>,
    raw_rows: usize,
) -> Result<Daily, InputError> {
    let first = observed[0];
    let last = *observed.last().expect("non-empty");
    let (dates, is_filled, mut cols) = reindex(&observed, &sums);
    let span = dates.len();
    let missing: Vec<NaiveDate> = dates
        .iter()
        .zip(&is_filled)
        .filter(|(_, f)| **f)
        .map(|(d, _)| *d)
        .collect();
    if !missing.is_empty() {
        fill_gaps(path, cfg, &mut cols, &is_filled, &missing)?;
    }
    info!(
        raw_rows,
        days = span,
        filled = missing.len(),
        "aggregated {} rows into {} days ({} to {})",
        raw_rows,
        span,
        first,
        last
    );
    Ok(Daily {
        dates,
        names: cfg.sum_columns.clone(),
        cols,
        is_filled,
        raw_rows,
    })
}

/// Spreads the sums of the observed days (sorted, non-empty) over every day from the first to
/// the last. Returns the dates, which of them had no rows, and the columns with NaN on those.
fn reindex(
    observed: &[NaiveDate],
    sums: &[Vec<f64>],
) -> (Vec<NaiveDate>, Vec<bool>, Vec<Vec<f64>>) {
    let first = observed[0];
    let last = *observed.last().expect("non-empty");
    let span = (last - first).num_days() as usize + 1;
    let dates: Vec<NaiveDate> = (0..span)
        .map(|i| first + Duration::days(i as i64))
        .collect();
    let mut is_filled = vec![true; span];
    let mut cols = vec![vec![f64::NAN; span]; sums.len()];
    for (k, d) in observed.iter().enumerate() {
        let i = (*d - first).num_days() as usize;
        is_filled[i] = false;
        for (j, s) in sums.iter().enumerate() {
            cols[j][i] = s[k];
        }
    }
    (dates, is_filled, cols)
}

/// Fills the `missing` days (flagged in `is_filled`) as `cfg.fill_missing` says, or fails
/// under `error`; warns with the first 20 filled days, since filled values are not data.
fn fill_gaps(
    path: &Path,
    cfg: &DataConfig,
    cols: &mut [Vec<f64>],
    is_filled: &[bool],
    missing: &[NaiveDate],
) -> Result<(), InputError> {
    match cfg.fill_missing {
        FillMissing::Error => {
            return Err(input_err(
                path,
                format!(
                    "{} day(s) have no rows (first: {}); set data.fill_missing to \
                     interpolate or zero to fill them",
                    missing.len(),
                    missing[0]
                ),
            ));
        }
        FillMissing::Zero => {
            for c in cols.iter_mut() {
                for (v, f) in c.iter_mut().zip(is_filled) {
                    if *f {
                        *v = 0.0;
                    }
                }
            }
        }
        FillMissing::Interpolate => {
            for c in cols.iter_mut() {
                interpolate_linear(c);
            }
        }
    }
    let shown: Vec<String> = missing.iter().take(20).map(|d| d.to_string()).collect();
    warn!(
        count = missing.len(),
        policy = ?cfg.fill_missing,
        "filled days with no rows: {}{}",
        shown.join(", "),
        if missing.len() > 20 { ", ..." } else { "" }
    );
    Ok(())
}

/// Linear interpolation between the nearest observed neighbours (pandas'
/// `interpolate(method="linear")` on a daily index). Gaps are interior by construction: the
/// range starts and ends on observed days.
pub fn interpolate_linear(v: &mut [f64]) {
    let mut i = 0;
    while i < v.len() {
        if v[i].is_nan() {
            let start = i;
            while i < v.len() && v[i].is_nan() {
                i += 1;
            }
            if start == 0 || i == v.len() {
                continue;
            }
            let (a, b) = (v[start - 1], v[i]);
            let gap = (i - start + 1) as f64;
            for (k, x) in v[start..i].iter_mut().enumerate() {
                *x = a + (b - a) * ((k + 1) as f64 / gap);
            }
        } else {
            i += 1;
        }
    }
}

/// Appends the days of `newer` that come after the last day of `history`, filling any gap
/// between them with `policy` (flagged as filled). Days of `newer` on or before the end of
/// `history` are ignored: the bundled history is what the model was trained on.
/// Returns the merged frame and the number of new days taken.
pub fn append_newer(
    history: &Daily,
    newer: &Daily,
    policy: FillMissing,
    source: &Path,
) -> Result<(Daily, usize), InputError> {
    if history.names != newer.names {
        return Err(input_err(
            source,
            format!(
                "columns {:?} do not match the model's daily columns {:?}",
                newer.names, history.names
            ),
        ));
    }
    let last = *history.dates.last().expect("history is never empty");
    let start = newer.dates.iter().position(|d| *d > last);
    let Some(start) = start else {
        return Ok((history.clone(), 0));
    };
    let first_new = newer.dates[start];
    let gap = (first_new - last).num_days() as usize - 1;
    if gap > 0 && policy == FillMissing::Error {
        return Err(input_err(
            source,
            format!(
                "starts on {first_new}, {gap} day(s) after the model's history ends ({last}); \
                 data.fill_missing is `error`"
            ),
        ));
    }
    let mut out = history.clone();
    for k in 1..=gap {
        out.dates.push(last + Duration::days(k as i64));
        out.is_filled.push(true);
        for c in &mut out.cols {
            c.push(if policy == FillMissing::Zero {
                0.0
            } else {
                f64::NAN
            });
        }
    }
    for i in start..newer.len() {
        out.dates.push(newer.dates[i]);
        out.is_filled.push(newer.is_filled[i]);
        for (c, n) in out.cols.iter_mut().zip(&newer.cols) {
            c.push(n[i]);
        }
    }
    if gap > 0 && policy == FillMissing::Interpolate {
        for c in &mut out.cols {
            interpolate_linear(c);
        }
    }
    out.raw_rows = history.raw_rows + newer.raw_rows;
    Ok((out, newer.len() - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_between_neighbours() {
        let mut v = vec![1.0, f64::NAN, f64::NAN, 4.0, 5.0, f64::NAN, 7.0];
        interpolate_linear(&mut v);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    }
}
