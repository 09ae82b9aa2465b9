"""DeepWalk / node2vec: the data side's walk corpus, the banded skip-gram loss against the pair list, noise ∝ degree^0.75, learning.

The two-clique graph and the fake trainer defined here are shared with ``test_line.py`` and ``test_sdne.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from datamodules.graphs.samplers import RandomWalks, SeededBatches, WalkCorpus
from datamodules.graphs.sampling import random_walks, skipgram_pairs
from lightning_modules.deepwalk import SkipGram, noise_distribution
from zoo.errors import UserError

CONF = Path(__file__).resolve().parents[2] / "conf"


def csr_from_edges(num_nodes: int, edges: list[tuple[int, int]], weights: list[float] | None = None):
    """Symmetric CSR (rowptr, col, weight) of an undirected edge list."""
    u = torch.tensor([a for a, _ in edges] + [b for _, b in edges])
    v = torch.tensor([b for _, b in edges] + [a for a, _ in edges])
    w = torch.tensor((weights or [1.0] * len(edges)) * 2, dtype=torch.float32)
    order = torch.argsort(u * num_nodes + v)
    u, v, w = u[order], v[order], w[order]
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    rowptr[1:] = torch.cumsum(torch.bincount(u, minlength=num_nodes), 0)
    return rowptr, v, w


class FakeGraph:
    """The part of ``datamodules.graphs.Graph`` the baselines read."""

    def __init__(
        self, num_nodes: int, edges: list[tuple[int, int]], weights: list[float] | None = None
    ) -> None:
        self.num_nodes, self.weighted = num_nodes, weights is not None
        self.csr = csr_from_edges(num_nodes, edges, weights)

    def to_csr(self):
        return self.csr


def two_cliques(size: int = 6) -> FakeGraph:
    """Two K_size joined by a single edge; community of node i = i // size."""
    edges = [(a + o, b + o) for o in (0, size) for a in range(size) for b in range(a + 1, size)]
    return FakeGraph(2 * size, [*edges, (size - 1, size)])


def communities(size: int = 6) -> torch.Tensor:
    return torch.arange(2 * size) // size


def attach(module: pl.LightningModule, graph: FakeGraph) -> pl.LightningModule:
    """Size the module by the graph through the explicit data hook, as the pipeline does."""
    rowptr, col, weight = graph.to_csr()
    module.configure_for_data({"rowptr": rowptr, "col": col, "weight": weight, "weighted": graph.weighted})
    return module


def separation(z: torch.Tensor, groups: torch.Tensor) -> tuple[float, float]:
    """Mean cosine similarity within and across communities (self-pairs excluded)."""
    sim = F.normalize(z, dim=1) @ F.normalize(z, dim=1).T
    same = groups[:, None] == groups[None, :]
    off = ~torch.eye(len(groups), dtype=torch.bool)
    return float(sim[same & off].mean()), float(sim[~same].mean())


class GraphData(pl.LightningDataModule):
    """A minimal stand-in for ``GraphDataModule``: a training graph and the samples factory's loaders."""

    def __init__(self, graph: FakeGraph, samples, batch_size: int = 16) -> None:
        super().__init__()
        self.train_graph, self.batch_size = graph, batch_size
        self.dataset = samples(graph, torch.Generator().manual_seed(0))

    def _loader(self, train: bool) -> DataLoader:
        if isinstance(self.dataset, WalkCorpus):  # walks are drawn per batch, as GraphDataModule does
            order = (RandomSampler if train else SequentialSampler)(self.dataset)
            batches = SeededBatches(order, self.batch_size, None if train else 0)
            return DataLoader(self.dataset, sampler=batches, batch_size=None)
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=train)

    def train_dataloader(self) -> DataLoader:
        return self._loader(train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(train=False)


def fit_briefly(module: pl.LightningModule, data: GraphData, epochs: int = 2) -> dict[str, float]:
    """A real (tiny) Lightning fit: hooks, logging and the configured optimiser work together."""
    if module.data_description is None:  # the pipeline's data hook
        attach(module, data.train_graph)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, datamodule=data)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def skipgram(**kwargs) -> SkipGram:
    defaults = {"dim": 8, "window": 3}
    return attach(SkipGram(**{**defaults, **kwargs}), two_cliques())


def walks_of(starts: torch.Tensor, generator: torch.Generator, length: int = 10, **kwargs) -> torch.Tensor:
    rowptr, col, _ = two_cliques().to_csr()
    return random_walks(rowptr, col, starts, length, generator, **kwargs)


# ---- samples factory ----------------------------------------------------------------------------------------


def test_walk_corpus_starts_every_node_num_walks_times_and_draws_seeded_walks() -> None:
    corpus = RandomWalks(num_walks=3, walk_length=4)(two_cliques(), torch.Generator())
    assert len(corpus) == 36
    assert torch.equal(torch.bincount(corpus.starts), torch.full((12,), 3))
    indices = torch.tensor([0, 5, 17])
    (walks,) = corpus[indices, 7]
    assert walks.shape == (3, 5) and torch.equal(walks[:, 0], corpus.starts[indices])
    assert torch.equal(walks, corpus[indices, 7][0])  # a batch's walks depend on its seed alone
    assert torch.equal(corpus.subset(indices).starts, corpus.starts[indices])
    for bad in ({"num_walks": 0}, {"walk_length": 0}, {"p": 0.0}, {"q": float("inf")}):
        with pytest.raises(UserError, match=next(iter(bad))):
            RandomWalks(**bad)


def test_p_q_reach_the_walker(monkeypatch: pytest.MonkeyPatch) -> None:
    import datamodules.graphs.samplers as samplers

    seen = {}
    real = samplers.random_walks

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(samplers, "random_walks", spy)
    RandomWalks(num_walks=1, walk_length=3, p=0.5, q=2.0)(two_cliques(), torch.Generator())[
        torch.arange(4), 0
    ]
    assert seen["p"] == 0.5 and seen["q"] == 2.0 and seen["weight"] is None


def test_seeded_batches_draw_the_epoch_seed_lazily_from_the_global_rng() -> None:
    batches = SeededBatches(SequentialSampler(range(10)), 4, None)
    torch.manual_seed(3)  # what the EpochSeeding callback does at every epoch start
    first = list(batches)
    torch.manual_seed(3)
    assert [s for _, s in first] == [s for _, s in batches]
    assert [i.tolist() for i, _ in first] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    fixed = SeededBatches(SequentialSampler(range(10)), 4, 11)
    assert [s for _, s in fixed] == [s for _, s in fixed]


# ---- loss ---------------------------------------------------------------------------------------------------


def test_banded_positive_term_is_the_skipgram_pair_list() -> None:
    module = skipgram(window=3)
    torch.nn.init.normal_(module.input.weight)
    torch.nn.init.normal_(module.context.weight)
    walks = torch.tensor(
        [[0, 1, 2, 3, 4, 5, 4, 3], [7, 8, -1, -1, -1, -1, -1, -1], [9, -1, -1, -1, -1, -1, -1, -1]]
    )
    positive, per_position, z, pairs = module.band_terms(walks)
    center, context = skipgram_pairs(walks, 3)
    expected = F.logsigmoid((module.input(center) * module.context(context)).sum(-1)).sum()
    torch.testing.assert_close(positive, expected)
    assert int(pairs) == center.numel() == int(per_position.sum())
    # each position's weight is its number of context pairs: summed per vertex, the centre counts of the list
    per_vertex = torch.zeros(12, dtype=torch.long).index_add_(0, walks[walks >= 0], per_position[walks >= 0])
    assert torch.equal(per_vertex, torch.bincount(center, minlength=12))
    assert per_position[0].tolist() == [3, 4, 5, 6, 6, 5, 4, 3]
    assert per_position[1, :2].tolist() == [1, 1] and per_position[2].sum() == 0
    assert z.shape == (3, 8, 8)


@pytest.mark.parametrize("negatives_per", ["position", "pair"])
def test_loss_is_mean_sgns_per_pair(negatives_per: str) -> None:
    """With negatives = 0 both modes reduce to −mean log σ(z_c·z'_o) over the pair list."""
    module = skipgram(negatives=0, negatives_per=negatives_per)
    torch.nn.init.normal_(module.input.weight)
    torch.nn.init.normal_(module.context.weight)
    walks = walks_of(torch.arange(12), torch.Generator().manual_seed(3))
    loss, pairs = module.loss(walks, torch.Generator().manual_seed(3))
    center, context = skipgram_pairs(walks, module.hparams.window)
    expected = -F.logsigmoid((module.input(center) * module.context(context)).sum(-1)).mean()
    torch.testing.assert_close(loss, expected)
    assert int(pairs) == center.numel()


def test_noise_distribution_is_degree_to_the_three_quarters() -> None:
    star = FakeGraph(6, [(0, 1), (0, 2), (0, 3), (0, 4), (4, 5)])
    rowptr, _, weight = star.to_csr()
    degree = torch.tensor([4.0, 1, 1, 1, 2, 1])
    torch.testing.assert_close(noise_distribution(rowptr), degree**0.75 / (degree**0.75).sum())
    weighted = noise_distribution(rowptr, weight * 2.0)
    torch.testing.assert_close(weighted, (2 * degree) ** 0.75 / ((2 * degree) ** 0.75).sum())
    # the module's draws follow it (statistical check, ~5 standard errors)
    module = attach(SkipGram(dim=4, window=1), star)
    n = 200_000
    draws = module.sample_noise(n, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=6).double() / n
    probs = noise_distribution(rowptr).double()
    assert (freq - probs).abs().max() < 5 * (probs * (1 - probs) / n).sqrt().max()
    isolated = noise_distribution(torch.tensor([0, 0, 1, 2]))  # node 0 has no edges: never a noise vertex
    assert isolated[0] == 0


def test_runs_are_seed_deterministic() -> None:
    losses = []
    for _ in range(2):
        torch.manual_seed(7)
        module = skipgram()
        walks = walks_of(torch.arange(12), torch.Generator().manual_seed(7), p=0.5, q=2.0)
        losses.append(module.loss(walks, module.rng.get(True, module.device))[0])
    torch.testing.assert_close(losses[0], losses[1])


def test_noise_streams_restart_per_epoch_for_resumable_runs() -> None:
    module = skipgram()
    draws = []
    for _ in range(2):
        torch.manual_seed(3)  # what the EpochSeeding callback does at every epoch start
        module.on_train_epoch_start()
        draws.append(module.sample_noise(50, module.rng.get(True, module.device)))
        module.on_validation_epoch_start()  # validation replays the same noise every epoch
        draws.append(module.sample_noise(50, module.rng.get(False, module.device)))
    assert torch.equal(draws[0], draws[2]) and torch.equal(draws[1], draws[3])
    assert not torch.equal(draws[0], draws[1])


def test_invalid_arguments() -> None:
    with pytest.raises(UserError, match="negatives_per"):
        SkipGram(negatives_per="walk")
    with pytest.raises(UserError, match="window"):
        SkipGram(window=0)


# ---- learning -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("negatives_per", ["position", "pair"])
def test_skipgram_separates_two_cliques(negatives_per: str) -> None:
    torch.manual_seed(0)
    module = skipgram(dim=16, window=4, negatives_per=negatives_per)
    optimizer = torch.optim.SparseAdam(module.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(0)
    starts = torch.arange(12)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss, _ = module.loss(walks_of(starts, generator), generator)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) < 0.7 * sum(losses[:5])
    within, across = separation(module.embed().detach(), communities())
    assert within > across + 0.5, (within, across)


def test_fit_with_the_configured_sparse_adam() -> None:
    cfg = OmegaConf.load(CONF / "model" / "deepwalk.yaml")
    cfg.update({"dim": 8, "window": 3})
    torch.manual_seed(0)
    module = instantiate(cfg)
    metrics = fit_briefly(module, GraphData(two_cliques(), RandomWalks(num_walks=2, walk_length=10)))
    assert isinstance(module.configure_optimizers(), torch.optim.SparseAdam)
    assert torch.isfinite(torch.tensor(metrics["train/loss"])) and "val/loss" in metrics
    assert module.embed().shape == (12, 8)


def test_node2vec_is_deepwalk_with_explicit_p_q_on_the_walks() -> None:
    deepwalk, node2vec = (
        OmegaConf.load(CONF / "model" / f"{name}.yaml") for name in ("deepwalk", "node2vec")
    )
    merged = OmegaConf.merge(deepwalk, node2vec)
    merged.pop("defaults", None)
    assert merged == deepwalk  # the same model; p and q shape the walks, in data.samples
    for name in ("node2vec_cora_clustering", "node2vec_wiki_linkpred"):
        samples = OmegaConf.load(CONF / "experiment" / f"{name}.yaml").data.samples
        assert samples._target_.endswith("RandomWalks") and samples.p == 1.0 and samples.q == 1.0
