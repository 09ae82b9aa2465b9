"""Base LightningModule of optimisation-based denoisers (FPCA and its RPCA-family baselines).

Nothing is trained (``optimizer`` must be None, so ``run.py`` skips fit): ``test_step`` solves each batch of
noisy images and scores it. Subclasses implement ``solve(matrices [N, m, n], noise_sigma [N])``; the base decides
which matrices a method sees: whole images (``grouping.mode=whole_image``, how RPCA-family papers apply their
models to an image), or groups of similar patches aggregated back (``patch_groups``, WNNM-style).

Scores per image: PSNR (torchmetrics, data range 1 for images) and the relative reconstruction error
RRE = ‖X̂ − X‖_F / ‖X‖_F; the test metrics are their means over the set, plus each image's PSNR. The run dir gets
the denoised images (8-bit PNG), ``per_image.csv`` and a clean | noisy | denoised figure, also sent to
TensorBoard / W&B.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio

from lightning_modules.components.base import SolverModule
from lightning_modules.components.noise_level import NOISE_ESTIMATORS, estimate_noise_sigma
from lightning_modules.components.patch_groups import PatchGrouper
from zoo.errors import check_choice, non_negative_int, positive_int
from zoo.io import atomic_write_png, atomic_write_text
from zoo.loggers import publish_figure

log = logging.getLogger(__name__)
GROUPING_MODES = ("whole_image", "patch_groups")
NOISE_LEVELS = ("estimate", "oracle")


def relative_error(estimate: Tensor, clean: Tensor) -> Tensor:
    """‖X̂ − X‖_F / ‖X‖_F per matrix of [B, H, W]."""
    return torch.linalg.matrix_norm(estimate - clean) / torch.linalg.matrix_norm(clean)


class DenoisingModule(SolverModule):
    """Solve-and-score plumbing shared by every denoiser; ``grouping`` is a mapping of ``PatchGrouper`` arguments
    plus ``mode``; ``noise_level``: "estimate" (blind, default) or "oracle" (the noise model's true std);
    ``noise_estimator`` / ``noise_block``: the blind estimate (``components.noise_level``)."""

    def __init__(
        self,
        grouping: Mapping[str, Any] | None = None,
        noise_level: str = "estimate",
        noise_estimator: str = "dct",
        noise_block: int = 16,
        clip: bool = True,
        save_images: bool = True,
        figure_images: int = 10,
        optimizer: None = None,
        scheduler: None = None,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        grouping = dict(grouping or {"mode": "whole_image"})
        self.grouping_mode = grouping.pop("mode", "whole_image")
        self.solve_chunk = positive_int(
            grouping.pop("solve_chunk", 2048), "model.grouping.solve_chunk", "model.grouping.solve_chunk=2048"
        )
        check_choice(self.grouping_mode, GROUPING_MODES, "model.grouping.mode")
        self.grouper = PatchGrouper(**grouping) if self.grouping_mode == "patch_groups" else None
        check_choice(noise_level, NOISE_LEVELS, "model.noise_level")
        check_choice(noise_estimator, NOISE_ESTIMATORS, "model.noise_estimator")
        self.noise_estimator = noise_estimator
        self.noise_block = positive_int(noise_block, "model.noise_block", "model.noise_block=16")
        self.noise_level, self.clip, self.save_images = noise_level, bool(clip), bool(save_images)
        self.figure_images = non_negative_int(figure_images, "model.figure_images")
        self.results: list[dict[str, Any]] = []
        self.figures: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    # ---- what a method implements ----------------------------------------------------------------------------

    def solve(self, matrices: Tensor, noise_sigma: Tensor) -> Tensor:
        """Denoise a stack of matrices [N, m, n] with per-matrix noise levels [N]."""
        raise NotImplementedError

    # ---- shared machinery -------------------------------------------------------------------------------------

    @property
    def grouping_label(self) -> str:
        g = self.grouper
        if g is None:
            return "whole image"
        return f"{g.patch_size}×{g.patch_size} patch groups of {g.group_size}, stride {g.stride}, window {g.window}"

    def solve_images(self, images: Tensor, noise_sigma: Tensor) -> Tensor:
        """``solve`` on whole images [B, H, W], or on their patch groups aggregated back into images."""
        if self.grouper is None:
            return self.solve(images, noise_sigma)
        groups = self.grouper.group(images)
        b, r = groups.matrices.shape[:2]
        sigma = noise_sigma[:, None].expand(b, r).reshape(-1)
        matrices = groups.matrices.flatten(0, 1)
        # Batched, but in slices of ``solve_chunk`` groups: past a few thousand matrices the solvers' temporaries
        # fall out of cache and a batch of 4 images costs 1.4× more per image than one image at a time.
        chunk = self.solve_chunk
        solved = torch.cat(
            [self.solve(matrices[i : i + chunk], sigma[i : i + chunk]) for i in range(0, b * r, chunk)]
        )
        return self.grouper.aggregate(groups, solved.reshape(groups.matrices.shape))

    def denoise(self, noisy: Tensor, noise_sigma: Tensor) -> Tensor:
        """The whole method on a batch [B, H, W]; FPCA overrides it with its iterative regularisation."""
        return self.solve_images(noisy, noise_sigma)

    def on_test_epoch_start(self) -> None:
        self.results, self.figures = [], []

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        clean, noisy = batch["clean"].to(self.device), batch["noisy"].to(self.device)
        sigma = (
            batch["noise_std"].to(self.device)
            if self.noise_level == "oracle"
            else estimate_noise_sigma(noisy, self.noise_estimator, self.noise_block)
        )
        with torch.no_grad():
            denoised = self.denoise(noisy, sigma)
        data_range = batch["data_range"].to(self.device)
        if self.clip and bool((data_range == 1.0).all()):
            denoised = denoised.clamp(0.0, 1.0)
        for i, name in enumerate(batch["name"]):
            psnr = partial_psnr(denoised[i], clean[i], data_range[i])
            self.results.append(
                {
                    "image": name,
                    "psnr": psnr,
                    "rre": float(relative_error(denoised[i], clean[i])),
                    "psnr_noisy": partial_psnr(noisy[i], clean[i], data_range[i]),
                    "rre_noisy": float(relative_error(noisy[i], clean[i])),
                    "noise_sigma_used": float(sigma[i]),
                }
            )
            self.figures.append((name, *(t[i].float().cpu().numpy() for t in (clean, noisy, denoised))))

    def on_test_epoch_end(self) -> None:
        if not self.results:
            return
        for key in ("psnr", "rre", "psnr_noisy", "rre_noisy"):
            self.log(f"test/{key}", float(np.mean([r[key] for r in self.results])))
        for result in self.results:
            self.log(f"test/psnr_{result['image']}", result["psnr"])
        if self.trainer.is_global_zero:
            self._write_outputs(Path(self.trainer.default_root_dir))

    def _write_outputs(self, run_dir: Path) -> None:
        header = list(self.results[0])
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=header)
        writer.writeheader()
        writer.writerows(self.results)
        atomic_write_text(run_dir / "per_image.csv", text.getvalue())
        if self.save_images:
            for name, _, _, denoised in self.figures:
                atomic_write_png(run_dir / "denoised" / f"{name}.png", denoised)
        if not self.figure_images:
            return
        shown = slice(0, self.figure_images)
        figure = side_by_side(self.figures[shown], self.results[shown], type(self).__name__)
        publish_figure(self, "side_by_side.png", figure, key="test/side_by_side")
        log.info("denoised images and per_image.csv written to %s", run_dir)


def partial_psnr(estimate: Tensor, clean: Tensor, data_range: Tensor) -> float:
    return float(peak_signal_noise_ratio(estimate, clean, data_range=float(data_range)))


def side_by_side(
    figures: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], results: list[dict], title: str
) -> Any:
    """One row per image: clean | noisy (PSNR) | denoised (PSNR), a matplotlib figure
    (``model.figure_images`` rows at most: BSD68's 68 would make an unreadable figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(figures)
    fig, axes = plt.subplots(rows, 3, figsize=(7.5, 2.5 * rows), squeeze=False)
    for row, ((name, clean, noisy, denoised), result) in enumerate(zip(figures, results, strict=True)):
        low, high = float(clean.min()), float(clean.max())
        captions = (name, f"noisy {result['psnr_noisy']:.2f} dB", f"{title} {result['psnr']:.2f} dB")
        for ax, image, caption in zip(axes[row], (clean, noisy, denoised), captions, strict=True):
            ax.imshow(image, cmap="gray", vmin=low, vmax=high)
            ax.set_title(caption, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return fig
