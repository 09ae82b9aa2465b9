"""SDNE (Wang, Cui & Zhu, KDD 2016): structural deep network embedding, a deep autoencoder of adjacency rows.

A baseline of LEARN (§5.3: α = 0.2, β = 10, "the same number of neurons in each layer of autoencoder as our
method", i.e. an encoder 1000-512-128 and its mirror as decoder). For a batch of vertices with adjacency rows x_i
(of the *training* graph) and embeddings y_i = encoder(x_i):

    L = Σ_i ‖(x̂_i − x_i) ⊙ b_i‖²  +  α Σ_{i,j in batch} s_ij ‖y_i − y_j‖²  +  ν/2 Σ_k ‖W_k‖²_F

- second order: x̂_i = decoder(y_i), b_ij = β where s_ij > 0 and 1 elsewhere;
- first order: over the ordered pairs of the batch (both directions of an edge, weight s_ij), i.e. 2 tr(YᵀLY)
  with L the Laplacian of the batch's adjacency block (SDNE's eq. 4 and its Laplacian form);
- L2 on every weight matrix of encoder and decoder (biases excluded), ν/2 as in SDNE's L_reg.
The losses are sums over the batch, as in SDNE. The encoder's first layer reads the sparse adjacency row through an
``EmbeddingBag`` (no dense |V|-wide input matmul; initialised as ``nn.Linear(|V|, h)`` would be); the decoder's last
layer is a dense |V|-wide output, inherent to the reconstruction. ``embed()`` = the encoder output.

Activation (``activation``, on every layer, the embedding and the reconstruction included): SDNE uses sigmoids
and pre-trains the autoencoder as a deep belief network. Without that pre-training the sigmoid network collapses
here (every vertex gets the same code; Cora k-means NMI 0.02-0.04 after 5-20 epochs, Adam 1e-3 or 5e-3), while
the zero-centred ``tanh`` trains (Cora NMI 0.23 after 5-10 epochs, 0.12 after 20 as the reconstruction
overfits); ``tanh`` is therefore the default and ``sigmoid`` remains available as the literal choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from lightning_modules.components.adjacency_input import AdjacencyInput
from lightning_modules.components.embedding import EmbeddingModule
from zoo.errors import UserError, check_choice

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


class Sdne(EmbeddingModule):
    """SDNE's autoencoder; the |V|-wide first and last layers are built in ``setup`` from the training graph."""

    def __init__(
        self,
        layers: Sequence[int] = (1000, 512, 128),
        alpha: float = 0.2,
        beta: float = 10.0,
        nu: float = 1e-5,
        activation: str = "tanh",
        embed_batch_size: int = 4096,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        **evaluation: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, **evaluation)
        check_choice(activation, ACTIVATIONS, "model.activation")
        widths = [int(w) for w in layers]
        if not widths or min(widths) < 1:
            raise UserError(
                f"layers={list(layers)} needs ≥ 1 positive width",
                where="model.layers",
                fix="[1000, 512, 128]",
            )
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.widths = widths
        self.act = ACTIVATIONS[activation]
        self.first: AdjacencyInput | None = None
        # the width-independent middle layers exist from the start (the |V|-wide ends need the graph)
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=False))
        back = widths[::-1]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=False))
        self.output: nn.Linear | None = None

    def build_for_data(self, data: dict[str, Any]) -> None:
        rowptr, col, weight = data["rowptr"], data["col"], data["weight"]
        self.first = AdjacencyInput(rowptr, col, weight, self.widths[0])
        num_nodes = self.first.num_nodes
        bound = 1.0 / max(num_nodes, 1) ** 0.5  # nn.Linear(num_nodes, width)'s default initialisation
        nn.init.uniform_(self.first.weight, -bound, bound)
        nn.init.uniform_(self.first.bias, -bound, bound)
        self.output = nn.Linear(self.widths[0], num_nodes)

    @property
    def num_nodes(self) -> int:
        return self.first.num_nodes

    def encode(self, nodes: Tensor) -> Tensor:
        h = self.act(self.first(nodes))
        for layer in self.encoder:
            h = self.act(layer(h))
        return h

    def decode(self, y: Tensor) -> Tensor:
        for layer in self.decoder:
            y = self.act(layer(y))
        return self.act(self.output(y))

    def weight_matrices(self) -> list[Tensor]:
        return [
            self.first.weight,
            *(m.weight for m in self.encoder),
            *(m.weight for m in self.decoder),
            self.output.weight,
        ]

    def loss_terms(self, nodes: Tensor) -> dict[str, Tensor]:
        """The three terms of L for a batch of vertices, unweighted (α and ν are applied in ``loss``)."""
        x = self.first.dense_rows(nodes)  # the reconstruction target
        y = self.encode(nodes)
        x_hat = self.decode(y)
        b = torch.where(x != 0, torch.full_like(x, self.hparams.beta), torch.ones_like(x))
        second = ((x_hat - x) * b).pow(2).sum()
        s = x[:, nodes]  # the batch's adjacency block (ordered pairs)
        sq = y.pow(2).sum(1)
        distances = (sq[:, None] + sq[None, :] - 2.0 * y @ y.T).clamp_min(0.0)
        first = (s * distances).sum()
        reg = 0.5 * sum(w.pow(2).sum() for w in self.weight_matrices())
        return {"second_order": second, "first_order": first, "l2": reg}

    def loss(self, terms: dict[str, Tensor]) -> Tensor:
        hp = self.hparams
        return terms["second_order"] + hp.alpha * terms["first_order"] + hp.nu * terms["l2"]

    def _step(self, nodes: Tensor, stage: str) -> Tensor:
        terms = self.loss_terms(nodes)
        loss = self.loss(terms)
        size = nodes.numel()
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=size)
        for name, value in terms.items():
            self.log(f"{stage}/{name}_loss", value, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def training_step(self, batch: tuple[Tensor], batch_idx: int) -> Tensor:
        return self._step(batch[0], "train")

    def validation_step(self, batch: tuple[Tensor], batch_idx: int) -> None:
        self._step(batch[0], "val")

    def embed(self) -> Tensor:
        nodes = torch.arange(self.num_nodes, device=self.device)
        return torch.cat([self.encode(chunk) for chunk in nodes.split(self.hparams.embed_batch_size)])
