"""Node pairs as int64 keys ``a * n + b``: membership in a key set, and exact draws from its complement.

One implementation for everything that samples non-edges: the link-prediction split (node2vec's negatives) and
LEARN's negatives (``datamodules.graphs.splits`` and ``.sampling``); ``csr_rows`` is the one CSR helper that the
methods (adjacency inputs, DANMF) need as well. Methods and data may not import each other, so these pieces sit
here, on the floor. Callers holding numpy arrays pass
``torch.from_numpy`` views (no copy). Everything is a binary search over sorted keys: O(log K) per query, no
dense masks and no Python loops over pairs.
"""

from __future__ import annotations

import torch
from torch import Tensor


def contains(sorted_keys: Tensor, queries: Tensor) -> Tensor:
    """Elementwise ``queries in sorted_keys`` (``sorted_keys`` 1-D, ascending): is each pair an edge?"""
    if sorted_keys.numel() == 0:
        return torch.zeros_like(queries, dtype=torch.bool)
    idx = torch.searchsorted(sorted_keys, queries).clamp_max(sorted_keys.numel() - 1)
    return sorted_keys[idx] == queries


def missing_below(sorted_excluded: Tensor, bounds: Tensor) -> Tensor:
    """How many integers in ``[0, bound)`` are not in ``sorted_excluded`` (unique, ascending, >= 0)."""
    return bounds - torch.searchsorted(sorted_excluded, bounds)


def nth_missing(sorted_excluded: Tensor, ranks: Tensor) -> Tensor:
    """The ``ranks``-th (0-based) smallest integers >= 0 that are not in ``sorted_excluded`` (unique, ascending).

    An exact draw from the complement of a key set is this function applied to uniform ranks: the excluded
    key ``e_i`` has ``e_i - i`` allowed keys below it, so the answer is ``rank`` plus the number of excluded
    keys whose ``e_i - i`` is at most ``rank``.
    """
    shifted = sorted_excluded - torch.arange(sorted_excluded.numel(), device=sorted_excluded.device)
    return ranks + torch.searchsorted(shifted, ranks, right=True)


def csr_rows(rowptr: Tensor) -> Tensor:
    """Source node of every stored edge of a CSR graph (the COO row index)."""
    return torch.repeat_interleave(torch.arange(rowptr.numel() - 1, device=rowptr.device), rowptr.diff())
