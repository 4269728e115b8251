#!/usr/bin/env python3
"""Generate hierarchicalforecast 1.5.3 reconciliation fixtures for tests/it/reconcile_golden.rs.

Three structures (a strict two-level hierarchy, a strict three-level one of the shape
platform / campaign type, and a grouped platform × country one), seeded base forecasts and
in-sample values/fitted values, and what every method of hierarchicalforecast's numpy API
returns: BottomUp, TopDown (forecast_proportions, average_proportions, proportion_averages;
strict structures only), MinTrace (ols, wls_struct, wls_var, mint_cov, mint_shrink), plus the
covariance W MinTrace used for the residual-based methods, and non-negative MinTrace (a QP
solved by clarabel; hierarchicalforecast rounds its solution to float32) on base forecasts with
a negative and a near-zero bottom series.

Usage: python3 scripts/gen_reconcile_fixtures.py [OUT_DIR]   (default tests/fixtures/reconcile)
Requires hierarchicalforecast 1.5.3 (checked): pip install hierarchicalforecast==1.5.3
"""
import json
import os
import sys
import warnings

import numpy as np
import hierarchicalforecast
from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def structure(groups, bottom):
    """Rows: every aggregate in `groups` (name, members), then the bottom series."""
    ids = [name for name, _ in groups] + bottom
    S = np.zeros((len(ids), len(bottom)))
    for i, (_, members) in enumerate(groups):
        for b in members:
            S[i, bottom.index(b)] = 1.0
    for j in range(len(bottom)):
        S[len(groups) + j, j] = 1.0
    return ids, S


def strict_small():
    bottom = ["A/A1", "A/A2", "B/B1", "B/B2"]
    groups = [("Total", bottom), ("A", bottom[:2]), ("B", bottom[2:])]
    ids, S = structure(groups, bottom)
    tags = {"total": [0], "letter": [1, 2], "bottom": [3, 4, 5, 6]}
    return ids, S, tags, True


def strict_platforms():
    platforms = ["Google", "Meta", "TikTok"]
    types = ["Search", "Video"]
    bottom = [f"{p}/{t}" for p in platforms for t in types]
    groups = [("Total", bottom)] + [(p, [b for b in bottom if b.startswith(p + "/")]) for p in platforms]
    ids, S = structure(groups, bottom)
    tags = {"total": [0], "platform": [1, 2, 3], "bottom": list(range(4, 10))}
    return ids, S, tags, True


def grouped():
    platforms = ["Google", "Meta"]
    countries = ["US", "UK", "DE"]
    bottom = [f"{p}/{c}" for p in platforms for c in countries]
    groups = [("Total", bottom)]
    groups += [(p, [b for b in bottom if b.startswith(p + "/")]) for p in platforms]
    groups += [(c, [b for b in bottom if b.endswith("/" + c)]) for c in countries]
    ids, S = structure(groups, bottom)
    tags = {"total": [0], "platform": [1, 2], "country": [3, 4, 5], "bottom": list(range(6, 12))}
    return ids, S, tags, False


def data(S, rng, h=5, T=40):
    """Bottom series with level and noise; aggregates summed; base forecasts and fitted values
    incoherent by independent noise (as separately fitted models are)."""
    n, m = S.shape
    level = rng.uniform(20, 120, m)
    y_bottom = level[:, None] + rng.normal(0, 8, (m, T)) + np.linspace(0, 10, T)
    y = S @ y_bottom
    scale = np.sqrt(S.sum(axis=1))[:, None]
    fitted = y + rng.normal(0, 5, (n, T)) * scale
    base_future = S @ (level[:, None] + 12 + rng.normal(0, 4, (m, h)))
    y_hat = base_future + rng.normal(0, 6, (n, h)) * scale
    return y_hat, y, fitted


def run(name, build, seed, out_dir):
    ids, S, tags, strict = build()
    rng = np.random.default_rng(seed)
    y_hat, y_in, y_fit = data(S, rng)
    tags_np = {k: np.array(v) for k, v in tags.items()}
    methods = {
        "bottom_up": lambda: BottomUp(),
        "top_down:forecast_proportions": lambda: TopDown(method="forecast_proportions"),
        "top_down:average_proportions": lambda: TopDown(method="average_proportions"),
        "top_down:proportion_averages": lambda: TopDown(method="proportion_averages"),
        "min_trace:ols": lambda: MinTrace(method="ols"),
        "min_trace:wls_struct": lambda: MinTrace(method="wls_struct"),
        "min_trace:wls_var": lambda: MinTrace(method="wls_var"),
        "min_trace:mint_cov": lambda: MinTrace(method="mint_cov"),
        "min_trace:mint_shrink": lambda: MinTrace(method="mint_shrink"),
    }
    results, errors, covariances = {}, {}, {}
    for method, make in methods.items():
        rec = make()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = rec.fit_predict(S=S, y_hat=y_hat, y_insample=y_in, y_hat_insample=y_fit, tags=tags_np)
            results[method] = np.asarray(out["mean"]).tolist()
            if method.split(":")[-1] in ("wls_var", "mint_cov", "mint_shrink"):
                covariances[method] = np.asarray(rec.W).tolist()
        except Exception as e:  # TopDown on a grouped structure
            errors[method] = str(e)
    # Non-negative MinTrace, on base forecasts (nearly coherent) with one bottom series well
    # below zero and one near zero, so the constraint binds.
    m = S.shape[1]
    b = y_hat[-m:].copy()
    b[-1] = -20.0 - np.arange(y_hat.shape[1])
    b[-2] *= 0.02
    y_hat_nn = S @ b + rng.normal(0, 1.0, y_hat.shape)
    nonnegative = {}
    for method in ("ols", "wls_struct", "wls_var", "mint_cov", "mint_shrink"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = MinTrace(method=method, nonnegative=True).fit_predict(
                S=S, y_hat=y_hat_nn, y_insample=y_in, y_hat_insample=y_fit, tags=tags_np
            )
        nonnegative[f"min_trace:{method}"] = np.asarray(out["mean"], dtype=float).tolist()
    # A coherent base forecast must come back unchanged from every method.
    coherent = S @ y_hat[-S.shape[1]:]
    rec = {
        "name": name,
        "strict": strict,
        "ids": ids,
        "S": S.tolist(),
        "tags": tags,
        "y_hat": y_hat.tolist(),
        "y_insample": y_in.tolist(),
        "y_hat_insample": y_fit.tolist(),
        "coherent": coherent.tolist(),
        "results": results,
        "covariances": covariances,
        "y_hat_nonnegative": y_hat_nn.tolist(),
        "nonnegative": nonnegative,
        "errors": errors,
    }
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(rec, f, indent=1)
    print(f"{name}: {len(results)} methods, {len(errors)} refused")


def main():
    if hierarchicalforecast.__version__ != "1.5.3":
        sys.exit(f"need hierarchicalforecast 1.5.3, found {hierarchicalforecast.__version__}")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "reconcile")
    os.makedirs(out_dir, exist_ok=True)
    run("strict_small", strict_small, 1, out_dir)
    run("strict_platforms", strict_platforms, 2, out_dir)
    run("grouped", grouped, 3, out_dir)


if __name__ == "__main__":
    main()
