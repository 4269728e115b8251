//! Events as known drivers (protocol §2.2, §5.1): promotions and holidays move marketing
//! revenue, and their dates are known in advance. Built-in rules for the common retail
//! holidays and a CSV of the user's own dates become 0/1 daily columns `event_<name>`, which
//! SARIMAX may regress on (a `calendar`-policy driver: its future is the calendar itself).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::util::error::{ConfigKeys, InputError};

/// Holidays with a fixed rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinEvent {
    /// US Thanksgiving: the fourth Thursday of November.
    Thanksgiving,
    /// The day after Thanksgiving.
    BlackFriday,
    /// The Monday after Thanksgiving.
    CyberMonday,
    /// 25 December.
    Christmas,
    /// 1 January.
    NewYear,
    /// 14 February.
    ValentinesDay,
}

pub const ALL_BUILTIN: [BuiltinEvent; 6] = [
    BuiltinEvent::Thanksgiving,
    BuiltinEvent::BlackFriday,
    BuiltinEvent::CyberMonday,
    BuiltinEvent::Christmas,
    BuiltinEvent::NewYear,
    BuiltinEvent::ValentinesDay,
];

impl BuiltinEvent {
    pub fn name(self) -> &'static str {
        match self {
            BuiltinEvent::Thanksgiving => "thanksgiving",
            BuiltinEvent::BlackFriday => "black_friday",
            BuiltinEvent::CyberMonday => "cyber_monday",
            BuiltinEvent::Christmas => "christmas",
            BuiltinEvent::NewYear => "new_year",
            BuiltinEvent::ValentinesDay => "valentines_day",
        }
    }

    /// The event's day in `year`.
    pub fn date(self, year: i32) -> NaiveDate {
        let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
        let thanksgiving = || {
            let first = ymd(11, 1);
            let to_thursday = (7 + Weekday::Thu.num_days_from_monday() as i64
                - first.weekday().num_days_from_monday() as i64)
                % 7;
            first + Duration::days(to_thursday + 21)
        };
        match self {
            BuiltinEvent::Thanksgiving => thanksgiving(),
            BuiltinEvent::BlackFriday => thanksgiving() + Duration::days(1),
            BuiltinEvent::CyberMonday => thanksgiving() + Duration::days(4),
            BuiltinEvent::Christmas => ymd(12, 25),
            BuiltinEvent::NewYear => ymd(1, 1),
            BuiltinEvent::ValentinesDay => ymd(2, 14),
        }
    }
}

/// `features.events` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsFile {
    /// Built-in holidays to use (default: all of them); `[]` for none.
    pub builtin: Vec<BuiltinEvent>,
    /// Days before and after a built-in event that count as the event, e.g.
    /// `christmas: [10, 0]` for a pre-Christmas rush.
    pub window: BTreeMap<BuiltinEvent, [u32; 2]>,
    /// A CSV of the user's own events: `date,event` and optional `before,after` columns.
    /// Relative to the config file's folder. Future events must be listed to be forecast.
    pub file: Option<std::path::PathBuf>,
}

impl Default for EventsFile {
    fn default() -> Self {
        EventsFile {
            builtin: ALL_BUILTIN.to_vec(),
            window: BTreeMap::new(),
            file: None,
        }
    }
}

/// The checked event calendar: what every event column is, for any dates. Saved in the
/// bundle's feature spec, so inference builds the same columns for future days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Events {
    /// Built-in events with their window (days before, after).
    pub builtin: Vec<(BuiltinEvent, u32, u32)>,
    /// The user's events: name and every day it covers (windows applied).
    pub custom: Vec<(String, BTreeSet<NaiveDate>)>,
}

impl Events {
    pub fn is_empty(&self) -> bool {
        self.builtin.is_empty() && self.custom.is_empty()
    }

    /// The column names, in column order.
    pub fn names(&self) -> Vec<String> {
        self.builtin
            .iter()
            .map(|(e, _, _)| e.name().to_string())
            .chain(self.custom.iter().map(|(n, _)| n.clone()))
            .map(|n| format!("event_{n}"))
            .collect()
    }

    /// The 0/1 columns over `dates`, in [`names`](Self::names) order.
    pub fn columns(&self, dates: &[NaiveDate]) -> Vec<(String, Vec<f64>)> {
        let years = match (dates.first(), dates.last()) {
            (Some(a), Some(b)) => a.year() - 1..=b.year() + 1,
            _ => return Vec::new(),
        };
        let mut days: Vec<BTreeSet<NaiveDate>> = Vec::new();
        for &(e, before, after) in &self.builtin {
            let mut set = BTreeSet::new();
            for y in years.clone() {
                let d = e.date(y);
                for k in -(before as i64)..=after as i64 {
                    set.insert(d + Duration::days(k));
                }
            }
            days.push(set);
        }
        days.extend(self.custom.iter().map(|(_, s)| s.clone()));
        self.names()
            .into_iter()
            .zip(days)
            .map(|(name, set)| {
                let col = dates
                    .iter()
                    .map(|d| if set.contains(d) { 1.0 } else { 0.0 })
                    .collect();
                (name, col)
            })
            .collect()
    }
}

impl EventsFile {
    /// Checks the section and reads the events file (relative to `base`).
    pub fn check(&self, c: &ConfigKeys, base: &Path) -> Result<Events, InputError> {
        let mut builtin: Vec<(BuiltinEvent, u32, u32)> = Vec::new();
        for &e in &self.builtin {
            if builtin.iter().any(|(b, _, _)| *b == e) {
                return Err(c.err(
                    "features.events.builtin",
                    format!("`{}` is listed twice", e.name()),
                ));
            }
            let [before, after] = self.window.get(&e).copied().unwrap_or([0, 0]);
            builtin.push((e, before, after));
        }
        for (e, w) in &self.window {
            if !self.builtin.contains(e) {
                return Err(c.err(
                    &format!("features.events.window.{}", e.name()),
                    "is not in features.events.builtin",
                ));
            }
            if w[0] > 60 || w[1] > 60 {
                return Err(c.err(
                    &format!("features.events.window.{}", e.name()),
                    "windows are at most 60 days on either side",
                ));
            }
        }
        let custom = match &self.file {
            Some(f) => {
                let path = if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                };
                read_events_csv(&path)?
            }
            None => Vec::new(),
        };
        for (name, _) in &custom {
            if builtin.iter().any(|(b, _, _)| b.name() == name) {
                return Err(InputError::new(format!(
                    "events file {}: event `{name}` has the name of a built-in event; rename it \
                     or remove it from features.events.builtin",
                    self.file.as_ref().expect("file given").display()
                )));
            }
        }
        Ok(Events { builtin, custom })
    }
}

/// Reads `date,event[,before,after]` rows; each event's days, windows applied.
pub fn read_events_csv(path: &Path) -> Result<Vec<(String, BTreeSet<NaiveDate>)>, InputError> {
    let err = |m: String| InputError::new(format!("events file {}: {m}", path.display()));
    let (mut rdr, header) = crate::util::fsutil::csv_with_header(path).map_err(err)?;
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let idx = |c: &str| header.iter().position(|h| h == c);
    let (Some(di), Some(ei)) = (idx("date"), idx("event")) else {
        return Err(err(format!(
            "expected columns date and event (optional: before, after); the header has: {}",
            header.join(", ")
        )));
    };
    let (bi, ai) = (idx("before"), idx("after"));
    let mut events: Vec<(String, BTreeSet<NaiveDate>)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| err(format!("row {row}: {e}")))?;
        let cell = |j: usize| rec.get(j).unwrap_or("").trim();
        let date = NaiveDate::parse_from_str(cell(di), "%Y-%m-%d").map_err(|_| {
            err(format!(
                "row {row}, column `date`: `{}` is not a YYYY-MM-DD date",
                cell(di)
            ))
        })?;
        let name = cell(ei);
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            return Err(err(format!(
                "row {row}, column `event`: `{name}` must be a name of letters, digits and _"
            )));
        }
        let days = |j: Option<usize>, col: &str| -> Result<i64, InputError> {
            match j.map(cell).filter(|s| !s.is_empty()) {
                None => Ok(0),
                Some(s) => s
                    .parse::<u32>()
                    .ok()
                    .filter(|&v| v <= 60)
                    .map(i64::from)
                    .ok_or_else(|| {
                        err(format!(
                            "row {row}, column `{col}`: `{s}` must be a whole number of days, 0 to 60"
                        ))
                    }),
            }
        };
        let (before, after) = (days(bi, "before")?, days(ai, "after")?);
        let set = match events.iter_mut().find(|(n, _)| n == name) {
            Some((_, s)) => s,
            None => {
                events.push((name.to_string(), BTreeSet::new()));
                &mut events.last_mut().expect("just pushed").1
            }
        };
        for k in -before..=after {
            set.insert(date + Duration::days(k));
        }
    }
    if events.is_empty() {
        return Err(err("lists no events".into()));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn builtin_dates_over_several_years() {
        // (Thanksgiving, Black Friday, Cyber Monday), from published US calendars.
        for (y, tg, bf, cm) in [
            (2023, d(2023, 11, 23), d(2023, 11, 24), d(2023, 11, 27)),
            (2024, d(2024, 11, 28), d(2024, 11, 29), d(2024, 12, 2)),
            (2025, d(2025, 11, 27), d(2025, 11, 28), d(2025, 12, 1)),
            (2026, d(2026, 11, 26), d(2026, 11, 27), d(2026, 11, 30)),
            (2028, d(2028, 11, 23), d(2028, 11, 24), d(2028, 11, 27)),
        ] {
            assert_eq!(BuiltinEvent::Thanksgiving.date(y), tg);
            assert_eq!(BuiltinEvent::BlackFriday.date(y), bf);
            assert_eq!(BuiltinEvent::CyberMonday.date(y), cm);
            assert_eq!(BuiltinEvent::Christmas.date(y), d(y, 12, 25));
            assert_eq!(BuiltinEvent::NewYear.date(y), d(y, 1, 1));
            assert_eq!(BuiltinEvent::ValentinesDay.date(y), d(y, 2, 14));
        }
    }

    #[test]
    fn a_window_spills_into_the_right_days_across_a_year_end() {
        let ev = Events {
            builtin: vec![(BuiltinEvent::NewYear, 2, 1)],
            custom: Vec::new(),
        };
        let dates: Vec<NaiveDate> = (0..8)
            .map(|k| d(2024, 12, 27) + Duration::days(k))
            .collect();
        let cols = ev.columns(&dates);
        assert_eq!(cols[0].0, "event_new_year");
        // 27 Dec … 3 Jan: 30 Dec, 31 Dec, 1 Jan, 2 Jan.
        assert_eq!(cols[0].1, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn events_file_windows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.csv");
        std::fs::write(
            &p,
            "date,event,before,after\n2025-07-15,summer_sale,1,1\n2026-07-14,summer_sale,,\n",
        )
        .unwrap();
        let ev = read_events_csv(&p).unwrap();
        assert_eq!(ev.len(), 1);
        let days: Vec<NaiveDate> = ev[0].1.iter().copied().collect();
        assert_eq!(
            days,
            vec![
                d(2025, 7, 14),
                d(2025, 7, 15),
                d(2025, 7, 16),
                d(2026, 7, 14)
            ]
        );
        for (text, needle) in [
            (
                "day,event\n2025-01-01,x\n",
                "expected columns date and event",
            ),
            ("date,event\n2025-13-01,x\n", "row 2, column `date`"),
            ("date,event\n2025-01-01,big sale\n", "row 2, column `event`"),
            (
                "date,event,before\n2025-01-01,x,-1\n",
                "row 2, column `before`",
            ),
            ("date,event\n", "lists no events"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = read_events_csv(&p).unwrap_err().to_string();
            assert!(e.contains("events.csv") && e.contains(needle), "{e}");
        }
    }
}
