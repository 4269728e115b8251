#!/usr/bin/env python3
"""Run the standard statsforecast peers under the adsales evaluation protocol and print them
beside our leaderboard.

The protocol (docs/protocol.md §1-§5, shared/design/accuracy.md), reproduced here step by step:
  §1  rows grouped by date, revenue/ad_spend/clicks/impressions/conversions summed, reindexed to
      every calendar day, missing days filled (linear interpolation by default);
  §2  the feature table drops the warm-up rows (largest lag/window: 30 with the default config),
      so the series every model sees starts after them;
  §3  the 70/15/15 split is taken on the feature table's rows: floor(0.7 n) train, floor(0.15 n)
      validation, the rest test;
  §4  rolling-origin backtest: for segment [a, b) the origins are a-1 .. b-2, each forecasts
      H steps with the parameters fixed after fitting, steps past the segment end are dropped;
      validation = fit on train, test = refit on train + validation; metrics in real dollars
      over every scored (origin, step) pair; MASE scaled by the in-sample seasonal-naive(7) MAE
      of the rows before the segment;
  §5  ad_spend is a `known` driver: its actual future values are used (carried forward past
      the end of the data, where no step is scored).
With statsforecast that is `cross_validation(h=H, step_size=1, refit=False)` on a frame that
ends at the segment end and is padded by H-1 days, whose targets are then dropped.

Usage (from the repository root):
  python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install -r scripts/peer-requirements.txt
  /tmp/peer-venv/bin/python scripts/peer_benchmark.py [--data data/raw/global_ads_performance_dataset.csv]
      [--horizon 7] [--level 0.95] [--leaderboard artifacts/leaderboard.csv] [--json OUT]

Exit status: 0 ok; 1 the seasonal-naive sanity check failed (the run does not follow the
protocol); 2 bad input (missing file or column, bad cell, too little data, bad option) or
statsforecast not installed. Progress and warnings go to stderr, the tables to stdout.
"""
import os

# One BLAS/OpenMP thread, set before numpy is imported, so wall times are comparable with our
# single-threaded fits (with 2 threads on a shared 2-core machine fits run several times slower).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import csv
import hashlib
import json
import math
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = "data/raw/global_ads_performance_dataset.csv"
DEFAULT_LEADERBOARD = "artifacts/leaderboard.csv"

# Our schema with the default config (config.yaml): date column and format, target, drivers and
# the extra summed column, in the loader's order (protocol §1.1).
DATE_COLUMN = "date"
DATE_FORMAT = "%Y-%m-%d"
TARGET = "revenue"
KNOWN_DRIVER = "ad_spend"
SUM_COLUMNS = [TARGET, "ad_spend", "clicks", "impressions", "conversions"]
# Default features (protocol §2.2): lags 1, 7, 14, 30; windows 7, 14, 30; 1-day pct change.
# A row is complete once lag 30 exists (index 30), window 30 is full (29) and pct change (1).
DEFAULT_WARMUP = max(30, 30 - 1, 1)
PCT_CHANGE_COLUMNS = [TARGET, "ad_spend"]
SPLIT = (0.70, 0.15, 0.15)
MIN_TRAIN_ROWS = 21
SEASON = 7
# Test RMSE of SeasonalNaive(7) on the bundled data (shared/design/accuracy.md), and that file's
# sha256 (data/raw/global_ads_performance_dataset.csv).
BUNDLED_SN_TEST_RMSE = 62004.45
BUNDLED_SHA256 = "ec7c9784c8f6b7aed2e1464e9db86b0f7b178fc975140972f416769a3cec4108"


class InputError(Exception):
    """Bad input: reported on stderr, exit status 2."""


def fail(msg, code=2):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="statsforecast peers under the adsales evaluation protocol, beside our "
                    "leaderboard.")
    p.add_argument("--data", default=DEFAULT_DATA,
                   help=f"raw CSV of our schema (default {DEFAULT_DATA})")
    p.add_argument("--horizon", type=int, default=7, help="forecast days H (default 7)")
    p.add_argument("--level", type=float, default=0.95,
                   help="central interval level in (0, 1) (default 0.95)")
    p.add_argument("--leaderboard", default=DEFAULT_LEADERBOARD,
                   help="our leaderboard.csv from `adsales train`; shown beside the peers "
                        f"when it exists (default {DEFAULT_LEADERBOARD})")
    p.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    p.add_argument("--fill-missing", choices=["interpolate", "zero", "error"],
                   default="interpolate", help="missing days, as data.fill_missing (§1.4)")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                   help=f"feature warm-up rows dropped before the split (§2.3; default "
                        f"{DEFAULT_WARMUP}, the largest lag/window of the default config)")
    p.add_argument("--only", help="comma-separated peer names to run (default: all)")
    a = p.parse_args(argv)
    if a.horizon < 1:
        fail("--horizon must be at least 1")
    if not 0.0 < a.level < 1.0:
        fail("--level must lie strictly between 0 and 1 (e.g. 0.95)")
    if a.warmup < 0:
        fail("--warmup must be >= 0")
    return a


def resolve(path):
    """A relative path is taken from the current folder, else from the repository root."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    alt = os.path.join(ROOT, path)
    return alt if os.path.exists(alt) else path


# ---------------------------------------------------------------------------------------------
# §1 data: validate, aggregate by day, reindex, fill
# ---------------------------------------------------------------------------------------------

def load_daily(path, fill_missing):
    import numpy as np
    import pandas as pd

    if not os.path.exists(path):
        raise InputError(f"data file {path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"data file {path}: is a directory, expected a CSV file")
    if os.path.getsize(path) == 0:
        raise InputError(f"data file {path}: is empty; expected a header row and data rows")
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    if len(header) == 1 and ";" in header[0]:
        raise InputError(f"data file {path}: row 1 (header) has one column containing ';': the "
                         "file looks semicolon-delimited; adsales reads comma-separated CSV")
    seen = {}
    for i, name in enumerate(header):
        if name in seen:
            raise InputError(f"data file {path}: row 1 (header): column `{name}` appears twice "
                             f"(columns {seen[name] + 1} and {i + 1})")
        seen[name] = i
    for col in [DATE_COLUMN] + SUM_COLUMNS:
        if col not in seen:
            raise InputError(f"data file {path}: missing column `{col}` (the header has: "
                             f"{', '.join(header)})")
    try:
        raw = pd.read_csv(path, usecols=[DATE_COLUMN] + SUM_COLUMNS, dtype=str,
                          keep_default_na=False, encoding="utf-8-sig")
    except Exception as e:  # ragged rows, bad quoting, ...
        raise InputError(f"data file {path}: cannot parse CSV: {e}") from None
    if len(raw) == 0:
        raise InputError(f"data file {path}: has a header but no data rows")

    # Row numbers as our loader reports them: 1-based file lines, the header is row 1.
    dates = pd.to_datetime(raw[DATE_COLUMN].str.strip(), format=DATE_FORMAT, errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        i = bad[0]
        raise InputError(f"data file {path}: row {i + 2}, column `{DATE_COLUMN}`: "
                         f"{raw[DATE_COLUMN].iloc[i]!r} is not a date in format {DATE_FORMAT}")
    values = {}
    for col in SUM_COLUMNS:
        v = pd.to_numeric(raw[col].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if bad.size:
            i = bad[0]
            raise InputError(f"data file {path}: row {i + 2}, column `{col}`: "
                             f"{raw[col].iloc[i]!r} is not a finite, non-negative number")
        values[col] = v
    frame = pd.DataFrame(values)
    frame.insert(0, "date", dates.to_numpy())
    daily = frame.groupby("date", sort=True)[SUM_COLUMNS].sum()
    full = pd.date_range(daily.index[0], daily.index[-1], freq="D")
    filled = ~full.isin(daily.index)
    daily = daily.reindex(full)
    n_missing = int(filled.sum())
    if n_missing:
        first = full[filled][0].date()
        if fill_missing == "error":
            raise InputError(f"data file {path}: {n_missing} days have no rows (first {first}); "
                             "rerun with --fill-missing interpolate or zero")
        if fill_missing == "zero":
            daily = daily.fillna(0.0)
        else:
            daily = daily.interpolate(method="linear")
        shown = ", ".join(str(d.date()) for d in full[filled][:20])
        print(f"warning: {n_missing} missing days filled ({fill_missing}): {shown}"
              f"{' ...' if n_missing > 20 else ''}", file=sys.stderr)
    daily.index.name = "date"
    return daily, len(raw)


# ---------------------------------------------------------------------------------------------
# §2-§3: warm-up and split
# ---------------------------------------------------------------------------------------------

def split_rows(n):
    n_train = math.floor(SPLIT[0] * n + 1e-9)
    n_val = math.floor(SPLIT[1] * n + 1e-9)
    return n_train, n_train + n_val


def prepare(daily, warmup, path):
    if warmup >= len(daily):
        raise InputError(f"data file {path}: {len(daily)} days are not enough for the features "
                         f"(warm-up {warmup} days)")
    # §2.3: our pipeline stops on a non-finite percent change after the warm-up.
    for col in PCT_CHANGE_COLUMNS:
        x = daily[col].to_numpy()
        zero_prev = [i for i in range(max(warmup, 1), len(x)) if x[i - 1] == 0]
        if zero_prev:
            print(f"warning: `{col}` is 0 on {daily.index[zero_prev[0] - 1].date()}: "
                  f"`adsales train` rejects this file ({col}_pct_change not finite); the peers "
                  "run anyway", file=sys.stderr)
    table = daily.iloc[warmup:]
    n = len(table)
    train_end, val_end = split_rows(n)
    if train_end < MIN_TRAIN_ROWS or val_end - train_end < 1 or n - val_end < 1:
        raise InputError(
            f"data file {path}: too few days: {len(daily)} days give {n} rows after a warm-up of "
            f"{warmup}, split into train {train_end}, val {val_end - train_end}, test "
            f"{n - val_end}; need at least {MIN_TRAIN_ROWS} train rows and one val and one test "
            f"row (about {warmup + math.ceil(MIN_TRAIN_ROWS / SPLIT[0]) + 1} days in all)")
    return table, train_end, val_end


# ---------------------------------------------------------------------------------------------
# §4 metrics
# ---------------------------------------------------------------------------------------------

def seasonal_naive_mae(y, m=SEASON):
    import numpy as np
    if len(y) <= m:
        return float("nan")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def metrics(act, pred, lo, hi, scale, level=None):
    import numpy as np
    err = act - pred
    nz = act != 0
    mape = float(100 * np.mean(np.abs(err[nz] / act[nz]))) if nz.any() else float("nan")
    mae = float(np.mean(np.abs(err)))
    out = {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": mae,
        "mape": mape,
        "mape_skipped": int((~nz).sum()),
        "mase": mae / scale if scale > 0 else float("nan"),
        "n": int(len(act)),
    }
    if lo is not None:
        out["coverage"] = float(np.mean((act >= lo) & (act <= hi)))
        out["width"] = float(np.mean(hi - lo))
        if level is not None:
            # Winkler score (protocol §4.3): width plus 2/alpha times the miss distance.
            alpha = 1.0 - level
            miss = np.maximum(lo - act, 0.0) + np.maximum(act - hi, 0.0)
            out["winkler"] = float(np.mean(hi - lo + (2.0 / alpha) * miss))
    return out


# ---------------------------------------------------------------------------------------------
# §4 backtest with statsforecast
# ---------------------------------------------------------------------------------------------

def level_pct(level):
    pct = round(level * 100, 6)
    return int(pct) if pct == int(pct) else pct


def segment_frame(table, b, h, exog):
    """The series up to the segment end b, padded by h-1 days (last values carried forward:
    those targets are dropped; a known driver's future is carried forward as in §5.1)."""
    import pandas as pd
    part = table.iloc[:b]
    pad = h - 1
    ds = pd.date_range(part.index[0], periods=b + pad, freq="D")
    y = list(part[TARGET].to_numpy()) + [float(part[TARGET].iloc[-1])] * pad
    df = pd.DataFrame({"unique_id": "revenue", "ds": ds, "y": y})
    if exog:
        x = part[KNOWN_DRIVER].to_numpy()
        df[KNOWN_DRIVER] = list(x) + [float(x[-1])] * pad
    return df


def backtest(make_model, table, a, b, h, level):
    """Fit on rows [0, a), forecast from every origin a-1 .. b-2 with fixed parameters, keep the
    in-segment steps. Returns (actual, mean, lo, hi, origin, step) arrays in real dollars."""
    import numpy as np
    from statsforecast import StatsForecast

    model, exog = make_model()
    df = segment_frame(table, b, h, exog)
    n_windows = b - a              # origins a-1 .. b-2
    test_size = n_windows - 1 + h  # so the first cutoff is row a-1
    sf = StatsForecast(models=[model], freq="D", n_jobs=1)
    lv = level_pct(level)
    cv = sf.cross_validation(df=df, h=h, step_size=1, test_size=test_size, refit=False,
                             level=[lv])
    ds0 = df["ds"].iloc[0]
    row = ((cv["ds"] - ds0).dt.days).to_numpy()
    origin = ((cv["cutoff"] - ds0).dt.days).to_numpy()
    keep = row < b
    name = repr(model)
    lo_col, hi_col = f"{name}-lo-{lv}", f"{name}-hi-{lv}"
    y_real = table[TARGET].to_numpy()
    act = cv["y"].to_numpy()[keep]
    # The frame's y is the table's revenue: a mismatch means the rows were misaligned.
    if not np.array_equal(act, y_real[row[keep]]):
        raise RuntimeError("cross_validation rows do not line up with the series")
    first = origin.min()
    if first != a - 1 or origin.max() != b - 2:
        raise RuntimeError(f"origins {first}..{origin.max()}, expected {a - 1}..{b - 2}")
    return {
        "act": act,
        "mean": cv[name].to_numpy()[keep],
        "lo": cv[lo_col].to_numpy()[keep],
        "hi": cv[hi_col].to_numpy()[keep],
        "origin": origin[keep],
        "step": (row - origin)[keep],
    }


def peers():
    """name -> factory returning (model, uses ad_spend)."""
    from statsforecast.models import (AutoARIMA, AutoETS, AutoTheta, MSTL, SeasonalNaive)
    return {
        "SeasonalNaive(7)": lambda: (SeasonalNaive(season_length=SEASON), False),
        "AutoARIMA(7)": lambda: (AutoARIMA(season_length=SEASON), False),
        "AutoARIMA(7)+ad_spend": lambda: (AutoARIMA(season_length=SEASON), True),
        "AutoETS(7)": lambda: (AutoETS(season_length=SEASON), False),
        "AutoTheta(7)": lambda: (AutoTheta(season_length=SEASON), False),
        "MSTL(7)+AutoETS(ZZN)": lambda: (
            MSTL(season_length=SEASON, trend_forecaster=AutoETS(model="ZZN")), False),
    }


def describe_fit(name, make_model, table, end):
    """The specification the automatic model chose when fitted on rows [0, end) (untimed)."""
    model, exog = make_model()
    y = table[TARGET].to_numpy()[:end]
    X = table[[KNOWN_DRIVER]].to_numpy()[:end] if exog else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(y=y, X=X)
        m = getattr(model, "model_", None)
        if name.startswith("AutoARIMA"):
            p, q, P, Q, s, d, D = (int(v) for v in m["arma"])
            return f"ARIMA({p},{d},{q})({P},{D},{Q})[{s}]" + (" + ad_spend" if exog else "")
        if name.startswith("AutoETS"):
            return f"ETS({m['method'][4:-1] if m['method'].startswith('ETS(') else m['method']})"
        if name.startswith("MSTL"):
            tm = model.trend_forecaster.model_
            return f"MSTL(7) + ETS({tm['method'][4:-1]})"
        if name.startswith("AutoTheta"):
            return {"STM": "standard theta", "OTM": "optimised theta",
                    "DSTM": "dynamic standard theta", "DOTM": "dynamic optimised theta"}.get(
                        m.get("modeltype", ""), str(m.get("modeltype", "")))
        if name.startswith("SeasonalNaive"):
            return "y[o+h-7]"
    except Exception as e:  # description only: never fails the run
        return f"(fit failed: {e})"
    return ""


def run_peer(name, make_model, table, train_end, val_end, h, level, y):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        val = backtest(make_model, table, train_end, val_end, h, level)
        test = backtest(make_model, table, val_end, len(table), h, level)
    seconds = time.perf_counter() - t0
    vm = metrics(val["act"], val["mean"], val["lo"], val["hi"], seasonal_naive_mae(y[:train_end]),
                 level)
    tm = metrics(test["act"], test["mean"], test["lo"], test["hi"],
                 seasonal_naive_mae(y[:val_end]), level)
    return {"name": name, "val": vm, "test": tm, "seconds": seconds,
            "test_forecasts": test, "val_forecasts": val}


# ---------------------------------------------------------------------------------------------
# Sanity check: our seasonal naive (src/models/naive.rs), computed here, against the peer's
# ---------------------------------------------------------------------------------------------

def our_seasonal_naive(y, a, b, h, level, m=SEASON):
    """SeasonalNaive(7) exactly as src/models/naive.rs: y[o + h - m*ceil(h/m)], sigma fixed on
    the fitting rows [0, a), se_h = sigma*sqrt(floor((h-1)/m)+1)."""
    import numpy as np
    from statistics import NormalDist
    fit = y[:a]
    sigma = math.sqrt(float(np.mean((fit[m:] - fit[:-m]) ** 2)))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    act, mean, lo, hi = [], [], [], []
    for o in range(a - 1, b - 1):
        for s in range(1, min(h, b - 1 - o) + 1):
            v = y[o + s - m * math.ceil(s / m)]
            se = sigma * math.sqrt((s - 1) // m + 1)
            act.append(y[o + s]); mean.append(v); lo.append(v - z * se); hi.append(v + z * se)
    return tuple(np.array(v) for v in (act, mean, lo, hi))


# ---------------------------------------------------------------------------------------------
# Our leaderboard
# ---------------------------------------------------------------------------------------------

def read_leaderboard(path):
    need = ["winner", "family", "best_spec", "val_rmse", "test_rmse"]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise InputError(f"leaderboard {path}: has no rows")
    missing = [c for c in need if c not in rows[0]]
    if missing:
        raise InputError(f"leaderboard {path}: missing column `{missing[0]}` (the header has: "
                         f"{', '.join(rows[0].keys())})")

    def num(r, k):
        try:
            return float(r.get(k, "") or "nan")
        except ValueError:
            return float("nan")

    out = []
    for r in rows:
        out.append({
            "winner": r["winner"].strip().lower() == "true",
            "family": r["family"],
            "spec": r["best_spec"],
            "val_rmse": num(r, "val_rmse"),
            "test_rmse": num(r, "test_rmse"),
            "test_mae": num(r, "test_mae"),
            "test_mape": num(r, "test_mape"),
            "test_mase": num(r, "test_mase"),
            "test_coverage": num(r, "test_coverage"),
            # Older leaderboards have no width column: NaN prints as "-".
            "test_width": num(r, "test_width"),
            "test_winkler": num(r, "test_winkler"),
            "seconds": num(r, "seconds"),
        })
    return out


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------

def fmt(v, spec):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def print_table(headers, rows, aligns):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if al == "<" else h.rjust(w)
                     for h, w, al in zip(headers, widths, aligns))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) if al == "<" else c.rjust(w)
                        for c, w, al in zip(r, widths, aligns)))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None):
    args = parse_args(argv)
    t_start = time.perf_counter()
    try:
        import numpy as np
        import pandas  # noqa: F401
        import statsforecast
    except ImportError as e:
        fail(f"{e}: install the peers first:\n  python3 -m venv /tmp/peer-venv && "
             "/tmp/peer-venv/bin/pip install -r scripts/peer-requirements.txt\n  then run "
             "/tmp/peer-venv/bin/python scripts/peer_benchmark.py")

    available = peers()
    selected = list(available)
    if args.only:
        selected = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in selected if s not in available]
        if unknown:
            fail(f"--only: unknown peer `{unknown[0]}` (known: {', '.join(available)})")
        if "SeasonalNaive(7)" not in selected:
            selected.insert(0, "SeasonalNaive(7)")  # the sanity check needs it

    data_path = resolve(args.data)
    lb_path = resolve(args.leaderboard) if args.leaderboard else None
    try:
        daily, raw_rows = load_daily(data_path, args.fill_missing)
        table, train_end, val_end = prepare(daily, args.warmup, data_path)
        ours = read_leaderboard(lb_path) if lb_path and os.path.isfile(lb_path) else None
    except InputError as e:
        fail(str(e))

    h, level = args.horizon, args.level
    data_sha = sha256(data_path)
    y = table[TARGET].to_numpy(dtype=float)
    n = len(table)
    d = table.index
    lv = level_pct(level)
    print(f"adsales peer benchmark: statsforecast {statsforecast.__version__}, numpy "
          f"{np.__version__}, pandas {pandas.__version__}, BLAS threads 1")
    print(f"data: {data_path} ({raw_rows} rows -> {len(daily)} days "
          f"{daily.index[0].date()}..{daily.index[-1].date()}, warm-up {args.warmup} dropped)")
    print(f"split on {n} rows: train {train_end} ({d[0].date()}..{d[train_end - 1].date()}), "
          f"val {val_end - train_end} ({d[train_end].date()}..{d[val_end - 1].date()}), "
          f"test {n - val_end} ({d[val_end].date()}..{d[-1].date()})")
    print(f"protocol: H={h}, origins a-1..b-2 per segment, in-segment steps only, fixed "
          f"parameters (cross_validation step_size=1 refit=False); val fit on train, test refit "
          f"on train+val; {lv}% intervals; real dollars")
    print()

    results = []
    for name in selected:
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        try:
            r = run_peer(name, available[name], table, train_end, val_end, h, level, y)
        except Exception as e:
            print(f"warning: peer {name} failed: {e}", file=sys.stderr)
            results.append({"name": name, "error": str(e)})
            continue
        r["spec_test"] = describe_fit(name, available[name], table, val_end)
        results.append(r)

    ok = [r for r in results if "error" not in r]
    print(f"Peers (season 7), sorted by test RMSE; cov/width: {lv}% intervals on test; sec: wall "
          "time of both backtests (fit on train + val backtest, refit on train+val + test "
          "backtest):")
    rows = []
    for r in sorted(ok, key=lambda r: r["test"]["rmse"]):
        v, t = r["val"], r["test"]
        rows.append([r["name"], r.get("spec_test", ""), fmt(v["rmse"], ",.0f"),
                     fmt(t["rmse"], ",.2f"), fmt(t["mae"], ",.0f"), fmt(t["mape"], ".2f"),
                     fmt(t["mase"], ".3f"), fmt(100 * t["coverage"], ".1f"),
                     fmt(t["width"], ",.0f"), fmt(t["winkler"], ",.0f"),
                     fmt(r["seconds"], ".2f")])
    print_table(["peer", "chosen on train+val", "val RMSE", "test RMSE", "test MAE", "MAPE %",
                 "MASE", "cov %", "width", "Winkler", "sec"],
                rows, ["<", "<"] + [">"] * 9)
    for r in results:
        if "error" in r:
            print(f"  {r['name']}: FAILED: {r['error']}")
    if ok:
        t = ok[0]["test"]
        print(f"(test: {t['n']} (origin, step) pairs; val: {ok[0]['val']['n']} pairs; MAPE skipped "
              f"{t['mape_skipped']} zero actuals)")
    print()

    # Sanity check: our SeasonalNaive(7) == statsforecast's SeasonalNaive(7).
    sanity = {"ok": False}
    sn = next((r for r in ok if r["name"] == "SeasonalNaive(7)"), None)
    print("Sanity check (the protocol is matched iff our seasonal naive equals the peer's):")
    if sn is None:
        print("  FAILED: the SeasonalNaive(7) peer did not run")
    else:
        act, mean, lo, hi = our_seasonal_naive(y, val_end, n, h, level)
        ours_m = metrics(act, mean, lo, hi, seasonal_naive_mae(y[:val_end]))
        val_act, val_mean, _, _ = our_seasonal_naive(y, train_end, val_end, h, level)
        peer_t = sn["test_forecasts"]
        same_pairs = len(mean) == len(peer_t["mean"])
        max_diff = float(np.max(np.abs(mean - peer_t["mean"]))) if same_pairs else float("inf")
        val_diff = (float(np.max(np.abs(val_mean - sn["val_forecasts"]["mean"])))
                    if len(val_mean) == len(sn["val_forecasts"]["mean"]) else float("inf"))
        sanity = {
            "ours_test_rmse": ours_m["rmse"], "peer_test_rmse": sn["test"]["rmse"],
            "max_abs_forecast_diff_test": max_diff, "max_abs_forecast_diff_val": val_diff,
            "ours_test_coverage": ours_m["coverage"], "peer_test_coverage":
                sn["test"]["coverage"],
            "ok": same_pairs and max_diff < 0.005 and val_diff < 0.005,
        }
        print(f"  ours (src/models/naive.rs formula) test RMSE {ours_m['rmse']:,.2f}  "
              f"statsforecast SeasonalNaive(7) {sn['test']['rmse']:,.2f}  "
              f"max |forecast diff| test {max_diff:.2g}, val {val_diff:.2g} over "
              f"{len(mean)} + {len(val_mean)} pairs -> {'OK' if sanity['ok'] else 'MISMATCH'}")
        print(f"  (intervals differ by design: ours fix sigma on the fit rows, cov "
              f"{100 * ours_m['coverage']:.1f}%; statsforecast re-estimates it at each origin, "
              f"cov {100 * sn['test']['coverage']:.1f}%)")
        if data_sha == BUNDLED_SHA256 and args.warmup == DEFAULT_WARMUP and h == 7 \
                and args.fill_missing == "interpolate":
            exp_ok = abs(sn["test"]["rmse"] - BUNDLED_SN_TEST_RMSE) < 0.005
            sanity["bundled_expected"] = BUNDLED_SN_TEST_RMSE
            sanity["bundled_ok"] = exp_ok
            print(f"  bundled data: expected test RMSE {BUNDLED_SN_TEST_RMSE:,.2f} -> "
                  f"{'OK' if exp_ok else 'MISMATCH (a different file, or the protocol is not matched)'}")
        if ours:
            lb_sn = next((o for o in ours if o["family"] == "seasonal_naive"), None)
            if lb_sn:
                lb_ok = abs(lb_sn["test_rmse"] - sn["test"]["rmse"]) < 0.005
                sanity["leaderboard_seasonal_naive_test_rmse"] = lb_sn["test_rmse"]
                sanity["leaderboard_ok"] = lb_ok
                print(f"  leaderboard seasonal_naive test RMSE {lb_sn['test_rmse']:,.2f} -> "
                      + ("OK: the leaderboard was scored on the same rows" if lb_ok else
                         "MISMATCH: the leaderboard comes from other data or another config "
                         "(split, features, horizon): the side-by-side table is not comparable"))
    print()

    ratio = None
    if ours:
        print(f"adsales ({lb_path}) beside the peers, sorted by test RMSE "
              "(* = our winner):")
        combined = []
        for o in ours:
            combined.append((o["test_rmse"], [
                ("* " if o["winner"] else "  ") + f"adsales {o['family']}", o["spec"],
                fmt(o["val_rmse"], ",.0f"), fmt(o["test_rmse"], ",.2f"),
                fmt(o["test_mae"], ",.0f"), fmt(o["test_mape"], ".2f"),
                fmt(o["test_mase"], ".3f"), fmt(100 * o["test_coverage"], ".1f"),
                fmt(o["test_width"], ",.0f"), fmt(o["test_winkler"], ",.0f"),
                fmt(o["seconds"], ".2f")]))
        for r in ok:
            t = r["test"]
            combined.append((t["rmse"], [
                f"  peer {r['name']}", r.get("spec_test", ""), fmt(r["val"]["rmse"], ",.0f"),
                fmt(t["rmse"], ",.2f"), fmt(t["mae"], ",.0f"), fmt(t["mape"], ".2f"),
                fmt(t["mase"], ".3f"), fmt(100 * t["coverage"], ".1f"), fmt(t["width"], ",.0f"),
                fmt(t["winkler"], ",.0f"), fmt(r["seconds"], ".2f")]))
        combined.sort(key=lambda c: (math.isnan(c[0]), c[0]))
        print_table(["model", "spec", "val RMSE", "test RMSE", "test MAE", "MAPE %", "MASE",
                     "cov %", "width", "Winkler", "sec"], [c[1] for c in combined],
                    ["<", "<"] + [">"] * 9)
        win = next((o for o in ours if o["winner"]), None)
        if win and ok:
            best = min(ok, key=lambda r: r["test"]["rmse"])
            ratio = win["test_rmse"] / best["test"]["rmse"]
            print(f"\nour winner ({win['family']}, test RMSE {win['test_rmse']:,.2f}) / best peer "
                  f"({best['name']}, {best['test']['rmse']:,.2f}) = {ratio:.3f}"
                  + ("  (ours is better)" if ratio < 1 else "  (the peer is better)"))
        elif not win:
            print("\n(no row of the leaderboard is marked winner)")
        print()
    elif lb_path:
        print(f"(no leaderboard at {lb_path}: run `adsales train` or pass --leaderboard)\n")

    total = time.perf_counter() - t_start
    print(f"total wall time {total:.1f} s")

    if args.json:
        def clean(m):
            return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in m.items()}
        out = {
            "data": {"path": data_path, "sha256": data_sha, "raw_rows": raw_rows,
                     "days": len(daily), "first": str(daily.index[0].date()),
                     "last": str(daily.index[-1].date()), "warmup": args.warmup,
                     "fill_missing": args.fill_missing},
            "split": {"rows": n, "train": train_end, "val": val_end - train_end,
                      "test": n - val_end},
            "protocol": {"horizon": h, "level": level, "season_length": SEASON},
            "versions": {"statsforecast": statsforecast.__version__, "numpy": np.__version__,
                         "pandas": pandas.__version__},
            "peers": [
                ({"name": r["name"], "spec_test": r.get("spec_test"), "val": clean(r["val"]),
                  "test": clean(r["test"]), "seconds": r["seconds"]}
                 if "error" not in r else {"name": r["name"], "error": r["error"]})
                for r in results],
            "sanity": clean(sanity),
            "leaderboard": ({"path": lb_path, "rows": [clean(o) for o in ours]}
                            if ours else None),
            "winner_to_best_peer_test_rmse": ratio,
            "seconds": total,
        }
        try:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
        except OSError as e:
            fail(f"cannot write --json {args.json}: {e}")
        print(f"wrote {args.json}")

    if not sanity.get("ok") or sanity.get("bundled_ok") is False:
        print("error: the seasonal-naive sanity check failed: this run does not follow the "
              "protocol", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
