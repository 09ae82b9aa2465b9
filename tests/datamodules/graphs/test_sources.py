"""Dataset sources: readers on the real files, checksums, missing and corrupt files, the cache, downloads."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import pytest
import torch

from datamodules import graphs
from datamodules.graphs import (
    GRAPH_DATASETS,
    PAPER_TABLE1,
    Graph,
    GraphDataModule,
    compare_with_paper,
    load_graph,
)
from tests.datamodules.graphs.conftest import EXPECTED
from zoo.errors import UserError


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

    monkeypatch.setitem(GRAPH_DATASETS, "wiki", dataclasses.replace(spec, reader=no_reader))
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


def test_download_fetches_missing_files_and_checks_them(
    graphs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = GRAPH_DATASETS["wiki"]
    mirror = {name: (graphs_root / "wiki" / name).as_uri() for name in spec.files}  # offline stand-in
    monkeypatch.setitem(GRAPH_DATASETS, "wiki", dataclasses.replace(spec, urls=mirror))
    root = tmp_path / "data"
    with pytest.raises(UserError, match="data.download=true"):
        load_graph("wiki", root, tmp_path / "cache")
    graph = load_graph("wiki", root, tmp_path / "cache", download=True)
    assert sorted(p.name for p in (root / "wiki").iterdir()) == sorted(spec.files)
    assert graph.num_nodes == 2_405 and graph.edge_lines == 17_981
    dm = GraphDataModule("wiki", str(tmp_path / "dm"), str(tmp_path / "cache"), download=True)
    dm.prepare_data()
    assert (tmp_path / "dm" / "wiki" / "Wiki_category.txt").is_file()
    swapped = {name: mirror["Wiki_category.txt"] for name in spec.files}  # a mirror serving other bytes
    monkeypatch.setitem(GRAPH_DATASETS, "wiki", dataclasses.replace(spec, urls=swapped))
    with pytest.raises(UserError, match="checksum mismatch") as err:
        load_graph("wiki", tmp_path / "other", tmp_path / "cache", download=True)
    assert "data.download=true" in str(err.value) and spec.files["Wiki_edgelist.txt"] in str(err.value)
    assert not any((tmp_path / "other").rglob("*.txt"))
