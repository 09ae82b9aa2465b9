"""Loop-closure detection data for SeqDLF (ICONIP 2019): image sequences and frame × frame ground truth.

- ``ground_truth``: the matrix readers (.mat, .npy without pickles, pairs text), checks, symmetrising and
  frame subsampling, with what each public source stores;
- ``sequences``: the public folder layouts (Lip6, New College, City Centre, Bovisa, KITTI, VPR-Bench Corridor),
  time-ordered frame lists, the image reader;
- ``sources``: pinned upstream commits and checksums, downloads;
- ``datamodule``: ``LoopClosureDataModule`` (frames in order, ``ground_truth()``, ``describe()``).

Bad input (a frame count that differs from the matrix, an undecodable image, a non-square or non-binary matrix)
is a ``UserError`` naming the file.
"""

from __future__ import annotations

from datamodules.loopclosure.datamodule import LoopClosureDataModule
from datamodules.loopclosure.ground_truth import (
    GroundTruth,
    check_matrix,
    load_ground_truth,
    offset_histogram,
    read_pairs,
    subsample,
    subsample_indices,
)
from datamodules.loopclosure.sequences import (
    LAYOUTS,
    Corridor,
    Layout,
    check_count,
    list_frames,
    load_frames,
    read_corridor,
    read_rgb,
    select_camera,
)

__all__ = [
    "LAYOUTS",
    "Corridor",
    "GroundTruth",
    "Layout",
    "LoopClosureDataModule",
    "check_count",
    "check_matrix",
    "list_frames",
    "load_frames",
    "load_ground_truth",
    "offset_histogram",
    "read_corridor",
    "read_pairs",
    "read_rgb",
    "select_camera",
    "subsample",
    "subsample_indices",
]
