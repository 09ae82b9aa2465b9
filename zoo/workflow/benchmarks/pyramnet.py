"""PyramNet vs the baseline: training / inference samples per second and peak memory, and the framework's
overhead (Lightning ``fit`` vs a plain PyTorch loop on the same model and batches).

``python -m zoo.workflow.benchmarks pyramnet``; each throughput figure comes from its own process so peak memory is clean.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import torch
import torch.nn.functional as F

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import (
    in_subprocess,
    peak_memory_mib,
    publish,
    synchronize,
    time_per_call,
)

VARIANTS = {"PyramNet": {"use_gem": True, "use_pan": True}, "Baseline": {"use_gem": False, "use_pan": False}}


def shapes_batches(num_points: int, batch_size: int, count: int) -> list[dict[str, torch.Tensor]]:
    """Real batches of the synthetic shapes dataset (the same data for every variant)."""
    from datamodules.shapes import ShapesDataModule

    data = ShapesDataModule(
        num_points=num_points,
        train_per_class=max(4, batch_size * count // 8 + 1),
        val_per_class=1,
        test_per_class=1,
        batch_size=batch_size,
        augment=None,
    )
    data.setup("fit")
    loader = iter(data.train_dataloader())
    return [next(loader) for _ in range(count)]


def throughput(variant: str, device_name: str, num_points: int, batch_size: int) -> dict[str, float]:
    """Train and inference samples/s and peak memory of one variant at the paper's widths."""
    from lightning_modules.pyramnet import PyramNet

    device = torch.device(device_name)
    torch.manual_seed(0)
    net = PyramNet(in_features=3, num_classes=8, **VARIANTS[variant]).to(device)
    batch = shapes_batches(num_points, batch_size, 1)[0]
    points, labels = batch["points"].to(device), batch["label"].to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(points), labels).backward()
        optimizer.step()

    @torch.inference_mode()
    def infer() -> None:
        net(points)

    net.train()
    train_s = time_per_call(train_step, device, warmup=1, repeats=3)
    net.eval()
    infer_s = time_per_call(infer, device, warmup=1, repeats=3)
    return {
        "train_samples_per_s": batch_size / train_s,
        "inference_samples_per_s": batch_size / infer_s,
        "peak_memory_mib": peak_memory_mib(device),
    }


def overhead(num_batches: int = 24, repeats: int = 3) -> dict[str, float]:
    """Seconds per epoch of Lightning fit vs a hand-written loop: same demo model, same in-memory batches."""
    import pytorch_lightning as pl

    from lightning_modules.components.classifier import ClassifierModule
    from lightning_modules.pyramnet import PyramNet

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    batches = shapes_batches(256, 32, num_batches)
    demo = dict(mid_channels=(64, 128), head_channels=(256,), fc_channels=(128, 64), pan_out_channels=16)

    def fresh_module() -> ClassifierModule:
        torch.manual_seed(0)
        return ClassifierModule(
            PyramNet(in_features=3, num_classes=8, **demo),
            num_classes=8,
            optimizer=lambda params: torch.optim.Adam(params, lr=1e-3),
        )

    def plain_epoch() -> float:
        module = fresh_module()
        optimizer = torch.optim.Adam(module.net.parameters(), lr=1e-3)
        module.net.train()
        start = time.perf_counter()
        for batch in batches:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(module.net(batch["points"]), batch["label"]).backward()
            optimizer.step()
        return time.perf_counter() - start

    def lightning_epoch() -> float:
        module = fresh_module()
        trainer = pl.Trainer(
            max_epochs=1,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        loader = torch.utils.data.DataLoader(batches, batch_size=None)
        start = time.perf_counter()
        trainer.fit(module, train_dataloaders=loader)
        return time.perf_counter() - start

    plain_epoch(), lightning_epoch()  # warm-up
    plain = min(plain_epoch() for _ in range(repeats))
    lightning = min(lightning_epoch() for _ in range(repeats))
    return {"plain_s": plain, "lightning_s": lightning, "ratio": lightning / plain, "batches": num_batches}


def render(
    rows: dict[str, dict[str, dict[str, float]]], cost: dict[str, float], points: int, batch: int
) -> str:
    lines = [
        f"PyramNet benchmark — {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"synthetic shapes, {points} points, batch {batch}, paper widths.",
        "",
        "| model | device | train samples/s | inference samples/s | peak memory (MiB; CPU: process max RSS) |",
        "|---|---|---|---|---|",
    ]
    for device, per_variant in rows.items():
        for variant, r in per_variant.items():
            lines.append(
                f"| {variant} | {device} | {r['train_samples_per_s']:.1f} | {r['inference_samples_per_s']:.1f} "
                f"| {r['peak_memory_mib']:.0f} |"
            )
    lines += [
        "",
        f"Framework overhead (demo model, 256 points, batch 32, {cost['batches']} batches, best of 3): "
        f"plain loop {cost['plain_s']:.2f} s, Lightning fit {cost['lightning_s']:.2f} s, "
        f"ratio **{cost['ratio']:.2f}×** (target ≤ 1.10×).",
    ]
    return "\n".join(lines) + "\n"


def main(points: int = 1024, batch: int = 16) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = {
        device: {
            variant: in_subprocess(
                "zoo.workflow.benchmarks.pyramnet",
                "--variant",
                variant,
                "--device",
                device,
                "--points",
                str(points),
                "--batch",
                str(batch),
            )
            for variant in VARIANTS
        }
        for device in devices
    }
    cost = overhead()
    table = render(rows, cost, points, batch)
    publish("pyramnet", table, {"throughput": rows, "overhead": cost})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    if args.variant is None:
        main(args.points, args.batch)
    else:
        print(json.dumps(throughput(args.variant, args.device, args.points, args.batch)))
        synchronize(torch.device(args.device))
