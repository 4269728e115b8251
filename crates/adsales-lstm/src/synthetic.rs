//! A seeded synthetic frame for tests and benchmarks until (and besides) the real feature
//! pipeline: a weekly-seasonal target with trend and noise, plus feature columns shaped like
//! the real ones (day-of-week one-hot, lags, rolling means, noise), all roughly in [0, 1].

use chrono::{Days, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use adsales::models::Frame;

/// `rows` days, `n_features` columns (≥ 9: target, 7 weekday flags, then lags / rolling means /
/// noise), noise standard deviation `noise` on the target.
pub fn synthetic_frame(rows: usize, n_features: usize, noise: f64, seed: u64) -> Frame {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    let start = NaiveDate::from_ymd_opt(2023, 1, 2).expect("valid date");
    let dates: Vec<NaiveDate> = (0..rows).map(|i| start + Days::new(i as u64)).collect();
    let target: Vec<f64> = (0..rows)
        .map(|i| {
            let t = i as f64;
            let weekly = [0.0, 0.05, 0.1, 0.08, 0.15, 0.3, 0.25][i % 7];
            0.25 + 0.3 * t / rows as f64
                + weekly
                + 0.05 * (t * std::f64::consts::TAU / 91.0).sin()
                + noise * normal.sample(&mut rng)
        })
        .collect();
    let mut names = vec!["revenue".to_string()];
    let mut cols = vec![target.clone()];
    for d in 0..7 {
        names.push(format!("dow_{d}"));
        cols.push((0..rows).map(|i| f64::from(i % 7 == d)).collect());
    }
    let mut k = 0;
    while cols.len() < n_features.max(9) {
        k += 1;
        let col: Vec<f64> = match k % 3 {
            0 => {
                let lag = 7 * (k / 3);
                (0..rows).map(|i| target[i.saturating_sub(lag)]).collect()
            }
            1 => {
                let w = 7 * (1 + k / 3);
                (0..rows)
                    .map(|i| {
                        let lo = (i + 1).saturating_sub(w);
                        target[lo..=i].iter().sum::<f64>() / (i + 1 - lo) as f64
                    })
                    .collect()
            }
            _ => (0..rows)
                .map(|_| 0.5 + 0.15 * normal.sample(&mut rng))
                .collect(),
        };
        names.push(format!("feature_{k}"));
        cols.push(col);
    }
    Frame {
        dates,
        names,
        cols,
        target: "revenue".into(),
    }
}
