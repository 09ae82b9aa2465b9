"""Link-prediction splits: partition of the edges, non-edge negatives, spanning forest, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules.graphs import EdgeSplit, Graph, split_edges
from datamodules.graphs.splits import _sample_non_edges
from tests.datamodules.graphs.conftest import all_distinct, edge_keys, isin, pair_keys, synthetic_graph
from zoo.errors import UserError


@pytest.fixture(scope="module")
def cora_split(loaded: dict[str, Graph]) -> EdgeSplit:
    return split_edges(loaded["cora"], 0.5, seed=0)


def _check_split(graph: Graph, split: EdgeSplit, fraction: float) -> None:
    n = graph.num_nodes
    u, v, _ = graph.undirected_pairs()
    full = u * n + v
    p, q = split.test_pos.shape[1], split.train_pos.shape[1]
    assert p == round(fraction * full.size) and p + q == full.size
    for pairs in (split.test_pos, split.test_neg, split.train_pos, split.train_neg):
        assert pairs.dtype == torch.int64 and torch.all(pairs[0] < pairs[1])  # canonical, no self pair
    test_pos, train_pos = pair_keys(split.test_pos, n), pair_keys(split.train_pos, n)
    assert np.array_equal(np.sort(np.concatenate([test_pos, train_pos])), full)  # a partition of the edges
    # no hidden edge, in either direction, in the training graph
    train_edges = edge_keys(split.train_graph)
    hidden_u, hidden_v = split.test_pos.numpy()
    assert not isin(hidden_u * n + hidden_v, train_edges).any()
    assert not isin(hidden_v * n + hidden_u, train_edges).any()
    assert np.array_equal(np.sort(train_pos), np.sort(pair_keys(split.train_graph.undirected_pairs()[:2], n)))
    test_neg, train_neg = pair_keys(split.test_neg, n), pair_keys(split.train_neg, n)
    assert test_neg.size == p and train_neg.size == q
    assert all_distinct(test_neg) and all_distinct(train_neg)
    assert not isin(test_neg, full).any() and not isin(train_neg, full).any()  # non-edges of the FULL graph
    assert not isin(train_neg, test_neg).any()
    assert split.train_graph.num_nodes == n and torch.equal(split.train_graph.labels, graph.labels)


def test_cora_split_hygiene(loaded: dict[str, Graph], cora_split: EdgeSplit) -> None:
    _check_split(loaded["cora"], cora_split, 0.5)
    assert cora_split.test_pos.shape[1] == 2_639
    # without keep_connected, hiding half of Cora's edges strands some nodes: the check below can fail
    assert cora_split.train_graph.isolated_nodes().numel() > 0


def test_split_is_deterministic_given_the_seed(loaded: dict[str, Graph], cora_split: EdgeSplit) -> None:
    again = split_edges(loaded["cora"], 0.5, seed=0)
    other = split_edges(loaded["cora"], 0.5, seed=1)
    for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
        assert torch.equal(getattr(again, name), getattr(cora_split, name))
        assert not torch.equal(getattr(other, name), getattr(cora_split, name))
    assert torch.equal(again.train_graph.edge_index, cora_split.train_graph.edge_index)


def test_keep_connected_keeps_components_and_degrees(loaded: dict[str, Graph]) -> None:
    cora = loaded["cora"]
    split = split_edges(cora, 0.5, seed=3, keep_connected=True)
    _check_split(cora, split, 0.5)
    assert split.train_graph.num_components() == cora.num_components() == 78
    assert split.train_graph.isolated_nodes().numel() == 0
    # negatives come from their own random stream, so they do not depend on keep_connected
    assert torch.equal(split.test_neg, split_edges(cora, 0.5, seed=3).test_neg)


def test_synthetic_split_hygiene_and_keep_connected() -> None:
    graph = synthetic_graph()
    assert graph.self_loops_dropped == 1 and graph.isolated_nodes().tolist() == [53]
    for fraction in (0.2, 0.5):
        _check_split(graph, split_edges(graph, fraction, seed=5), fraction)
        kept = split_edges(graph, fraction, seed=5, keep_connected=True)
        _check_split(graph, kept, fraction)
        assert kept.train_graph.num_components() == graph.num_components()
        assert kept.train_graph.isolated_nodes().tolist() == [53]
        # every node keeps its component: labels of the connected components are identical
        from scipy.sparse.csgraph import connected_components

        before = connected_components(graph.to_scipy(), directed=False)[1]
        after = connected_components(kept.train_graph.to_scipy(), directed=False)[1]
        assert np.array_equal(before, after)


def test_split_keeps_self_loops_out_of_the_positives() -> None:
    graph = Graph.from_edges(
        "loops",
        6,
        [0, 1, 2, 3, 4, 0, 2],
        [1, 2, 3, 4, 5, 0, 2],
        keep_self_loops=True,
        labels=torch.zeros(6).long(),
    )
    split = split_edges(graph, 0.4, seed=0)
    _check_split(graph, split, 0.4)
    assert split.train_graph.num_self_loops == 2
    assert torch.all(split.test_pos[0] != split.test_pos[1])


def test_split_rejects_impossible_requests(loaded: dict[str, Graph]) -> None:
    with pytest.raises(UserError, match="hide_fraction"):
        split_edges(synthetic_graph(), 1.0)
    with pytest.raises(UserError, match="at most"):
        split_edges(loaded["cora"], 0.6, keep_connected=True)  # the forest holds 2,630 of 5,278 edges
    n = 6  # complete graph minus one edge: not enough non-edges for the negatives
    a, b = np.triu_indices(n, 1)
    dense = Graph.from_edges("dense", n, a[1:], b[1:], labels=torch.zeros(n).long())
    with pytest.raises(UserError, match="non-adjacent"):
        split_edges(dense, 0.5)


def test_dense_graph_negatives_by_enumeration() -> None:
    n = 12  # 66 pairs, 30 edges, 36 non-edges for 30 negatives: the enumeration path
    rng = np.random.default_rng(0)
    a, b = np.triu_indices(n, 1)
    chosen = rng.choice(a.size, 30, replace=False)
    graph = Graph.from_edges("dense", n, a[chosen], b[chosen], labels=torch.zeros(n).long())
    split = split_edges(graph, 0.5, seed=1)
    _check_split(graph, split, 0.5)


def test_blogcatalog_split_counts(loaded: dict[str, Graph]) -> None:
    split = split_edges(loaded["blogcatalog"], 0.5, seed=0, keep_connected=True)
    assert split.test_pos.shape == split.test_neg.shape == (2, 166_992)
    assert split.train_pos.shape == split.train_neg.shape == (2, 166_991)
    assert split.train_graph.num_components() == 1
    n = 10_312
    test_neg = pair_keys(split.test_neg, n)
    assert not isin(test_neg, edge_keys(loaded["blogcatalog"])).any()
    assert not isin(pair_keys(split.train_neg, n), test_neg).any()


def test_enumerated_negatives_equal_a_brute_force_enumeration() -> None:
    """Dense graphs take a permutation of all non-edges: the same keys, in the same order, as listing them all."""
    n, rng = 30, np.random.default_rng(4)
    a, b = np.triu_indices(n, 1)
    all_pairs = a.astype(np.int64) * n + b
    edges = np.sort(rng.choice(all_pairs, 200, replace=False))
    non_edges = all_pairs[~np.isin(all_pairs, edges)]
    for seed, count in ((0, 150), (1, non_edges.size)):
        drawn = _sample_non_edges(n, edges, count, np.random.default_rng(seed), "dense")
        expected = non_edges[np.random.default_rng(seed).permutation(non_edges.size)[:count]]
        assert np.array_equal(drawn, expected)
