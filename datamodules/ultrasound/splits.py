"""Case-grouped, stratified, seeded train / val / test splits, as k folds.

Every image of a group (a case, or cases joined by duplicate pictures: ``duplicates.split_groups``) lands in
the same part, so no nodule sits in both training and test. ``StratifiedGroupKFold`` (scikit-learn) keeps each
fold's benign : malignant share close to the whole set's. The test set is fold ``fold`` of ``num_folds``
(``num_folds=5`` gives the paper's 80 / 20; run ``fold=0..4`` for cross-validation and report mean ± std);
validation is a further grouped, stratified ``val_share`` of the rest, for model selection.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from datamodules.pointclouds import derive_seed
from zoo.errors import UserError

log = logging.getLogger(__name__)

PARTS = ("train", "val", "test")


def _folds(labels: np.ndarray, groups: np.ndarray, num_folds: int, seed: int) -> np.ndarray:
    """int64 ``[N]``: the fold of each sample (0 .. num_folds - 1)."""
    fold_of = np.full(len(labels), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=num_folds, shuffle=True, random_state=seed % 2**32)
    with warnings.catch_warnings():  # "least populated class ..." counts images; the callers check cases
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for k, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
            fold_of[held] = k
    return fold_of


def assign_folds(labels: np.ndarray, groups: np.ndarray, num_folds: int, seed: int) -> np.ndarray:
    """int64 ``[N]`` test fold per sample; refuses fewer groups of a class than folds (a fold would lack it)."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    for label in np.unique(labels):
        count = np.unique(groups[labels == label]).size
        if count < num_folds:
            raise UserError(
                f"class {int(label)} has {count} case(s), fewer than the {num_folds} folds",
                where="data.num_folds",
                fix=f"use data.num_folds <= {count}, or more data",
            )
    return _folds(labels, groups, num_folds, derive_seed("ultrasound-folds", seed))


def split_indices(
    labels: np.ndarray, groups: np.ndarray, num_folds: int, fold: int, val_share: float, seed: int
) -> dict[str, np.ndarray]:
    """{train, val, test: sorted int64 indices}: test = fold ``fold``; val ≈ ``val_share`` of the rest.

    ``val_share`` 0 leaves val empty. The validation part is one fold of ``round(1 / val_share)`` grouped,
    stratified folds of the non-test samples, so its share is approximate (groups are not cut).
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if not 0 <= fold < num_folds:
        raise UserError(
            f"data.fold must be in 0 .. {num_folds - 1} for {num_folds} folds, got {fold}",
            where="data.fold",
            fix=f"e.g. data.fold=0 (run data.fold=0..{num_folds - 1} for cross-validation)",
        )
    fold_of = assign_folds(labels, groups, num_folds, seed)
    test = np.flatnonzero(fold_of == fold)
    rest = np.flatnonzero(fold_of != fold)
    val = np.zeros(0, dtype=np.int64)
    if val_share > 0:
        parts = max(2, round(1 / val_share))
        if np.unique(groups[rest]).size < parts:
            raise UserError(
                f"data.val_share={val_share} asks for 1 of {parts} validation folds, but the training part "
                f"holds only {np.unique(groups[rest]).size} cases",
                where="data.val_share",
                fix=f"use data.val_share >= {1 / np.unique(groups[rest]).size:.2f}, 0 (no validation), or more data",
            )
        inner = _folds(labels[rest], groups[rest], parts, derive_seed("ultrasound-val", seed, fold))
        val = rest[inner == 0]
        if np.unique(labels[val]).size < np.unique(labels).size:
            log.warning(
                "the validation part (%d images) lacks a class: too few cases for data.val_share", len(val)
            )
    train = np.setdiff1d(rest, val)
    return {"train": train, "val": np.sort(val), "test": test}


def class_counts(labels: np.ndarray, num_classes: int = 2) -> list[int]:
    """Samples per class, as plain ints."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).tolist()
