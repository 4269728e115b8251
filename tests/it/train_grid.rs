//! A grid point the data cannot support becomes a FAILED child run with its error as a tag;
//! the rest of the grid continues and train still registers a winner.

use crate::common::*;

#[test]
fn failing_grid_point_is_a_failed_run_and_train_still_registers() {
    // A seasonal period of 400 days with seasonal differencing cannot be fitted on ~490
    // training days; the (1,0,0) point can. One driver set, so one point of each.
    let p = Project::bundled(
        "paths:\n  raw_data: raw.csv\nfamilies: [seasonal_naive, sarimax]\nsarimax:\n  exog: [ad_spend]\n  exog_sets: [[ad_spend]]\n  param_grid:\n    order: [[1, 0, 0]]\n    seasonal_order: [[0, 0, 0, 7], [1, 1, 1, 400]]\n    trend: [c]\nmlflow:\n  tracking_uri: mlruns\n",
    );
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("registered Ad_Sales_Forecaster version 1"),
        "{}",
        stdout(&o)
    );
    let mut failed = Vec::new();
    let mut finished = 0;
    for exp in std::fs::read_dir(p.path("mlruns")).unwrap().flatten() {
        for run in std::fs::read_dir(exp.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(meta) = std::fs::read_to_string(run.path().join("meta.yaml")) else {
                continue;
            };
            if !meta.contains("run_id") {
                continue;
            }
            if meta.contains("status: 4") {
                failed.push(run.path());
            } else if meta.contains("status: 3") {
                finished += 1;
            }
            assert!(
                !meta.contains("status: 1"),
                "a run was left RUNNING: {meta}"
            );
        }
    }
    assert_eq!(failed.len(), 1, "exactly the impossible grid point failed");
    let err = std::fs::read_to_string(failed[0].join("tags/error")).unwrap();
    assert!(err.contains("400"), "error tag names the spec: {err}");
    let name = std::fs::read_to_string(failed[0].join("tags/mlflow.runName")).unwrap();
    assert!(name.contains("(1,1,1,400)"), "{name}");
    // train + 2 family runs + 2 finished grid points (naive, sarimax (1,0,0)).
    assert_eq!(finished, 5);
}
