"""The PyTorch side of bench_train's "against PyTorch" comparison.

Trains the same MLP as cairn (Fashion-MNIST, same layer sizes, SGD with the
same momentum/Nesterov/weight decay, same batch size, same thread count) with
Debian's python3-torch (the same libtorch version as cairn) and prints one
JSON line: {"steps": N, "seconds": S, "steps_per_second": R, "final_loss": L}.

Data loading and batch gathering mirror cairn's: the whole dataset is a float
tensor in memory and each step gathers a batch with index_select.

Usage: /usr/bin/python3 pytorch_reference.py --hidden 128 --batch 64 --steps 2000 --threads 1
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
from torch import nn


def load_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    p.add_argument("--labels", default="/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.05)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_idx(args.images).astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(load_idx(args.labels).astype(np.int64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(1)
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen)
    # Warm-up step (allocations), not timed.
    loss = None
    start = time.perf_counter()
    for step in range(args.steps):
        lo = (step * args.batch) % n
        idx = perm[lo:lo + args.batch]
        if idx.numel() < args.batch:
            idx = torch.cat([idx, perm[: args.batch - idx.numel()]])
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        loss.item()  # cairn reads the loss every step too.
    seconds = time.perf_counter() - start
    print(json.dumps({"steps": args.steps, "seconds": seconds, "steps_per_second": args.steps / seconds,
                      "final_loss": float(loss)}))


if __name__ == "__main__":
    main()
