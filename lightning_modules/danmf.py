"""DANMF (Ye, Chen & Zheng, CIKM 2018): deep autoencoder-like non-negative matrix factorisation, a LEARN baseline.

With layer sizes k_1 > … > k_p and non-negative factors U_1 (n×k_1), U_i (k_{i−1}×k_i), V_p (k_p×n):

    L = ‖A − U_1⋯U_p V_p‖²_F  +  ‖V_p − U_pᵀ⋯U_1ᵀ A‖²_F  +  λ tr(V_p (D − A) V_pᵀ)

(decoder: rebuild the adjacency from the code; encoder: map the adjacency back to the code; graph term: linked
vertices get close codes). Solved as DANMF does: layer-wise shallow NMF pre-training (A ≈ U_1V_1, V_1 ≈ U_2V_2, …,
Lee–Seung updates), then multiplicative updates whose ratios are the negative over the positive part of the
gradient, so every factor stays non-negative (Ψ = U_1⋯U_{i−1}, Φ = U_{i+1}⋯U_p, Ψ_p = U_1⋯U_p):

    U_i ← U_i ⊙ 2ΨᵀAV_pᵀΦᵀ / (ΨᵀΨ U_i ΦV_pV_pᵀΦᵀ + ΨᵀAAᵀΨ U_i ΦΦᵀ)
    V_p ← V_p ⊙ (2Ψ_pᵀA + λV_pA) / (Ψ_pᵀΨ_pV_p + V_p + λV_pD)

A stays sparse: every product with it costs nnz·k (never n²·k), and the loss is evaluated through traces.
The embedding is V_pᵀ. Nothing is trained by gradient descent (``optimizer: null`` → ``run.py`` skips fit): the
factorisation runs once, in the test stage, on the training graph (the residual graph for link prediction), seeded
by the run seed. Layer sizes follow LEARN §5.3 ("the same number of neurons in each layer of autoencoder as our
method"): 1000-512-128. λ and the iteration counts are not given by LEARN: λ = 1 and 100 + 200 iterations here
(config values).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import reduce
from typing import Any

import torch
from torch import Tensor

from lightning_modules.components.base import SolverModule
from lightning_modules.components.embedding import EmbeddingModule
from zoo.errors import UserError, non_negative_int
from zoo.pair_keys import csr_rows

log = logging.getLogger(__name__)


def _chain(factors: Sequence[Tensor]) -> Tensor | None:
    """The product of ``factors`` left to right; None for an empty chain (the identity)."""
    return reduce(torch.mm, factors) if factors else None


def _lmul(left: Tensor | None, right: Tensor) -> Tensor:
    return right if left is None else left @ right


def _tmul(left: Tensor | None, right: Tensor) -> Tensor:
    """leftᵀ @ right, the identity when ``left`` is None."""
    return right if left is None else left.T @ right


def shallow_nmf(
    x: Tensor, rank: int, iterations: int, generator: torch.Generator, eps: float
) -> tuple[Tensor, Tensor]:
    """Lee–Seung multiplicative NMF, x (sparse or dense, ≥ 0) ≈ U V with U ≥ 0 [m, rank] and V ≥ 0 [rank, n]."""
    m, n = x.shape
    mean = float(torch.sparse.sum(x) if x.is_sparse else x.sum()) / (m * n)
    scale = (max(mean, eps) / rank) ** 0.5  # U V then starts at the data's mean value
    u = torch.rand(m, rank, generator=generator).to(x.device) * scale
    v = torch.rand(rank, n, generator=generator).to(x.device) * scale
    x_t = x.t().coalesce() if x.is_sparse else x.T
    for _ in range(iterations):
        u *= (x @ v.T) / (u @ (v @ v.T) + eps)
        v *= (x_t @ u).T / ((u.T @ u) @ v + eps)
    return u, v


class DanmfSolver:
    """The factorisation of one (sparse, symmetric, non-negative) adjacency matrix."""

    def __init__(self, adjacency: Tensor, layers: Sequence[int], graph_lambda: float, eps: float = 1e-10):
        self.a = adjacency.coalesce()
        self.a_t = self.a.t().coalesce()
        self.degree = torch.sparse.sum(self.a, dim=1).to_dense()
        self.layers, self.graph_lambda, self.eps = [int(k) for k in layers], float(graph_lambda), eps
        self.u: list[Tensor] = []
        self.v: Tensor | None = None

    def pretrain(self, iterations: int, generator: torch.Generator) -> None:
        x: Tensor = self.a
        self.u = []
        for rank in self.layers:
            u, x = shallow_nmf(x, rank, iterations, generator, self.eps)
            self.u.append(u)
        self.v = x

    def u_terms(self, i: int) -> tuple[Tensor, Tensor]:
        """(negative, positive) parts of ∂L/∂U_i, each divided by 2: the update is U_i ⊙ negative / positive."""
        a, a_t, v = self.a, self.a_t, self.v
        psi, phi = _chain(self.u[:i]), _chain(self.u[i + 1 :])
        a_vt = a @ v.T  # A V_pᵀ [n, k_p]
        negative = 2.0 * _tmul(psi, a_vt if phi is None else a_vt @ phi.T)
        v_vt = v @ v.T
        phi_vvt_phit = v_vt if phi is None else phi @ v_vt @ phi.T
        decoder = _tmul(psi, _lmul(psi, self.u[i])) @ phi_vvt_phit  # ΨᵀΨ U_i ΦV_pV_pᵀΦᵀ
        u_phi = self.u[i] if phi is None else self.u[i] @ (phi @ phi.T)
        encoder = _tmul(psi, a @ (a_t @ _lmul(psi, u_phi)))  # ΨᵀAAᵀΨ U_i ΦΦᵀ, right to left: no n×n product
        return negative, decoder + encoder

    def v_terms(self) -> tuple[Tensor, Tensor]:
        """(negative, positive) parts of ∂L/∂V_p, each divided by 2."""
        a_t, v, lam = self.a_t, self.v, self.graph_lambda
        psi_p = _chain(self.u)
        negative = 2.0 * (a_t @ psi_p).T + lam * (a_t @ v.T).T
        positive = (psi_p.T @ psi_p) @ v + v + lam * v * self.degree[None, :]
        return negative, positive

    def step(self) -> None:
        """One sweep: U_1, …, U_p in turn, then V_p (each update uses the latest factors)."""
        for i in range(len(self.u)):
            negative, positive = self.u_terms(i)
            self.u[i] = self.u[i] * negative / (positive + self.eps)
        negative, positive = self.v_terms()
        self.v = self.v * negative / (positive + self.eps)

    def loss(self) -> dict[str, float]:
        """The three terms of L through traces and the non-zeros of A (no n×n product is formed)."""
        a, v = self.a, self.v
        psi_p = _chain(self.u)
        rows, cols = a.indices()
        values = a.values()
        a_sq = float(values.pow(2).sum())
        cross = float((values * (psi_p[rows] * v.T[cols]).sum(1)).sum())  # ⟨A, Ψ_pV_p⟩
        rebuilt_sq = float(((psi_p.T @ psi_p) * (v @ v.T)).sum())  # ‖Ψ_pV_p‖²
        decoder = a_sq - 2.0 * cross + rebuilt_sq
        encoder = float((v - (self.a_t @ psi_p).T).pow(2).sum())
        laplacian = float(
            (self.degree * v.pow(2).sum(0)).sum() - (values * (v.T[rows] * v.T[cols]).sum(1)).sum()
        )
        return {
            "decoder": decoder,
            "encoder": encoder,
            "graph": laplacian,
            "total": decoder + encoder + self.graph_lambda * laplacian,
        }


class Danmf(SolverModule, EmbeddingModule):
    """DANMF as an embedding method: ``embed()`` factorises the training graph once and returns V_pᵀ."""

    def __init__(
        self,
        layers: Sequence[int] = (1000, 512, 128),
        graph_lambda: float = 1.0,
        pretrain_iterations: int = 100,
        iterations: int = 200,
        log_every: int = 50,
        optimizer: None = None,
        scheduler: None = None,
        **evaluation: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, **evaluation)
        widths = [int(k) for k in layers]
        if not widths or min(widths) < 1 or widths != sorted(widths, reverse=True):
            raise UserError(
                f"layers={list(layers)} must be positive and non-increasing (k_1 ≥ … ≥ k_p)",
                where="model.layers",
                fix="e.g. model.layers=[1000,512,128]",
            )
        if float(graph_lambda) < 0:
            raise UserError(f"graph_lambda must be ≥ 0, got {graph_lambda}", where="model.graph_lambda")
        non_negative_int(pretrain_iterations, "model.pretrain_iterations")
        non_negative_int(iterations, "model.iterations")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.adjacency: Tensor | None = None
        self.solver: DanmfSolver | None = None
        self.losses: list[dict[str, float]] = []

    @property
    def solver_budget(self) -> str:
        hp = self.hparams
        return f"solver: {hp.pretrain_iterations} pre-training + {hp.iterations} iterations"

    def build_for_data(self, data: dict[str, Any]) -> None:
        rowptr, col, weight = data["rowptr"], data["col"], data["weight"]
        n = rowptr.numel() - 1
        self.adjacency = torch.sparse_coo_tensor(
            torch.stack([csr_rows(rowptr), col]), weight.float(), (n, n), check_invariants=True
        )

    def factorise(self) -> None:
        """Pre-train and fine-tune on the module's device, seeded by the run seed."""
        hp = self.hparams
        solver = self.solver = DanmfSolver(self.adjacency.to(self.device), hp.layers, hp.graph_lambda)
        generator = torch.Generator().manual_seed(torch.initial_seed() % 2**63)
        solver.pretrain(hp.pretrain_iterations, generator)
        self.losses = [solver.loss()]
        for iteration in range(1, hp.iterations + 1):
            solver.step()
            if iteration % max(hp.log_every, 1) == 0 or iteration == hp.iterations:
                self.losses.append(solver.loss())
                log.info("DANMF iteration %d: %s", iteration, self.losses[-1])

    def embed(self) -> Tensor:
        if self.solver is None:
            self.factorise()
        return self.solver.v.T
