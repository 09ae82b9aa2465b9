"""Published OTB reference results (jwlim/tracker_benchmark's ``results/OPE``): the scores JSON of each tracker
and attribute, and the raw per-sequence boxes of a few trackers.

Why: recomputing a published tracker from its raw boxes is the check that our one-pass evaluation follows the
benchmark's convention; these readers give both sides of that comparison as plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datamodules.tracking.annotations import AnnotatedSequence, read_json
from datamodules.tracking.text import sequence_key
from zoo.errors import UserError

SCORES_FIX = "use the scores_<set>/<ATTR>.json files of jwlim/tracker_benchmark's results/OPE/<Tracker>/"
RAW_FIX = "use the per-sequence <Seq>.json files of jwlim/tracker_benchmark's results/OPE/<Tracker>/"
SUCCESS_POINTS, PRECISION_POINTS = 21, 51


@dataclass(frozen=True)
class PublishedScores:
    """One scores file: curves over 21 overlap and 51 pixel thresholds, and per sequence the mean overlap
    (``overlap_scores``) and ``error_num``: 10 × the share of frames with IoU < 0.5, no pixel count (measured in
    ``zoo.workflow.tracking_comparison``)."""

    tracker: str
    attribute: str
    sequences: tuple[str, ...]
    success_curve: np.ndarray
    precision_curve: np.ndarray
    overlap_scores: np.ndarray
    error_num: np.ndarray

    @property
    def auc(self) -> float:
        """The success score ("AUC"): the mean of the success curve."""
        return float(self.success_curve.mean())

    @property
    def precision(self) -> float:
        """Precision at 20 pixels."""
        return float(self.precision_curve[20])


@dataclass(frozen=True)
class RawResult:
    """One tracker's boxes on one sequence (float64 ``[T, 4]`` OTB x, y, w, h) and the frame fields it carries.

    ``start_frame`` is not one convention across trackers: MEEM and MUSTer give the image number (David: 300),
    STRUCK counts from 1 within the sequence.
    """

    tracker: str
    sequence: str
    start_frame: int
    end_frame: int
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)


def _numbers(value: Any, count: int | None, path: Path, field: str, fix: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64) if isinstance(value, list) else np.empty(0)
    shape_ok = array.ndim == 1 and array.size > 0 and (count is None or array.size == count)
    if not shape_ok or not np.isfinite(array).all():
        expected = f"{count} finite numbers" if count else "a list of finite numbers"
        raise UserError(f"{path.name}: field {field!r} is not {expected}", where=f"{path}, {field}", fix=fix)
    return array


def read_published_scores(path: str | Path) -> PublishedScores:
    """A ``scores_cvpr13/<ATTR>.json`` file (fields name, tracker, seqs, successRateList, precisionList, ...)."""
    path = Path(path)
    data = read_json(path, "published scores file", SCORES_FIX)
    fields = {"name", "tracker", "seqs", "successRateList", "precisionList", "overlapScores", "errorNum"}
    if not isinstance(data, dict) or not fields <= set(data):
        missing = sorted(fields - set(data)) if isinstance(data, dict) else sorted(fields)
        raise UserError(f"{path.name} lacks {', '.join(missing)}", where=str(path), fix=SCORES_FIX)
    sequences = tuple(map(str, data["seqs"]))
    return PublishedScores(
        tracker=str(data["tracker"]),
        attribute=str(data["name"]),
        sequences=sequences,
        success_curve=_numbers(data["successRateList"], SUCCESS_POINTS, path, "successRateList", SCORES_FIX),
        precision_curve=_numbers(data["precisionList"], PRECISION_POINTS, path, "precisionList", SCORES_FIX),
        overlap_scores=_numbers(data["overlapScores"], len(sequences), path, "overlapScores", SCORES_FIX),
        error_num=_numbers(data["errorNum"], len(sequences), path, "errorNum", SCORES_FIX),
    )


def read_raw_result(path: str | Path) -> RawResult:
    """A ``<Seq>.json`` raw result: a one-element list (OPE) of {tracker, seqName, startFrame, endFrame,
    resType: "rect", res: [[x, y, w, h], ...]}. Other region types (affine, corners) are refused."""
    path = Path(path)
    data = read_json(path, "raw result file", RAW_FIX)
    record = data[0] if isinstance(data, list) and len(data) == 1 else data
    fields = {"tracker", "seqName", "startFrame", "endFrame", "res"}
    if not isinstance(record, dict) or not fields <= set(record):
        raise UserError(
            f"{path.name} is not one OPE result with {', '.join(sorted(fields))}",
            where=str(path),
            fix=RAW_FIX,
        )
    if record.get("resType", "rect") != "rect":
        raise UserError(
            f"{path.name} holds {record['resType']!r} regions; only 'rect' (x, y, w, h) results are read",
            where=f"{path}, resType",
            fix="convert the result to x, y, w, h boxes first",
        )
    rows = record["res"]
    if not isinstance(rows, list) or not rows:
        raise UserError(f"{path.name}: field 'res' holds no boxes", where=f"{path}, res", fix=RAW_FIX)
    for index, row in enumerate(rows):
        if not (
            isinstance(row, list) and len(row) == 4 and all(isinstance(v, (int, float)) for v in row)
        ) or not all(math.isfinite(v) for v in row):
            raise UserError(
                f"{path.name}: box {index + 1} of 'res' is not four finite numbers: {row!r}",
                where=f"{path}, res row {index + 1}",
                fix=RAW_FIX,
            )
    start, end = int(record["startFrame"]), int(record["endFrame"])
    if end - start + 1 != len(rows):
        raise UserError(
            f"{path.name}: startFrame {start} to endFrame {end} is {end - start + 1} frames but 'res' has {len(rows)}",
            where=f"{path}, startFrame/endFrame",
            fix="make the frame fields agree with the boxes",
        )
    return RawResult(
        str(record["tracker"]), str(record["seqName"]), start, end, np.asarray(rows, dtype=np.float64)
    )


def aligned_ground_truth(result: RawResult, annotation: AnnotatedSequence) -> np.ndarray:
    """The annotation's boxes for the result's frames, ``[len(result), 4]``.

    The result's frame fields are read as image numbers when they lie inside the annotated images (MEEM's David:
    300-770), else as positions when the lengths agree (STRUCK's David: 1-471); anything else is refused.
    """
    first = annotation.first_frame
    if first <= result.start_frame and result.end_frame <= first + len(annotation) - 1:
        return annotation.boxes[result.start_frame - first : result.end_frame - first + 1]
    if len(result) == len(annotation):
        return annotation.boxes
    raise UserError(
        f"{result.tracker}'s result on {result.sequence} covers frames {result.start_frame}-{result.end_frame} "
        f"({len(result)} boxes), the annotation images {first}-{first + len(annotation) - 1}",
        where=f"{result.tracker}/{result.sequence}",
        fix="give the result one box per annotated frame",
    )


def reference_trackers(root: str | Path, subset: str = "cvpr13") -> list[str]:
    """The trackers under ``root`` with a ``scores_<subset>/ALL.json`` file, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(
            f"reference results folder {root} not found",
            where=str(root),
            fix="point at tracking/reference_results/OTB_OPE_jwlim (DATA_DIR holds tracking/)",
        )
    return sorted(p.parent.parent.name for p in root.glob(f"*/scores_{subset}/ALL.json"))


def raw_result_path(root: str | Path, tracker: str, sequence: str) -> Path:
    """``root/<tracker>/<Seq>.json`` for ``sequence`` matched up to case, '-' and '_' (BasketBall, Jogging-1)."""
    folder = Path(root) / tracker
    matches = [p for p in folder.glob("*.json") if sequence_key(p.stem) == sequence_key(sequence)]
    if len(matches) != 1:
        raise UserError(
            f"no raw result of {tracker} for sequence {sequence!r}"
            if not matches
            else f"{len(matches)} raw "
            f"results of {tracker} match {sequence!r}: {', '.join(p.name for p in matches)}",
            where=str(folder),
            fix=f"add {folder}/{sequence}.json (one OPE result), or leave the tracker out",
        )
    return matches[0]
