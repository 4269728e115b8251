#!/usr/bin/env python3
"""Generate statsmodels ETS fixtures for tests/it/ets_parity.rs.

For additive-error, non-seasonal ETS models with given (fixed) parameters and initial states,
statsmodels' `ETSModel.smooth` gives the filtered states, point forecasts and prediction
intervals. Our `Ets::forecast` must reproduce them: the recursions, the damped-trend sum
φ + … + φ^h and the h-step variances (compared as ratios to the one-step variance, since the
two estimate σ² with different denominators).

Deterministic: the bundled sample data (daily sums of clicks and revenue, min-max scaled) when
present, and seeded synthetic series. Usage:
    python3 scripts/gen_ets_fixtures.py [OUT_DIR]   (default tests/fixtures/ets)
Requires statsmodels 0.15.0 (checked), pandas and numpy.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv")
H = 7


def series():
    rng = np.random.default_rng(20261126)
    out = {
        "synth_level": 5.0 + 0.3 * rng.standard_normal(300),
        "synth_trend": 2.0 + 0.01 * np.arange(250) + 0.05 * rng.standard_normal(250),
        "synth_walk": np.cumsum(0.1 * rng.standard_normal(400)),
    }
    if os.path.exists(SAMPLE):
        df = pd.read_csv(SAMPLE, parse_dates=["date"])
        daily = df.groupby("date")[["clicks", "revenue"]].sum()
        for col in ["clicks", "revenue"]:
            v = daily[col].to_numpy(float)
            out[f"ads_{col}_scaled"] = (v - v.min()) / (v.max() - v.min())
    return out


# (name, trend, damped, alpha, beta, phi)
MODELS = [
    ("ANN", None, False, 0.3, 0.0, 1.0),
    ("AAN", "add", False, 0.4, 0.05, 1.0),
    ("AAdN", "add", True, 0.5, 0.1, 0.9),
    ("AAdN_strong", "add", True, 0.2, 0.15, 0.8),
]


def main():
    if statsmodels.__version__ != "0.15.0":
        sys.exit(f"statsmodels 0.15.0 required, found {statsmodels.__version__}")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "ets")
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for sname, y in series().items():
        for mname, trend, damped, alpha, beta, phi in MODELS:
            level0 = float(np.mean(y[:10]))
            slope0 = float((y[9] - y[0]) / 9.0) if trend else 0.0
            ys = pd.Series(y, index=pd.date_range("2024-01-01", periods=len(y), freq="D"))
            m = ETSModel(ys, error="add", trend=trend, damped_trend=damped)
            p = {"smoothing_level": alpha, "initial_level": level0}
            if trend:
                p["smoothing_trend"] = beta
                p["initial_trend"] = slope0
            if damped:
                p["damping_trend"] = phi
            res = m.smooth(np.array([p[k] for k in m.param_names]))
            n = len(y)
            pred = res.get_prediction(start=n, end=n + H - 1).summary_frame(alpha=0.05)
            mean = pred["mean"].to_numpy(float)
            half = (pred["pi_upper"].to_numpy(float) - pred["pi_lower"].to_numpy(float)) / 2.0
            fixture = {
                "name": f"{sname}_{mname}",
                "trend": "none" if not trend else ("damped" if damped else "additive"),
                "alpha": alpha,
                "beta": beta if trend else 0.0,
                "phi": phi if damped else 1.0,
                "level0": level0,
                "slope0": slope0,
                "y": [float(v) for v in y],
                "mean": [float(v) for v in mean],
                # Half-width of the 95% interval at step h over the one at step 1.
                "width_ratio": [float(v / half[0]) for v in half],
                "statsmodels": statsmodels.__version__,
            }
            with open(os.path.join(out_dir, f"{sname}_{mname}.json"), "w") as f:
                json.dump(fixture, f)
            written += 1
    print(f"wrote {written} fixtures to {out_dir}")


if __name__ == "__main__":
    main()
