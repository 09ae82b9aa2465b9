"""Graph datasets for network embedding (LEARN, Fathy & Li, ICONIP 2019, §5): Cora, CiteSeer, Wiki, BlogCatalog.

One module per job; this package re-exports their public names, so ``datamodules.graphs.GraphDataModule``
(the configs' ``_target_``) and ``from datamodules.graphs import load_graph, split_edges, ...`` keep working:

- ``graph``: the ``Graph`` type (undirected, both directions stored, deduplicated, sorted, labelled);
- ``sources``: dataset specs with pinned URLs and sha256s, checksum checks, download, the processed-graph
  cache and ``load_graph``; ``readers``: the raw-file readers (Planetoid, OpenNE's Wiki, DeepWalk's
  BlogCatalog);
- ``paper``: LEARN's Table 1 and ``compare_with_paper``, which explains every difference;
- ``splits``: node2vec's link-prediction split (hidden edges, non-edge negatives, spanning forest);
- ``csr``, ``hops``, ``sampling``: CSR helpers, exact hop distances, random walks, skip-gram and LEARN pairs;
- ``samplers``: the methods' training samples (``data.samples``: LEARN pairs, walks, LINE edges, SDNE vertices);
- ``datamodule``: ``GraphDataModule``, which ties them together for a method's samples.
"""

from __future__ import annotations

from datamodules.graphs.datamodule import TASKS, GraphDataModule, SamplesFactory
from datamodules.graphs.graph import Graph
from datamodules.graphs.logs import warn
from datamodules.graphs.paper import PAPER_TABLE1, PaperStats, compare_with_paper
from datamodules.graphs.sources import (
    GRAPH_DATASETS,
    PLANETOID_EXTENSIONS,
    READER_VERSION,
    GraphDatasetSpec,
    Reader,
    check_raw_files,
    dataset_folder,
    dataset_spec,
    fetch_missing_files,
    load_graph,
)
from datamodules.graphs.splits import SPLIT_VERSION, EdgeSplit, split_edges
from zoo.download import sha256_file

__all__ = [
    "GRAPH_DATASETS",
    "PAPER_TABLE1",
    "PLANETOID_EXTENSIONS",
    "READER_VERSION",
    "SPLIT_VERSION",
    "TASKS",
    "EdgeSplit",
    "Graph",
    "GraphDataModule",
    "GraphDatasetSpec",
    "PaperStats",
    "Reader",
    "SamplesFactory",
    "check_raw_files",
    "compare_with_paper",
    "dataset_folder",
    "dataset_spec",
    "fetch_missing_files",
    "load_graph",
    "sha256_file",
    "split_edges",
    "warn",
]
