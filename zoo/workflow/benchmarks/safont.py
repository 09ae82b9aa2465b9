"""SAFont training speed and peak memory per self-attention position, naive vs memory-efficient attention.

``python -m zoo.workflow.benchmarks safont``: one GAN training step (discriminator then generator, losses as configured in
``conf/model/safont.yaml``) on random 64×64 glyph batches; each (position, kernel) runs in a fresh process so the
peak memory (CUDA allocator peak, or the CPU process's max RSS) is its own.
"""

from __future__ import annotations

import argparse
import functools
import json

import torch

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import in_subprocess, peak_memory_mib, publish, time_per_call

POSITIONS = ("none", "f64", "f128", "f256", "f512")


def training_rate(attention: str, kernel: str, device_name: str, batch: int, steps: int) -> dict[str, float]:
    """Training images/s of ``FontGan.training_step`` and the peak memory it reached."""
    from lightning_modules.safont import FontGan

    device = torch.device(device_name)
    torch.manual_seed(0)
    adam = functools.partial(torch.optim.Adam, lr=1e-4, betas=(0.0, 0.9))
    model = FontGan(attention=attention, attention_kernel=kernel, optimizer_g=adam, optimizer_d=adam).to(
        device
    )
    optimizers = model.configure_optimizers()
    model.optimizers = lambda: optimizers
    model.manual_backward = lambda loss: loss.backward()
    model.log = model.log_dict = lambda *args, **kwargs: None
    data = {key: torch.rand(batch, 1, 64, 64, device=device) for key in ("source", "target")}
    seconds = time_per_call(lambda: model.training_step(data, 0), device, warmup=1, repeats=steps)
    return {"images_per_s": batch / seconds, "peak_memory_mib": peak_memory_mib(device)}


def main(batch: int = 16, steps: int = 2) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = {
        (device, position, kernel): in_subprocess(
            "zoo.workflow.benchmarks.safont",
            "--attention",
            position,
            "--kernel",
            kernel,
            "--device",
            device,
            "--batch",
            str(batch),
            "--steps",
            str(steps),
        )  # fmt: skip
        for device in devices
        for position in POSITIONS
        for kernel in (("efficient",) if position == "none" else ("naive", "efficient"))
    }
    lines = [
        f"SAFont benchmark — {cpu_name()}, {torch.get_num_threads()} threads; batch {batch} of 64×64 glyphs, "
        "one D + G step (hinge, pixel BCE, Canny edge loss).",
        "",
        "| device | attention | kernel | training images/s | peak memory (MiB; CPU: process max RSS) |",
        "|---|---|---|---|---|",
        *(
            f"| {d} | {p} | {k} | {r['images_per_s']:.2f} | {r['peak_memory_mib']:.0f} |"
            for (d, p, k), r in rows.items()
        ),
    ]
    table = "\n".join(lines) + "\n"
    publish("safont", table, {"|".join(k): v for k, v in rows.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attention", choices=POSITIONS)
    parser.add_argument("--kernel", default="efficient")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    if args.attention is None:
        main(args.batch, args.steps)
    else:
        result = training_rate(args.attention, args.kernel, args.device, args.batch, args.steps)
        print(json.dumps(result))
