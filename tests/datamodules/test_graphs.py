"""Graph datasets for LEARN: loaders on the real files, checksums, Table 1 comparison, edge split, DataModule."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from datamodules import graphs
from datamodules.graphs import (
    GRAPH_DATASETS,
    PAPER_TABLE1,
    EdgeSplit,
    Graph,
    GraphDataModule,
    compare_with_paper,
    load_graph,
    split_edges,
)
from zoo.errors import UserError

# Measured on the shared copy (graphs/MANIFEST.md): nodes, undirected edges without self-loops, classes,
# distinct self-loops dropped, components of the undirected graph.
EXPECTED = {
    "cora": (2_708, 5_278, 7, 0, 78),
    "citeseer": (3_327, 4_552, 6, 124, 438),
    "wiki": (2_405, 11_596, 17, 1_165, 45),
    "blogcatalog": (10_312, 333_983, 39, 0, 1),
}


@pytest.fixture(scope="module")
def graphs_root(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "graphs"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graph-cache")


@pytest.fixture(scope="module")
def loaded(graphs_root: Path, cache_dir: Path) -> dict[str, Graph]:
    return {name: load_graph(name, graphs_root, cache_dir) for name in GRAPH_DATASETS}


@pytest.fixture(scope="module")
def cora_split(loaded: dict[str, Graph]) -> EdgeSplit:
    return split_edges(loaded["cora"], 0.5, seed=0)


def _keys(pairs: torch.Tensor | np.ndarray, n: int) -> np.ndarray:
    pairs = np.asarray(pairs)
    return np.minimum(pairs[0], pairs[1]) * n + np.maximum(pairs[0], pairs[1])


def _isin(queries: np.ndarray, values: np.ndarray) -> np.ndarray:
    """np.isin by binary search (numpy 2.4's np.isin / np.unique are ~100x slower on 10^6 int64 keys)."""
    values = np.sort(values)
    pos = np.searchsorted(values, queries).clip(max=max(values.size - 1, 0))
    return values[pos] == queries if values.size else np.zeros(queries.shape, dtype=bool)


def _all_distinct(values: np.ndarray) -> bool:
    return bool((np.diff(np.sort(values)) != 0).all())


def _edge_keys(graph: Graph) -> np.ndarray:
    """Directed keys src * N + dst of every stored edge."""
    src, dst = graph.edge_index.numpy()
    return src * graph.num_nodes + dst


def _synthetic(seed: int = 0) -> Graph:
    """Two random components, a tree hanging off one, an isolated node, duplicates and a self-loop."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 30, (2, 120))
    b = rng.integers(30, 50, (2, 60))
    a, b = a[:, a[0] != a[1]], b[:, b[0] != b[1]]
    chain = np.array([[50, 51, 52], [51, 52, 10]])  # 53 stays isolated
    edges = np.concatenate([a, b, chain, [[7, 7], [7, 8]]], axis=1)  # (7, 7) is a self-loop
    labels = torch.arange(54) % 3
    return Graph.from_edges("synthetic", 54, edges[0], edges[1], labels=labels)


# ---- loaders on the real files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_real_datasets_have_the_measured_counts(loaded: dict[str, Graph], name: str) -> None:
    graph = loaded[name]
    nodes, edges, classes, loops, components = EXPECTED[name]
    assert graph.name == name
    assert graph.num_nodes == nodes
    assert graph.num_undirected_edges == edges
    assert graph.edge_index.shape == (2, 2 * edges)
    assert graph.num_classes == classes
    assert graph.self_loops_dropped == loops
    assert graph.num_self_loops == 0
    assert graph.num_components() == components
    assert not graph.weighted and torch.all(graph.edge_weight == 1)
    spec = GRAPH_DATASETS[name].measured
    assert (spec["nodes"], spec["undirected_edges"], spec["classes"]) == (nodes, edges, classes)
    stats = graph.stats()
    assert stats["average_degree"] == pytest.approx(2 * edges / nodes)
    assert (stats["nodes"], stats["undirected_edges"], stats["communities"]) == (nodes, edges, classes)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_edges_are_symmetric_unique_and_csr_matches(loaded: dict[str, Graph], name: str) -> None:
    graph = loaded[name]
    n = graph.num_nodes
    keys = _edge_keys(graph)
    assert _all_distinct(keys)  # no duplicate
    src, dst = graph.edge_index.numpy()
    assert _isin(dst * n + src, keys).all()  # both directions stored
    assert (np.diff(keys) > 0).all()  # sorted by (source, target)
    rowptr, col, weight = graph.to_csr()
    assert rowptr.shape == (n + 1,) and rowptr[0] == 0 and rowptr[-1] == keys.size
    assert torch.all(rowptr[1:] >= rowptr[:-1])
    rows = torch.repeat_interleave(torch.arange(n), rowptr[1:] - rowptr[:-1])
    assert np.array_equal(rows.numpy() * n + col.numpy(), np.sort(keys))
    assert torch.equal(graph.degree(), rowptr[1:] - rowptr[:-1])
    assert weight.shape == col.shape
    assert graph.to_csr()[0] is rowptr  # cached


def test_labels_per_dataset(loaded: dict[str, Graph]) -> None:
    for name in ("cora", "citeseer", "wiki"):
        graph = loaded[name]
        assert graph.label_matrix is None and graph.labels.shape == (graph.num_nodes,)
        assert torch.equal(graph.labels.unique(), torch.arange(graph.num_classes))
    assert loaded["cora"].label_mask is None and loaded["wiki"].label_mask is None
    # CiteSeer: Planetoid pads 15 test ids that have no feature / label row; they are marked unlabelled
    mask = loaded["citeseer"].label_mask
    assert int((~mask).sum()) == 15 and int(mask.sum()) == PAPER_TABLE1["citeseer"].nodes
    assert torch.all(loaded["citeseer"].labels[~mask] == 0)
    assert loaded["citeseer"].degree()[~mask].min() >= 1  # they are not isolated
    blog = loaded["blogcatalog"]
    assert blog.labels is None and blog.multi_label
    assert blog.label_matrix.dtype == torch.bool and blog.label_matrix.shape == (10_312, 39)
    assert int(blog.label_matrix.sum()) == 14_476 and bool(blog.label_matrix.any(dim=1).all())


def test_wiki_edge_lines_and_isolated_nodes(loaded: dict[str, Graph]) -> None:
    wiki = loaded["wiki"]
    assert wiki.edge_lines == 17_981
    assert wiki.stats()["directed_edge_lines"] == 17_981
    assert int(wiki.isolated_nodes().numel()) == 42  # nodes whose only lines are self-loops
    assert "directed_edge_lines" not in loaded["cora"].stats()


def test_keeping_self_loops_reproduces_the_papers_wiki_average_degree(
    graphs_root: Path, tmp_path: Path
) -> None:
    wiki = load_graph("wiki", graphs_root, tmp_path, keep_self_loops=True)
    assert wiki.num_self_loops == 1_165 and wiki.self_loops_dropped == 0
    assert wiki.num_undirected_edges == 11_596 + 1_165
    assert round(wiki.stats()["average_degree"], 3) == PAPER_TABLE1["wiki"].average_degree
    assert wiki.num_components() == 45
    differences = compare_with_paper(wiki)
    assert len(differences) == 1 and "edges" in differences[0]


def test_planetoid_self_loops_are_restored_on_request(graphs_root: Path, tmp_path: Path) -> None:
    citeseer = load_graph("citeseer", graphs_root, tmp_path, keep_self_loops=True)
    assert citeseer.num_self_loops == 124 and citeseer.num_undirected_edges == 4_676
    assert (tmp_path / "graphs").is_dir()  # the Planetoid copy and processed files live in the cache


def test_a_data_root_one_level_up_is_accepted(shared_data_dir: Path, cache_dir: Path) -> None:
    if not (shared_data_dir / "graphs" / "wiki").is_dir():
        pytest.skip("no graphs/wiki in the data root")
    assert load_graph("wiki", shared_data_dir, cache_dir).num_nodes == 2_405


def test_cached_graph_is_reused_and_a_broken_cache_rebuilt(
    graphs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = load_graph("wiki", graphs_root, tmp_path)
    cached = list((tmp_path / "graphs").glob("wiki-*.pt"))
    assert len(cached) == 1 and cached[0].with_suffix(".json").is_file()
    spec = GRAPH_DATASETS["wiki"]

    def no_reader(*args: object) -> Graph:
        raise AssertionError("the reader ran although a cache exists")

    monkeypatch.setitem(GRAPH_DATASETS, "wiki", graphs.dataclasses.replace(spec, reader=no_reader))
    second = load_graph("wiki", graphs_root, tmp_path)
    assert torch.equal(first.edge_index, second.edge_index) and torch.equal(first.labels, second.labels)
    assert second.source_key == first.source_key and second.edge_lines == 17_981
    monkeypatch.setitem(GRAPH_DATASETS, "wiki", spec)
    cached[0].write_bytes(b"not a torch file")
    with caplog.at_level(logging.WARNING, logger="datamodules.graphs"):
        third = load_graph("wiki", graphs_root, tmp_path)
    assert "unreadable" in caplog.text
    assert torch.equal(third.edge_index, first.edge_index)


def test_unknown_dataset_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cora, citeseer, wiki, blogcatalog"):
        load_graph("pubmed", tmp_path, tmp_path)


def test_missing_files_list_what_is_expected(graphs_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "planetoid"
    folder.mkdir(parents=True)
    for name in GRAPH_DATASETS["cora"].files:
        if name != "ind.cora.graph":
            shutil.copyfile(graphs_root / "planetoid" / name, folder / name)
    with pytest.raises(UserError) as err:
        load_graph("cora", tmp_path / "data", tmp_path / "cache")
    text = str(err.value)
    assert "missing: ind.cora.graph" in text
    assert all(name in text for name in GRAPH_DATASETS["cora"].files)  # the expected files are listed
    assert "kimiyoung/planetoid" in text and "Planetoid(root, 'Cora')" in text
    with pytest.raises(UserError, match="blogcatalog.mat"):
        load_graph("blogcatalog", tmp_path / "nowhere", tmp_path / "cache")


def test_checksum_mismatch_names_the_file_and_both_hashes(graphs_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wiki"
    shutil.copytree(graphs_root / "wiki", folder)
    path = folder / "Wiki_edgelist.txt"
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    assert data[0:1] == b"1"
    data[0:1] = b"2"  # "1397 1470" -> "2397 1470": still parses, different graph
    path.write_bytes(bytes(data))
    expected = GRAPH_DATASETS["wiki"].files["Wiki_edgelist.txt"]
    actual = graphs.sha256_file(path)
    with pytest.raises(UserError) as err:
        load_graph("wiki", tmp_path, tmp_path / "cache")
    text = str(err.value)
    assert "Wiki_edgelist.txt" in text and expected in text and actual in text and "re-download" in text
    altered = load_graph("wiki", tmp_path, tmp_path / "cache", verify_checksums=False)
    assert altered.num_nodes == 2_405 and altered.source_key is not None


def test_corrupt_file_is_a_user_error(graphs_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wiki"
    folder.mkdir()
    shutil.copyfile(graphs_root / "wiki" / "Wiki_category.txt", folder / "Wiki_category.txt")
    (folder / "Wiki_edgelist.txt").write_text("0 1\n1 x\n")
    with pytest.raises(UserError, match="non-integer"):
        load_graph("wiki", tmp_path, tmp_path / "cache", verify_checksums=False)


# ---- Table 1 -----------------------------------------------------------------------------------------------


def test_compare_with_paper_explains_each_difference(loaded: dict[str, Graph]) -> None:
    cora = compare_with_paper(loaded["cora"])
    assert len(cora) == 1 and "5,429" in cora[0] and "5,278" in cora[0]
    assert "2*5,278/2,708" in cora[0]  # the paper's own average degree uses the undirected count
    citeseer = " ".join(compare_with_paper(loaded["citeseer"]))
    for text in ("3,327", "3,312", "4,552", "4,732", "2.823", "438", "433"):
        assert text in citeseer
    wiki = compare_with_paper(loaded["wiki"])
    assert len(wiki) == 2  # edges and average degree; nodes, 17 classes and 45 components agree
    assert "17,981" in wiki[0] and "directed edge lines" in wiki[0]
    assert "2*12,761/2,405" in wiki[1] and "self-loops" in wiki[1]
    assert compare_with_paper(loaded["blogcatalog"]) == []


def test_compare_with_paper_reports_a_changed_graph(loaded: dict[str, Graph]) -> None:
    blog = loaded["blogcatalog"]
    u, v, w = blog.undirected_pairs()
    fewer = blog.with_edges(u[:-1], v[:-1], w[:-1])
    lines = compare_with_paper(fewer)
    assert any("333,982" in line for line in lines) and any("average degree" in line for line in lines)
    assert compare_with_paper(_synthetic())[0].startswith("'synthetic' has no row")


# ---- Graph -------------------------------------------------------------------------------------------------


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
    graph = _synthetic()
    again = Graph.from_state(graph.state())
    assert torch.equal(again.edge_index, graph.edge_index) and again.self_loops_dropped == 1
    assert again.stats() == graph.stats()


# ---- link-prediction split ---------------------------------------------------------------------------------


def _check_split(graph: Graph, split: EdgeSplit, fraction: float) -> None:
    n = graph.num_nodes
    u, v, _ = graph.undirected_pairs()
    full = u * n + v
    p, q = split.test_pos.shape[1], split.train_pos.shape[1]
    assert p == round(fraction * full.size) and p + q == full.size
    for pairs in (split.test_pos, split.test_neg, split.train_pos, split.train_neg):
        assert pairs.dtype == torch.int64 and torch.all(pairs[0] < pairs[1])  # canonical, no self pair
    test_pos, train_pos = _keys(split.test_pos, n), _keys(split.train_pos, n)
    assert np.array_equal(np.sort(np.concatenate([test_pos, train_pos])), full)  # a partition of the edges
    # no hidden edge, in either direction, in the training graph
    train_edges = _edge_keys(split.train_graph)
    hidden_u, hidden_v = split.test_pos.numpy()
    assert not _isin(hidden_u * n + hidden_v, train_edges).any()
    assert not _isin(hidden_v * n + hidden_u, train_edges).any()
    assert np.array_equal(np.sort(train_pos), np.sort(_keys(split.train_graph.undirected_pairs()[:2], n)))
    test_neg, train_neg = _keys(split.test_neg, n), _keys(split.train_neg, n)
    assert test_neg.size == p and train_neg.size == q
    assert _all_distinct(test_neg) and _all_distinct(train_neg)
    assert not _isin(test_neg, full).any() and not _isin(train_neg, full).any()  # non-edges of the FULL graph
    assert not _isin(train_neg, test_neg).any()
    assert split.train_graph.num_nodes == n and torch.equal(split.train_graph.labels, graph.labels)


def test_cora_split_hygiene(loaded: dict[str, Graph], cora_split: EdgeSplit) -> None:
    _check_split(loaded["cora"], cora_split, 0.5)
    assert cora_split.test_pos.shape[1] == 2_639
    # without keep_connected, hiding half of Cora's edges strands some nodes: the check below can fail
    assert cora_split.train_graph.isolated_nodes().numel() > 0


def test_split_is_deterministic_given_the_seed(loaded: dict[str, Graph], cora_split: EdgeSplit) -> None:
    again = split_edges(loaded["cora"], 0.5, seed=0)
    other = split_edges(loaded["cora"], 0.5, seed=1)
    for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
        assert torch.equal(getattr(again, name), getattr(cora_split, name))
        assert not torch.equal(getattr(other, name), getattr(cora_split, name))
    assert torch.equal(again.train_graph.edge_index, cora_split.train_graph.edge_index)


def test_keep_connected_keeps_components_and_degrees(loaded: dict[str, Graph]) -> None:
    cora = loaded["cora"]
    split = split_edges(cora, 0.5, seed=3, keep_connected=True)
    _check_split(cora, split, 0.5)
    assert split.train_graph.num_components() == cora.num_components() == 78
    assert split.train_graph.isolated_nodes().numel() == 0
    # negatives come from their own random stream, so they do not depend on keep_connected
    assert torch.equal(split.test_neg, split_edges(cora, 0.5, seed=3).test_neg)


def test_synthetic_split_hygiene_and_keep_connected() -> None:
    graph = _synthetic()
    assert graph.self_loops_dropped == 1 and graph.isolated_nodes().tolist() == [53]
    for fraction in (0.2, 0.5):
        _check_split(graph, split_edges(graph, fraction, seed=5), fraction)
        kept = split_edges(graph, fraction, seed=5, keep_connected=True)
        _check_split(graph, kept, fraction)
        assert kept.train_graph.num_components() == graph.num_components()
        assert kept.train_graph.isolated_nodes().tolist() == [53]
        # every node keeps its component: labels of the connected components are identical
        from scipy.sparse.csgraph import connected_components

        before = connected_components(graph.to_scipy(), directed=False)[1]
        after = connected_components(kept.train_graph.to_scipy(), directed=False)[1]
        assert np.array_equal(before, after)


def test_split_keeps_self_loops_out_of_the_positives() -> None:
    graph = Graph.from_edges(
        "loops",
        6,
        [0, 1, 2, 3, 4, 0, 2],
        [1, 2, 3, 4, 5, 0, 2],
        keep_self_loops=True,
        labels=torch.zeros(6).long(),
    )
    split = split_edges(graph, 0.4, seed=0)
    _check_split(graph, split, 0.4)
    assert split.train_graph.num_self_loops == 2
    assert torch.all(split.test_pos[0] != split.test_pos[1])


def test_split_rejects_impossible_requests(loaded: dict[str, Graph]) -> None:
    with pytest.raises(UserError, match="hide_fraction"):
        split_edges(_synthetic(), 1.0)
    with pytest.raises(UserError, match="at most"):
        split_edges(loaded["cora"], 0.6, keep_connected=True)  # the forest holds 2,630 of 5,278 edges
    n = 6  # complete graph minus one edge: not enough non-edges for the negatives
    a, b = np.triu_indices(n, 1)
    dense = Graph.from_edges("dense", n, a[1:], b[1:], labels=torch.zeros(n).long())
    with pytest.raises(UserError, match="non-adjacent"):
        split_edges(dense, 0.5)


def test_dense_graph_negatives_by_enumeration() -> None:
    n = 12  # 66 pairs, 30 edges, 36 non-edges for 30 negatives: the enumeration path
    rng = np.random.default_rng(0)
    a, b = np.triu_indices(n, 1)
    chosen = rng.choice(a.size, 30, replace=False)
    graph = Graph.from_edges("dense", n, a[chosen], b[chosen], labels=torch.zeros(n).long())
    split = split_edges(graph, 0.5, seed=1)
    _check_split(graph, split, 0.5)


def test_blogcatalog_split_counts(loaded: dict[str, Graph]) -> None:
    split = split_edges(loaded["blogcatalog"], 0.5, seed=0, keep_connected=True)
    assert split.test_pos.shape == split.test_neg.shape == (2, 166_992)
    assert split.train_pos.shape == split.train_neg.shape == (2, 166_991)
    assert split.train_graph.num_components() == 1
    n = 10_312
    test_neg = _keys(split.test_neg, n)
    assert not _isin(test_neg, _edge_keys(loaded["blogcatalog"])).any()
    assert not _isin(_keys(split.train_neg, n), test_neg).any()


# ---- DataModule --------------------------------------------------------------------------------------------


def _edge_samples(graph: Graph, generator: torch.Generator) -> TensorDataset:
    """A tiny stand-in for a method's samples: each stored edge once, in a seeded random order."""
    perm = torch.randperm(graph.edge_index.shape[1], generator=generator)
    return TensorDataset(graph.edge_index.t()[perm])


def test_datamodule_clustering(
    graphs_root: Path, cache_dir: Path, loaded: dict[str, Graph], caplog: pytest.LogCaptureFixture
) -> None:
    dm = GraphDataModule(
        "Cora", str(graphs_root), str(cache_dir), samples=_edge_samples, batch_size=512, samples_seed=0
    )
    assert dm.num_nodes == 2_708 and dm.num_classes == 7  # known before setup
    with caplog.at_level(logging.WARNING, logger="datamodules.graphs"):
        dm.setup("fit")
    assert "Table 1" in caplog.text and "5,429" in caplog.text
    assert dm.edge_split is None and dm.train_graph is dm.graph
    assert torch.equal(dm.labels, loaded["cora"].labels) and dm.num_classes == 7
    n = 10_556
    assert len(dm.train_dataset) == n - round(0.1 * n) and len(dm.val_dataset) == round(0.1 * n)
    train_rows = {tuple(row) for row in dm.train_dataset.tensors[0].tolist()}
    val_rows = {tuple(row) for row in dm.val_dataset.tensors[0].tolist()}
    assert train_rows.isdisjoint(val_rows) and len(train_rows) + len(val_rows) == n
    assert train_rows | val_rows == {tuple(row) for row in dm.graph.edge_index.t().tolist()}
    epoch = [batch for (batch,) in dm.train_dataloader()]  # whole batches gathered at once, shuffled
    assert epoch[0].shape == (512, 2) and sum(len(b) for b in epoch) == len(train_rows)
    assert {tuple(row) for row in torch.cat(epoch).tolist()} == train_rows
    assert sum(b[0].shape[0] for b in dm.val_dataloader()) == round(0.1 * n)
    assert next(iter(dm.test_dataloader())).tolist() == [0] and len(dm.test_dataloader()) == 1
    summary = dm.dataset_summary()
    assert summary["stats"]["undirected_edges"] == 5_278 and summary["samples"]["val"] == round(0.1 * n)


def test_datamodule_samples_are_seeded(graphs_root: Path, cache_dir: Path) -> None:
    def make(seed: int) -> GraphDataModule:
        dm = GraphDataModule(
            "wiki", str(graphs_root), str(cache_dir), samples=_edge_samples, samples_seed=seed
        )
        dm.setup("fit")
        return dm

    first, again, other = make(0), make(0), make(1)
    assert torch.equal(first.train_dataset[0][0], again.train_dataset[0][0])
    rows = range(20)
    assert [first.train_dataset[i][0].tolist() for i in rows] != [
        other.train_dataset[i][0].tolist() for i in rows
    ]


def test_datamodule_link_prediction_caches_the_split(
    graphs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Graph] = []

    def samples(graph: Graph, generator: torch.Generator) -> TensorDataset:
        seen.append(graph)
        return _edge_samples(graph, generator)

    kwargs = {"task": "link_prediction", "keep_connected": True, "samples": samples, "val_fraction": 0.1}
    dm = GraphDataModule("wiki", str(graphs_root), str(tmp_path), **kwargs)
    dm.setup("fit")
    split = dm.edge_split
    assert split is not None and split.test_pos.shape == (2, 5_798)
    assert dm.train_graph is split.train_graph and seen[0] is split.train_graph
    assert dm.train_graph.num_undirected_edges == 11_596 - 5_798
    assert len(dm.train_dataset) + len(dm.val_dataset) == 2 * (11_596 - 5_798)
    assert dm.split_cache is not None and dm.split_cache.is_file()
    assert dm.dataset_summary()["split"]["train_components"] == 45

    def no_split(*args: object, **kwargs: object) -> EdgeSplit:
        raise AssertionError("split_edges ran although the split is cached")

    monkeypatch.setattr(graphs, "split_edges", no_split)
    cached = GraphDataModule("wiki", str(graphs_root), str(tmp_path), **kwargs)
    cached.setup("fit")
    for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
        assert torch.equal(getattr(cached.edge_split, name), getattr(split, name))
    assert torch.equal(cached.train_graph.edge_index, split.train_graph.edge_index)
    other_seed = GraphDataModule("wiki", str(graphs_root), str(tmp_path), split_seed=1, **kwargs)
    with pytest.raises(AssertionError, match="cached"):  # a different key never reuses the cache
        other_seed.setup("fit")


def test_datamodule_without_samples_and_bad_arguments(graphs_root: Path, cache_dir: Path) -> None:
    dm = GraphDataModule("cora", str(graphs_root), str(cache_dir))
    dm.setup("fit")
    with pytest.raises(UserError, match="data.samples"):
        dm.train_dataloader()
    with pytest.raises(UserError, match="data.samples"):
        dm.val_dataloader()
    assert len(dm.test_dataloader()) == 1
    with pytest.raises(UserError, match="data.task"):
        GraphDataModule("cora", str(graphs_root), str(cache_dir), task="classification")
    with pytest.raises(UserError, match="data.hide_fraction"):
        GraphDataModule("cora", str(graphs_root), str(cache_dir), hide_fraction=0)
    with pytest.raises(UserError, match="data.dataset"):
        GraphDataModule("pubmed", str(graphs_root), str(cache_dir))
    with pytest.raises(RuntimeError, match="setup"):
        _ = GraphDataModule("cora", str(graphs_root), str(cache_dir)).graph


def test_datamodule_warns_when_the_split_strands_nodes(
    graphs_root: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dm = GraphDataModule("cora", str(graphs_root), str(cache_dir), task="link_prediction")
    with caplog.at_level(logging.WARNING, logger="datamodules.graphs"):
        dm.setup("test")
    assert "without any training edge" in caplog.text
    assert dm.edge_split.test_pos.shape == (2, 2_639) and dm.train_graph is dm.edge_split.train_graph
    assert dm.train_graph.num_undirected_edges == 5_278 - 2_639


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("hide_fraction", "x"),
        ("hide_fraction", None),
        ("hide_fraction", 1),
        ("val_fraction", "x"),
        ("val_fraction", float("nan")),
        ("split_seed", "x"),
        ("split_seed", -1),
        ("samples_seed", "x"),
        ("root", None),
        ("cache_dir", None),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_key(key: str, bad: object, tmp_path: Path) -> None:
    kwargs = {"dataset": "cora", "root": str(tmp_path), "cache_dir": str(tmp_path)} | {key: bad}
    with pytest.raises(UserError, match=f"data.{key}"):
        GraphDataModule(**kwargs)
