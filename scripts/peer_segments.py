#!/usr/bin/env python3
"""Segments side by side: statsforecast + hierarchicalforecast under the adsales protocol on the
same nodes as `adsales train` with `segments:`, beside our per-level table.

Nodes as protocol §1.5 builds them: the bottom level is every (platform, country) pair, summed
per day and zero on days the pair has no rows; the platform level sums its pairs; the total is
the daily series of protocol §1 (missing days interpolated). Every node runs the rolling-origin
backtest of protocol §4 with the best single-series peer (statsforecast 2.1.1 AutoARIMA(7) with
ad_spend as a known regressor; peer_benchmark.py's `backtest`), on validation and on test.
Each test origin's base forecasts are reconciled with hierarchicalforecast 1.5.3 (BottomUp,
MinTrace ols / wls_struct / mint_shrink; mint_shrink's in-sample residuals are the one-step
validation errors, which come before test); each method's test RMSE per level is printed, and
beside it ours, read from `segments_levels.csv` of a segmented train on the same file.

Usage (from the repository root, after `adsales train` with segments
[[], [platform], [platform, country]] wrote ARTIFACTS/segments_levels.csv):
  /tmp/peer-venv/bin/pip install -r scripts/peer-requirements.txt hierarchicalforecast==1.5.3
  /tmp/peer-venv/bin/python scripts/peer_segments.py [--data CSV] [--levels ARTIFACTS/segments_levels.csv]
"""
import argparse
import csv
import math
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_benchmark as pb  # noqa: E402  (one BLAS thread, set on import)


def nodes(path):
    """(id, level name, daily frame) for the total, each platform and each platform/country."""
    import pandas as pd

    total, _ = pb.load_daily(path, "interpolate")
    raw = pd.read_csv(path, parse_dates=[pb.DATE_COLUMN])
    days = total.index
    out = [("total", "total", total)]
    bottom = {}
    for (plat, country), g in raw.groupby(["platform", "country"], sort=True):
        d = g.groupby(pb.DATE_COLUMN)[pb.SUM_COLUMNS].sum().reindex(days, fill_value=0.0)
        d.index.name = "date"
        bottom[(plat, country)] = d
    for plat in sorted({p for p, _ in bottom}):
        d = sum(v for (p, _), v in bottom.items() if p == plat)
        out.append((plat, "platform", d))
    for (plat, country), d in bottom.items():
        out.append((f"{plat}/{country}", "platform x country", d))
    return out


def main(argv=None):
    import numpy as np
    from hierarchicalforecast.methods import BottomUp, MinTrace
    from statsforecast.models import AutoARIMA

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=pb.DEFAULT_DATA)
    ap.add_argument("--levels", default="artifacts/segments_levels.csv")
    ap.add_argument("--horizon", type=int, default=7)
    ap.add_argument("--level", type=float, default=0.95)
    a = ap.parse_args(argv)
    path = pb.resolve(a.data)
    # Segment nodes have no percent-change features (a zero day makes them infinite), so the
    # single-series loader's warning about them does not apply.
    pb.PCT_CHANGE_COLUMNS = []
    h = a.horizon
    make = lambda: (AutoARIMA(season_length=pb.SEASON), True)  # noqa: E731
    ns = nodes(path)
    t0 = time.perf_counter()
    val, test, actual = [], [], []
    for nid, _, daily in ns:
        table, train_end, val_end = pb.prepare(daily, pb.DEFAULT_WARMUP, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            val.append(pb.backtest(make, table, train_end, val_end, h, a.level))
            test.append(pb.backtest(make, table, val_end, len(table), h, a.level))
        actual.append(table[pb.TARGET].to_numpy())
        print(f"{nid}: done", file=sys.stderr)
    seconds = time.perf_counter() - t0
    n = len(ns)
    nb = sum(1 for _, lvl, _ in ns if lvl == "platform x country")
    bottom_ids = [nid for nid, lvl, _ in ns if lvl == "platform x country"]
    S = np.zeros((n, nb))
    for i, (nid, lvl, _) in enumerate(ns):
        for j, b in enumerate(bottom_ids):
            S[i, j] = 1.0 if (lvl == "total" or b == nid or b.startswith(nid + "/")) else 0.0
    tags = {lvl: np.array([i for i, (_, l, _) in enumerate(ns) if l == lvl])
            for lvl in ["total", "platform", "platform x country"]}
    # One-step validation errors as the in-sample residuals of mint_shrink.
    one = [v["step"] == 1 for v in val]
    y_in = np.vstack([v["act"][o] for v, o in zip(val, one)])
    y_fit = np.vstack([v["mean"][o] for v, o in zip(val, one)])
    methods = {
        "bottom_up": BottomUp(),
        "min_trace:ols": MinTrace(method="ols"),
        "min_trace:wls_struct": MinTrace(method="wls_struct"),
        "min_trace:mint_shrink": MinTrace(method="mint_shrink"),
    }
    origins = sorted(set(test[0]["origin"]))
    rec = {m: [[] for _ in range(n)] for m in methods}
    for o in origins:
        sel = [t["origin"] == o for t in test]
        steps = int(sel[0].sum())
        y_hat = np.vstack([t["mean"][s][:steps] for t, s in zip(test, sel)])
        for m, r in methods.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = r.fit_predict(S=S, y_hat=y_hat, y_insample=y_in, y_hat_insample=y_fit,
                                    tags=tags)["mean"]
            for i in range(n):
                rec[m][i].extend(out[i])
    act = [t["act"] for t in test]

    def level_rmse(pred, lvl):
        idx = tags[lvl]
        e = np.concatenate([np.asarray(act[i]) - np.asarray(pred[i]) for i in idx])
        return math.sqrt(float(np.mean(e ** 2)))

    ours = {}
    if os.path.exists(a.levels):
        with open(a.levels, newline="") as f:
            for r in csv.DictReader(f):
                ours[r["level"]] = (float(r["base_test_rmse"]), float(r["reconciled_test_rmse"]))
    else:
        print(f"warning: {a.levels} not found; our column is empty", file=sys.stderr)
    print(f"peer: statsforecast AutoARIMA(7)+ad_spend per node, {n} nodes, both backtests in "
          f"{seconds:.1f}s; reconciled with hierarchicalforecast")
    head = ["level", "peer base"] + list(methods) + ["ours base", "ours reconciled", "ours/best peer"]
    rows = []
    for lvl in tags:
        base = level_rmse([t["mean"] for t in test], lvl)
        per = [level_rmse(rec[m], lvl) for m in methods]
        ob, orr = ours.get(lvl, (float("nan"), float("nan")))
        best = min(per)
        rows.append([lvl, f"{base:.2f}"] + [f"{v:.2f}" for v in per]
                    + [f"{ob:.2f}", f"{orr:.2f}", f"{orr / best:.3f}"])
    pb.print_table(head, rows, ["<"] + [">"] * (len(head) - 1))


if __name__ == "__main__":
    main()
