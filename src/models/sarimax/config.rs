//! The `arima` and `sarimax` families: their config sections (as written, then checked once)
//! and their [`ModelFamily`] impls. Both are grids of [`SarimaxSpec`]s on the same engine.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{SarimaxForecaster, SarimaxSpec, Trend};
use crate::data::{Exog, FuturePolicy};
use crate::models::family::{ModelFamily, ModelsConfig};
use crate::models::{FittedForecaster, Forecaster, ModelError};
use crate::util::error::{ConfigKeys, InputError};

/// `arima:` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArimaFile {
    pub param_grid: ArimaGridFile,
}

impl Default for ArimaFile {
    fn default() -> Self {
        ArimaFile {
            param_grid: ArimaGridFile {
                p: vec![0, 1, 2],
                d: vec![0, 1],
                q: vec![0, 1, 2],
                trend: vec![Trend::N, Trend::C],
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArimaGridFile {
    pub p: Vec<u32>,
    pub d: Vec<u32>,
    pub q: Vec<u32>,
    pub trend: Vec<Trend>,
}

/// `sarimax:` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SarimaxFile {
    /// Exogenous columns the SARIMAX family may regress on (each must be in `data.exog`).
    pub exog: Vec<String>,
    /// Which subsets of `exog` the grid tries (a grid axis, chosen by validation RMSE).
    pub exog_sets: ExogSetsFile,
    pub param_grid: SarimaxGridFile,
}

/// `sarimax.exog_sets`: `auto`, or an explicit list of driver lists.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ExogSetsFile {
    /// `auto`: none, the known drivers alone, the known ones plus each forecast driver, all.
    Auto(AutoKeyword),
    List(Vec<Vec<String>>),
}

/// The keyword `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoKeyword {
    Auto,
}

impl Default for SarimaxFile {
    fn default() -> Self {
        SarimaxFile {
            exog: vec!["ad_spend".into(), "clicks".into(), "impressions".into()],
            exog_sets: ExogSetsFile::Auto(AutoKeyword::Auto),
            param_grid: SarimaxGridFile {
                order: vec![[1, 0, 1], [1, 1, 1], [2, 0, 1]],
                seasonal_order: vec![[0, 0, 0, 7], [1, 0, 1, 7], [0, 1, 1, 7], [1, 1, 1, 7]],
                trend: vec![Trend::N],
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SarimaxGridFile {
    pub order: Vec<[u32; 3]>,
    pub seasonal_order: Vec<[u32; 4]>,
    pub trend: Vec<Trend>,
}

/// The checked `arima` grid: the product of its axes, in config order.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaGrid {
    pub p: Vec<usize>,
    pub d: Vec<usize>,
    pub q: Vec<usize>,
    pub trend: Vec<Trend>,
}

/// The checked `sarimax` section.
#[derive(Debug, Clone, PartialEq)]
pub struct SarimaxSettings {
    /// Drivers the grid may regress on: `sarimax.exog`, then the event columns.
    pub exog: Vec<String>,
    /// The driver sets the grid tries, simplest first, each in `exog`'s order.
    pub exog_sets: Vec<Vec<String>>,
    pub order: Vec<(usize, usize, usize)>,
    /// `(P, D, Q, s)`; all zero when the point has no seasonal part.
    pub seasonal_order: Vec<(usize, usize, usize, usize)>,
    pub trend: Vec<Trend>,
}

impl ArimaFile {
    /// Checks the section; keys are named `arima.param_grid.*`.
    pub fn check(&self, c: &ConfigKeys) -> Result<ArimaGrid, InputError> {
        let a = &self.param_grid;
        c.non_empty("arima.param_grid.p", &a.p)?;
        c.non_empty("arima.param_grid.d", &a.d)?;
        c.non_empty("arima.param_grid.q", &a.q)?;
        c.non_empty("arima.param_grid.trend", &a.trend)?;
        for (key, v) in [("p", &a.p), ("d", &a.d), ("q", &a.q)] {
            if let Some(x) = v.iter().find(|&&x| x > 30) {
                return Err(c.err(
                    &format!("arima.param_grid.{key}"),
                    format!("{x} is far beyond what daily data can identify (at most 30)"),
                ));
            }
        }
        let us = |v: &[u32]| v.iter().map(|&x| x as usize).collect();
        Ok(ArimaGrid {
            p: us(&a.p),
            d: us(&a.d),
            q: us(&a.q),
            trend: a.trend.clone(),
        })
    }
}

impl SarimaxFile {
    /// Checks the section against the configured drivers `drivers` (`data.exog`).
    pub fn check(&self, c: &ConfigKeys, drivers: &[Exog]) -> Result<SarimaxSettings, InputError> {
        let data_exog: Vec<String> = drivers.iter().map(|e| e.name.clone()).collect();
        for (i, e) in self.exog.iter().enumerate() {
            if !data_exog.contains(e) {
                return Err(c.err(
                    &format!("sarimax.exog[{i}]"),
                    format!(
                        "`{e}` is not in data.exog (which lists: {})",
                        if data_exog.is_empty() {
                            "nothing".into()
                        } else {
                            data_exog.join(", ")
                        }
                    ),
                ));
            }
        }
        let g = &self.param_grid;
        c.non_empty("sarimax.param_grid.order", &g.order)?;
        c.non_empty("sarimax.param_grid.seasonal_order", &g.seasonal_order)?;
        c.non_empty("sarimax.param_grid.trend", &g.trend)?;
        for (i, so) in g.seasonal_order.iter().enumerate() {
            let [sp, sd, sq, period] = *so;
            if (sp + sd + sq) > 0 && period < 2 {
                return Err(c.err(
                    &format!("sarimax.param_grid.seasonal_order[{i}]"),
                    format!("seasonal terms need a period s of at least 2, got s = {period}"),
                ));
            }
        }
        Ok(SarimaxSettings {
            exog: self.pool(drivers),
            exog_sets: self.exog_sets(c, drivers)?,
            order: g
                .order
                .iter()
                .map(|o| (o[0] as usize, o[1] as usize, o[2] as usize))
                .collect(),
            seasonal_order: g
                .seasonal_order
                .iter()
                .map(|so| {
                    if so[0] + so[1] + so[2] == 0 {
                        (0, 0, 0, 0)
                    } else {
                        (
                            so[0] as usize,
                            so[1] as usize,
                            so[2] as usize,
                            so[3] as usize,
                        )
                    }
                })
                .collect(),
            trend: g.trend.clone(),
        })
    }
}

impl SarimaxFile {
    /// The drivers the grid may use: `exog`, then the event columns (calendar drivers).
    fn pool(&self, drivers: &[Exog]) -> Vec<String> {
        let mut pool = self.exog.clone();
        for d in drivers {
            if d.policy == FuturePolicy::Calendar && !pool.contains(&d.name) {
                pool.push(d.name.clone());
            }
        }
        pool
    }

    /// The driver sets of the grid (protocol §5): `auto` gives none, the known-policy drivers
    /// alone, those with the event columns, that plus each forecast-policy driver, and all;
    /// a forecast driver enters a model only if validation says its forecast error is worth it.
    fn exog_sets(&self, c: &ConfigKeys, drivers: &[Exog]) -> Result<Vec<Vec<String>>, InputError> {
        let pool = self.pool(drivers);
        // Every set lists its drivers in the pool's order, so equal sets are equal vectors
        // and the parameters of a fit come in one order.
        let ordered = |set: &[&String]| -> Vec<String> {
            pool.iter().filter(|e| set.contains(e)).cloned().collect()
        };
        let policy = |name: &String| drivers.iter().find(|d| &d.name == name).map(|d| d.policy);
        let with = |p: FuturePolicy| -> Vec<&String> {
            pool.iter().filter(|e| policy(e) == Some(p)).collect()
        };
        let mut sets: Vec<Vec<String>> = Vec::new();
        match &self.exog_sets {
            ExogSetsFile::Auto(_) => {
                let known = with(FuturePolicy::Known);
                let mut base = known.clone();
                base.extend(with(FuturePolicy::Calendar));
                sets.push(Vec::new());
                sets.push(ordered(&known));
                sets.push(ordered(&base));
                for f in with(FuturePolicy::Forecast) {
                    let mut s = base.clone();
                    s.push(f);
                    sets.push(ordered(&s));
                }
                sets.push(pool.clone());
            }
            ExogSetsFile::List(list) => {
                c.non_empty("sarimax.exog_sets", list)?;
                for (i, set) in list.iter().enumerate() {
                    for (j, name) in set.iter().enumerate() {
                        if !pool.contains(name) {
                            return Err(c.err(
                                &format!("sarimax.exog_sets[{i}][{j}]"),
                                format!(
                                    "`{name}` is not in sarimax.exog or the event columns \
                                     (which list: {})",
                                    pool.join(", ")
                                ),
                            ));
                        }
                    }
                    sets.push(ordered(&set.iter().collect::<Vec<_>>()));
                }
            }
        }
        let mut unique: Vec<Vec<String>> = Vec::new();
        for s in sets {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        Ok(unique)
    }
}

fn boxed(spec: SarimaxSpec) -> Box<dyn Forecaster> {
    Box::new(SarimaxForecaster { spec })
}

/// The `arima` family: non-seasonal ARIMA without drivers.
pub struct ArimaFamily;
pub static ARIMA_FAMILY: ArimaFamily = ArimaFamily;

impl ModelFamily for ArimaFamily {
    fn id(&self) -> &'static str {
        "arima"
    }
    fn simplicity(&self) -> u32 {
        1
    }
    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        let g = &cfg.arima;
        let mut specs = Vec::new();
        for &p in &g.p {
            for &d in &g.d {
                for &q in &g.q {
                    for &t in &g.trend {
                        // A constant with differencing is not identified (statsmodels'
                        // ARIMA refuses it too): only trend n with d > 0.
                        if d > 0 && t != Trend::N {
                            continue;
                        }
                        specs.push(boxed(SarimaxSpec::arima(p, d, q, t)));
                    }
                }
            }
        }
        Ok(specs)
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        super::load_boxed(dir)
    }
}

/// The `sarimax` family: seasonal ARIMA regressing on the configured drivers.
pub struct SarimaxFamily;
pub static SARIMAX_FAMILY: SarimaxFamily = SarimaxFamily;

impl ModelFamily for SarimaxFamily {
    fn id(&self) -> &'static str {
        "sarimax"
    }
    fn simplicity(&self) -> u32 {
        4
    }
    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        let g = &cfg.sarimax;
        let mut specs = Vec::new();
        // Driver sets outermost, simplest first: a tie in validation RMSE keeps the earlier
        // grid point, so the fewer drivers.
        for exog in &g.exog_sets {
            for &order in &g.order {
                for &seasonal in &g.seasonal_order {
                    for &trend in &g.trend {
                        specs.push(boxed(SarimaxSpec {
                            order,
                            seasonal,
                            trend,
                            exog: exog.clone(),
                            exact_diffuse: false,
                        }));
                    }
                }
            }
        }
        Ok(specs)
    }
    fn drivers(&self, cfg: &ModelsConfig) -> Vec<String> {
        let sets = &cfg.sarimax.exog_sets;
        cfg.sarimax
            .exog
            .iter()
            .filter(|e| sets.iter().any(|s| s.contains(e)))
            .cloned()
            .collect()
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        super::load_boxed(dir)
    }
}
