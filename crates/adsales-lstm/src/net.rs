//! The network: stacked LSTM layers (PyTorch `nn.LSTM` semantics, batch first) and a linear head
//! from the last hidden state to the next `horizon` scaled target values, plus — when the model
//! reads known drivers (planned spend, events) — a linear term of each forecast day's own
//! driver values, shared by every step (`future.weight`, as `nn.Linear(known, 1, bias=False)`):
//! the forecast of day h moves with the plan for day h, and steps past the supplied days
//! are not needed by earlier ones.
//!
//! Parameters use PyTorch's names (`lstm.weight_ih_l0`, ..., `head.weight`, `head.bias`) and
//! layouts (gates i, f, g, o), so weights exported from `torch.nn.LSTM` + `nn.Linear` load as
//! they are (see crates/adsales-lstm/tests/it/lstm_parity.rs).
//!
//! Layers run one `Tensor::lstm` call each instead of one fused multi-layer call so that the
//! dropout between layers draws from *our* seeded RNG: torch's CPU generator is process-global,
//! and grid points trained concurrently on threads would otherwise race on it.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Sizes that fix the parameter shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetShape {
    pub n_features: usize,
    pub hidden: usize,
    pub layers: usize,
    pub horizon: usize,
    /// Known drivers read for each forecast day (0: none, the network of bundles saved before).
    #[serde(default)]
    pub known: usize,
}

impl NetShape {
    /// Parameter names and shapes, in PyTorch's `state_dict` order.
    pub fn params(&self) -> Vec<(String, Vec<i64>)> {
        let h = self.hidden as i64;
        let mut out = Vec::with_capacity(4 * self.layers + 2);
        for k in 0..self.layers {
            let input = if k == 0 { self.n_features as i64 } else { h };
            out.push((format!("lstm.weight_ih_l{k}"), vec![4 * h, input]));
            out.push((format!("lstm.weight_hh_l{k}"), vec![4 * h, h]));
            out.push((format!("lstm.bias_ih_l{k}"), vec![4 * h]));
            out.push((format!("lstm.bias_hh_l{k}"), vec![4 * h]));
        }
        out.push(("head.weight".into(), vec![self.horizon as i64, h]));
        out.push(("head.bias".into(), vec![self.horizon as i64]));
        if self.known > 0 {
            out.push(("future.weight".into(), vec![1, self.known as i64]));
        }
        out
    }
}

/// Parameter values as plain data: `Send + Sync` (tch tensors are not `Sync`), exact (f32 as
/// trained), device independent. The fitted model keeps these and builds tensors on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub shape: NetShape,
    /// Values in [`NetShape::params`] order, row-major.
    pub values: Vec<Vec<f32>>,
}

impl Weights {
    /// Initialisation of `torch.nn.LSTM` and `nn.Linear` (all U(-1/√hidden, 1/√hidden)), drawn
    /// from our seeded RNG.
    pub fn init(shape: NetShape, rng: &mut ChaCha8Rng) -> Weights {
        let values = shape
            .params()
            .iter()
            .map(|(name, dims)| {
                // `nn.Linear`'s bound is 1/√fan_in: the hidden size for the head, the number
                // of drivers for the future term.
                let fan_in = if name == "future.weight" {
                    shape.known
                } else {
                    shape.hidden
                };
                let bound = 1.0 / (fan_in as f32).sqrt();
                let n = dims.iter().product::<i64>() as usize;
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            })
            .collect();
        Weights { shape, values }
    }

    /// From named tensors (a safetensors file); every expected name must be there with its shape.
    pub fn from_named(shape: NetShape, named: &[(String, Tensor)]) -> Result<Weights, String> {
        let mut values = Vec::new();
        for (name, dims) in shape.params() {
            let t = named
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| format!("missing tensor {name}"))?;
            if t.size() != dims {
                return Err(format!(
                    "tensor {name} has shape {:?}, expected {dims:?}",
                    t.size()
                ));
            }
            let t = t.to_kind(Kind::Float).to_device(Device::Cpu).contiguous();
            let n = t.numel();
            let mut v = vec![0f32; n];
            t.f_copy_data(&mut v, n).map_err(|e| e.to_string())?;
            values.push(v);
        }
        Ok(Weights { shape, values })
    }

    /// Named CPU tensors, for safetensors.
    pub fn to_named(&self) -> Vec<(String, Tensor)> {
        self.shape
            .params()
            .into_iter()
            .zip(&self.values)
            .map(|((name, dims), v)| (name, Tensor::from_slice(v).view(dims.as_slice())))
            .collect()
    }
}

/// The network on a device, its parameters in a VarStore (for the optimiser).
pub struct Net {
    pub vs: VarStore,
    shape: NetShape,
    /// Per layer: weight_ih, weight_hh, bias_ih, bias_hh.
    layers: Vec<[Tensor; 4]>,
    head_w: Tensor,
    head_b: Tensor,
    /// (1, known) when the model reads known drivers.
    future_w: Option<Tensor>,
}

impl Net {
    pub fn new(weights: &Weights, device: Device) -> Net {
        let vs = VarStore::new(device);
        let root = vs.root();
        let mut vars: Vec<Tensor> = weights
            .shape
            .params()
            .iter()
            .zip(&weights.values)
            .map(|((name, dims), v)| {
                let t = Tensor::from_slice(v).view(dims.as_slice());
                let (group, leaf) = name.split_once('.').expect("param names are group.leaf");
                (&root / group).var_copy(leaf, &t)
            })
            .collect();
        let future_w = (weights.shape.known > 0).then(|| vars.pop().expect("future.weight"));
        let head_b = vars.pop().expect("head.bias");
        let head_w = vars.pop().expect("head.weight");
        let mut layers = Vec::with_capacity(weights.shape.layers);
        let mut it = vars.into_iter();
        while let (Some(a), Some(b), Some(c), Some(d)) =
            (it.next(), it.next(), it.next(), it.next())
        {
            layers.push([a, b, c, d]);
        }
        Net {
            vs,
            shape: weights.shape,
            layers,
            head_w,
            head_b,
            future_w,
        }
    }

    /// Current parameter values, copied to plain data.
    pub fn weights(&self) -> Weights {
        let mut values = Vec::with_capacity(4 * self.layers.len() + 2);
        for t in self
            .layers
            .iter()
            .flatten()
            .chain([&self.head_w, &self.head_b])
            .chain(self.future_w.as_ref())
        {
            let t = t.detach().to_device(Device::Cpu).contiguous();
            let n = t.numel();
            let mut v = vec![0f32; n];
            t.copy_data(&mut v, n);
            values.push(v);
        }
        Weights {
            shape: self.shape,
            values,
        }
    }

    /// `x`: (batch, seq, n_features) → (batch, horizon). With `dropout = Some((p, rng))` the
    /// outputs of every layer but the last are dropped with probability `p` (training mode, as
    /// `nn.LSTM(dropout=p)`); `None` is evaluation mode.
    pub fn forward(&self, x: &Tensor, dropout: Option<(f64, &mut ChaCha8Rng)>) -> Tensor {
        self.forward_with(x, None, dropout)
    }

    /// [`forward`](Self::forward) with the known drivers of the forecast days, `future`:
    /// (batch, horizon, known). A model that reads drivers and gets none sees zeros.
    pub fn forward_with(
        &self,
        x: &Tensor,
        future: Option<&Tensor>,
        dropout: Option<(f64, &mut ChaCha8Rng)>,
    ) -> Tensor {
        let (batch, seq) = (x.size()[0], x.size()[1]);
        let h = self.shape.hidden as i64;
        let zeros = Tensor::zeros([1, batch, h], (Kind::Float, x.device()));
        // Training mode is `Some`, whatever p: cuDNN keeps the state its backward pass needs
        // only when the op runs in training mode (with p = 0 too), while on the CPU the flag
        // only switches dropout.
        let training = dropout.is_some();
        let mut dropout = dropout.filter(|(p, _)| *p > 0.0);
        let mut out = x.shallow_clone();
        for (k, [w_ih, w_hh, b_ih, b_hh]) in self.layers.iter().enumerate() {
            if k > 0
                && let Some((p, rng)) = dropout.as_mut()
            {
                let keep = 1.0 - *p as f32;
                let n = (batch * seq * h) as usize;
                let mask = dropout_mask(n, keep, rng.random());
                let mask = Tensor::from_slice(&mask)
                    .view([batch, seq, h])
                    .to_device(x.device());
                // Out of place: the previous layer saved its output for its backward pass.
                out = out.g_mul(&mask);
            }
            let (o, _, _) = out.lstm(
                &[&zeros, &zeros],
                &[w_ih, w_hh, b_ih, b_hh],
                true,
                1,
                0.0,
                training,
                false,
                true,
            );
            out = o;
        }
        let last = out.select(1, -1);
        let base = last.linear(&self.head_w, Some(&self.head_b));
        match (&self.future_w, future) {
            // (batch, horizon, known) · (known) → (batch, horizon)
            (Some(w), Some(f)) => base + f.matmul(&w.view([-1])),
            _ => base,
        }
    }
}

/// `n` inverted-dropout multipliers (1/keep with probability `keep`, else 0). One draw from the
/// seeded ChaCha stream seeds a SplitMix64 generator for the whole mask: the ~30k draws per
/// batch stay cheap even where dependencies are built without optimisation (the dev profile).
fn dropout_mask(n: usize, keep: f32, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let threshold = (f64::from(keep) * 4294967296.0) as u64;
    let scale = 1.0 / keep;
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Two 32-bit uniforms per 64-bit draw.
        for u in [z & 0xFFFF_FFFF, z >> 32] {
            out.push(if u < threshold { scale } else { 0.0 });
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dropout_mask_keeps_the_right_share() {
        let m = super::dropout_mask(100_000, 0.8, 1);
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.8).abs() < 0.01, "kept {kept}");
        assert!(m.iter().all(|&v| v == 0.0 || v == 1.0 / 0.8));
        assert_eq!(m, super::dropout_mask(100_000, 0.8, 1));
    }
}
