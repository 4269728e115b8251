//! Running many LSTM specs: one after another with several intra-op threads each, or several at
//! once with one intra-op thread each.
//!
//! Results do not depend on the mode: every random draw comes from each spec's own seeded RNG
//! (see `train`), and the float results of libtorch's CPU kernels for these shapes do not depend
//! on the intra-op thread count (crates/adsales-lstm/tests/it/lstm_train.rs checks both). The intra-op thread count is
//! process-wide in libtorch (`at::set_num_threads`), so the concurrent mode sets it to 1 for
//! its duration and puts the previous value back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::{FittedLstm, LstmSpec};
use adsales::models::{FitData, Forecaster, ModelError};

/// How [`fit_grid`] schedules the specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridMode {
    /// One spec at a time, libtorch using `threads` intra-op threads.
    Sequential { threads: usize },
    /// `workers` specs at a time on their own threads, one intra-op thread each.
    Concurrent { workers: usize },
}

impl GridMode {
    /// The default: concurrent grid points with one intra-op thread each, on any machine with
    /// more than one core, training on the CPU or on CUDA alike.
    /// CPU, measured on the shared 2-core machine (crates/adsales-lstm/benches/lstm.rs --real,
    /// default grid, 244 epochs, release, with `keep_freed_memory`): quiet, concurrent took
    /// 4.2-5.1 s, sequential with 2 threads 6.5 s, sequential with 1 thread 8.1 s; once other
    /// processes loaded the cores, sequential with 2 threads collapsed (332 s once: OpenMP
    /// threads spin-wait against other processes) while concurrent stayed near 1-thread
    /// sequential.
    /// CUDA, measured on an H100 with 16 cores (`train`, families [lstm]): sequential 18.3 s,
    /// 4 or 8 concurrent grid points 11.9 s and 11.3 s, with identical results. A network this
    /// small is launch-latency bound on a GPU: the same machine's CPUs took 5.1 s.
    pub fn auto() -> GridMode {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores == 1 {
            GridMode::Sequential { threads: 1 }
        } else {
            GridMode::Concurrent { workers: cores }
        }
    }

    /// Sets libtorch's intra-op threads for this mode (one per concurrent grid point) until
    /// the guard is dropped.
    pub fn threads(self) -> IntraOpThreads {
        match self {
            GridMode::Sequential { threads } => IntraOpThreads::set(threads),
            GridMode::Concurrent { .. } => IntraOpThreads::set(1),
        }
    }
}

/// The `lstm` section of the config as lists; [`LstmGrid::specs`] expands the product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmGrid {
    pub learning_rate: Vec<f64>,
    pub batch_size: Vec<usize>,
    pub sequence_length: Vec<usize>,
    pub dropout: Vec<f64>,
    pub weight_decay: Vec<f64>,
    pub hidden_size: Vec<usize>,
    pub num_layers: Vec<usize>,
    pub max_epochs: usize,
    pub patience: usize,
    pub max_horizon: usize,
    pub seed: u64,
    pub device: adsales::models::torch::LstmDevice,
    /// The drivers read for the forecast days (see [`LstmSpec::known`]).
    pub known: Vec<String>,
}

impl Default for LstmGrid {
    /// The reference grid: 2 learning rates × 2 sequence lengths × 2 dropouts.
    fn default() -> Self {
        LstmGrid {
            learning_rate: vec![0.001, 0.01],
            batch_size: vec![32],
            sequence_length: vec![14, 30],
            dropout: vec![0.0, 0.2],
            weight_decay: vec![1e-4],
            hidden_size: vec![64],
            num_layers: vec![2],
            max_epochs: 100,
            patience: 10,
            max_horizon: 28,
            seed: 42,
            device: adsales::models::torch::LstmDevice::Auto,
            known: Vec::new(),
        }
    }
}

impl LstmGrid {
    /// The grid of the checked config's `lstm` section and top-level `seed`.
    pub fn from_config(lstm: &adsales::models::torch::LstmConfig, seed: u64) -> LstmGrid {
        LstmGrid {
            learning_rate: lstm.learning_rate.clone(),
            batch_size: lstm.batch_size.clone(),
            sequence_length: lstm.sequence_length.clone(),
            dropout: lstm.dropout.clone(),
            weight_decay: lstm.weight_decay.clone(),
            hidden_size: lstm.hidden_size.clone(),
            num_layers: lstm.num_layers.clone(),
            max_epochs: lstm.max_epochs,
            patience: lstm.patience,
            max_horizon: lstm.max_horizon,
            seed,
            device: lstm.device,
            known: lstm.known.clone(),
        }
    }

    /// Every combination, learning_rate varying slowest (config order of the keys).
    pub fn specs(&self) -> Vec<LstmSpec> {
        let mut out = Vec::new();
        for &learning_rate in &self.learning_rate {
            for &batch_size in &self.batch_size {
                for &sequence_length in &self.sequence_length {
                    for &dropout in &self.dropout {
                        for &weight_decay in &self.weight_decay {
                            for &hidden_size in &self.hidden_size {
                                for &num_layers in &self.num_layers {
                                    out.push(LstmSpec {
                                        learning_rate,
                                        batch_size,
                                        sequence_length,
                                        dropout,
                                        weight_decay,
                                        hidden_size,
                                        num_layers,
                                        max_epochs: self.max_epochs,
                                        patience: self.patience,
                                        max_horizon: self.max_horizon,
                                        seed: self.seed,
                                        device: self.device,
                                        known: self.known.clone(),
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Sets libtorch's process-wide intra-op thread count; the previous count comes back on drop.
/// Callers that fit specs through [`Forecaster::fit`](adsales::models::Forecaster::fit) on their
/// own threads (e.g. a rayon grid) should hold `IntraOpThreads::set(1)` meanwhile.
#[must_use = "the thread count is restored when the guard drops"]
pub struct IntraOpThreads(i32);

impl IntraOpThreads {
    pub fn set(n: usize) -> IntraOpThreads {
        let prev = tch::get_num_threads();
        tch::set_num_threads(n.max(1) as i32);
        IntraOpThreads(prev)
    }
}

impl Drop for IntraOpThreads {
    fn drop(&mut self) {
        tch::set_num_threads(self.0);
    }
}

/// Fits one spec; a panic inside libtorch's wrappers (tch unwraps C++ errors) becomes an error
/// for that grid point instead of taking the whole grid (and the train) down.
pub(crate) fn fit_one(spec: &LstmSpec, data: &FitData) -> Result<FittedLstm, ModelError> {
    catch_torch(&spec.spec(), "training", || spec.fit_lstm(data))
}

thread_local! {
    /// Depth of [`catch_torch`] calls on this thread.
    static CATCHING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The default panic hook prints every panic with libtorch's C++ backtrace, even one that
/// [`catch_torch`] turns into a grid point's error (and reports once, by name). Silence those
/// on the threads inside `catch_torch`; every other panic is printed as before.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(|c| c.get()) == 0 {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic (tch unwraps libtorch's C++ exceptions) into a
/// [`ModelError::Numerical`] naming `spec` and `what` failed, with the first line of
/// libtorch's message (the rest is a C++ backtrace).
pub(crate) fn catch_torch<T>(
    spec: &str,
    what: &str,
    f: impl FnOnce() -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    quiet_caught_panics();
    CATCHING.with(|c| c.set(c.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get() - 1));
    r.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        // tch's message is the Debug form of libtorch's, whose newlines arrive as the two
        // characters `\n`: keep what comes before the first newline of either kind.
        let first = msg.lines().next().unwrap_or(msg);
        let first = first.split("\\n").next().unwrap_or(first);
        Err(ModelError::Numerical {
            spec: spec.to_string(),
            reason: format!("{what} failed: {first}"),
        })
    })
}

/// Fits every spec on `data`; results come back in `specs` order, whatever the mode.
pub fn fit_grid(
    specs: &[LstmSpec],
    data: &FitData,
    mode: GridMode,
) -> Vec<Result<FittedLstm, ModelError>> {
    tracing::info!(specs = specs.len(), ?mode, "lstm grid");
    let _guard = mode.threads();
    match mode {
        GridMode::Sequential { .. } => specs.iter().map(|s| fit_one(s, data)).collect(),
        GridMode::Concurrent { workers } => {
            let next = AtomicUsize::new(0);
            let results: Mutex<Vec<Option<Result<FittedLstm, ModelError>>>> =
                Mutex::new((0..specs.len()).map(|_| None).collect());
            std::thread::scope(|scope| {
                for _ in 0..workers.clamp(1, specs.len().max(1)) {
                    scope.spawn(|| {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(spec) = specs.get(i) else { break };
                            let r = fit_one(spec, data);
                            results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                        }
                    });
                }
            });
            results
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .into_iter()
                .zip(specs)
                .map(|(r, s)| {
                    r.unwrap_or_else(|| {
                        Err(ModelError::Numerical {
                            spec: s.spec(),
                            reason: "training thread panicked".into(),
                        })
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_libtorch_panic_becomes_an_error_with_its_first_line() {
        let r: Result<(), ModelError> = catch_torch("LSTM(x)", "training", || {
            panic!(
                "called `Result::unwrap()` on an `Err` value: Torch(\"cudnn RNN backward can \
                 only be called in training mode\\nException raised from ...\\nframe #0\")"
            )
        });
        let e = r.unwrap_err().to_string();
        assert!(
            e.starts_with("LSTM(x): numerical failure: training failed: "),
            "{e}"
        );
        assert!(e.ends_with("can only be called in training mode"), "{e}");
        assert!(catch_torch("s", "w", || Ok(7)).unwrap() == 7);
    }
}
