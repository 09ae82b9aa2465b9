"""Exact BFS hop distances on CSR graphs, chunked to bounded memory (LEARN's k-hop rings).

Only hops, chunks and memory-bounded expansion pieces are looped over; every hop picks the cheaper of a top-down
ring expansion and a bottom-up test restricted to the pending targets.
"""

from __future__ import annotations

import torch
from torch import Tensor

from datamodules.graphs.csr import check_csr, expand_neighbours, transpose_csr
from zoo.errors import UserError, check_choice

HOP_STRATEGIES = ("auto", "top_down", "bottom_up")
#: Cache-friendly size of hop_distances' dense per-chunk BFS state.
_DENSE_CHUNK_BYTES = 8 * 2**20


def hop_distances(
    rowptr: Tensor,
    col: Tensor,
    sources: Tensor,
    targets: Tensor,
    max_hops: int,
    *,
    upper_bounds: Tensor | None = None,
    memory_mb: float = 64.0,
    strategy: str = "auto",
) -> Tensor:
    """Exact BFS distance (number of hops along out-edges) from ``sources[i]`` to each ``targets[i, j]``.

    Returns ``[S, T]``: 0 where the target is the source, -1 beyond ``max_hops``, unreachable, or where the target
    is negative (padding). Sources are processed in chunks whose dense ``[chunk, N]`` BFS state (ball, frontier
    and new ring: about four bytes per entry) stays within min(``memory_mb``, 8 MB); neighbour expansions run in
    pieces of about ``memory_mb / 2``. Only hops (and chunks) are looped over.

    Each hop picks the cheaper of two exact ways to learn which pending targets sit at distance h:
      * top-down: expand the ring at distance h-1 along out-edges (cost: sum of the ring's out-degrees); its
        result is also the next frontier;
      * bottom-up, restricted to the targets: a target is at distance h iff one of its in-neighbours lies in the
        ball of radius h-1 (cost: sum of the pending targets' in-degrees).
    On dense graphs (BlogCatalog, degree ~65) rings reach thousands of nodes after two hops, while only ~100
    targets per source are pending, so the bottom-up test avoids expanding most rings; the ring is then built
    only if targets remain for the next hop. ``strategy="top_down"`` / ``"bottom_up"`` force one test (both are
    exact; for benchmarks and tests).

    ``upper_bounds [S, T]`` (optional) are known bounds d <= b, e.g. the walk step at which a walk reached the
    target: a target outside the ball of radius b-1 is then at distance exactly b without another hop. Bounds
    outside [1, max_hops] are ignored.
    """
    where = "hop_distances(...)"
    num_nodes = check_csr(rowptr, col, None, where)
    rowptr, col, sources, targets = rowptr.long(), col.long(), sources.long(), targets.long()
    if sources.dim() != 1 or targets.dim() != 2 or targets.shape[0] != sources.numel():
        raise UserError(
            f"sources must be [S] and targets [S, T]; got {tuple(sources.shape)} and {tuple(targets.shape)}",
            where=where,
            fix="give one row of targets per source (pad with -1)",
        )
    if sources.numel() and (int(sources.min()) < 0 or int(sources.max()) >= num_nodes):
        raise UserError(f"sources must be node ids in [0, {num_nodes})", where=where)
    if targets.numel() and int(targets.max()) >= num_nodes:
        raise UserError(f"targets must be node ids < {num_nodes} (or negative for padding)", where=where)
    check_choice(strategy, HOP_STRATEGIES, "hop_distances(strategy=...)", "strategy")
    max_hops = int(max_hops)
    out = torch.full_like(targets, -1)
    if targets.numel() == 0:
        return out
    out[targets == sources[:, None]] = 0
    need = (targets >= 0) & (targets != sources[:, None])
    if max_hops < 1 or not bool(need.any()):
        return out
    if upper_bounds is None:
        bounds = torch.zeros_like(targets)
    else:
        if upper_bounds.shape != targets.shape:
            raise UserError(
                f"upper_bounds must be shaped like targets {tuple(targets.shape)}",
                where=where,
                fix="or omit it",
            )
        bounds = upper_bounds.long()
        bounds = torch.where((bounds >= 1) & (bounds <= max_hops), bounds, torch.zeros_like(bounds))

    in_ptr, in_nbr = transpose_csr(rowptr, col)
    out_degree, in_degree = rowptr.diff(), in_ptr.diff()
    budget = max(int(float(memory_mb) * 2**20), 1)
    # ball + frontier + new ring (+ a transient) bytes per source row; dense chunks beyond ~8 MB only add cache
    # misses (measured: 16 MB chunks 25 % faster than 64 MB on a 10k-node graph), so the budget caps, not sets, it.
    rows_per_chunk = max(1, min(budget, _DENSE_CHUNK_BYTES) // (4 * num_nodes))
    piece = max(1024, budget // 2 // 48)  # an expansion item costs a handful of int64 temporaries

    for r0 in range(0, sources.numel(), rows_per_chunk):
        r1 = min(r0 + rows_per_chunk, sources.numel())
        row, slot = need[r0:r1].nonzero(as_tuple=True)
        if row.numel() == 0:
            continue
        target, bound = targets[r0:r1][row, slot], bounds[r0:r1][row, slot]
        dist = torch.full_like(target, -1)
        pending = torch.arange(target.numel(), device=target.device)
        src = sources[r0:r1]
        ball = torch.zeros(r1 - r0, num_nodes, dtype=torch.bool, device=col.device)
        ball[torch.arange(r1 - r0, device=col.device), src] = True
        frontier = ball.clone()  # the ring at distance h-1, dense [chunk, N]
        for h in range(1, max_hops + 1):
            if strategy == "auto":
                # sum of the frontier's out-degrees without materialising its index list
                expand_cost = int((frontier.view(torch.uint8).sum(0, dtype=torch.int32) * out_degree).sum())
                top_down = expand_cost <= int(in_degree[target[pending]].sum())
            else:
                top_down = strategy == "top_down"
            ring = None
            if top_down:
                ring = _next_ring(ball, frontier, rowptr, col, piece)
                hit = ring[row[pending], target[pending]]
            else:
                hit = _reaches(ball, row[pending], target[pending], in_ptr, in_nbr, piece)
            dist[pending[hit]] = h
            rest = pending[~hit]
            exact = bound[rest] == h + 1
            dist[rest[exact]] = h + 1
            pending = rest[~exact]
            if pending.numel() == 0 or h == max_hops:
                break
            # Sources whose targets are all resolved stop growing: on BlogCatalog one pending target after hop 3
            # would otherwise expand the whole chunk's third ring (~1.4 M frontier entries × degree 65).
            active = torch.zeros(r1 - r0, dtype=torch.bool, device=col.device)
            active[row[pending]] = True
            if ring is None:
                ring = _next_ring(ball, frontier.logical_and_(active[:, None]), rowptr, col, piece)
            frontier = ring.logical_and_(active[:, None])
            if not bool(frontier.any()):
                break  # the pending targets are unreachable
            ball |= frontier
        out[r0 + row, slot] = dist
    return out


def _next_ring(ball: Tensor, frontier: Tensor, rowptr: Tensor, col: Tensor, piece: int) -> Tensor:
    """Nodes one out-edge beyond ``frontier`` and outside ``ball``, as a dense ``[chunk, N]`` mask."""
    num_nodes = ball.shape[1]
    ring_row, ring_node = frontier.nonzero(as_tuple=True)
    ring = torch.zeros_like(ball)
    flat = ring.view(-1)
    for _, _, offset, nbr in expand_neighbours(rowptr, col, ring_node, ring_row * num_nodes, piece):
        flat[offset + nbr] = True
    return ring.logical_and_(ball.logical_not())


def _reaches(ball: Tensor, row: Tensor, target: Tensor, in_ptr: Tensor, in_nbr: Tensor, piece: int) -> Tensor:
    """For each (row, target): does an in-neighbour of target lie in ``ball[row]``? (bottom-up BFS test)."""
    num_nodes = ball.shape[1]
    flat = ball.view(-1)
    hit = torch.zeros(target.numel(), dtype=torch.bool, device=target.device)
    for done, segments, offset, nbr in expand_neighbours(in_ptr, in_nbr, target, row * num_nodes, piece):
        found = torch.zeros(nbr.numel() + 1, dtype=torch.int32, device=nbr.device)
        torch.cumsum(flat[offset + nbr], 0, out=found[1:])
        k = segments.numel() - 1
        hit[done : done + k] = found[segments[1:]] > found[segments[:-1]]
    return hit
