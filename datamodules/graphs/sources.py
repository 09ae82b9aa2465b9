"""Where the graph datasets come from: specs with pinned URLs and sha256s, checksum checks, download, cache.

Raw files are checked against the sha256 of the copy in the shared data folder before use; with
``download=True`` missing ones are fetched from their pinned upstream URL (``zoo.download``, verified against
the same sha256) into the dataset folder, the only case in which anything is written under the data root.
Processed graphs are cached under ``cache_dir`` with keys over the raw checksums and the reader version,
written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from datamodules.graphs.graph import Graph
from datamodules.graphs.logs import warn
from datamodules.graphs.readers import read_blogcatalog, read_planetoid, read_wiki
from zoo.download import download_file, sha256_file
from zoo.errors import UserError
from zoo.io import atomic_torch_save, atomic_write_json

log = logging.getLogger(__name__)

# Bump when reading changes: it is part of the cache keys.
READER_VERSION = "graphs-reader-1"
CACHE_FORMAT = 1

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
        reader=read_planetoid,
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
        reader=read_planetoid,
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
        reader=read_wiki,
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
        reader=read_blogcatalog,
        measured={"nodes": 10_312, "undirected_edges": 333_983, "classes": 39},
        multi_label=True,
        paper_tasks=("link_prediction",),
    ),
}


def dataset_spec(name: str) -> GraphDatasetSpec:
    spec = GRAPH_DATASETS.get(str(name).lower())
    if spec is None:
        raise UserError(
            f"unknown graph dataset {name!r}",
            where="data.dataset",
            fix=f"use one of {', '.join(GRAPH_DATASETS)}, or edgelist with data.edges_file=<your edge list>",
        )
    return spec


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
            fix=f"point data.root (or DATA_DIR) at the graphs folder that holds {spec.folder}/, set "
            f"data.download=true, or download the files from {spec.source} into {folder} ({urls}){hint}",
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


def fetch_missing_files(spec: GraphDatasetSpec, folder: Path) -> list[str]:
    """Download the raw files missing in ``folder`` from their pinned URLs, each checked against its sha256."""
    missing = [name for name in spec.files if not (folder / name).is_file()]
    for name in missing:
        download_file(
            spec.urls[name],
            folder / name,
            sha256=spec.files[name],
            where=f"data.download=true -> {folder / name}",
            hint=spec.download_hint or f"source: {spec.source}",
        )
    return missing


def load_graph(
    name: str | GraphDatasetSpec,
    data_root: str | os.PathLike,
    cache_dir: str | os.PathLike,
    *,
    verify_checksums: bool = True,
    keep_self_loops: bool = False,
    download: bool = False,
) -> Graph:
    """Load a registered dataset (``GRAPH_DATASETS``, or a spec such as a user's edge list) from ``data_root``.

    ``download`` first fetches missing raw files into the dataset folder. The processed graph is cached as
    ``cache_dir/graphs/<name>-<key>.pt``, the key hashing the raw files' sha256, the reader version and
    ``keep_self_loops``; an unreadable cache is rebuilt.
    """
    spec = name if isinstance(name, GraphDatasetSpec) else dataset_spec(name)
    folder = dataset_folder(spec, data_root)
    if download:
        fetch_missing_files(spec, folder)
    hashes = check_raw_files(spec, folder, verify_checksums)
    payload = {"reader": READER_VERSION, "dataset": spec.key, "keep_self_loops": bool(keep_self_loops)}
    key = digest(payload | {"files": hashes})
    raw_key = digest({"files": hashes})
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
    atomic_torch_save({"format": CACHE_FORMAT, "key": key, "graph": graph.state()}, cache)
    seconds = time.perf_counter() - start
    note = {"key": key, "reader": READER_VERSION, "root": str(folder), "files": hashes, "seconds": seconds}
    atomic_write_json(cache.with_suffix(".json"), note | {"stats": graph.stats()})
    log.info("%s: read %s in %.2f s, cached in %s", spec.title, folder, seconds, cache)
    return graph


def _graph_from_cache(path: Path, key: str) -> Graph:
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("format") != CACHE_FORMAT or data.get("key") != key:
        raise ValueError("format or key differ")
    return Graph.from_state(data["graph"])


def digest(payload: Mapping[str, Any]) -> str:
    """A short, stable cache key over a JSON-able payload."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
