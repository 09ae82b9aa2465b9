"""Raw-file readers: Planetoid (Cora, CiteSeer), OpenNE's Wiki edge/label lists, DeepWalk's BlogCatalog .mat.

Each reader turns one dataset's raw files (already checksummed by ``sources``) into a ``Graph``; a malformed
file is a ``UserError`` naming it. Readers have the signature ``(spec, folder, cache_dir, keep_self_loops,
raw_key)`` so the registry in ``sources`` can hold them.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch

from datamodules.graphs.graph import Graph, count_distinct
from datamodules.graphs.logs import warn
from zoo.errors import UserError

if TYPE_CHECKING:
    from datamodules.graphs.sources import GraphDatasetSpec

FIX_REDOWNLOAD = "re-download the file"


def read_planetoid(
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


def read_wiki(
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
    if count_distinct(nodes) != nodes.size:
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


def read_blogcatalog(
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
            f"cannot read {path.name} ({err.strerror or err})", where=str(path), fix=FIX_REDOWNLOAD
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
    return UserError(f"corrupt graph file {path.name}: {problem}", where=str(path), fix=FIX_REDOWNLOAD)
