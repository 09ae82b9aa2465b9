"""Batched low-rank building blocks: (weighted) singular-value thresholding, WNNM weights, RPCA by inexact ALM.

Every function works on stacks of matrices ``[..., m, n]`` (whole images or patch groups) with one batched SVD
per call, so CPU and GPU run the same code and no Python loop runs over matrices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def weighted_svt(z: Tensor, thresholds: Tensor | float, gram: bool = False) -> Tensor:
    """U · diag(max(σ_i − w_i, 0)) · Vᵀ for each matrix of ``z`` [..., m, n].

    With non-descending weights (w_1 ≤ w_2 ≤ …, as WNNM's are) this is the global minimiser of
    ½‖Z − X‖²_F + Σ_i w_i σ_i(X) (Gu et al. 2014, FPCA Theorem 2); constant weights give plain SVT (Cai et al.).
    ``thresholds``: a scalar, or [..., k] (k = min(m, n)) per singular value, or [..., 1] per matrix.
    ``gram``: take U and σ² from the eigendecomposition of the smaller Gram matrix (Z Zᵀ or ZᵀZ) and return
    U diag(max(σ − w, 0)/σ) Uᵀ Z: 2-3× faster for the many small patch-group matrices, but singular values below
    ~√eps·σ_max lose accuracy (harmless when they fall under the threshold, as noise-level ones do).
    """
    if not gram:
        u, s, vh = torch.linalg.svd(z, full_matrices=False)
        return (u * (s - thresholds).clamp_min(0.0).unsqueeze(-2)) @ vh
    wide = z.shape[-2] <= z.shape[-1]
    zt = z if wide else z.transpose(-1, -2)
    eigenvalues, u = torch.linalg.eigh(zt @ zt.transpose(-1, -2))  # ascending
    s = eigenvalues.flip(-1).clamp_min(0.0).sqrt()
    u = u.flip(-1)
    ratio = torch.where(s > 0, (s - thresholds).clamp_min(0.0) / s.clamp_min(torch.finfo(z.dtype).tiny), 0.0)
    x = (u * ratio.unsqueeze(-2)) @ (u.transpose(-1, -2) @ zt)
    return x if wide else x.transpose(-1, -2)


def wnnm_weights(singular_values: Tensor, noise_sigma: Tensor, columns: int, c: float, eps: float) -> Tensor:
    """WNNM's weights w_i = c·√n / (σ̂_i + ε), σ̂_i = √max(σ_i² − n·σ², 0): an estimate of the clean σ_i.

    Large (signal) singular values get small weights and are kept; noise-level ones are shrunk hard. Because σ̂ is
    non-increasing, the weights are non-descending, which ``weighted_svt`` needs to be optimal.
    ``singular_values`` [..., k] of the noisy matrix, ``noise_sigma`` broadcastable to [...], ``columns`` = n.
    """
    sigma = torch.as_tensor(noise_sigma, dtype=singular_values.dtype, device=singular_values.device)
    clean = (singular_values.pow(2) - columns * sigma.unsqueeze(-1).pow(2)).clamp_min(0.0).sqrt()
    return c * math.sqrt(columns) / (clean + eps)


def soft_threshold(x: Tensor, threshold: Tensor | float) -> Tensor:
    """sign(x)·max(|x| − t, 0): the proximal operator of t‖·‖₁."""
    return torch.sign(x) * (x.abs() - threshold).clamp_min(0.0)


@dataclass(frozen=True)
class RpcaResult:
    low_rank: Tensor
    sparse: Tensor
    iterations: int
    residual: Tensor  # ‖D − A − E‖_F / ‖D‖_F per matrix at the end


def _per_matrix(x: Tensor) -> Tensor:
    """A per-matrix scalar [...] reshaped to broadcast over [..., m, n]."""
    return x[..., None, None]


def rpca_ialm(
    d: Tensor,
    lam: Tensor | float | None = None,
    tol: float = 1e-7,
    max_iter: int = 1000,
    rho: float = 1.5,
    mu_scale: float = 1.25,
    mu_max_ratio: float = 1e7,
) -> RpcaResult:
    """Robust PCA, min ‖A‖_* + λ‖E‖₁ s.t. D = A + E, by the inexact augmented Lagrange multiplier method.

    Lin, Chen & Ma (2010) with their defaults: λ = 1/√max(m, n), Y₀ = D / max(‖D‖₂, ‖D‖_∞/λ), μ₀ = 1.25/‖D‖₂,
    μ ← min(ρμ, 10⁷μ₀), stop when every matrix has ‖D − A − E‖_F/‖D‖_F < tol. Batched over [..., m, n].
    """
    m, n = d.shape[-2:]
    lam = 1.0 / math.sqrt(max(m, n)) if lam is None else lam
    lam_t = torch.as_tensor(lam, dtype=d.dtype, device=d.device)
    lam_b = _per_matrix(lam_t) if lam_t.ndim else lam_t
    norm_two = torch.linalg.matrix_norm(d, ord=2).clamp_min(torch.finfo(d.dtype).tiny)
    norm_inf = d.abs().amax(dim=(-2, -1)) / lam_t
    norm_fro = torch.linalg.matrix_norm(d).clamp_min(torch.finfo(d.dtype).tiny)
    y = d / _per_matrix(torch.maximum(norm_two, norm_inf))
    mu = mu_scale / norm_two
    mu_max = mu * mu_max_ratio
    e = torch.zeros_like(d)
    a = torch.zeros_like(d)
    residual = torch.ones_like(norm_fro)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (returned: the count run)
        mu_b = _per_matrix(mu)
        a = weighted_svt(d - e + y / mu_b, _per_matrix(1.0 / mu).squeeze(-1))
        e = soft_threshold(d - a + y / mu_b, lam_b / mu_b)
        z = d - a - e
        y = y + mu_b * z
        mu = torch.minimum(mu * rho, mu_max)
        residual = torch.linalg.matrix_norm(z) / norm_fro
        if bool((residual < tol).all()):
            break
    return RpcaResult(a, e, iterations, residual)
