//! Calibrated intervals (protocol §4.4): the split-conformal half-widths a fitted model
//! carries into its bundle, so inference gives the intervals the backtest judged.
//! `eval::calibration` computes them from a validation backtest.

use serde::{Deserialize, Serialize};

/// The sorted validation errors of each horizon step, and how they were normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `errors[h]`: |actual − forecast| at step h + 1 over every validation origin, ascending;
    /// divided by the local scale at the origin when `scale` is set.
    pub errors: Vec<Vec<f64>>,
    /// Absent in bundles saved before normalisation: their errors are in the target's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<LocalScale>,
}

/// The local scale of a series at a forecast origin: the root mean square of its seasonal
/// differences y[i] − y[i − period] over the `window` days ending at the origin.
///
/// Errors grow and shrink with the series' volatility (a holiday quarter is not a spring
/// one), so a width fixed on the validation months under-covers a more volatile test period
/// and over-covers a calmer one. Dividing each error by the volatility known at its origin
/// and multiplying the quantile back by the volatility at the new origin keeps the guarantee
/// of split conformal for the normalised errors while the width follows the recent data
/// (normalised conformal prediction, Papadopoulos et al. 2008; Lei et al. 2018).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocalScale {
    pub window: usize,
    pub period: usize,
    /// The smallest scale seen at a calibration origin: a flat stretch at a new origin
    /// must not shrink the interval to nothing.
    pub floor: f64,
}

impl LocalScale {
    /// Four weeks of weekly differences: long enough for a stable estimate, short enough to
    /// follow a season.
    pub const WINDOW: usize = 28;
    pub const PERIOD: usize = 7;

    /// The scale at `origin` (an index into `y`); `None` without `window + period` days of
    /// history or when any of them is not finite.
    pub fn raw(window: usize, period: usize, y: &[f64], origin: usize) -> Option<f64> {
        let first = (origin + 1).checked_sub(window)?;
        if first < period || origin >= y.len() {
            return None;
        }
        let ss: f64 = (first..=origin)
            .map(|i| (y[i] - y[i - period]).powi(2))
            .sum();
        let s = (ss / window as f64).sqrt();
        s.is_finite().then_some(s)
    }

    /// The scale at `origin`, never below the floor (the floor alone without history).
    pub fn at(&self, y: &[f64], origin: usize) -> f64 {
        Self::raw(self.window, self.period, y, origin).map_or(self.floor, |s| s.max(self.floor))
    }
}

/// The split-conformal quantile of the ascending `sorted` scores at `level`: the
/// ⌈(n + 1)·level⌉-th smallest, which covers a new exchangeable point with probability
/// ≥ level; with too few scores for the level, the largest (the guarantee then no longer
/// holds exactly). `None` without scores.
pub fn conformal_quantile(sorted: &[f64], level: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (((n + 1) as f64) * level).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

impl Calibration {
    /// Half-width of the central interval at `level` for step `h` (0-based), in units of the
    /// local scale when the calibration is normalised (see [`Calibration::scale_at`]).
    /// Past the calibrated steps the last one's width grows like a random walk's, √((h+1)/H).
    pub fn half_width(&self, h: usize, level: f64) -> f64 {
        let Some(last) = self.errors.len().checked_sub(1) else {
            return f64::NAN;
        };
        let Some(q) = conformal_quantile(&self.errors[h.min(last)], level) else {
            return f64::NAN;
        };
        if h > last {
            q * ((h + 1) as f64 / (last + 1) as f64).sqrt()
        } else {
            q
        }
    }

    /// The factor that turns [`half_width`](Self::half_width) into the target's units for a
    /// forecast from `origin` (an index into the real target `y`, the last day known): the
    /// local scale there, or 1 for a calibration in the target's units. Computed once per
    /// origin and shared by its steps.
    pub fn scale_at(&self, y: &[f64], origin: usize) -> f64 {
        self.scale.map_or(1.0, |s| s.at(y, origin))
    }

    /// The calibrated interval (lower, upper) around `prediction` at step `h`, `scale` from
    /// [`scale_at`](Self::scale_at). The lower end stops at zero, since the target (revenue,
    /// spend, counts) is never negative — the data stage refuses negative values; a negative
    /// forecast keeps its own value as the bound, so the interval still contains it.
    pub fn interval(&self, prediction: f64, h: usize, level: f64, scale: f64) -> (f64, f64) {
        let w = self.half_width(h, level) * scale;
        ((prediction - w).max(prediction.min(0.0)), prediction + w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_scale_by_hand() {
        // y = 0, 0, 1, 3, 6, 10 …: differences at lag 2 are 1, 3, 5, 7, …
        let y: Vec<f64> = (0..10).map(|i| (i * (i - 1) / 2) as f64).collect();
        // window 3, period 2, origin 5: differences y5−y3, y4−y2, y3−y1 = 7, 5, 3.
        let want = ((49.0 + 25.0 + 9.0) / 3.0f64).sqrt();
        assert_eq!(LocalScale::raw(3, 2, &y, 5), Some(want));
        // Origin 3 needs y[3−2−2] … which exists (first = 1 < period) → not enough history.
        assert_eq!(LocalScale::raw(3, 2, &y, 3), None);
        assert_eq!(
            LocalScale::raw(3, 2, &y, 4).map(|s| s * s * 3.0),
            Some(25.0 + 9.0 + 1.0)
        );
        let s = LocalScale {
            window: 3,
            period: 2,
            floor: 100.0,
        };
        assert_eq!(s.at(&y, 5), 100.0);
        assert_eq!(s.at(&y, 0), 100.0);
        let c = Calibration {
            errors: vec![vec![0.5, 1.0, 2.0]],
            scale: Some(LocalScale { floor: 1.0, ..s }),
        };
        // n = 3, level 0.5 → rank 2 → 1.0 scale units.
        assert_eq!(c.half_width(0, 0.5) * c.scale_at(&y, 5), want);
    }

    #[test]
    fn intervals_stop_at_zero_but_keep_the_forecast_inside() {
        let c = Calibration {
            errors: vec![vec![3.0]],
            scale: None,
        };
        // n = 1: every level takes the one error, 3, times the scale.
        assert_eq!(c.interval(10.0, 0, 0.5, 1.0), (7.0, 13.0));
        assert_eq!(c.interval(10.0, 0, 0.5, 2.0), (4.0, 16.0));
        assert_eq!(c.interval(2.0, 0, 0.5, 1.0), (0.0, 5.0));
        assert_eq!(c.interval(-1.0, 0, 0.5, 1.0), (-1.0, 2.0));
    }
}
