//! The lstm crate's integration tests, as one test binary: a change links this once instead of
//! once per test file (the root crate's tests/it/ does the same). Each area is a module here.
//!
//! The tests run as threads of one process, in parallel. libtorch's intra-op thread count is
//! process-wide, and the grid tests change it while others train: results must not depend on
//! it (src/grid.rs), which `lstm_train::grid_results_do_not_depend_on_scheduling` checks. A
//! test that needs its own environment or folder runs a child process (`device_check`).

// `lstm.device: cuda` without a GPU is refused as a config error before anything is tracked.
mod device_check;
// Forward pass and Adam steps equal PyTorch's on fixed weights (fixtures from PyTorch).
mod lstm_parity;
mod lstm_plan;
// The LSTM on the real processed frame: fits, backtests every origin, reproducibly.
mod lstm_real_frame;
// Training: determinism, loss decrease, early stopping, save/load, intervals, errors.
mod lstm_train;
// Windowing: no window reads a label outside its split; inputs end at the origin.
mod lstm_window;
