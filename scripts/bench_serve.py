#!/usr/bin/env python3
"""Load benchmark: `adsales serve` against `mlflow models serve` (MLflow 3.17.2, the bundle's
pyfunc flavor, --env-manager local) on the same model and the same request, side by side.

    python3 scripts/bench_serve.py [--duration 30] [--connections 16] [--keep DIR]

Needs a release build (`make release`), the MLflow venv (`scripts/mlflow-server.sh python`
installs it) and wrk (`apt-get install -y wrk`). It trains a SARIMAX-only model on the bundled
data in a scratch folder, then drives each server with wrk on 127.0.0.1 only (2 threads, 16
connections, a 7-day plan in `dataframe_split` form), samples the server's RSS while it runs,
and prints one table: requests/s, p50, p99, non-2xx answers, RSS, and the ratios.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADSALES = os.path.join(ROOT, "target", "release", "adsales")

CONFIG = """paths:
  raw_data: raw.csv
families: [sarimax]
mlflow:
  tracking_uri: mlruns
"""

LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("ADSALES_BENCH_BODY"), "r"))
wrk.body = f:read("*a")
f:close()
"""


def die(msg):
    sys.exit(f"bench_serve: {msg}")


def wait_ready(url, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    die(f"{url} never answered /ping")


def rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree(pid):
    """pid and its descendants (uvicorn runs under mlflow's CLI process)."""
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return out
    for k in kids.split():
        out += tree(int(k))
    return out


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def run_wrk(url, body_file, duration, connections, server_pid):
    env = dict(os.environ, ADSALES_BENCH_BODY=body_file)
    lua = os.path.join(os.path.dirname(body_file), "post.lua")
    with open(lua, "w") as f:
        f.write(LUA)
    proc = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua,
         url + "/invocations"],
        stdout=subprocess.PIPE, text=True, env=env)
    samples = []
    while proc.poll() is None:
        samples.append(rss_kb(tree(server_pid)))
        time.sleep(1)
    out = proc.stdout.read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps, "requests": total, "p50_ms": parse_ms(lat["50"]),
        "p99_ms": parse_ms(lat["99"]), "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "none",
        "rss_first_mb": samples[0] / 1024 if samples else 0,
        "rss_peak_mb": max(samples) / 1024 if samples else 0,
        "rss_last_mb": samples[-1] / 1024 if samples else 0,
    }


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=30, help="seconds of load per server")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args()
    if not os.access(ADSALES, os.X_OK):
        die(f"{ADSALES} missing: run `make release`")
    if not shutil.which("wrk"):
        die("wrk missing: apt-get install -y wrk")
    venv_python = subprocess.run([os.path.join(ROOT, "scripts", "mlflow-server.sh"), "python"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    venv_bin = os.path.dirname(venv_python)

    work = args.keep or tempfile.mkdtemp(prefix="adsales-bench-serve-")
    os.makedirs(work, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv"),
                os.path.join(work, "raw.csv"))
    with open(os.path.join(work, "config.yaml"), "w") as f:
        f.write(CONFIG)
    subprocess.run([ADSALES, "-q", "train", "--config", "config.yaml"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    info = json.loads(subprocess.run([ADSALES, "-q", "info", "--json"], cwd=work, check=True,
                                     capture_output=True, text=True).stdout)
    body = {"dataframe_split": {"columns": ["date", "ad_spend"],
                                "data": [[f"2026-01-{d:02d}", 30000.0 + 500 * d]
                                         for d in range(1, 8)]}}
    body_file = os.path.join(work, "body.json")
    with open(body_file, "w") as f:
        json.dump(body, f)

    results = {}
    # adsales serve: its access log on (one line per request, as in production).
    ours = subprocess.Popen([ADSALES, "-q", "serve", "--config", "config.yaml", "--port", "5111"],
                            cwd=work, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready("http://127.0.0.1:5111")
        answer_ours = urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:5111/invocations", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})).read()
        results["adsales serve"] = run_wrk("http://127.0.0.1:5111", body_file, args.duration,
                                           args.connections, ours.pid)
    finally:
        stop(ours)

    env = dict(os.environ, MLFLOW_TRACKING_URI="file://" + os.path.join(work, "mlruns"),
               MLFLOW_ALLOW_FILE_STORE="true", ADSALES_BIN=ADSALES,
               PATH=venv_bin + os.pathsep + os.environ["PATH"])
    theirs = subprocess.Popen(
        [os.path.join(venv_bin, "mlflow"), "models", "serve", "-m",
         "models:/Ad_Sales_Forecaster@Staging", "--env-manager", "local", "-p", "5112"],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_ready("http://127.0.0.1:5112")
        answer_theirs = urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:5112/invocations", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})).read()
        results["mlflow models serve"] = run_wrk("http://127.0.0.1:5112", body_file,
                                                 args.duration, args.connections, theirs.pid)
    finally:
        stop(theirs)

    same = json.loads(answer_ours) == json.loads(answer_theirs)
    model = info.get("tracking", {}).get("aliased") or {}
    print(f"model: version {model.get('version')} {model.get('family')} {model.get('spec')}")
    print(f"both servers answer the same predictions: {same}")
    print(f"load: wrk -t2 -c{args.connections} -d{args.duration}s, a 7-day dataframe_split plan, "
          f"127.0.0.1, {os.cpu_count()} cores shared by server and wrk")
    head = f"{'server':<22}{'req/s':>10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}" \
           f"{'non-2xx':>9}{'RSS first':>11}{'RSS peak':>10}{'RSS last':>10}"
    print(head)
    for name, r in results.items():
        print(f"{name:<22}{r['rps']:>10.1f}{r['requests']:>10}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}{r['non2xx']:>9}{r['rss_first_mb']:>9.1f}MB"
              f"{r['rss_peak_mb']:>8.1f}MB{r['rss_last_mb']:>8.1f}MB"
              + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] != "none" else ""))
    a, m = results["adsales serve"], results["mlflow models serve"]
    print(f"throughput ratio adsales/mlflow: {a['rps'] / m['rps']:.1f}x; "
          f"p99 ratio mlflow/adsales: {m['p99_ms'] / a['p99_ms']:.1f}x")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
