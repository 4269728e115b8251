#!/usr/bin/env python3
"""Generate statsforecast AutoARIMA parity fixtures for tests/it/auto_arima_parity.rs.

Each fixture is one series, its regressors, its season length and what statsforecast 2.1.1's
`AutoARIMA` model (its defaults: stepwise, AICc, KPSS for d, the seasonal-strength test for D,
`approximation=False`) chose on it: the orders, the constant (mean or drift), the log-likelihood
and AICc of the final fit.

Two answers are recorded per series:
- `stock`: statsforecast as shipped.
- `expected`: statsforecast with R's likelihood semantics restored. Its Python port of R's
  `arima` passes the model's initial state covariance `Pn` to the Kalman filter, which
  overwrites it, and `upARIMA` resets only the ARMA block before the next evaluation. So after
  the first likelihood evaluation the differencing states no longer start diffuse (variance
  kappa = 1e6) but with whatever the previous pass left (about 0): every later evaluation
  scores a different model, whose "log-likelihood" can exceed the exact Gaussian maximum (on a
  random walk with drift it does; see the parity test). R copies on modify, so its `Pn` stays
  diffuse. The patch hands the filter a copy of `Pn`; nothing else changes. Series without
  differencing are unaffected (their `Pn` has no diffuse block), and both answers agree there.

Deterministic: public data sets shipped inside the installed statsmodels package (no downloads),
the bundled sample data aggregated by day when present, and seeded simulations.

Usage: python3 scripts/gen_auto_arima_fixtures.py [OUT_DIR]   (default tests/fixtures/auto_arima)
Requires the peer venv (scripts/peer-requirements.txt: statsforecast 2.1.1, checked).
"""
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import statsforecast
import statsmodels.api as sm
import statsforecast.arima as sfa
from statsforecast.arima import auto_arima_f

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv")


def public():
    """name -> (y, {regressor: values}, season length)."""
    out = {}
    out["nile"] = (sm.datasets.nile.load_pandas().data["volume"].to_numpy(float), {}, 1)
    sun = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    out["sunspots"] = (sun, {}, 1)
    macro = sm.datasets.macrodata.load_pandas().data
    out["macro_infl"] = (macro["infl"].to_numpy(float), {}, 4)
    out["macro_unemp"] = (macro["unemp"].to_numpy(float), {}, 4)
    out["macro_lgdp"] = (np.log(macro["realgdp"].to_numpy(float)) * 100, {}, 4)
    out["macro_lcons_x"] = (
        np.log(macro["realcons"].to_numpy(float)) * 100,
        {"lrealdpi": np.log(macro["realdpi"].to_numpy(float)) * 100},
        4,
    )
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    out["co2_monthly"] = (co2.resample("MS").mean().interpolate().to_numpy(float)[-144:], {}, 12)
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy(float).ravel()
    out["elnino"] = (elnino[-180:], {}, 12)
    if os.path.exists(SAMPLE):
        df = pd.read_csv(SAMPLE, parse_dates=["date"])
        daily = df.groupby("date")[["revenue", "ad_spend", "clicks"]].sum().asfreq("D").interpolate()
        rev = daily["revenue"].to_numpy(float)
        spend = daily["ad_spend"].to_numpy(float)
        clicks = daily["clicks"].to_numpy(float)
        n_train = int(len(rev) * 0.7)
        out["ads_revenue"] = (rev, {}, 7)
        out["ads_revenue_x"] = (rev, {"ad_spend": spend}, 7)
        out["ads_train_x"] = (rev[:n_train], {"ad_spend": spend[:n_train]}, 7)
        out["ads_train_x2"] = (rev[:n_train], {"ad_spend": spend[:n_train], "clicks": clicks[:n_train]}, 7)
        out["ads_spend"] = (spend, {}, 7)
    return out


def lag_poly(coefs, s, sign):
    """1 + sign·(c1·B^s + c2·B^2s + ...) as coefficients in increasing powers of B."""
    out = np.zeros(s * len(coefs) + 1)
    out[0] = 1.0
    for k, c in enumerate(coefs, start=1):
        out[k * s] = sign * c
    return out


def sarima(rng, n, phi=(), theta=(), sphi=(), stheta=(), d=0, D=0, s=7, sigma=1.0):
    """Simulate a SARIMA path: ARMA recursion on the expanded polynomials, burn-in dropped,
    then seasonal and plain integration."""
    ar = np.convolve(lag_poly(phi, 1, -1), lag_poly(sphi, s, -1))
    ma = np.convolve(lag_poly(theta, 1, 1), lag_poly(stheta, s, 1))
    burn = 200
    e = rng.normal(0, sigma, n + burn)
    w = np.zeros(n + burn)
    for t in range(n + burn):
        acc = e[t]
        for j in range(1, len(ar)):
            if t - j >= 0:
                acc -= ar[j] * w[t - j]
        for j in range(1, len(ma)):
            if t - j >= 0:
                acc += ma[j] * e[t - j]
        w[t] = acc
    w = w[burn:]
    for _ in range(D):
        for t in range(s, len(w)):
            w[t] += w[t - s]
    for _ in range(d):
        w = np.cumsum(w)
    return w


def simulated():
    out = {}
    rng = np.random.default_rng(20261201)
    weekly = np.array([3.0, 1.0, 0.0, -1.0, -2.0, 2.0, 4.0])
    out["sim_ar1_weekly"] = (50 + weekly[np.arange(140) % 7] + sarima(rng, 140, phi=[0.6]), {}, 7)
    out["sim_airline"] = (100 + sarima(rng, 210, theta=[-0.4], stheta=[-0.6], d=1, D=1), {}, 7)
    out["sim_rw_drift"] = (np.cumsum(0.5 + rng.normal(0, 1, 120)), {}, 1)
    out["sim_white"] = (10 + rng.normal(0, 1, 100), {}, 1)
    out["sim_arma21"] = (sarima(rng, 160, phi=[0.5, -0.3], theta=[0.4]), {}, 1)
    out["sim_ma2_weekly"] = (20 + weekly[np.arange(175) % 7] * 2 + sarima(rng, 175, theta=[0.5, 0.3]), {}, 7)
    x1 = 100 + 10 * np.sin(np.arange(180) * 2 * np.pi / 30) + rng.normal(0, 3, 180)
    out["sim_reg_ar1"] = (5 + 2.0 * x1 + sarima(rng, 180, phi=[0.7], sigma=2.0), {"x1": x1}, 7)
    x2 = np.cumsum(rng.normal(0, 1, 150)) + 50
    x3 = rng.normal(0, 1, 150)
    out["sim_reg2_i1"] = (1.5 * x2 - 3 * x3 + sarima(rng, 150, theta=[0.3], d=1), {"x2": x2, "x3": x3}, 1)
    spend = 1000 + 200 * rng.random(196)
    out["sim_reg_sarima"] = (
        3 * spend + 100 * weekly[np.arange(196) % 7] + sarima(rng, 196, phi=[0.4], stheta=[-0.5], D=1, sigma=50),
        {"ad_spend": spend},
        7,
    )
    out["sim_sar1"] = (sarima(rng, 168, sphi=[0.7], sigma=1.0) + 30, {}, 7)
    out["sim_trend_noise"] = (0.3 * np.arange(130) + rng.normal(0, 2, 130), {}, 1)
    out["sim_quarterly"] = (sarima(rng, 120, phi=[0.5], sphi=[0.5], s=4) + 10, {}, 4)
    return out


def exact_loglik(fit, y, X):
    """The log-likelihood of the final fit's parameters with the differencing states' prior
    variance kappa = 1e10 instead of statsforecast's 1e6: the exact diffuse likelihood to
    about 1e-10 (R and statsforecast skip the first d + D·s observations either way). At
    kappa = 1e6 the reported value is off by up to ~1e-6 relative, which is what separates
    theirs from an exact engine on differenced models."""
    p, q, P, Q, m, d, D = fit["arma"]
    names = list(fit["coef"])
    values = np.array([fit["coef"][k] for k in names], float)
    narma = p + q + P + Q
    x = y.astype(float).copy()
    for name, beta in zip(names[narma:], values[narma:]):
        if name == "intercept":
            col = np.ones_like(x)
        elif name == "drift":
            col = np.arange(1, len(x) + 1, dtype=float)
        else:
            col = X[:, int(name.split("_")[1]) - 1]
        x -= beta * col
    mod = fit["model"]
    fresh = sfa.make_arima(mod["phi"], mod["theta"], mod["delta"], kappa=1e10)
    ssq, sumlog, nu, _ = STOCK_ARIMA_LIKE(
        x, fresh["phi"], fresh["theta"], fresh["delta"], fresh["a"], fresh["P"], fresh["Pn"].copy(), 0, False
    )
    return -0.5 * (nu * (np.log(ssq / nu) + sumlog / nu) + nu + nu * np.log(2 * np.pi)), int(nu)


def describe(fit, y, X):
    p, q, P, Q, m, d, D = fit["arma"]
    coef = {k: float(v) for k, v in fit["coef"].items()}
    constant = "drift" in coef or "intercept" in coef
    ll, nu = exact_loglik(fit, y, X)
    npar = len(coef) + 1
    aicc = -2 * ll + 2 * npar + 2 * npar * (npar + 1) / (nu - npar - 1)
    return {
        "order": [int(p), int(d), int(q)],
        "seasonal": [int(P), int(D), int(Q)],
        "constant": bool(constant),
        "loglik": float(fit["loglik"]),
        "aicc": float(fit["aicc"]),
        "aic": float(fit["aic"]),
        "sigma2": float(fit["sigma2"]),
        "loglik_exact": float(ll),
        "aicc_exact": float(aicc),
        "coef": coef,
    }


STOCK_ARIMA_LIKE = sfa.arima_like


def arima_like_r_semantics(y, phi, theta, delta, a, P, Pn, up, use_resid):
    """`arima_like` on a copy of the initial covariance, as R's copy-on-modify gives it."""
    return STOCK_ARIMA_LIKE(y, phi, theta, delta, a, P, Pn.copy(), up, use_resid)


def choose(y, X, m, patched):
    sfa.arima_like = arima_like_r_semantics if patched else STOCK_ARIMA_LIKE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The same call statsforecast.models.AutoARIMA(season_length=m) makes in fit().
            fit = auto_arima_f(y.astype(float), xreg=X, period=m, approximation=False)
    finally:
        sfa.arima_like = STOCK_ARIMA_LIKE
    return describe(fit, y, X)


def main():
    if statsforecast.__version__ != "2.1.1":
        sys.exit(f"need statsforecast 2.1.1, found {statsforecast.__version__}")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "auto_arima")
    os.makedirs(out_dir, exist_ok=True)
    cases = {**public(), **simulated()}
    for name, (y, xreg, m) in cases.items():
        names = list(xreg)
        X = np.column_stack([xreg[c] for c in names]).astype(float) if names else None
        rec = {
            "name": name,
            "period": int(m),
            "y": [float(v) for v in y],
            "xreg_names": names,
            "xreg": [[float(v) for v in xreg[c]] for c in names],
            "expected": choose(y, X, m, patched=True),
            "stock": choose(y, X, m, patched=False),
        }
        with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
            json.dump(rec, f, indent=1)
        e, k = rec["expected"], rec["stock"]
        print(f"{name:18s} n={len(y):4d} m={m:2d} x={len(names)} -> {e['order']}{e['seasonal']} "
              f"c={e['constant']} aicc={e['aicc']:.4f}   stock {k['order']}{k['seasonal']} "
              f"c={k['constant']} aicc={k['aicc']:.4f}")


if __name__ == "__main__":
    main()
