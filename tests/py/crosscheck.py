"""MLflow's own Python client reads back what adsales logged (REST server or file store).

Usage: crosscheck.py TRACKING_URI LOGGED_JSON DOWNLOAD_DIR
Run by tests/it/tracking_rest.rs and tests/it/tracking_local.rs; exits non-zero on any mismatch and
prints "CROSSCHECK OK" when every check passed. For a file store, MLFLOW_ALLOW_FILE_STORE=true
must be set (MLflow 3.x refuses the file store otherwise).
"""

import hashlib
import json
import math
import os
import sys

from mlflow import MlflowClient


def check(cond, what):
    if not cond:
        print(f"CROSSCHECK FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    uri, logged_path, dl_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(logged_path) as f:
        want = json.load(f)
    c = MlflowClient(tracking_uri=uri, registry_uri=uri)

    # The experiment is listed (the file store reads every experiment folder for this).
    exps = {e.experiment_id for e in c.search_experiments()}
    check(want["experiment_id"] in exps, f"experiment {want['experiment_id']} not in {exps}")

    # Registry: alias lookup.
    mv = c.get_model_version_by_alias(want["model_name"], "Staging")
    check(str(mv.version) == want["staging_version"], f"Staging version {mv.version}")
    check(mv.run_id == want["staging_run_id"], f"Staging run {mv.run_id}")
    check(mv.source == f"runs:/{want['staging_run_id']}/model", f"source {mv.source}")
    versions = c.search_model_versions(f"name='{want['model_name']}'")
    check(sorted(int(v.version) for v in versions) == [1, 2], f"versions {versions}")

    # Search ordered by a metric.
    runs = c.search_runs(
        [want["experiment_id"]],
        filter_string=f"tags.mlflow.parentRunId = '{want['parent_run_id']}'",
        order_by=["metrics.rmse ASC"],
    )
    ids = [r.info.run_id for r in runs]
    check(ids[:2] == want["children_by_rmse"], f"order {ids}")
    check(want["failed_run_id"] in ids, "failed run listed")
    failed = c.get_run(want["failed_run_id"])
    check(failed.info.status == "FAILED", f"status {failed.info.status}")
    best = c.get_run(want["children_by_rmse"][0])
    check(best.info.status == "FINISHED", f"status {best.info.status}")
    check(best.data.params.get("family") == "sarimax", f"params {best.data.params}")
    check(best.data.tags.get("stage") == "grid", f"tags {best.data.tags}")
    check(best.data.tags.get("mlflow.parentRunId") == want["parent_run_id"], "parent tag")
    check(math.isclose(best.data.metrics["rmse"], 1.5), f"metrics {best.data.metrics}")

    # Metric history, NaN intact.
    hist = c.get_metric_history(want["history_run_id"], "rmse")
    hist = sorted(hist, key=lambda m: m.step)
    check(len(hist) == len(want["rmse_history"]), f"history length {len(hist)}")
    for m, w in zip(hist, want["rmse_history"]):
        if w is None:
            check(math.isnan(m.value), f"step {m.step}: expected NaN, got {m.value}")
        else:
            check(math.isclose(m.value, w), f"step {m.step}: expected {w}, got {m.value}")

    # Dataset input.
    parent = c.get_run(want["parent_run_id"])
    ds = parent.inputs.dataset_inputs
    check(len(ds) == 1 and ds[0].dataset.digest == want["dataset_digest"], f"inputs {ds}")
    check(json.loads(ds[0].dataset.profile)["num_rows"] == 365, "dataset rows")

    # Artifacts down: every bundle file matches its sha256.
    os.makedirs(dl_dir, exist_ok=True)
    local = c.download_artifacts(want["staging_run_id"], "model", dl_dir)
    for rel, sha in want["bundle_files"].items():
        with open(os.path.join(local, rel), "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        check(got == sha, f"{rel}: sha256 {got} != {sha}")
    check(os.path.isfile(os.path.join(local, "MLmodel")), "MLmodel downloaded")

    print("CROSSCHECK OK")


if __name__ == "__main__":
    main()
