#!/usr/bin/env python3
"""Generate statsforecast fixtures for the intermittent family (tests/it/intermittent_parity.rs).

statsforecast 2.1.1's CrostonClassic, CrostonSBA, TSB and ADIDA forecast each series; our
`models::intermittent` must give the same flat forecast. Series: seeded simulated intermittent
demand (Bernoulli days x gamma sizes, several densities), an all-zero-but-one series, and the
bundled sample data's platform x country revenue (a segment with many zero days), when present.

Usage: python3 scripts/gen_intermittent_fixtures.py [OUT_DIR]  (default tests/fixtures/intermittent)
Requires statsforecast 2.1.1 (checked): see scripts/peer-requirements.txt.
"""
import json
import os
import sys

import numpy as np
import statsforecast
from statsforecast.models import ADIDA, TSB, CrostonClassic, CrostonSBA

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv")
H = 7


def series():
    rng = np.random.default_rng(20261208)
    out = {}
    for p in [0.15, 0.35, 0.6, 0.9]:
        n = 240
        days = rng.random(n) < p
        sizes = rng.gamma(2.0, 50.0, n)
        y = np.where(days, sizes, 0.0)
        y[int(rng.integers(0, 20))] = 80.0  # at least one demand early
        out[f"sim_p{int(p * 100)}"] = y
    one = np.zeros(100)
    one[37] = 12.5
    out["single_demand"] = one
    if os.path.exists(SAMPLE):
        import pandas as pd

        df = pd.read_csv(SAMPLE, parse_dates=["date"])
        days = pd.date_range(df["date"].min(), df["date"].max(), freq="D")
        for plat, country in [("Google Ads", "Brazil"), ("TikTok Ads", "USA")]:
            seg = df[(df.platform == plat) & (df.country == country)]
            y = seg.groupby("date")["revenue"].sum().reindex(days, fill_value=0.0)
            out[f"sample_{plat.split()[0].lower()}_{country.lower()}"] = y.to_numpy(float)[:500]
    return out


def main():
    assert statsforecast.__version__ == "2.1.1", statsforecast.__version__
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "intermittent")
    os.makedirs(out_dir, exist_ok=True)
    models = {
        "croston": CrostonClassic(),
        "croston_sba": CrostonSBA(),
        "tsb_0.1_0.1": TSB(alpha_d=0.1, alpha_p=0.1),
        "tsb_0.2_0.2": TSB(alpha_d=0.2, alpha_p=0.2),
        "adida": ADIDA(),
    }
    for name, y in series().items():
        rec = {"name": name, "y": [float(v) for v in y], "h": H, "forecasts": {}}
        for mname, m in models.items():
            rec["forecasts"][mname] = [float(v) for v in m.forecast(y=y, h=H)["mean"]]
        with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
            json.dump(rec, f, indent=1)
        print(name, {k: round(v[0], 6) for k, v in rec["forecasts"].items()})


if __name__ == "__main__":
    main()
