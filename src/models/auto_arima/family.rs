//! The `auto_arima` family on the model interface: one grid point per driver set, each fit
//! runs the stepwise search on the rows it is given, and the chosen model is a SARIMAX fit
//! (saved, loaded and forecast by the SARIMAX code).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{AutoArimaSettings, auto_arima};
use crate::data::{Exog, FuturePolicy};
use crate::models::family::{ModelFamily, ModelsConfig};
use crate::models::sarimax::FittedSarimax;
use crate::models::{Family, FitData, FittedForecaster, Forecaster, ModelError};
use crate::util::error::{ConfigKeys, InputError};

/// `auto_arima:` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoArimaFile {
    /// Season length s of the seasonal part (7: weekly, for daily data); 1 for none.
    pub season_length: u32,
    /// The driver sets tried, each a grid point chosen by validation RMSE. Unset: none, and
    /// the drivers whose future values are known at forecast time (planned ones and the
    /// event calendar). Drivers forecast by the pipeline are left out unless listed: their
    /// forecast error is what made regressing on them lose (see the forecast-quality issue).
    pub exog_sets: Option<Vec<Vec<String>>>,
}

impl Default for AutoArimaFile {
    fn default() -> Self {
        AutoArimaFile {
            season_length: 7,
            exog_sets: None,
        }
    }
}

/// The checked `auto_arima` section.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoArimaConfig {
    pub season_length: usize,
    pub exog_sets: Vec<Vec<String>>,
    pub search: AutoArimaSettings,
}

impl AutoArimaFile {
    /// Checks the section against every driver a model may read; keys are named
    /// `auto_arima.*`.
    pub fn check(&self, c: &ConfigKeys, drivers: &[Exog]) -> Result<AutoArimaConfig, InputError> {
        if !(1..=400).contains(&self.season_length) {
            return Err(c.err(
                "auto_arima.season_length",
                format!("must be between 1 and 400, got {}", self.season_length),
            ));
        }
        let names: Vec<&String> = drivers.iter().map(|d| &d.name).collect();
        let ordered = |set: &[&String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| set.contains(n))
                .map(|n| (*n).clone())
                .collect()
        };
        let mut sets: Vec<Vec<String>> =
            match &self.exog_sets {
                None => {
                    let known: Vec<&String> = drivers
                        .iter()
                        .filter(|d| d.policy != FuturePolicy::Forecast)
                        .map(|d| &d.name)
                        .collect();
                    vec![Vec::new(), ordered(&known)]
                }
                Some(list) => {
                    c.non_empty("auto_arima.exog_sets", list)?;
                    let mut sets = Vec::new();
                    for (i, set) in list.iter().enumerate() {
                        for (j, name) in set.iter().enumerate() {
                            if !names.contains(&name) {
                                return Err(c.err(
                                &format!("auto_arima.exog_sets[{i}][{j}]"),
                                format!(
                                    "`{name}` is not a driver (data.exog or the event columns: {})",
                                    names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                                ),
                            ));
                            }
                        }
                        sets.push(ordered(&set.iter().collect::<Vec<_>>()));
                    }
                    sets
                }
            };
        let mut unique = Vec::new();
        for s in sets.drain(..) {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        Ok(AutoArimaConfig {
            season_length: self.season_length as usize,
            exog_sets: unique,
            search: AutoArimaSettings::default(),
        })
    }
}

/// A grid point: the search with one driver set.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoArimaForecaster {
    pub season_length: usize,
    pub exog: Vec<String>,
    pub search: AutoArimaSettings,
}

impl Forecaster for AutoArimaForecaster {
    fn family(&self) -> Family {
        Family::AutoArima
    }
    fn spec(&self) -> String {
        if self.exog.is_empty() {
            format!("auto_arima(s={})", self.season_length)
        } else {
            format!(
                "auto_arima(s={}) exog=[{}]",
                self.season_length,
                self.exog.join(",")
            )
        }
    }
    fn drivers(&self) -> Vec<String> {
        self.exog.clone()
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("season_length".into(), self.season_length.to_string()),
            ("exog".into(), self.exog.join(",")),
            ("ic".into(), "aicc".into()),
        ]
    }
    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let end = data.train_end.min(data.frame.len());
        let frame = data.frame;
        let column = |name: &str| {
            frame.col(name).map(|c| &c[..end]).ok_or_else(|| {
                ModelError::BadInput(format!(
                    "{}: column {name:?} is not in the frame",
                    self.spec()
                ))
            })
        };
        let y = column(&frame.target)?;
        let xreg = self
            .exog
            .iter()
            .map(|n| column(n))
            .collect::<Result<Vec<_>, _>>()?;
        let chosen = auto_arima(y, &xreg, &self.exog, self.season_length, &self.search)?;
        tracing::debug!(
            spec = %chosen.fit.spec,
            aicc = chosen.aicc,
            candidates = chosen.tried.len(),
            "auto_arima chose"
        );
        Ok(Box::new(FittedSarimax::new(chosen.fit)))
    }
}

/// The `auto_arima` family.
pub struct AutoArimaFamily;
pub static FAMILY: AutoArimaFamily = AutoArimaFamily;

impl ModelFamily for AutoArimaFamily {
    fn id(&self) -> &'static str {
        "auto_arima"
    }
    fn simplicity(&self) -> u32 {
        3
    }
    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        let a = &cfg.auto_arima;
        Ok(a.exog_sets
            .iter()
            .map(|exog| {
                Box::new(AutoArimaForecaster {
                    season_length: a.season_length,
                    exog: exog.clone(),
                    search: a.search.clone(),
                }) as Box<dyn Forecaster>
            })
            .collect())
    }
    fn drivers(&self, cfg: &ModelsConfig) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for s in &cfg.auto_arima.exog_sets {
            for n in s {
                if !all.contains(n) {
                    all.push(n.clone());
                }
            }
        }
        all
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        crate::models::sarimax::load_boxed(dir)
    }
}
