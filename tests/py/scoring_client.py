"""MLflow's own scoring client against `adsales serve`: sends a plan the way MLflow sends a
DataFrame (`dataframe_split`, index included) and prints the answers as a JSON list.

    python scoring_client.py HOST PORT PLAN.csv

The plan is sent twice: with its dates as text, and as pandas timestamps (which MLflow's
encoder writes as ISO date-times).
"""

import json
import sys

import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient


def main() -> None:
    host, port, plan = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = ScoringServerClient(host, port)
    # MLflow's client calls /ping before anything else and treats a non-200 as failure.
    client.wait_server_ready(timeout=30)
    frame = pd.read_csv(plan)
    answers = []
    for f in (frame, frame.assign(date=pd.to_datetime(frame["date"]))):
        got = client.invoke(f)
        answers.append(dict(got))
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
