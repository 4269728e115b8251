#!/usr/bin/env python3
"""Time statsmodels SARIMAX fits against ours on the parity fixtures; print a ratio table.

Ours can be timed two ways (give one or both):
  --bench-bin PATH   the criterion bench binary of benches/sarimax.rs (library fit, median of
                     --reps in-process runs). Build it in any profile, e.g.
                       cargo test --bench sarimax --no-run          (dev, opt-level 1)
                       cargo bench --bench sarimax --no-run         (release)
                     and pass the printed executable path.
  --adsales PATH     the adsales binary: times `adsales fit --csv ... --json` per fixture
                     (process start and CSV parsing included; needs the `fit` subcommand).
statsmodels: median of --reps fits of SARIMAX(...).fit(disp=False) with default options.

Usage: python3 scripts/bench_sarimax.py --bench-bin target/debug/deps/sarimax-HASH [--reps 3]
       [--fixtures tests/fixtures/sarimax] [--adsales target/release/adsales] [--only NAME,...]
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from statsmodels.tsa.statespace.sarimax import SARIMAX

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(dirname, only):
    out = []
    for name in sorted(os.listdir(dirname)):
        if name.endswith(".json"):
            with open(os.path.join(dirname, name)) as f:
                fx = json.load(f)
            if not only or fx["name"] in only:
                out.append(fx)
    return out


def time_statsmodels(fx, reps):
    s = fx["spec"]
    exog = np.column_stack([fx["exog"][c] for c in s["exog"]]) if s["exog"] else None
    times, llf = [], None
    for _ in range(reps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            mod = SARIMAX(np.array(fx["y"]), exog=exog, order=s["order"],
                          seasonal_order=s["seasonal"], trend=s["trend"],
                          use_exact_diffuse=s["exact_diffuse"])
            res = mod.fit(disp=False)
            times.append(time.perf_counter() - t)
            llf = res.llf
    return statistics.median(times), llf


def time_bench_bin(path, fixtures_dir, reps):
    out = subprocess.run([path, "--per-fixture", fixtures_dir, str(reps)], check=True,
                         capture_output=True, text=True).stdout
    return {d["name"]: d for d in map(json.loads, filter(None, out.splitlines()))}


def time_adsales(path, fx, reps):
    s = fx["spec"]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.csv")
        cols = ["y"] + s["exog"]
        with open(data, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for i, v in enumerate(fx["y"]):
                w.writerow([repr(v)] + [repr(fx["exog"][c][i]) for c in s["exog"]])
        cmd = [path, "fit", "--csv", data, "--target", "y", "--order",
               ",".join(map(str, s["order"])), "--seasonal", ",".join(map(str, s["seasonal"])),
               "--trend", s["trend"], "--horizon", "0", "--json"]
        if s["exog"]:
            cmd += ["--exog", ",".join(s["exog"])]
        if s["exact_diffuse"]:
            cmd += ["--exact-diffuse"]
        times, llf = [], None
        for _ in range(reps):
            t = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            if r.returncode != 0:
                return None, r.stderr.strip()[:60]
            llf = json.loads(r.stdout)["llf"]
        return statistics.median(times), llf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-bin")
    ap.add_argument("--adsales")
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "fixtures", "sarimax"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    if not a.bench_bin and not a.adsales:
        sys.exit("give --bench-bin and/or --adsales")
    only = set(filter(None, a.only.split(",")))
    fixtures = load(a.fixtures, only)
    lib = time_bench_bin(a.bench_bin, a.fixtures, a.reps) if a.bench_bin else {}
    hdr = f"{'fixture':<32} {'statsmodels s':>13} {'sm llf':>13}"
    if a.bench_bin:
        hdr += f" {'lib s':>10} {'lib llf':>13} {'ratio':>8}"
    if a.adsales:
        hdr += f" {'cli s':>10} {'ratio':>8}"
    print(hdr)
    ratios_lib, ratios_cli = [], []
    for fx in fixtures:
        sm_t, sm_llf = time_statsmodels(fx, a.reps)
        row = f"{fx['name']:<32} {sm_t:>13.4f} {sm_llf:>13.4f}"
        if a.bench_bin:
            d = lib.get(fx["name"], {})
            if "llf" in d:
                r = sm_t / d["seconds"]
                ratios_lib.append(r)
                row += f" {d['seconds']:>10.4f} {d['llf']:>13.4f} {r:>7.1f}x"
            else:
                row += f" {'error':>10} {d.get('error', 'missing')[:30]}"
        if a.adsales:
            t, llf = time_adsales(a.adsales, fx, a.reps)
            if t is None:
                row += f" {'error':>10} {llf}"
            else:
                r = sm_t / t
                ratios_cli.append(r)
                row += f" {t:>10.4f} {r:>7.1f}x"
        print(row, flush=True)
    if ratios_lib:
        print(f"median speed-up, library fit: {statistics.median(ratios_lib):.1f}x "
              f"(min {min(ratios_lib):.1f}x, max {max(ratios_lib):.1f}x) over {len(ratios_lib)} fits")
    if ratios_cli:
        print(f"median speed-up, adsales fit: {statistics.median(ratios_cli):.1f}x over {len(ratios_cli)} fits")


if __name__ == "__main__":
    main()
