"""The Graph type: canonical symmetric edges, CSR view, self-loop counts, state round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules.graphs import Graph
from tests.datamodules.graphs.conftest import EXPECTED, all_distinct, edge_keys, isin, synthetic_graph


@pytest.mark.parametrize("name", list(EXPECTED))
def test_edges_are_symmetric_unique_and_csr_matches(loaded: dict[str, Graph], name: str) -> None:
    graph = loaded[name]
    n = graph.num_nodes
    keys = edge_keys(graph)
    assert all_distinct(keys)  # no duplicate
    src, dst = graph.edge_index.numpy()
    assert isin(dst * n + src, keys).all()  # both directions stored
    assert (np.diff(keys) > 0).all()  # sorted by (source, target)
    rowptr, col, weight = graph.to_csr()
    assert rowptr.shape == (n + 1,) and rowptr[0] == 0 and rowptr[-1] == keys.size
    assert torch.all(rowptr[1:] >= rowptr[:-1])
    rows = torch.repeat_interleave(torch.arange(n), rowptr[1:] - rowptr[:-1])
    assert np.array_equal(rows.numpy() * n + col.numpy(), np.sort(keys))
    assert torch.equal(graph.degree(), rowptr[1:] - rowptr[:-1])
    assert weight.shape == col.shape
    assert graph.to_csr()[0] is rowptr  # cached


def test_from_edges_symmetrises_deduplicates_and_counts_self_loops() -> None:
    graph = Graph.from_edges(
        "g",
        4,
        [0, 1, 1, 2, 2, 3],
        [1, 0, 2, 1, 2, 3],
        [1.0, 3.0, 2.0, 2.0, 5.0, 1.0],
        labels=torch.zeros(4).long(),
    )
    assert graph.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert graph.edge_weight.tolist() == [3.0, 3.0, 2.0, 2.0]  # duplicates keep the largest weight
    assert graph.weighted and graph.self_loops_dropped == 2 and graph.num_undirected_edges == 2
    assert graph.degree().tolist() == [1, 2, 1, 0] and graph.degree(weighted=True).tolist() == [3, 5, 2, 0]
    assert graph.isolated_nodes().tolist() == [3] and graph.num_components() == 2
    kept = Graph.from_edges("g", 4, [0, 2], [1, 2], keep_self_loops=True, labels=torch.zeros(4).long())
    assert kept.edge_index.tolist() == [[0, 1, 2], [1, 0, 2]] and kept.num_self_loops == 1
    assert kept.num_undirected_edges == 2 and kept.isolated_nodes().tolist() == [2, 3]
    with pytest.raises(ValueError, match="both directions"):
        Graph(
            name="g",
            num_nodes=2,
            edge_index=torch.tensor([[0], [1]]),
            edge_weight=torch.ones(1),
            labels=torch.zeros(2).long(),
        )
    with pytest.raises(ValueError, match="exactly one"):
        Graph(name="g", num_nodes=2, edge_index=torch.zeros(2, 0).long(), edge_weight=torch.ones(0))


def test_graph_state_round_trip() -> None:
    graph = synthetic_graph()
    again = Graph.from_state(graph.state())
    assert torch.equal(again.edge_index, graph.edge_index) and again.self_loops_dropped == 1
    assert again.stats() == graph.stats()
