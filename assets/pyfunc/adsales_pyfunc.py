"""MLflow `python_function` loader for adsales model bundles (no pickle).

`mlflow.pyfunc.load_model("models:/NAME@ALIAS")` imports this module from the bundle's `code/`
folder and calls `_load_pyfunc(path)` with the downloaded model folder. `predict` runs the
`adsales` binary (found through the ADSALES_BIN environment variable, else on PATH) on that
folder, so it returns exactly what `adsales infer --model-uri FOLDER --format json` forecasts.
The binary verifies every file of the folder against its MLmodel before it forecasts.

Input rows are the plan: the date column and the known drivers (e.g. ad_spend) of each forecast
day, the days right after the model's history. With no rows, `params["days"]` days are
forecast and the drivers are forecast too. `params["level"]` is the interval level.
"""

import json
import os
import shutil
import subprocess
import tempfile

import pandas as pd

OUTPUT_COLUMNS = ("date", "lower", "upper")


def _binary():
    found = os.environ.get("ADSALES_BIN") or shutil.which("adsales")
    if not found:
        raise RuntimeError(
            "the adsales binary was not found: set ADSALES_BIN to its path or put it on PATH"
        )
    return found


class AdsalesModel:
    def __init__(self, path):
        self.path = os.path.abspath(path)

    def predict(self, model_input, params=None):
        params = dict(params or {})
        frame = pd.DataFrame(model_input) if model_input is not None else pd.DataFrame()
        with tempfile.TemporaryDirectory(prefix="adsales-pyfunc-") as tmp:
            config = os.path.join(tmp, "config.yaml")
            with open(config, "w") as f:
                # Logs go to the temp folder, not to the caller's working directory.
                f.write("paths:\n  logs_dir: logs\n")
            args = [_binary(), "-q", "infer", "--config", config, "--model-uri", self.path,
                    "--format", "json"]
            if len(frame):
                plan = os.path.join(tmp, "plan.csv")
                frame.to_csv(plan, index=False)
                # The rows are the horizon; a `days` param (or its default) does not apply.
                args += ["--plan", plan, "--days", str(len(frame))]
            elif params.get("days") is not None:
                args += ["--days", str(int(params["days"]))]
            if params.get("level") is not None:
                args += ["--level", repr(float(params["level"]))]
            done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            message = done.stderr.strip() or f"adsales exited with code {done.returncode}"
            if done.returncode == 2:
                from mlflow.exceptions import MlflowException
                from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

                raise MlflowException(message, error_code=INVALID_PARAMETER_VALUE)
            raise RuntimeError(message)
        doc = json.loads(done.stdout)
        predicted = f"predicted_{doc['target']}"
        return pd.DataFrame(doc["forecast"], columns=["date", predicted, "lower", "upper"])


def _load_pyfunc(path):
    return AdsalesModel(path)
