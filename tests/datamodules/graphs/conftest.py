"""Fixtures and helpers shared by the graphs package's tests: the real graphs, loaded once, and key checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules.graphs import GRAPH_DATASETS, Graph, load_graph

# Measured on the shared copy (graphs/MANIFEST.md): nodes, undirected edges without self-loops, classes,
# distinct self-loops dropped, components of the undirected graph.
EXPECTED = {
    "cora": (2_708, 5_278, 7, 0, 78),
    "citeseer": (3_327, 4_552, 6, 124, 438),
    "wiki": (2_405, 11_596, 17, 1_165, 45),
    "blogcatalog": (10_312, 333_983, 39, 0, 1),
}


@pytest.fixture(scope="package")
def graphs_root(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "graphs"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


@pytest.fixture(scope="package")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graph-cache")


@pytest.fixture(scope="package")
def loaded(graphs_root: Path, cache_dir: Path) -> dict[str, Graph]:
    return {name: load_graph(name, graphs_root, cache_dir) for name in GRAPH_DATASETS}


def pair_keys(pairs: torch.Tensor | np.ndarray, n: int) -> np.ndarray:
    pairs = np.asarray(pairs)
    return np.minimum(pairs[0], pairs[1]) * n + np.maximum(pairs[0], pairs[1])


def isin(queries: np.ndarray, values: np.ndarray) -> np.ndarray:
    """np.isin by binary search (numpy 2.4's np.isin / np.unique are ~100x slower on 10^6 int64 keys)."""
    values = np.sort(values)
    pos = np.searchsorted(values, queries).clip(max=max(values.size - 1, 0))
    return values[pos] == queries if values.size else np.zeros(queries.shape, dtype=bool)


def all_distinct(values: np.ndarray) -> bool:
    return bool((np.diff(np.sort(values)) != 0).all())


def edge_keys(graph: Graph) -> np.ndarray:
    """Directed keys src * N + dst of every stored edge."""
    src, dst = graph.edge_index.numpy()
    return src * graph.num_nodes + dst


def synthetic_graph(seed: int = 0) -> Graph:
    """Two random components, a tree hanging off one, an isolated node, duplicates and a self-loop."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 30, (2, 120))
    b = rng.integers(30, 50, (2, 60))
    a, b = a[:, a[0] != a[1]], b[:, b[0] != b[1]]
    chain = np.array([[50, 51, 52], [51, 52, 10]])  # 53 stays isolated
    edges = np.concatenate([a, b, chain, [[7, 7], [7, 8]]], axis=1)  # (7, 7) is a self-loop
    labels = torch.arange(54) % 3
    return Graph.from_edges("synthetic", 54, edges[0], edges[1], labels=labels)
