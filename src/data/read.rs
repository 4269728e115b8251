//! Reading the raw data file (protocol §1): the header, then every row streamed by the csv
//! crate, each needed cell parsed and checked (so a problem is reported with its row and
//! column), and the amounts summed per date as the rows go by.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;

use super::config::DataConfig;
use super::daily::input_err;
use crate::util::error::InputError;

/// The data file's reader, positioned after the header row.
pub(super) type RowReader = csv::Reader<std::io::BufReader<std::fs::File>>;

/// Opens the file and reads its header row (with the csv crate: exact quoting rules), checking
/// that every needed column is present exactly once. The reader goes on to the data rows.
/// Flexible: a short row's missing cells are empty values, reported with their row and
/// column; cells past the header's are not read.
pub(super) fn read_header(
    path: &Path,
    cfg: &DataConfig,
) -> Result<(RowReader, Vec<String>), InputError> {
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
    Ok((rdr, names))
}

/// Rejects a path that cannot be read, is a directory or is empty, before the CSV reader
/// gives vaguer errors for those.
pub(super) fn check_file(path: &Path) -> Result<(), InputError> {
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
pub(super) type DailySums = (Vec<NaiveDate>, Vec<Vec<f64>>, usize);

/// Reads every data row of `rdr` (from [`read_header`]), checks its date and amounts, and sums
/// the amounts per date (the csv crate streams the file: memory holds one row and the daily
/// sums).
///
/// Every row is checked before any problem is reported, and problems are reported in a fixed
/// order — the date column, then the summed columns in config order, each by kind — so which
/// message a file with several problems gets does not depend on row order (tested).
pub(super) fn sum_by_day(
    path: &Path,
    cfg: &DataConfig,
    rdr: RowReader,
    header: &[String],
) -> Result<DailySums, InputError> {
    let acc = accumulate(path, cfg, rdr, header, &[])?;
    acc.finish(cfg).map_err(|m| input_err(path, m))
}

/// The daily sums of every segment: rows grouped by their values in `segment_columns`
/// (each must be in the header and non-empty on every row) and then by day. Keys ascend.
pub(super) fn sum_by_segment_day(
    path: &Path,
    cfg: &DataConfig,
    rdr: RowReader,
    header: &[String],
    segment_columns: &[String],
) -> Result<SegmentSums, InputError> {
    let acc = accumulate(path, cfg, rdr, header, segment_columns)?;
    acc.finish_segments(cfg, segment_columns)
        .map_err(|m| input_err(path, m))
}

/// The observed days (ascending) and per summed column the daily sums of one segment.
pub(super) type SegmentDays = (Vec<NaiveDate>, Vec<Vec<f64>>);

/// Every segment's days by its key (the segment columns' values), and the rows read.
pub(super) type SegmentSums = (BTreeMap<Vec<String>, SegmentDays>, usize);

fn accumulate<'a>(
    path: &Path,
    cfg: &'a DataConfig,
    mut rdr: RowReader,
    header: &[String],
    segment_columns: &[String],
) -> Result<DayAccumulator<'a>, InputError> {
    let index = |name: &str| header.iter().position(|n| n == name);
    let date_i = index(&cfg.date_column).expect("read_header checked every needed column");
    let col_i: Vec<usize> = cfg
        .sum_columns
        .iter()
        .map(|c| index(c).expect("read_header checked every needed column"))
        .collect();
    let mut key_i = Vec::new();
    for c in segment_columns {
        key_i.push(index(c).ok_or_else(|| {
            input_err(
                path,
                format!(
                    "missing segment column `{c}` (named in `segments.levels`; the header has: {})",
                    header.join(", ")
                ),
            )
        })?);
    }
    let mut acc = DayAccumulator {
        dates: DateColumn {
            format: &cfg.date_format,
            last: None,
            empty: None,
            bad: None,
        },
        problems: col_i.iter().map(|_| ColumnProblems::default()).collect(),
        empty_key: vec![None; key_i.len()],
        days: BTreeMap::new(),
        values: vec![0.0; col_i.len()],
        rows: 0,
    };
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => acc.push(&rec, date_i, &col_i, &key_i),
            Ok(false) => break,
            Err(e) => {
                return Err(input_err(
                    path,
                    format!("row {}: cannot parse CSV: {e}", row_of(acc.rows)),
                ));
            }
        }
    }
    Ok(acc)
}

/// The running state of [`sum_by_day`]: the checks of every column and the sums per day.
struct DayAccumulator<'a> {
    dates: DateColumn<'a>,
    problems: Vec<ColumnProblems>,
    /// Per segment column, the first row whose value is empty.
    empty_key: Vec<Option<usize>>,
    /// Sums by (segment key, day); the key is empty for the single total series.
    days: BTreeMap<(Vec<String>, NaiveDate), Vec<KahanSum>>,
    /// The current row's amounts.
    values: Vec<f64>,
    rows: usize,
}

impl DayAccumulator<'_> {
    /// Checks one row and adds its amounts to its day (a row with any problem adds nothing:
    /// the load fails anyway).
    fn push(&mut self, rec: &csv::StringRecord, date_i: usize, col_i: &[usize], key_i: &[usize]) {
        let i = self.rows;
        self.rows += 1;
        let date = self.dates.parse(i, rec.get(date_i).unwrap_or(""));
        let mut ok = date.is_some();
        let mut key = Vec::with_capacity(key_i.len());
        for (k, &j) in key_i.iter().enumerate() {
            let v = rec.get(j).unwrap_or("").trim();
            if v.is_empty() {
                self.empty_key[k].get_or_insert(i);
                ok = false;
            }
            key.push(v.to_string());
        }
        for (k, &j) in col_i.iter().enumerate() {
            match self.problems[k].parse(i, rec.get(j)) {
                Some(v) => self.values[k] = v,
                None => ok = false,
            }
        }
        if let (true, Some(d)) = (ok, date) {
            let n = self.values.len();
            let sums = self
                .days
                .entry((key, d))
                .or_insert_with(|| vec![KahanSum::default(); n]);
            for (s, v) in sums.iter_mut().zip(&self.values) {
                s.add(*v);
            }
        }
    }

    /// The first problem in the fixed order of [`sum_by_day`], if any.
    fn problem(&self, cfg: &DataConfig, segment_columns: &[String]) -> Option<String> {
        if self.rows == 0 {
            return Some("has a header but no data rows".into());
        }
        if let Some(m) = self.dates.message(&cfg.date_column) {
            return Some(m);
        }
        for (p, name) in self.problems.iter().zip(&cfg.sum_columns) {
            if let Some(m) = p.message(name) {
                return Some(m);
            }
        }
        for (e, name) in self.empty_key.iter().zip(segment_columns) {
            if let Some(i) = e {
                return Some(format!(
                    "row {}, column `{name}`: empty segment value",
                    row_of(*i)
                ));
            }
        }
        None
    }

    /// The daily sums, or the first problem in the fixed order of [`sum_by_day`].
    fn finish(self, cfg: &DataConfig) -> Result<DailySums, String> {
        let rows = self.rows;
        let mut segs = self.finish_segments(cfg, &[])?.0;
        let (observed, sums) = segs.remove(&Vec::new()).expect("rows were read");
        Ok((observed, sums, rows))
    }

    fn finish_segments(
        self,
        cfg: &DataConfig,
        segment_columns: &[String],
    ) -> Result<SegmentSums, String> {
        if let Some(m) = self.problem(cfg, segment_columns) {
            return Err(m);
        }
        let ncol = self.problems.len();
        let mut out: BTreeMap<Vec<String>, SegmentDays> = BTreeMap::new();
        for ((key, day), sums) in self.days {
            let (dates, cols) = out
                .entry(key)
                .or_insert_with(|| (Vec::new(), vec![Vec::new(); ncol]));
            dates.push(day);
            for (col, s) in cols.iter_mut().zip(&sums) {
                col.push(s.sum);
            }
        }
        for (key, (dates, cols)) in &out {
            for (v, name) in cols.iter().zip(&cfg.sum_columns) {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    let seg = if key.is_empty() {
                        String::new()
                    } else {
                        format!(" of segment `{}`", key.join("/"))
                    };
                    return Err(format!(
                        "column `{name}`: the daily sum{seg} on {} overflows to infinity; values \
                         are absurdly large",
                        dates[i]
                    ));
                }
            }
        }
        Ok((out, self.rows))
    }
}
