#!/usr/bin/env python3
"""PyTorch reference for benches/lstm.rs: the same windows, model and training loop.

Reads the frame the Rust bench writes (target/lstm_bench/frame.csv: date, target first, then the
features), builds the same windows (sequence_length rows of every column; the next 28 target
values as labels, masked past the split), and trains torch.nn.LSTM + nn.Linear with
Adam(weight_decay), masked MSE, shuffled mini-batches, early stopping with best weights restored.

    .venv-torch/bin/python scripts/bench_lstm.py target/lstm_bench/frame.csv [epochs]

Prints per-epoch time at 1 and 2 threads and the whole default grid at 1 and 2 threads.
Flags: --epoch-only, --grid-only, --threads1 (skip 2 threads).
"""
import csv
import itertools
import sys
import time

import torch

H = 28


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    data = torch.tensor([[float(v) for v in r[1:]] for r in rows[1:]], dtype=torch.float32)
    return data  # (n, features), target in column 0


def windows(data, origins, label_end, seq):
    xs, ys, ms = [], [], []
    for t in origins:
        if t + 1 < seq:
            continue
        xs.append(data[t + 1 - seq : t + 1])
        y = torch.zeros(H)
        m = torch.zeros(H)
        for s in range(H):
            row = t + 1 + s
            if row < label_end:
                y[s] = data[row, 0]
                m[s] = 1.0
        ys.append(y)
        ms.append(m)
    return torch.stack(xs), torch.stack(ys), torch.stack(ms)


class Net(torch.nn.Module):
    def __init__(self, features, hidden, layers, dropout):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, hidden, layers, batch_first=True, dropout=dropout)
        self.head = torch.nn.Linear(hidden, H)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


def train(data, train_end, val_end, lr, seq, dropout, max_epochs=100, patience=10, batch=32, wd=1e-4, seed=42):
    torch.manual_seed(seed)
    tx, ty, tm = windows(data, range(seq - 1, train_end - 1), train_end, seq)
    vx, vy, vm = windows(data, range(max(train_end - 1, seq - 1), val_end - 1), val_end, seq)
    net = Net(data.shape[1], 64, 2, dropout)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
    best, best_state, since, epochs = float("inf"), None, 0, 0
    for epoch in range(max_epochs):
        epochs += 1
        net.train()
        perm = torch.randperm(len(tx))
        for i in range(0, len(tx), batch):
            idx = perm[i : i + batch]
            bm = tm[idx]
            loss = (((net(tx[idx]) - ty[idx]) ** 2) * bm).sum() / bm.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = ((((net(vx) - vy) ** 2) * vm).sum() / vm.sum()).item()
        if val < best:
            best, since = val, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            since += 1
            if since >= patience:
                break
    net.load_state_dict(best_state)
    return epochs, best


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    path = args[0] if args else "target/lstm_bench/frame.csv"
    epochs = int(args[1]) if len(args) > 1 else 20
    threads_list = (1, 2) if "--threads1" not in flags else (1,)
    data = load(path)
    n = len(data)
    train_end = n * 70 // 100
    val_end = train_end + n * 15 // 100
    print(f"torch {torch.__version__}: {n} rows x {data.shape[1]} columns, train_end {train_end}, val_end {val_end}")
    for threads in threads_list if "--grid-only" not in flags else ():
        torch.set_num_threads(threads)
        for seq in (14, 30):
            t = time.perf_counter()
            e, _ = train(data, train_end, val_end, 0.001, seq, 0.0, max_epochs=epochs, patience=epochs + 1)
            dt = time.perf_counter() - t
            print(f"epoch threads={threads} seq={seq}: {1000 * dt / e:.2f} ms/epoch ({e} epochs)")
    for threads in threads_list if "--epoch-only" not in flags else ():
        torch.set_num_threads(threads)
        t = time.perf_counter()
        total = []
        for lr, seq, dropout in itertools.product((0.001, 0.01), (14, 30), (0.0, 0.2)):
            e, _ = train(data, train_end, val_end, lr, seq, dropout)
            total.append(e)
        dt = time.perf_counter() - t
        print(f"grid threads={threads}: {dt:.2f} s, {sum(total)} epochs ({1000 * dt / sum(total):.2f} ms/epoch); epochs per spec {total}")


if __name__ == "__main__":
    main()
