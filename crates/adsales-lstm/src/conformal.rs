//! Split-conformal prediction intervals, one per horizon step.
//!
//! The calibration set is the validation windows (never used for the gradient, only for early
//! stopping): for step h the scores are |y - ŷ| over the windows whose step-h label lies in
//! validation. For level α the half-width is the ⌈(n+1)α⌉-th smallest score, which covers a new
//! exchangeable point with probability ≥ α. The sorted scores are kept (not a quantile) so any
//! level can be asked for after loading.

use adsales::models::calibration::conformal_quantile;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conformal {
    /// Per horizon step (0-based), the absolute residuals in scaled space, sorted ascending.
    pub scores: Vec<Vec<f64>>,
}

impl Conformal {
    /// From predictions, labels and mask (each n × horizon, row-major).
    pub fn from_residuals(pred: &[f32], y: &[f32], mask: &[f32], horizon: usize) -> Conformal {
        let mut scores = vec![Vec::new(); horizon];
        for (i, ((p, y), m)) in pred.iter().zip(y).zip(mask).enumerate() {
            if *m > 0.0 {
                scores[i % horizon].push((f64::from(*y) - f64::from(*p)).abs());
            }
        }
        for s in &mut scores {
            s.sort_by(f64::total_cmp);
        }
        Conformal { scores }
    }

    /// Half-width of the central interval at `level` (0 < level < 1) for 0-based `step`: the
    /// same split-conformal quantile as the calibrated intervals (`conformal_quantile`); with
    /// ~100 validation windows too few scores only happens above α ≈ 0.99.
    pub fn half_width(&self, step: usize, level: f64) -> Result<f64, String> {
        if !(level > 0.0 && level < 1.0) {
            return Err(format!("interval level must be in (0, 1), got {level}"));
        }
        self.scores
            .get(step)
            .and_then(|s| conformal_quantile(s, level))
            .ok_or_else(|| format!("no validation residuals for horizon step {}", step + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_rank() {
        // Scores 1..=9: at 0.8, ⌈10·0.8⌉ = 8 → 8.
        let scores: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let zeros = vec![0f32; 9];
        let ones = vec![1f32; 9];
        let c = Conformal::from_residuals(&zeros, &scores, &ones, 1);
        assert_eq!(c.half_width(0, 0.8).unwrap(), 8.0);
        assert_eq!(c.half_width(0, 0.99).unwrap(), 9.0);
        assert!(c.half_width(0, 1.0).is_err());
        assert!(c.half_width(1, 0.5).is_err());
    }
}
