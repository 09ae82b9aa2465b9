"""Near-duplicate pictures: found from the preprocessed images, merged into one split group, or dropped.

Why: DDTI ships the same picture under different case ids. Its cases 545–648 (the 129 rows tagged
``bening`` / ``maling``) are re-encoded copies of cases 288–400 (new JPEG bytes, same pixels up to
compression), and five ids share one image byte for byte (150_1, 233_2, 323_1, 326_1, 349_1). Split by case id
alone, a copy in the training folds would sit beside its original in the test fold.

The test: thumbnails of the 224 × 224 crops (grey, 7 × 7 block means → 32 × 32, centred, unit norm) whose
correlation is at least ``DUPLICATE_CORRELATION`` (0.98). On DDTI the copies score ≥ 0.996 and every other
pair of different cases ≤ 0.96 (the same nodule in two frames) or ≤ 0.86 (different nodules); a copy
re-encoded at JPEG quality 70, whose crop may move by a few pixels, still scores about 0.988.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

DUPLICATE_CORRELATION = 0.98
_BLOCK = 7
_CHUNK = 1024


def thumbnails(images: np.ndarray) -> np.ndarray:
    """float32 ``[N, (S/7)²]`` fingerprints of uint8 ``[N, 3, S, S]`` images (S a multiple of 7, e.g. 224)."""
    n, _, size, _ = images.shape
    cells = size // _BLOCK
    luma = np.tensordot(
        np.array([0.299, 0.587, 0.114], dtype=np.float32), images[:, :3].astype(np.float32), axes=([0], [1])
    )[:, : cells * _BLOCK, : cells * _BLOCK]
    thumbs = luma.reshape(n, cells, _BLOCK, cells, _BLOCK).mean(axis=(2, 4)).reshape(n, -1)
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(thumbs, axis=1, keepdims=True)
    return thumbs / np.where(norms > 0, norms, 1.0)


def duplicate_pairs(thumbs: np.ndarray, threshold: float = DUPLICATE_CORRELATION) -> list[tuple[int, int]]:
    """(i, j) with i < j whose fingerprints correlate at least ``threshold`` (row blocks: memory stays small)."""
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(thumbs), _CHUNK):
        block = thumbs[start : start + _CHUNK] @ thumbs.T
        rows, cols = np.nonzero(block >= threshold)
        rows = rows + start
        pairs += [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if i < j]
    return pairs


def split_groups(cases: Sequence[str], pairs: list[tuple[int, int]]) -> np.ndarray:
    """int64 ``[N]`` group ids: images of one case, and cases joined by a duplicate pair, share a group."""
    parent: dict[str, str] = {case: case for case in cases}

    def root(case: str) -> str:
        while parent[case] != case:
            parent[case] = parent[parent[case]]
            case = parent[case]
        return case

    for i, j in pairs:
        a, b = root(cases[i]), root(cases[j])
        if a != b:
            parent[max(a, b)] = min(a, b)
    roots = [root(case) for case in cases]
    ids = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([ids[r] for r in roots], dtype=np.int64)


def keep_first_copies(
    keys: Sequence[str], labels: Sequence[int], pairs: list[tuple[int, int]]
) -> tuple[np.ndarray, list[str]]:
    """bool ``[N]``: keep an image unless it duplicates an earlier kept one; and ``"dropped (= kept)"`` notes.

    Order matters: pass originals first (DDTI's id order puts cases 288–400 before their copies 545–648).
    Duplicates under different labels are all dropped (one picture cannot be both), with a warning.
    """
    keep = np.ones(len(keys), dtype=bool)
    notes: list[str] = []
    partners: dict[int, list[int]] = {}
    for i, j in pairs:
        partners.setdefault(j, []).append(i)
        partners.setdefault(i, []).append(j)
    for j in range(len(keys)):
        if not keep[j] or j not in partners:
            continue
        conflicting = [i for i in partners[j] if labels[i] != labels[j]]
        if conflicting:
            keep[[j, *conflicting]] = False
            log.warning(
                "%s and %s are the same picture with different labels; all are left out",
                keys[j],
                ", ".join(keys[i] for i in conflicting),
            )
            continue
        earlier = [i for i in partners[j] if i < j and keep[i]]
        if earlier:
            keep[j] = False
            notes.append(f"{keys[j]} (= {keys[earlier[0]]})")
    return keep, notes
