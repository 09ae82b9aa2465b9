"""FAN vs the Table 2 baselines: training and inference images/s and peak memory at the paper's setting.

``python -m zoo.workflow.benchmarks fan``: every network in its own process (so peak memory is its own), a batch
of 10 random 224 × 224 images (§4.1's batch and size; speed does not depend on the pixels or the weights, so
the weights are random, the frozen Lite0 probe's aside), SGD with momentum. Training images/s time one
optimiser step (FAN's two-pass feedback attention included: its second head pass is part of every step);
inference images/s time a forward pass in eval mode without gradients. Peak memory: the process's maximum
resident set on the CPU, the CUDA allocator's peak on a GPU.
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import in_subprocess, peak_memory_mib, publish, time_per_call

# name: FAN keyword arguments (components.fan.FAN), or the baseline's name (classifier_backbones.build_baseline)
NETWORKS: dict[str, dict | str] = {
    "FAN η=7 κ=1": {"eta": 7, "kappa": 1},
    "FAN η=14 κ=2": {"eta": 14, "kappa": 2},
    "FAN η=28 κ=2": {"eta": 28, "kappa": 2},
    "FAN η=56 κ=2": {"eta": 56, "kappa": 2},
    "FAN η=56 κ=2, no attention": {"eta": 56, "kappa": 2, "attention": False},
    "FAN η=112 κ=7": {"eta": 112, "kappa": 7},
    "VGG-19": "vgg19",
    "ResNet-18": "resnet18",
    "ResNet-34": "resnet34",
    "ResNet-50": "resnet50",
    "DenseNet-40": "densenet40",
    "EfficientNet-Lite0 linear probe": "efficientnet_lite0_linear",
}
BATCH, SIZE = 10, 224


def build(name: str) -> torch.nn.Module:
    from lightning_modules.components.classifier_backbones import build_baseline
    from lightning_modules.components.fan import FAN

    spec = NETWORKS[name]
    if isinstance(spec, dict):
        return FAN(num_classes=2, in_channels=3, input_size=SIZE, **spec)
    return build_baseline(spec, 2)


def throughput(name: str, device_name: str, repeats: int) -> dict[str, float]:
    """Training and inference images/s of one network, and the process's peak memory."""
    device = torch.device(device_name)
    torch.manual_seed(0)
    net = build(name).to(device)
    images = torch.rand(BATCH, 3, SIZE, SIZE, device=device)
    labels = torch.randint(0, 2, (BATCH,), device=device)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(images), labels).backward()
        optimizer.step()

    net.train()
    train_s = time_per_call(train_step, device, 1, repeats)
    net.eval()
    with torch.no_grad():
        infer_s = time_per_call(lambda: net(images), device, 1, repeats)
    return {
        "train_images_s": BATCH / train_s,
        "infer_images_s": BATCH / infer_s,
        "peak_mib": peak_memory_mib(device),
        "params": float(sum(p.numel() for p in net.parameters())),
    }


def main(repeats: int = 5) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = {
        (device, name): in_subprocess(
            "zoo.workflow.benchmarks.fan", "--network", name, "--device", device, "--repeats", str(repeats)
        )
        for device in devices
        for name in NETWORKS
    }
    lines = [
        f"FAN benchmark — {cpu_name()}, {torch.get_num_threads()} threads; median over {repeats} steps of a "
        f"batch of {BATCH} random {SIZE} × {SIZE} images, random weights (the Lite0 probe: frozen ImageNet "
        "features).",
        "",
        "| device | network | parameters | training images/s | inference images/s | peak memory (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for (device, name), row in rows.items():
        lines.append(
            f"| {device} | {name} | {row['params'] / 1e6:.2f} M | {row['train_images_s']:.1f} "
            f"| {row['infer_images_s']:.1f} | {row['peak_mib']:.0f} |"
        )
    publish("fan", "\n".join(lines) + "\n", {"|".join(key): row for key, row in rows.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--network", choices=tuple(NETWORKS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.network is None:
        main(args.repeats)
    else:
        print(json.dumps(throughput(args.network, args.device, args.repeats)))
