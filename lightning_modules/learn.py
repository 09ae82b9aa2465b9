"""LEARN (Fathy & Li, ICONIP 2019): network embedding by similarity learning with a Siamese network.

A shared tower [input → 1000 → 512 → 128] (leaky ReLU between layers) embeds both vertices of a pair; the
component-wise L1 distance |x_v − x_u| goes through a linear unit and a sigmoid that predicts the pair's relation
R(v, u) = α^(k−1) (× the edge weights of the walk path), learned with cross-entropy (eq. 4) + λ·ΣW² (eq. 5).

Readings of what the paper leaves open (each a config option):
- Vertex input (not stated): ``input_mode="adjacency"`` (default; the vertex's row of the *training* graph's
  adjacency, as SDNE uses; the first layer is an ``EmbeddingBag`` over the neighbours, so no dense |V|-wide matmul;
  ``adjacency_norm="mean"`` divides by the degree so that hubs of BlogCatalog (degree > 3,000) do not saturate the
  tower) or ``"embedding"`` (a learned one-hot embedding, i.e. an ``nn.Embedding`` lookup).
- Loss: eq. 4 alone (−R log R̂) gives negatives (R = 0) no gradient, so the default ``loss="bce"`` makes the
  negative term explicit, −R log R̂ − (1 − R) log(1 − R̂); ``loss="eq4"`` is the literal equation.
- λ is not given: ``weight_decay_lambda`` (default 1e-5) on the dense weight matrices of the tower and head (eq. 5).
  The first layer is a lookup table over |V| rows: a global L2 on it would, under Adam, shrink every row the batch
  does not touch by ~lr per step whatever λ is, so it is regularised only with ``regularize_first_layer=true``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.components.adjacency_input import AdjacencyInput
from lightning_modules.components.embedding import EmbeddingModule
from zoo.errors import check_choice

INPUT_MODES = ("adjacency", "embedding")
LOSSES = ("bce", "eq4")


class SiameseTower(nn.Module):
    """The shared tower: vertex id → d-dimensional embedding."""

    def __init__(
        self,
        rowptr: Tensor,
        col: Tensor,
        weight: Tensor,
        layers: Sequence[int] = (1000, 512, 128),
        input_mode: str = "adjacency",
        adjacency_norm: str = "mean",
        negative_slope: float = 0.01,
    ) -> None:
        super().__init__()
        check_choice(input_mode, INPUT_MODES, "model.input_mode")
        check_choice(adjacency_norm, ("mean", "sum"), "model.adjacency_norm")
        widths = [int(w) for w in layers]
        self.num_nodes, self.negative_slope = rowptr.numel() - 1, negative_slope
        self.first: AdjacencyInput | nn.Embedding = (
            AdjacencyInput(rowptr, col, weight, widths[0], mean=adjacency_norm == "mean")
            if input_mode == "adjacency"
            else nn.Embedding(self.num_nodes, widths[0])
        )
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=False))

    def forward(self, nodes: Tensor) -> Tensor:
        h = self.first(nodes)
        for layer in self.hidden:
            h = layer(F.leaky_relu(h, self.negative_slope))
        return h

    def weight_matrices(self, include_first: bool = False) -> list[Tensor]:
        return [*([self.first.weight] if include_first else []), *(layer.weight for layer in self.hidden)]


class Learn(EmbeddingModule):
    """LEARN's Siamese similarity learner; the tower is built in ``setup`` from the datamodule's training graph."""

    def __init__(
        self,
        layers: Sequence[int] = (1000, 512, 128),
        input_mode: str = "adjacency",
        adjacency_norm: str = "mean",
        negative_slope: float = 0.01,
        loss: str = "bce",
        weight_decay_lambda: float = 1e-5,
        regularize_first_layer: bool = False,
        embed_batch_size: int = 4096,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        **evaluation: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, **evaluation)
        check_choice(loss, LOSSES, "model.loss")
        layers = [int(width) for width in layers]  # plain ints in the checkpoint's hyperparameters
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.tower: SiameseTower | None = None
        self.head = nn.Linear(int(list(layers)[-1]), 1)

    def build_for_data(self, data: dict[str, Any]) -> None:
        rowptr, col, weight = data["rowptr"], data["col"], data["weight"]
        hp = self.hparams
        self.tower = SiameseTower(
            rowptr, col, weight, hp.layers, hp.input_mode, hp.adjacency_norm, hp.negative_slope
        )

    def relation_logits(self, v: Tensor, u: Tensor) -> Tensor:
        """Each distinct vertex of the batch goes through the tower once (a 4,096-pair Cora batch names at most
        2,708 vertices, not 8,192): same values and gradients, a fraction of the dense-layer work.

        The rows are gathered with ``F.embedding``, not ``z[index]``: on the CPU the backward of advanced indexing
        (``index_put_(accumulate=True)``) sums a vertex's repeated gradients in a thread-dependent order, so two
        runs with the same seed drifted apart (ARI 0.29-0.32); the embedding backward sums in a fixed order."""
        nodes, inverse = torch.unique(torch.cat([v, u]), return_inverse=True)
        z = self.tower(nodes)
        z_v, z_u = F.embedding(inverse[: v.numel()], z), F.embedding(inverse[v.numel() :], z)
        return self.head((z_v - z_u).abs()).squeeze(-1)

    def _loss(self, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        v, u, relation = batch
        logits = self.relation_logits(v, u)
        if self.hparams.loss == "bce":
            fit = F.binary_cross_entropy_with_logits(logits, relation)
        else:
            fit = -(relation * F.logsigmoid(logits)).mean()
        return fit

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        fit = self._loss(batch)
        matrices = [*self.tower.weight_matrices(self.hparams.regularize_first_layer), self.head.weight]
        l2 = sum(w.pow(2).sum() for w in matrices)
        loss = fit + self.hparams.weight_decay_lambda * l2
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train/relation_loss", fit, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), on_step=False, on_epoch=True, prog_bar=True)

    def embed(self) -> Tensor:
        nodes = torch.arange(self.tower.num_nodes, device=self.device)
        return torch.cat([self.tower(chunk) for chunk in nodes.split(self.hparams.embed_batch_size)])

    def pair_scores(self, pairs: Tensor) -> Tensor:
        """The model's own link score: the predicted relation of the pair."""
        chunks = pairs.split(self.hparams.embed_batch_size, dim=1)
        return torch.cat([torch.sigmoid(self.relation_logits(c[0], c[1])) for c in chunks])
