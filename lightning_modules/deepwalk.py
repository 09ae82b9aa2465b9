"""DeepWalk (Perozzi et al., 2014) and node2vec (Grover & Leskovec, 2016): skip-gram on truncated random walks.

Both are baselines of LEARN (§5.2–5.3: 10 walks of length 80 per vertex, window 10, node2vec with p = q = 1, so the
two coincide there); DeepWalk is node2vec with p = q = 1. The walks are drawn on the data side, per batch of start
vertices (``datamodules.graphs.samplers.RandomWalks``: walk length, walks per vertex, p, q), and arrive as batches
``[B, L]`` (-1 padded); the module is the skip-gram model, trained with negative sampling (word2vec's SGNS): for a
pair (c, o) of vertices at most ``window`` steps apart on a walk, −log σ(z_c·z'_o) − Σ_n log σ(−z_c·z'_n), n drawn
from the degree^0.75 unigram distribution. ``embed()`` returns the input embeddings z.

``negatives_per`` selects how the loss is computed (both have the same expected value):
- ``"position"`` (default): the positive term is the banded walk-by-walk score matrix Z_walk Z'_walkᵀ (exactly the
  pairs at most ``window`` apart, both directions, padding excluded), and each walk position draws ``negatives``
  noise vertices once, weighted by its number of context pairs (≤ 2·window). ~20 s per Cora epoch on 2 idle CPU cores.
- ``"pair"``: the literal word2vec loss over the explicit pair list with ``negatives`` fresh noise
  vertices per pair; ~15× slower (~5 min per Cora epoch on 2 idle cores), kept as the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.components.embedding import EmbeddingModule
from zoo.errors import UserError, check_choice

NEGATIVES_PER = ("position", "pair")


def noise_distribution(rowptr: Tensor, weight: Tensor | None = None, power: float = 0.75) -> Tensor:
    """word2vec's / LINE's noise distribution: (weighted) degree^power, normalised (isolated vertices get 0)."""
    counts = (rowptr[1:] - rowptr[:-1]).double()
    if weight is not None:
        rows = torch.repeat_interleave(
            torch.arange(counts.numel(), device=rowptr.device), rowptr[1:] - rowptr[:-1]
        )
        counts = torch.zeros_like(counts).index_add_(0, rows, weight.double())
    probs = counts.pow(power)
    if probs.sum() <= 0:
        probs = torch.ones_like(probs)  # an edgeless graph: sample uniformly instead of failing
    return (probs / probs.sum()).float()


def sample_noise(probs: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """``count`` vertices drawn with replacement from ``probs`` (none for ``count = 0``)."""
    if count == 0:
        return torch.zeros(0, dtype=torch.long, device=probs.device)
    return torch.multinomial(probs, count, replacement=True, generator=generator)


def sgns_init_(input_embedding: nn.Embedding, context_embedding: nn.Embedding | None = None) -> None:
    """word2vec / LINE initialisation: inputs U(−0.5/d, 0.5/d), contexts zero."""
    dim = input_embedding.embedding_dim
    nn.init.uniform_(input_embedding.weight, -0.5 / dim, 0.5 / dim)
    if context_embedding is not None:
        nn.init.zeros_(context_embedding.weight)


def _seed() -> int:
    return int(torch.randint(0, 2**62, (1,)))


class NoiseRng:
    """The random streams of a sampling module, seeded from the global RNG (so ``seed=`` makes runs repeatable).

    Training restarts its stream at every epoch start from the global RNG, which ``EpochSeeding`` has just
    reseeded from (seed, epoch): a run resumed from a checkpoint replays the same walks and noise. Validation
    restarts its own stream (seeded once, at setup) every epoch, so the validation loss of different epochs is
    measured on the same walks and noise vertices.
    """

    def __init__(self) -> None:
        self.val_seed = _seed()
        self._train: torch.Generator | None = None
        self._val: torch.Generator | None = None

    def get(self, training: bool, device: torch.device) -> torch.Generator:
        if training:
            if self._train is None or self._train.device != device:
                self.restart_training(device)
            return self._train
        if self._val is None or self._val.device != device:
            self.restart_validation(device)
        return self._val

    def restart_training(self, device: torch.device) -> None:
        self._train = torch.Generator(device=device).manual_seed(_seed())

    def restart_validation(self, device: torch.device) -> None:
        self._val = torch.Generator(device=device).manual_seed(self.val_seed)


class SkipGram(EmbeddingModule):
    """DeepWalk / node2vec's skip-gram model; the tables are built in ``setup`` from the datamodule's training graph.

    The tables are ``sparse=True`` embeddings, meant for ``torch.optim.SparseAdam`` (the optimizer partial in
    config). The walks (and with them p, q and the walk length) come from the datamodule's samples.
    """

    def __init__(
        self,
        dim: int = 128,
        window: int = 10,
        negatives: int = 5,
        negatives_per: str = "position",
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        **evaluation: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, **evaluation)
        check_choice(negatives_per, NEGATIVES_PER, "model.negatives_per")
        for name, value in (("dim", dim), ("window", window)):
            if value < 1:
                raise UserError(
                    f"{name}={value} must be ≥ 1", where=f"model.{name}", fix="a positive integer"
                )
        if negatives < 0:
            raise UserError(f"negatives={negatives} must be ≥ 0", where="model.negatives", fix="e.g. 5")
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.input: nn.Embedding | None = None
        self.context: nn.Embedding | None = None
        self.rng: NoiseRng | None = None

    def build_for_data(self, data: dict[str, Any]) -> None:
        rowptr, weight, weighted = data["rowptr"], data["weight"], bool(data["weighted"])
        num_nodes, dim = rowptr.numel() - 1, self.hparams.dim
        self.register_buffer(
            "noise", noise_distribution(rowptr, weight if weighted else None), persistent=False
        )
        self.input = nn.Embedding(num_nodes, dim, sparse=True)
        self.context = nn.Embedding(num_nodes, dim, sparse=True)
        sgns_init_(self.input, self.context)
        self.rng = NoiseRng()

    # ---- noise ----------------------------------------------------------------------------------------------
    def sample_noise(self, count: int, generator: torch.Generator) -> Tensor:
        return sample_noise(self.noise, count, generator)

    # ---- losses ---------------------------------------------------------------------------------------------
    def band_terms(self, walks: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Positive log-likelihood summed over the skip-gram pairs of ``walks`` (``[S, L]``, −1 padded).

        Returns (Σ log σ(z_c·z'_o), pairs per walk position [S, L], input embeddings of the walks [S, L, d],
        number of pairs). The pairs are those of the data side's ``skipgram_pairs``: positions 1..window apart,
        both valid.
        """
        return self._band_terms(walks, self.context(walks.clamp_min(0)))

    def band_mask(self, walks: Tensor) -> Tensor:
        """``[S, L, L]``: positions i, j of a walk form a skip-gram pair (1..window apart, both not padding)."""
        valid = walks >= 0
        idx = torch.arange(walks.shape[1], device=walks.device)
        gap = (idx[:, None] - idx[None, :]).abs()
        band = (gap >= 1) & (gap <= self.hparams.window)
        return band & valid[:, :, None] & valid[:, None, :]

    def _band_terms(self, walks: Tensor, z_ctx: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        z = self.input(walks.clamp_min(0))
        scores = torch.bmm(z, z_ctx.transpose(1, 2))
        mask = self.band_mask(walks)
        positive = F.logsigmoid(scores).masked_fill(~mask, 0.0).sum()
        per_position = mask.sum(2)
        return positive, per_position, z, per_position.sum()

    def loss(self, walks: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Mean SGNS loss per skip-gram pair of ``walks`` (``[S, L]``, -1 padded), and the number of pairs."""
        k = self.hparams.negatives
        if self.hparams.negatives_per == "position":
            # one context lookup for walk and noise vertices: a single sparse gradient instead of a sum of two
            noise = self.sample_noise(walks.numel() * k, generator).view(*walks.shape, k)
            z_ctx = self.context(torch.cat([walks.clamp_min(0).flatten(), noise.flatten()]))
            z_walk, z_noise = z_ctx.split([walks.numel(), noise.numel()])
            positive, per_position, z, pairs = self._band_terms(walks, z_walk.view(*walks.shape, -1))
            noise_scores = torch.einsum("sld,slkd->slk", z, z_noise.view(*noise.shape, z.shape[-1]))
            negative = (F.logsigmoid(-noise_scores).sum(-1) * per_position).sum()
        else:
            walk, i, j = self.band_mask(walks).nonzero(as_tuple=True)  # the explicit (center, context) list
            center, context = walks[walk, i], walks[walk, j]
            z = self.input(center)
            positive = F.logsigmoid((z * self.context(context)).sum(-1)).sum()
            noise = self.sample_noise(center.numel() * k, generator).view(center.numel(), k)
            negative = F.logsigmoid(-torch.einsum("pd,pkd->pk", z, self.context(noise))).sum()
            pairs = torch.tensor(center.numel(), device=z.device)
        return -(positive + negative) / pairs.clamp_min(1), pairs

    def training_step(self, batch: tuple[Tensor], batch_idx: int) -> Tensor:
        loss, pairs = self.loss(batch[0], self.rng.get(True, self.device))
        self.log(
            "train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=max(int(pairs), 1)
        )
        return loss

    def on_train_epoch_start(self) -> None:
        self.rng.restart_training(self.device)

    def on_validation_epoch_start(self) -> None:
        self.rng.restart_validation(self.device)

    def validation_step(self, batch: tuple[Tensor], batch_idx: int) -> None:
        loss, pairs = self.loss(batch[0], self.rng.get(False, self.device))
        self.log("val/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=max(int(pairs), 1))

    def embed(self) -> Tensor:
        return self.input.weight
