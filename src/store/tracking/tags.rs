//! The keys adsales writes to MLflow and reads back: run params, run tags and model-version
//! tags. One place, so a writer and its readers (`info`, `infer`) cannot drift apart.

/// Param of grid-point and family runs: the family id; tag of registered versions too.
pub const FAMILY: &str = "family";
/// Param of grid-point runs and tag of registered versions: the grid point's spec.
pub const SPEC: &str = "spec";
/// Run tag: `train`, `family` or `grid_point`.
pub const KIND: &str = "adsales.kind";
/// Run tag on the grid point that is its family's best (holds the bundle).
pub const FAMILY_BEST: &str = "adsales.family_best";
/// Run tag: the optimiser's stopping message.
pub const CONVERGENCE: &str = "convergence";
/// Run tag: the model a fit settled on, for families that choose it while fitting.
pub const FITTED_MODEL: &str = "fitted_model";
/// Run tag of a failed grid point: the error.
pub const ERROR: &str = "error";
/// Train run tag: the version registered by this train.
pub const REGISTERED_VERSION: &str = "registered_version";

/// Version tags (and metric names of family runs): the winner's scores.
pub const TEST_RMSE: &str = "test_rmse";
pub const TEST_MAPE: &str = "test_mape";
pub const VAL_RMSE: &str = "val_rmse";
/// Version tag: sha256 of the raw training file.
pub const DATA_SHA256: &str = "data_sha256";
/// Version tag: the train run that registered it.
pub const TRAIN_RUN_ID: &str = "train_run_id";

/// Version tag: which version held `alias` before this one (or `none`).
pub fn previous_holder(alias: &str) -> String {
    format!("previous_{alias}_version")
}
/// MLflow's record of the models logged in a run (`mlflow.models.Model.get_tags_dict()` per
/// model, as a JSON list): the UI shows its model panel and "how to predict" snippet for an
/// artifact folder listed here.
pub const LOG_MODEL_HISTORY: &str = "mlflow.log-model.history";
