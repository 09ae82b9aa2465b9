"""zoo.pair_keys: membership and exact complement draws agree with brute force."""

from __future__ import annotations

import numpy as np
import torch

from zoo.pair_keys import contains, missing_below, nth_missing


def _excluded(seed: int, high: int, size: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.unique(rng.integers(0, high, size)))


def test_contains_matches_isin() -> None:
    keys = _excluded(0, 1_000, 300)
    queries = torch.arange(-5, 1_010)
    assert torch.equal(contains(keys, queries), torch.from_numpy(np.isin(queries.numpy(), keys.numpy())))
    assert not contains(torch.empty(0, dtype=torch.int64), queries).any()
    grid = queries[:20].reshape(4, 5)
    assert contains(keys, grid).shape == (4, 5)


def test_nth_missing_and_missing_below_match_brute_force() -> None:
    for seed, size in ((1, 0), (2, 50), (3, 900)):
        excluded = _excluded(seed, 1_000, size)
        allowed = np.setdiff1d(np.arange(2_000), excluded.numpy())
        ranks = torch.arange(1_000)
        assert torch.equal(nth_missing(excluded, ranks), torch.from_numpy(allowed[:1_000]))
        bounds = torch.arange(0, 1_500, 7)
        expected = np.searchsorted(allowed, bounds.numpy())
        assert torch.equal(missing_below(excluded, bounds), torch.from_numpy(expected))


def test_nth_missing_with_excluded_at_both_ends() -> None:
    excluded = torch.tensor([0, 1, 2, 5, 6, 9])
    assert nth_missing(excluded, torch.tensor([0, 1, 2, 3, 4])).tolist() == [3, 4, 7, 8, 10]
