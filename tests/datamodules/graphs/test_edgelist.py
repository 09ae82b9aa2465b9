"""A user's own graph (data.dataset=edgelist): names renumbered, weights kept, labels read, bad files named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from datamodules.graphs import GraphDataModule
from datamodules.graphs.samplers import LearnPairs
from tests.lightning_modules.test_learn import planted_partition
from zoo.errors import UserError


def write_planted_graph(folder: Path, weighted: bool = True) -> tuple[Path, Path]:
    """The planted partition of the LEARN tests as files with string names ("v007") and string labels."""
    rowptr, col, weight, labels = planted_partition()
    src = torch.repeat_interleave(torch.arange(rowptr.numel() - 1), rowptr.diff())
    keep = src < col  # each undirected edge once
    lines = ["# u v weight"] + [
        f"v{a:03d} v{b:03d}" + (f" {w:g}" if weighted else "")
        for a, b, w in zip(src[keep].tolist(), col[keep].tolist(), weight[keep].tolist(), strict=True)
    ]
    edges, names = folder / "edges.txt", folder / "labels.txt"
    edges.write_text("\n".join(lines) + "\n")
    names.write_text("".join(f"v{i:03d} {'ab'[int(c)]}\n" for i, c in enumerate(labels.tolist())))
    return edges, names


def test_a_weighted_edge_list_with_names_becomes_a_labelled_graph(tmp_path: Path) -> None:
    edges, labels = write_planted_graph(tmp_path)
    dm = GraphDataModule(
        "edgelist",
        str(tmp_path),
        str(tmp_path / "cache"),
        edges_file=str(edges),
        labels_file=str(labels),
        samples=LearnPairs(num_walks=2, walk_length=2),
        samples_seed=0,
    )
    assert dm.num_nodes == 120 and dm.num_classes == 2  # read before setup
    dm.setup("fit")
    graph = dm.graph
    assert graph.weighted and float(graph.edge_weight.max()) > 20
    assert graph.labels.tolist() == [0] * 60 + [1] * 60 and graph.label_mask is None  # "v000" < "v001" < ...
    assert dm.dataset_summary()["paper_table1"] is None and len(dm.train_dataset) > 0
    relations = dm.train_dataset.tensors[2]
    assert float(relations.max()) <= 1.0  # weights scaled for eq. 1


def test_bad_user_graphs_are_named(tmp_path: Path) -> None:
    edges, labels = write_planted_graph(tmp_path)

    def make(**kwargs: object) -> GraphDataModule:
        args = {"edges_file": str(edges), "labels_file": str(labels)} | kwargs
        dm = GraphDataModule("edgelist", str(tmp_path), str(tmp_path / "cache"), **args)
        dm.setup("fit")
        return dm

    with pytest.raises(UserError, match="data.edges_file"):
        make(edges_file=None)
    with pytest.raises(UserError, match="data.dataset=edgelist to use your files"):  # never silently Cora
        GraphDataModule("cora", str(tmp_path), str(tmp_path / "cache"), edges_file=str(edges))
    with pytest.raises(UserError, match="is not a file"):
        make(edges_file=str(tmp_path / "missing.txt"))
    with pytest.raises(UserError, match="data.labels_file"):
        make(labels_file=None)  # clustering needs labels
    assert not bool(make(labels_file=None, task="link_prediction").graph.label_mask.any())
    bad = tmp_path / "bad.txt"
    for text, problem in [
        ("a b 1\nb c\n", "same number of values"),
        ("a b -2\n", "finite and > 0"),
        ("a b x\n", "not a number"),
        ("a b c d\n", "expected 2 or 3 values"),
        ("# nothing\n", "no data lines"),
    ]:
        bad.write_text(text)
        with pytest.raises(UserError, match=problem):
            make(edges_file=str(bad), task="link_prediction", labels_file=None)
    bad.write_text("v000 club a\nv001\n")
    with pytest.raises(UserError, match="no label: 'v001'"):
        make(labels_file=str(bad))


def test_a_label_is_the_rest_of_its_line(tmp_path: Path) -> None:
    edges, labels = write_planted_graph(tmp_path)
    labels.write_text("".join(f"v{i:03d}\t{'Mr. Hi' if i < 60 else 'Officer'}\n" for i in range(120)))
    dm = GraphDataModule(
        "edgelist", str(tmp_path), str(tmp_path / "c"), edges_file=str(edges), labels_file=str(labels)
    )
    dm.setup("test")
    assert dm.num_classes == 2 and dm.labels.tolist() == [0] * 60 + [1] * 60
