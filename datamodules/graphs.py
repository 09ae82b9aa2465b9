"""Graph datasets for network embedding (LEARN, Fathy & Li, ICONIP 2019, §5): Cora, CiteSeer, Wiki, BlogCatalog.

Every graph becomes one in-memory ``Graph``: undirected, stored with both directions, deduplicated, sorted by
(source, target), self-loops dropped by default (and counted). Raw files are checked against the sha256 of
the copy in the shared data folder before use; processed graphs and link-prediction splits are cached under
``cache_dir`` with keys over the raw checksums and the reader/split versions, written atomically; nothing is
ever written under the data root.

Table 1 of the paper is kept as ``PAPER_TABLE1``; ``compare_with_paper`` explains each difference between it
and the loaded graph (e.g. Cora's 5,429 is the directed citation-line count, 5,278 undirected edges).

Link prediction follows node2vec (LEARN §5.4): ``split_edges`` hides a fraction of the undirected edges,
trains on the residual graph and draws as many non-edges of the full graph as negatives.

``GraphDataModule`` loads the graph (and split) and wraps a method-specific ``samples`` dataset (walk pairs,
skip-gram pairs, LINE edges, SDNE rows ...) in loaders; evaluation uses the whole embedding at once, so the
test loader yields a single dummy index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import pickle
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import scipy.sparse as sp
import torch
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
)

from datamodules import checks
from datamodules.pointclouds import derive_seed
from zoo.errors import UserError, non_negative_int, positive_int
from zoo.io import atomic_torch_save, atomic_write_json

log = logging.getLogger(__name__)

# Bump when reading or splitting changes: they are part of the cache keys.
READER_VERSION = "graphs-reader-1"
SPLIT_VERSION = "node2vec-split-1"
_CACHE_FORMAT = 1
TASKS = ("clustering", "link_prediction")
_FIX_REDOWNLOAD = "re-download the file"
# Enumerate all node pairs instead of rejection sampling when the graph is this dense and this small.
_ENUMERATE_MAX_PAIRS = 20_000_000


@rank_zero_only
def warn(message: str) -> None:
    """Log a warning once per job (rank 0 only), so DDP runs do not repeat it per process."""
    log.warning(message)


# ------------------------------------------------------------------------------------------------------------
# Graph
# ------------------------------------------------------------------------------------------------------------


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
            dropped = _count_distinct(src[loops])
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


def _count_distinct(values: np.ndarray) -> int:
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


# ------------------------------------------------------------------------------------------------------------
# Dataset registry
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperStats:
    """One row of LEARN's Table 1."""

    nodes: int
    edges: int
    communities: int
    average_degree: float
    components: int


PAPER_TABLE1: dict[str, PaperStats] = {
    "blogcatalog": PaperStats(10_312, 333_983, 39, 64.776, 1),
    "cora": PaperStats(2_708, 5_429, 7, 3.898, 78),
    "citeseer": PaperStats(3_312, 4_732, 6, 2.823, 433),
    "wiki": PaperStats(2_405, 17_981, 17, 10.612, 45),
}

Reader = Callable[["GraphDatasetSpec", Path, Path, bool, str], Graph]


@dataclass(frozen=True)
class GraphDatasetSpec:
    """Where a dataset's raw files live, where they come from, their checksums and how to read them.

    ``folder`` is relative to the graphs data root; ``files`` maps each raw file name to the sha256 of the
    shared copy (``graphs/SHA256SUMS``); ``urls`` gives the pinned upstream address of each file. ``measured``
    are the counts of that copy (``graphs/MANIFEST.md``), known before loading. ``paper_notes`` explain known
    differences to Table 1 per column.
    """

    key: str
    title: str
    folder: str
    files: Mapping[str, str]
    urls: Mapping[str, str]
    source: str
    reader: Reader
    measured: Mapping[str, int]
    multi_label: bool = False
    paper_tasks: tuple[str, ...] = ()
    paper_notes: Mapping[str, str] = field(default_factory=dict)
    download_hint: str = ""


_PLANETOID_COMMIT = "af6abf468a772cc055bec88c52e4d6f51b7c37e3"
_OPENNE_COMMIT = "7b86f4ca25fca3f441f593335fa57dc7dffb3b29"
_DEEPWALK_COMMIT = "6e6dff245e4692e9bea47e9017c1034e51afbf29"
PLANETOID_EXTENSIONS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


def _planetoid_urls(prefix: str) -> dict[str, str]:
    base = f"https://raw.githubusercontent.com/kimiyoung/planetoid/{_PLANETOID_COMMIT}/data"
    return {f"ind.{prefix}.{ext}": f"{base}/ind.{prefix}.{ext}" for ext in PLANETOID_EXTENSIONS}


# ------------------------------------------------------------------------------------------------------------
# Readers
# ------------------------------------------------------------------------------------------------------------


def _read_planetoid(
    spec: GraphDatasetSpec, folder: Path, cache_dir: Path, keep_self_loops: bool, raw_key: str
) -> Graph:
    """Cora / CiteSeer through ``torch_geometric.datasets.Planetoid`` on a copy of the raw files in the cache.

    torch_geometric drops self-loops and duplicate pairs itself and pads CiteSeer's 15 test ids that have no
    feature row (zero features, label 0); the loops are counted (or restored) from ``ind.<name>.graph`` and
    the padded ids are marked unlabelled in ``label_mask``.
    """
    prefix = spec.key
    processed_root = cache_dir / "graphs" / f"planetoid-{prefix}-{raw_key}"
    try:
        dataset = _planetoid(processed_root, spec, folder)
    except Exception as err:  # a broken cache folder is rebuilt once, never trusted
        warn(
            f"{spec.title}: the Planetoid cache {processed_root} is unusable ({type(err).__name__}: {err}); rebuilding"
        )
        shutil.rmtree(processed_root, ignore_errors=True)
        try:
            dataset = _planetoid(processed_root, spec, folder)
        except Exception as again:
            raise UserError(
                f"torch_geometric's Planetoid could not process the {spec.title} raw files "
                f"({type(again).__name__}: {again})",
                where=str(folder),
                fix=f"re-download the files from {spec.source}",
            ) from again
    data = dataset[0]
    num_nodes = int(data.num_nodes)
    adjacency = _read_pickle(folder / f"ind.{prefix}.graph")
    if not isinstance(adjacency, Mapping):
        raise _corrupt(
            folder / f"ind.{prefix}.graph", f"expected a dict adjacency list, got {type(adjacency).__name__}"
        )
    loop_nodes = np.array(sorted(int(k) for k, nbrs in adjacency.items() if k in set(nbrs)), dtype=np.int64)
    src, dst = data.edge_index.numpy()
    if keep_self_loops:
        src, dst = np.concatenate([src, loop_nodes]), np.concatenate([dst, loop_nodes])
    test_ids = _read_int_tokens(folder / f"ind.{prefix}.test.index")
    unlabelled = np.setdiff1d(np.arange(test_ids.min(), test_ids.max() + 1), test_ids)
    label_mask = None
    if unlabelled.size:
        label_mask = torch.ones(num_nodes, dtype=torch.bool)
        label_mask[torch.from_numpy(unlabelled)] = False
    return Graph.from_edges(
        prefix,
        num_nodes,
        src,
        dst,
        keep_self_loops=keep_self_loops,
        labels=data.y.to(torch.int64).clone(),
        num_classes=int(dataset.num_classes),
        label_mask=label_mask,
        self_loops_dropped=0 if keep_self_loops else int(loop_nodes.size),
    )


def _planetoid(processed_root: Path, spec: GraphDatasetSpec, folder: Path) -> Any:
    """The Planetoid dataset under ``processed_root/<Title>/``; raw files staged, processed, then renamed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.datasets import Planetoid
    if not processed_root.is_dir():
        processed_root.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{processed_root.name}.", dir=processed_root.parent))
        try:
            raw = stage / spec.title / "raw"
            raw.mkdir(parents=True)
            for name in spec.files:
                shutil.copyfile(folder / name, raw / name)
            _quiet(lambda: Planetoid(str(stage), spec.title))
            try:
                os.replace(stage, processed_root)
            except OSError:
                if not processed_root.is_dir():  # another process won the race: use its folder
                    raise
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return _quiet(lambda: Planetoid(str(processed_root), spec.title))


def _quiet(make: Callable[[], Any]) -> Any:
    """Run ``make`` without torch_geometric's 'Processing... Done!' lines on stdout / stderr."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return make()


def _read_wiki(
    spec: GraphDatasetSpec, folder: Path, cache_dir: Path, keep_self_loops: bool, raw_key: str
) -> Graph:
    """OpenNE's Wiki: directed "u v" lines made undirected, "node label" lines as single labels."""
    edges_path, labels_path = folder / "Wiki_edgelist.txt", folder / "Wiki_category.txt"
    edges = _read_int_table(edges_path, 2)
    labels = _read_int_table(labels_path, 2)
    return _graph_from_tables(spec.key, edges, labels, labels_path, keep_self_loops)


def _graph_from_tables(
    name: str, edges: np.ndarray, node_labels: np.ndarray, labels_path: Path, keep_self_loops: bool
) -> Graph:
    nodes, values = node_labels[:, 0], node_labels[:, 1]
    if _count_distinct(nodes) != nodes.size:
        raise _corrupt(
            labels_path, "a node is listed more than once (expected one 'node label' line per node)"
        )
    if (values < 0).any():
        raise _corrupt(labels_path, "negative label")
    num_nodes = int(max(edges.max(initial=-1), nodes.max(initial=-1))) + 1
    labels = torch.zeros(num_nodes, dtype=torch.int64)
    labels[torch.from_numpy(nodes)] = torch.from_numpy(values)
    label_mask = None
    if nodes.size != num_nodes:
        label_mask = torch.zeros(num_nodes, dtype=torch.bool)
        label_mask[torch.from_numpy(nodes)] = True
    return Graph.from_edges(
        name,
        num_nodes,
        edges[:, 0],
        edges[:, 1],
        keep_self_loops=keep_self_loops,
        labels=labels,
        num_classes=int(values.max()) + 1,
        label_mask=label_mask,
        edge_lines=int(edges.shape[0]),
    )


def _read_blogcatalog(
    spec: GraphDatasetSpec, folder: Path, cache_dir: Path, keep_self_loops: bool, raw_key: str
) -> Graph:
    """DeepWalk's ``blogcatalog.mat``: sparse symmetric ``network`` and multi-label ``group`` [N, 39]."""
    import scipy.io

    path = folder / "blogcatalog.mat"
    try:
        mat = scipy.io.loadmat(str(path))
        network, group = mat["network"], mat["group"]
    except Exception as err:
        raise _corrupt(path, f"cannot read the MATLAB file ({type(err).__name__}: {err})") from err
    network = sp.coo_matrix(network)
    n = network.shape[0]
    if network.shape != (n, n) or group.shape[0] != n:
        raise _corrupt(
            path, f"network {network.shape} and group {group.shape} do not describe the same nodes"
        )
    if (network.data < 0).any() or not np.isfinite(network.data).all():
        raise _corrupt(path, "negative or non-finite edge weights")
    keep = network.data != 0
    matrix = torch.from_numpy(np.asarray(sp.csr_matrix(group).toarray() != 0))
    labelled = matrix.any(dim=1)
    return Graph.from_edges(
        spec.key,
        n,
        network.row[keep],
        network.col[keep],
        network.data[keep],
        keep_self_loops=keep_self_loops,
        label_matrix=matrix,
        num_classes=int(matrix.shape[1]),
        label_mask=None if bool(labelled.all()) else labelled,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise UserError(
            f"cannot read {path.name} ({err.strerror or err})", where=str(path), fix=_FIX_REDOWNLOAD
        ) from err


def _read_int_tokens(path: Path, data: bytes | None = None) -> np.ndarray:
    tokens = (_read_bytes(path) if data is None else data).split()
    try:
        values = np.array(tokens, dtype=np.int64)
    except ValueError as err:
        bad = next((t for t in tokens if not t.lstrip(b"-").isdigit()), b"?")
        raise _corrupt(path, f"non-integer value {bad[:40].decode(errors='replace')!r}") from err
    if values.size == 0:
        raise _corrupt(path, "the file is empty")
    return values


def _read_int_table(path: Path, columns: int) -> np.ndarray:
    """A whitespace-separated integer table with ``columns`` values per line, all >= 0."""
    data = _read_bytes(path)
    values = _read_int_tokens(path, data)
    lines = sum(1 for line in data.splitlines() if line.strip())
    if values.size != columns * lines:
        raise _corrupt(path, f"expected {columns} integers per line ({lines} lines, {values.size} values)")
    if (values < 0).any():
        raise _corrupt(path, "negative node id or label")
    return values.reshape(-1, columns)


def _read_pickle(path: Path) -> Any:
    """A Planetoid pickle (Python 2, latin-1); only called on files whose checksum was checked or waived."""
    try:
        with path.open("rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except Exception as err:
        raise _corrupt(path, f"cannot unpickle ({type(err).__name__}: {err})") from err


def _corrupt(path: Path, problem: str) -> UserError:
    return UserError(f"corrupt graph file {path.name}: {problem}", where=str(path), fix=_FIX_REDOWNLOAD)


GRAPH_DATASETS: dict[str, GraphDatasetSpec] = {
    "cora": GraphDatasetSpec(
        key="cora",
        title="Cora",
        folder="planetoid",
        files={
            "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
            "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
            "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
            "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
            "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
            "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
            "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
            "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
        },
        urls=_planetoid_urls("cora"),
        source=f"kimiyoung/planetoid @ {_PLANETOID_COMMIT}, data/",
        reader=_read_planetoid,
        measured={"nodes": 2_708, "undirected_edges": 5_278, "classes": 7},
        paper_tasks=("clustering", "visualisation"),
        paper_notes={
            "edges": "5,429 is the line count of the LINQS cora.cites citation list (OpenNE's "
            "cora_openne/cora_edgelist.txt has the same 5,429 directed lines); duplicate and reciprocal "
            "citations collapse to 5,278 undirected edges",
        },
        download_hint="torch_geometric.datasets.Planetoid(root, 'Cora') downloads the same files into "
        "root/Cora/raw/",
    ),
    "citeseer": GraphDatasetSpec(
        key="citeseer",
        title="CiteSeer",
        folder="planetoid",
        files={
            "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
            "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
            "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
            "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
            "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
            "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
            "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
            "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
        },
        urls=_planetoid_urls("citeseer"),
        source=f"kimiyoung/planetoid @ {_PLANETOID_COMMIT}, data/",
        reader=_read_planetoid,
        measured={"nodes": 3_327, "undirected_edges": 4_552, "classes": 6},
        paper_tasks=("clustering", "visualisation"),
        paper_notes={
            "nodes": "Planetoid's CiteSeer has 3,327 node ids: 15 ids in the test range have no feature or "
            "label row (torch_geometric pads them with zero features and label 0; label_mask marks them "
            "unlabelled, they still have 1-2 edges each); 3,312 is the LINQS paper count",
            "edges": "4,732 is the LINQS citeseer.cites line count, which the Planetoid files do not contain; "
            "their adjacency lists hold 4,676 distinct undirected pairs, 124 of them self-loops",
            "components": "not reproduced from these files: 438 on the 3,327-node graph (dropping the 15 "
            "label-less ids also leaves 438)",
        },
        download_hint="torch_geometric.datasets.Planetoid(root, 'CiteSeer') downloads the same files into "
        "root/CiteSeer/raw/",
    ),
    "wiki": GraphDatasetSpec(
        key="wiki",
        title="Wiki",
        folder="wiki",
        files={
            "Wiki_edgelist.txt": "72fccd28e5a927a752b6fbf38c971884b0a783dd124c5e8e2c9e27ac7bdd84f5",
            "Wiki_category.txt": "600541ba4563097b1e1796b6b0ffa110f17a0e71b1ac7e5c66dc11c512077774",
        },
        urls={
            name: f"https://raw.githubusercontent.com/thunlp/OpenNE/{_OPENNE_COMMIT}/data/wiki/{name}"
            for name in ("Wiki_edgelist.txt", "Wiki_category.txt")
        },
        source=f"thunlp/OpenNE @ {_OPENNE_COMMIT}, data/wiki/",
        reader=_read_wiki,
        measured={"nodes": 2_405, "undirected_edges": 11_596, "classes": 17},
        paper_tasks=("clustering", "link_prediction"),
        paper_notes={
            "edges": "17,981 is the number of directed 'u v' lines in Wiki_edgelist.txt (16,523 distinct "
            "directed pairs; 1,996 of the lines are self-loops on 1,165 distinct nodes)",
        },
    ),
    "blogcatalog": GraphDatasetSpec(
        key="blogcatalog",
        title="BlogCatalog",
        folder="blogcatalog",
        files={"blogcatalog.mat": "d4f4fb89ce1ccd4b7e2a183386c000773cc9362cc61f1be5b246a6d9c259da8f"},
        urls={
            "blogcatalog.mat": f"https://raw.githubusercontent.com/phanein/deepwalk/{_DEEPWALK_COMMIT}/"
            "example_graphs/blogcatalog.mat"
        },
        source=f"phanein/deepwalk @ {_DEEPWALK_COMMIT}, example_graphs/blogcatalog.mat",
        reader=_read_blogcatalog,
        measured={"nodes": 10_312, "undirected_edges": 333_983, "classes": 39},
        multi_label=True,
        paper_tasks=("link_prediction",),
    ),
}


# ------------------------------------------------------------------------------------------------------------
# Loading, checksums, cache
# ------------------------------------------------------------------------------------------------------------


def dataset_spec(name: str) -> GraphDatasetSpec:
    spec = GRAPH_DATASETS.get(str(name).lower())
    if spec is None:
        raise UserError(
            f"unknown graph dataset {name!r}",
            where="data.dataset",
            fix=f"use one of {', '.join(GRAPH_DATASETS)}",
        )
    return spec


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def dataset_folder(spec: GraphDatasetSpec, data_root: str | os.PathLike) -> Path:
    """``data_root/<folder>``; a data root one level up (holding ``graphs/``) is accepted too."""
    root = Path(data_root).expanduser()
    direct, nested = root / spec.folder, root / "graphs" / spec.folder
    return nested if not direct.is_dir() and nested.is_dir() else direct


def check_raw_files(spec: GraphDatasetSpec, folder: Path, verify_checksums: bool = True) -> dict[str, str]:
    """The sha256 of each raw file; UserError when one is missing or (with ``verify_checksums``) differs."""
    missing = [name for name in spec.files if not (folder / name).is_file()]
    if missing:
        expected = ", ".join(spec.files)
        urls = "; ".join(spec.urls[name] for name in missing[:3]) + ("; ..." if len(missing) > 3 else "")
        hint = f"; {spec.download_hint}" if spec.download_hint else ""
        raise UserError(
            f"{spec.title}: {len(missing)} of the {len(spec.files)} raw files are missing in {folder} "
            f"(missing: {', '.join(missing)}; expected files: {expected})",
            where=f"data.root -> {folder}",
            fix=f"point data.root (or DATA_DIR) at the graphs folder that holds {spec.folder}/, or download "
            f"the files from {spec.source} into {folder} ({urls}){hint}",
        )
    hashes = {name: sha256_file(folder / name) for name in spec.files}
    if verify_checksums:
        for name, actual in hashes.items():
            if actual != spec.files[name]:
                raise UserError(
                    f"{spec.title}: checksum mismatch for {name}: expected sha256 {spec.files[name]}, "
                    f"got {actual} (the file is corrupt, truncated or a different version)",
                    where=str(folder / name),
                    fix=f"re-download it from {spec.urls[name]}, or set data.verify_checksums=false to use "
                    "it anyway (results are then not comparable)",
                )
    return hashes


def load_graph(
    name: str,
    data_root: str | os.PathLike,
    cache_dir: str | os.PathLike,
    *,
    verify_checksums: bool = True,
    keep_self_loops: bool = False,
) -> Graph:
    """Load a registered dataset (``GRAPH_DATASETS``) from ``data_root`` (the graphs data folder).

    The processed graph is cached as ``cache_dir/graphs/<name>-<key>.pt``, the key hashing the raw files'
    sha256, the reader version and ``keep_self_loops``; an unreadable cache is rebuilt.
    """
    spec = dataset_spec(name)
    folder = dataset_folder(spec, data_root)
    hashes = check_raw_files(spec, folder, verify_checksums)
    payload = {"reader": READER_VERSION, "dataset": spec.key, "keep_self_loops": bool(keep_self_loops)}
    key = _digest(payload | {"files": hashes})
    raw_key = _digest({"files": hashes})
    cache = Path(cache_dir).expanduser() / "graphs" / f"{spec.key}-{key}.pt"
    if cache.is_file():
        try:
            graph = _graph_from_cache(cache, key)
            log.debug("%s: loaded the cached graph %s", spec.title, cache)
            return graph
        except Exception as err:  # any unreadable or inconsistent cache is rebuilt, never trusted
            warn(f"graph cache {cache} is unreadable ({type(err).__name__}: {err}); rebuilding it")
    start = time.perf_counter()
    graph = spec.reader(spec, folder, Path(cache_dir).expanduser(), bool(keep_self_loops), raw_key)
    graph = dataclasses.replace(graph, source_key=key)
    atomic_torch_save({"format": _CACHE_FORMAT, "key": key, "graph": graph.state()}, cache)
    seconds = time.perf_counter() - start
    note = {"key": key, "reader": READER_VERSION, "root": str(folder), "files": hashes, "seconds": seconds}
    atomic_write_json(cache.with_suffix(".json"), note | {"stats": graph.stats()})
    log.info("%s: read %s in %.2f s, cached in %s", spec.title, folder, seconds, cache)
    return graph


def _graph_from_cache(path: Path, key: str) -> Graph:
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("format") != _CACHE_FORMAT or data.get("key") != key:
        raise ValueError("format or key differ")
    return Graph.from_state(data["graph"])


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------------------
# Table 1
# ------------------------------------------------------------------------------------------------------------


def compare_with_paper(graph: Graph) -> list[str]:
    """Every difference between ``graph`` and its row of LEARN's Table 1, each with its known cause.

    An empty list means all five columns agree (average degree to the paper's three decimals). Components
    are counted on the undirected graph; self-loops do not change them.
    """
    paper = PAPER_TABLE1.get(graph.name)
    if paper is None:
        return [f"{graph.name!r} has no row in LEARN's Table 1 ({', '.join(PAPER_TABLE1)})"]
    notes = GRAPH_DATASETS[graph.name].paper_notes if graph.name in GRAPH_DATASETS else {}
    title = GRAPH_DATASETS[graph.name].title if graph.name in GRAPH_DATASETS else graph.name
    stats = graph.stats()
    edges, loops_here = stats["undirected_edges"], graph.num_self_loops
    simple = edges - loops_here
    loops_all = loops_here + graph.self_loops_dropped
    loop_state = "self-loops kept" if loops_here else "without self-loops"

    def with_note(text: str, column: str) -> str:
        return text + (f". Known cause: {notes[column]}" if column in notes else "")

    explain_degree = _explain_average_degree(graph, paper, simple, loops_all)
    out = []
    if graph.num_nodes != paper.nodes:
        out.append(
            with_note(f"{title} nodes: {graph.num_nodes:,} here vs {paper.nodes:,} in Table 1", "nodes")
        )
    if edges != paper.edges:
        text = f"{title} edges: {edges:,} undirected edges here ({loop_state}) vs {paper.edges:,} in Table 1"
        if graph.edge_lines is not None and graph.edge_lines == paper.edges:
            text += f"; {paper.edges:,} equals the number of directed edge lines in the raw file"
        if explain_degree:
            text += f"; Table 1's own average degree {explain_degree}"
        out.append(with_note(text, "edges"))
    if graph.num_classes != paper.communities:
        out.append(
            with_note(
                f"{title} communities: {graph.num_classes} classes here vs {paper.communities} in Table 1",
                "communities",
            )
        )
    if round(stats["average_degree"], 3) != round(paper.average_degree, 3):
        text = (
            f"{title} average degree: 2E/N = 2*{edges:,}/{graph.num_nodes:,} = {stats['average_degree']:.3f} "
            f"here vs {paper.average_degree:.3f} in Table 1"
        )
        text += (
            f"; Table 1's value {explain_degree}"
            if explain_degree
            else "; no count in these files reproduces it"
        )
        out.append(with_note(text, "average_degree"))
    if stats["components"] != paper.components:
        out.append(
            with_note(
                f"{title} components: {stats['components']:,} here (connected components of the undirected "
                f"graph, {stats['isolated_nodes']:,} isolated nodes counted as components) vs "
                f"{paper.components:,} in Table 1",
                "components",
            )
        )
    return out


def _explain_average_degree(graph: Graph, paper: PaperStats, simple: int, loops: int) -> str | None:
    """Which (edge count, node count) pair reproduces Table 1's average degree, as text (None if none does)."""
    edge_counts = [
        (simple, "the undirected edges without self-loops"),
        (simple + loops, f"the undirected edges counting the {loops:,} distinct self-loops as edges"),
    ]
    if graph.edge_lines is not None:
        edge_counts.append((graph.edge_lines, "the directed edge lines"))
    node_counts = [(graph.num_nodes, "the nodes here"), (paper.nodes, "Table 1's node count")]
    for tolerance, relation in ((5e-4, "="), (1e-3, "is close to")):
        for e, e_text in edge_counts:
            for n, n_text in node_counts:
                if n and abs(2 * e / n - paper.average_degree) < tolerance:
                    value = f"2*{e:,}/{n:,}" + ("" if relation == "=" else f" = {2 * e / n:.4f}")
                    return f"{paper.average_degree:.3f} {relation} {value}, i.e. {e_text} over {n_text}"
    return None


# ------------------------------------------------------------------------------------------------------------
# Link-prediction split
# ------------------------------------------------------------------------------------------------------------


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


def _subset(dataset: Dataset, indices: Tensor) -> Dataset:
    """The samples at ``indices``; a ``TensorDataset`` is sliced into a new one so loaders can gather batches."""
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(tensor[indices] for tensor in dataset.tensors))
    return Subset(dataset, indices.tolist())


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
    sample. Dense small graphs enumerate all pairs instead.
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
    if 2 * count > available and total_pairs <= _ENUMERATE_MAX_PAIRS:
        a, b = np.triu_indices(n, k=1)
        pairs = a.astype(np.int64) * n + b
        pairs = pairs[~_contains(edge_keys, pairs)]
        return pairs[rng.permutation(pairs.size)[:count]]
    accepted = np.empty(0, dtype=np.int64)
    while accepted.size < count:
        need = count - accepted.size
        rate = max((available - accepted.size) / (n * n), 1e-6)
        draws = min(int(need * 1.1 / rate) + 64, 50_000_000)
        a, b = rng.integers(0, n, draws), rng.integers(0, n, draws)
        keep = a != b
        candidates = np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep])
        candidates = candidates[~_contains(edge_keys, candidates)]
        merged = np.concatenate([accepted, candidates])
        _, first = np.unique(merged, return_index=True)
        accepted = merged[np.sort(first)][:count]
    return accepted


def _contains(sorted_keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Vectorised membership of ``queries`` in the sorted array ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(queries.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, queries).clip(max=sorted_keys.size - 1)
    return sorted_keys[pos] == queries


# ------------------------------------------------------------------------------------------------------------
# DataModule
# ------------------------------------------------------------------------------------------------------------

SamplesFactory = Callable[[Graph, torch.Generator], Dataset]


class GraphDataModule(pl.LightningDataModule):
    """One graph dataset for an embedding method: the graph, the link-prediction split, and sample loaders.

    ``dataset``: a key of ``GRAPH_DATASETS``; ``root``: the graphs data folder (``${paths.data_dir}/graphs``);
    ``cache_dir``: where processed graphs and splits are cached. ``task="clustering"`` trains on the full
    graph; ``"link_prediction"`` hides ``hide_fraction`` of the edges (``split_edges`` with ``split_seed``
    and ``keep_connected``) and trains on the residual graph. ``samples(train_graph, generator)`` builds the
    method's training samples (a Hydra partial); ``val_fraction`` of them is held out at random (LEARN's
    90/10 split). The generator is seeded by ``samples_seed``, or by the run seed (``torch.initial_seed()``
    at setup, i.e. after ``seed_everything``) when it is None. The test loader yields one dummy index: the
    module evaluates the whole embedding in ``test_step``.
    """

    def __init__(
        self,
        dataset: str,
        root: str,
        cache_dir: str,
        task: str = "clustering",
        hide_fraction: float = 0.5,
        split_seed: int = 0,
        keep_connected: bool = False,
        verify_checksums: bool = True,
        samples: SamplesFactory | None = None,
        batch_size: int = 1024,
        val_fraction: float = 0.1,
        num_workers: int = 0,
        pin_memory: bool = False,
        samples_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.spec = dataset_spec(dataset)
        if task not in TASKS:
            raise UserError(f"unknown task {task!r}", where="data.task", fix=f"use one of {', '.join(TASKS)}")
        hide_fraction = checks.fraction(
            hide_fraction,
            "data.hide_fraction",
            "e.g. data.hide_fraction=0.5 (LEARN hides 50 % of the links)",
            open_low=True,
        )
        val_fraction = checks.fraction(
            val_fraction,
            "data.val_fraction",
            "e.g. data.val_fraction=0.1 (LEARN's 90/10 split), or 0 for no validation",
        )
        if samples is not None and not callable(samples):
            raise UserError(
                f"samples must be a callable (graph, generator) -> Dataset, got {type(samples).__name__}",
                where="data.samples",
                fix="give a Hydra partial (_partial_: true) of the method's sample dataset, or null",
            )
        self.dataset = self.spec.key
        self.root, self.cache_dir = (
            checks.folder(root, "data.root"),
            checks.folder(cache_dir, "data.cache_dir"),
        )
        self.task = task
        self.hide_fraction, self.split_seed = hide_fraction, checks.seed(split_seed, "data.split_seed")
        self.keep_connected, self.verify_checksums = bool(keep_connected), bool(verify_checksums)
        self.samples = samples
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=1024")
        self.val_fraction = val_fraction
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory = bool(pin_memory)
        self.samples_seed = checks.optional_seed(samples_seed, "data.samples_seed")
        self._graph: Graph | None = None
        self._split: EdgeSplit | None = None
        self._train: Dataset | None = None
        self._val: Dataset | None = None
        self.paper_differences: list[str] = []
        self.split_cache: Path | None = None

    # ---- Lightning hooks -----------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Build the graph and split caches once per node before ``setup``."""
        graph = self._load_graph()
        if self.task == "link_prediction":
            self._load_split(graph)

    def setup(self, stage: str | None = None) -> None:
        if self._graph is None:
            graph = self._load_graph()
            stats = graph.stats()
            log.info("%s: %s", self.spec.title, json.dumps(stats))
            self.paper_differences = compare_with_paper(graph)
            if self.paper_differences:
                warn(
                    f"{self.spec.title} differs from LEARN's Table 1:\n  - "
                    + "\n  - ".join(self.paper_differences)
                )
            if self.task == "clustering" and graph.multi_label:
                warn(
                    f"{self.spec.title} is multi-label ({graph.num_classes} groups): `labels` is None, "
                    "clustering scores need single labels (the paper uses it for link prediction only)"
                )
            if self.task == "link_prediction":
                self._split = self._load_split(graph)
                summary = self._split.summary()
                log.info("%s link-prediction split: %s", self.spec.title, json.dumps(summary))
                stranded = summary["train_isolated_nodes"] - int(graph.isolated_nodes().numel())
                if stranded > 0:
                    warn(
                        f"{self.spec.title}: hiding {self.hide_fraction:.0%} of the edges leaves {stranded:,} "
                        "more node(s) without any training edge (data.keep_connected=true prevents it)"
                    )
            self._graph = graph
        if self.samples is not None and self._train is None and stage in (None, "fit", "validate"):
            self._build_samples()

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._require_samples(self._train), train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._require_samples(self._val), train=False)

    def test_dataloader(self) -> DataLoader:
        """One batch holding the dummy index 0: the module scores the whole embedding in ``test_step``."""
        return DataLoader(range(1), batch_size=1)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    # ---- public properties ---------------------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        return self._require(self._graph)

    @property
    def train_graph(self) -> Graph:
        """The residual graph for link prediction, the full graph for clustering."""
        graph = self.graph
        return graph if self._split is None else self._split.train_graph

    @property
    def edge_split(self) -> EdgeSplit | None:
        self._require(self._graph)
        return self._split

    @property
    def labels(self) -> Tensor | None:
        return self.graph.labels

    @property
    def label_matrix(self) -> Tensor | None:
        return self.graph.label_matrix

    @property
    def label_mask(self) -> Tensor | None:
        return self.graph.label_mask

    @property
    def num_nodes(self) -> int:
        """Known before setup from the registry's measured counts (models are built before the data)."""
        return self.spec.measured["nodes"] if self._graph is None else self._graph.num_nodes

    @property
    def num_classes(self) -> int:
        return self.spec.measured["classes"] if self._graph is None else self._graph.num_classes

    @property
    def train_dataset(self) -> Dataset:
        return self._require_samples(self._train)

    @property
    def val_dataset(self) -> Dataset:
        return self._require_samples(self._val)

    def dataset_summary(self) -> dict[str, Any]:
        """Graph statistics, Table 1 differences, split and sample counts, for the run record."""
        graph = self.graph
        return {
            "name": self.spec.title,
            "source": self.spec.source,
            "task": self.task,
            "stats": graph.stats(),
            "paper_table1": dataclasses.asdict(PAPER_TABLE1[self.dataset]),
            "paper_differences": list(self.paper_differences),
            "source_key": graph.source_key,
            "split": None if self._split is None else self._split.summary(),
            "split_cache": None if self.split_cache is None else str(self.split_cache),
            "samples": None if self._train is None else {"train": len(self._train), "val": len(self._val)},
        }

    # ---- internals -----------------------------------------------------------------------------------------

    def _load_graph(self) -> Graph:
        return load_graph(self.dataset, self.root, self.cache_dir, verify_checksums=self.verify_checksums)

    def _load_split(self, graph: Graph) -> EdgeSplit:
        """The split cached under ``cache_dir/graphs/splits``, keyed by its parameters and the raw data."""
        payload = {
            "version": SPLIT_VERSION,
            "dataset": self.dataset,
            "hide_fraction": self.hide_fraction,
            "seed": self.split_seed,
            "keep_connected": self.keep_connected,
            "graph": graph.source_key,
        }
        key = _digest(payload)
        path = self.cache_dir / "graphs" / "splits" / f"{self.dataset}-{key}.pt"
        self.split_cache = path
        if path.is_file():
            try:
                data = torch.load(path, map_location="cpu", weights_only=True)
                if data.get("format") != _CACHE_FORMAT or data.get("key") != key:
                    raise ValueError("format or key differ")
                return EdgeSplit.from_state(graph, data["split"])
            except Exception as err:  # any unreadable or inconsistent cache is rebuilt, never trusted
                warn(f"split cache {path} is unreadable ({type(err).__name__}: {err}); rebuilding it")
        split = split_edges(graph, self.hide_fraction, self.split_seed, self.keep_connected)
        atomic_torch_save({"format": _CACHE_FORMAT, "key": key, "split": split.state()}, path)
        atomic_write_json(path.with_suffix(".json"), payload | {"summary": split.summary()})
        return split

    def _build_samples(self) -> None:
        seed = self.samples_seed if self.samples_seed is not None else torch.initial_seed()
        generator = torch.Generator().manual_seed(derive_seed("graph-samples", self.dataset, self.task, seed))
        dataset = self.samples(self.train_graph, generator)
        try:
            n = len(dataset)
        except TypeError as err:
            raise UserError(
                f"samples returned a {type(dataset).__name__} without a length",
                where="data.samples",
                fix="return a map-style torch Dataset (with __len__ and __getitem__)",
            ) from err
        if n == 0:
            raise UserError(
                f"samples built no training samples for {self.spec.title}",
                where="data.samples",
                fix="check the sampler's parameters (walk length, walks per node, ...)",
            )
        n_val = 0
        if self.val_fraction > 0 and n >= 2:
            n_val = min(max(round(n * self.val_fraction), 1), n - 1)
        perm = torch.randperm(
            n, generator=torch.Generator().manual_seed(derive_seed("graph-val", self.split_seed))
        )
        self._val = _subset(dataset, perm[:n_val].sort().values)
        self._train = _subset(dataset, perm[n_val:].sort().values)
        log.info("%s: %d training / %d validation samples", self.spec.title, n - n_val, n_val)

    def _loader(self, dataset: Dataset, *, train: bool) -> DataLoader:
        """Private loader generator; the training shuffle draws from the global RNG lazily (see pointclouds).

        A ``TensorDataset`` is read a whole batch at a time (one tensor gather instead of ``batch_size``
        ``__getitem__`` calls and a collate): at LEARN's 4,096 pairs per batch that was ~2 s of every Cora epoch.
        """
        if isinstance(dataset, TensorDataset):
            order = RandomSampler(dataset) if train and len(dataset) else SequentialSampler(dataset)
            return DataLoader(
                dataset,
                sampler=BatchSampler(order, self.batch_size, drop_last=False),
                batch_size=None,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                persistent_workers=self.num_workers > 0,
                generator=torch.Generator(),
            )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=RandomSampler(dataset) if train and len(dataset) else None,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator(),
        )

    def _require(self, value: Any) -> Any:
        if value is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for the graph or loaders")
        return value

    def _require_samples(self, dataset: Dataset | None) -> Dataset:
        if self.samples is None:
            raise UserError(
                f"{type(self).__name__} has no training samples: data.samples is null",
                where="data.samples",
                fix="set data.samples to the method's sample dataset (a Hydra partial taking "
                "(graph, generator)), as the method's experiment config does",
            )
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup('fit') before asking for training loaders")
        return dataset
