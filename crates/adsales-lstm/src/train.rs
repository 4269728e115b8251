//! Training: Adam (L2 weight decay, as `torch.optim.Adam(weight_decay=...)`), masked MSE,
//! mini-batches shuffled by our seeded RNG, early stopping on validation loss with the best
//! epoch's weights restored.
//!
//! Reproducibility: every random draw (initial weights, shuffles, dropout masks) comes from one
//! ChaCha8 stream seeded by the spec's seed, never from torch's process-global generator, so a
//! grid point gives bit-identical weights and losses whether it runs alone or beside others on
//! another thread. (`tch::manual_seed` is still set, for any torch op that might draw.)

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{Adam, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::net::{Net, NetShape, Weights};
use super::window::Windows;

/// Optimisation settings (a subset of the spec).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub learning_rate: f64,
    pub batch_size: usize,
    pub dropout: f64,
    pub weight_decay: f64,
    pub max_epochs: usize,
    pub patience: usize,
    pub seed: u64,
}

/// Per-epoch losses and where training stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainHistory {
    /// Mean masked squared error over the training windows, per epoch (in training mode).
    pub train_loss: Vec<f64>,
    /// Masked MSE over the validation windows with the epoch's weights (evaluation mode).
    pub val_loss: Vec<f64>,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    /// True when patience ran out before `max_epochs`.
    pub stopped_early: bool,
}

impl TrainHistory {
    pub fn epochs(&self) -> usize {
        self.train_loss.len()
    }
    pub fn best_val_loss(&self) -> f64 {
        self.val_loss[self.best_epoch - 1]
    }
}

/// Trained weights (the best epoch's) and the history.
pub struct Trained {
    pub weights: Weights,
    pub history: TrainHistory,
}

/// The windows' known drivers as (n, horizon, known), or `None` for a model without any.
fn future_tensor(w: &Windows, device: Device) -> Option<Tensor> {
    (w.known > 0).then(|| {
        Tensor::from_slice(&w.future)
            .view([w.len() as i64, w.horizon as i64, w.known as i64])
            .to_device(device)
    })
}

fn tensors(w: &Windows, device: Device) -> (Tensor, Tensor, Tensor) {
    let n = w.len() as i64;
    let x = Tensor::from_slice(&w.x)
        .view([n, w.seq_len as i64, w.n_features as i64])
        .to_device(device);
    let y = Tensor::from_slice(&w.y)
        .view([n, w.horizon as i64])
        .to_device(device);
    let m = Tensor::from_slice(&w.mask)
        .view([n, w.horizon as i64])
        .to_device(device);
    (x, y, m)
}

fn masked_sse(pred: &Tensor, y: &Tensor, m: &Tensor) -> Tensor {
    ((pred - y).square() * m).sum(Kind::Float)
}

/// Masked MSE in evaluation mode over all validation windows at once (~100 windows).
fn eval_loss(net: &Net, x: &Tensor, f: Option<&Tensor>, y: &Tensor, m: &Tensor) -> f64 {
    tch::no_grad(|| {
        let pred = net.forward_with(x, f, None);
        let count = m.sum(Kind::Float).double_value(&[]);
        masked_sse(&pred, y, m).double_value(&[]) / count
    })
}

/// Trains from the seed's initial weights. Both window sets must be non-empty and have at least
/// one masked-in label (checked by the caller, which names the spec in its error).
pub fn train(
    shape: NetShape,
    cfg: &TrainConfig,
    train: &Windows,
    val: &Windows,
    device: Device,
) -> Trained {
    tch::manual_seed(cfg.seed as i64);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let init = Weights::init(shape, &mut rng);
    let net = Net::new(&init, device);
    let mut opt = Adam {
        wd: cfg.weight_decay,
        ..Adam::default()
    }
    .build(&net.vs, cfg.learning_rate)
    .expect("Adam on a fresh VarStore");

    let (tx, ty, tm) = tensors(train, device);
    let (vx, vy, vm) = tensors(val, device);
    let (tf, vf) = (future_tensor(train, device), future_tensor(val, device));
    let mut order: Vec<i64> = (0..train.len() as i64).collect();
    let batch = cfg.batch_size.max(1);
    // Labels per window, counted on the host: a batch's count then needs no device round
    // trip (on CUDA each `double_value` waits for the GPU). The mask holds 0s and 1s, so the
    // f64 sums equal the device's f32 sums exactly.
    let labels: Vec<f64> = train
        .mask
        .chunks(train.horizon)
        .map(|r| r.iter().map(|&v| f64::from(v)).sum())
        .collect();

    let mut history = TrainHistory {
        train_loss: Vec::new(),
        val_loss: Vec::new(),
        best_epoch: 0,
        stopped_early: false,
    };
    let mut best = init;
    let mut best_val = f64::INFINITY;
    let mut since_best = 0;
    for epoch in 1..=cfg.max_epochs {
        order.shuffle(&mut rng);
        // One host-to-device copy of the epoch's order; batches are slices of it.
        let order_t = Tensor::from_slice(&order).to_device(device);
        // The epoch's squared error accumulates on the device in f64 (the f32 batch sums
        // converted exactly, added in order: the same bits as adding them on the host) and is
        // read once per epoch.
        let mut sse_t = Tensor::zeros([], (Kind::Double, device));
        let mut count = 0.0;
        for (b, chunk) in order.chunks(batch).enumerate() {
            let n_obs: f64 = chunk.iter().map(|&i| labels[i as usize]).sum();
            if n_obs == 0.0 {
                continue;
            }
            let idx = order_t.narrow(0, (b * batch) as i64, chunk.len() as i64);
            let (bx, by, bm) = (
                tx.index_select(0, &idx),
                ty.index_select(0, &idx),
                tm.index_select(0, &idx),
            );
            let bf = tf.as_ref().map(|f| f.index_select(0, &idx));
            let pred = net.forward_with(&bx, bf.as_ref(), Some((cfg.dropout, &mut rng)));
            let batch_sse = masked_sse(&pred, &by, &bm);
            let loss = &batch_sse / n_obs;
            opt.backward_step(&loss);
            sse_t += batch_sse.detach().to_kind(Kind::Double);
            count += n_obs;
        }
        let sse = sse_t.double_value(&[]);
        let val = eval_loss(&net, &vx, vf.as_ref(), &vy, &vm);
        history.train_loss.push(sse / count);
        history.val_loss.push(val);
        tracing::debug!(
            epoch,
            train_loss = sse / count,
            val_loss = val,
            "lstm epoch"
        );
        // Strict improvement only: a plateau counts against patience.
        if val < best_val {
            best_val = val;
            best = net.weights();
            history.best_epoch = epoch;
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= cfg.patience {
                history.stopped_early = epoch < cfg.max_epochs;
                break;
            }
        }
    }
    if history.best_epoch == 0 {
        // Every val loss was NaN: keep the initial weights and say so through epoch 0.
        history.best_epoch = 1;
    }
    Trained {
        weights: best,
        history,
    }
}

/// Evaluation-mode predictions (n × horizon, row-major) for flat inputs of `n` windows.
///
/// One window per forward pass: with several windows in a batch the matrix kernels block
/// differently and the last bits of a window's forecast would depend on which other origins
/// share its batch. Per-window passes make a backtest forecast, a conformal residual and an
/// inference forecast from the same origin bit-identical.
pub fn predict(weights: &Weights, x: &[f32], n: usize, seq_len: usize, device: Device) -> Vec<f32> {
    predict_with(weights, x, &[], n, seq_len, device)
}

/// [`predict`] with each window's known drivers, `future` (n × horizon × known, row-major;
/// empty for a model without any).
pub fn predict_with(
    weights: &Weights,
    x: &[f32],
    future: &[f32],
    n: usize,
    seq_len: usize,
    device: Device,
) -> Vec<f32> {
    if n == 0 {
        return Vec::new();
    }
    let net = Net::new(weights, device);
    let per = x.len() / n;
    let (h, k) = (weights.shape.horizon, weights.shape.known);
    let mut out = Vec::with_capacity(n * h);
    tch::no_grad(|| {
        for (i, w) in x.chunks(per).enumerate() {
            let xt = Tensor::from_slice(w)
                .view([1, seq_len as i64, weights.shape.n_features as i64])
                .to_device(device);
            let ft = (k > 0).then(|| {
                Tensor::from_slice(&future[i * h * k..(i + 1) * h * k])
                    .view([1, h as i64, k as i64])
                    .to_device(device)
            });
            let pred = net
                .forward_with(&xt, ft.as_ref(), None)
                .to_device(Device::Cpu)
                .contiguous();
            let len = pred.numel();
            let start = out.len();
            out.resize(start + len, 0f32);
            pred.copy_data(&mut out[start..], len);
        }
    });
    out
}
