"""GraphDataModule: clustering and link-prediction setups, seeded samples, split cache, argument checks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from datamodules.graphs import EdgeSplit, Graph, GraphDataModule, datamodule
from zoo.errors import UserError


def _edge_samples(graph: Graph, generator: torch.Generator) -> TensorDataset:
    """A tiny stand-in for a method's samples: each stored edge once, in a seeded random order."""
    perm = torch.randperm(graph.edge_index.shape[1], generator=generator)
    return TensorDataset(graph.edge_index.t()[perm])


def test_datamodule_clustering(
    graphs_root: Path, cache_dir: Path, loaded: dict[str, Graph], caplog: pytest.LogCaptureFixture
) -> None:
    dm = GraphDataModule(
        "Cora", str(graphs_root), str(cache_dir), samples=_edge_samples, batch_size=512, samples_seed=0
    )
    assert dm.num_nodes == 2_708 and dm.num_classes == 7  # known before setup
    with caplog.at_level(logging.WARNING, logger="datamodules.graphs"):
        dm.setup("fit")
    assert "Table 1" in caplog.text and "5,429" in caplog.text
    assert dm.edge_split is None and dm.train_graph is dm.graph
    assert torch.equal(dm.labels, loaded["cora"].labels) and dm.num_classes == 7
    n = 10_556
    assert len(dm.train_dataset) == n - round(0.1 * n) and len(dm.val_dataset) == round(0.1 * n)
    train_rows = {tuple(row) for row in dm.train_dataset.tensors[0].tolist()}
    val_rows = {tuple(row) for row in dm.val_dataset.tensors[0].tolist()}
    assert train_rows.isdisjoint(val_rows) and len(train_rows) + len(val_rows) == n
    assert train_rows | val_rows == {tuple(row) for row in dm.graph.edge_index.t().tolist()}
    epoch = [batch for (batch,) in dm.train_dataloader()]  # whole batches gathered at once, shuffled
    assert epoch[0].shape == (512, 2) and sum(len(b) for b in epoch) == len(train_rows)
    assert {tuple(row) for row in torch.cat(epoch).tolist()} == train_rows
    assert sum(b[0].shape[0] for b in dm.val_dataloader()) == round(0.1 * n)
    assert next(iter(dm.test_dataloader())).tolist() == [0] and len(dm.test_dataloader()) == 1
    summary = dm.dataset_summary()
    assert summary["stats"]["undirected_edges"] == 5_278 and summary["samples"]["val"] == round(0.1 * n)


@pytest.mark.parametrize(("min_steps", "batch"), [(None, 4096), (2, 4096), (100, 95)])
def test_small_sample_sets_get_at_least_min_steps_per_epoch(
    graphs_root: Path, cache_dir: Path, min_steps: int | None, batch: int
) -> None:
    """Cora's 10,556 edge samples (9,500 train) at batch 4,096 are 3 steps an epoch; asked for 100, the batch
    shrinks to ceil(9,500 / 100) = 95; a request the ceiling already meets changes nothing."""
    dm = GraphDataModule(
        "Cora",
        str(graphs_root),
        str(cache_dir),
        samples=_edge_samples,
        batch_size=4096,
        min_steps_per_epoch=min_steps,
        samples_seed=0,
    )
    dm.setup("fit")
    assert dm.batch_size == batch and dm.dataset_summary()["batch_size"] == batch
    assert len(dm.train_dataloader()) >= (min_steps or 1)


def test_a_null_split_seed_follows_the_run_seed(graphs_root: Path, cache_dir: Path) -> None:
    """The link-prediction records re-draw the hidden edges with every seed (the paper's repeats)."""

    def hidden(run_seed: int, split_seed: int | None) -> torch.Tensor:
        torch.manual_seed(run_seed)
        dm = GraphDataModule(
            "wiki", str(graphs_root), str(cache_dir), task="link_prediction", split_seed=split_seed
        )
        dm.setup("test")
        return dm.edge_split.test_pos

    assert not torch.equal(hidden(0, None), hidden(1, None))
    assert torch.equal(hidden(0, None), hidden(0, None))
    assert torch.equal(hidden(0, 7), hidden(1, 7))


def test_datamodule_samples_are_seeded(graphs_root: Path, cache_dir: Path) -> None:
    def make(seed: int) -> GraphDataModule:
        dm = GraphDataModule(
            "wiki", str(graphs_root), str(cache_dir), samples=_edge_samples, samples_seed=seed
        )
        dm.setup("fit")
        return dm

    first, again, other = make(0), make(0), make(1)
    assert torch.equal(first.train_dataset[0][0], again.train_dataset[0][0])
    rows = range(20)
    assert [first.train_dataset[i][0].tolist() for i in rows] != [
        other.train_dataset[i][0].tolist() for i in rows
    ]


def test_datamodule_link_prediction_caches_the_split(
    graphs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Graph] = []

    def samples(graph: Graph, generator: torch.Generator) -> TensorDataset:
        seen.append(graph)
        return _edge_samples(graph, generator)

    kwargs = {"task": "link_prediction", "keep_connected": True, "samples": samples, "val_fraction": 0.1}
    dm = GraphDataModule("wiki", str(graphs_root), str(tmp_path), **kwargs)
    dm.setup("fit")
    split = dm.edge_split
    assert split is not None and split.test_pos.shape == (2, 5_798)
    assert dm.train_graph is split.train_graph and seen[0] is split.train_graph
    assert dm.train_graph.num_undirected_edges == 11_596 - 5_798
    assert len(dm.train_dataset) + len(dm.val_dataset) == 2 * (11_596 - 5_798)
    assert dm.split_cache is not None and dm.split_cache.is_file()
    assert dm.dataset_summary()["split"]["train_components"] == 45

    def no_split(*args: object, **kwargs: object) -> EdgeSplit:
        raise AssertionError("split_edges ran although the split is cached")

    monkeypatch.setattr(datamodule, "split_edges", no_split)
    cached = GraphDataModule("wiki", str(graphs_root), str(tmp_path), **kwargs)
    cached.setup("fit")
    for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
        assert torch.equal(getattr(cached.edge_split, name), getattr(split, name))
    assert torch.equal(cached.train_graph.edge_index, split.train_graph.edge_index)
    other_seed = GraphDataModule("wiki", str(graphs_root), str(tmp_path), split_seed=1, **kwargs)
    with pytest.raises(AssertionError, match="cached"):  # a different key never reuses the cache
        other_seed.setup("fit")


def test_datamodule_without_samples_and_bad_arguments(graphs_root: Path, cache_dir: Path) -> None:
    dm = GraphDataModule("cora", str(graphs_root), str(cache_dir))
    dm.setup("fit")
    with pytest.raises(UserError, match="data.samples"):
        dm.train_dataloader()
    with pytest.raises(UserError, match="data.samples"):
        dm.val_dataloader()
    assert len(dm.test_dataloader()) == 1
    with pytest.raises(UserError, match="data.task"):
        GraphDataModule("cora", str(graphs_root), str(cache_dir), task="classification")
    with pytest.raises(UserError, match="data.hide_fraction"):
        GraphDataModule("cora", str(graphs_root), str(cache_dir), hide_fraction=0)
    with pytest.raises(UserError, match="data.dataset"):
        GraphDataModule("pubmed", str(graphs_root), str(cache_dir))
    with pytest.raises(RuntimeError, match="setup"):
        _ = GraphDataModule("cora", str(graphs_root), str(cache_dir)).graph


def test_datamodule_warns_when_the_split_strands_nodes(
    graphs_root: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dm = GraphDataModule("cora", str(graphs_root), str(cache_dir), task="link_prediction")
    with caplog.at_level(logging.WARNING, logger="datamodules.graphs"):
        dm.setup("test")
    assert "without any training edge" in caplog.text
    assert dm.edge_split.test_pos.shape == (2, 2_639) and dm.train_graph is dm.edge_split.train_graph
    assert dm.train_graph.num_undirected_edges == 5_278 - 2_639


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("hide_fraction", "x"),
        ("hide_fraction", None),
        ("hide_fraction", 1),
        ("val_fraction", "x"),
        ("val_fraction", float("nan")),
        ("split_seed", "x"),
        ("split_seed", -1),
        ("samples_seed", "x"),
        ("min_steps_per_epoch", 0),
        ("root", None),
        ("cache_dir", None),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_key(key: str, bad: object, tmp_path: Path) -> None:
    kwargs = {"dataset": "cora", "root": str(tmp_path), "cache_dir": str(tmp_path)} | {key: bad}
    with pytest.raises(UserError, match=f"data.{key}"):
        GraphDataModule(**kwargs)
