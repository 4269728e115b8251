//! Parity with PyTorch: fixed weights exported by scripts/gen_lstm_fixtures.py from
//! `torch.nn.LSTM(batch_first=True)` + `nn.Linear` (torch 2.13.0). Our forward pass must give
//! PyTorch's outputs to 1e-5, and three Adam(weight_decay) steps on the MSE must give PyTorch's
//! weights to 1e-5.

use std::path::PathBuf;

use adsales_lstm::net::{Net, NetShape, Weights};
use tch::nn::{Adam, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn fixture(name: &str) -> Vec<(String, Tensor)> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures/lstm")
        .join(format!("parity_{name}.safetensors"));
    Tensor::read_safetensors(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get<'a>(named: &'a [(String, Tensor)], name: &str) -> &'a Tensor {
    &named.iter().find(|(n, _)| n == name).unwrap().1
}

fn shape(named: &[(String, Tensor)]) -> NetShape {
    let c = Vec::<i64>::try_from(get(named, "config")).unwrap();
    NetShape {
        n_features: c[0] as usize,
        hidden: c[1] as usize,
        layers: c[2] as usize,
        horizon: c[3] as usize,
        known: 0,
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().to_kind(Kind::Double).double_value(&[])
}

fn check_forward(name: &str) {
    let named = fixture(name);
    let weights = Weights::from_named(shape(&named), &named).unwrap();
    let net = Net::new(&weights, Device::Cpu);
    let out = tch::no_grad(|| net.forward(get(&named, "input"), None));
    let diff = max_abs_diff(&out, get(&named, "output"));
    assert!(diff < 1e-5, "{name}: max |ours - torch| = {diff:e}");
}

#[test]
fn forward_matches_pytorch_small() {
    check_forward("small");
}

#[test]
fn forward_matches_pytorch_default_shape() {
    check_forward("default_shape");
}

#[test]
fn forward_matches_pytorch_one_layer() {
    check_forward("one_layer");
}

#[test]
fn weights_round_trip_through_named_tensors() {
    let named = fixture("small");
    let w = Weights::from_named(shape(&named), &named).unwrap();
    let again = Weights::from_named(w.shape, &w.to_named()).unwrap();
    assert_eq!(w, again);
    // A wrong shape is an error, not a panic.
    let wrong = NetShape {
        hidden: 9,
        ..w.shape
    };
    assert!(Weights::from_named(wrong, &named).is_err());
}

#[test]
fn adam_steps_match_pytorch() {
    for name in ["small", "one_layer"] {
        let named = fixture(name);
        let shape = shape(&named);
        let weights = Weights::from_named(shape, &named).unwrap();
        let net = Net::new(&weights, Device::Cpu);
        let mut opt = Adam {
            wd: 1e-4,
            ..Adam::default()
        }
        .build(&net.vs, 0.01)
        .unwrap();
        let (x, y) = (get(&named, "input"), get(&named, "target"));
        for _ in 0..3 {
            let loss = (net.forward(x, None) - y).square().mean(Kind::Float);
            opt.backward_step(&loss);
        }
        let after = net.weights().to_named();
        for (pname, t) in &after {
            let reference = get(&named, &format!("after_adam.{pname}"));
            let diff = max_abs_diff(t, reference);
            assert!(diff < 1e-5, "{name} {pname}: max diff {diff:e}");
        }
    }
}
