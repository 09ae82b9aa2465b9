"""RPCA by inexact ALM (Wright et al. 2009; Lin, Chen & Ma 2010): FPCA's spatial-domain ℓ1 baseline (Table 2).

min ‖A‖_* + λ‖E‖₁ s.t. Y = A + E on each matrix (whole image by default, as the RPCA-family papers apply it to
an image); the low-rank part A is the denoised image. λ = 1/√max(m, n) (Candès et al.'s universal choice; the
original MATLAB code's 1/√m for non-square inputs is ``lambda_rule=rows``).
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from lightning_modules.components.denoising import DenoisingModule
from lightning_modules.components.lowrank import rpca_ialm
from zoo.errors import check_choice, positive_int

LAMBDA_RULES = ("max_dim", "rows")


class Rpca(DenoisingModule):
    """RPCA-IALM denoiser; ``tol`` / ``max_iter`` / ``rho`` are the reference code's stopping rule and schedule."""

    def __init__(
        self,
        lambda_rule: str = "max_dim",
        lambda_scale: float = 1.0,
        tol: float = 1e-7,
        max_iter: int = 1000,
        rho: float = 1.5,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        check_choice(lambda_rule, LAMBDA_RULES, "model.lambda_rule")
        positive_int(max_iter, "model.max_iter", "model.max_iter=1000")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.iterations: list[int] = []

    @property
    def solver_budget(self) -> str:
        hp = self.hparams
        return f"solver: IALM to tol {hp.tol:g} (≤ {hp.max_iter} iterations), {self.grouping_label}"

    def solve(self, matrices: Tensor, noise_sigma: Tensor) -> Tensor:
        m, n = matrices.shape[-2:]
        lam = self.hparams.lambda_scale / math.sqrt(max(m, n) if self.hparams.lambda_rule == "max_dim" else m)
        # float64 as the reference code: a 1e-7 residual is below float32 resolution and would never be reached
        hp = self.hparams
        result = rpca_ialm(matrices.double(), lam, tol=hp.tol, max_iter=hp.max_iter, rho=hp.rho)
        self.iterations.append(result.iterations)
        return result.low_rank.to(matrices.dtype)
