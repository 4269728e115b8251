"""MLflow's own Python client reads a tree logged by `adsales train`.

Usage: check_train.py TRACKING_URI EXPERIMENT MODEL ALIAS DOWNLOAD_DIR
Checks: the alias resolves; its version's source run is a family-best grid-point run nested
family → train; the train run FINISHED with the dataset input and stage timings; every
family run has grid-point children; the bundle downloads with an MLmodel manifest; the version
links an MLflow 3 logged model (READY, made by that run, listed by search_logged_models with
the run's val/test RMSE, recorded as the run's output) whose artifacts download too.
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
    # Made from the family best's logged model, as MLflow 3 registers one (MLflow's sqlite
    # registry does not return the version's model_id field, its file store does).
    check(mv.source.startswith("models:/m-"), f"source {mv.source}")
    model_id = mv.source[len("models:/"):]
    check(mv.model_id in (None, model_id), f"model id {mv.model_id} vs source {mv.source}")
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
    # MLflow 3 logged models: one per family best of this train, the winner's linked.
    lm = c.get_logged_model(model_id)
    check(str(lm.status) in ("READY", "LoggedModelStatus.READY"), f"logged model status {lm.status}")
    check(lm.source_run_id == best.info.run_id, f"logged model source run {lm.source_run_id}")
    check(lm.experiment_id == best.info.experiment_id, "logged model experiment")
    check(lm.params.get("spec") and lm.params.get("family") == mv.tags.get("family"), f"params {lm.params}")
    lm_metrics = {m.key: m.value for m in lm.metrics}
    for k in ("val_rmse", "test_rmse", "test_coverage"):
        check(abs(lm_metrics.get(k, float("nan")) - best.data.metrics[k]) < 1e-9, f"model metric {k}: {lm_metrics}")
    outs = [o.model_id for o in (best.outputs.model_outputs if best.outputs else [])]
    check(model_id in outs, f"run outputs {outs}")
    listed = c.search_logged_models(experiment_ids=[best.info.experiment_id])
    check(any(m.model_id == model_id for m in listed), "search_logged_models lists the winner")
    versions = json.loads(lm.tags.get("mlflow.modelVersions", "[]"))
    check(any(v["name"] == model and str(v["version"]) == str(mv.version) for v in versions),
          f"model's versions {versions}")
    fam_runs = {f.info.run_id for f in c.search_runs([best.info.experiment_id],
                filter_string=f"tags.mlflow.parentRunId = '{fam.data.tags['mlflow.parentRunId']}'")}
    mine = [m for m in listed if c.get_run(m.source_run_id).data.tags.get("mlflow.parentRunId") in fam_runs]
    check(len(mine) == len(fam_runs), f"{len(mine)} logged models for {len(fam_runs)} families")
    got = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model_id}", dst_path=dl + "-lm")
    check(os.path.isfile(os.path.join(got, "MLmodel")), f"download of models:/{model_id}: {got}")
    os.makedirs(dl, exist_ok=True)
    path = c.download_artifacts(mv.run_id, "model", dl)
    check(os.path.exists(os.path.join(path, "MLmodel")), "MLmodel downloaded")
    print("TRAIN CHECK OK")


if __name__ == "__main__":
    main()
