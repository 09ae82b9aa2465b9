"""A graph of the user's own (``data.dataset=edgelist``): an edge list file and, optionally, a labels file.

``data.edges_file``: one edge per line, ``u v`` or ``u v w`` (a positive weight; then the graph is weighted),
whitespace-separated, ``#`` / ``%`` comment lines allowed; the graph is made undirected (duplicates keep the
largest weight) and self-loops are dropped, as for the registered datasets. ``data.labels_file`` (needed for
clustering): ``node label`` lines, one per labelled node, the label being the rest of the line (without the file,
no vertex counts as labelled). Node and label tokens are names, not numbers: the
vertices are renumbered 0..N−1 in the sorted order of their names (strings, so "10" comes before "2"), labels
likewise. The files are hashed, so the processed graph and its split are cached and rebuilt when a file changes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from datamodules.graphs.graph import Graph
from datamodules.graphs.sources import GraphDatasetSpec
from zoo.download import sha256_file
from zoo.errors import UserError

USER_GRAPH = "edgelist"
_FIX = "one edge per line: 'u v' or 'u v weight' (weight > 0); labels: one 'node label' line per node"


def user_graph_spec(edges_file: str | None, labels_file: str | None) -> GraphDatasetSpec:
    """The registry entry of the user's files (their sha256 pinned as found), read by ``read_edgelist``."""
    if not edges_file:
        raise UserError(
            "data.dataset=edgelist needs the edge list file",
            where="data.edges_file",
            fix="data.edges_file=/path/to/edges.txt (and data.labels_file=... for clustering)",
        )
    paths = {"data.edges_file": edges_file} | ({"data.labels_file": labels_file} if labels_file else {})
    resolved = []
    for key, value in paths.items():
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise UserError(
                f"{path} is not a file", where=key, fix=f"give the path of an existing file ({_FIX})"
            )
        resolved.append(path)
    return GraphDatasetSpec(
        key=USER_GRAPH,
        title=f"edge list {resolved[0].name}",
        folder="/",  # the file names below are absolute paths
        files={str(path): sha256_file(path) for path in resolved},
        urls={},
        source=str(resolved[0]),
        reader=read_edgelist,
        measured={},
        paper_tasks=("clustering", "link_prediction"),
    )


def read_edgelist(
    spec: GraphDatasetSpec, folder: Path, cache_dir: Path, keep_self_loops: bool, raw_key: str
) -> Graph:
    """The graph of ``spec.files``: the edge list first, then the labels file if any."""
    names = [Path(name) for name in spec.files]
    edges = _read_table(names[0], (2, 3))
    labels = _read_labels(names[1]) if len(names) > 1 else None
    label_nodes = labels[:, 0] if labels is not None else np.empty(0, dtype=str)
    vertex_names, ids = np.unique(
        np.concatenate([edges[:, 0], edges[:, 1], label_nodes]), return_inverse=True
    )
    num_nodes, num_edges = vertex_names.size, edges.shape[0]
    weight = None
    if edges.shape[1] == 3:
        try:
            weight = edges[:, 2].astype(np.float64)
        except ValueError as err:
            raise _bad(names[0], f"a weight is not a number ({err})") from err
        if not np.isfinite(weight).all() or (weight <= 0).any():
            raise _bad(names[0], "weights must be finite and > 0")
    # Graph holds single labels for every vertex; an unlabelled graph marks none as labelled (link prediction only)
    fields: dict[str, object] = {
        "labels": torch.zeros(num_nodes, dtype=torch.int64),
        "num_classes": 1,
        "label_mask": torch.zeros(num_nodes, dtype=torch.bool),
    }
    if labels is not None:
        labelled = ids[2 * num_edges :]
        if np.unique(labelled).size != labelled.size:
            raise _bad(names[1], "a node is listed more than once")
        label_names, label_ids = np.unique(labels[:, 1], return_inverse=True)
        label_tensor = np.zeros(num_nodes, dtype=np.int64)
        label_tensor[labelled] = label_ids
        mask = np.zeros(num_nodes, dtype=bool)
        mask[labelled] = True
        fields = {
            "labels": torch.from_numpy(label_tensor),
            "num_classes": int(label_names.size),
            "label_mask": None if mask.all() else torch.from_numpy(mask),
        }
    return Graph.from_edges(
        USER_GRAPH,
        num_nodes,
        ids[:num_edges],
        ids[num_edges : 2 * num_edges],
        weight,
        keep_self_loops=keep_self_loops,
        edge_lines=num_edges,
        **fields,
    )


def _read_table(path: Path, widths: tuple[int, ...]) -> np.ndarray:
    """Whitespace-separated tokens, the same number per line (one of ``widths``), as a string array."""
    try:
        with warnings.catch_warnings():  # numpy's note that blank lines do not count towards max_rows
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(path, dtype=str, comments=("#", "%"), ndmin=2, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise _bad(path, f"cannot read it ({err})") from err
    except ValueError as err:  # lines with different numbers of values
        raise _bad(path, f"every line needs the same number of values ({err})") from err
    if table.size == 0:
        raise _bad(path, "no data lines")
    if table.shape[1] not in widths:
        raise _bad(path, f"expected {' or '.join(map(str, widths))} values per line, found {table.shape[1]}")
    return table


def _read_labels(path: Path) -> np.ndarray:
    """``node label`` lines as a [n, 2] string array; the label is the rest of the line ("Mr. Hi" is one label)."""
    try:
        lines = np.char.strip(np.array(path.read_text(encoding="utf-8").splitlines() or [""], dtype=str))
    except (OSError, UnicodeDecodeError) as err:
        raise _bad(path, f"cannot read it ({err})") from err
    lines = lines[
        (np.char.str_len(lines) > 0) & ~np.char.startswith(lines, "#") & ~np.char.startswith(lines, "%")
    ]
    if lines.size == 0:
        raise _bad(path, "no data lines")
    parts = np.char.partition(np.char.replace(lines, "\t", " "), " ")
    node, label = parts[:, 0], np.char.strip(parts[:, 2])
    if (np.char.str_len(label) == 0).any():
        raise _bad(path, f"a line has a node but no label: {str(node[np.char.str_len(label) == 0][0])!r}")
    return np.stack([node, label], axis=1)


def _bad(path: Path, problem: str) -> UserError:
    return UserError(f"cannot use {path.name}: {problem}", where=str(path), fix=_FIX)
