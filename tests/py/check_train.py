"""MLflow's own Python client reads a tree logged by `adsales train`.

Usage: check_train.py TRACKING_URI EXPERIMENT MODEL ALIAS DOWNLOAD_DIR
Checks: the alias resolves; its version's source run is a family-best grid-point run nested
family → train; the train run FINISHED with the dataset input and stage timings; every
family run has grid-point children; the bundle downloads with an MLmodel manifest.
Prints "TRAIN CHECK OK" on success, exits non-zero with the reason otherwise.
"""

import json
import os
import sys

from mlflow import MlflowClient


def check(cond, what):
    if not cond:
        print(f"TRAIN CHECK FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    uri, experiment, model, alias, dl = sys.argv[1:6]
    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = c.get_model_version_by_alias(model, alias)
    check(mv.tags.get("family"), f"version tags {mv.tags}")
    best = c.get_run(mv.run_id)
    # The resolved location, as MLflow's own register_model stores it for a runs:/ URI.
    check(mv.source == best.info.artifact_uri.rstrip("/") + "/model", f"source {mv.source}")
    # MLflow resolves the source and downloads the bundle through it.
    import mlflow.artifacts

    mlflow.set_tracking_uri(uri)
    os.makedirs(dl + "-src", exist_ok=True)
    got = mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=dl + "-src")
    check(os.path.isfile(os.path.join(got, "MLmodel")), f"download of {mv.source}: {got}")
    # The run lists the bundle as a logged model.
    logged = json.loads(best.data.tags.get("mlflow.log-model.history", "[]"))
    check(logged and logged[0]["artifact_path"] == "model", f"log-model history {logged}")
    check(best.data.tags.get("adsales.family_best") == "true", "winner run is a family best")
    check("test_rmse" in best.data.metrics and "val_rmse" in best.data.metrics, "metrics on the winner")
    fam = c.get_run(best.data.tags["mlflow.parentRunId"])
    check(fam.data.tags.get("adsales.kind") == "family", "parent is a family run")
    train = c.get_run(fam.data.tags["mlflow.parentRunId"])
    check(train.data.tags.get("adsales.kind") == "train", "grandparent is the train run")
    check(train.info.status == "FINISHED", f"train status {train.info.status}")
    check("time_total_s" in train.data.metrics, "stage timings logged")
    check(len(train.inputs.dataset_inputs) >= 1, "dataset input logged")
    exp = c.get_experiment_by_name(experiment)
    check(exp is not None and exp.experiment_id == train.info.experiment_id, "experiment")
    families = c.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{train.info.run_id}'",
        order_by=["metrics.test_rmse ASC"],
    )
    check(len(families) >= 1, "family runs listed")
    check(families[0].info.run_id == fam.info.run_id, "the winner's family has the lowest test RMSE")
    for f in families:
        kids = c.search_runs([exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{f.info.run_id}'")
        check(len(kids) >= 1, f"grid points under {f.info.run_name}")
    os.makedirs(dl, exist_ok=True)
    path = c.download_artifacts(mv.run_id, "model", dl)
    check(os.path.exists(os.path.join(path, "MLmodel")), "MLmodel downloaded")
    print("TRAIN CHECK OK")


if __name__ == "__main__":
    main()
