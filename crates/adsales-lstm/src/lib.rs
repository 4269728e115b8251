//! The `lstm` family: a stacked LSTM with a linear head that forecasts the next
//! `max_horizon` scaled target values at once (direct multi-horizon), trained with tch
//! (libtorch). See `window` for which rows each window may read, `train` for the optimisation
//! and reproducibility, `conformal` for the intervals, `grid` for running many specs.
//!
//! The model reads its input window — forecasting from origin `o` reads rows
//! `o+1-sequence_length..=o` of the history — and, from [`FutureInputs`], the known drivers
//! of the forecast days (planned spend, events: [`LstmSpec::known`]), so a `--plan` moves its
//! forecast. The rolling-origin backtest needs no refit. Forecasts run on the CPU (training uses CUDA when present), so a
//! fitted or loaded model forecasts identically on any machine.

pub mod conformal;
mod family;
pub mod grid;
mod meta;
pub mod net;
pub mod synthetic;
pub mod train;
pub mod window;

use std::fmt::Write as _;
use std::path::Path;

use adsales::models::torch::{LstmConfig, LstmDevice};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use self::conformal::Conformal;
use self::meta::{Meta, TRAIN_LOSS, VAL_LOSS, f64_tensor, score_name};
use self::net::{NetShape, Weights};
use self::train::{TrainConfig, TrainHistory};
use adsales::models::{
    FitData, FitInfo, FittedForecaster, Forecast, Forecaster, Frame, FutureInputs, ModelError,
};

pub use self::family::{TORCH_FAMILY, Torch, training_device};
pub use self::grid::{GridMode, IntraOpThreads, LstmGrid, fit_grid};

/// File names inside a model directory.
pub const WEIGHTS_FILE: &str = "lstm.safetensors";
pub const META_FILE: &str = "lstm.json";

/// One grid point of the `lstm` family (config keys `lstm.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmSpec {
    pub learning_rate: f64,
    pub batch_size: usize,
    pub sequence_length: usize,
    pub dropout: f64,
    pub weight_decay: f64,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub max_epochs: usize,
    pub patience: usize,
    /// Steps the head outputs; forecasts may ask for at most this many.
    pub max_horizon: usize,
    pub seed: u64,
    /// Where training runs (not part of the spec's identity: forecasts run on the CPU).
    #[serde(default)]
    pub device: LstmDevice,
    /// Frame columns whose values on each forecast day the network reads (known-policy
    /// drivers and events); empty in bundles saved before it read any.
    #[serde(default)]
    pub known: Vec<String>,
}

impl Default for LstmSpec {
    /// The default grid's fixed settings, first grid point.
    fn default() -> Self {
        LstmSpec {
            learning_rate: 0.001,
            batch_size: 32,
            sequence_length: 14,
            dropout: 0.0,
            weight_decay: 1e-4,
            hidden_size: 64,
            num_layers: 2,
            max_epochs: 100,
            patience: 10,
            max_horizon: 28,
            seed: 42,
            device: LstmDevice::Auto,
            known: Vec::new(),
        }
    }
}

impl LstmSpec {
    fn unsupported(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Unsupported {
            spec: self.spec(),
            reason: reason.into(),
        }
    }

    /// Rejects settings that cannot train, naming the `lstm.*` key: the root crate's one set
    /// of rules ([`LstmConfig::check`]) applied to this single point.
    pub fn check(&self) -> Result<(), ModelError> {
        LstmConfig {
            device: self.device,
            hidden_size: vec![self.hidden_size],
            num_layers: vec![self.num_layers],
            max_epochs: self.max_epochs,
            patience: self.patience,
            max_horizon: self.max_horizon,
            learning_rate: vec![self.learning_rate],
            batch_size: vec![self.batch_size],
            sequence_length: vec![self.sequence_length],
            dropout: vec![self.dropout],
            weight_decay: vec![self.weight_decay],
            known: self.known.clone(),
        }
        .check()
        // A spec is one grid point: name its field (`lstm.dropout`), not the config's axis.
        .map_err(|(key, why)| self.unsupported(format!("{} {why}", key.replace("param_grid.", ""))))
    }

    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            dropout: self.dropout,
            weight_decay: self.weight_decay,
            max_epochs: self.max_epochs,
            patience: self.patience,
            seed: self.seed,
        }
    }

    /// Fits on `data` and returns the concrete fitted type (with its loss history); the
    /// [`Forecaster::fit`] impl boxes this. Requires `data.val_end` (early stopping and the
    /// conformal calibration both use the validation rows).
    pub fn fit_lstm(&self, data: &FitData) -> Result<FittedLstm, ModelError> {
        self.check()?;
        let frame = data.frame;
        let val_end = data.val_end.ok_or_else(|| {
            self.unsupported("needs validation rows (FitData::val_end) for early stopping")
        })?;
        if frame.index_of(&frame.target).is_none() {
            return Err(self.unsupported(format!("target column {} not in frame", frame.target)));
        }
        if data.train_end > val_end || val_end > frame.len() {
            return Err(self.unsupported(format!(
                "bad split: train_end {} val_end {val_end} rows {}",
                data.train_end,
                frame.len()
            )));
        }
        for (name, col) in frame.names.iter().zip(&frame.cols) {
            if let Some(i) = col[..val_end].iter().position(|v| !v.is_finite()) {
                return Err(self.unsupported(format!(
                    "column {name} has a non-finite value at row {i} ({})",
                    frame.dates[i]
                )));
            }
        }
        let (known_cols, train_w, val_w) = self.windows(frame, data.train_end, val_end)?;
        let (seq, h) = (self.sequence_length, self.max_horizon);
        let shape = NetShape {
            n_features: frame.cols.len(),
            hidden: self.hidden_size,
            layers: self.num_layers,
            horizon: h,
            known: known_cols.len(),
        };
        let device = training_device(self.device).map_err(|e| self.unsupported(e))?;
        tracing::info!(spec = %self.spec(), ?device, train_windows = train_w.len(),
            val_windows = val_w.len(), "lstm: training");
        let trained = train::train(shape, &self.train_config(), &train_w, &val_w, device);
        let hist = &trained.history;
        if !hist.best_val_loss().is_finite() {
            return Err(ModelError::Numerical {
                spec: self.spec(),
                reason: "validation loss is not finite (try a smaller lstm.learning_rate)".into(),
            });
        }
        let pred = train::predict_with(
            &trained.weights,
            &val_w.x,
            &val_w.future,
            val_w.len(),
            seq,
            Device::Cpu,
        );
        let conformal = Conformal::from_residuals(&pred, &val_w.y, &val_w.mask, h);
        Ok(FittedLstm {
            spec: self.clone(),
            names: frame.names.clone(),
            target: frame.target.clone(),
            weights: trained.weights,
            conformal,
            history: trained.history,
        })
    }

    /// The training and validation windows (with the known drivers' columns), or an error
    /// naming the setting when either set is empty.
    fn windows(
        &self,
        frame: &Frame,
        train_end: usize,
        val_end: usize,
    ) -> Result<(Vec<usize>, window::Windows, window::Windows), ModelError> {
        let known_cols = self
            .known
            .iter()
            .map(|n| {
                frame
                    .index_of(n)
                    .ok_or_else(|| self.unsupported(format!("known driver {n} not in frame")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (seq, h) = (self.sequence_length, self.max_horizon);
        let train_w = window::build_with_known(
            frame,
            window::train_origins(seq, train_end),
            train_end,
            seq,
            h,
            &known_cols,
        );
        let val_w = window::build_with_known(
            frame,
            window::val_origins(seq, train_end, val_end),
            val_end,
            seq,
            h,
            &known_cols,
        );
        if train_w.is_empty() {
            return Err(self.unsupported(format!(
                "lstm.sequence_length = {seq} leaves no training window in {} train rows",
                train_end
            )));
        }
        if val_w.is_empty() {
            return Err(self.unsupported(format!(
                "no validation window: {} validation rows",
                val_end - train_end
            )));
        }
        Ok((known_cols, train_w, val_w))
    }
}

impl Forecaster for LstmSpec {
    fn family(&self) -> adsales::models::Family {
        adsales::models::Family::Lstm
    }

    fn spec(&self) -> String {
        format!(
            "LSTM(hidden={}, layers={}, seq={}, lr={}, batch={}, dropout={}, wd={})",
            self.hidden_size,
            self.num_layers,
            self.sequence_length,
            self.learning_rate,
            self.batch_size,
            self.dropout,
            self.weight_decay
        )
    }

    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("learning_rate".into(), self.learning_rate.to_string()),
            ("batch_size".into(), self.batch_size.to_string()),
            ("sequence_length".into(), self.sequence_length.to_string()),
            ("dropout".into(), self.dropout.to_string()),
            ("weight_decay".into(), self.weight_decay.to_string()),
            ("hidden_size".into(), self.hidden_size.to_string()),
            ("num_layers".into(), self.num_layers.to_string()),
            ("max_epochs".into(), self.max_epochs.to_string()),
            ("patience".into(), self.patience.to_string()),
            ("max_horizon".into(), self.max_horizon.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("device".into(), self.device.as_str().into()),
            ("known_drivers".into(), self.known.join(",")),
        ]
    }

    fn drivers(&self) -> Vec<String> {
        self.known.clone()
    }

    fn fit(&self, data: &FitData) -> Result<Box<dyn FittedForecaster>, ModelError> {
        Ok(Box::new(grid::fit_one(self, data)?))
    }

    /// The protocol keeps the weights trained on train and early-stopped on val.
    fn refit_for_test(&self) -> bool {
        false
    }
}

/// A trained LSTM: weights as plain data (so it is `Send + Sync`), conformal scores, history.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLstm {
    pub spec: LstmSpec,
    /// Column order the model was fitted on; forecasts require the same.
    pub names: Vec<String>,
    pub target: String,
    pub weights: Weights,
    pub conformal: Conformal,
    pub history: TrainHistory,
}

impl FittedLstm {
    fn check_history(&self, history: &Frame, horizon: usize) -> Result<(), ModelError> {
        if horizon == 0 || horizon > self.spec.max_horizon {
            return Err(ModelError::BadInput(format!(
                "lstm: horizon {horizon} is outside 1..={} (lstm.max_horizon); raise \
                 lstm.max_horizon and retrain to forecast further",
                self.spec.max_horizon
            )));
        }
        if history.names != self.names {
            return Err(ModelError::BadInput(format!(
                "lstm: history columns differ from the {} columns the model was fitted on",
                self.names.len()
            )));
        }
        Ok(())
    }

    fn window(&self, history: &Frame, origin: usize) -> Result<Vec<f32>, ModelError> {
        let seq = self.spec.sequence_length;
        let x = window::input_window(history, origin, seq).ok_or_else(|| {
            ModelError::BadInput(format!(
                "lstm: origin row {origin} has fewer than lstm.sequence_length = {seq} rows of \
                 history"
            ))
        })?;
        if x.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::BadInput(format!(
                "lstm: non-finite value in the input window ending at row {origin}"
            )));
        }
        Ok(x)
    }

    /// The known drivers of the `horizon` forecast days as the network reads them
    /// (max_horizon × known, row-major); the steps past `horizon` are zeros, which no
    /// earlier step reads.
    fn future_values(&self, f: &FutureInputs, horizon: usize) -> Result<Vec<f32>, ModelError> {
        let k = self.spec.known.len();
        let mut out = vec![0f32; self.spec.max_horizon * k];
        for (j, name) in self.spec.known.iter().enumerate() {
            let v = f.get(name).filter(|v| v.len() >= horizon).ok_or_else(|| {
                ModelError::BadInput(format!(
                    "lstm: no values of the known driver {name} for the {horizon} forecast days"
                ))
            })?;
            if let Some(i) = v[..horizon].iter().position(|x| !x.is_finite()) {
                return Err(ModelError::BadInput(format!(
                    "lstm: known driver {name} is not finite on forecast day {}",
                    i + 1
                )));
            }
            for (step, x) in v[..horizon].iter().enumerate() {
                out[step * k + j] = *x as f32;
            }
        }
        Ok(out)
    }

    fn assemble(&self, pred: &[f32], horizon: usize, level: f64) -> Result<Forecast, ModelError> {
        let mut f = Forecast {
            mean: Vec::with_capacity(horizon),
            lower: Vec::with_capacity(horizon),
            upper: Vec::with_capacity(horizon),
            level,
        };
        for (step, p) in pred.iter().take(horizon).enumerate() {
            let w = self
                .conformal
                .half_width(step, level)
                .map_err(|e| ModelError::BadInput(format!("lstm: {e}")))?;
            let m = f64::from(*p);
            f.mean.push(m);
            f.lower.push(m - w);
            f.upper.push(m + w);
        }
        Ok(f)
    }

    /// Reads a model written by [`FittedForecaster::save`].
    pub fn load(dir: &Path) -> Result<FittedLstm, ModelError> {
        let meta_path = dir.join(META_FILE);
        let meta: Meta = adsales::models::load_json(dir, META_FILE)?;
        if meta.family != "lstm" {
            return Err(ModelError::io(
                &meta_path,
                format!("family is {}, not lstm", meta.family),
            ));
        }
        meta.spec.check()?;
        let shape = NetShape {
            n_features: meta.names.len(),
            hidden: meta.spec.hidden_size,
            layers: meta.spec.num_layers,
            horizon: meta.spec.max_horizon,
            known: meta.spec.known.len(),
        };
        let w_path = dir.join(WEIGHTS_FILE);
        let named = Tensor::read_safetensors(&w_path).map_err(|e| ModelError::io(&w_path, e))?;
        let weights = Weights::from_named(shape, &named).map_err(|e| ModelError::io(&w_path, e))?;
        let read = |name: &str| f64_tensor(&named, name).map_err(|e| ModelError::io(&w_path, e));
        let scores = (0..meta.spec.max_horizon)
            .map(|k| read(&score_name(k)))
            .collect::<Result<Vec<_>, _>>()?;
        let history = TrainHistory {
            train_loss: read(TRAIN_LOSS)?,
            val_loss: read(VAL_LOSS)?,
            best_epoch: meta.best_epoch,
            stopped_early: meta.stopped_early,
        };
        if history.epochs() != meta.epochs
            || history.val_loss.len() != meta.epochs
            || meta.best_epoch == 0
            || meta.best_epoch > meta.epochs
        {
            return Err(ModelError::io(
                &meta_path,
                "epoch counts disagree with the weights file",
            ));
        }
        Ok(FittedLstm {
            spec: meta.spec,
            names: meta.names,
            target: meta.target,
            weights,
            conformal: Conformal { scores },
            history,
        })
    }
}

impl FittedForecaster for FittedLstm {
    fn forecast(
        &self,
        history: &Frame,
        future: &FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let origin = history
            .len()
            .checked_sub(1)
            .ok_or_else(|| ModelError::BadInput("lstm: empty history".into()))?;
        let mut f =
            self.forecast_origins(history, &[origin], &|_| future.clone(), horizon, level)?;
        Ok(f.pop().expect("one origin, one forecast"))
    }

    /// All origins in one call: their windows gathered, then one forward pass per window
    /// (`train::predict`), so each origin's numbers equal a call for that origin alone.
    fn forecast_origins(
        &self,
        data: &Frame,
        origins: &[usize],
        future: &dyn Fn(usize) -> FutureInputs,
        horizon: usize,
        level: f64,
    ) -> Result<Vec<Forecast>, ModelError> {
        self.check_history(data, horizon)?;
        let (mut x, mut fut) = (Vec::new(), Vec::new());
        for &o in origins {
            x.extend(self.window(data, o)?);
            fut.extend(self.future_values(&future(o), horizon)?);
        }
        let seq = self.spec.sequence_length;
        let pred = grid::catch_torch(&self.spec.spec(), "forecasting", || {
            Ok(train::predict_with(
                &self.weights,
                &x,
                &fut,
                origins.len(),
                seq,
                Device::Cpu,
            ))
        })?;
        let h = self.spec.max_horizon;
        pred.chunks(h)
            .map(|p| self.assemble(p, horizon, level))
            .collect()
    }

    /// `train_loss` and `val_loss` per epoch (step = 1-based epoch).
    fn metric_history(&self) -> Vec<(String, Vec<f64>)> {
        vec![
            ("train_loss".into(), self.history.train_loss.clone()),
            ("val_loss".into(), self.history.val_loss.clone()),
        ]
    }

    fn info(&self) -> FitInfo {
        let h = &self.history;
        let mut message = String::new();
        if h.stopped_early {
            let _ = write!(
                message,
                "early stopping at epoch {} (patience {})",
                h.epochs(),
                self.spec.patience
            );
        } else {
            let _ = write!(
                message,
                "lstm.max_epochs = {} reached",
                self.spec.max_epochs
            );
        }
        let _ = write!(
            message,
            "; best epoch {} val MSE {:.6}",
            h.best_epoch,
            h.best_val_loss()
        );
        FitInfo {
            converged: h.stopped_early,
            iterations: h.epochs(),
            message,
            llf: None,
            aic: None,
            bic: None,
            model: None,
        }
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        let w_path = dir.join(WEIGHTS_FILE);
        let mut named = self.weights.to_named();
        for (k, s) in self.conformal.scores.iter().enumerate() {
            named.push((score_name(k), Tensor::from_slice(s)));
        }
        named.push((
            TRAIN_LOSS.into(),
            Tensor::from_slice(&self.history.train_loss),
        ));
        named.push((VAL_LOSS.into(), Tensor::from_slice(&self.history.val_loss)));
        Tensor::write_safetensors(&named, &w_path).map_err(|e| ModelError::io(&w_path, e))?;
        let meta = Meta {
            family: "lstm".into(),
            spec: self.spec.clone(),
            names: self.names.clone(),
            target: self.target.clone(),
            best_epoch: self.history.best_epoch,
            stopped_early: self.history.stopped_early,
            epochs: self.history.epochs(),
        };
        adsales::models::save_json(dir, META_FILE, &meta)
    }
}

/// Tells glibc's allocator to keep freed memory for reuse instead of handing it back to the
/// kernel. libtorch allocates and frees every intermediate tensor of every op; with glibc's
/// defaults the larger ones come from fresh `mmap`s (or a trimmed heap top), so each op pays
/// page faults to map and zero memory it just gave back: a profile of one training epoch on
/// the CPU showed ~30% of its time in the kernel's page-fault path and ~8% in malloc/free.
/// With these settings an epoch takes ~1.8x less time (crates/adsales-lstm/benches/lstm.rs).
/// The cost is that the process keeps its peak heap until it exits, which a CLI run can.
/// Call it first thing in `main`, before other threads exist.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads start.
    unsafe {
        // Requests up to 256 MiB from the heap, not from mmap (this also stops glibc's
        // dynamic threshold from moving); trim or shrink heaps only when 1 GiB is free at
        // their top; grow them 64 MiB at a time.
        // glibc documents 32 MiB as the threshold's ceiling on 64-bit (2.36 accepts more);
        // a refusal (0) must not leave the other two settings on their own, which would pin
        // the dynamic threshold at 128 KiB instead.
        if libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20) == 0
            && libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 0
        {
            return;
        }
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
