"""CSR graph helpers shared by the samplers (``sampling``) and exact hop distances (``hops``).

Graphs arrive as CSR tensors, independent of any dataclass: ``rowptr [N+1]``, ``col [E]`` (out-neighbours, rows
sorted by source), optional ``weight [E]`` (non-negative); an undirected graph stores both directions.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from zoo.errors import UserError
from zoo.pair_keys import csr_rows


def check_csr(rowptr: Tensor, col: Tensor, weight: Tensor | None, where: str) -> int:
    """Validate the CSR triple once at the API boundary (O(E)); returns the number of nodes."""
    fix = "pass rowptr [N+1] (starting at 0, non-decreasing, ending at E) and col [E] with ids in [0, N)"
    if rowptr.dim() != 1 or rowptr.numel() < 1 or col.dim() != 1:
        raise UserError(
            f"CSR tensors have the wrong shape: rowptr {tuple(rowptr.shape)}, col {tuple(col.shape)}",
            where=where,
            fix=fix,
        )
    if rowptr.is_floating_point() or col.is_floating_point():
        raise UserError("rowptr and col must be integer tensors", where=where, fix=fix)
    num_nodes = rowptr.numel() - 1
    if int(rowptr[0]) != 0 or int(rowptr[-1]) != col.numel() or bool((rowptr.diff() < 0).any()):
        raise UserError(
            f"rowptr is not a valid CSR row pointer for {col.numel()} edges "
            f"(first {int(rowptr[0])}, last {int(rowptr[-1])}, non-decreasing: {not bool((rowptr.diff() < 0).any())})",
            where=where,
            fix=fix,
        )
    if col.numel() and (int(col.min()) < 0 or int(col.max()) >= num_nodes):
        raise UserError(
            f"col holds node ids outside [0, {num_nodes})",
            where=where,
            fix="check the edge list and num_nodes",
        )
    if weight is not None:
        if weight.shape != col.shape or not weight.is_floating_point():
            raise UserError(
                f"weight must be a float tensor shaped like col {tuple(col.shape)}, got "
                f"{weight.dtype} {tuple(weight.shape)}",
                where=where,
                fix="pass one weight per stored edge, or weight=None for an unweighted graph",
            )
        if weight.numel() and (not bool(torch.isfinite(weight).all()) or float(weight.min()) < 0):
            raise UserError(
                "edge weights must be finite and non-negative (LEARN §3.1 only considers w >= 0)",
                where=where,
                fix="clip or drop negative edge weights",
            )
    return num_nodes


def edge_keys(rowptr: Tensor, col: Tensor) -> Tensor:
    """Sorted ``src * N + dst`` of every edge: an O(log E) membership test via ``searchsorted``."""
    num_nodes = rowptr.numel() - 1
    return torch.sort(csr_rows(rowptr) * num_nodes + col).values


def transpose_csr(rowptr: Tensor, col: Tensor) -> tuple[Tensor, Tensor]:
    """In-neighbour CSR (``rowptr``, ``col`` of the reversed graph); equal content for undirected graphs."""
    num_nodes = rowptr.numel() - 1
    order = torch.argsort(col, stable=True)
    in_ptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=col.device)
    in_ptr[1:] = torch.cumsum(torch.bincount(col, minlength=num_nodes), 0)
    return in_ptr, csr_rows(rowptr)[order]


def expand_neighbours(
    ptr: Tensor, nbr: Tensor, nodes: Tensor, payload: Tensor, max_items: int
) -> Iterator[tuple[int, Tensor, Tensor, Tensor]]:
    """Expand ``nodes`` to their CSR neighbours in pieces of <= ``max_items`` (bounded memory).

    Yields ``(first_item, segments, payload_rep, neighbour)`` for pieces with at least one neighbour:
    ``segments [k+1]`` are the piece-local offsets of the neighbour runs of items ``first_item .. first_item+k-1``
    (for segment reductions), ``payload_rep`` repeats ``payload[item]`` over its run. A node whose degree alone
    exceeds ``max_items`` forms a piece of its own.
    """
    counts = ptr[nodes + 1] - ptr[nodes]
    ends = torch.cumsum(counts, 0)
    n, start = nodes.numel(), 0
    while start < n:
        base = int(ends[start - 1]) if start else 0
        stop = max(int(torch.searchsorted(ends, base + max_items, right=True)), start + 1)
        cnt = counts[start:stop]
        total = int(ends[stop - 1]) - base
        segments = torch.zeros(stop - start + 1, dtype=torch.long, device=nodes.device)
        segments[1:] = ends[start:stop] - base
        if total:
            # position of the j-th neighbour of an item = ptr[node] + (j - run start): one repeat, one arange
            first = ptr[nodes[start:stop]] - segments[:-1]
            pos = torch.repeat_interleave(first, cnt, output_size=total)
            pos += torch.arange(total, device=nodes.device)
            yield (
                start,
                segments,
                torch.repeat_interleave(payload[start:stop], cnt, output_size=total),
                nbr[pos],
            )
        start = stop
