"""FPCA (ICONIP 2019): weighted nuclear-norm minimisation in the DCT domain for complex noise.

Problem (eq. 8), for each low-rank matrix Y (a whole image or a group of similar patches), C· = DCT(·):

    min ‖C_X‖_{w,*} + λ‖ |C_N| − ζ ‖²_F   s.t.   C_Y = C_X + C_N

solved by the augmented Lagrangian of eq. 9 (Table 1, steps IV-VII), with penalty γ and multiplier E:

    C_X ← U S_{w/γ}(Σ) Vᵀ,  U Σ Vᵀ = svd(C_Y − C_N + E/γ)                (Theorems 1-2: weighted SVT)
    C_N ← (γP + 2λ·sign(P)∘ζ) / (γ + 2λ),  P = C_Y − C_X + E/γ              (eq. 13, closed form, per entry)
    E ← E + γ(C_Y − C_X − C_N),  γ ← ργ,  until ‖C_Y − C_X − C_N‖_F / ‖C_Y‖_F < tol

then X = IDCT(C_X), aggregation of the patch groups (step X), and the outer iterative regularisation of step I.
The paper leaves these open; our readings (all config values, ``conf/model/fpca.yaml``):

- ζ, "a synthetic matrix": a constant ζ = √(2/π)·σ̂, the mean magnitude of the DCT coefficients of noise with
  standard deviation σ̂ (the orthonormal DCT turns i.i.d. noise of any shape into ≈ Gaussian coefficients of the
  same σ; FRPCA's premise that noise magnitudes are flat in the frequency domain). ``zeta_scale=0`` gives ℓ2.
- λ = 1/(2σ̂²): the Gaussian log-likelihood scale, so that with ζ = 0 the fixed point is WNNM's thresholding.
- weights: WNNM's w_i = C√n/(σ̂_i + ε), σ̂_i = √max(σ_i² − nσ̂², 0), from the singular values of the matrix being
  denoised (non-descending, as Theorem 2 needs); ``weights=constant`` uses w = c(√m + √n)/σ̂ (the largest
  singular value of the noise, i.e. plain nuclear norm: this is FRPCA as the FPCA paper describes it).
- matrices: groups of K similar p×p patches (the "Aggregate cleaned image" step), or whole images.
- step I: Y^k = X̂^{k−1} + δ(Y − X̂^{k−1}) (WNNM's iterative regularisation; ``feedback=previous_input`` is the
  paper's literal Y^k = X̂^{k−1} + δ(Y − Y^{k−1})), with σ̂_k = η√|σ̂² − mean((Y − Y^k)²)|.
- σ̂: estimated from the noisy image (blind: the MAD of the top DCT band, ``components/noise_level.py``) unless
  ``noise_level=oracle``.
- ``domain``: ``dct`` (the matrix's 2-D DCT), ``patch_dct`` (each patch's 2-D DCT: a real spatial-frequency
  reading for patch groups), ``spatial`` (no transform: the paper's spatial-vs-frequency ablation); see
  ``transforms``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from lightning_modules.components.dct import dct2, dct_matrix, idct2
from lightning_modules.components.denoising import DenoisingModule
from lightning_modules.components.lowrank import weighted_svt, wnnm_weights
from zoo.errors import UserError, check_choice, positive_int

log = logging.getLogger(__name__)
DOMAINS = ("dct", "patch_dct", "spatial")
WEIGHTS = ("wnnm", "constant")
FEEDBACK = ("estimate", "previous_input")


def _identity(x: Tensor) -> Tensor:
    return x


def _patch_dct_matrix(rows: int, like: Tensor) -> Tensor:
    """D_p ⊗ D_p for matrices whose rows are the p² pixels of a p×p patch (row-major): each column's 2-D DCT."""
    p = math.isqrt(rows)
    if p * p != rows:
        raise UserError(
            f"domain=patch_dct transforms the p×p patches in the rows of a patch-group matrix; {rows} rows are "
            "not a square number of pixels",
            where="model.domain",
            fix="model.grouping.mode=patch_groups with it, or model.domain=dct",
        )
    d = dct_matrix(p, like.dtype, like.device)
    return torch.kron(d, d)


def _patch_dct(y: Tensor) -> Tensor:
    return _patch_dct_matrix(y.shape[-2], y) @ y


def _patch_idct(c: Tensor) -> Tensor:
    return _patch_dct_matrix(c.shape[-2], c).T @ c


def transforms(domain: str) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """(forward, inverse) of the domain the low-rank problem is solved in.

    ``dct``: the 2-D DCT of the whole matrix (for a patch-group matrix: along the raster-flattened pixels *and*
    along the similarity-ranked patch index, which has no frequency meaning). ``patch_dct``: the 2-D DCT of each
    patch, i.e. D_p ⊗ D_p on every column, the image's spatial frequencies as eqs. 4-6 define them.
    ``spatial``: none. All are orthonormal, so singular values (hence the weights) are the same in each; what
    differs is where the noise term's constant-magnitude prior ζ is applied.
    """
    if domain == "dct":
        return dct2, idct2
    if domain == "patch_dct":
        return _patch_dct, _patch_idct
    return _identity, _identity


@dataclass(frozen=True)
class AlmOptions:
    """Settings of FPCA's inner solver (each documented in ``conf/model/fpca.yaml``)."""

    domain: str = "dct"
    weights: str = "wnnm"
    wnnm_c: float = 2.0 * math.sqrt(2.0)
    constant_c: float = 1.0
    eps: float = 1e-8
    zeta_scale: float = math.sqrt(2.0 / math.pi)
    penalty: float = 1.0
    rho: float = 1.1
    max_iter: int = 8
    tol: float = 1e-4
    gram: bool = True

    def __post_init__(self) -> None:
        check_choice(self.domain, DOMAINS, "model.domain")
        check_choice(self.weights, WEIGHTS, "model.weights")
        positive_int(self.max_iter, "model.max_iter", "model.max_iter=8")
        if float(self.rho) < 1.0 or float(self.penalty) <= 0.0:
            raise UserError(
                f"the penalty must start > 0 and grow (rho ≥ 1), got penalty={self.penalty}, rho={self.rho}",
                where="model.penalty / model.rho",
                fix="e.g. model.penalty=1.0 model.rho=1.1",
            )


ALM_FIELDS = tuple(f.name for f in fields(AlmOptions))


def fpca_alm(y: Tensor, noise_sigma: Tensor, options: AlmOptions = AlmOptions()) -> tuple[Tensor, int]:
    """FPCA's inner ALM on matrices ``y`` [N, m, n] with noise levels ``noise_sigma`` [N] → (X [N, m, n], iterations)."""
    o = options
    forward, inverse = transforms(o.domain)
    m, n = y.shape[-2:]
    sigma = noise_sigma.to(y.dtype).clamp_min(1e-6)[:, None, None]
    cy = forward(y)
    if o.weights == "wnnm":
        w = wnnm_weights(torch.linalg.svdvals(cy), sigma[:, 0, 0], n, o.wnnm_c, o.eps)  # [N, k]
    else:
        w = (o.constant_c * (math.sqrt(m) + math.sqrt(n)) / sigma[:, :, 0]).expand(-1, min(m, n))
    lam = 1.0 / (2.0 * sigma.pow(2))
    zeta = o.zeta_scale * sigma
    gamma = o.penalty * 2.0 * lam
    scale = torch.linalg.matrix_norm(cy).clamp_min(torch.finfo(y.dtype).tiny)
    multiplier = cy / torch.linalg.matrix_norm(cy, ord=2).clamp_min(torch.finfo(y.dtype).tiny)[:, None, None]
    cn = torch.zeros_like(cy)
    cx = cy
    iterations = 0
    for iterations in range(1, o.max_iter + 1):  # noqa: B007 (returned: the count run)
        cx = weighted_svt(cy - cn + multiplier / gamma, w / gamma[:, :, 0], gram=o.gram)
        p = cy - cx + multiplier / gamma
        cn = (gamma * p + 2.0 * lam * zeta * torch.sign(p)) / (gamma + 2.0 * lam)
        residual = cy - cx - cn
        multiplier = multiplier + gamma * residual
        gamma = gamma * o.rho
        if bool((torch.linalg.matrix_norm(residual) / scale < o.tol).all()):
            break
    return inverse(cx), iterations


class Fpca(DenoisingModule):
    """FPCA as a LightningModule: ``test_step`` denoises each batch (nothing is trained).

    Keyword arguments named in ``AlmOptions`` configure the inner solver; the rest go to ``DenoisingModule``.
    """

    def __init__(
        self,
        outer_iterations: int = 2,
        feedback: float = 0.2,
        feedback_target: str = "estimate",
        noise_reestimate: float = 0.54,
        **settings: Any,
    ) -> None:
        solver = {key: settings.pop(key) for key in ALM_FIELDS if key in settings}
        super().__init__(**settings)
        self.options = AlmOptions(**solver)
        check_choice(feedback_target, FEEDBACK, "model.feedback_target")
        positive_int(outer_iterations, "model.outer_iterations", "model.outer_iterations=2")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.alm_iterations: list[int] = []

    @property
    def solver_budget(self) -> str:
        return (
            f"solver: {self.hparams.outer_iterations} outer × ≤ {self.options.max_iter} ALM iterations, "
            f"{self.grouping_label}, {self.options.domain} domain"
        )

    def solve(self, matrices: Tensor, noise_sigma: Tensor) -> Tensor:
        solved, iterations = fpca_alm(matrices, noise_sigma, self.options)
        self.alm_iterations.append(iterations)
        log.debug("FPCA ALM: %d iterations on %d matrices", iterations, matrices.shape[0])
        return solved

    def denoise(self, noisy: Tensor, noise_sigma: Tensor) -> Tensor:
        """Table 1, step I: iterative regularisation around the inner solver, re-estimating the noise level."""
        hp = self.hparams
        estimate, previous = noisy, noisy
        sigma = noise_sigma
        for k in range(hp.outer_iterations):
            if k == 0:
                current = noisy
            else:
                target = estimate if hp.feedback_target == "estimate" else previous
                current = estimate + hp.feedback * (noisy - target)
                drift = (noisy - current).pow(2).mean(dim=(-2, -1))
                sigma = hp.noise_reestimate * (noise_sigma.pow(2) - drift).abs().sqrt()
            estimate, previous = self.solve_images(current, sigma), current
        return estimate
