"""PyTorch eager baseline for the device check's backend-bench (bench/device-train.ts bench):
one training step of the MLP, the CNN and the ResNet at the same batch sizes, on the same GPU,
in the same run.

Each step, as bench/lib/models.ts's trainingStep on anneal-cuda: forward, softmax cross-entropy,
backward, one SGD(0.01) update, and the loss read back (loss.item(), which waits for the GPU as
tfjs's dataSync does). The MLP and the CNN are bench/torch_cpu_baseline.py's (bench/lib/models.ts
layer for layer); the ResNet is src/models/resnet.ts's default, ResNet-8: a 3x3 stem of 16
channels + BN + ReLU, one basic block per stage at 16, 32, 64 channels (stride 2 with a 1x1
projection at stages 2 and 3), global average pooling, dense. Convs have no bias; BN eps 1e-5,
momentum 0.1 (Keras's 0.9). NCHW, PyTorch's default layout on the GPU.

Math mode, explicitly: float32 throughout, no TF32 (PyTorch >= 2.9: matmul and cuDNN conv
fp32_precision 'ieee'; before: allow_tf32 off for both and matmul precision 'highest'), read back
into the output; cudnn.benchmark off (eager's default).

Writes OUT.json: {torch, device, mathMode, rows: [{model, batch, params (trainable),
ms (median), meanMs, samples}]}.
usage: python3 bench/torch_train_baseline.py OUT.json [--device cuda|cpu] [--batches 64,512]
         [--models mlp,cnn,resnet] [--samples 20] [--budget 6] [--warmup 3]
--device cpu is for the device check's dry run (no GPU); its times are not a baseline.
"""
import argparse
import json
import os
import statistics
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_cpu_baseline import models as cpu_baseline_models  # noqa: E402
from torch_cpu_baseline import sgd_step_times  # noqa: E402


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the (projected) input, then ReLU (src/models/resnet.ts)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


def resnet8(width=16):
    return nn.Sequential(
        nn.Conv2d(1, width, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width, eps=1e-5, momentum=0.1),
        nn.ReLU(),
        BasicBlock(width, width, 1),
        BasicBlock(width, 2 * width, 2),
        BasicBlock(2 * width, 4 * width, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * width, 10),
    )


def models():
    return {**cpu_baseline_models(), "resnet": resnet8}


def no_tf32():
    """Turns TF32 off for matmuls and cuDNN convolutions; says how, read back."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(torch.backends, "fp32_precision"):
        # PyTorch >= 2.9's settings; the allow_tf32 flags are deprecated there, and mixing the
        # two kinds is refused.
        matmul.fp32_precision = "ieee"
        cudnn.conv.fp32_precision = "ieee"
        return f"matmul fp32_precision {matmul.fp32_precision}, cuDNN conv {cudnn.conv.fp32_precision}"
    matmul.allow_tf32 = False
    cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return f"matmul allow_tf32 {matmul.allow_tf32}, cuDNN allow_tf32 {cudnn.allow_tf32}, precision highest"


def step_times(make, batch, device, samples, budget_s, warmup):
    torch.manual_seed(0)
    model = make().to(device)
    x = torch.randn(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    times = sgd_step_times(model, x, y, samples, budget_s, warmup)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return times, params


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--batches", default="64,512")
    parser.add_argument("--models", default="mlp,cnn,resnet")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--budget", type=float, default=6.0)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_train_baseline: torch sees no CUDA device", file=sys.stderr)
        return 1
    math_mode = no_tf32()
    torch.backends.cudnn.benchmark = False
    makers = models()
    wanted = args.models.split(",")
    unknown = [m for m in wanted if m not in makers]
    if unknown:
        print(f"--models: {unknown} not among {list(makers)}", file=sys.stderr)
        return 2
    result = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "mathMode": f"float32, {math_mode}, cudnn.benchmark off, NCHW",
        "rows": [],
    }
    for name in wanted:
        for batch in (int(b) for b in args.batches.split(",")):
            times, params = step_times(
                makers[name], batch, args.device, args.samples, args.budget, args.warmup
            )
            ms = statistics.median(times)
            result["rows"].append(
                {
                    "model": name,
                    "batch": batch,
                    "params": params,
                    "ms": ms,
                    "meanMs": statistics.mean(times),
                    "samples": len(times),
                }
            )
            sps = 1000 * batch / ms
            print(f"torch {name:6} batch {batch:4}: {ms:.2f} ms/step, {sps:.0f} samples/s", flush=True)
            # Written after every row, so a run cut short keeps the rows it finished.
            with open(args.out, "w") as f:
                json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
