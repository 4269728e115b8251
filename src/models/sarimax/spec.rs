//! Model specification, parameter layout and names (statsmodels `SARIMAX` conventions).
//!
//! Convention (documented because two exist): the trend is SARIMAX's, not ARIMA's. Trend terms
//! enter the **state equation** as an intercept on the first ARMA state, with time
//! index t = 1, 2, ... for the first, second, ... observation of the series the model was built
//! on (statsmodels `trend_offset = 1`). So with `trend = c` and d = 0 the process mean is
//! `intercept / (1 - sum(ar))`, not `intercept`; with d = 1 the intercept is a drift of the
//! level. Exogenous regressors enter the observation equation (regression with SARIMA errors).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::models::ModelError;

/// Deterministic trend polynomial in the state equation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    /// No trend.
    #[default]
    N,
    /// Intercept (`intercept`).
    C,
    /// Linear time trend only (`drift`, times t = 1, 2, ...).
    T,
    /// Intercept and linear time trend.
    Ct,
}

impl Trend {
    /// Parse `n|c|t|ct`.
    pub fn parse(s: &str) -> Option<Trend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "n" => Some(Trend::N),
            "c" => Some(Trend::C),
            "t" => Some(Trend::T),
            "ct" => Some(Trend::Ct),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Trend::N => "n",
            Trend::C => "c",
            Trend::T => "t",
            Trend::Ct => "ct",
        }
    }
    /// Powers of t included (0 = intercept, 1 = drift), in parameter order.
    pub(crate) fn powers(&self) -> &'static [u32] {
        match self {
            Trend::N => &[],
            Trend::C => &[0],
            Trend::T => &[1],
            Trend::Ct => &[0, 1],
        }
    }
}

/// A SARIMAX(p,d,q)(P,D,Q,s) specification with trend and exogenous regressors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarimaxSpec {
    /// Non-seasonal (p, d, q).
    pub order: (usize, usize, usize),
    /// Seasonal (P, D, Q, s); `(0, 0, 0, 0)` for none.
    pub seasonal: (usize, usize, usize, usize),
    pub trend: Trend,
    /// Names of the exogenous regressors, in parameter order.
    #[serde(default)]
    pub exog: Vec<String>,
    /// Exact diffuse initialisation of the differencing states instead of statsmodels'
    /// default approximate diffuse prior (variance 1e6, first d + D·s observations burned).
    #[serde(default)]
    pub exact_diffuse: bool,
}

impl SarimaxSpec {
    /// ARIMA(p,d,q) with the given trend and no seasonal part or exog.
    pub fn arima(p: usize, d: usize, q: usize, trend: Trend) -> Self {
        SarimaxSpec {
            order: (p, d, q),
            seasonal: (0, 0, 0, 0),
            trend,
            exog: Vec::new(),
            exact_diffuse: false,
        }
    }

    /// True when the spec has a seasonal part (any of P, D, Q non-zero).
    pub fn has_seasonal(&self) -> bool {
        let (sp, sd, sq, _) = self.seasonal;
        sp + sd + sq > 0
    }

    /// Check the orders make sense on their own (not against data).
    pub fn validate(&self) -> Result<(), ModelError> {
        let (sp, sd, sq, s) = self.seasonal;
        if self.has_seasonal() && s < 2 {
            return Err(self.unsupported(format!(
                "seasonal period s must be at least 2 when (P,D,Q) = ({sp},{sd},{sq}) is not zero"
            )));
        }
        let (p, d, q) = self.order;
        if p > 100 || q > 100 || d > 4 || sp > 10 || sq > 10 || sd > 2 || s > 400 {
            return Err(self.unsupported("orders are implausibly large".to_string()));
        }
        // statsmodels refuses the same lag in both polynomials: the model is not identified.
        if sp > 0 && p >= s {
            return Err(self.unsupported(format!(
                "AR lag(s) {s}.. appear in both the seasonal and non-seasonal AR parts (p = {p} >= s = {s})"
            )));
        }
        if sq > 0 && q >= s {
            return Err(self.unsupported(format!(
                "MA lag(s) {s}.. appear in both the seasonal and non-seasonal MA parts (q = {q} >= s = {s})"
            )));
        }
        // Memory and time grow with the square of the state dimension; refuse clearly
        // rather than allocate gigabytes.
        let states = Layout::new(self).k_states;
        if states > 600 {
            return Err(self.unsupported(format!(
                "state dimension {states} (p + P·s, q + Q·s + 1, d + D·s) is too large; at most 600"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for name in &self.exog {
            if !seen.insert(name.as_str()) {
                return Err(self.unsupported(format!("exog column {name:?} listed twice")));
            }
        }
        Ok(())
    }

    pub(crate) fn unsupported(&self, reason: String) -> ModelError {
        ModelError::Unsupported {
            spec: self.to_string(),
            reason,
        }
    }

    pub(crate) fn numerical(&self, reason: String) -> ModelError {
        ModelError::Numerical {
            spec: self.to_string(),
            reason,
        }
    }

    /// Parameter names in statsmodels' order.
    pub fn param_names(&self) -> Vec<String> {
        Layout::new(self).names(self)
    }
}

impl fmt::Display for SarimaxSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (p, d, q) = self.order;
        if self.has_seasonal() || !self.exog.is_empty() {
            let (sp, sd, sq, s) = self.seasonal;
            write!(
                f,
                "SARIMAX({p},{d},{q})({sp},{sd},{sq},{s}) trend={}",
                self.trend.as_str()
            )?;
            if !self.exog.is_empty() {
                write!(f, " exog=[{}]", self.exog.join(","))?;
            }
        } else {
            write!(f, "ARIMA({p},{d},{q}) trend={}", self.trend.as_str())?;
        }
        if self.exact_diffuse {
            write!(f, " exact_diffuse")?;
        }
        Ok(())
    }
}

/// Sizes and offsets derived from a spec (statsmodels' `_k_*` attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub k_trend: usize,
    pub k_exog: usize,
    pub p: usize,
    pub q: usize,
    pub sp: usize,
    pub sq: usize,
    pub s: usize,
    pub d: usize,
    pub sd: usize,
    /// Degree of the reduced (multiplied) AR polynomial: p + P·s.
    pub k_ar: usize,
    /// Degree of the reduced MA polynomial: q + Q·s.
    pub k_ma: usize,
    /// ARMA block size: max(k_ar, k_ma + 1).
    pub k_order: usize,
    /// Differencing states: d + D·s; also the log-likelihood burn.
    pub k_diff: usize,
    pub k_states: usize,
    pub n_params: usize,
}

impl Layout {
    pub fn new(spec: &SarimaxSpec) -> Layout {
        let (p, d, q) = spec.order;
        let (sp, sd, sq, s) = spec.seasonal;
        let s = if spec.has_seasonal() { s } else { 0 };
        let k_ar = p + sp * s;
        let k_ma = q + sq * s;
        let k_order = k_ar.max(k_ma + 1);
        let k_diff = d + sd * s;
        let k_trend = spec.trend.powers().len();
        let k_exog = spec.exog.len();
        Layout {
            k_trend,
            k_exog,
            p,
            q,
            sp,
            sq,
            s,
            d,
            sd,
            k_ar,
            k_ma,
            k_order,
            k_diff,
            k_states: k_order + k_diff,
            n_params: k_trend + k_exog + p + q + sp + sq + 1,
        }
    }

    /// Offsets of each parameter block.
    pub fn i_exog(&self) -> usize {
        self.k_trend
    }
    pub fn i_ar(&self) -> usize {
        self.k_trend + self.k_exog
    }
    pub fn i_ma(&self) -> usize {
        self.i_ar() + self.p
    }
    pub fn i_sar(&self) -> usize {
        self.i_ma() + self.q
    }
    pub fn i_sma(&self) -> usize {
        self.i_sar() + self.sp
    }
    pub fn i_sigma2(&self) -> usize {
        self.i_sma() + self.sq
    }

    pub fn names(&self, spec: &SarimaxSpec) -> Vec<String> {
        let mut v = Vec::with_capacity(self.n_params);
        for &pw in spec.trend.powers() {
            v.push(if pw == 0 { "intercept" } else { "drift" }.to_string());
        }
        v.extend(spec.exog.iter().cloned());
        v.extend((1..=self.p).map(|i| format!("ar.L{i}")));
        v.extend((1..=self.q).map(|i| format!("ma.L{i}")));
        v.extend((1..=self.sp).map(|i| format!("ar.S.L{}", i * self.s)));
        v.extend((1..=self.sq).map(|i| format!("ma.S.L{}", i * self.s)));
        v.push("sigma2".to_string());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_statsmodels() {
        let spec = SarimaxSpec {
            order: (1, 1, 1),
            seasonal: (1, 1, 1, 7),
            trend: Trend::Ct,
            exog: vec!["ad_spend".into()],
            exact_diffuse: false,
        };
        assert_eq!(
            spec.param_names(),
            vec![
                "intercept",
                "drift",
                "ad_spend",
                "ar.L1",
                "ma.L1",
                "ar.S.L7",
                "ma.S.L7",
                "sigma2"
            ]
        );
        let l = Layout::new(&spec);
        assert_eq!(
            (l.k_ar, l.k_ma, l.k_order, l.k_diff, l.k_states),
            (8, 8, 9, 8, 17)
        );
    }

    #[test]
    fn seasonal_needs_period() {
        let mut spec = SarimaxSpec::arima(1, 0, 0, Trend::N);
        spec.seasonal = (1, 0, 0, 1);
        assert!(spec.validate().is_err());
    }
}
