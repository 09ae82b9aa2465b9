"""FPCA and RPCA-IALM denoising speed: seconds per 128×128 and 512×512 image, batched vs one image at a time.

``python -m zoo.workflow.benchmarks fpca``: the models as configured in ``conf/model/{fpca,rpca}.yaml`` (FPCA on patch
groups, RPCA on the whole image), on crops of ``skimage.data.camera()`` with Gaussian noise σ = 0.05 (no data
folder needed). Batched = one ``denoise`` call on the whole batch; one by one = a call per image.
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import publish, time_per_call

CONF = Path(__file__).resolve().parents[3] / "conf" / "model"
BATCH = {128: 4, 512: 2}


def noisy_batch(size: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` noisy copies of the centre ``size`` crop of the camera image, and their noise level."""
    from skimage import data

    image = torch.from_numpy(data.camera()).float() / 255.0
    top = (image.shape[0] - size) // 2
    crop = image[top : top + size, top : top + size]
    generator = torch.Generator().manual_seed(0)
    noisy = crop + 0.05 * torch.randn(count, size, size, generator=generator)
    return noisy, torch.full((count,), 0.05)


def build(name: str):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(CONF / f"{name}.yaml"))


def seconds_per_image(model, noisy: torch.Tensor, sigma: torch.Tensor, batched: bool) -> float:
    def run() -> None:
        with torch.no_grad():
            if batched:
                model.denoise(noisy, sigma)
            else:
                for i in range(noisy.shape[0]):
                    model.denoise(noisy[i : i + 1], sigma[i : i + 1])

    return time_per_call(run, torch.device("cpu"), warmup=0, repeats=1) / noisy.shape[0]


def main() -> None:
    results = {}
    for name in ("fpca", "rpca"):
        model = build(name)
        for size, count in BATCH.items():
            noisy, sigma = noisy_batch(size, count)
            results[f"{name} {size}"] = {
                mode: seconds_per_image(model, noisy, sigma, mode == "batched")
                for mode in ("batched", "one by one")
            }
    lines = [
        f"FPCA / RPCA benchmark — camera crops, Gaussian σ = 0.05, {cpu_name()}, {torch.get_num_threads()} threads.",
        "",
        "| method | image | batch | s / image batched | s / image one by one |",
        "|---|---|---|---|---|",
    ]
    for key, value in results.items():
        name, size = key.split()
        lines.append(
            f"| {name} | {size}×{size} | {BATCH[int(size)]} | {value['batched']:.2f} | {value['one by one']:.2f} |"
        )
    table = "\n".join(lines) + "\n"
    publish("fpca", table, results)
