//! Data stage (protocol §1): raw campaign rows → validated daily frame.
//!
//! polars reads the CSV (all columns as text, so parsing problems can be reported with their
//! row and column instead of a generic reader error), parses and checks the needed columns,
//! groups by date and sums. The daily reindex and gap filling are plain loops over the
//! (small) daily series.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use polars::chunked_array::cast::CastOptions;
use polars::prelude::*;
use tracing::{info, warn};

use super::config::{DataConfig, FillMissing};
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

fn input_err(path: &Path, msg: impl std::fmt::Display) -> InputError {
    InputError::new(format!("data file {}: {msg}", path.display()))
}

/// Reads the header row (with the csv crate: one line, exact quoting rules) and checks that
/// every needed column is present exactly once.
fn read_header(path: &Path, cfg: &DataConfig) -> Result<Vec<String>, InputError> {
    let file =
        std::fs::File::open(path).map_err(|e| input_err(path, format!("cannot open: {e}")))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            return Err(input_err(
                path,
                "is empty; expected a header row and data rows",
            ));
        }
        Err(e) => return Err(input_err(path, format!("row 1 (header): {e}"))),
    }
    // (The csv reader already drops the UTF-8 byte-order mark of Excel exports.)
    let names: Vec<String> = rec.iter().map(|s| s.to_string()).collect();
    if names.len() == 1 && names[0].contains(';') {
        return Err(input_err(
            path,
            "row 1 (header) has one column containing ';': the file looks semicolon-delimited; \
             adsales reads comma-separated CSV",
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(prev) = seen.insert(n.as_str(), i) {
            return Err(input_err(
                path,
                format!(
                    "row 1 (header): column `{n}` appears twice (columns {} and {})",
                    prev + 1,
                    i + 1
                ),
            ));
        }
    }
    let needed = std::iter::once(&cfg.date_column).chain(cfg.sum_columns.iter());
    for col in needed {
        if !names.iter().any(|n| n == col) {
            return Err(input_err(
                path,
                format!(
                    "missing column `{col}` (the header has: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(names)
}

fn polars_err(path: &Path, e: PolarsError) -> InputError {
    input_err(path, format!("cannot parse CSV: {e}"))
}

/// First index where `mask` is true.
fn first_true(mask: &BooleanChunked) -> Option<usize> {
    mask.iter().position(|v| v == Some(true))
}

/// Loads `path` into a validated daily frame as `cfg` describes.
pub fn load(path: &Path, cfg: &DataConfig) -> Result<Daily, InputError> {
    check_file(path)?;
    let header = read_header(path, cfg)?;
    let df = read_as_text(path, cfg, &header)?;
    let n = df.height();
    if n == 0 {
        return Err(input_err(path, "has a header but no data rows"));
    }
    // Dates first, then the summed columns in config order: when a file has several
    // problems, which one is reported is part of the (tested) behaviour.
    let mut columns: Vec<Column> = vec![parse_dates(path, cfg, &df)?];
    for name in &cfg.sum_columns {
        columns.push(parse_amounts(path, &df, name)?);
    }
    let typed = DataFrame::new(n, columns).map_err(|e| polars_err(path, e))?;
    let (observed, sums) = sum_by_day(path, cfg, typed)?;
    reindex_and_fill(path, cfg, observed, sums, n)
}

/// Rejects a path that cannot be read, is a directory or is empty, before the CSV readers
/// give vaguer errors for those.
fn check_file(path: &Path) -> Result<(), InputError> {
    let meta = std::fs::metadata(path).map_err(|e| input_err(path, format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(input_err(path, "is a directory, expected a CSV file"));
    }
    if meta.len() == 0 {
        return Err(input_err(
            path,
            "is empty; expected a header row and data rows",
        ));
    }
    Ok(())
}

/// Reads the needed columns (date, then the summed ones) of every row. Everything as text:
/// parse errors then carry their row and column.
fn read_as_text(path: &Path, cfg: &DataConfig, header: &[String]) -> Result<DataFrame, InputError> {
    let schema: Schema = header
        .iter()
        .map(|n| Field::new(n.as_str().into(), DataType::String))
        .collect();
    let path_str = path.to_string_lossy().into_owned();
    let needed: Vec<String> = std::iter::once(cfg.date_column.clone())
        .chain(cfg.sum_columns.iter().cloned())
        .collect();
    // The eager reader: polars' lazy engine (query planner, streaming engine, parquet) would
    // double the release build for a projection and a group-by on a few thousand rows.
    let projection: Arc<[PlSmallStr]> = needed
        .iter()
        .map(|n| PlSmallStr::from(n.as_str()))
        .collect();
    CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_columns(Some(projection))
        .map_parse_options(|p| p.with_missing_is_null(true))
        .try_into_reader_with_file_path(Some(path_str.into()))
        .and_then(|r| r.finish())
        .map_err(|e| polars_err(path, e))
}

/// Row numbers in messages are 1-based file lines with the header as row 1.
fn row_of(i: usize) -> usize {
    i + 2
}

/// A text column of `df` as a series.
fn text_series(path: &Path, df: &DataFrame, name: &str) -> Result<Series, InputError> {
    Ok(df
        .column(name)
        .map_err(|e| polars_err(path, e))?
        .as_materialized_series()
        .clone())
}

/// Parses the date column with `cfg.date_format` into a `date` column; an empty or
/// unparseable cell is an error naming its row.
fn parse_dates(path: &Path, cfg: &DataConfig, df: &DataFrame) -> Result<Column, InputError> {
    let date_s = text_series(path, df, &cfg.date_column)?;
    let date_str = date_s.str().map_err(|e| polars_err(path, e))?;
    if let Some(i) = first_true(&date_str.is_null()) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{}`: empty date",
                row_of(i),
                cfg.date_column
            ),
        ));
    }
    let dates = date_str
        .as_date(Some(&cfg.date_format), true)
        .map_err(|e| polars_err(path, e))?;
    if let Some(i) = first_true(&dates.physical().is_null()) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{}`: cannot parse date `{}` with format {}",
                row_of(i),
                cfg.date_column,
                date_str.get(i).unwrap_or(""),
                cfg.date_format
            ),
        ));
    }
    Ok(dates.into_series().with_name("date".into()).into())
}

/// Parses the summed column `name` as f64. Non-strict cast, then any new null is a value that
/// did not parse. Checks run in a fixed order (empty, not a number, not finite, negative) so
/// the message for a column with several problems does not change.
fn parse_amounts(path: &Path, df: &DataFrame, name: &str) -> Result<Column, InputError> {
    let s = text_series(path, df, name)?;
    let text = s.str().map_err(|e| polars_err(path, e))?;
    if let Some(i) = first_true(&text.is_null()) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{name}`: empty value, expected a number",
                row_of(i)
            ),
        ));
    }
    let parsed = s
        .cast_with_options(&DataType::Float64, CastOptions::NonStrict)
        .map_err(|e| polars_err(path, e))?;
    let vals = parsed.f64().map_err(|e| polars_err(path, e))?;
    if let Some(i) = first_true(&vals.is_null()) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{name}`: `{}` is not a number",
                row_of(i),
                text.get(i).unwrap_or("")
            ),
        ));
    }
    if let Some(i) = vals.iter().position(|v| v.is_some_and(|x| !x.is_finite())) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{name}`: `{}` is not a finite number",
                row_of(i),
                text.get(i).unwrap_or("")
            ),
        ));
    }
    if let Some(i) = vals.iter().position(|v| v.is_some_and(|x| x < 0.0)) {
        return Err(input_err(
            path,
            format!(
                "row {}, column `{name}`: negative value `{}`; revenue, spend and counts \
                 cannot be negative",
                row_of(i),
                text.get(i).unwrap_or("")
            ),
        ));
    }
    Ok(parsed.with_name(name.into()).into())
}

/// Sums the typed rows per date (sorted by date). Returns the observed days and, per summed
/// column, the daily sums; a sum that overflows to infinity is an error.
fn sum_by_day(
    path: &Path,
    cfg: &DataConfig,
    typed: DataFrame,
) -> Result<(Vec<NaiveDate>, Vec<Vec<f64>>), InputError> {
    // `GroupBy::sum` is polars' own per-group kernel (the one its lazy `col().sum()` runs);
    // it is deprecated only in favour of the lazy API this build leaves out.
    #[allow(deprecated)]
    let grouped = typed
        .group_by(["date"])
        .and_then(|g| g.sum())
        .map_err(|e| polars_err(path, e))?;
    let day_numbers: Vec<i32> = grouped
        .column("date")
        .and_then(|c| c.date().map(|d| d.physical().into_no_null_iter().collect()))
        .map_err(|e| polars_err(path, e))?;
    // Groups come in hash order; sort them by day.
    let mut order: Vec<usize> = (0..day_numbers.len()).collect();
    order.sort_by_key(|&i| day_numbers[i]);
    let mut sums = Vec::with_capacity(cfg.sum_columns.len());
    for name in &cfg.sum_columns {
        let v: Vec<f64> = grouped
            .column(&format!("{name}_sum"))
            .and_then(|c| c.f64().map(|ca| ca.into_no_null_iter().collect()))
            .map(|v: Vec<f64>| order.iter().map(|&i| v[i]).collect())
            .map_err(|e| polars_err(path, e))?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(input_err(
                path,
                format!(
                    "column `{name}`: the daily sum on day {} overflows to infinity; values are \
                     absurdly large",
                    i + 1
                ),
            ));
        }
        sums.push(v);
    }
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let observed: Vec<NaiveDate> = order
        .iter()
        .map(|&i| epoch + Duration::days(day_numbers[i] as i64))
        .collect();
    Ok((observed, sums))
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
