//! Planned values of the `known`-policy drivers for the forecast days (protocol §5, §7).

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::util::error::InputError;

/// Planned driver values by date, and where they came from (named in every message).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// E.g. `plan file plan.csv`.
    pub source: String,
    pub columns: Vec<String>,
    pub by_date: HashMap<NaiveDate, Vec<f64>>,
}

impl Plan {
    /// Reads a plan CSV: the date column and one column per driver in `columns` (other columns
    /// are ignored). Values must be finite and non-negative; a date may appear once.
    pub fn read_csv(
        path: &Path,
        date_column: &str,
        date_format: &str,
        columns: &[String],
    ) -> Result<Plan, InputError> {
        let source = format!("plan file {}", path.display());
        let err = |m: String| InputError::new(format!("{source}: {m}"));
        let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(err("is a directory, expected a CSV file".into()));
        }
        let (mut rdr, header) = crate::util::fsutil::csv_with_header(path).map_err(err)?;
        let idx = |c: &str| header.iter().position(|h| h == c);
        let di = idx(date_column).ok_or_else(|| {
            err(format!(
                "missing column `{date_column}` (the header has: {})",
                header.join(", ")
            ))
        })?;
        let mut col_idx = Vec::new();
        for c in columns {
            col_idx.push(idx(c).ok_or_else(|| {
                err(format!(
                    "missing column `{c}` (a known-policy driver the model needs; the header has: {})",
                    header.join(", ")
                ))
            })?);
        }
        let mut by_date: HashMap<NaiveDate, Vec<f64>> = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let row = i + 2;
            let rec = rec.map_err(|e| err(format!("row {row}: {e}")))?;
            let ds = rec.get(di).unwrap_or("");
            let d = NaiveDate::parse_from_str(ds, date_format).map_err(|_| {
                err(format!(
                    "row {row}, column `{date_column}`: cannot parse date `{ds}` with format {date_format}"
                ))
            })?;
            let mut vals = Vec::new();
            for (c, &j) in columns.iter().zip(&col_idx) {
                let s = rec.get(j).unwrap_or("");
                let v: f64 = s
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("row {row}, column `{c}`: `{s}` is not a number")))?;
                if !v.is_finite() || v < 0.0 {
                    return Err(err(format!(
                        "row {row}, column `{c}`: `{s}` must be a finite, non-negative number"
                    )));
                }
                vals.push(v);
            }
            if by_date.insert(d, vals).is_some() {
                return Err(err(format!("row {row}: date {d} appears more than once")));
            }
        }
        Ok(Plan {
            source,
            columns: columns.to_vec(),
            by_date,
        })
    }

    /// The planned values of each driver over `dates`; every date must be planned.
    pub fn values_for(&self, dates: &[NaiveDate]) -> Result<HashMap<String, Vec<f64>>, InputError> {
        let missing: Vec<String> = dates
            .iter()
            .filter(|d| !self.by_date.contains_key(d))
            .map(|d| d.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(InputError::new(format!(
                "{}: does not cover the forecast horizon: missing dates {}",
                self.source,
                missing.join(", ")
            )));
        }
        Ok(self
            .columns
            .iter()
            .enumerate()
            .map(|(k, c)| {
                (
                    c.clone(),
                    dates.iter().map(|d| self.by_date[d][k]).collect(),
                )
            })
            .collect())
    }
}
