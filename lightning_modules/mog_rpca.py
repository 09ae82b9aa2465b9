"""MoG-RPCA (Zhao, Meng, Xu, Zuo & Zhang, ICML 2014): robust PCA with mixture-of-Gaussians noise, an FPCA baseline.

Model, for each matrix Y [m, n]: Y = U Vᵀ + E, every entry of E drawn from Σ_k π_k N(0, τ_k⁻¹) (K components),
columns of U, V with ARD priors N(0, γ_l⁻¹ I) (so unneeded rank is pruned), Gamma priors on τ_k and γ_l and a
Dirichlet prior on π. Solved by mean-field variational Bayes, the paper's updates written out (nothing copied):

- noise E-step:  ρ_ijk ∝ exp(⟨log π_k⟩ + ½⟨log τ_k⟩ − ½⟨τ_k⟩⟨(y_ij − u_iᵀv_j)²⟩)
- q(π), q(τ_k):  α_k = α₀ + N_k,  c_k = c₀ + N_k/2,  d_k = d₀ + ½Σ_ij ρ_ijk⟨(y_ij − u_iᵀv_j)²⟩
- q(u_i):        Σ_ui = (Σ_j w_ij⟨v_j v_jᵀ⟩ + diag⟨γ⟩)⁻¹,  μ_ui = Σ_ui Σ_j w_ij y_ij μ_vj,  w_ij = Σ_k ρ_ijk⟨τ_k⟩
- q(v_j):        the same with the roles of U and V swapped
- q(γ_l):        ⟨γ_l⟩ = (a₀ + (m + n)/2) / (b₀ + ½Σ_i⟨u_il²⟩ + ½Σ_j⟨v_jl²⟩)

with ⟨(y − uᵀv)²⟩ = (y − μ_uᵀμ_v)² + μ_uᵀΣ_vμ_u + μ_vᵀΣ_uμ_v + tr(Σ_uΣ_v). Initialised from the truncated SVD;
stops when the relative change of U Vᵀ is below ``tol`` for every matrix. Batched over matrices; float64 inside.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from lightning_modules.components.denoising import DenoisingModule
from zoo.errors import positive_int


def _expected_squared_error(y: Tensor, mu_u: Tensor, sig_u: Tensor, mu_v: Tensor, sig_v: Tensor) -> Tensor:
    mean = mu_u @ mu_v.transpose(-1, -2)
    return (
        (y - mean).pow(2)
        + torch.einsum("bir,bjrs,bis->bij", mu_u, sig_v, mu_u)
        + torch.einsum("bjr,birs,bjs->bij", mu_v, sig_u, mu_v)
        + torch.einsum("birs,bjsr->bij", sig_u, sig_v)
    )


def _factor_update(
    weights: Tensor, wy: Tensor, other_mu: Tensor, other_sig: Tensor, gamma: Tensor
) -> tuple[Tensor, Tensor]:
    """q(u_i) for every row i given q(v): weights, wy [N, m, n]; other_mu [N, n, R]; other_sig [N, n, R, R]."""
    second = other_mu[..., :, None] * other_mu[..., None, :] + other_sig  # ⟨v_j v_jᵀ⟩
    precision = torch.einsum("bij,bjrs->birs", weights, second) + torch.diag_embed(gamma)[:, None]
    sig = torch.linalg.inv(precision)
    mu = torch.einsum("birs,bis->bir", sig, wy @ other_mu)
    return mu, sig


def mog_rpca(
    y: Tensor,
    rank: int,
    components: int = 3,
    max_iter: int = 100,
    tol: float = 1e-3,
    prior: float = 1e-6,
) -> tuple[Tensor, int]:
    """The low-rank part ⟨U⟩⟨V⟩ᵀ of each matrix of ``y`` [N, m, n], and the iterations run."""
    dtype = y.dtype
    y = y.double()
    n_mat, m, n = y.shape
    rank = min(rank, m, n)
    u, s, vh = torch.linalg.svd(y, full_matrices=False)
    root = s[:, None, :rank].sqrt()
    mu_u, mu_v = u[..., :rank] * root, vh[:, :rank].transpose(-1, -2) * root
    sig_u = y.new_zeros(n_mat, m, rank, rank)
    sig_v = y.new_zeros(n_mat, n, rank, rank)
    gamma = (m + n) / (mu_u.pow(2).sum(1) + mu_v.pow(2).sum(1)).clamp_min(1e-12)  # [N, R]
    residual_var = (y - mu_u @ mu_v.transpose(-1, -2)).pow(2).mean(dim=(1, 2)).clamp_min(1e-12)
    spread = 10.0 ** (torch.arange(components, dtype=y.dtype, device=y.device) - (components - 1) / 2)
    tau = 1.0 / (residual_var[:, None] * spread)  # components from narrow to wide around the initial residual
    log_tau = tau.log()
    log_pi = torch.full_like(tau, -math.log(components))
    low_rank = mu_u @ mu_v.transpose(-1, -2)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (returned: the count run)
        error = _expected_squared_error(y, mu_u, sig_u, mu_v, sig_v)
        logits = (
            log_pi[:, None, None] + 0.5 * log_tau[:, None, None] - 0.5 * tau[:, None, None] * error[..., None]
        )
        resp = torch.softmax(logits, dim=-1)  # [N, m, n, K]
        counts = resp.sum(dim=(1, 2))
        alpha = prior + counts
        log_pi = torch.digamma(alpha) - torch.digamma(alpha.sum(-1, keepdim=True))
        shape = prior + 0.5 * counts
        rate = prior + 0.5 * (resp * error[..., None]).sum(dim=(1, 2))
        tau, log_tau = shape / rate, torch.digamma(shape) - rate.log()
        weights = (resp * tau[:, None, None]).sum(-1)
        wy = weights * y
        mu_u, sig_u = _factor_update(weights, wy, mu_v, sig_v, gamma)
        mu_v, sig_v = _factor_update(weights.transpose(-1, -2), wy.transpose(-1, -2), mu_u, sig_u, gamma)
        energy = (mu_u.pow(2) + sig_u.diagonal(dim1=-2, dim2=-1)).sum(1) + (
            mu_v.pow(2) + sig_v.diagonal(dim1=-2, dim2=-1)
        ).sum(1)
        gamma = (prior + 0.5 * (m + n)) / (prior + 0.5 * energy)
        previous, low_rank = low_rank, mu_u @ mu_v.transpose(-1, -2)
        change = torch.linalg.matrix_norm(low_rank - previous) / torch.linalg.matrix_norm(previous).clamp_min(
            1e-12
        )
        if bool((change < tol).all()):
            break
    return low_rank.to(dtype), iterations


class MogRpca(DenoisingModule):
    """MoG-RPCA denoiser; ``rank`` None → a quarter of the smaller side (ARD prunes what the data do not support;
    the authors' synthetic demo starts at twice the true rank)."""

    def __init__(
        self,
        rank: int | None = None,
        components: int = 3,
        max_iter: int = 100,
        tol: float = 1e-3,
        prior: float = 1e-6,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if rank is not None:
            positive_int(rank, "model.rank", "model.rank=10")
        positive_int(components, "model.components", "model.components=3")
        positive_int(max_iter, "model.max_iter", "model.max_iter=100")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.iterations: list[int] = []

    @property
    def solver_budget(self) -> str:
        hp = self.hparams
        rank = "min(m, n)/4" if hp.rank is None else hp.rank
        return (
            f"solver: VB to tol {hp.tol:g} (≤ {hp.max_iter} iterations), initial rank {rank}, "
            f"{hp.components} components, {self.grouping_label}"
        )

    def solve(self, matrices: Tensor, noise_sigma: Tensor) -> Tensor:
        rank = self.hparams.rank or max(1, min(matrices.shape[-2:]) // 4)
        hp = self.hparams
        low_rank, iterations = mog_rpca(matrices, rank, hp.components, hp.max_iter, hp.tol, hp.prior)
        self.iterations.append(iterations)
        return low_rank
