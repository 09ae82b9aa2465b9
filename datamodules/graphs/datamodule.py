"""``GraphDataModule``: one graph dataset for an embedding method, its link-prediction split and sample loaders.

It loads the graph (``sources``), reports its differences to LEARN's Table 1 (``paper``), caches the split
(``splits``) under ``cache_dir`` keyed by its parameters and the raw data, and wraps a method-specific
``samples`` dataset (``samplers``: LEARN pairs, walks, LINE edges, SDNE vertices) in loaders; evaluation uses the
whole embedding at once, so the test loader yields a single dummy index.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
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
from datamodules.graphs.edgelist import USER_GRAPH, user_graph_spec
from datamodules.graphs.graph import Graph
from datamodules.graphs.logs import warn
from datamodules.graphs.paper import PAPER_TABLE1, compare_with_paper
from datamodules.graphs.samplers import SeededBatches, WalkCorpus
from datamodules.graphs.sources import CACHE_FORMAT, dataset_spec, digest, load_graph
from datamodules.graphs.splits import SPLIT_VERSION, EdgeSplit, split_edges
from datamodules.pointclouds import derive_seed
from zoo.errors import UserError, non_negative_int, positive_int
from zoo.io import atomic_torch_save, atomic_write_json

log = logging.getLogger(__name__)

TASKS = ("clustering", "link_prediction")

SamplesFactory = Callable[[Graph, torch.Generator], Dataset]


class GraphDataModule(pl.LightningDataModule):
    """One graph dataset for an embedding method: the graph, the link-prediction split, and sample loaders.

    ``dataset``: a key of ``GRAPH_DATASETS``; ``root``: the graphs data folder (``${paths.data_dir}/graphs``);
    ``cache_dir``: where processed graphs and splits are cached. ``task="clustering"`` trains on the full
    graph; ``"link_prediction"`` hides ``hide_fraction`` of the edges (``split_edges`` with ``split_seed``
    and ``keep_connected``) and trains on the residual graph. ``samples(train_graph, generator)`` builds the
    method's training samples (a Hydra partial); ``val_fraction`` of them is held out at random (LEARN's
    90/10 split). The generator is seeded by ``samples_seed``, or by the run seed (``torch.initial_seed()``
    at setup, i.e. after ``seed_everything``) when it is None. ``download`` fetches missing raw files from
    their pinned URLs into ``root`` (checked against the pinned sha256). The test loader yields one dummy
    index: the module evaluates the whole embedding in ``test_step``.

    ``min_steps_per_epoch`` (None: off) shrinks the batch on small graphs so that an epoch is at least that many
    optimiser steps: the number of samples grows with the graph, and a batch size chosen for Cora's ~400 k LEARN
    pairs is one step per epoch on a 100-vertex graph, where early stopping (counted in epochs) then ends
    training after a handful of steps. ``batch_size`` stays the ceiling.
    """

    def __init__(
        self,
        dataset: str,
        root: str,
        cache_dir: str,
        task: str = "clustering",
        hide_fraction: float = 0.5,
        split_seed: int | None = 0,
        keep_connected: bool = False,
        verify_checksums: bool = True,
        samples: SamplesFactory | None = None,
        batch_size: int = 1024,
        min_steps_per_epoch: int | None = None,
        val_fraction: float = 0.1,
        num_workers: int = 0,
        pin_memory: bool = False,
        samples_seed: int | None = None,
        download: bool = False,
        edges_file: str | None = None,
        labels_file: str | None = None,
    ) -> None:
        super().__init__()
        self.spec = (
            user_graph_spec(edges_file, labels_file) if dataset == USER_GRAPH else dataset_spec(dataset)
        )
        if dataset != USER_GRAPH and (edges_file or labels_file):
            raise UserError(
                f"data.edges_file / data.labels_file are set, but data.dataset={dataset} would load that dataset "
                "and ignore them",
                where="data.dataset",
                fix="data.dataset=edgelist to use your files (or drop data.edges_file / data.labels_file)",
            )
        if dataset == USER_GRAPH and task == "clustering" and not labels_file:
            raise UserError(
                "clustering is scored against labels, and no labels file was given",
                where="data.labels_file",
                fix="data.labels_file=/path/to/labels.txt ('node label' lines), or data.task=link_prediction",
            )
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
        self.hide_fraction = hide_fraction
        self._split_seed = checks.optional_seed(split_seed, "data.split_seed")
        self.keep_connected, self.verify_checksums = bool(keep_connected), bool(verify_checksums)
        self.samples = samples
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=1024")
        self.min_steps_per_epoch = (
            None
            if min_steps_per_epoch is None
            else positive_int(min_steps_per_epoch, "data.min_steps_per_epoch", "e.g. 50, or null for off")
        )
        self.val_fraction = val_fraction
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory = bool(pin_memory)
        self.samples_seed = checks.optional_seed(samples_seed, "data.samples_seed")
        self.download = bool(download)
        self._graph: Graph | None = None
        self._split: EdgeSplit | None = None
        self._train: Dataset | None = None
        self._val: Dataset | None = None
        self._val_walk_seed = 0
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
            self.paper_differences = compare_with_paper(graph) if self.dataset in PAPER_TABLE1 else []
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

    def describe(self) -> dict[str, Any]:
        """What a graph method is sized by (``ZooModule.configure_for_data``): the training graph's symmetric
        CSR adjacency (``rowptr``, ``col``, ``weight``) and whether its weights carry information."""
        rowptr, col, weight = self.train_graph.to_csr()
        return {"rowptr": rowptr, "col": col, "weight": weight, "weighted": bool(self.train_graph.weighted)}

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
        """Known before setup from the registry's measured counts; a user's graph is read (and cached) for it."""
        return self._count("nodes", "num_nodes")

    @property
    def num_classes(self) -> int:
        return self._count("classes", "num_classes")

    def _count(self, measured: str, attribute: str) -> int:
        if self._graph is not None:
            return getattr(self._graph, attribute)
        if measured in self.spec.measured:
            return self.spec.measured[measured]
        return getattr(self._load_graph(), attribute)

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
            "paper_table1": (
                dataclasses.asdict(PAPER_TABLE1[self.dataset]) if self.dataset in PAPER_TABLE1 else None
            ),
            "paper_differences": list(self.paper_differences),
            "source_key": graph.source_key,
            "split": None if self._split is None else self._split.summary(),
            "split_cache": None if self.split_cache is None else str(self.split_cache),
            "samples": None if self._train is None else {"train": len(self._train), "val": len(self._val)},
            "batch_size": self.batch_size,
        }

    # ---- internals -----------------------------------------------------------------------------------------

    def _load_graph(self) -> Graph:
        return load_graph(
            self.spec,
            self.root,
            self.cache_dir,
            verify_checksums=self.verify_checksums,
            download=self.download,
        )

    @property
    def split_seed(self) -> int:
        """``data.split_seed``, or the run seed when it is None: each seed of a record re-draws the hidden edges and
        the train / validation split of the samples, as the paper's repeats do ("randomly hide ... repeat")."""
        return self._split_seed if self._split_seed is not None else torch.initial_seed() % 2**32

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
        key = digest(payload)
        path = self.cache_dir / "graphs" / "splits" / f"{self.dataset}-{key}.pt"
        self.split_cache = path
        if path.is_file():
            try:
                data = torch.load(path, map_location="cpu", weights_only=True)
                if data.get("format") != CACHE_FORMAT or data.get("key") != key:
                    raise ValueError("format or key differ")
                return EdgeSplit.from_state(graph, data["split"])
            except Exception as err:  # any unreadable or inconsistent cache is rebuilt, never trusted
                warn(f"split cache {path} is unreadable ({type(err).__name__}: {err}); rebuilding it")
        split = split_edges(graph, self.hide_fraction, self.split_seed, self.keep_connected)
        atomic_torch_save({"format": CACHE_FORMAT, "key": key, "split": split.state()}, path)
        atomic_write_json(path.with_suffix(".json"), payload | {"summary": split.summary()})
        return split

    def _build_samples(self) -> None:
        seed = self.samples_seed if self.samples_seed is not None else torch.initial_seed()
        generator = torch.Generator().manual_seed(derive_seed("graph-samples", self.dataset, self.task, seed))
        self._val_walk_seed = derive_seed("graph-val-walks", self.dataset, self.task, seed)
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
        if self.min_steps_per_epoch is not None:
            wanted = math.ceil((n - n_val) / self.min_steps_per_epoch)
            if wanted < self.batch_size:
                log.info(
                    "%s: batch size %d -> %d, so that an epoch is at least %d steps (data.min_steps_per_epoch)",
                    self.spec.title,
                    self.batch_size,
                    wanted,
                    self.min_steps_per_epoch,
                )
                self.batch_size = wanted
        log.info("%s: %d training / %d validation samples", self.spec.title, n - n_val, n_val)

    def _loader(self, dataset: Dataset, *, train: bool) -> DataLoader:
        """Private loader generator; the training shuffle draws from the global RNG lazily (see pointclouds).

        A ``TensorDataset`` is read a whole batch at a time (one tensor gather instead of ``batch_size``
        ``__getitem__`` calls and a collate): at LEARN's 4,096 pairs per batch that was ~2 s of every Cora epoch.
        A ``WalkCorpus`` draws each batch's walks from the seed ``SeededBatches`` pairs with it.
        """
        if isinstance(dataset, WalkCorpus):
            order = RandomSampler(dataset) if train and len(dataset) else SequentialSampler(dataset)
            return DataLoader(
                dataset,
                sampler=SeededBatches(order, self.batch_size, None if train else self._val_walk_seed),
                batch_size=None,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                persistent_workers=self.num_workers > 0,
                generator=torch.Generator(),
            )
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


def _subset(dataset: Dataset, indices: Tensor) -> Dataset:
    """The samples at ``indices``; a ``TensorDataset`` is sliced into a new one so loaders can gather batches."""
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(tensor[indices] for tensor in dataset.tensors))
    if isinstance(dataset, WalkCorpus):
        return dataset.subset(indices)
    return Subset(dataset, indices.tolist())
