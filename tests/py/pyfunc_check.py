"""MLflow's own loader on a model adsales registered: `mlflow.pyfunc.load_model` of the alias,
its signature, and `predict` with a plan and with params. Prints what it saw as JSON.

    MLFLOW_TRACKING_URI=file:///.../mlruns MLFLOW_ALLOW_FILE_STORE=true ADSALES_BIN=... \
        python pyfunc_check.py MODEL_URI PLAN.csv
"""

import json
import sys

import mlflow
import pandas as pd


def main() -> None:
    uri, plan = sys.argv[1], sys.argv[2]
    model = mlflow.pyfunc.load_model(uri)
    meta = model.metadata
    # MLflow will not cast int64 to the signature's double: spend is read as float.
    frame = pd.read_csv(plan, dtype={"date": str, "ad_spend": float})
    with_plan = model.predict(frame)
    empty = frame.iloc[0:0]
    no_plan = model.predict(empty, params={"days": 3, "level": 0.8})
    json.dump(
        {
            "inputs": meta.get_input_schema().input_names(),
            "outputs": meta.get_output_schema().input_names(),
            "params": {p.name: p.default for p in meta.get_params_schema().params},
            "flavors": sorted(meta.flavors),
            "with_plan": with_plan.to_dict(orient="records"),
            "no_plan": no_plan.to_dict(orient="records"),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
