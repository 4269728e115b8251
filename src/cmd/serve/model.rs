//! The model a server answers with: a loaded, verified version and its prepared frame; a
//! request's rows read as the plan of the days after the model's history; the forecast as
//! the response body; and the slot that `--watch-alias` swaps a new version into.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{Duration, NaiveDate};
use serde_json::Value;

use super::scoring::{Cell, MAX_DAYS, Scoring, ScoringError, Table};
use crate::inference::{self, ModelVersion, Plan, Prepared};
use crate::util::error::is_input_error;

/// A version ready to answer: loaded, verified, its history turned into the model's frame.
pub struct Served {
    pub version: ModelVersion,
    pub prepared: Prepared,
    /// The known-policy drivers the model reads: with the date column, the columns a
    /// request's rows may hold (`signature.inputs` of the bundle). Kept: every request reads it.
    pub drivers: Vec<String>,
}

impl Served {
    pub fn new(version: ModelVersion) -> anyhow::Result<Served> {
        let prepared = inference::prepare(&version, None)?;
        Ok(Served {
            drivers: inference::known_drivers(&version.model),
            version,
            prepared,
        })
    }

    /// The date column of a request's rows (the model's).
    pub fn date_column(&self) -> &str {
        &self.version.model.spec.date_column
    }

    /// `NAME/VERSION` for the access log and the model-version header.
    pub fn label(&self) -> String {
        format!("{}/{}", self.version.info.name, self.version.info.version)
    }
}

/// What a request falls back to (the config's `forecast_days` and `interval_level`).
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub days: usize,
    pub level: f64,
}

/// The forecast a request asks for, as the response body `{"predictions": [...]}`: the same
/// rows, to the bit, as `adsales infer --format json` prints under `forecast`.
pub fn score(s: &Served, req: &Scoring, defaults: Defaults) -> Result<String, ScoringError> {
    if let Some(seg) = &req.params.segment {
        return Err(ScoringError::invalid(format!(
            "params.segment {seg:?}: this model forecasts the total of all segments; per-segment \
             models are not built yet"
        )));
    }
    let level = req.params.level.unwrap_or(defaults.level);
    let (plan, days) = match plan_from_table(s, &req.table)? {
        Some((plan, n)) => {
            if let Some(d) = req.params.days
                && d != n
            {
                return Err(ScoringError::invalid(format!(
                    "params.days is {d} but the request has {n} rows; leave days out or make \
                     them agree"
                )));
            }
            (Some(plan), n)
        }
        None => (None, req.params.days.unwrap_or(defaults.days).min(MAX_DAYS)),
    };
    let r = s
        .prepared
        .forecast(&s.version, plan.as_ref(), days, level)
        .map_err(|e| {
            let msg = format!("{e:#}");
            if is_input_error(&e) || is_bad_model_input(&e) {
                ScoringError::invalid(msg)
            } else {
                ScoringError::new(500, "INTERNAL_ERROR", msg)
            }
        })?;
    let rows = crate::cmd::infer::forecast_json_rows(&r);
    Ok(serde_json::json!({ "predictions": rows }).to_string())
}

fn is_bad_model_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::models::ModelError>(),
            Some(crate::models::ModelError::BadInput(_))
        )
    })
}

/// The request's rows as a plan of the days right after the model's history, and their
/// number; `None` when the request has no rows (the drivers are then forecast).
fn plan_from_table(s: &Served, t: &Table) -> Result<Option<(Plan, usize)>, ScoringError> {
    if t.rows.is_empty() {
        return Ok(None);
    }
    if t.rows.len() > MAX_DAYS {
        return Err(ScoringError::invalid(format!(
            "the request has {} rows; at most {MAX_DAYS} days can be forecast at once",
            t.rows.len()
        )));
    }
    let takes = || {
        std::iter::once(s.date_column())
            .chain(s.drivers.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(c) = t
        .columns
        .iter()
        .find(|c| c.as_str() != s.date_column() && !s.drivers.contains(c))
    {
        return Err(ScoringError::invalid(format!(
            "unknown column `{c}`; this model's rows take {}",
            takes()
        )));
    }
    let col = |name: &str| t.columns.iter().position(|c| c == name);
    let di = col(s.date_column()).ok_or_else(|| {
        ScoringError::invalid(format!(
            "the rows lack column `{}`; this model's rows take {}",
            s.date_column(),
            takes()
        ))
    })?;
    let driver_idx = s
        .drivers
        .iter()
        .map(|d| {
            col(d).ok_or_else(|| {
                ScoringError::invalid(format!(
                    "the rows lack column `{d}` (a known driver the model reads); this model's \
                     rows take {}",
                    takes()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last = s.prepared.last_day();
    let fmt = &s.version.model.spec.date_format;
    let mut by_date = HashMap::with_capacity(t.rows.len());
    for (i, row) in t.rows.iter().enumerate() {
        let d = cell_date(&row[di], fmt).map_err(|why| {
            ScoringError::invalid(format!("row {i}, column `{}`: {why}", s.date_column()))
        })?;
        let want = last + Duration::days(i as i64 + 1);
        if d != want {
            return Err(ScoringError::invalid(format!(
                "row {i}: date {d} should be {want}; the rows must be consecutive days starting \
                 the day after the model's history, which ends {last}"
            )));
        }
        let mut vals = Vec::with_capacity(driver_idx.len());
        for (name, &j) in s.drivers.iter().zip(&driver_idx) {
            vals.push(cell_amount(&row[j]).map_err(|why| {
                ScoringError::invalid(format!("row {i}, column `{name}`: {why}"))
            })?);
        }
        by_date.insert(d, vals);
    }
    Ok(Some((
        Plan {
            source: "request".into(),
            columns: s.drivers.clone(),
            by_date,
        },
        t.rows.len(),
    )))
}

/// A date: in the model's date format, ISO `YYYY-MM-DD`, or an ISO date-time at midnight
/// (what pandas' timestamps become in MLflow's client).
fn cell_date(c: &Cell, fmt: &str) -> Result<NaiveDate, String> {
    let text = match c {
        Cell::Text(s) => s.as_str(),
        Cell::Json(Value::String(s)) => s.as_str(),
        Cell::Json(v) => return Err(format!("expected a date string, got {v}")),
    };
    if let Ok(d) = NaiveDate::parse_from_str(text, fmt) {
        return Ok(d);
    }
    let (day, time) = text.split_once(['T', ' ']).unwrap_or((text, ""));
    let midnight = time.trim_end_matches('Z').trim_end_matches(['0', ':', '.']);
    match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) if midnight.is_empty() => Ok(d),
        Ok(_) => Err(format!(
            "`{text}` is not a whole day (the time must be midnight)"
        )),
        Err(_) => Err(format!(
            "cannot read `{text}` as a date ({fmt} or YYYY-MM-DD)"
        )),
    }
}

/// A planned driver value: a finite, non-negative number.
fn cell_amount(c: &Cell) -> Result<f64, String> {
    let v = match c {
        Cell::Json(Value::Number(n)) => n.as_f64(),
        Cell::Text(s) => s.parse::<f64>().ok(),
        Cell::Json(v) => return Err(format!("expected a number, got {v}")),
    };
    match v {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected a finite, non-negative number, got {}",
            match c {
                Cell::Text(s) => format!("`{s}`"),
                Cell::Json(v) => v.to_string(),
            }
        )),
    }
}

/// The model being served; `--watch-alias` swaps a newer version in. A request takes the
/// `Arc` once and answers from that version, so a swap never changes a request midway.
#[derive(Clone)]
pub struct Slot(Arc<RwLock<Arc<Served>>>);

impl Slot {
    pub fn new(s: Served) -> Slot {
        Slot(Arc::new(RwLock::new(Arc::new(s))))
    }
    pub fn get(&self) -> Arc<Served> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn swap(&self, s: Served) -> Arc<Served> {
        let mut g = self.0.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *g, Arc::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_clients_send() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        for s in [
            "2026-01-02",
            "2026-01-02T00:00:00",
            "2026-01-02T00:00:00.000",
            "2026-01-02 00:00:00",
            "2026-01-02T00:00:00Z",
        ] {
            assert_eq!(cell_date(&Cell::Text(s.into()), "%Y-%m-%d"), Ok(d), "{s}");
        }
        assert_eq!(
            cell_date(&Cell::Text("02/01/2026".into()), "%d/%m/%Y"),
            Ok(d)
        );
        let e = cell_date(&Cell::Text("2026-01-02T10:30:00".into()), "%Y-%m-%d").unwrap_err();
        assert!(e.contains("midnight"), "{e}");
        let e = cell_date(&Cell::Json(serde_json::json!(20260102)), "%Y-%m-%d").unwrap_err();
        assert!(e.contains("expected a date string"), "{e}");
        let e = cell_date(&Cell::Text("tomorrow".into()), "%Y-%m-%d").unwrap_err();
        assert!(e.contains("cannot read `tomorrow`"), "{e}");
    }

    #[test]
    fn amounts_must_be_finite_and_non_negative() {
        assert_eq!(cell_amount(&Cell::Json(serde_json::json!(12.5))), Ok(12.5));
        assert_eq!(cell_amount(&Cell::Text("7".into())), Ok(7.0));
        for c in [
            Cell::Json(serde_json::json!(-1)),
            Cell::Json(serde_json::json!("12")),
            Cell::Json(Value::Null),
            Cell::Text("NaN".into()),
            Cell::Text("inf".into()),
            Cell::Text("x".into()),
        ] {
            assert!(cell_amount(&c).is_err(), "{c:?}");
        }
    }
}
