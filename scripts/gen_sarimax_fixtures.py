#!/usr/bin/env python3
"""Generate statsmodels SARIMAX parity fixtures for tests/it/sarimax_parity.rs.

Deterministic: only datasets shipped inside the installed statsmodels package (no downloads),
the bundled sample data (data/raw/global_ads_performance_dataset.csv, aggregated daily by date:
sum of revenue, ad_spend, clicks) when present, and seeded synthetic daily series.
Every model uses `statsmodels.tsa.statespace.sarimax.SARIMAX` defaults and `.fit(disp=False)`.

Usage: python3 scripts/gen_sarimax_fixtures.py [OUT_DIR]   (default tests/fixtures/sarimax)
Requires statsmodels 0.15.0 (checked) and pandas.
"""
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.tsa.statespace.sarimax import SARIMAX

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv")


def series():
    """name -> (y, exog dict, period label)."""
    out = {}
    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy(float)
    out["nile"] = (nile, {})
    macro = sm.datasets.macrodata.load_pandas().data
    out["macro_infl"] = (macro["infl"].to_numpy(float), {})
    out["macro_lgdp"] = (np.log(macro["realgdp"].to_numpy(float)) * 100, {})
    out["macro_lcons"] = (
        np.log(macro["realcons"].to_numpy(float)) * 100,
        {"lrealdpi": np.log(macro["realdpi"].to_numpy(float)) * 100},
    )
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    co2m = co2.resample("MS").mean().interpolate().to_numpy(float)
    out["co2_monthly"] = (co2m[-240:], {})
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy(float).ravel()
    out["elnino"] = (elnino, {})
    sun = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    out["sunspots"] = (sun, {})
    # Seeded synthetic daily ad data: weekly pattern, AR(1) noise, spend effect.
    rng = np.random.default_rng(20240601)
    n = 420
    t = np.arange(n)
    spend = 100 + 10 * np.sin(2 * np.pi * t / 30) + rng.normal(0, 5, n)
    clicks = 3 * spend + rng.normal(0, 20, n)
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = 0.6 * e[i - 1] + rng.normal(0, 8)
    weekly = np.array([5, 3, 0, -2, -4, 6, 10], float)[t % 7]
    rev = 500 + 0.05 * t + weekly + 2.0 * spend + e
    out["synthetic_daily"] = (rev, {"ad_spend": spend, "clicks": clicks})
    if os.path.exists(SAMPLE):
        df = pd.read_csv(SAMPLE, parse_dates=["date"])
        daily = df.groupby("date")[["revenue", "ad_spend", "clicks"]].sum()
        daily = daily.asfreq("D").interpolate()
        # Scale to thousands: keeps sigma2 in a friendly range, same model either way.
        out["ads_daily"] = (
            daily["revenue"].to_numpy(float) / 1e3,
            {"ad_spend": daily["ad_spend"].to_numpy(float) / 1e3,
             "clicks": daily["clicks"].to_numpy(float) / 1e3},
        )
    return out


# (fixture name, series, order, seasonal_order, trend, exog names, horizon, options)
CASES = [
    ("nile_arma11_c", "nile", (1, 0, 1), (0, 0, 0, 0), "c", [], 10, {}),
    ("nile_ima11_n", "nile", (0, 1, 1), (0, 0, 0, 0), "n", [], 10, {}),
    ("nile_ar1_t", "nile", (1, 0, 0), (0, 0, 0, 0), "t", [], 5, {}),
    ("nile_ima11_exact_diffuse", "nile", (0, 1, 1), (0, 0, 0, 0), "n", [], 5,
     {"use_exact_diffuse": True}),
    ("macro_infl_arma21_c", "macro_infl", (2, 0, 1), (0, 0, 0, 0), "c", [], 8, {}),
    ("macro_lgdp_arima111_c", "macro_lgdp", (1, 1, 1), (0, 0, 0, 0), "c", [], 8, {}),
    ("macro_lcons_arima110_exog", "macro_lcons", (1, 1, 0), (0, 0, 0, 0), "n", ["lrealdpi"], 4, {}),
    ("co2_airline_s12", "co2_monthly", (0, 1, 1), (0, 1, 1, 12), "n", [], 24, {}),
    ("co2_sarima111_011_12", "co2_monthly", (1, 1, 1), (0, 1, 1, 12), "n", [], 12, {}),
    ("elnino_sar1_sma1_c", "elnino", (1, 0, 0), (1, 0, 1, 12), "c", [], 12, {}),
    ("sunspots_arma21_c", "sunspots", (2, 0, 1), (0, 0, 0, 0), "c", [], 10, {}),
    ("synth_sarimax_101_101_7_exog", "synthetic_daily", (1, 0, 1), (1, 0, 1, 7), "c",
     ["ad_spend"], 14, {}),
    ("synth_sarima111_011_7", "synthetic_daily", (1, 1, 1), (0, 1, 1, 7), "n", [], 14, {}),
    ("synth_sarimax_200_011_7_exog2", "synthetic_daily", (2, 0, 0), (0, 1, 1, 7), "n",
     ["ad_spend", "clicks"], 7, {}),
    ("synth_arima012_t", "synthetic_daily", (0, 1, 2), (0, 0, 0, 0), "t", [], 7, {}),
    ("ads_sarimax_101_011_7_exog", "ads_daily", (1, 0, 1), (0, 1, 1, 7), "n", ["ad_spend"], 7, {}),
    ("ads_sarima111_111_7", "ads_daily", (1, 1, 1), (1, 1, 1, 7), "n", [], 7, {}),
    ("ads_arima201_c_exog2", "ads_daily", (2, 0, 1), (0, 0, 0, 0), "c", ["ad_spend", "clicks"], 7, {}),
    ("ads_sarima101_101_7_ct", "ads_daily", (1, 0, 1), (1, 0, 0, 7), "ct", [], 7, {}),
]


def floats(a):
    return [float(v) for v in np.asarray(a, float).ravel()]


def main():
    if statsmodels.__version__ != "0.15.0":
        sys.exit(f"need statsmodels 0.15.0, found {statsmodels.__version__}")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "sarimax")
    os.makedirs(out_dir, exist_ok=True)
    data = series()
    written = 0
    for name, sname, order, sorder, trend, exog_names, h, opts in CASES:
        if sname not in data:
            print(f"skip {name}: series {sname} not available")
            continue
        y_all, exog_all = data[sname]
        n = len(y_all) - h  # hold back h rows so future exog (and actuals) exist
        y = y_all[:n]
        exog = np.column_stack([exog_all[c][:n] for c in exog_names]) if exog_names else None
        fut = np.column_stack([exog_all[c][n:n + h] for c in exog_names]) if exog_names else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = SARIMAX(y, exog=exog, order=order, seasonal_order=sorder, trend=trend, **opts)
            res = mod.fit(disp=False)
            start = mod.start_params
            llf_at_params = float(mod.loglike(res.params))
            llf_at_start = float(mod.loglike(start))
            fc = res.get_forecast(steps=h, exog=fut)
            ci95 = fc.conf_int(alpha=0.05)
            ci80 = fc.conf_int(alpha=0.20)
            # statsmodels stops at maxiter=50 / factr=1e7, so on flat likelihoods its default
            # parameters carry optimiser error ~1e-3. A polished statsmodels fit (same model,
            # started at its own optimum, tight tolerances) pins down the optimum itself.
            res_p = mod.fit(start_params=res.params, disp=False, maxiter=5000,
                            pgtol=1e-10, factr=10.0)
            if not (res_p.llf >= res.llf):
                res_p = res
            # L-BFGS alone can stall on badly scaled parameters (a drift times t); BFGS and
            # Powell from the same point settle it.
            for meth, kw in (("bfgs", dict(maxiter=2000, gtol=1e-10)), ("powell", dict(maxiter=20000))):
                r = mod.fit(start_params=res_p.params, method=meth, disp=False, **kw)
                if r.llf > res_p.llf:
                    res_p = r
            fcp = res_p.get_forecast(steps=h, exog=fut)
            cip = fcp.conf_int(alpha=0.05)
        names = list(mod.param_names)
        # statsmodels names exog columns x1, x2, ... for numpy input: use ours.
        for i, c in enumerate(exog_names):
            names[names.index(f"x{i + 1}")] = c
        fx = {
            "name": name,
            "series": sname,
            "statsmodels_version": statsmodels.__version__,
            "spec": {"order": list(order), "seasonal": list(sorder), "trend": trend,
                     "exog": exog_names, "exact_diffuse": bool(opts.get("use_exact_diffuse", False))},
            "y": floats(y),
            "exog": {c: floats(exog_all[c][:n]) for c in exog_names},
            "future_exog": {c: floats(exog_all[c][n:n + h]) for c in exog_names},
            "horizon": h,
            "param_names": names,
            "params": floats(res.params),
            "bse": floats(res.bse),
            "start_params": floats(start),
            "llf": float(res.llf),
            "llf_at_params": llf_at_params,
            "llf_at_start": llf_at_start,
            "aic": float(res.aic), "bic": float(res.bic), "hqic": float(res.hqic),
            "aicc": float(res.aicc),
            "nobs_effective": int(res.nobs_effective),
            "converged": bool(res.mle_retvals.get("converged", False)),
            "iterations": int(res.mle_retvals.get("iterations", -1)),
            "forecast": {
                "mean": floats(fc.predicted_mean), "se": floats(fc.se_mean),
                "lower95": floats(ci95[:, 0]), "upper95": floats(ci95[:, 1]),
                "lower80": floats(ci80[:, 0]), "upper80": floats(ci80[:, 1]),
            },
        }
        fx["polished"] = {
            "params": floats(res_p.params), "llf": float(res_p.llf),
            "forecast": {"mean": floats(fcp.predicted_mean), "se": floats(fcp.se_mean),
                         "lower95": floats(cip[:, 0]), "upper95": floats(cip[:, 1])},
        }
        with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
            json.dump(fx, f, indent=1)
        written += 1
        print(f"{name}: llf={res.llf:.6f} converged={fx['converged']} iters={fx['iterations']}")
    print(f"wrote {written} fixtures to {out_dir}")


if __name__ == "__main__":
    main()
