//! How many differences: the KPSS test for d and the seasonal-strength heuristic for D, as
//! statsforecast 2.1.1's `ndiffs(test="kpss")` and `nsdiffs(test="seas")` take them (which
//! follow R's `forecast::ndiffs` / `nsdiffs`, with statsmodels' KPSS and STL underneath).

use crate::models::sarimax::start::difference;

/// KPSS critical values for a level-stationary null (Kwiatkowski et al. 1992, table 1) at
/// 10%, 5%, 2.5%, 1%; statsmodels interpolates its p-value between them.
const KPSS_5PCT: f64 = 0.463;
/// Seasonal strength above which one seasonal difference is taken (Wang, Smith & Hyndman
/// 2006; `forecast::nsdiffs`).
const SEASONAL_STRENGTH: f64 = 0.64;

/// Whether every value equals the first (NaN-free input).
pub fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|&v| v == x[0])
}

/// The KPSS level-stationarity statistic with `nlags` Bartlett-weighted autocovariances
/// (statsmodels `kpss(x, "c", nlags)`).
pub fn kpss_stat(x: &[f64], nlags: usize) -> f64 {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let eta = e
        .iter()
        .map(|v| {
            s += v;
            s * s
        })
        .sum::<f64>()
        / (n * n) as f64;
    let mut s_hat: f64 = e.iter().map(|v| v * v).sum();
    for i in 1..=nlags.min(n.saturating_sub(1)) {
        let prod: f64 = (i..n).map(|t| e[t] * e[t - i]).sum();
        s_hat += 2.0 * prod * (1.0 - i as f64 / (nlags as f64 + 1.0));
    }
    eta / (s_hat / n as f64)
}

/// Whether KPSS rejects level stationarity at 5% (statsforecast's lag rule
/// ⌊3√n / 13⌋). Its interpolated p-value is below 0.05 exactly when the statistic is above
/// the 5% critical value.
fn kpss_rejects(x: &[f64]) -> bool {
    let nlags = (3.0 * (x.len() as f64).sqrt() / 13.0).floor() as usize;
    kpss_stat(x, nlags) > KPSS_5PCT
}

/// The number of first differences, at most `max_d`. Like statsforecast, each difference
/// also drops its first value before the next test.
pub fn ndiffs(x: &[f64], max_d: usize) -> usize {
    let mut x = x.to_vec();
    let mut d = 0;
    if x.len() < 3 || is_constant(&x) {
        return 0;
    }
    let mut reject = kpss_rejects(&x);
    while reject && d < max_d {
        d += 1;
        x = difference(&x, 1, 0, 1);
        if !x.is_empty() {
            x.remove(0);
        }
        if x.len() < 3 || is_constant(&x) {
            return d;
        }
        reject = kpss_rejects(&x);
    }
    d
}

/// Seasonal strength 1 − var(remainder) / var(remainder + seasonal) of an STL decomposition
/// with statsforecast's `mstl` settings for one period: seasonal window 11, seasonal degree 0,
/// statsmodels' default trend and low-pass windows, no robustness iterations.
pub fn seasonal_strength(x: &[f64], period: usize) -> Option<f64> {
    let seasonal_window = 11;
    let odd = |v: usize| if v.is_multiple_of(2) { v + 1 } else { v };
    let trend = odd((1.5 * period as f64 / (1.0 - 1.5 / seasonal_window as f64)).ceil() as usize);
    let low_pass = odd(period + 1);
    let fit = stlrs::params()
        .seasonal_length(seasonal_window)
        .trend_length(trend)
        .low_pass_length(low_pass)
        .seasonal_degree(0)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(2)
        .outer_loops(0)
        .robust(false)
        .fit(x, period)
        .ok()?;
    let rem = fit.remainder();
    let both: Vec<f64> = rem.iter().zip(fit.seasonal()).map(|(r, s)| r + s).collect();
    let strength = 1.0 - variance(rem) / variance(&both);
    strength.is_finite().then(|| strength.clamp(0.0, 1.0))
}

fn variance(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)
}

/// The number of seasonal differences (0 or 1 with `max_big_d` = 1).
pub fn nsdiffs(x: &[f64], period: usize, max_big_d: usize) -> usize {
    if period <= 1 || period >= x.len() || is_constant(x) {
        return 0;
    }
    let mut x = x.to_vec();
    let mut big_d = 0;
    let mut strong = seasonal_strength(&x, period).is_some_and(|s| s > SEASONAL_STRENGTH);
    while strong && big_d < max_big_d {
        big_d += 1;
        x = difference(&x, 0, 1, period);
        if is_constant(&x) {
            return big_d;
        }
        strong = x.len() >= 2 * period
            && big_d < max_big_d
            && seasonal_strength(&x, period).is_some_and(|s| s > SEASONAL_STRENGTH);
    }
    big_d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpss_matches_a_hand_computation() {
        // x = 1..=6, mean 3.5: e = -2.5 .. 2.5, partial sums -2.5,-4,-4.5,-4,-2.5,0,
        // eta = 64.75 / 36; no lags: s_hat = 17.5 / 6.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let want = (64.75 / 36.0) / (17.5 / 6.0);
        assert!((kpss_stat(&x, 0) - want).abs() < 1e-12);
    }
}
