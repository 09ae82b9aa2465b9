"""OTB annotations without images: ``OTB2015.json`` (ground truth of all 100 sequences) and the sequence lists
(``cvpr13.txt``: the 51 OTB-2013 sequences with their attribute tags).

Why: the published OTB-2013 scores can be recomputed from raw tracker boxes and these files alone, and a
tracker run on a subset of the images still needs the full benchmark's sequence list and attributes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datamodules.tracking.otb import parse_attributes
from datamodules.tracking.text import read_text, sequence_key
from zoo.errors import UserError

JSON_FIX = "use the OTB2015.json that DaSiamRPN ships ({seq: {name, image_files, init_rect, gt_rect}})"
LIST_FIX = "one sequence a line: its name, a TAB, then its OTB attribute tags separated by commas"


@dataclass(frozen=True)
class AnnotatedSequence:
    """One entry of ``OTB2015.json``: boxes float64 ``[T, 4]`` (OTB x, y, w, h) for ``image_files``."""

    key: str
    name: str
    image_files: tuple[str, ...]
    boxes: np.ndarray
    first_frame: int

    def __len__(self) -> int:
        return len(self.image_files)


def read_json(path: Path, what: str, fix: str) -> Any:
    """Parsed JSON (never a pickle); a missing or malformed file is a ``UserError`` with the line."""
    text = "\n".join(read_text(path, what, fix))
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"{what} {path.name} is not valid JSON ({err.msg})", where=f"{path}, line {err.lineno}", fix=fix
        ) from err


def _entry(path: Path, key: str, entry: Any) -> AnnotatedSequence:
    where = f"{path}, key {key!r}"
    if not isinstance(entry, dict) or not {"name", "image_files", "gt_rect"} <= set(entry):
        raise UserError(
            f"OTB annotation {key!r} lacks name, image_files or gt_rect", where=where, fix=JSON_FIX
        )
    rows, files = entry["gt_rect"], entry["image_files"]
    for index, row in enumerate(rows if isinstance(rows, list) else [rows]):
        numbers = isinstance(row, list) and len(row) == 4
        numbers = numbers and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
        if not numbers or not all(math.isfinite(v) for v in row):
            raise UserError(
                f"OTB annotation {key!r}: gt_rect row {index + 1} is not four finite numbers: {row!r}",
                where=f"{where}, gt_rect row {index + 1}",
                fix=JSON_FIX,
            )
    if not isinstance(files, list) or len(files) != len(rows) or not rows:
        count = len(files) if isinstance(files, list) else "no"
        raise UserError(
            f"OTB annotation {key!r} has {len(rows)} boxes for {count} image files",
            where=where,
            fix="give one gt_rect row per image file",
        )
    boxes = np.asarray(rows, dtype=np.float64)
    if boxes[0, 2] <= 0 or boxes[0, 3] <= 0:
        raise UserError(
            f"OTB annotation {key!r}: the first box {rows[0]} has no area",
            where=f"{where}, gt_rect row 1",
            fix="give the first frame a box with positive width and height",
        )
    stem = Path(str(files[0])).stem
    first = int(stem) if stem.isdigit() else 1
    return AnnotatedSequence(key, str(entry["name"]), tuple(map(str, files)), boxes, first)


def read_otb_annotations(path: str | Path) -> dict[str, AnnotatedSequence]:
    """{``sequence_key`` of the JSON key: entry}; look sequences up with ``sequence_key(name)``."""
    path = Path(path)
    data = read_json(path, "OTB annotation file", JSON_FIX)
    if not isinstance(data, dict):
        raise UserError(f"{path.name} is not a JSON object of sequences", where=str(path), fix=JSON_FIX)
    sequences: dict[str, AnnotatedSequence] = {}
    for key, entry in data.items():
        sequence = _entry(path, key, entry)
        if sequence_key(key) in sequences:
            raise UserError(
                f"{path.name} names sequence {key!r} twice (up to case, '-' and '_')",
                where=str(path),
                fix=JSON_FIX,
            )
        sequences[sequence_key(key)] = sequence
    return sequences


def read_sequence_list(path: str | Path) -> dict[str, tuple[str, ...]]:
    """{sequence name as written: its attribute tags}, in file order (``cvpr13.txt``, ``tb_100.txt``, ...)."""
    path = Path(path)
    sequences: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for number, line in enumerate(read_text(path, "sequence list", LIST_FIX), start=1):
        if not line.strip():
            continue
        name, _, tags = line.strip().partition("\t") if "\t" in line else line.strip().partition(" ")
        where = f"{path}, line {number}"
        if sequence_key(name) in seen:
            raise UserError(f"sequence list {path.name} names {name!r} twice", where=where, fix=LIST_FIX)
        seen.add(sequence_key(name))
        sequences[name.strip()] = parse_attributes(tags, where)
    if not sequences:
        raise UserError(f"sequence list {path.name} is empty", where=str(path), fix=LIST_FIX)
    return sequences
