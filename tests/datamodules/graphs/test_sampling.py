"""Random walks, skip-gram pairs, hop distances and LEARN pairs against networkx and closed-form distributions."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import pytest
import torch
from scipy.stats import chi2

from datamodules.graphs import sampling as gs
from datamodules.graphs.hops import hop_distances
from datamodules.graphs.sampling import (
    learn_pairs,
    random_walks,
    skipgram_pairs,
)
from zoo.errors import UserError


def _csr(
    edges: list[tuple[int, int]],
    num_nodes: int,
    weights: list[float] | None = None,
    undirected: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """CSR (rowptr, col, weight) of an edge list; undirected graphs store both directions."""
    e = torch.tensor(edges, dtype=torch.long).reshape(-1, 2)
    src, dst = e[:, 0], e[:, 1]
    w = None if weights is None else torch.tensor(weights, dtype=torch.float32)
    if undirected:
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        w = None if w is None else torch.cat([w, w])
    order = torch.argsort(src * num_nodes + dst)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    rowptr[1:] = torch.cumsum(torch.bincount(src, minlength=num_nodes), 0)
    return rowptr, dst[order], None if w is None else w[order]


def _nx_csr(graph: nx.Graph) -> tuple[torch.Tensor, torch.Tensor]:
    rowptr, col, _ = _csr(list(graph.edges()), graph.number_of_nodes(), undirected=not graph.is_directed())
    return rowptr, col


@pytest.fixture(scope="module")
def karate() -> nx.Graph:
    return nx.karate_club_graph()


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _chi_square(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, float]:
    """Pearson statistic and its 99.9 % critical value (a correct sampler fails 1 run in 1000)."""
    expected = probs / probs.sum() * counts.sum()
    stat = float(((counts.double() - expected) ** 2 / expected).sum())
    return stat, float(chi2.ppf(0.999, counts.numel() - 1))


# ----------------------------------------------------------------------------------------------- random walks


@pytest.mark.parametrize(
    ("weighted", "p", "q"), [(False, 1.0, 1.0), (True, 1.0, 1.0), (False, 0.25, 4.0), (True, 4.0, 0.5)]
)
def test_every_walk_step_follows_an_edge(karate: nx.Graph, weighted: bool, p: float, q: float) -> None:
    rowptr, col = _nx_csr(karate)
    weight = torch.rand(col.numel(), generator=_gen(1)) + 0.1 if weighted else None
    start = torch.arange(34).repeat(20)
    walks = random_walks(rowptr, col, start, 8, _gen(), weight=weight, p=p, q=q)
    assert walks.shape == (680, 9)
    assert torch.equal(walks[:, 0], start)
    assert bool((walks >= 0).all())  # karate is connected: no dead ends
    edge_set = {(int(a), int(b)) for a, b in karate.edges()} | {(int(b), int(a)) for a, b in karate.edges()}
    steps = {(int(a), int(b)) for a, b in zip(walks[:, :-1].flatten(), walks[:, 1:].flatten(), strict=True)}
    assert steps <= edge_set


def test_uniform_transitions_are_uniform_over_neighbours(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    walks = random_walks(rowptr, col, torch.zeros(16000, dtype=torch.long), 1, _gen())
    neighbours = col[rowptr[0] : rowptr[1]]
    counts = torch.bincount(walks[:, 1], minlength=34)[neighbours]
    assert int(counts.sum()) == 16000  # nothing outside the neighbourhood
    stat, critical = _chi_square(counts, torch.ones(neighbours.numel()))
    assert stat < critical


def test_p_q_one_skips_rejection_and_equals_the_plain_walk(
    karate: nx.Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    rowptr, col = _nx_csr(karate)
    start = torch.arange(34).repeat(10)
    plain = random_walks(rowptr, col, start, 6, _gen(3))

    def forbidden(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("p = q = 1 must not take the rejection path")

    monkeypatch.setattr(gs, "_biased_step", forbidden)
    assert torch.equal(random_walks(rowptr, col, start, 6, _gen(3), p=1.0, q=1.0), plain)
    with pytest.raises(AssertionError, match="rejection path"):
        random_walks(rowptr, col, start, 6, _gen(3), p=2.0, q=1.0)


def test_weighted_transitions_follow_weight_proportions() -> None:
    rowptr, col, weight = _csr([(0, 1), (0, 2), (0, 3), (0, 4)], 5, weights=[1.0, 2.0, 0.0, 7.0])
    walks = random_walks(rowptr, col, torch.zeros(20000, dtype=torch.long), 1, _gen(), weight=weight)
    counts = torch.bincount(walks[:, 1], minlength=5)
    assert int(counts[3]) == 0  # zero-weight edge never taken
    stat, critical = _chi_square(counts[[1, 2, 4]], torch.tensor([1.0, 2.0, 7.0]))
    assert stat < critical


@pytest.mark.parametrize(("p", "q", "weighted"), [(0.5, 2.0, False), (4.0, 0.25, False), (2.0, 0.5, True)])
def test_node2vec_second_step_matches_the_biased_distribution(p: float, q: float, weighted: bool) -> None:
    # 0-1, 0-2, 1-2, 1-3: from (prev 0, cur 1) the candidates are 0 (return, 1/p), 2 (neighbour of 0, 1), 3 (1/q).
    edges = [(0, 1), (0, 2), (1, 2), (1, 3)]
    w = [1.0, 1.0, 3.0, 0.5] if weighted else None
    rowptr, col, weight = _csr(edges, 4, weights=w)
    walks = random_walks(
        rowptr, col, torch.zeros(30000, dtype=torch.long), 2, _gen(), weight=weight, p=p, q=q
    )
    second = walks[walks[:, 1] == 1, 2]
    counts = torch.bincount(second, minlength=4)[[0, 2, 3]]
    edge_w = torch.tensor([1.0, 3.0, 0.5]) if weighted else torch.ones(3)
    probs = edge_w * torch.tensor([1.0 / p, 1.0, 1.0 / q])
    stat, critical = _chi_square(counts, probs)
    assert stat < critical


def test_p_and_q_move_return_and_outward_rates_in_the_expected_direction(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    dist = torch.tensor([[nx.shortest_path_length(karate, a, b) for b in range(34)] for a in range(34)])
    start = torch.arange(34).repeat(150)

    def rates(p: float, q: float) -> tuple[float, float]:
        walks = random_walks(rowptr, col, start, 2, _gen(5), p=p, q=q)
        returned = float((walks[:, 2] == walks[:, 0]).double().mean())
        outward = float((dist[walks[:, 0], walks[:, 2]] == 2).double().mean())
        return returned, outward

    low_p, mid, high_p = rates(0.25, 1.0), rates(1.0, 1.0), rates(4.0, 1.0)
    assert low_p[0] > mid[0] + 0.05 and mid[0] > high_p[0] + 0.02
    low_q, high_q = rates(1.0, 0.25), rates(1.0, 4.0)
    assert low_q[1] > mid[1] + 0.05 and mid[1] > high_q[1] + 0.05


def test_dead_ends_are_padded_with_minus_one() -> None:
    # directed 0 -> 1 -> 2, node 2 has no out-edge, node 3 is isolated
    rowptr, col, _ = _csr([(0, 1), (1, 2)], 4, undirected=False)
    for p, q in [(1.0, 1.0), (2.0, 0.5)]:
        walks = random_walks(rowptr, col, torch.tensor([0, 3, 2, 1]), 4, _gen(), p=p, q=q)
        expected = [[0, 1, 2, -1, -1], [3, -1, -1, -1, -1], [2, -1, -1, -1, -1], [1, 2, -1, -1, -1]]
        assert walks.tolist() == expected
    # a row whose weights are all zero is a dead end as well
    rowptr, col, weight = _csr([(0, 1), (1, 2)], 3, weights=[0.0, 1.0], undirected=False)
    assert random_walks(rowptr, col, torch.tensor([0, 1]), 2, _gen(), weight=weight).tolist() == [
        [0, -1, -1],
        [1, 2, -1],
    ]


def test_walks_are_deterministic_under_a_seeded_generator(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    start = torch.arange(34).repeat(5)
    a = random_walks(rowptr, col, start, 10, _gen(7), p=0.5, q=2.0)
    b = random_walks(rowptr, col, start, 10, _gen(7), p=0.5, q=2.0)
    c = random_walks(rowptr, col, start, 10, _gen(8), p=0.5, q=2.0)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_invalid_inputs_raise_user_errors(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    start = torch.tensor([0])
    with pytest.raises(UserError, match="row pointer"):
        random_walks(rowptr[:-1], col, start, 3, _gen())
    with pytest.raises(UserError, match="non-negative"):
        random_walks(rowptr, col, start, 3, _gen(), weight=-torch.ones(col.numel()))
    with pytest.raises(UserError, match="p must be"):
        random_walks(rowptr, col, start, 3, _gen(), p=0.0)
    with pytest.raises(UserError, match="start"):
        random_walks(rowptr, col, torch.tensor([34]), 3, _gen())
    with pytest.raises(UserError, match="alpha"):
        learn_pairs(rowptr, col, alpha=1.5, generator=_gen())


# ---------------------------------------------------------------------------------------------- skip-gram pairs


def test_skipgram_pairs_counts_for_a_known_walk() -> None:
    center, context = skipgram_pairs(torch.tensor([[0, 1, 2, 3]]), window=2)
    pairs = Counter(zip(center.tolist(), context.tolist(), strict=True))
    one = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    assert pairs == Counter(one + [(b, a) for a, b in one])
    # padding never pairs; a window wider than the walk is clipped; revisits count
    center, context = skipgram_pairs(torch.tensor([[4, 5, -1, -1], [7, 8, 7, -1]]), window=10)
    pairs = Counter(zip(center.tolist(), context.tolist(), strict=True))
    assert pairs == Counter({(4, 5): 1, (5, 4): 1, (7, 8): 2, (8, 7): 2, (7, 7): 2})


# ------------------------------------------------------------------------------------------------ hop distances


@pytest.mark.parametrize("strategy", ["auto", "top_down", "bottom_up"])
@pytest.mark.parametrize("max_hops", [2, 10])
def test_hop_distances_equal_networkx_on_karate(karate: nx.Graph, strategy: str, max_hops: int) -> None:
    rowptr, col = _nx_csr(karate)
    targets = torch.arange(34).repeat(34, 1)
    got = hop_distances(rowptr, col, torch.arange(34), targets, max_hops, strategy=strategy)
    expected = torch.full((34, 34), -1)
    for s in range(34):
        for t, d in nx.single_source_shortest_path_length(karate, s, cutoff=max_hops).items():
            expected[s, t] = d
    assert torch.equal(got, expected)
    if max_hops == 2:
        assert bool((got == -1).any())  # karate's diameter is 5: some targets lie beyond


@pytest.mark.parametrize("strategy", ["auto", "top_down", "bottom_up"])
def test_hop_distances_on_a_random_directed_graph_with_padding_and_tiny_chunks(strategy: str) -> None:
    graph = nx.gnm_random_graph(150, 260, seed=3, directed=True)
    rowptr, col = _nx_csr(graph)
    g = _gen(4)
    sources = torch.randint(0, 150, (60,), generator=g)
    targets = torch.randint(0, 150, (60, 25), generator=g)
    targets[:, -3:] = -1  # padding
    targets[0, 0] = sources[0]
    # memory_mb tiny: one source row per chunk and many expansion pieces
    got = hop_distances(rowptr, col, sources, targets, 4, memory_mb=1e-3, strategy=strategy)
    for i, s in enumerate(sources.tolist()):
        lengths = nx.single_source_shortest_path_length(graph, s, cutoff=4)
        expected = [lengths.get(t, -1) if t >= 0 else -1 for t in targets[i].tolist()]
        assert got[i].tolist() == expected
    assert int(got[0, 0]) == 0
    assert bool((got == -1).any()) and bool((got == 4).any())


def test_upper_bounds_only_shortcut_the_search(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    targets = torch.arange(34).repeat(34, 1)
    exact = hop_distances(rowptr, col, torch.arange(34), targets, 6)
    slack = torch.randint(0, 2, exact.shape, generator=_gen())
    bounds = torch.where(exact > 0, exact + slack, torch.zeros_like(exact))  # valid bounds d <= b (b <= 6)
    got = hop_distances(rowptr, col, torch.arange(34), targets, 6, upper_bounds=bounds)
    assert torch.equal(got, exact)


# -------------------------------------------------------------------------------------------------- LEARN pairs


def _visits(walks: torch.Tensor) -> dict[int, dict[int, tuple[int, int]]]:
    """Per v: every visited u != v -> (earliest step, walk row of that earliest visit), from replayed walks."""
    out: dict[int, dict[int, tuple[int, int]]] = {}
    for row, walk in enumerate(walks.tolist()):
        v = walk[0]
        seen = out.setdefault(v, {})
        for step, u in enumerate(walk[1:], start=1):
            if u >= 0 and u != v and (u not in seen or step < seen[u][0]):
                seen[u] = (step, row)
    return out


def test_learn_pairs_positives_are_distinct_walk_vertices_labelled_by_bfs_distance(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    r, length, alpha = 20, 6, 0.8
    pairs = learn_pairs(rowptr, col, r, length, alpha, generator=_gen(11))
    # learn_pairs walks first, so the same seed replays its walks
    walks = random_walks(rowptr, col, torch.arange(34).repeat_interleave(r), length, _gen(11))
    visits = _visits(walks)
    pos = pairs["hops"] > 0
    v, u, hops, rel = pairs["v"][pos], pairs["u"][pos], pairs["hops"][pos], pairs["relation"][pos]
    assert not bool((v == u).any())
    assert torch.unique(v * 34 + u).numel() == v.numel()  # each u at most once per v
    dist = dict(nx.all_pairs_shortest_path_length(karate))
    assert hops.tolist() == [dist[a][b] for a, b in zip(v.tolist(), u.tolist(), strict=True)]
    for vertex in range(34):
        assert set(u[v == vertex].tolist()) == set(visits[vertex])
    # the k = 2 oracle: every vertex labelled k = 2 is exactly two hops away
    two = hops == 2
    assert int(two.sum()) > 50
    assert all(dist[a][b] == 2 for a, b in zip(v[two].tolist(), u[two].tolist(), strict=True))
    # domination, not walk position: some vertices were first reached later than their true ring
    assert any(visits[a][b][0] > k for a, b, k in zip(v.tolist(), u.tolist(), hops.tolist(), strict=True))
    assert torch.allclose(rel, alpha ** (hops - 1).float())
    assert int(hops.max()) <= length


@pytest.mark.parametrize(("r", "length", "ratio"), [(20, 6, 1), (2, 2, 3)])
def test_learn_pairs_negatives_avoid_the_walk_neighbourhood(
    karate: nx.Graph, r: int, length: int, ratio: int
) -> None:
    rowptr, col = _nx_csr(karate)
    pairs = learn_pairs(rowptr, col, r, length, generator=_gen(2), negatives_per_positive=ratio)
    pos, neg = pairs["hops"] > 0, pairs["hops"] == 0
    assert torch.equal(pairs["relation"][neg], torch.zeros(int(neg.sum())))
    assert bool((pairs["relation"][pos] > 0).all())
    positives = {(a, b) for a, b in zip(pairs["v"][pos].tolist(), pairs["u"][pos].tolist(), strict=True)}
    for a, b in zip(pairs["v"][neg].tolist(), pairs["u"][neg].tolist(), strict=True):
        assert a != b and (a, b) not in positives
    n_pos = torch.bincount(pairs["v"][pos], minlength=34)
    n_neg = torch.bincount(pairs["v"][neg], minlength=34)
    expected = torch.where(n_pos < 33, ratio * n_pos, torch.zeros_like(n_pos))  # none when walks cover all
    assert torch.equal(n_neg, expected)
    assert int(n_neg.sum()) > 0


def test_learn_pairs_negatives_are_roughly_uniform_over_the_complement() -> None:
    # star: the centre's walks of length 1 see one leaf; its negatives are uniform over the other 19 leaves
    rowptr, col, _ = _csr([(0, i) for i in range(1, 21)], 21)
    pairs = learn_pairs(rowptr, col, 1, 1, generator=_gen(), negatives_per_positive=3000)
    neg = (pairs["hops"] == 0) & (pairs["v"] == 0)
    (leaf,) = pairs["u"][(pairs["hops"] > 0) & (pairs["v"] == 0)].tolist()
    counts = torch.bincount(pairs["u"][neg], minlength=21)
    assert int(counts[0]) == 0 and int(counts[leaf]) == 0
    others = counts[[i for i in range(1, 21) if i != leaf]]
    stat, critical = _chi_square(others, torch.ones(19))
    assert stat < critical


def test_negatives_stay_uniform_when_the_walks_cover_most_of_the_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # clique K_40 plus a tail 39-40-41-42: a clique vertex's walks see nearly all of the clique, so rejection
    # mostly fails and the exact complement sampler takes over; both must stay uniform over the complement
    edges = [(a, b) for a in range(40) for b in range(a + 1, 40)] + [(39, 40), (40, 41), (41, 42)]
    rowptr, col, _ = _csr(edges, 43)
    calls = []
    exact = gs._draw_from_complement
    monkeypatch.setattr(gs, "_draw_from_complement", lambda *a: calls.append(a[0].numel()) or exact(*a))
    pairs = learn_pairs(rowptr, col, 20, 6, generator=_gen(3), negatives_per_positive=60)
    assert calls and sum(calls) > 1000
    v0 = pairs["v"] == 0
    seen = set(pairs["u"][v0 & (pairs["hops"] > 0)].tolist())
    complement = [i for i in range(1, 43) if i not in seen]
    assert len(complement) >= 2
    counts = torch.bincount(pairs["u"][v0 & (pairs["hops"] == 0)], minlength=43)
    assert int(counts.sum()) == int(counts[complement].sum())
    stat, critical = _chi_square(counts[complement], torch.ones(len(complement)))
    assert stat < critical


def _pair_rows(pairs: dict, keep: torch.Tensor | None = None) -> list[tuple[int, int, int, float]]:
    """(v, u, hops, relation) of the sampled pairs (those in ``keep`` only, if given), as Python tuples."""
    columns = [pairs[key] if keep is None else pairs[key][keep] for key in ("v", "u", "hops", "relation")]
    return list(zip(*(c.tolist() for c in columns), strict=True))


def test_weighted_relation_on_a_forced_path() -> None:
    # directed path 0 -> 1 -> 2 -> 3 -> 4: every walk from v is forced, k = walk step
    w = [0.5, 0.9, 0.3, 0.7]
    rowptr, col, weight = _csr([(0, 1), (1, 2), (2, 3), (3, 4)], 5, weights=w, undirected=False)
    alpha = 0.6
    pairs = learn_pairs(rowptr, col, 3, 6, alpha, generator=_gen(), weight=weight, weight_scale="none")
    pos = pairs["hops"] > 0
    got = {(a, b): (k, rel) for a, b, k, rel in _pair_rows(pairs, pos)}
    assert set(got) == {(a, b) for a in range(5) for b in range(a + 1, 5)}
    for (a, b), (k, rel) in got.items():
        product = torch.tensor(w[a:b]).prod().item()
        assert k == b - a
        assert rel == pytest.approx(alpha ** (k - 1) * product, rel=1e-6)
    neg = ~pos
    # vertex 1 saw 2, 3, 4: its only possible negative is 0; vertex 0 saw everything: none
    assert set(pairs["u"][neg & (pairs["v"] == 1)].tolist()) == {0}
    assert not bool((pairs["v"][neg] == 0).any())


def test_weighted_relation_multiplies_the_walk_path_weights(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    src = torch.repeat_interleave(torch.arange(34), rowptr.diff())
    sym = torch.rand(34, 34, generator=_gen(9)) + 0.5
    sym = (sym + sym.T) / 2
    weight = sym[src, col]
    r, length, alpha = 5, 4, 0.7
    pairs = learn_pairs(
        rowptr, col, r, length, alpha, generator=_gen(12), weight=weight
    )  # weight_scale="max"
    walks = random_walks(rowptr, col, torch.arange(34).repeat_interleave(r), length, _gen(12), weight=weight)
    visits = _visits(walks)
    sym = sym / weight.max()  # weights above 1 are scaled by the largest
    pos = pairs["hops"] > 0
    longer_first_visits = 0
    for a, b, k, rel in _pair_rows(pairs, pos):
        step, row = visits[a][b]
        path = walks[row, : step + 1].tolist()
        product = 1.0
        for x, y in zip(path[:-1], path[1:], strict=True):
            product *= float(sym[x, y])
        if k == 1:  # eq. 1 at k = 1: the edge weight, whichever path the first walk took
            longer_first_visits += step > 1
            product = float(sym[a, b])
        assert rel == pytest.approx(alpha ** (k - 1) * product, rel=1e-5)
    assert longer_first_visits > 0  # the case the walk-path product got wrong is exercised


def test_weights_above_one_are_scaled_or_refused() -> None:
    # a weighted triangle plus a tail, weights well above 1 (co-authorship counts)
    w = [30.0, 12.0, 3.0, 25.0]
    rowptr, col, weight = _csr([(0, 1), (1, 2), (0, 2), (2, 3)], 4, weights=w)
    with pytest.raises(UserError, match="outside \\[0, 1\\]") as refused:
        learn_pairs(rowptr, col, 4, 3, 0.8, generator=_gen(), weight=weight, weight_scale="none")
    assert "weight_scale=max" in str(refused.value)
    for scale in ("max", "vertex"):
        pairs = learn_pairs(rowptr, col, 200, 3, 0.8, generator=_gen(), weight=weight, weight_scale=scale)
        assert float(pairs["relation"].min()) >= 0.0 and float(pairs["relation"].max()) <= 1.0
    one = {(a, b): rel for a, b, k, rel in _pair_rows(pairs) if k == 1}
    # "vertex": w(v, u) over the heaviest edge leaving v
    assert one[(0, 1)] == pytest.approx(1.0) and one[(0, 2)] == pytest.approx(3.0 / 30.0)
    assert one[(2, 3)] == pytest.approx(1.0) and one[(2, 0)] == pytest.approx(3.0 / 25.0)
    with pytest.raises(UserError, match="weight_scale"):
        learn_pairs(rowptr, col, 4, 3, 0.8, generator=_gen(), weight=weight, weight_scale="log")


def test_learn_pairs_is_deterministic_and_chunking_keeps_the_oracles(karate: nx.Graph) -> None:
    rowptr, col = _nx_csr(karate)
    a = learn_pairs(rowptr, col, 5, 4, generator=_gen(1))
    b = learn_pairs(rowptr, col, 5, 4, generator=_gen(1))
    c = learn_pairs(rowptr, col, 5, 4, generator=_gen(2))
    assert all(torch.equal(a[k], b[k]) for k in ("u", "v", "relation", "hops"))
    assert not torch.equal(a["u"], c["u"])
    chunked = learn_pairs(rowptr, col, 5, 4, generator=_gen(1), chunk_size=7)
    pos = chunked["hops"] > 0
    dist = dict(nx.all_pairs_shortest_path_length(karate))
    v, u = chunked["v"][pos].tolist(), chunked["u"][pos].tolist()
    assert chunked["hops"][pos].tolist() == [dist[x][y] for x, y in zip(v, u, strict=True)]
    assert len(set(zip(v, u, strict=True))) == len(v)
    assert int((~pos).sum()) == len(v)


def test_isolated_vertices_get_no_pairs() -> None:
    rowptr, col, _ = _csr([(0, 1), (1, 2)], 4)  # vertex 3 is isolated
    pairs = learn_pairs(rowptr, col, 4, 3, generator=_gen())
    assert not bool((pairs["v"] == 3).any())
    assert set(pairs["u"][pairs["v"] == 0].tolist()) <= {1, 2, 3}
    assert pairs["v"].dtype == torch.long and pairs["relation"].dtype == torch.float32


@pytest.mark.parametrize("strategy", ["auto", "top_down", "bottom_up"])
def test_sources_that_finish_early_stop_growing_without_changing_the_others(strategy: str) -> None:
    """One chunk: source 4's only target is a neighbour, source 0's lies 9 hops down the path."""
    rowptr, col = _nx_csr(nx.path_graph(10))
    targets = torch.tensor([[9, 1], [5, -1], [3, 3]])
    got = hop_distances(rowptr, col, torch.tensor([0, 4, 3]), targets, 12, strategy=strategy)
    assert got.tolist() == [[9, 1], [1, -1], [0, 0]]
