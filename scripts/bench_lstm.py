#!/usr/bin/env python3
"""PyTorch reference for crates/adsales-lstm/benches/lstm.rs: the same windows, model and training loop.

Reads the frame the Rust bench writes (target/lstm_bench/frame.csv or real_frame.csv: date,
target first, then the features; the split in <csv>.split), builds the same windows (sequence_length rows of every column; the next 28 target
values as labels, masked past the split), and trains torch.nn.LSTM + nn.Linear with
Adam(weight_decay), masked MSE, shuffled mini-batches, early stopping with best weights restored.

    .venv-torch/bin/python scripts/bench_lstm.py target/lstm_bench/frame.csv [epochs]

Prints per-epoch time at 1 and 2 threads and the whole default grid at 1 and 2 threads.
Flags: --epoch-only, --grid-only, --threads1 (skip 2 threads), --epochs-per-spec=46,51,...
(train each grid point exactly that many epochs: the Rust run's counts, for equal work).
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
    # Vectorised so that Python loops do not count against PyTorch in the timings.
    idx = torch.tensor([t for t in origins if t + 1 >= seq])
    x = data[idx[:, None] + torch.arange(1 - seq, 1)[None, :]]
    lab = idx[:, None] + torch.arange(1, H + 1)[None, :]
    m = (lab < label_end).float()
    y = data[lab.clamp(max=len(data) - 1), 0] * m
    return x, y, m


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
    fixed = next((list(map(int, a.split("=", 1)[1].split(","))) for a in flags if a.startswith("--epochs-per-spec=")), None)
    data = load(path)
    n = len(data)
    try:
        with open(path + ".split") as f:
            train_end, val_end = map(int, f.read().split())
    except FileNotFoundError:
        train_end = n * 70 // 100
        val_end = train_end + n * 15 // 100
    print(f"torch {torch.__version__}: {n} rows x {data.shape[1]} columns, train_end {train_end}, val_end {val_end}")
    # Warm-up (lazy initialisation, allocator) outside the timings.
    train(data, train_end, val_end, 0.001, 14, 0.0, max_epochs=2, patience=3)
    for threads in threads_list if "--grid-only" not in flags else ():
        torch.set_num_threads(threads)
        for seq in (14, 30):
            # Marginal cost of `epochs` more epochs, as in crates/adsales-lstm/benches/lstm.rs.
            runs = []
            for e in (2, 2 + epochs):
                t, c = time.perf_counter(), time.process_time()
                train(data, train_end, val_end, 0.001, seq, 0.0, max_epochs=e, patience=e + 1)
                runs.append((time.perf_counter() - t, time.process_time() - c))
            dt, dc = runs[1][0] - runs[0][0], runs[1][1] - runs[0][1]
            print(f"epoch threads={threads} seq={seq}: {1000 * dt / epochs:.2f} ms/epoch wall, {1000 * dc / epochs:.2f} ms/epoch CPU (marginal over {epochs} epochs)")
    for threads in threads_list if "--epoch-only" not in flags else ():
        torch.set_num_threads(threads)
        t, c = time.perf_counter(), time.process_time()
        total = []
        for k, (lr, seq, dropout) in enumerate(itertools.product((0.001, 0.01), (14, 30), (0.0, 0.2))):
            if fixed:
                # Exactly the Rust run's epoch counts (no early stopping): the same work.
                e, _ = train(data, train_end, val_end, lr, seq, dropout, max_epochs=fixed[k], patience=fixed[k] + 1)
            else:
                e, _ = train(data, train_end, val_end, lr, seq, dropout)
            total.append(e)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"grid threads={threads}: {dt:.2f} s wall, {dc:.2f} s CPU, {sum(total)} epochs ({1000 * dt / sum(total):.2f} ms/epoch); epochs per spec {total}")


if __name__ == "__main__":
    main()
