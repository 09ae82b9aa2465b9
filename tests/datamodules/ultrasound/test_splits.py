"""Case-grouped stratified k folds: no case in two parts, class shares kept, the same seed the same split."""

from __future__ import annotations

import numpy as np
import pytest

from datamodules.ultrasound.splits import assign_folds, class_counts, split_indices
from zoo.errors import UserError


def toy(cases: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1–4 images per case, one case in five benign (about DDTI's imbalance); labels constant per case."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=cases)
    groups = np.repeat(np.arange(cases), sizes)
    labels = np.repeat((np.arange(cases) % 5 != 0).astype(np.int64), sizes)
    return labels, groups


def test_parts_partition_the_set_and_never_share_a_case() -> None:
    labels, groups = toy()
    for fold in range(5):
        parts = split_indices(labels, groups, 5, fold, 0.1, seed=0)
        together = np.concatenate(list(parts.values()))
        assert np.array_equal(np.sort(together), np.arange(len(labels)))
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            assert not set(groups[parts[a]]) & set(groups[parts[b]]), (fold, a, b)


def test_folds_cover_every_sample_once_and_each_case_once() -> None:
    labels, groups = toy()
    folds = assign_folds(labels, groups, 5, seed=0)
    assert set(folds.tolist()) == set(range(5))
    for case in np.unique(groups):
        assert len(set(folds[groups == case].tolist())) == 1
    tests = [split_indices(labels, groups, 5, k, 0.1, 0)["test"] for k in range(5)]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(len(labels)))


def test_stratification_roughly_holds() -> None:
    labels, groups = toy(200)
    share = labels.mean()
    for fold in range(5):
        parts = split_indices(labels, groups, 5, fold, 0.1, seed=3)
        for part in ("train", "test"):
            assert abs(labels[parts[part]].mean() - share) < 0.06, (fold, part)
        assert 0.06 < len(parts["val"]) / len(labels) < 0.14


def test_same_seed_same_split_other_seed_other_split() -> None:
    labels, groups = toy()
    a, b, c = (split_indices(labels, groups, 5, 0, 0.1, seed) for seed in (7, 7, 8))
    assert all(np.array_equal(a[p], b[p]) for p in a)
    assert not np.array_equal(a["test"], c["test"])


def test_val_share_zero_leaves_val_empty() -> None:
    labels, groups = toy()
    parts = split_indices(labels, groups, 5, 1, 0.0, seed=0)
    assert parts["val"].size == 0 and parts["train"].size + parts["test"].size == len(labels)


def test_bad_fold_and_too_few_cases_are_clear_errors() -> None:
    labels, groups = toy()
    with pytest.raises(UserError, match="data.fold must be in 0 .. 4"):
        split_indices(labels, groups, 5, 5, 0.1, 0)
    with pytest.raises(UserError, match="class 0 has 2 case"):
        assign_folds(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 2, 3, 4]), 3, 0)


def test_class_counts() -> None:
    assert class_counts(np.array([1, 1, 0, 1])) == [1, 3]
    assert class_counts(np.array([], dtype=np.int64)) == [0, 0]
