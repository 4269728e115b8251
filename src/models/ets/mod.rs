//! Exponential smoothing with additive errors and no season — ETS(A,N,N), ETS(A,A,N) and
//! ETS(A,Ad,N) — chosen by AICc: the trend model of MSTL (protocol §5, search "AZN").
//!
//! Why our own rather than augurs' `AutoETS`: augurs keeps a fit's parameters and states
//! private, so a fitted model cannot be kept and run over new data. Protocol §4 fixes
//! parameters after fitting and filters the new observations up to each origin; without that,
//! every origin paid a fresh search (633 per default train, ~3.5 ms each: most of the time of
//! everything but the LSTM). Here a fit is plain data ([`Ets`]) that [`Ets::forecast`] runs
//! over any series that extends the one it was fitted on.
//!
//! The estimation follows augurs' step for step — the same starting values and bounds, the same
//! bounded Nelder–Mead with its stopping rule, likelihood and AICc — so a search here picks the
//! model augurs picks, with the same parameters; the tests hold the two side by side on the
//! same series. augurs ported R's `forecast::ets` (via statsforecast) with two differences kept
//! here: β is bounded above by α's starting value (≈ 0.19, a side effect of augurs' start-up)
//! rather than by α itself as in R, fable and statsforecast, and admissibility is not
//! re-checked during the search (inside those bounds it always holds for these models).

mod nelder_mead;

use self::nelder_mead::nelder_mead;

use serde::{Deserialize, Serialize};

/// The trend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtsTrend {
    None,
    Additive,
    Damped,
}

impl EtsTrend {
    /// Augurs' search order for "AZN" (trend N then A, damped tried before undamped); the
    /// first of equal AICc wins, as in augurs.
    const SEARCH: [EtsTrend; 3] = [EtsTrend::None, EtsTrend::Damped, EtsTrend::Additive];

    fn has_slope(self) -> bool {
        self != EtsTrend::None
    }
}

/// A fitted model: parameters, initial states and innovation variance, all fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ets {
    pub trend: EtsTrend,
    pub alpha: f64,
    /// 0 without a trend.
    pub beta: f64,
    /// 1 unless damped.
    pub phi: f64,
    /// Level and slope before the first observation (estimated with the smoothing parameters).
    pub level0: f64,
    pub slope0: f64,
    /// Innovation variance of the fit (augurs' interval variance: SSE / (n − k − 2)).
    pub sigma2: f64,
    #[serde(with = "crate::models::nonfinite")]
    pub aicc: f64,
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EtsError {
    #[error("needs more than {min} observations, got {got}")]
    TooShort { min: usize, got: usize },
    #[error("non-finite value at position {0}")]
    NonFinite(usize),
    #[error("no ETS model could be fitted (every candidate's likelihood was undefined)")]
    NoModel,
    #[error("the estimates are not finite")]
    NonFiniteFit,
}

// augurs' defaults for "usual" bounds: α, β, γ, φ.
const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];

impl Ets {
    /// Fits the three models and keeps the one with the lowest AICc.
    pub fn auto(y: &[f64]) -> Result<Ets, EtsError> {
        check_input(y)?;
        // augurs' guard for a search whose trend is "auto": two parameters (α, l0) + 4.
        if y.len() <= 6 {
            return Err(EtsError::TooShort {
                min: 6,
                got: y.len(),
            });
        }
        let mut best: Option<Ets> = None;
        for trend in EtsTrend::SEARCH {
            let Ok(fit) = Ets::fit(y, trend) else {
                continue;
            };
            if fit.aicc.is_nan() {
                continue;
            }
            if best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                best = Some(fit);
            }
        }
        best.ok_or(EtsError::NoModel)
    }

    /// Fits one model by maximum likelihood (Nelder–Mead over the smoothing parameters and
    /// the initial states).
    pub fn fit(y: &[f64], trend: EtsTrend) -> Result<Ets, EtsError> {
        check_input(y)?;
        let n = y.len();
        let slope = trend.has_slope();
        let damped = trend == EtsTrend::Damped;

        // Starting values, as augurs' `initial_params` (season length 1; with these bounds
        // its fallbacks for starts outside [0, 1] or β₀ > α₀ never apply).
        let alpha0 = LOWER[0] + 0.2 * (UPPER[0] - LOWER[0]);
        // The start-up narrows β's upper bound to α₀ and the optimiser keeps that bound.
        let beta_upper = UPPER[1].min(alpha0);
        let beta0 = LOWER[1] + 0.1 * (beta_upper - LOWER[1]);
        let phi0 = LOWER[3] + 0.99 * (UPPER[3] - LOWER[3]);
        let (level0, slope0) = initial_state(y, slope);

        let mut x0 = vec![alpha0];
        let mut lower = vec![LOWER[0]];
        let mut upper = vec![UPPER[0]];
        if slope {
            x0.push(beta0);
            lower.push(LOWER[1]);
            upper.push(beta_upper);
        }
        if damped {
            x0.push(phi0);
            lower.push(LOWER[3]);
            upper.push(UPPER[3]);
        }
        x0.push(level0);
        if slope {
            x0.push(slope0);
        }
        while lower.len() < x0.len() {
            lower.push(f64::NEG_INFINITY);
            upper.push(f64::INFINITY);
        }
        if x0.len() >= n - 1 {
            return Err(EtsError::TooShort {
                min: x0.len() + 1,
                got: n,
            });
        }

        let unpack = |x: &[f64]| -> Ets {
            let mut i = 1;
            let beta = if slope {
                i += 1;
                x[i - 1]
            } else {
                0.0
            };
            let phi = if damped {
                i += 1;
                x[i - 1]
            } else {
                1.0
            };
            Ets {
                trend,
                alpha: x[0],
                beta,
                phi,
                level0: x[i],
                slope0: if slope { x[i + 1] } else { 0.0 },
                sigma2: f64::NAN,
                aicc: f64::NAN,
            }
        };
        let cost = |x: &[f64]| likelihood(n, unpack(x).sse(y));
        let best = nelder_mead(&cost, x0, &lower, &upper);

        let mut fit = unpack(&best);
        let sse = fit.sse(y);
        let lik = likelihood(n, sse);
        // Parameters as augurs counts them: the states plus the estimated smoothing ones.
        let n_states = 1 + slope as usize;
        let k = n_states + 1 + slope as usize + damped as usize;
        let aic = lik + 2.0 * k as f64;
        let k1 = (k + 1) as f64;
        let denom = n as f64 - k1 - 1.0;
        fit.aicc = if denom != 0.0 {
            aic + 2.0 * k1 * (k1 + 1.0) / denom
        } else {
            f64::INFINITY
        };
        fit.sigma2 = sse / (n as f64 - k as f64 - 2.0);
        if fit.check().is_err() {
            return Err(EtsError::NonFiniteFit);
        }
        Ok(fit)
    }

    /// Checks a model (e.g. one read from a file): finite values, smoothing parameters inside
    /// the bounds estimation keeps to, a variance that is not negative.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("phi", self.phi),
            ("level0", self.level0),
            ("slope0", self.slope0),
            ("sigma2", self.sigma2),
        ];
        if let Some((k, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(format!("ETS {k} is {v}"));
        }
        if !(LOWER[0]..=1.0).contains(&self.alpha) {
            return Err(format!(
                "ETS alpha {} is outside [{}, 1]",
                self.alpha, LOWER[0]
            ));
        }
        if !(0.0..=1.0).contains(&self.beta) || !(0.0..=1.0).contains(&self.phi) {
            return Err(format!(
                "ETS beta {} or phi {} is outside [0, 1]",
                self.beta, self.phi
            ));
        }
        if self.sigma2 < 0.0 {
            return Err(format!("ETS sigma2 {} is negative", self.sigma2));
        }
        Ok(())
    }

    /// augurs' name of the model, e.g. "ETS(A,Ad,N)".
    pub fn name(&self) -> &'static str {
        match self.trend {
            EtsTrend::None => "ETS(A,N,N)",
            EtsTrend::Additive => "ETS(A,A,N)",
            EtsTrend::Damped => "ETS(A,Ad,N)",
        }
    }

    /// Sum of squared one-step errors over `y`, starting from the fitted initial states.
    fn sse(&self, y: &[f64]) -> f64 {
        let mut sse = 0.0;
        self.run(y, |e| sse += e * e);
        sse
    }

    /// Runs the filter over `y` from the initial states, handing each one-step error to
    /// `each`, and returns the final level and slope. The arithmetic is augurs' own, in its
    /// order, so that fits agree to the last bits where the optimiser paths agree.
    fn run(&self, y: &[f64], mut each: impl FnMut(f64)) -> (f64, f64) {
        let (alpha, beta, phi) = (self.alpha, self.beta, self.phi);
        let mut l = self.level0;
        match self.trend {
            EtsTrend::None => {
                for &v in y {
                    let e = v - l;
                    each(e);
                    l += alpha * (v - l);
                }
                (l, 0.0)
            }
            EtsTrend::Additive | EtsTrend::Damped => {
                let mut b = self.slope0;
                let ratio = beta / alpha;
                for &v in y {
                    let phi_b = phi * b;
                    let q = l + phi_b;
                    each(v - q);
                    let new_l = q + alpha * (v - q);
                    b = phi_b + ratio * ((new_l - l) - phi_b);
                    l = new_l;
                }
                (l, b)
            }
        }
    }

    /// Filters `y` (a series that starts where the fitted one started; the parameters stay
    /// as fitted) and forecasts `horizon` steps with central intervals at `level`.
    pub fn forecast(&self, y: &[f64], horizon: usize, level: f64) -> EtsForecast {
        let (l, b) = self.run(y, |_| {});
        let (alpha, beta, phi) = (self.alpha, self.beta, self.phi);
        let mut mean = Vec::with_capacity(horizon);
        // Σ_{j≤h} φ^j, accumulated as augurs does.
        let mut phi_star = phi;
        for i in 0..horizon {
            mean.push(match self.trend {
                EtsTrend::None => l,
                _ => l + phi_star * b,
            });
            if (phi - 1.0).abs() < 1e-10 {
                phi_star += 1.0;
            } else {
                phi_star += phi.powi(i as i32 + 2);
            }
        }
        // Closed-form h-step variances of the three classes (Hyndman et al. 2008, table 6.1),
        // written as augurs writes them.
        let z = crate::util::stats::z_for_level(level);
        let sigma2 = self.sigma2;
        let a2 = alpha * alpha;
        let (mut lower, mut upper) = (Vec::with_capacity(horizon), Vec::with_capacity(horizon));
        for (i, &m) in mean.iter().enumerate() {
            let s = (i + 1) as f64;
            let var = match self.trend {
                EtsTrend::None => ((s - 1.0) * a2 + 1.0) * sigma2,
                EtsTrend::Additive => {
                    let e1 =
                        a2 + alpha * beta * s + (1.0 / 6.0) * beta * beta * s * (2.0 * s - 1.0);
                    (1.0 + (s - 1.0) * e1) * sigma2
                }
                EtsTrend::Damped => {
                    let phi_s = phi.powi(s as i32);
                    let phi2 = phi * phi;
                    let e2 = (beta * phi * s) / (1.0 - phi).powi(2);
                    let e3 = 2.0 * alpha * (1.0 - phi) + beta * phi;
                    let e4 = (beta * phi * (1.0 - phi_s)) / ((1.0 - phi).powi(2) * (1.0 - phi2));
                    let e5 = 2.0 * alpha * (1.0 - phi2) + beta * phi * (1.0 + 2.0 * phi - phi_s);
                    (1.0 + a2 * (s - 1.0) + e2 * e3 - e4 * e5) * sigma2
                }
            };
            let sd = var.sqrt();
            lower.push(m - z * sd);
            upper.push(m + z * sd);
        }
        EtsForecast { mean, lower, upper }
    }
}

/// Point forecasts and interval bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsForecast {
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

fn check_input(y: &[f64]) -> Result<(), EtsError> {
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(EtsError::NonFinite(i));
    }
    if y.len() < 3 {
        return Err(EtsError::TooShort {
            min: 2,
            got: y.len(),
        });
    }
    Ok(())
}

/// The concentrated Gaussian likelihood augurs minimises for additive errors: n·ln(SSE).
fn likelihood(n: usize, sse: f64) -> f64 {
    if sse > 0.0 {
        n as f64 * sse.ln()
    } else {
        n as f64 * (sse + 1e-8).ln()
    }
}

/// Initial level (and slope): the mean of the first ten values, or with a trend the least
/// squares line through them at t = 1..10.
fn initial_state(y: &[f64], slope: bool) -> (f64, f64) {
    let m = y.len().min(10);
    let head = &y[..m];
    if !slope {
        return (head.iter().sum::<f64>() / m as f64, 0.0);
    }
    let tbar = (m as f64 + 1.0) / 2.0;
    let ybar = head.iter().sum::<f64>() / m as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &v) in head.iter().enumerate() {
        let dt = (i + 1) as f64 - tbar;
        sxy += dt * (v - ybar);
        sxx += dt * dt;
    }
    let b = sxy / sxx;
    let (mut l, mut b) = (ybar - b * tbar, b);
    if (l + b).abs() < 1e-8 {
        l *= 1.0 + 1e-3;
        b *= 1.0 + 1e-3;
    }
    (l, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use augurs::ets::AutoETS;
    use augurs::{Fit, Predict};
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Series of different characters: level with noise, a random walk, a straight trend,
    /// a trend that flattens, a short one.
    fn series() -> Vec<(&'static str, Vec<f64>)> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 1.0).unwrap();
        let mut e = |s: f64| s * noise.sample(&mut rng);
        let level: Vec<f64> = (0..300).map(|_| 5.0 + e(0.3)).collect();
        let mut walk = vec![0.0];
        for t in 1..400 {
            walk.push(walk[t - 1] + e(0.1));
        }
        let trend: Vec<f64> = (0..250).map(|t| 2.0 + 0.01 * t as f64 + e(0.05)).collect();
        let flattening: Vec<f64> = (0..300)
            .map(|t| 10.0 * (1.0 - (-(t as f64) / 60.0).exp()) + e(0.2))
            .collect();
        let mut local = vec![1.0];
        let mut slope = 0.02;
        for t in 1..500 {
            slope += e(0.002);
            local.push(local[t - 1] + slope + e(0.05));
        }
        let short: Vec<f64> = (0..20).map(|t| 0.3 + 0.02 * t as f64 + e(0.01)).collect();
        vec![
            ("level", level),
            ("walk", walk),
            ("trend", trend),
            ("flattening", flattening),
            ("local_trend", local),
            ("short", short),
        ]
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-12)
    }

    /// The reference: augurs' AutoETS with the same search on the same series. The two
    /// agree to ~1e-13 (the initial-state regression is solved differently); the three
    /// models are each selected at least once here.
    #[test]
    fn auto_selects_and_fits_as_augurs_does() {
        let mut selected = std::collections::BTreeSet::new();
        for (name, y) in series() {
            let ours = Ets::auto(&y).unwrap();
            selected.insert(ours.name());
            let theirs = AutoETS::new(1, "AZN").unwrap().fit(&y).unwrap();
            let m = theirs.model();
            let trend = match (m.model_type().trend.included(), m.damped()) {
                (false, _) => EtsTrend::None,
                (true, false) => EtsTrend::Additive,
                (true, true) => EtsTrend::Damped,
            };
            assert_eq!(ours.trend, trend, "{name}: selected model");
            assert!(
                rel(ours.aicc, m.aicc()) < 1e-9,
                "{name}: AICc {} vs augurs {}",
                ours.aicc,
                m.aicc()
            );
            let f = ours.forecast(&y, 7, 0.9);
            let g = theirs.predict(7, 0.9).unwrap();
            let gi = g.intervals.unwrap();
            // augurs' damped point forecasts past one step carry an old off-by-one (see
            // `forecast_sums_the_damping_powers`); one step ahead and undamped ones agree.
            let steps = if trend == EtsTrend::Damped { 1 } else { 7 };
            let scale = y.iter().map(|v| v.abs()).fold(0.0, f64::max);
            for h in 0..steps {
                for (a, b, what) in [
                    (f.mean[h], g.point[h], "point"),
                    (f.lower[h], gi.lower[h], "lower"),
                    (f.upper[h], gi.upper[h], "upper"),
                ] {
                    assert!(
                        (a - b).abs() < 1e-9 * scale,
                        "{name}: {what} at step {} is {a}, augurs {b}",
                        h + 1
                    );
                }
            }
        }
        assert_eq!(
            selected.len(),
            3,
            "every model should be exercised: {selected:?}"
        );
    }

    /// Each single model reaches augurs' likelihood (same optimiser, same start).
    #[test]
    fn single_models_reach_augurs_likelihood() {
        use augurs::ets::model::{
            ErrorComponent, ModelType, SeasonalComponent, TrendComponent, Unfit,
        };
        for (name, y) in series() {
            for trend in EtsTrend::SEARCH {
                let ours = Ets::fit(&y, trend).unwrap();
                let theirs = Unfit::new(ModelType {
                    error: ErrorComponent::Additive,
                    trend: if trend.has_slope() {
                        TrendComponent::Additive
                    } else {
                        TrendComponent::None
                    },
                    season: SeasonalComponent::None,
                })
                .damped(trend == EtsTrend::Damped)
                .fit(&y)
                .unwrap();
                assert!(
                    rel(ours.aicc, theirs.aicc()) < 1e-9,
                    "{name} {trend:?}: AICc {} vs augurs {}",
                    ours.aicc,
                    theirs.aicc()
                );
            }
        }
    }

    #[test]
    fn forecast_sums_the_damping_powers() {
        // ŷ(h) = l + (φ + φ² + … + φ^h)·b. augurs (like R's forecast before robjhyndman/
        // forecast#1172 and statsforecast before Nixtla/statsforecast#1219) added φ^(i+1)
        // at step i, so its second step used 2φ·b.
        let m = Ets {
            trend: EtsTrend::Damped,
            alpha: 0.5,
            beta: 0.1,
            phi: 0.9,
            level0: 1.0,
            slope0: 0.5,
            sigma2: 0.01,
            aicc: 0.0,
        };
        let f = m.forecast(&[], 4, 0.95);
        let mut sum = 0.0;
        for h in 0..4 {
            sum += 0.9f64.powi(h as i32 + 1);
            assert!(
                (f.mean[h] - (1.0 + sum * 0.5)).abs() < 1e-15,
                "step {}",
                h + 1
            );
        }
    }

    #[test]
    fn filtering_an_extended_series_continues_the_fit() {
        let (_, y) = series().swap_remove(4);
        let fit = Ets::fit(&y[..300], EtsTrend::Additive).unwrap();
        // Over a longer series the fit keeps filtering with its parameters: the forecast
        // from 400 follows the data after 300 (this local trend has moved on since).
        let at300 = fit.forecast(&y[..300], 1, 0.95).mean[0];
        let at400 = fit.forecast(&y[..400], 1, 0.95).mean[0];
        assert!((at400 - y[399]).abs() < (at300 - y[399]).abs());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            Ets::auto(&[1.0, 2.0, 3.0]),
            Err(EtsError::TooShort { .. })
        ));
        assert_eq!(
            Ets::auto(&[1.0, 2.0, f64::NAN, 4.0, 5.0, 6.0, 7.0, 8.0]),
            Err(EtsError::NonFinite(2))
        );
        // A constant series has zero error: fitted, not NaN.
        let c = Ets::auto(&[3.0; 40]).unwrap();
        assert!(
            c.forecast(&[3.0; 40], 3, 0.95)
                .mean
                .iter()
                .all(|v| (v - 3.0).abs() < 1e-6)
        );
        // Models read from files are checked before use.
        assert_eq!(c.check(), Ok(()));
        for broken in [
            Ets {
                alpha: 0.0,
                ..c.clone()
            },
            Ets {
                sigma2: f64::NAN,
                ..c.clone()
            },
            Ets {
                phi: 1.5,
                ..c.clone()
            },
        ] {
            assert!(broken.check().is_err(), "{broken:?}");
        }
    }
}
