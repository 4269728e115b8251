#!/usr/bin/env python3
"""Generate interval-score fixtures for tests/it/preprocess_metrics.rs.

numpy computes, on seeded random cases: the coverage, mean width and mean Winkler score of
central intervals at a level, and the split-conformal half-width of a set of absolute errors
(numpy's `quantile(..., method="inverted_cdf")` selecting the ceil((n+1)L)-th smallest error,
the largest when there are too few). Ours must agree to 1e-12.

Usage: python3 scripts/gen_interval_fixtures.py [OUT]   (default tests/fixtures/intervals/cases.json)
Requires numpy.
"""
import json
import math
import sys

import numpy as np


def case(rng, n, level):
    actual = rng.normal(100.0, 30.0, n)
    centre = actual + rng.normal(0.0, 20.0, n)
    half = np.abs(rng.normal(25.0, 10.0, n))
    lower, upper = centre - half, centre + half
    alpha = 1.0 - level
    below = np.where(actual < lower, lower - actual, 0.0)
    above = np.where(actual > upper, actual - upper, 0.0)
    winkler = np.mean((upper - lower) + 2.0 / alpha * (below + above))
    errors = np.abs(rng.normal(0.0, 10.0, n))
    # The conformal rank k = ceil((n+1)L), capped at n. numpy's inverted_cdf returns the
    # smallest error whose empirical CDF reaches q; q = (k - 0.5)/n selects the k-th without
    # the rounding of k/n·n landing on k + 1 (as 4/7·7 does).
    k = min(n, math.ceil((n + 1) * level))
    half_width = float(np.quantile(errors, (k - 0.5) / n, method="inverted_cdf"))
    return {
        "level": level,
        "actual": actual.tolist(),
        "lower": lower.tolist(),
        "upper": upper.tolist(),
        "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
        "width": float(np.mean(upper - lower)),
        "winkler": float(winkler),
        "errors": errors.tolist(),
        "half_width": half_width,
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/intervals/cases.json"
    rng = np.random.default_rng(20261130)
    cases = [case(rng, n, level) for n in (7, 19, 60, 105) for level in (0.5, 0.8, 0.9, 0.95)]
    with open(out, "w") as f:
        json.dump({"generator": "numpy " + np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
