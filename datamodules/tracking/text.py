"""Shared plumbing of the tracking readers: numeric rows of a text file, numbered frame folders, name keys.

Why one module: OTB ground truth, VOT polygons and the OTB lists all have the same failure modes (a stray
separator, ``NaN``, a missing image), and each must become a ``UserError`` naming the file and the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.errors import UserError

# OTB files use commas, TABs or spaces (some mix ", " or "\t" with spaces): split on any run of them.
_SEPARATORS = re.compile(r"[,\s]+")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Track:
    """One object through one video, as the trackers and the pair sampler use it: frames (paths), boxes float64
    ``[T, 4]`` in OTB's 1-based x, y, w, h, which frames show the object, and the video's attribute tags."""

    name: str
    frames: tuple[Path, ...]
    boxes: np.ndarray
    visible: np.ndarray
    attributes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.frames)


def visible_frames(boxes: np.ndarray) -> np.ndarray:
    """Frames whose box has an area (OTB marks an absent target with a zero or negative box)."""
    return (boxes[:, 2:] > 0).all(axis=1)


def sequence_key(name: str) -> str:
    """The name as a lookup key: OTB writes ``Jogging-1``, ``jogging_1`` and ``BasketBall`` / ``basketball``
    for the same sequence across its lists, result files and the 2015 JSON."""
    return re.sub(r"[-_\s]", "", name).lower()


def read_text(path: Path, what: str, fix: str) -> list[str]:
    """The file's lines (a missing or undecodable file is a ``UserError`` naming it)."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError as err:
        raise UserError(f"{what} {path.name} not found", where=str(path), fix=fix) from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {what} {path.name} ({err})", where=str(path), fix=fix) from err


def numeric_rows(path: Path, widths: Sequence[int], what: str, fix: str) -> np.ndarray:
    """Rows of numbers, all with the same count from ``widths``, as float64 ``[N, width]``.

    Blank lines at the end are dropped; a blank line inside, a non-numeric or non-finite value, or a row with
    another count is refused with the file and the 1-based line number.
    """
    lines = read_text(path, what, fix)
    while lines and not lines[-1].strip():
        lines.pop()
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        fields = [field for field in _SEPARATORS.split(line.strip()) if field]
        where = f"{path}, line {number}"
        if not fields:
            raise UserError(f"{what} {path.name} has an empty line inside", where=where, fix=fix)
        try:
            values = [float(field) for field in fields]
        except ValueError as err:
            raise UserError(
                f"{what} {path.name} has a non-numeric value on line {number}: {line.strip()!r}",
                where=where,
                fix=fix,
            ) from err
        if not all(math.isfinite(value) for value in values):
            raise UserError(
                f"{what} {path.name} has NaN or infinite values on line {number}: {line.strip()!r}",
                where=where,
                fix=fix,
            )
        expected = (len(rows[0]),) if rows else tuple(widths)
        if len(values) not in expected:
            raise UserError(
                f"{what} {path.name} has {len(values)} numbers on line {number}, "
                f"expected {' or '.join(map(str, expected))}",
                where=where,
                fix=fix,
            )
        rows.append(values)
    if not rows:
        raise UserError(f"{what} {path.name} is empty", where=str(path), fix=fix)
    return np.asarray(rows, dtype=np.float64)


def numbered_frames(folder: Path, what: str) -> dict[int, Path]:
    """{frame number: image path} for the images of ``folder`` whose names are digits (``0001.jpg``)."""
    if not folder.is_dir():
        raise UserError(
            f"{what}: the frame folder {folder.name}/ does not exist",
            where=str(folder),
            fix="point the reader at a sequence folder laid out as the benchmark ships it",
        )
    frames = {
        int(path.stem): path
        for path in folder.iterdir()
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit()
    }
    if not frames:
        raise UserError(
            f"{what}: no numbered images (0001.jpg, ...) in {folder.name}/",
            where=str(folder),
            fix="copy the sequence's frames into the folder",
        )
    return frames


def frame_range(frames: dict[int, Path], first: int, last: int, folder: Path, what: str) -> tuple[Path, ...]:
    """The images numbered ``first``..``last``; a gap is a ``UserError`` naming the first missing image."""
    missing = [number for number in range(first, last + 1) if number not in frames]
    if missing:
        width = len(next(iter(frames.values())).stem)
        suffix = next(iter(frames.values())).suffix
        shown = ", ".join(f"{n:0{width}d}{suffix}" for n in missing[:5]) + (
            " ..." if len(missing) > 5 else ""
        )
        raise UserError(
            f"{what}: {len(missing)} frame(s) missing from {folder.name}/ between {first} and {last}: {shown}",
            where=str(folder / f"{missing[0]:0{width}d}{suffix}"),
            fix="restore the missing images (re-copy the sequence) so that every frame has its image",
        )
    return tuple(frames[number] for number in range(first, last + 1))
