"""One VOT sequence folder (``00000001.jpg ...`` + ``groundtruth.txt``): rotated polygons to axis-aligned boxes.

Why: VOT annotates a rotated rectangle as four corners (x1,y1,...,x4,y4); an OTB-style evaluation and a
SiamFC initialisation need an x, y, w, h box. The reading here is the polygon's bounding box (the min-max
reading); the area-preserving box of some VOT toolkits (pysot's ``get_axis_aligned_bbox``) is not used.
Coordinates are kept as the file gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datamodules.tracking.otb import check_boxes
from datamodules.tracking.text import frame_range, numbered_frames, numeric_rows
from zoo.errors import UserError

VOT_FIX = "give one region per frame: x,y,w,h or the polygon x1,y1,x2,y2,x3,y3,x4,y4, comma-separated"


@dataclass(frozen=True)
class VOTSequence:
    """Frames as paths; ``regions`` as the file gives them (``[T, 8]`` polygons or ``[T, 4]`` boxes) and
    ``boxes`` float64 ``[T, 4]`` x, y, w, h."""

    name: str
    frames: tuple[Path, ...]
    regions: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def polygon_to_box(polygons: np.ndarray) -> np.ndarray:
    """``[..., 2K]`` polygons (x1, y1, x2, y2, ...) to ``[..., 4]`` x, y, w, h bounding boxes, batched."""
    polygons = np.asarray(polygons, dtype=np.float64)
    xs, ys = polygons[..., 0::2], polygons[..., 1::2]
    low = np.stack([xs.min(axis=-1), ys.min(axis=-1)], axis=-1)
    high = np.stack([xs.max(axis=-1), ys.max(axis=-1)], axis=-1)
    return np.concatenate([low, high - low], axis=-1)


def read_vot_sequence(folder: str | Path) -> VOTSequence:
    """Read ``folder``: every numbered image, one region per image (``UserError`` otherwise)."""
    folder = Path(folder)
    gt_path = folder / "groundtruth.txt"
    regions = numeric_rows(gt_path, (8, 4), "VOT ground-truth file", VOT_FIX)
    boxes = polygon_to_box(regions) if regions.shape[1] == 8 else regions
    check_boxes(boxes, gt_path, "VOT ground-truth file")
    images = numbered_frames(folder, f"VOT sequence {folder.name}")
    paths = frame_range(images, 1, max(images), folder, f"VOT sequence {folder.name}")
    if len(regions) != len(paths):
        fewer = len(regions) < len(paths)
        raise UserError(
            f"VOT sequence {folder.name}: {gt_path.name} has {len(regions)} regions for {len(paths)} frames",
            where=f"{gt_path}, line {len(regions) + 1 if fewer else len(paths) + 1}",
            fix="give exactly one region per frame"
            if fewer
            else "remove the extra rows or restore the images",
        )
    return VOTSequence(folder.name, paths, regions, boxes)
