//! The `data`, `features` and `split` sections of the config: as written (serde, every key
//! optional with the shipped default, unknown keys rejected), and checked once into the values
//! the data stages trust (protocol §1–§3).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::events::{Events, EventsFile};
use crate::util::error::{ConfigKeys, InputError};

/// Future policy of an exogenous column (protocol §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FuturePolicy {
    /// A planned quantity (ad spend): evaluation may use actuals; inference takes a plan.
    Known,
    /// An outcome (clicks): forecast at each origin from data up to the origin.
    Forecast,
    /// An event column (`features.events`): its future is the calendar, known exactly.
    Calendar,
}

/// What to do with days that have no rows at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillMissing {
    Interpolate,
    Zero,
    Error,
}

/// An exogenous column and its future policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exog {
    pub name: String,
    pub policy: FuturePolicy,
}

#[derive(Debug, Clone)]
pub struct DataConfig {
    pub date_column: String,
    pub date_format: String,
    pub target: String,
    pub exog: Vec<Exog>,
    /// Every column summed per day: target first, then exog, then the extra sum columns.
    pub sum_columns: Vec<String>,
    pub fill_missing: FillMissing,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureConfig {
    pub calendar: bool,
    pub lags: Vec<usize>,
    pub rolling_windows: Vec<usize>,
    pub rolling_columns: Vec<String>,
    pub pct_change_columns: Vec<String>,
    /// Event columns (known calendar drivers); bundles saved before events have none.
    #[serde(default)]
    pub events: Events,
}

impl FeatureConfig {
    /// The event columns as drivers with the `calendar` policy.
    pub fn event_drivers(&self) -> Vec<Exog> {
        self.events
            .names()
            .into_iter()
            .map(|name| Exog {
                name,
                policy: FuturePolicy::Calendar,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SplitRatios {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExogFile {
    pub name: String,
    pub future: FuturePolicy,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataFile {
    pub date_column: String,
    /// strftime format of the date column.
    pub date_format: String,
    pub target: String,
    pub exog: Vec<ExogFile>,
    /// Additive columns summed per day; the target and the exog columns are always included.
    pub sum_columns: Vec<String>,
    pub fill_missing: FillMissing,
}

impl Default for DataFile {
    fn default() -> Self {
        DataFile {
            date_column: "date".into(),
            date_format: "%Y-%m-%d".into(),
            target: "revenue".into(),
            exog: vec![
                ExogFile {
                    name: "ad_spend".into(),
                    future: FuturePolicy::Known,
                },
                ExogFile {
                    name: "clicks".into(),
                    future: FuturePolicy::Forecast,
                },
                ExogFile {
                    name: "impressions".into(),
                    future: FuturePolicy::Forecast,
                },
            ],
            sum_columns: vec!["conversions".into()],
            fill_missing: FillMissing::Interpolate,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesFile {
    pub calendar: bool,
    pub lags: Vec<usize>,
    pub rolling_windows: Vec<usize>,
    /// Columns that get rolling mean/std; default: the target and every exog column.
    pub rolling_columns: Option<Vec<String>>,
    /// Columns that get a 1-day percent change; default: the target and `ad_spend` if present.
    pub pct_change_columns: Option<Vec<String>>,
    /// Holidays and promotions as 0/1 columns `event_<name>`.
    pub events: EventsFile,
}

impl Default for FeaturesFile {
    fn default() -> Self {
        FeaturesFile {
            calendar: true,
            lags: vec![1, 7, 14, 30],
            rolling_windows: vec![7, 14, 30],
            rolling_columns: None,
            pct_change_columns: None,
            events: EventsFile::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitFile {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Default for SplitFile {
    fn default() -> Self {
        SplitFile {
            train: 0.70,
            val: 0.15,
            test: 0.15,
        }
    }
}

impl DataFile {
    /// Checks the `data` section.
    pub fn check(&self, c: &ConfigKeys) -> Result<DataConfig, InputError> {
        let d = self;
        c.name("data.date_column", &d.date_column)?;
        c.name("data.target", &d.target)?;
        if d.date_format.trim().is_empty() {
            return Err(c.err(
                "data.date_format",
                "must be a strftime format such as %Y-%m-%d",
            ));
        }
        let mut seen = HashSet::new();
        for (i, e) in d.exog.iter().enumerate() {
            c.name(&format!("data.exog[{i}].name"), &e.name)?;
            if e.name == d.target {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    format!("`{}` is the target; a column cannot drive itself", e.name),
                ));
            }
            if e.name == d.date_column {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    "is the date column; exogenous drivers must be numeric columns",
                ));
            }
            if !seen.insert(e.name.clone()) {
                return Err(c.err(
                    &format!("data.exog[{i}].name"),
                    format!("`{}` is listed twice", e.name),
                ));
            }
            if e.future == FuturePolicy::Calendar {
                return Err(c.err(
                    &format!("data.exog[{i}].future"),
                    "`calendar` is the policy of event columns (features.events); a data \
                     column is `known` (planned) or `forecast` (an outcome)",
                ));
            }
        }
        let mut sum_columns = vec![d.target.clone()];
        sum_columns.extend(d.exog.iter().map(|e| e.name.clone()));
        for (i, s) in d.sum_columns.iter().enumerate() {
            c.name(&format!("data.sum_columns[{i}]"), s)?;
            if s == &d.date_column {
                return Err(c.err(
                    &format!("data.sum_columns[{i}]"),
                    "is the date column; only numeric columns can be summed",
                ));
            }
            if !sum_columns.contains(s) {
                sum_columns.push(s.clone());
            }
        }

        Ok(DataConfig {
            date_column: d.date_column.clone(),
            date_format: d.date_format.clone(),
            target: d.target.clone(),
            exog: d
                .exog
                .iter()
                .map(|e| Exog {
                    name: e.name.clone(),
                    policy: e.future,
                })
                .collect(),
            sum_columns,
            fill_missing: d.fill_missing,
        })
    }
}

impl FeaturesFile {
    /// Checks the `features` section against the checked `data` section (its columns).
    pub fn check(&self, c: &ConfigKeys, d: &DataConfig) -> Result<FeatureConfig, InputError> {
        // features
        let f = self;
        for (i, &l) in f.lags.iter().enumerate() {
            if l == 0 {
                return Err(c.err(
                    &format!("features.lags[{i}]"),
                    "lags must be at least 1 day",
                ));
            }
        }
        for (i, &w) in f.rolling_windows.iter().enumerate() {
            if w < 2 {
                return Err(c.err(
                    &format!("features.rolling_windows[{i}]"),
                    "windows must be at least 2 days (a sample std needs two values)",
                ));
            }
        }
        let exog_names: Vec<String> = d.exog.iter().map(|e| e.name.clone()).collect();
        let sum_columns = &d.sum_columns;
        let rolling_columns = match &f.rolling_columns {
            Some(v) => v.clone(),
            None => {
                let mut v = vec![d.target.clone()];
                v.extend(exog_names.iter().cloned());
                v
            }
        };
        let pct_change_columns = match &f.pct_change_columns {
            Some(v) => v.clone(),
            None => {
                let mut v = vec![d.target.clone()];
                if exog_names.iter().any(|n| n == "ad_spend") {
                    v.push("ad_spend".into());
                }
                v
            }
        };
        for (key, cols) in [
            ("features.rolling_columns", &rolling_columns),
            ("features.pct_change_columns", &pct_change_columns),
        ] {
            for (i, col) in cols.iter().enumerate() {
                if !sum_columns.contains(col) {
                    return Err(c.err(
                        &format!("{key}[{i}]"),
                        format!(
                            "`{col}` is not a daily column; expected one of: {}",
                            sum_columns.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut lags = f.lags.clone();
        lags.sort_unstable();
        lags.dedup();
        let mut windows = f.rolling_windows.clone();
        windows.sort_unstable();
        windows.dedup();

        let base = c
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        Ok(FeatureConfig {
            calendar: f.calendar,
            lags,
            rolling_windows: windows,
            rolling_columns,
            pct_change_columns,
            events: f.events.check(c, base)?,
        })
    }
}

impl SplitFile {
    /// Checks the `split` section: three ratios in (0, 1) summing to 1.
    pub fn check(&self, c: &ConfigKeys) -> Result<SplitRatios, InputError> {
        // split
        let s = self;
        for (key, v) in [
            ("split.train", s.train),
            ("split.val", s.val),
            ("split.test", s.test),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(c.err(
                    key,
                    format!("must be a ratio strictly between 0 and 1, got {v}"),
                ));
            }
        }
        let total = s.train + s.val + s.test;
        if (total - 1.0).abs() > 1e-9 {
            return Err(c.err(
                "split",
                format!(
                    "train + val + test must sum to 1, got {} + {} + {} = {total}",
                    s.train, s.val, s.test
                ),
            ));
        }

        Ok(SplitRatios {
            train: s.train,
            val: s.val,
            test: s.test,
        })
    }
}
