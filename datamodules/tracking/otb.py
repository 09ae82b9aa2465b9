"""One OTB sequence folder (``<Seq>/img/0001.jpg ...``, ``groundtruth_rect.txt``, ``attrs.txt``) as plain data.

Why a reader of its own: OTB's files are irregular (comma, TAB or space separators; Football1 ships 81 images
for 74 boxes; David starts at image 300), and the evaluation must see exactly the frames the benchmark scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datamodules.tracking.text import frame_range, numbered_frames, numeric_rows, read_text, sequence_key
from zoo.errors import UserError

# The 11 OTB attribute tags (annotations/lists/attr_desc.txt).
OTB_ATTRIBUTES: dict[str, str] = {
    "IV": "Illumination Variation",
    "SV": "Scale Variation",
    "OCC": "Occlusion",
    "DEF": "Deformation",
    "MB": "Motion Blur",
    "FM": "Fast Motion",
    "IPR": "In-Plane Rotation",
    "OPR": "Out-of-Plane Rotation",
    "OV": "Out-of-View",
    "BC": "Background Clutters",
    "LR": "Low Resolution",
}

# Sequences whose benchmark frames are not "every image of the folder" (first, last image number, inclusive).
# The starts are those of annotations/OTB2015.json's image_files (tests check them); Football1's folder holds
# 81 images but OTB scores images 1-74, the rows of its ground truth.
OTB_FRAME_RANGES: dict[str, tuple[int, int]] = {
    "david": (300, 770),
    "tiger1": (6, 354),
    "football1": (1, 74),
    "blurcar1": (247, 988),
    "blurcar3": (3, 359),
    "blurcar4": (18, 397),
}

GROUND_TRUTH_FIX = (
    "give one x,y,w,h box per frame (comma-, TAB- or space-separated, 1-based pixels), as OTB ships it"
)


@dataclass(frozen=True)
class OTBSequence:
    """Frames as paths and boxes as float64 ``[T, 4]`` OTB x, y, w, h (1-based pixels), one per frame."""

    name: str
    frames: tuple[Path, ...]
    boxes: np.ndarray
    attributes: tuple[str, ...]
    first_frame: int

    def __len__(self) -> int:
        return len(self.frames)


def parse_attributes(text: str, where: str) -> tuple[str, ...]:
    """Tags from ``"SV, DEF ,FM"``: split on commas and stripped, so ``"IV ,SV"`` and a trailing comma count.

    (jwlim's published per-attribute scores split on ``", "`` and so drop such tags: see
    ``zoo.workflow.tracking_validation``.)
    """
    tags = [tag.strip() for tag in text.split(",")]
    tags = [tag for tag in tags if tag]
    unknown = [tag for tag in tags if tag not in OTB_ATTRIBUTES]
    if unknown:
        raise UserError(
            f"unknown OTB attribute(s) {', '.join(map(repr, unknown))}",
            where=where,
            fix=f"use the OTB tags {', '.join(OTB_ATTRIBUTES)}, separated by commas",
        )
    return tuple(dict.fromkeys(tags))


def read_attributes(path: Path) -> tuple[str, ...]:
    """The tags of ``attrs.txt`` (none when the file is absent: OTB ships none for e.g. Surfer)."""
    if not path.is_file():
        return ()
    tags: list[str] = []
    for number, line in enumerate(read_text(path, "attribute file", "list the OTB tags"), start=1):
        if line.strip():
            tags += parse_attributes(line, f"{path}, line {number}")
    return tuple(dict.fromkeys(tags))


def check_boxes(boxes: np.ndarray, path: Path, what: str) -> None:
    """Refuse a first box without area (the tracker starts from it) and any negative width or height.

    Later all-zero boxes stay: OTB writes ``0,0,0,0`` where the target is absent (Board, Twinnings), and the
    evaluation decides how to score such frames.
    """
    first = boxes[0]
    if first[2] <= 0 or first[3] <= 0:
        raise UserError(
            f"{what} {path.name}: the first box {first.tolist()} has no area, so a tracker cannot start from it",
            where=f"{path}, line 1",
            fix="give the first frame a box with positive width and height",
        )
    negative = np.flatnonzero((boxes[:, 2:] < 0).any(axis=1))
    if negative.size:
        line = int(negative[0]) + 1
        raise UserError(
            f"{what} {path.name} has a negative width or height on line {line}: {boxes[line - 1].tolist()}",
            where=f"{path}, line {line}",
            fix="boxes are x,y,w,h with w, h >= 0 (0,0,0,0 marks an absent target)",
        )


def read_ground_truth(path: Path) -> np.ndarray:
    """``groundtruth_rect.txt`` as float64 ``[N, 4]``, checked by ``check_boxes``."""
    boxes = numeric_rows(path, (4,), "ground-truth file", GROUND_TRUTH_FIX)
    check_boxes(boxes, path, "ground-truth file")
    return boxes


def read_otb_sequence(folder: str | Path, frames: tuple[int, int] | None = None) -> OTBSequence:
    """Read ``folder`` (named after the sequence); ``frames`` = (first, last) image numbers to evaluate.

    Without ``frames`` the range is ``OTB_FRAME_RANGES`` for the known exceptions, else every image of
    ``img/``. The ground truth must have exactly one row per frame of the range.
    """
    folder = Path(folder)
    name = folder.name
    gt_path = folder / "groundtruth_rect.txt"
    boxes = read_ground_truth(gt_path)
    images = numbered_frames(folder / "img", f"OTB sequence {name}")
    first, last = frames or OTB_FRAME_RANGES.get(sequence_key(name), (min(images), max(images)))
    if first > last:
        raise UserError(
            f"OTB sequence {name}: frame range ({first}, {last}) is empty",
            where=str(folder),
            fix="give frames=(first, last) with first <= last",
        )
    paths = frame_range(images, first, last, folder / "img", f"OTB sequence {name}")
    if len(boxes) != len(paths):
        fewer = len(boxes) < len(paths)
        raise UserError(
            f"OTB sequence {name}: {gt_path.name} has {len(boxes)} boxes for {len(paths)} frames "
            f"(images {first}-{last}); the file ends at line {len(boxes)}",
            where=f"{gt_path}, line {len(boxes) + 1 if fewer else len(paths) + 1}",
            fix=(
                "add the missing boxes, or pass frames=(first, last) when the benchmark scores only part of the "
                "folder (OTB scores Football1's images 1-74)"
                if fewer
                else "remove the extra rows, or restore the images they belong to"
            ),
        )
    return OTBSequence(name, paths, boxes, read_attributes(folder / "attrs.txt"), first)
