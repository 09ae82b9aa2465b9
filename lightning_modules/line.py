"""LINE (Tang et al., 2015): first- and second-order proximity embeddings trained on edges with negative sampling.

A baseline of LEARN (§5.3: learning rate 0.025, 5 negative samples, first- and second-order embeddings
concatenated). For a directed training edge (i, j) with weight w_ij:
- first order: −log σ(u_j·u_i) − Σ_n log σ(−u_n·u_i) (one table u, i.e. the joint probability σ(u_i·u_j));
- second order: −log σ(c_j·v_i) − Σ_n log σ(−c_n·v_i) (vertex table v, context table c);
n drawn from the degree^0.75 noise distribution. ``order=3`` trains both (dim/2 each; their parameters are disjoint,
so the summed loss trains them exactly as two separate models) and ``embed()`` concatenates the L2-normalised
parts, as LINE does for its classifier (``normalize=False`` keeps the raw vectors).

Edge weights: LINE samples edges with probability ∝ w_ij (alias table) so that SGD steps stay bounded. Here every
directed edge appears once per epoch and its loss is multiplied by w_ij / w̄ (w̄ the mean edge weight of the
training graph): the same objective in expectation, without re-drawing edges; on unweighted graphs it is plain
uniform edge sampling. The batch loss is the *sum* over its edges, so SGD's lr 0.025 is LINE's per-edge step size
(a batch mean would divide it by the batch size); the logged losses are per-edge means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.components.embedding import EmbeddingModule
from lightning_modules.deepwalk import NoiseRng, noise_distribution, sample_noise, sgns_init_
from zoo.errors import UserError

ORDERS = (1, 2, 3)


class Line(EmbeddingModule):
    """LINE-1st (``order=1``), LINE-2nd (``order=2``) or both concatenated (``order=3``, LEARN's setting)."""

    def __init__(
        self,
        dim: int = 128,
        order: int = 3,
        negatives: int = 5,
        normalize: bool = True,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        **evaluation: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, **evaluation)
        if order not in ORDERS:
            raise UserError(
                f"unknown order {order!r}", where="model.order", fix="1, 2 or 3 (both, concatenated)"
            )
        if order == 3 and dim % 2:
            raise UserError(f"order=3 splits dim={dim} in halves", where="model.dim", fix="an even dimension")
        if negatives < 0:
            raise UserError(f"negatives={negatives} must be ≥ 0", where="model.negatives", fix="e.g. 5")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.first: nn.Embedding | None = None
        self.vertex: nn.Embedding | None = None
        self.context: nn.Embedding | None = None
        self.rng: NoiseRng | None = None

    @property
    def part_dim(self) -> int:
        return self.hparams.dim // 2 if self.hparams.order == 3 else self.hparams.dim

    def build_for_data(self, data: dict[str, Any]) -> None:
        rowptr, weight, weighted = data["rowptr"], data["weight"], bool(data["weighted"])
        num_nodes, order = rowptr.numel() - 1, self.hparams.order
        self.register_buffer(
            "noise", noise_distribution(rowptr, weight if weighted else None), persistent=False
        )
        mean_weight = float(weight.float().mean()) if weighted and weight.numel() else 1.0
        self.register_buffer("mean_weight", torch.tensor(mean_weight), persistent=False)
        if order in (1, 3):
            self.first = nn.Embedding(num_nodes, self.part_dim, sparse=True)
            sgns_init_(self.first)
        if order in (2, 3):
            self.vertex = nn.Embedding(num_nodes, self.part_dim, sparse=True)
            self.context = nn.Embedding(num_nodes, self.part_dim, sparse=True)
            sgns_init_(self.vertex, self.context)
        self.rng = NoiseRng()

    def edge_losses(
        self, batch: tuple[Tensor, Tensor, Tensor], generator: torch.Generator
    ) -> dict[str, Tensor]:
        """Per-edge losses ``[B]`` of each trained order, already multiplied by w_ij / w̄."""
        src, dst, weight = batch
        scale = weight.float() / self.mean_weight
        losses = {}
        for name, table, targets in (
            ("first", self.first, self.first),
            ("second", self.vertex, self.context),
        ):
            if table is None:
                continue
            noise = sample_noise(self.noise, src.numel() * self.hparams.negatives, generator)
            noise = noise.view(src.numel(), self.hparams.negatives)
            u = table(src)
            positive = F.logsigmoid((u * targets(dst)).sum(-1))
            negative = F.logsigmoid(-torch.einsum("bd,bkd->bk", u, targets(noise))).sum(-1)
            losses[name] = -(positive + negative) * scale
        return losses

    def _step(self, batch: tuple[Tensor, Tensor, Tensor], stage: str) -> Tensor:
        losses = self.edge_losses(batch, self.rng.get(stage == "train", self.device))
        total = sum(losses.values())
        size = batch[0].numel()
        self.log(f"{stage}/loss", total.mean(), on_step=False, on_epoch=True, prog_bar=True, batch_size=size)
        for name, value in losses.items():
            self.log(
                f"{stage}/{name}_order_loss", value.mean(), on_step=False, on_epoch=True, batch_size=size
            )
        return total.sum()

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def on_train_epoch_start(self) -> None:
        self.rng.restart_training(self.device)

    def on_validation_epoch_start(self) -> None:
        self.rng.restart_validation(self.device)

    def validation_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def embed(self) -> Tensor:
        parts = [t.weight for t in (self.first, self.vertex) if t is not None]
        if self.hparams.normalize:
            parts = [F.normalize(p, dim=1) for p in parts]
        return torch.cat(parts, dim=1)
