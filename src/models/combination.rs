//! The `combination` family (protocol §4.9): the equal-weight mean of the best models of
//! the other families.
//!
//! Averaging forecasts of different kinds is the most reliable improvement in the forecasting
//! competitions (M4, M5): each family's errors partly cancel. The mean is taken over the k
//! family bests with the lowest validation RMSE, and k is the grid axis, chosen by the
//! validation RMSE of the mean like every other axis. Equal weights, because weights
//! estimated from one validation segment are noisier than the gain they promise (the
//! "forecast combination puzzle"). The members' own validation and test forecasts are
//! averaged directly, so the combination needs no fitting of its own; its bundle holds each
//! member's fitted model in a folder of its own.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::family::{Family, ModelFamily, ModelsConfig};
use super::{FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError};

/// The file naming the members of a saved combination.
pub const MEMBERS_FILE: &str = "combination.json";

/// One member: a family's best model.
#[derive(Clone)]
pub struct Member {
    pub family: Family,
    pub spec: String,
    pub model: Arc<dyn FittedForecaster>,
}

/// A fitted combination: the mean of its members' forecasts.
pub struct Combination {
    pub members: Vec<Member>,
}

#[derive(Serialize, Deserialize)]
struct MembersFile {
    members: Vec<MemberEntry>,
}

#[derive(Serialize, Deserialize)]
struct MemberEntry {
    family: String,
    spec: String,
    /// The member's folder, relative to the bundle.
    dir: String,
}

fn member_dir(i: usize, family: Family) -> String {
    format!("member-{}-{}", i + 1, family.as_str())
}

/// The element-wise mean of equally long rows (the combination's one formula, also used by
/// `adsales train` on the members' backtest forecasts).
pub fn mean(rows: &[&[f64]]) -> Vec<f64> {
    let len = rows.iter().map(|r| r.len()).min().unwrap_or(0);
    let n = rows.len() as f64;
    (0..len)
        .map(|h| rows.iter().map(|r| r[h]).sum::<f64>() / n)
        .collect()
}

/// The element-wise mean of the members' forecasts.
fn mean_of(forecasts: &[&Forecast]) -> Forecast {
    let pick =
        |f: fn(&Forecast) -> &[f64]| mean(&forecasts.iter().map(|x| f(x)).collect::<Vec<_>>());
    Forecast {
        mean: pick(|f| &f.mean),
        // Used only where no calibration is applied (validation): the mean of the members'
        // bounds, a rough interval that the calibration of §4.4 replaces.
        lower: pick(|f| &f.lower),
        upper: pick(|f| &f.upper),
        level: forecasts.first().map_or(f64::NAN, |f| f.level),
    }
}

impl FittedForecaster for Combination {
    fn forecast(
        &self,
        history: &Frame,
        future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let fs = self
            .members
            .iter()
            .map(|m| m.model.forecast(history, future, horizon, level))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(mean_of(&fs.iter().collect::<Vec<_>>()))
    }

    fn forecast_origins(
        &self,
        data: &Frame,
        origins: &[usize],
        future: &dyn Fn(usize) -> FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Vec<Forecast>, ModelError> {
        let per_member = self
            .members
            .iter()
            .map(|m| {
                m.model
                    .forecast_origins(data, origins, future, horizon, level)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((0..origins.len())
            .map(|k| mean_of(&per_member.iter().map(|fs| &fs[k]).collect::<Vec<_>>()))
            .collect())
    }

    fn info(&self) -> FitInfo {
        FitInfo {
            converged: self.members.iter().all(|m| m.model.info().converged),
            iterations: 0,
            message: format!("mean of {} members", self.members.len()),
            ..FitInfo::default()
        }
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        let mut entries = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let sub = member_dir(i, m.family);
            let d = dir.join(&sub);
            std::fs::create_dir_all(&d).map_err(|e| ModelError::io(&d, e))?;
            m.model.save(&d)?;
            entries.push(MemberEntry {
                family: m.family.as_str().to_string(),
                spec: m.spec.clone(),
                dir: sub,
            });
        }
        super::save_json(dir, MEMBERS_FILE, &MembersFile { members: entries })
    }
}

/// The `combination` family. It has no grid of its own to fit: `adsales train` builds its
/// points from the other families' results (`cmd::train::grid::combine`).
pub struct CombinationFamily;
pub static FAMILY: CombinationFamily = CombinationFamily;

impl ModelFamily for CombinationFamily {
    fn id(&self) -> &'static str {
        "combination"
    }
    /// Ties go to any single family: a mean is never simpler than its members.
    fn simplicity(&self) -> u32 {
        10
    }
    fn specs(&self, _cfg: &ModelsConfig) -> Result<Vec<Box<dyn Forecaster>>, ModelError> {
        Ok(Vec::new())
    }
    fn load(&self, dir: &Path) -> Result<Box<dyn FittedForecaster>, ModelError> {
        let path = dir.join(MEMBERS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let file: MembersFile =
            serde_json::from_str(&text).map_err(|e| ModelError::io(&path, e))?;
        if file.members.is_empty() {
            return Err(ModelError::io(
                &path,
                "a combination needs at least one member",
            ));
        }
        let mut members = Vec::new();
        for e in file.members {
            let family = Family::from_id(&e.family)
                .filter(|f| *f != Family::Combination)
                .ok_or_else(|| {
                    ModelError::io(&path, format!("member family `{}` unknown here", e.family))
                })?;
            // A folder name with a separator or `..` could read outside the bundle.
            if e.dir.is_empty() || e.dir.contains(['/', '\\']) || e.dir.starts_with('.') {
                return Err(ModelError::io(
                    &path,
                    format!("bad member folder `{}`", e.dir),
                ));
            }
            // `?` keeps `NeedsLibtorch` as it is, so an LSTM member hands the command over.
            let model = super::family::get(family)?.load(&dir.join(&e.dir))?;
            members.push(Member {
                family,
                spec: e.spec,
                model: Arc::from(model),
            });
        }
        Ok(Box::new(Combination { members }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_forecasts() {
        let f = |m: Vec<f64>| Forecast {
            lower: m.iter().map(|x| x - 1.0).collect(),
            upper: m.iter().map(|x| x + 1.0).collect(),
            mean: m,
            level: 0.9,
        };
        let fs = [f(vec![1.0, 2.0]), f(vec![3.0, 6.0]), f(vec![5.0, 1.0])];
        let m = mean_of(&fs.iter().collect::<Vec<_>>());
        assert_eq!(m.mean, vec![3.0, 3.0]);
        assert_eq!(m.lower, vec![2.0, 2.0]);
        assert_eq!(m.upper, vec![4.0, 4.0]);
        assert_eq!(m.level, 0.9);
    }
}
