"""LEARN's Table 1: every difference to the loaded graphs is explained."""

from __future__ import annotations

from datamodules.graphs import Graph, compare_with_paper
from tests.datamodules.graphs.conftest import synthetic_graph


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
    assert compare_with_paper(synthetic_graph())[0].startswith("'synthetic' has no row")
