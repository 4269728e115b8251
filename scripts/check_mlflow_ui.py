#!/usr/bin/env python3
"""What MLflow's own UI shows of a store adsales wrote, checked in a real headless browser.

    python3 scripts/check_mlflow_ui.py [--out DIR]

Trains a small SARIMAX model on the bundled data in a scratch folder (twice, so there are two
versions), promotes one and evaluates it on new days, starts `mlflow ui` (MLflow 3.17.2, from
scripts/mlflow-server.sh's venv) on that store on 127.0.0.1, and opens the pages a user looks at
in Debian's Chromium (`apt-get install -y chromium`). Each check reads the rendered page's text;
screenshots land in --out. Exit 1 if any check fails.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = 5155
CONFIG = """paths:
  raw_data: raw.csv
families: [sarimax]
sarimax:
  exog: [ad_spend]
  param_grid:
    order: [[1, 0, 0], [1, 0, 1]]
    seasonal_order: [[0, 0, 0, 7]]
    trend: [{trend}]
mlflow:
  tracking_uri: mlruns
"""


def binary():
    """The newest build of adsales (release or debug)."""
    found = [p for p in (os.path.join(ROOT, "target", prof, "adsales") for prof in
                         ("release", "debug")) if os.access(p, os.X_OK)]
    if not found:
        sys.exit("check_mlflow_ui: build adsales first (cargo build)")
    return max(found, key=os.path.getmtime)


def api(path, **query):
    q = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in query.items())
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/2.0/mlflow/{path}?{q}") as r:
        return json.load(r)


def render(url, shot):
    """The page's text after its scripts ran, and a screenshot."""
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tempfile.mkdtemp()}",
            "--virtual-time-budget=20000", "--window-size=1500,1100"]
    subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, timeout=120)
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    return dom.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "mlflow-ui-check"))
    args = ap.parse_args()
    if not shutil.which("chromium"):
        sys.exit("check_mlflow_ui: chromium missing (apt-get install -y chromium)")
    os.makedirs(args.out, exist_ok=True)
    adsales = binary()
    work = tempfile.mkdtemp(prefix="adsales-ui-")
    shutil.copy(os.path.join(ROOT, "data", "raw", "global_ads_performance_dataset.csv"),
                os.path.join(work, "raw.csv"))
    for trend in ("c", "n"):
        with open(os.path.join(work, "config.yaml"), "w") as f:
            f.write(CONFIG.format(trend=trend))
        subprocess.run([adsales, "-q", "train"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        if trend == "c":
            subprocess.run([adsales, "-q", "promote"], cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
    with open(os.path.join(work, "raw.csv")) as f:
        lines = f.read().splitlines()
    with open(os.path.join(work, "new.csv"), "w") as f:
        f.write(lines[0] + "\n")
        for line in lines[1:]:
            if line.startswith("2025-12-") and int(line[8:10]) <= 14:
                f.write("2026-01" + line[7:] + "\n")
    # Version 1 (@Production) is the one whose pages are checked below.
    subprocess.run([adsales, "-q", "evaluate", "--data", "new.csv", "--model-uri",
                    "models:/Ad_Sales_Forecaster@Production"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)

    py = subprocess.run([os.path.join(ROOT, "scripts", "mlflow-server.sh"), "python"],
                        capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true")
    ui = subprocess.Popen([os.path.join(os.path.dirname(py), "mlflow"), "ui",
                           "--backend-store-uri", os.path.join(work, "mlruns"),
                           "--host", "127.0.0.1", "--port", str(PORT)],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        exp = api("experiments/get-by-name", experiment_name="Ad_Sales_TimeSeries")
        exp_id = exp["experiment"]["experiment_id"]
        version = api("model-versions/get", name="Ad_Sales_Forecaster",
                      version="1")["model_version"]
        best_run = version["run_id"]
        model_id = version["source"].removeprefix("models:/")
        base = f"http://127.0.0.1:{PORT}/#"
        pages = [
            # The runs table (3.x opens an experiment on its traces view otherwise).
            ("runs", f"{base}/experiments/{exp_id}/runs", ["train"]),
            ("best-run-artifacts", f"{base}/experiments/{exp_id}/runs/{best_run}/artifacts",
             ["MLmodel", "code", "input_example.json"]),
            # The logged-model panel: schema and MLflow's "how to predict" snippets, shown for
            # folders the run's mlflow.log-model.history tag lists.
            ("best-run-model", f"{base}/experiments/{exp_id}/runs/{best_run}/artifacts/model",
             ["Model schema", "Inputs (2)", "Outputs (4)", "Make Predictions"]),
            # The signature on the version page, the promote decision's tags, the alias.
            ("model-version", f"{base}/models/Ad_Sales_Forecaster/versions/1",
             ["Inputs (2)", "Outputs (4)", "Production", "promotion.Production.decision"]),
            ("registry", f"{base}/models/Ad_Sales_Forecaster", ["Staging", "Production"]),
            # MLflow 3 logged models: the experiment's Models tab lists each family best's
            # model with its metrics; the model's page links its registered version.
            ("experiment-models", f"{base}/experiments/{exp_id}/models",
             [model_id, "Ready", "sarimax", "seasonal_naive"]),
            ("logged-model", f"{base}/experiments/{exp_id}/models/{model_id}",
             ["Ad_Sales_Forecaster", "test_rmse", "spec"]),
            # evaluate's metrics on the version's run.
            ("best-run-overview", f"{base}/experiments/{exp_id}/runs/{best_run}",
             ["eval_abs_error", "test_rmse"]),
        ]
        for name, url, wants in pages:
            text = render(url, os.path.join(args.out, f"{name}.png"))
            missing = [w for w in wants if w not in text]
            status = "ok" if not missing else f"MISSING {missing}"
            print(f"{name:<20} {status:<40} {url}")
            if missing:
                failures.append(name)
    finally:
        ui.terminate()
        ui.wait(20)
    print(f"screenshots in {args.out}; store in {work}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
