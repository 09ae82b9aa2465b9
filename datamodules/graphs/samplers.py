"""The methods' training samples (``data.samples``): what each embedding method trains on, drawn on the data side.

Every sampler is a factory ``(train_graph, generator) -> Dataset`` that ``GraphDataModule`` calls once at setup;
the methods stay models and only read batches. LEARN's pairs, LINE's edges and SDNE's vertex batches are fixed
tensors; DeepWalk / node2vec walks are drawn per batch (BlogCatalog would otherwise need ~165M materialised
skip-gram pairs): ``WalkCorpus`` holds the walk starts and draws each batch's walks from a generator seeded by the
batch's own seed, which ``SeededBatches`` hands out with the indices (worker-safe, and a resumed run replays it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, Dataset, Sampler, TensorDataset

from datamodules.graphs.sampling import learn_pairs, random_walks
from datamodules.pointclouds import derive_seed
from zoo.errors import UserError
from zoo.pair_keys import csr_rows


class LearnPairs:
    """LEARN: vertex-domination pairs (v, u, R) of the training graph (``sampling.learn_pairs``)."""

    def __init__(
        self,
        num_walks: int = 20,
        walk_length: int = 6,
        alpha: float = 0.8,
        negatives_per_positive: int = 1,
        weight_scale: str = "max",
    ):
        self.num_walks, self.walk_length, self.alpha = num_walks, walk_length, alpha
        self.negatives_per_positive, self.weight_scale = negatives_per_positive, weight_scale

    def __call__(self, graph: Any, generator: torch.Generator) -> Dataset:
        rowptr, col, weight = graph.to_csr()
        pairs = learn_pairs(
            rowptr,
            col,
            num_walks=self.num_walks,
            walk_length=self.walk_length,
            alpha=self.alpha,
            generator=generator,
            weight=weight if graph.weighted else None,
            weight_scale=self.weight_scale,
            negatives_per_positive=self.negatives_per_positive,
        )
        return TensorDataset(pairs["v"], pairs["u"], pairs["relation"].float())


class LineEdges:
    """LINE: the training graph's directed edges (src, dst, weight); unweighted graphs get weight 1."""

    def __call__(self, graph: Any, generator: torch.Generator) -> Dataset:
        rowptr, col, weight = graph.to_csr()
        weight = weight.float() if getattr(graph, "weighted", False) else torch.ones(col.numel())
        return TensorDataset(csr_rows(rowptr), col, weight)


class NodeBatches:
    """SDNE: the vertex ids of the training graph (the module reads their adjacency rows)."""

    def __call__(self, graph: Any, generator: torch.Generator) -> Dataset:
        return TensorDataset(torch.arange(graph.num_nodes))


class RandomWalks:
    """DeepWalk / node2vec: ``num_walks`` truncated walks of ``walk_length`` steps from every vertex.

    ``p``/``q`` are node2vec's return / in-out parameters (p = q = 1 is DeepWalk's first-order walk);
    ``weighted`` follows the edge weights of a weighted graph.
    """

    def __init__(
        self,
        num_walks: int = 10,
        walk_length: int = 80,
        p: float = 1.0,
        q: float = 1.0,
        weighted: bool = True,
    ) -> None:
        for name, value in (("num_walks", num_walks), ("walk_length", walk_length)):
            if int(value) < 1:
                raise UserError(f"{name}={value} must be ≥ 1", where=f"data.samples.{name}", fix="e.g. 10")
        for name, value in (("p", p), ("q", q)):
            if not 0 < float(value) < float("inf"):
                raise UserError(
                    f"{name}={value} must be a positive finite number",
                    where=f"data.samples.{name}",
                    fix="e.g. 1",
                )
        self.num_walks, self.walk_length = int(num_walks), int(walk_length)
        self.p, self.q, self.weighted = float(p), float(q), bool(weighted)

    def __call__(self, graph: Any, generator: torch.Generator) -> Dataset:
        rowptr, col, weight = graph.to_csr()
        walk_weight = weight.float() if self.weighted and getattr(graph, "weighted", False) else None
        starts = torch.arange(graph.num_nodes).repeat(self.num_walks)
        return WalkCorpus(starts, (rowptr, col, walk_weight), self.walk_length, self.p, self.q)


class WalkCorpus(Dataset):
    """Walk starts whose walks ``[B, walk_length + 1]`` (-1 padded after a dead end) are drawn per batch.

    Indexed by ``(indices, seed)`` (``SeededBatches``' items): the batch's walks come from a generator seeded
    with ``seed``, so they depend on neither the worker nor the batches drawn before.
    """

    def __init__(
        self, starts: Tensor, csr: tuple[Tensor, Tensor, Tensor | None], walk_length: int, p: float, q: float
    ) -> None:
        self.starts, self.csr = starts, csr
        self.walk_length, self.p, self.q = walk_length, p, q

    def __len__(self) -> int:
        return self.starts.numel()

    def __getitem__(self, key: tuple[Tensor, int]) -> tuple[Tensor]:
        indices, seed = key
        rowptr, col, weight = self.csr
        generator = torch.Generator().manual_seed(seed)
        walks = random_walks(
            rowptr, col, self.starts[indices], self.walk_length, generator, weight=weight, p=self.p, q=self.q
        )
        return (walks,)

    def subset(self, indices: Tensor) -> WalkCorpus:
        return WalkCorpus(self.starts[indices], self.csr, self.walk_length, self.p, self.q)


class SeededBatches(Sampler):
    """Index batches, each paired with a seed of its own for the walks it draws.

    ``seed=None`` (training) draws the epoch's seed from the global RNG lazily, when iteration starts, i.e. after
    ``EpochSeeding`` has reseeded it from (seed, epoch): a resumed epoch replays the same walks. A fixed ``seed``
    (validation) measures every epoch on the same walks.
    """

    def __init__(self, order: Sampler, batch_size: int, seed: int | None) -> None:
        self.batches, self.seed = BatchSampler(order, batch_size, drop_last=False), seed

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[Tensor, int]]:
        epoch_seed = self.seed if self.seed is not None else int(torch.randint(0, 2**62, (1,)))
        for i, batch in enumerate(self.batches):
            yield torch.as_tensor(batch), derive_seed("walk-batch", epoch_seed, i)
