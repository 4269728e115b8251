//! The files of a saved LSTM besides its weights: `lstm.json` and the f64 arrays stored in
//! the safetensors file next to the weights.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::LstmSpec;

/// What `lstm.json` holds next to the weights. The long float arrays (conformal scores, loss
/// histories) live in the safetensors file as raw f64, next to the weights they belong to.
#[derive(Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) family: String,
    pub(crate) spec: LstmSpec,
    pub(crate) names: Vec<String>,
    pub(crate) target: String,
    pub(crate) best_epoch: usize,
    pub(crate) stopped_early: bool,
    pub(crate) epochs: usize,
}

/// Safetensors names of the non-weight arrays.
pub(crate) const TRAIN_LOSS: &str = "history.train_loss";
pub(crate) const VAL_LOSS: &str = "history.val_loss";
pub(crate) fn score_name(step: usize) -> String {
    format!("conformal.scores_step{}", step + 1)
}

pub(crate) fn f64_tensor(named: &[(String, Tensor)], name: &str) -> Result<Vec<f64>, String> {
    let t = named
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| format!("missing tensor {name}"))?;
    if t.kind() != tch::Kind::Double || t.dim() != 1 {
        return Err(format!("tensor {name} is not a 1-D f64 array"));
    }
    let n = t.numel();
    let mut v = vec![0f64; n];
    t.f_copy_data(&mut v, n).map_err(|e| e.to_string())?;
    Ok(v)
}
