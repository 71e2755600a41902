"""PyTorch CPU baseline for bench/backend.ts: the same MLP and CNN training steps, same batch
sizes, same thread count, in the same run.

Each step: forward, softmax cross-entropy, backward, one SGD update, as bench/backend.ts times
on anneal-cpu and wasm. The CNN runs channels-last (NHWC, tfjs's layout; oneDNN's fast path in
PyTorch). Prints one JSON object: {torch, threads, blas, rows: [{model, batch, ms (median), meanMs, samples}]}.

Install (Debian): apt-get install python3-torch libopenblas0-pthread (without the pthread
OpenBLAS, Debian's torch uses the slow reference BLAS). Run it with OPENBLAS_NUM_THREADS=1, as
bench/backend.ts does: OpenBLAS's own thread pool beside torch's OpenMP threads oversubscribes
the cores (on 2 cores the MLP step took 16 ms instead of 0.9).

usage: python3 bench/torch_cpu_baseline.py --threads 2 --batches 64,256 [--samples 10] [--warmup 1]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def models():
    return {
        "mlp": lambda: nn.Sequential(
            nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
        ),
        "cnn": lambda: nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
        ),
    }


def sgd_step_times(model, x, y, samples, budget_s, warmup):
    """Milliseconds of each SGD step (lr 0.01, cross-entropy) on the batch (x, y), after
    `warmup` steps: `samples` of them, or fewer once `budget_s` seconds have passed. Each step
    ends with loss.item(), so on a GPU it is timed to the end of its work."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < samples and (not times or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def step_ms(name, make, batch, samples, budget_s, warmup):
    torch.manual_seed(0)
    model = make()
    x = torch.randn(batch, 1, 28, 28)
    if name == "cnn":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    times = sgd_step_times(model, x, y, samples, budget_s, warmup)
    return statistics.median(times), statistics.mean(times), len(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, make in models().items():
        for batch in (int(b) for b in args.batches.split(",")):
            ms, mean_ms, n = step_ms(name, make, batch, args.samples, args.budget, args.warmup)
            rows.append({"model": name, "batch": batch, "ms": ms, "meanMs": mean_ms, "samples": n})
    # Debian's torch links the generic libblas; which BLAS that is shows in the loaded libraries.
    with open("/proc/self/maps") as maps:
        loaded = maps.read()
    blas = "openblas" if "openblas" in loaded else "reference"
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "rows": rows}))


if __name__ == "__main__":
    main()
