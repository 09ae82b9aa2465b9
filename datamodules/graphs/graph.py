"""The ``Graph`` type: an undirected, labelled graph held as a symmetric, sorted, deduplicated edge list.

Every loader and split produces one; samplers read its CSR view. Construction canonicalises any (directed,
duplicated, self-looped) edge list, so two graphs with the same edges are the same tensors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from torch import Tensor


@dataclass(frozen=True, eq=False, kw_only=True)
class Graph:
    """An undirected graph with node labels, held as a symmetric edge list.

    ``edge_index`` [2, E] int64 holds both directions of every undirected edge once (deduplicated), sorted by
    (source, target); a self-loop, when kept, appears once. ``edge_weight`` [E] float32 is all ones for
    unweighted graphs. Labels: ``labels`` [N] int64 for single-label datasets, or ``label_matrix`` [N, C] bool
    for multi-label ones (BlogCatalog). ``label_mask`` [N] bool marks nodes that really have a label (None: all
    do); CiteSeer's 15 feature-less Planetoid ids do not. ``self_loops_dropped`` counts distinct self-loops
    removed while loading; ``edge_lines`` is the number of lines of a directed raw edge list (None when the
    source is not one). ``source_key`` hashes the raw files and reader version (None for in-memory graphs).
    Treat instances as immutable: ``to_csr`` is cached.
    """

    name: str
    num_nodes: int
    edge_index: Tensor
    edge_weight: Tensor
    labels: Tensor | None = None
    label_matrix: Tensor | None = None
    num_classes: int = 0
    weighted: bool = False
    label_mask: Tensor | None = None
    self_loops_dropped: int = 0
    edge_lines: int | None = None
    source_key: str | None = None
    _csr: tuple[Tensor, Tensor, Tensor] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.num_nodes
        ei, ew = self.edge_index, self.edge_weight
        if ei.dtype != torch.int64 or ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"edge_index must be int64 [2, E], got {ei.dtype} {tuple(ei.shape)}")
        if ew.shape != (ei.shape[1],) or not ew.is_floating_point():
            raise ValueError(f"edge_weight must be float [E={ei.shape[1]}], got {ew.dtype} {tuple(ew.shape)}")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
            raise ValueError(f"edge_index has node ids outside [0, {n})")
        src, dst = ei
        if int((src < dst).sum()) != int((src > dst).sum()):
            raise ValueError("edge_index must store both directions of every undirected edge")
        if (self.labels is None) == (self.label_matrix is None):
            raise ValueError(
                "give exactly one of labels [N] (single-label) or label_matrix [N, C] (multi-label)"
            )
        if self.labels is not None:
            if self.labels.dtype != torch.int64 or self.labels.shape != (n,):
                raise ValueError(
                    f"labels must be int64 [{n}], got {self.labels.dtype} {tuple(self.labels.shape)}"
                )
            found = int(self.labels.max()) + 1 if n else 0
            if self.num_classes == 0:
                object.__setattr__(self, "num_classes", found)
            if (n and int(self.labels.min()) < 0) or found > self.num_classes:
                raise ValueError(f"labels outside [0, {self.num_classes})")
        else:
            lm = self.label_matrix
            if lm.dtype != torch.bool or lm.ndim != 2 or lm.shape[0] != n:
                raise ValueError(f"label_matrix must be bool [{n}, C], got {lm.dtype} {tuple(lm.shape)}")
            if self.num_classes == 0:
                object.__setattr__(self, "num_classes", lm.shape[1])
            if lm.shape[1] != self.num_classes:
                raise ValueError(f"label_matrix has {lm.shape[1]} columns, num_classes is {self.num_classes}")
        if self.label_mask is not None and (
            self.label_mask.dtype != torch.bool or self.label_mask.shape != (n,)
        ):
            raise ValueError(f"label_mask must be bool [{n}]")

    # ---- construction --------------------------------------------------------------------------------------

    @classmethod
    def from_edges(
        cls,
        name: str,
        num_nodes: int,
        src: Any,
        dst: Any,
        weight: Any = None,
        *,
        keep_self_loops: bool = False,
        **fields: Any,
    ) -> Graph:
        """Build a canonical undirected graph from (possibly directed, duplicated) edges ``src -> dst``.

        Both directions are stored; duplicates (including u->v plus v->u) merge, keeping the largest weight;
        self-loops are dropped and counted unless ``keep_self_loops``. ``weighted`` is set when some weight
        differs from 1. ``fields`` are the other ``Graph`` fields (labels, label_matrix, ...); a given
        ``self_loops_dropped`` is added to the count of loops dropped here.
        """
        src, dst = _as_int64(src), _as_int64(dst)
        if src.shape != dst.shape or src.ndim != 1:
            raise ValueError(f"src and dst must be 1-D of equal length, got {src.shape} and {dst.shape}")
        if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
            raise ValueError(f"edge endpoints outside [0, {num_nodes})")
        w = None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
        if w is not None and (w.shape != src.shape or not np.isfinite(w).all() or (w <= 0).any()):
            raise ValueError("edge weights must be finite, > 0 and one per edge")
        loops = src == dst
        dropped = 0
        if not keep_self_loops and loops.any():
            dropped = count_distinct(src[loops])
            keep = ~loops
            src, dst, w = src[keep], dst[keep], None if w is None else w[keep]
        a, b = np.minimum(src, dst), np.maximum(src, dst)
        keys, inverse = np.unique(a * num_nodes + b, return_inverse=True)
        if w is None:
            merged = np.ones(keys.size)
        else:
            merged = np.full(keys.size, -np.inf)
            np.maximum.at(merged, inverse.reshape(-1), w)
        fields["self_loops_dropped"] = int(fields.get("self_loops_dropped", 0)) + dropped
        fields.setdefault("weighted", bool(w is not None and (merged != 1).any()))
        edge_index, edge_weight = _symmetric_edges(keys // num_nodes, keys % num_nodes, merged, num_nodes)
        return cls(name=name, num_nodes=num_nodes, edge_index=edge_index, edge_weight=edge_weight, **fields)

    def with_edges(self, u: np.ndarray, v: np.ndarray, weight: np.ndarray) -> Graph:
        """The same nodes and labels with the undirected edges (u, v) only (u <= v, unique, sorted by key)."""
        edge_index, edge_weight = _symmetric_edges(u, v, weight, self.num_nodes)
        return dataclasses.replace(self, edge_index=edge_index, edge_weight=edge_weight, edge_lines=None)

    # ---- structure -----------------------------------------------------------------------------------------

    def to_csr(self) -> tuple[Tensor, Tensor, Tensor]:
        """(rowptr [N+1], col [E], weight [E]) sorted by source then target; computed once."""
        if self._csr is None:
            src, dst = self.edge_index
            order = torch.argsort(src * self.num_nodes + dst)
            counts = torch.bincount(src, minlength=self.num_nodes)
            rowptr = torch.zeros(self.num_nodes + 1, dtype=torch.int64)
            rowptr[1:] = torch.cumsum(counts, 0)
            object.__setattr__(self, "_csr", (rowptr, dst[order].contiguous(), self.edge_weight[order]))
        return self._csr

    def to_scipy(self) -> sp.csr_matrix:
        """The symmetric weighted adjacency as a scipy CSR matrix [N, N]."""
        rowptr, col, weight = self.to_csr()
        n = self.num_nodes
        return sp.csr_matrix((weight.numpy().astype(np.float64), col.numpy(), rowptr.numpy()), shape=(n, n))

    def degree(self, weighted: bool = False) -> Tensor:
        """Number of stored neighbours per node (int64; a kept self-loop counts 1), or weight sums (float)."""
        src = self.edge_index[0]
        if weighted:
            return torch.zeros(self.num_nodes, dtype=self.edge_weight.dtype).index_add_(
                0, src, self.edge_weight
            )
        return torch.bincount(src, minlength=self.num_nodes)

    @property
    def num_self_loops(self) -> int:
        return int((self.edge_index[0] == self.edge_index[1]).sum())

    @property
    def num_undirected_edges(self) -> int:
        """Undirected edges, a kept self-loop counting as one edge."""
        src, dst = self.edge_index
        return int((src <= dst).sum())

    @property
    def multi_label(self) -> bool:
        return self.label_matrix is not None

    def num_components(self) -> int:
        """Connected components of the undirected graph (an isolated node is one component)."""
        return int(connected_components(self.to_scipy(), directed=False)[0])

    def isolated_nodes(self) -> Tensor:
        """Ids of nodes without a neighbour other than themselves."""
        src, dst = self.edge_index
        has_neighbour = torch.zeros(self.num_nodes, dtype=torch.bool)
        has_neighbour[src[src != dst]] = True
        return torch.nonzero(~has_neighbour).flatten()

    def undirected_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, weight) of the undirected edges without self-loops, u < v, sorted by u * N + v."""
        src, dst = self.edge_index.numpy()
        upper = src < dst
        u, v, w = src[upper], dst[upper], self.edge_weight.numpy()[upper]
        keys = u * self.num_nodes + v
        if keys.size > 1 and (np.diff(keys) <= 0).any():
            order = np.argsort(keys)
            u, v, w = u[order], v[order], w[order]
        return u, v, w

    def stats(self) -> dict[str, Any]:
        """The Table 1 columns (nodes, edges, communities, average degree = 2E/N, components) and more."""
        edges = self.num_undirected_edges
        out: dict[str, Any] = {
            "name": self.name,
            "nodes": self.num_nodes,
            "undirected_edges": edges,
        }
        if self.edge_lines is not None:
            out["directed_edge_lines"] = self.edge_lines
        out |= {
            "stored_directed_edges": int(self.edge_index.shape[1]),
            "communities": self.num_classes,
            "multi_label": self.multi_label,
            "average_degree": 2 * edges / self.num_nodes if self.num_nodes else 0.0,
            "components": self.num_components(),
            "self_loops_dropped": self.self_loops_dropped,
            "self_loops_kept": self.num_self_loops,
            "isolated_nodes": int(self.isolated_nodes().numel()),
            "labelled_nodes": self.num_nodes if self.label_mask is None else int(self.label_mask.sum()),
            "weighted": self.weighted,
        }
        return out

    # ---- serialisation -------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Tensors and plain values only, so ``torch.load(weights_only=True)`` can read it back."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Graph:
        return cls(**{f.name: state[f.name] for f in dataclasses.fields(cls) if f.init})


def _as_int64(values: Any) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.numpy()
    return np.asarray(values).astype(np.int64, copy=False).reshape(-1)


def count_distinct(values: np.ndarray) -> int:
    """Distinct values by sorting (numpy 2.4's plain np.unique is ~100x slower on 10^6 int64 values)."""
    ordered = np.sort(values)
    return int(ordered.size and 1 + np.count_nonzero(np.diff(ordered)))


def _symmetric_edges(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int) -> tuple[Tensor, Tensor]:
    """Both directions of unique undirected edges (u <= v), sorted by (source, target)."""
    u, v, weight = _as_int64(u), _as_int64(v), np.asarray(weight)
    off = u != v
    src = np.concatenate([u, v[off]])
    dst = np.concatenate([v, u[off]])
    w = np.concatenate([weight, weight[off]])
    order = np.argsort(src * n + dst, kind="stable")
    edge_index = torch.from_numpy(np.stack([src[order], dst[order]]))
    return edge_index, torch.from_numpy(w[order].astype(np.float32))
