"""Samplers on CSR graphs: random walks (DeepWalk / node2vec), skip-gram pairs, LEARN pairs (labelled by ``hops``).

Graphs arrive as CSR tensors, independent of any dataclass: ``rowptr [N+1]``, ``col [E]`` (out-neighbours, rows
sorted by source), optional ``weight [E]`` (non-negative); an undirected graph stores both directions. Every
function is vectorised over walks, pairs and sources; the only Python loops run over walk steps, BFS hops,
rejection rounds and memory-bounded chunks. torch_geometric's walk and kNN kernels need pyg-lib, which this
environment lacks, hence plain torch.

All randomness comes from the ``torch.Generator`` passed in, so a seeded generator reproduces every sample.
"""

from __future__ import annotations

import torch
from torch import Tensor

from datamodules.graphs.csr import check_csr, edge_keys
from datamodules.graphs.hops import hop_distances
from zoo.errors import UserError, check_choice
from zoo.pair_keys import contains, csr_rows, missing_below, nth_missing

#: Rejection rounds for LEARN's negatives before switching to exact sampling from the complement.
_NEGATIVE_REJECTION_ROUNDS = 16
#: How edge weights enter LEARN's relation (eq. 1): see ``relation_weights``.
WEIGHT_SCALES = ("max", "vertex", "none")


def relation_weights(rowptr: Tensor, weight: Tensor, scale: str) -> Tensor:
    """Edge weights as they enter eq. 1's product, in float64, so that R = α^(k−1) ∏ w stays in [0, 1].

    The paper's graphs are unweighted (w = 1, eq. 2) and eq. 4 is a cross-entropy, whose target must be a
    probability; with raw weights above 1 (a co-authorship count of 30) R leaves [0, 1] and the loss runs to
    −∞. Readings: ``"max"`` (default) divides every weight by the graph's largest, so relations keep their
    ratios and an edge of the heaviest kind gives R = 1 as an unweighted edge does; ``"vertex"`` divides each
    edge by the largest weight leaving its source (a vertex's strongest tie counts 1, so weights are relative
    to the vertex; R(v, u) and R(u, v) may then differ); ``"none"`` uses the weights as given and is refused
    if any relation leaves [0, 1]. Unweighted graphs are unchanged by all three.
    """
    check_choice(scale, WEIGHT_SCALES, "data.samples.weight_scale")
    w = weight.to(torch.float64)
    if scale == "none" or w.numel() == 0:
        return w
    if scale == "max":
        return w / w.max().clamp_min(torch.finfo(torch.float64).tiny)
    rows = csr_rows(rowptr)
    row_max = torch.zeros(rowptr.numel() - 1, dtype=torch.float64, device=w.device)
    row_max = row_max.scatter_reduce(0, rows, w, "amax")
    return w / row_max[rows].clamp_min(torch.finfo(torch.float64).tiny)


def edge_weight_of(rowptr: Tensor, col: Tensor, weight: Tensor, v: Tensor, u: Tensor) -> Tensor:
    """w(v, u) of existing edges (v, u), by binary search over the sorted edge keys (the first of parallel edges)."""
    num_nodes = rowptr.numel() - 1
    keys, order = torch.sort(csr_rows(rowptr) * num_nodes + col, stable=True)
    return weight[order[torch.searchsorted(keys, v * num_nodes + u)]]


class _Stepper:
    """Draws one out-edge per walker: uniform over its row, or proportional to the edge weights.

    Weighted choice inverts the per-row cumulative weights: one global float64 ``cumsum`` over all edges and a
    ``searchsorted`` per draw, O(log E). Draws land in ``(row_start, row_end]`` of the cumulative sum, so
    zero-weight edges are never taken; a row whose weights are all zero counts as a dead end.
    """

    def __init__(self, rowptr: Tensor, col: Tensor, weight: Tensor | None) -> None:
        self.rowptr, self.col = rowptr, col
        self.degree = rowptr.diff()
        if weight is None:
            self.cum = None
            self.movable = self.degree > 0
            return
        num_nodes, num_edges = rowptr.numel() - 1, col.numel()
        w = weight.to(torch.float64)
        self.cum = torch.cumsum(w, 0)
        before = (rowptr[:-1] - 1).clamp_min(0)
        self.base = torch.where(rowptr[:-1] > 0, self.cum[before] if num_edges else 0.0, 0.0)
        edge_id = torch.arange(num_edges, device=col.device)
        rows, positive = csr_rows(rowptr), w > 0
        # First/last positive-weight edge per row: clamping to them guards against float rounding at the ends.
        self.first = torch.full((num_nodes,), num_edges, dtype=torch.long, device=col.device).scatter_reduce(
            0, rows, torch.where(positive, edge_id, num_edges), "amin"
        )
        self.last = torch.full((num_nodes,), -1, dtype=torch.long, device=col.device).scatter_reduce(
            0, rows, torch.where(positive, edge_id, -1), "amax"
        )
        self.movable = self.last >= 0

    def __call__(self, cur: Tensor, generator: torch.Generator) -> Tensor:
        """Edge ids drawn for walkers at ``cur`` (all of which must be ``movable``)."""
        r = torch.rand(cur.numel(), generator=generator, dtype=torch.float64, device=cur.device)
        if self.cum is None:
            degree = self.degree[cur]
            return self.rowptr[cur] + torch.minimum((r * degree).long(), degree - 1)
        base, last = self.base[cur], self.last[cur]
        target = base + (1.0 - r) * (self.cum[last] - base)  # in (base, row total]
        edge = torch.searchsorted(self.cum, target)  # first edge whose cumulative weight reaches target
        return torch.minimum(torch.maximum(edge, self.first[cur]), last)


def _walk(
    stepper: _Stepper,
    start: Tensor,
    length: int,
    generator: torch.Generator,
    p: float = 1.0,
    q: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Walk nodes ``[S, length+1]`` and the edge ids taken ``[S, length]`` (both padded with -1 after a dead end)."""
    col, num_nodes = stepper.col, stepper.rowptr.numel() - 1
    num_walks = start.numel()
    nodes = torch.full((num_walks, length + 1), -1, dtype=torch.long, device=start.device)
    edges = torch.full((num_walks, length), -1, dtype=torch.long, device=start.device)
    nodes[:, 0] = start
    biased = not (p == 1.0 and q == 1.0)
    keys = edge_keys(stepper.rowptr, col) if biased else None
    active = torch.arange(num_walks, device=start.device)[stepper.movable[start]]
    for t in range(1, length + 1):
        if active.numel() == 0:
            break
        cur = nodes[active, t - 1]
        if biased and t > 1:
            edge = _biased_step(stepper, keys, cur, nodes[active, t - 2], num_nodes, generator, p, q)
        else:
            edge = stepper(cur, generator)
        nxt = col[edge]
        nodes[active, t], edges[active, t - 1] = nxt, edge
        active = active[stepper.movable[nxt]]
    return nodes, edges


def _biased_step(
    stepper: _Stepper,
    keys: Tensor,
    cur: Tensor,
    prev: Tensor,
    num_nodes: int,
    generator: torch.Generator,
    p: float,
    q: float,
) -> Tensor:
    """node2vec's second-order step by rejection: propose from the first-order step, accept w.p. bias / max bias.

    bias = 1/p back to ``prev``, 1 to a neighbour of ``prev``, 1/q otherwise; the accepted draws follow
    ``w(cur, x) * bias(prev, x)`` exactly (Grover & Leskovec 2016, §3.2.2), without per-edge alias tables. Every
    round is vectorised over the still-pending walkers; the acceptance rate is at least min/max of the biases.
    """
    bound = max(1.0 / p, 1.0, 1.0 / q)
    edge = torch.empty_like(cur)
    pending = torch.arange(cur.numel(), device=cur.device)
    while pending.numel():
        proposal = stepper(cur[pending], generator)
        x, before = stepper.col[proposal], prev[pending]
        bias = torch.full(x.shape, 1.0 / q, dtype=torch.float64, device=x.device)
        bias[contains(keys, before * num_nodes + x)] = 1.0
        bias[x == before] = 1.0 / p
        accept = (
            torch.rand(x.numel(), generator=generator, dtype=torch.float64, device=x.device) * bound < bias
        )
        edge[pending[accept]] = proposal[accept]
        pending = pending[~accept]
    return edge


def _check_positive(value: float, name: str, where: str, fix: str) -> None:
    if not (float(value) > 0 and float(value) < float("inf")):
        raise UserError(f"{name} must be a positive finite number, got {value}", where=where, fix=fix)


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def random_walks(
    rowptr: Tensor,
    col: Tensor,
    start: Tensor,
    length: int,
    generator: torch.Generator,
    weight: Tensor | None = None,
    p: float = 1.0,
    q: float = 1.0,
) -> Tensor:
    """Random walks ``[S, length + 1]`` from ``start [S]``; column 0 is the start node.

    The next node is uniform over the out-neighbours, or proportional to ``weight``; ``p``/``q`` add node2vec's
    second-order bias (return parameter p, in-out parameter q) by rejection sampling; ``p = q = 1`` skips the
    rejection entirely and is the plain first-order walk. A walk that reaches a node without (positive-weight)
    out-edges stays there: the rest of its row is -1.
    """
    where = "random_walks(...)"
    check_csr(rowptr, col, weight, where)
    rowptr, col, start = rowptr.long(), col.long(), start.long()
    num_nodes = rowptr.numel() - 1
    if int(length) < 0:
        raise UserError(f"walk length must be >= 0, got {length}", where=where, fix="pass length >= 1")
    if start.dim() != 1 or (start.numel() and (int(start.min()) < 0 or int(start.max()) >= num_nodes)):
        raise UserError(
            f"start must be a 1-D tensor of node ids in [0, {num_nodes})",
            where=where,
            fix="check the start nodes",
        )
    _check_positive(p, "p", "random_walks(p=...)", "node2vec's return parameter, e.g. p=1")
    _check_positive(q, "q", "random_walks(q=...)", "node2vec's in-out parameter, e.g. q=1")
    return _walk(_Stepper(rowptr, col, weight), start, int(length), generator, float(p), float(q))[0]


def skipgram_pairs(walks: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """(center, context) pairs of DeepWalk / node2vec: every two walk positions at most ``window`` apart.

    Both directions are emitted (a pair at offset o gives (a, b) and (b, a)); pairs touching -1 padding are
    dropped. Revisits of the same node at different positions count, as in word2vec over a corpus of walks.
    """
    if int(window) < 1:
        raise UserError(
            f"window must be >= 1, got {window}", where="skipgram_pairs(window=...)", fix="e.g. 10"
        )
    if walks.dim() != 2:
        raise UserError(
            f"walks must be [S, L], got shape {tuple(walks.shape)}", where="skipgram_pairs(walks=...)"
        )
    centers, contexts = [], []
    for offset in range(1, min(int(window), walks.shape[1] - 1) + 1):
        a, b = walks[:, :-offset], walks[:, offset:]
        valid = (a >= 0) & (b >= 0)
        a, b = a[valid], b[valid]
        centers += [a, b]
        contexts += [b, a]
    if not centers:
        empty = walks.new_empty(0)
        return empty, empty.clone()
    return torch.cat(centers), torch.cat(contexts)


def learn_pairs(
    rowptr: Tensor,
    col: Tensor,
    num_walks: int = 20,
    walk_length: int = 6,
    alpha: float = 0.8,
    *,
    generator: torch.Generator,
    weight: Tensor | None = None,
    weight_scale: str = "max",
    negatives_per_positive: int = 1,
    chunk_size: int | None = None,
) -> dict[str, Tensor]:
    """LEARN's vertex-domination pair sampler (Fathy & Li 2019, §3.2, §4.2 eqs. 1-2, Algorithm 1).

    Returns ``v``, ``u`` (LongTensor [P]), ``relation`` (FloatTensor [P]) and ``hops`` (LongTensor [P], 0 for
    negatives): all positives (sorted by v, then u), followed by all negatives.

    Readings of the paper:
      * "random walks ... through depth-first search": ``num_walks`` (r) first-order random walks of
        ``walk_length`` (l) steps from every vertex v (a walk goes deep; it does not enumerate a BFS level), with
        uniform or weight-proportional steps.
      * Positives RW_v are the *distinct* vertices u != v the walks visit (§3.2 (3): "without replacement ...
        u can appear only once in v's samples").
      * "Domination" / "exactly k-hop away": a visited u is assigned to its true BFS ring, k = shortest-path hop
        distance from v (Distance(v, u) <= l as Algorithm 1 states), never to the walk step at which it was
        reached: a walk reaching u at step t proves k <= t, and "whenever the walk passes through a vertex at
        k-hop, all vertices at (k-1)-hop are dominated" is read as each vertex counting once, in its own ring.
        (Not implemented: a reading where reaching ring k removes ring k-1 from v's samples altogether; it
        would contradict Algorithm 1's "positive vertex sampling u_pos from RW_v; Distance(v, u_pos) <= l".)
      * Relation (eq. 1) R(v, u) = alpha^(k-1) x a product of edge weights, the weights first scaled by
        ``weight_scale`` (``relation_weights``: R must lie in [0, 1], the target of a cross-entropy). For k = 1
        it is the edge weight w(v, u), as the paper states, whichever walk found u. For k >= 2 it is the product
        along "the random walk path between v and u": the earliest visit of u (smallest step t; ties go to the
        first walk). Since t >= k for every visit, that is a shortest path whenever any walk reached u along
        one; otherwise the product covers the t > k edges the walk took (the paper names no other path).
        Unweighted graphs give exactly alpha^(k-1) (eq. 2).
      * Negatives: ``negatives_per_positive`` x |RW_v| vertices per v drawn uniformly, with replacement, from
        V - RW_v - {v}; relation 0, hops 0. A vertex whose walks cover the whole graph gets none.

    Cost: walking O(n r l) (weighted: O(n r l log E)); dedup a sort of the <= n r l visits. The exact distances
    are the part above O(n r l): per source, each BFS hop costs min(sum of the ring's out-degrees, sum of the
    pending targets' in-degrees), i.e. O(n r l d_max) per hop in the worst case, and only until all targets are
    resolved (k <= t lets a target drop out one hop early). ``chunk_size`` vertices (all if None) are walked,
    deduplicated and measured at a time; the pairs are deterministic given the generator state and chunk_size.
    """
    where = "learn_pairs(...)"
    num_nodes = check_csr(rowptr, col, weight, where)
    rowptr, col = rowptr.long(), col.long()
    if int(num_walks) < 1 or int(walk_length) < 1:
        raise UserError(
            f"num_walks and walk_length must be >= 1, got {num_walks} and {walk_length}",
            where="learn_pairs(num_walks=..., walk_length=...)",
            fix="the paper uses r=20 walks of length l=6 (§5.3)",
        )
    if not 0.0 < float(alpha) <= 1.0:
        raise UserError(
            f"alpha must lie in (0, 1], got {alpha}", where="learn_pairs(alpha=...)", fix="paper: 0.8 or 0.6"
        )
    if int(negatives_per_positive) < 0:
        raise UserError(
            f"negatives_per_positive must be >= 0, got {negatives_per_positive}",
            where="learn_pairs(negatives_per_positive=...)",
            fix="e.g. 1",
        )
    if chunk_size is not None and int(chunk_size) < 1:
        raise UserError(
            f"chunk_size must be >= 1 or None, got {chunk_size}", where="learn_pairs(chunk_size=...)"
        )
    length, walks_per_node = int(walk_length), int(num_walks)
    chunk = num_nodes if chunk_size is None else int(chunk_size)
    stepper = _Stepper(rowptr, col, weight)  # walks follow the raw weights (scaling does not change them)
    w64 = None if weight is None else relation_weights(rowptr, weight, weight_scale)

    pos: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []
    neg: list[tuple[Tensor, Tensor]] = []
    for c0 in range(0, num_nodes, max(chunk, 1)):
        verts = torch.arange(c0, min(c0 + chunk, num_nodes), device=col.device)
        v, u, hops, relation = _positives(
            stepper, rowptr, col, w64, verts, walks_per_node, length, float(alpha), generator
        )
        pos.append((v, u, hops, relation))
        neg.append(_negatives(verts, v, u, num_nodes, int(negatives_per_positive), generator))

    none = torch.empty(0, dtype=torch.long, device=col.device)  # keeps torch.cat defined for N = 0
    v = torch.cat([none] + [x[0] for x in pos] + [x[0] for x in neg])
    u = torch.cat([none] + [x[1] for x in pos] + [x[1] for x in neg])
    num_neg = sum(x[0].numel() for x in neg)
    hops = torch.cat(
        [none] + [x[2] for x in pos] + [torch.zeros(num_neg, dtype=torch.long, device=col.device)]
    )
    relation = torch.cat(
        [none.float()] + [x[3] for x in pos] + [torch.zeros(num_neg, dtype=torch.float32, device=col.device)]
    )
    _check_relations(relation, weight_scale)
    return {"v": v, "u": u, "relation": relation, "hops": hops}


def _check_relations(relation: Tensor, weight_scale: str) -> None:
    """Eq. 4 is a cross-entropy against R: a target outside [0, 1] makes the loss unbounded below."""
    outside = (relation < 0) | (relation > 1)
    if bool(outside.any()):
        raise UserError(
            f"{int(outside.sum())} of {relation.numel()} LEARN relations R = α^(k−1)·∏w lie outside [0, 1] "
            f"(largest {float(relation.max()):.4g}): with weight_scale={weight_scale!r} the edge weights above 1 "
            "enter eq. 1 as given, and the cross-entropy of eq. 4 has no minimum for such targets",
            where="data.samples.weight_scale",
            fix="data.samples.weight_scale=max (weights divided by the largest; default) or =vertex",
        )


def _positives(
    stepper: _Stepper,
    rowptr: Tensor,
    col: Tensor,
    w64: Tensor | None,
    verts: Tensor,
    num_walks: int,
    length: int,
    alpha: float,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Walk from ``verts``, keep each distinct (v, u) at its earliest visit, label it with its BFS hop distance."""
    num_nodes = rowptr.numel() - 1
    nodes, edges = _walk(stepper, verts.repeat_interleave(num_walks), length, generator)
    owner, visit = nodes[:, :1].expand(-1, length), nodes[:, 1:]
    step = torch.arange(1, length + 1, device=col.device).expand_as(visit)
    keep = (visit >= 0) & (visit != owner)
    v, u, t = owner[keep], visit[keep], step[keep]  # row-major: walk order, then step order
    # Earliest visit per (v, u): sort by (key, step); the stable sort keeps the first walk among equal steps.
    key = v * num_nodes + u
    order = torch.sort(key * (length + 1) + t, stable=True).indices
    sorted_key = key[order]
    first = torch.ones_like(sorted_key, dtype=torch.bool)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    pick = order[first]
    v, u, t = v[pick], u[pick], t[pick]
    if w64 is not None:
        step_weight = torch.where(edges >= 0, w64[edges.clamp_min(0)], torch.ones((), dtype=torch.float64))
        path_weight = torch.cumprod(step_weight, dim=1)[keep][pick]
    else:
        path_weight = torch.ones(v.numel(), dtype=torch.float64, device=col.device)

    # Exact hop distances, as padded [chunk, T] rows (v is sorted, so each vertex's pairs are contiguous).
    local = v - verts[0]
    counts = torch.bincount(local, minlength=verts.numel())
    slot = torch.arange(v.numel(), device=col.device) - (torch.cumsum(counts, 0) - counts)[local]
    width = int(counts.max()) if counts.numel() else 0
    targets = torch.full((verts.numel(), width), -1, dtype=torch.long, device=col.device)
    bounds = torch.zeros_like(targets)
    targets[local, slot], bounds[local, slot] = u, t
    hops = hop_distances(rowptr, col, verts, targets, length, upper_bounds=bounds)[local, slot]
    if w64 is not None:  # k = 1: the edge weight itself (eq. 1), even if the earliest walk took a longer path
        one = hops == 1
        path_weight[one] = edge_weight_of(rowptr, col, w64, v[one], u[one])
    relation = (alpha ** (hops - 1).to(torch.float64)) * path_weight
    return v, u, hops, relation.to(torch.float32)


def _negatives(
    verts: Tensor, pos_v: Tensor, pos_u: Tensor, num_nodes: int, ratio: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``ratio`` x |RW_v| uniform draws per v from V - RW_v - {v} (with replacement).

    Vectorised rejection against the sorted positive keys for a few rounds; walkers that still miss (v's walks
    cover most of a small graph) are drawn exactly from the complement, so the loop always terminates.
    """
    counts = torch.bincount(pos_v - verts[0], minlength=verts.numel())
    available = num_nodes - 1 - counts
    wanted = torch.where(available > 0, counts * ratio, torch.zeros_like(counts))
    owner = torch.repeat_interleave(verts, wanted)
    pos_keys = pos_v * num_nodes + pos_u  # sorted: positives come sorted by (v, u)
    drawn = torch.empty_like(owner)
    pending = torch.arange(owner.numel(), device=owner.device)
    for _ in range(_NEGATIVE_REJECTION_ROUNDS):
        if pending.numel() == 0:
            break
        o = owner[pending]
        cand = torch.randint(0, num_nodes, (o.numel(),), generator=generator, device=o.device)
        bad = (cand == o) | contains(pos_keys, o * num_nodes + cand)
        drawn[pending[~bad]] = cand[~bad]
        pending = pending[bad]
    if pending.numel():
        drawn[pending] = _draw_from_complement(owner[pending], pos_v, pos_u, num_nodes, generator)
    return owner, drawn


def _draw_from_complement(
    owner: Tensor, pos_v: Tensor, pos_u: Tensor, num_nodes: int, generator: torch.Generator
) -> Tensor:
    """Exact uniform draw from V - RW_v - {v} per item: a uniform rank among v's allowed keys, then the key.

    The excluded keys are the positives (sorted, distinct) and each owner's own pair v * N + v;
    ``nth_missing`` turns a rank into its key by binary search, without a dense mask. The uniforms are drawn
    per block of owners in owner order, the order of the earlier dense-mask chunks (32 MiB of bool + int64
    per block), so a seeded generator still gives the same negatives.
    """
    owners, which = torch.unique(owner, return_inverse=True)
    excluded = torch.sort(torch.cat([pos_v * num_nodes + pos_u, owners * (num_nodes + 1)])).values
    row_start = owners * num_nodes
    base = missing_below(excluded, row_start)
    size = missing_below(excluded, row_start + num_nodes) - base
    rank = torch.empty_like(owner)
    rows_per_block = max(1, (32 * 2**20) // (9 * num_nodes))
    for o0 in range(0, owners.numel(), rows_per_block):
        sel = (which >= o0) & (which < o0 + rows_per_block)
        r = which[sel]
        u01 = torch.rand(r.numel(), generator=generator, dtype=torch.float64, device=owner.device)
        rank[sel] = torch.minimum((u01 * size[r]).long(), size[r] - 1)
    return nth_missing(excluded, base[which] + rank) - row_start[which]
