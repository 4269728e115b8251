//! The root crate's integration tests, as one test binary: a change to the library links this
//! once instead of once per test file (the layout ripgrep uses). Each area is a module here.
//!
//! The tests run as threads of one process, in parallel. None may change process-wide state
//! (environment variables, the current directory, a global logger, libtorch's settings): a
//! test that needs its own environment or folder runs a child process with `.env()` and
//! `.current_dir()`, and helpers that own something process-wide share it under a lock
//! (`tracking_common::server`).

// Helpers: a scratch project run through the `adsales` binary, raw CSVs, store walkers.
mod common;
// Helpers: the tracking scenario both backends pass, the shared MLflow server, Python checks.
mod tracking_common;

// The auto_arima search against statsforecast AutoARIMA (orders, AICc).
mod auto_arima_parity;
// Bad CSV and config input: exit 2, one message naming what is wrong, nothing written.
mod bad_input;
// The model bundle: round trip, and every kind of tampering refused with the file named.
mod bundle;
// End to end on the local MLflow store: train registers a model, infer forecasts from it.
mod e2e_local;
// train, infer and info against a real MLflow server; MLflow's Python client reads the result.
mod e2e_rest;
// `evaluate`: new days' errors logged by date on the version's run; MLflow's client reads them.
mod evaluate;
// Driver sets as a SARIMAX grid axis: validation keeps an outcome driver out.
mod driver_sets;
// Our ETS filter and forecasts against statsmodels with the same parameters.
mod ets_parity;
// Ctrl-C during train marks runs KILLED; credentials never reach logs or errors.
mod faults;
// Features equal pandas' on the same input (golden tables).
mod features_golden;
// Champion/challenger: promote scores two aliased versions alike and moves only a winner.
mod promote;
// MLflow 3 logged models on both backends: metrics, artifacts, outputs, registry.
mod logged_models;
// The intermittent family (Croston, SBA, TSB, ADIDA) against statsforecast.
mod intermittent_parity;
// Hostile input beyond bad_input: encodings and quoting that work, plan and data files refused.
mod hostile;
// No leakage: forecast-policy exog values after an origin never reach a model at that origin.
mod leakage;
// Scaler, metrics, backtest and seasonal naive against hand-computed values.
mod preprocess_metrics;
// Random bytes and near-CSV text fed to the loader never panic.
mod proptest_loader;
// Reconciliation against hierarchicalforecast: every method, coherence, grouped structures.
mod reconcile_golden;
// One test per bug found while building adsales, named after the bug.
mod regression;
// segments: structure from config, zero days, bad segment config, a coherent segmented train.
mod segments;
// Same config and seed give identical leaderboards and bundles, whatever the thread count.
mod reproducibility;
// The SARIMAX engine beyond parity: failure modes, later origins, save/load, the grid.
mod sarimax_engine;
// `adsales fit` through the library, with clap parsing.
mod sarimax_fit_cmd;
// SARIMAX likelihood, optimum and forecasts against statsmodels' fixtures.
mod sarimax_parity;
// `adsales serve` on MLflow's scoring protocol: formats, infer's numbers, hostile requests,
// the token, graceful shutdown, the alias swap under load.
pub mod serve;
// `serve` under stress and beside MLflow's client, pyfunc loader and `mlflow models serve`.
mod serve_load;
// The tracking server dies mid-train: bounded retries, exit 1 naming it, nothing registered.
mod server_fault;
// `adsales` hands lstm work to its libtorch-linked twin `adsales-torch`; clear error without it.
mod torch_handover;
// The local MLflow file store: the shared scenario, MLflow's client, concurrent writers.
mod tracking_local;
// The REST backend against a real MLflow server (no mocks).
mod tracking_rest;
// A grid point the data cannot support is a FAILED run; train still registers a winner.
mod train_grid;
