"""PyTorch baseline for bench/cuda-kernels.ts, measured on the same GPU in the same device run.

For each size n: a device-to-device copy (dst.copy_(src)) and one torch.optim.AdamW(fused=True)
step over a single fp32 parameter of n elements; for the largest n, the magnitude selection
that anneal's magnitudeMask does (prune 90% by |x|) done the PyTorch way: torch.topk of the 10%
largest |x| (with and without computing |x|, and with the 0/1 mask built from the indices).
Times are CUDA-event milliseconds per call, after warm-up, like the anneal side.

usage: python3 bench/torch_baseline.py OUT.json [--sizes 1e6,1e7,16777216,67108864]
"""
import argparse
import json
import sys

import torch


def time_ms(fn, target_ms=60.0):
    """Milliseconds per call of fn: warm-up, then enough repeats to fill about target_ms."""
    fn()
    fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    single = max(start.elapsed_time(end), 1e-3)
    repeats = max(3, min(500, int(target_ms / single) + 1))
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / repeats


def size_row(n):
    src = torch.randn(n, device="cuda")
    dst = torch.empty_like(src)
    copy_ms = time_ms(lambda: dst.copy_(src))
    del src, dst

    param = torch.nn.Parameter(torch.randn(n, device="cuda"))
    param.grad = torch.randn_like(param)
    opt = torch.optim.AdamW([param], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, fused=True)
    adam_ms = time_ms(opt.step)
    del opt, param
    torch.cuda.empty_cache()
    return {
        "n": n,
        "copy_ms": copy_ms,
        "copy_gbps": 8 * n / (copy_ms * 1e6),
        "adamw_fused_ms": adam_ms,
        "adamw_fused_gbps": 28 * n / (adam_ms * 1e6),
    }


def threshold_row(n, sparsity=0.9):
    prune = round(sparsity * n)
    keep = n - prune
    x = torch.randn(n, device="cuda")
    magnitudes = x.abs()

    def topk_mask():
        _, idx = torch.topk(magnitudes, keep, sorted=False)
        mask = torch.zeros_like(magnitudes)
        mask[idx] = 1.0
        return mask

    mask = topk_mask()
    assert int(mask.sum().item()) == keep
    row = {
        "n": n,
        "prune": prune,
        "abs_topk_ms": time_ms(lambda: torch.topk(x.abs(), keep, sorted=False)),
        "topk_ms": time_ms(lambda: torch.topk(magnitudes, keep, sorted=False)),
        "topk_mask_ms": time_ms(topk_mask),
    }
    del x, magnitudes, mask
    torch.cuda.empty_cache()
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--sizes", default="1e6,1e7,16777216,67108864")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("torch_baseline: torch sees no CUDA device", file=sys.stderr)
        return 1
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    torch.manual_seed(0)
    result = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0),
        "sizes": [size_row(n) for n in sizes],
        "threshold": threshold_row(max(sizes)),
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    for row in result["sizes"]:
        print(
            f"torch n={row['n']:>10} copy {row['copy_ms']:.4f} ms ({row['copy_gbps']:.0f} GB/s)  "
            f"AdamW fused {row['adamw_fused_ms']:.4f} ms ({row['adamw_fused_gbps']:.0f} GB/s)"
        )
    t = result["threshold"]
    print(
        f"torch n={t['n']} prune {t['prune']}: topk(|x|) {t['abs_topk_ms']:.3f} ms, "
        f"topk {t['topk_ms']:.3f} ms, topk+mask {t['topk_mask_ms']:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
