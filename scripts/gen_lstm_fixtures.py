#!/usr/bin/env python3
"""Reference fixtures for crates/adsales-lstm/tests/it/lstm_parity.rs: torch.nn.LSTM + nn.Linear with fixed weights.

Writes tests/fixtures/lstm/parity_<name>.safetensors holding the weights under the names our
net uses (lstm.weight_ih_l0, ..., head.weight, head.bias), an input batch `input`
(batch, seq, features) and PyTorch's output `output` (batch, horizon), all float32, plus
`config` (int64: features, hidden, layers, horizon).

For the training semantics (Adam with L2 weight decay, MSE), each file also holds `target`
(batch, horizon) and the weights after three Adam(lr=0.01, weight_decay=1e-4) steps on the
full-batch MSE, under `after_adam.<name>`.

Needs the full torch==2.13.0 (a venv: python3 -m venv .venv-torch &&
.venv-torch/bin/pip install torch==2.13.0 safetensors numpy), then:
    .venv-torch/bin/python scripts/gen_lstm_fixtures.py
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lstm"

CASES = [
    # name, features, hidden, layers, horizon, batch, seq, seed
    ("small", 5, 8, 2, 4, 3, 6, 0),
    ("default_shape", 30, 64, 2, 28, 4, 14, 1),
    ("one_layer", 7, 16, 1, 7, 2, 30, 2),
]


class Net(torch.nn.Module):
    def __init__(self, features, hidden, layers, horizon):
        super().__init__()
        # dropout only acts in training mode; the forward pass compared here is evaluation mode.
        self.lstm = torch.nn.LSTM(features, hidden, layers, batch_first=True, dropout=0.2 if layers > 1 else 0.0)
        self.head = torch.nn.Linear(hidden, horizon)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, features, hidden, layers, horizon, batch, seq, seed in CASES:
        torch.manual_seed(seed)
        net = Net(features, hidden, layers, horizon).eval()
        x = torch.rand(batch, seq, features)
        with torch.no_grad():
            y = net(x)
        tensors = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
        tensors["input"] = x.contiguous()
        tensors["output"] = y.contiguous()
        tensors["config"] = torch.tensor([features, hidden, layers, horizon], dtype=torch.int64)
        target = torch.rand(batch, horizon)
        tensors["target"] = target
        net.train()
        # Training mode with dropout would draw from torch's RNG; these steps use dropout 0.
        for m in net.modules():
            if isinstance(m, torch.nn.LSTM):
                m.dropout = 0.0
        opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
        for _ in range(3):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), target)
            loss.backward()
            opt.step()
        for k, v in net.state_dict().items():
            tensors[f"after_adam.{k}"] = v.detach().clone().contiguous()
        path = OUT / f"parity_{name}.safetensors"
        save_file(tensors, str(path), metadata={"torch": torch.__version__})
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
