//! The `arima` and `sarimax` families: their config sections (as written, then checked once)
//! and their [`ModelFamily`] impls. Both are grids of [`SarimaxSpec`]s on the same engine.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{SarimaxForecaster, SarimaxSpec, Trend};
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
    /// Exogenous columns the SARIMAX family regresses on (each must be in `data.exog`).
    pub exog: Vec<String>,
    pub param_grid: SarimaxGridFile,
}

impl Default for SarimaxFile {
    fn default() -> Self {
        SarimaxFile {
            exog: vec!["ad_spend".into(), "clicks".into(), "impressions".into()],
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
    /// Drivers every grid point regresses on (all in `data.exog`).
    pub exog: Vec<String>,
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
    /// Checks the section against the configured drivers `data_exog`.
    pub fn check(
        &self,
        c: &ConfigKeys,
        data_exog: &[String],
    ) -> Result<SarimaxSettings, InputError> {
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
            exog: self.exog.clone(),
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
        3
    }
    fn specs(&self, cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        let g = &cfg.sarimax;
        let mut specs = Vec::new();
        for &order in &g.order {
            for &seasonal in &g.seasonal_order {
                for &trend in &g.trend {
                    specs.push(boxed(SarimaxSpec {
                        order,
                        seasonal,
                        trend,
                        exog: g.exog.clone(),
                        exact_diffuse: false,
                    }));
                }
            }
        }
        Ok(specs)
    }
    fn drivers(&self, cfg: &ModelsConfig) -> Vec<String> {
        cfg.sarimax.exog.clone()
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        super::load_boxed(dir)
    }
}
