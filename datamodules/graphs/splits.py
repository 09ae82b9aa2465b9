"""Link-prediction splits (node2vec protocol, LEARN §5.4): hidden edges, non-edge negatives, spanning forest.

``split_edges`` hides a fraction of the undirected edges, trains on the residual graph and draws as many
non-edges of the full graph as negatives. Non-edges are node-pair keys ``a * n + b`` outside the sorted edge
keys: membership and exact draws from the complement come from ``zoo.pair_keys``, the same code LEARN's
negatives use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import minimum_spanning_tree
from torch import Tensor

from datamodules.graphs.graph import Graph
from zoo.errors import UserError
from zoo.pair_keys import contains, nth_missing

# Bump when splitting changes: it is part of the split cache key.
SPLIT_VERSION = "node2vec-split-1"
# Draw negatives as a permutation of all non-edges instead of by rejection when the graph is this dense and
# this small (part of the split's definition: changing it changes the negatives drawn for a seed).
_ENUMERATE_MAX_PAIRS = 20_000_000


@dataclass(frozen=True, eq=False)
class EdgeSplit:
    """A node2vec-style link-prediction split; every pair is an int64 [2, K] tensor with row 0 < row 1.

    ``train_graph``: the full graph without the hidden edges (both directions). ``test_pos``: the hidden
    edges; ``test_neg``: as many non-edges of the full graph. ``train_pos``: the residual undirected edges
    (one direction, self-loops excluded); ``train_neg``: as many further non-edges, disjoint from ``test_neg``
    (for the edge-feature + logistic-regression protocol).
    """

    train_graph: Graph
    test_pos: Tensor
    test_neg: Tensor
    train_pos: Tensor
    train_neg: Tensor
    hide_fraction: float = 0.5
    seed: int = 0
    keep_connected: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "hide_fraction": self.hide_fraction,
            "seed": self.seed,
            "keep_connected": self.keep_connected,
            "test_pos": int(self.test_pos.shape[1]),
            "test_neg": int(self.test_neg.shape[1]),
            "train_pos": int(self.train_pos.shape[1]),
            "train_neg": int(self.train_neg.shape[1]),
            "train_components": self.train_graph.num_components(),
            "train_isolated_nodes": int(self.train_graph.isolated_nodes().numel()),
        }

    def state(self) -> dict[str, Any]:
        return {
            "train_edge_index": self.train_graph.edge_index,
            "train_edge_weight": self.train_graph.edge_weight,
            "test_pos": self.test_pos,
            "test_neg": self.test_neg,
            "train_pos": self.train_pos,
            "train_neg": self.train_neg,
            "hide_fraction": self.hide_fraction,
            "seed": self.seed,
            "keep_connected": self.keep_connected,
        }

    @classmethod
    def from_state(cls, graph: Graph, state: Mapping[str, Any]) -> EdgeSplit:
        train_graph = dataclasses.replace(
            graph,
            edge_index=state["train_edge_index"],
            edge_weight=state["train_edge_weight"],
            edge_lines=None,
        )
        split = cls(
            train_graph=train_graph,
            **{k: state[k] for k in ("test_pos", "test_neg", "train_pos", "train_neg")},
            hide_fraction=float(state["hide_fraction"]),
            seed=int(state["seed"]),
            keep_connected=bool(state["keep_connected"]),
        )
        p, q = split.test_pos.shape[1], split.train_pos.shape[1]
        if split.test_neg.shape != (2, p) or split.train_neg.shape != (2, q):
            raise ValueError("negatives do not match the positives in number")
        if train_graph.num_undirected_edges - train_graph.num_self_loops != q:
            raise ValueError("the training graph does not hold the training positives")
        if p + q != graph.num_undirected_edges - graph.num_self_loops:
            raise ValueError("positives do not partition the graph's edges")
        return split


def split_edges(
    graph: Graph, hide_fraction: float = 0.5, seed: int = 0, keep_connected: bool = False
) -> EdgeSplit:
    """Hide ``round(hide_fraction * M)`` of the M undirected edges (node2vec protocol, LEARN §5.4).

    Negatives are uniform unordered node pairs (u != v) that are not edges of the FULL graph, without
    repetition: the test negatives match the hidden edges in number, the training negatives (disjoint from
    them) the residual edges. ``keep_connected`` never hides the edges of a random spanning forest (minimum
    spanning forest under random weights), so no component splits and no node loses all its neighbours.
    Self-loops are never hidden and never positives. Vectorised; deterministic given ``seed`` (hiding and
    negatives use separate streams, so the negatives do not depend on ``keep_connected``).
    """
    fraction = float(hide_fraction)
    if not 0 < fraction < 1:
        raise UserError(
            f"hide_fraction must be in (0, 1), got {hide_fraction}",
            where="data.hide_fraction",
            fix="e.g. data.hide_fraction=0.5 (LEARN hides 50 % of the links)",
        )
    n = graph.num_nodes
    u, v, w = graph.undirected_pairs()
    m = u.size
    hidden_count = round(fraction * m)
    if not 1 <= hidden_count <= m - 1:
        raise UserError(
            f"hiding {fraction} of the {m} edges of {graph.name} leaves no test or no training edge",
            where="data.hide_fraction",
            fix="use a graph with more edges or a hide_fraction further from 0 and 1",
        )
    keys = u * n + v
    hideable = np.arange(m)
    if keep_connected:
        protected = _random_spanning_forest(n, u, v, keys, np.random.default_rng([seed, 1]))
        hideable = np.flatnonzero(~protected)
        if hidden_count > hideable.size:
            raise UserError(
                f"keep_connected protects a spanning forest of {int(protected.sum()):,} of the {m:,} edges of "
                f"{graph.name}, so at most {hideable.size:,} edges ({hideable.size / m:.3f} of them) can be "
                f"hidden, not {hidden_count:,}",
                where="data.hide_fraction / data.keep_connected",
                fix=f"set data.hide_fraction<={math.floor(hideable.size / m * 1000) / 1000} or "
                "data.keep_connected=false",
            )
    hidden = np.zeros(m, dtype=bool)
    hidden[np.random.default_rng([seed, 2]).choice(hideable, hidden_count, replace=False)] = True
    train_count = m - hidden_count
    negatives = _sample_non_edges(
        n, keys, hidden_count + train_count, np.random.default_rng([seed, 3]), graph.name
    )
    loops = graph.edge_index[0][graph.edge_index[0] == graph.edge_index[1]].numpy()
    loop_weights = graph.edge_weight[graph.edge_index[0] == graph.edge_index[1]].numpy()
    train_u = np.concatenate([u[~hidden], loops])
    train_v = np.concatenate([v[~hidden], loops])
    train_w = np.concatenate([w[~hidden], loop_weights])
    order = np.argsort(train_u * n + train_v)
    train_graph = graph.with_edges(train_u[order], train_v[order], train_w[order])

    def pairs(a: np.ndarray, b: np.ndarray) -> Tensor:
        return torch.from_numpy(np.stack([a, b]).astype(np.int64))

    neg_u, neg_v = negatives // n, negatives % n
    return EdgeSplit(
        train_graph=train_graph,
        test_pos=pairs(u[hidden], v[hidden]),
        test_neg=pairs(neg_u[:hidden_count], neg_v[:hidden_count]),
        train_pos=pairs(u[~hidden], v[~hidden]),
        train_neg=pairs(neg_u[hidden_count:], neg_v[hidden_count:]),
        hide_fraction=fraction,
        seed=int(seed),
        keep_connected=bool(keep_connected),
    )


def _random_spanning_forest(
    n: int, u: np.ndarray, v: np.ndarray, keys: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Mask over the edges (u < v, sorted ``keys``) of a minimum spanning forest under random weights."""
    weights = 1.0 + rng.random(u.size)  # strictly positive: scipy treats explicit zeros as missing edges
    forest = minimum_spanning_tree(sp.csr_matrix((weights, (u, v)), shape=(n, n))).tocoo()
    a, b = (
        np.minimum(forest.row, forest.col).astype(np.int64),
        np.maximum(forest.row, forest.col).astype(np.int64),
    )
    mask = np.zeros(u.size, dtype=bool)
    mask[np.searchsorted(keys, a * n + b)] = True
    return mask


def _sample_non_edges(
    n: int, edge_keys: np.ndarray, count: int, rng: np.random.Generator, name: str
) -> np.ndarray:
    """``count`` distinct keys a * n + b (a < b) of uniform node pairs that are not in sorted ``edge_keys``.

    Rejection sampling in vectorised rounds; the order is the draw order, so any prefix is itself a uniform
    sample. Dense small graphs take a random permutation of all non-edges instead, each rank mapped to its
    pair by ``nth_missing`` over the pairs' upper-triangle slots (no n x n enumeration).
    """
    total_pairs = n * (n - 1) // 2
    available = total_pairs - edge_keys.size
    if count > available:
        raise UserError(
            f"{name} has only {available:,} non-adjacent node pairs, fewer than the {count:,} negatives needed "
            "(one per test and per training positive)",
            where="split_edges",
            fix="link prediction needs a sparse graph; use another dataset",
        )
    if count == 0:
        return np.empty(0, dtype=np.int64)
    keys = torch.from_numpy(edge_keys)
    if 2 * count > available and total_pairs <= _ENUMERATE_MAX_PAIRS:
        ranks = torch.from_numpy(rng.permutation(available)[:count])
        return _slot_to_key(nth_missing(_key_to_slot(keys, n), ranks), n).numpy()
    accepted = np.empty(0, dtype=np.int64)
    while accepted.size < count:
        need = count - accepted.size
        rate = max((available - accepted.size) / (n * n), 1e-6)
        draws = min(int(need * 1.1 / rate) + 64, 50_000_000)
        a, b = rng.integers(0, n, draws), rng.integers(0, n, draws)
        keep = a != b
        candidates = np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep])
        candidates = candidates[~contains(keys, torch.from_numpy(candidates)).numpy()]
        merged = np.concatenate([accepted, candidates])
        _, first = np.unique(merged, return_index=True)
        accepted = merged[np.sort(first)][:count]
    return accepted


def _key_to_slot(keys: Tensor, n: int) -> Tensor:
    """Index of each pair key a * n + b (a < b) among all such pairs in key order (row-major upper triangle)."""
    a, b = keys // n, keys % n
    return a * n - a * (a + 1) // 2 + (b - a - 1)


def _slot_to_key(slots: Tensor, n: int) -> Tensor:
    """Inverse of ``_key_to_slot``: the row is the last row start at or below the slot."""
    rows = torch.arange(n, dtype=torch.int64)
    row_start = rows * n - rows * (rows + 1) // 2
    a = torch.searchsorted(row_start, slots, right=True) - 1
    return a * n + (slots - row_start[a] + a + 1)
