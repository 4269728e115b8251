//! Calibrated intervals (protocol §4.4): split conformal per horizon step.
//!
//! A family's own intervals assume its model is right and, for SARIMAX, that forecast drivers
//! are known; on real data they cover far less than they claim. So every family's intervals
//! are rebuilt the same way: the absolute errors of its validation backtest at step h (model
//! fitted on train, judged on data it never saw) give the half-width at step h — the
//! ⌈(n+1)·L⌉-th smallest of the n errors at level L. Each error is first divided by the
//! series' local scale at its origin (`LocalScale`), and a test or inference interval is the
//! point forecast ± that quantile times the local scale at its own origin, so the width
//! follows the volatility of the weeks before the forecast. Nothing after the validation
//! segment is read, so the test coverage is an honest check of the calibration.

use super::backtest::Evaluation;
use super::metrics::Metrics;
pub use crate::models::calibration::{Calibration, LocalScale};

/// The calibration of a backtest `ev` whose actuals are `actual` (the whole real-unit target).
/// The errors are normalised by the local scale at their origin ([`LocalScale`]) when every
/// origin has one and it is positive; otherwise (short or flat history) they stay in the
/// target's units.
pub fn from_evaluation(ev: &Evaluation, actual: &[f64]) -> Calibration {
    let (window, period) = (LocalScale::WINDOW, LocalScale::PERIOD);
    let scales: Option<Vec<f64>> = ev
        .forecasts
        .iter()
        .map(|f| LocalScale::raw(window, period, actual, f.origin).filter(|s| *s > 0.0))
        .collect();
    let scale = scales.as_ref().and_then(|s| {
        let floor = s.iter().copied().fold(f64::INFINITY, f64::min);
        floor.is_finite().then_some(LocalScale {
            window,
            period,
            floor,
        })
    });
    let steps = ev.forecasts.iter().map(|f| f.mean.len()).max().unwrap_or(0);
    let mut errors = vec![Vec::new(); steps];
    for (i, f) in ev.forecasts.iter().enumerate() {
        let s = match (&scale, &scales) {
            (Some(_), Some(s)) => s[i],
            _ => 1.0,
        };
        for (h, m) in f.mean.iter().enumerate() {
            errors[h].push((actual[f.origin + 1 + h] - m).abs() / s);
        }
    }
    for e in &mut errors {
        e.sort_by(f64::total_cmp);
    }
    Calibration { errors, scale }
}

/// Replaces every interval of `ev` with point ± the calibrated half-width at `level` and
/// recomputes its metrics (`mase_scale` as in the backtest).
pub fn apply(cal: &Calibration, ev: &mut Evaluation, actual: &[f64], level: f64, mase_scale: f64) {
    let (mut act, mut pred, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in &mut ev.forecasts {
        let scale = cal.scale_at(actual, f.origin);
        for h in 0..f.mean.len() {
            (f.lower[h], f.upper[h]) = cal.interval(f.mean[h], h, level, scale);
            act.push(actual[f.origin + 1 + h]);
            pred.push(f.mean[h]);
            lo.push(f.lower[h]);
            hi.push(f.upper[h]);
        }
    }
    ev.metrics = Metrics::compute(&act, &pred, &lo, &hi, mase_scale, level);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::backtest::OriginForecast;

    fn eval(origins: &[(usize, Vec<f64>)]) -> Evaluation {
        Evaluation::unscored(
            origins
                .iter()
                .map(|(o, m)| OriginForecast::point(*o, m.clone()))
                .collect(),
        )
    }

    #[test]
    fn quantiles_by_hand() {
        // Actuals 0..; forecasts off by 1..9 at step 1 and by 10 at step 2 (origin 0 only).
        let actual: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let origins: Vec<(usize, Vec<f64>)> = (0..9)
            .map(|o| {
                let step1 = actual[o + 1] + (o + 1) as f64 * if o % 2 == 0 { 1.0 } else { -1.0 };
                if o == 0 {
                    (o, vec![step1, actual[2] - 10.0])
                } else {
                    (o, vec![step1])
                }
            })
            .collect();
        let c = from_evaluation(&eval(&origins), &actual);
        assert_eq!(c.errors[0], (1..=9).map(f64::from).collect::<Vec<_>>());
        assert_eq!(c.errors[1], vec![10.0]);
        // n = 9: level 0.8 → rank ⌈10·0.8⌉ = 8 → 8; level 0.5 → rank 5 → 5; 0.95 → rank 10 > 9
        // → the largest, 9.
        assert_eq!(c.half_width(0, 0.8), 8.0);
        assert_eq!(c.half_width(0, 0.5), 5.0);
        assert_eq!(c.half_width(0, 0.95), 9.0);
        // Past the calibrated two steps: step 2's width × √(4/2).
        assert!((c.half_width(3, 0.8) - 10.0 * 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn apply_rebuilds_intervals_and_coverage() {
        let actual: Vec<f64> = (0..20).map(|i| 10.0 + i as f64).collect();
        let cal = Calibration {
            errors: vec![vec![1.0, 2.0, 3.0]],
            scale: None,
        };
        // Errors 0.5, 2.5, 4 against a half-width of 3 (n = 3, level 0.75 → rank 3).
        let mut ev = eval(&[
            (0, vec![actual[1] + 0.5]),
            (1, vec![actual[2] - 2.5]),
            (2, vec![actual[3] + 4.0]),
        ]);
        apply(&cal, &mut ev, &actual, 0.75, 1.0);
        assert_eq!(ev.forecasts[0].lower[0], actual[1] + 0.5 - 3.0);
        assert_eq!(ev.forecasts[2].upper[0], actual[3] + 7.0);
        assert!((ev.metrics.coverage - 2.0 / 3.0).abs() < 1e-12);
        assert!((ev.metrics.width - 6.0).abs() < 1e-12);
    }

    #[test]
    fn errors_are_normalised_by_the_scale_at_their_origin() {
        // A series whose weekly differences are all 2 before day 40 and 4 from then on.
        let actual: Vec<f64> = (0..60)
            .map(|i| {
                if i < 40 {
                    2.0 * (i / 7) as f64
                } else {
                    10.0 + 4.0 * (i / 7) as f64
                }
            })
            .collect();
        let scale_40 = LocalScale::raw(28, 7, &actual, 40).unwrap();
        // Origin 35: scale 2 (its 28 days all have differences of 2); origin 40: mixed.
        assert_eq!(LocalScale::raw(28, 7, &actual, 35), Some(2.0));
        let ev = eval(&[(35, vec![actual[36] + 3.0]), (40, vec![actual[41] - 5.0])]);
        let c = from_evaluation(&ev, &actual);
        let s = c.scale.expect("every origin has a scale");
        assert_eq!((s.window, s.period, s.floor), (28, 7, 2.0));
        let mut want = vec![3.0 / 2.0, 5.0 / scale_40];
        want.sort_by(f64::total_cmp);
        assert_eq!(c.errors[0], want);
        // Served at another origin: the quantile in scale units (n = 2, level 0.5 → rank 2) times the scale there.
        let at_55 = LocalScale::raw(28, 7, &actual, 55).unwrap();
        assert_eq!(
            c.half_width(0, 0.5) * c.scale_at(&actual, 55),
            want[1] * at_55
        );
    }
}
