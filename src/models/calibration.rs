//! Calibrated intervals (protocol §4.4): the split-conformal half-widths a fitted model
//! carries into its bundle, so inference gives the intervals the backtest judged.
//! `eval::calibration` computes them from a validation backtest.

use serde::{Deserialize, Serialize};

/// The sorted absolute validation errors of each horizon step, in the target's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `errors[h]`: |actual − forecast| at step h + 1 over every validation origin, ascending.
    pub errors: Vec<Vec<f64>>,
}

impl Calibration {
    /// Half-width of the central interval at `level` for step `h` (0-based). Past the
    /// calibrated steps the last one's width grows like a random walk's, √((h+1)/H).
    pub fn half_width(&self, h: usize, level: f64) -> f64 {
        let Some(last) = self.errors.len().checked_sub(1) else {
            return f64::NAN;
        };
        let e = &self.errors[h.min(last)];
        if e.is_empty() {
            return f64::NAN;
        }
        let n = e.len();
        // The finite-sample rank of split conformal; with too few errors for the level the
        // largest one is used (the guarantee then no longer holds exactly).
        let rank = (((n + 1) as f64) * level).ceil() as usize;
        let q = e[rank.clamp(1, n) - 1];
        if h > last {
            q * ((h + 1) as f64 / (last + 1) as f64).sqrt()
        } else {
            q
        }
    }
}
