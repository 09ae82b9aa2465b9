"""BM3D (Dabov et al., TIP 2007) as a denoising baseline beside FPCA's RPCA family, via the ``bm3d`` package.

Not in the FPCA paper: it is what an image-processing user reaches for first, so every FPCA table can show it.
BM3D does its own block matching, so it runs on whole images (``grouping.mode=whole_image``); it is told the
noise level σ like FPCA (blind estimate by default, ``noise_level=oracle`` for the true one) and assumes white
Gaussian noise of that standard deviation (``sigma_psd``), whatever the noise model really is. The ``bm3d``
package (Tampere University; free for non-commercial use, see its licence) is a reference implementation; it
runs on the CPU in NumPy, one image per call.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import bm3d
import numpy as np
import torch
from torch import Tensor

from lightning_modules.components.denoising import DenoisingModule
from zoo.errors import UserError, check_choice

PROFILES = ("np", "refilter", "vn", "high", "vn_old", "deb")
STAGES = ("all", "hard_thresholding")


class Bm3d(DenoisingModule):
    """BM3D denoiser: ``profile`` is the package's parameter profile, ``stage`` both stages or the first only."""

    def __init__(self, profile: str = "np", stage: str = "all", **common: Any) -> None:
        super().__init__(**common)
        check_choice(profile, PROFILES, "model.profile")
        check_choice(stage, STAGES, "model.stage")
        if self.grouper is not None:
            raise UserError(
                "BM3D groups similar blocks itself and runs on whole images",
                where="model.grouping.mode",
                fix="model.grouping.mode=whole_image",
            )
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])

    @property
    def solver_budget(self) -> str:
        stages = "both stages" if self.hparams.stage == "all" else "hard thresholding only"
        return f"solver: BM3D (bm3d {version('bm3d')}), profile {self.hparams.profile}, {stages}, whole image"

    def solve(self, matrices: Tensor, noise_sigma: Tensor) -> Tensor:
        stage = (
            bm3d.BM3DStages.ALL_STAGES if self.hparams.stage == "all" else bm3d.BM3DStages.HARD_THRESHOLDING
        )
        images = matrices.detach().cpu().to(torch.float64).numpy()
        sigmas = noise_sigma.detach().cpu().to(torch.float64).clamp_min(1e-6).numpy()
        denoised = np.stack(
            [
                bm3d.bm3d(image, sigma_psd=float(sigma), profile=self.hparams.profile, stage_arg=stage)
                for image, sigma in zip(images, sigmas, strict=True)
            ]
        )
        return torch.from_numpy(denoised).to(device=matrices.device, dtype=matrices.dtype)
