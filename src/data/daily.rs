//! Data stage (protocol §1): raw campaign rows → validated daily frame.
//!
//! The csv crate streams the file; each needed cell is parsed and checked (so a problem is
//! reported with its row and column), and the amounts are summed per date as the rows go by.
//! The daily reindex and gap filling are plain loops over the (small) daily series.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Duration, NaiveDate};
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

/// Loads `path` into a validated daily frame as `cfg` describes.
pub fn load(path: &Path, cfg: &DataConfig) -> Result<Daily, InputError> {
    check_file(path)?;
    let header = read_header(path, cfg)?;
    let (observed, sums, rows) = sum_by_day(path, cfg, &header)?;
    reindex_and_fill(path, cfg, observed, sums, rows)
}

/// Rejects a path that cannot be read, is a directory or is empty, before the CSV reader
/// gives vaguer errors for those.
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

/// Row numbers in messages are 1-based file lines with the header as row 1.
fn row_of(i: usize) -> usize {
    i + 2
}

/// The first row (0-based record index) with each kind of problem in one column, and the
/// offending text.
#[derive(Default)]
struct ColumnProblems {
    empty: Option<usize>,
    not_a_number: Option<(usize, String)>,
    not_finite: Option<(usize, String)>,
    negative: Option<(usize, String)>,
}

impl ColumnProblems {
    /// Parses one amount; a problem is remembered (its first row only) and gives `None`.
    fn parse(&mut self, i: usize, text: Option<&str>) -> Option<f64> {
        let text = text.unwrap_or("");
        if text.is_empty() {
            self.empty.get_or_insert(i);
            return None;
        }
        let Ok(v) = text.parse::<f64>() else {
            self.not_a_number
                .get_or_insert_with(|| (i, text.to_string()));
            return None;
        };
        if !v.is_finite() {
            self.not_finite.get_or_insert_with(|| (i, text.to_string()));
            return None;
        }
        if v < 0.0 {
            self.negative.get_or_insert_with(|| (i, text.to_string()));
            return None;
        }
        Some(v)
    }

    /// The message for the first kind of problem in a fixed order (empty, not a number, not
    /// finite, negative), so a column with several problems always gets the same message.
    fn message(&self, name: &str) -> Option<String> {
        if let Some(i) = self.empty {
            return Some(format!(
                "row {}, column `{name}`: empty value, expected a number",
                row_of(i)
            ));
        }
        if let Some((i, t)) = &self.not_a_number {
            return Some(format!(
                "row {}, column `{name}`: `{t}` is not a number",
                row_of(*i)
            ));
        }
        if let Some((i, t)) = &self.not_finite {
            return Some(format!(
                "row {}, column `{name}`: `{t}` is not a finite number",
                row_of(*i)
            ));
        }
        self.negative.as_ref().map(|(i, t)| {
            format!(
                "row {}, column `{name}`: negative value `{t}`; revenue, spend and counts \
                 cannot be negative",
                row_of(*i)
            )
        })
    }
}

/// Compensated (Kahan) summation in row order, as pandas' and polars' group sums do: a day's
/// sum does not drift with the number of its rows.
#[derive(Clone, Copy, Default)]
struct KahanSum {
    sum: f64,
    err: f64,
}

impl KahanSum {
    fn add(&mut self, x: f64) {
        let y = x - self.err;
        let s = self.sum + y;
        let e = (s - self.sum) - y;
        self.sum = s;
        // Keeps the compensation finite, so an overflowing sum stays infinite (not NaN) and
        // is reported as an overflow.
        if e.is_finite() {
            self.err = e;
        }
    }
}

/// The date of every row, parsed once per distinct text in a run (rows of one day are usually
/// adjacent), with the first empty and the first unparseable cell remembered.
struct DateColumn<'a> {
    format: &'a str,
    last: Option<(String, NaiveDate)>,
    empty: Option<usize>,
    bad: Option<(usize, String)>,
}

impl DateColumn<'_> {
    fn parse(&mut self, i: usize, text: &str) -> Option<NaiveDate> {
        if text.is_empty() {
            self.empty.get_or_insert(i);
            return None;
        }
        if let Some((t, d)) = &self.last
            && t == text
        {
            return Some(*d);
        }
        match NaiveDate::parse_from_str(text, self.format) {
            Ok(d) => {
                self.last = Some((text.to_string(), d));
                Some(d)
            }
            Err(_) => {
                self.bad.get_or_insert_with(|| (i, text.to_string()));
                None
            }
        }
    }

    fn message(&self, column: &str) -> Option<String> {
        if let Some(i) = self.empty {
            return Some(format!("row {}, column `{column}`: empty date", row_of(i)));
        }
        self.bad.as_ref().map(|(i, t)| {
            format!(
                "row {}, column `{column}`: cannot parse date `{t}` with format {}",
                row_of(*i),
                self.format
            )
        })
    }
}

/// The observed days (ascending), per summed column the daily sums, and the rows read.
type DailySums = (Vec<NaiveDate>, Vec<Vec<f64>>, usize);

/// Reads every row, checks its date and amounts, and sums the amounts per date (the csv
/// crate streams the file: memory holds one row and the daily sums).
///
/// Every row is checked before any problem is reported, and problems are reported in a fixed
/// order — the date column, then the summed columns in config order, each by kind — so which
/// message a file with several problems gets does not depend on row order (tested).
fn sum_by_day(
    path: &Path,
    cfg: &DataConfig,
    header: &[String],
) -> Result<DailySums, InputError> {
    let index = |name: &str| {
        header
            .iter()
            .position(|n| n == name)
            .expect("read_header checked every needed column")
    };
    let date_i = index(&cfg.date_column);
    let col_i: Vec<usize> = cfg.sum_columns.iter().map(|c| index(c)).collect();
    let file =
        std::fs::File::open(path).map_err(|e| input_err(path, format!("cannot open: {e}")))?;
    // Flexible: a short row's missing cells are empty values, reported with their row and
    // column; cells past the header's are not read.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let mut dates = DateColumn {
        format: &cfg.date_format,
        last: None,
        empty: None,
        bad: None,
    };
    let mut problems: Vec<ColumnProblems> =
        col_i.iter().map(|_| ColumnProblems::default()).collect();
    let mut days: BTreeMap<NaiveDate, Vec<KahanSum>> = BTreeMap::new();
    let mut rec = csv::StringRecord::new();
    let mut values = vec![0.0; col_i.len()];
    let mut rows = 0usize;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(input_err(
                    path,
                    format!("row {}: cannot parse CSV: {e}", row_of(rows)),
                ));
            }
        }
        let i = rows;
        rows += 1;
        let date = dates.parse(i, rec.get(date_i).unwrap_or(""));
        let mut ok = date.is_some();
        for (k, &j) in col_i.iter().enumerate() {
            match problems[k].parse(i, rec.get(j)) {
                Some(v) => values[k] = v,
                None => ok = false,
            }
        }
        if let (true, Some(d)) = (ok, date) {
            let sums = days
                .entry(d)
                .or_insert_with(|| vec![KahanSum::default(); col_i.len()]);
            for (s, v) in sums.iter_mut().zip(&values) {
                s.add(*v);
            }
        }
    }
    if rows == 0 {
        return Err(input_err(path, "has a header but no data rows"));
    }
    if let Some(m) = dates.message(&cfg.date_column) {
        return Err(input_err(path, m));
    }
    for (p, name) in problems.iter().zip(&cfg.sum_columns) {
        if let Some(m) = p.message(name) {
            return Err(input_err(path, m));
        }
    }
    let observed: Vec<NaiveDate> = days.keys().copied().collect();
    let mut sums = vec![Vec::with_capacity(days.len()); col_i.len()];
    for day in days.values() {
        for (col, s) in sums.iter_mut().zip(day) {
            col.push(s.sum);
        }
    }
    for (v, name) in sums.iter().zip(&cfg.sum_columns) {
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
    }
    Ok((observed, sums, rows))
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
