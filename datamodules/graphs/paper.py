"""LEARN's Table 1 (Fathy & Li, ICONIP 2019) and the explanation of every difference to the loaded graph.

``PAPER_TABLE1`` keeps the paper's five columns per dataset; ``compare_with_paper`` says, per column, what
differs and why (e.g. Cora's 5,429 is the directed citation-line count, 5,278 undirected edges), trying the
edge and node counts that reproduce the paper's average degree.
"""

from __future__ import annotations

from dataclasses import dataclass

from datamodules.graphs.graph import Graph
from datamodules.graphs.sources import GRAPH_DATASETS


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
