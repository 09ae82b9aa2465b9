"""One-pass evaluation (OPE) of single-object trackers: IoU, centre error, success and precision curves.

The readings where published toolkits differ are options of ``OPEProtocol``; ``GOT10K`` is the got10k
toolkit's OTB experiment (the SiamFC code base), ``OTB_TOOLKIT`` the OTB MATLAB toolkit and its python port
(jwlim/tracker_benchmark), which reproduces the published OTB-2013 scores (``zoo.workflow.tracking_validation``):

| option | ``GOT10K`` | ``OTB_TOOLKIT`` | alternatives |
|---|---|---|---|
| ``invalid_gt`` | ``keep``: scored as any frame | ``otb``: a box with any of x, y, w, h <= 0 is a miss for success and a hit for precision (the toolkit's -1 sentinel) | ``exclude``: frames without a positive w, h are dropped |
| ``replace_first_frame`` | yes | yes | no |
| ``success_inclusive`` | no: [IoU > t] | no | [IoU >= t] |
| ``aggregation`` | ``sequence_mean`` of per-sequence curves | ``sequence_mean`` | ``frame_pool``: frames of all sequences pooled |

Shared by both: IoU of x, y, w, h boxes with x2 = x + w, clipped to [0, 1] with machine eps in the denominator
(the clip only matters at t = 1, which rounding would let identical boxes pass). OTB's pixel form (right edge
x + w - 1, +1 in the intersection) is the same number: min(x + w - 1) - max(x) + 1 = min(x + w) - max(x).
Centre = xy + (wh - 1) / 2; success thresholds linspace(0, 1, 21), success score ("AUC") = mean of the curve;
precision over 0..50 px with [error <= t], score at 20 px. A perfect tracker scores 20/21 and 1.0. Everything
is batched over all frames of all sequences at once (no loop over frames).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import UserError, check_choice

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
PRECISION_AT = 20  # px; PRECISION_THRESHOLDS[20] == 20
EPS = float(np.finfo(np.float64).eps)
INVALID_POLICIES = ("keep", "otb", "exclude")
AGGREGATIONS = ("sequence_mean", "frame_pool")


@dataclass(frozen=True)
class OPEProtocol:
    """How frames are scored and sequences combined (see the module's table)."""

    invalid_gt: str = "keep"
    replace_first_frame: bool = True
    success_inclusive: bool = False
    aggregation: str = "sequence_mean"

    def __post_init__(self) -> None:
        check_choice(self.invalid_gt, INVALID_POLICIES, "ope.invalid_gt", "invalid ground-truth policy")
        check_choice(self.aggregation, AGGREGATIONS, "ope.aggregation", "aggregation")


GOT10K = OPEProtocol()
OTB_TOOLKIT = OPEProtocol(invalid_gt="otb")
PROTOCOLS: dict[str, OPEProtocol] = {"got10k": GOT10K, "otb": OTB_TOOLKIT}


def _boxes(boxes: Any, what: str) -> np.ndarray:
    """``[..., 4]`` float64 x, y, w, h from a numpy array, a list or a torch tensor."""
    if hasattr(boxes, "detach"):
        boxes = boxes.detach().cpu().numpy()
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != 4:
        raise UserError(f"{what} must be x, y, w, h boxes of shape [..., 4], got {array.shape}", where=what)
    return array


def box_iou(pred: Any, gt: Any) -> np.ndarray:
    """Element-wise IoU of ``[..., 4]`` x, y, w, h boxes, clipped to [0, 1], +eps in the denominator."""
    p, g = _boxes(pred, "predicted boxes"), _boxes(gt, "ground-truth boxes")
    low = np.maximum(p[..., :2], g[..., :2])
    high = np.minimum(p[..., :2] + p[..., 2:], g[..., :2] + g[..., 2:])
    inter = np.prod(np.clip(high - low, 0.0, None), axis=-1)
    union = np.prod(p[..., 2:], axis=-1) + np.prod(g[..., 2:], axis=-1) - inter
    return np.clip(inter / (union + EPS), 0.0, 1.0)


def box_centres(boxes: Any) -> np.ndarray:
    """``[..., 2]`` centres xy + (wh - 1) / 2 (OTB's 1-based pixel centre)."""
    b = _boxes(boxes, "boxes")
    return b[..., :2] + (b[..., 2:] - 1.0) / 2.0


def centre_error(pred: Any, gt: Any) -> np.ndarray:
    """Element-wise Euclidean distance in pixels between the boxes' centres."""
    return np.linalg.norm(box_centres(pred) - box_centres(gt), axis=-1)


@dataclass(frozen=True)
class OPEScores:
    """Per-sequence counts, kept so that both aggregations (and any attribute subset) can be formed later.

    ``success_hits[s, k]``: counted frames of sequence s with IoU above ``SUCCESS_THRESHOLDS[k]``;
    ``precision_hits[s, k]``: counted frames with centre error <= ``PRECISION_THRESHOLDS[k]``;
    ``frames[s]``: frames counted; ``mean_iou[s]``: average overlap over the frames with a valid box.
    """

    names: tuple[str, ...]
    success_hits: np.ndarray
    precision_hits: np.ndarray
    frames: np.ndarray
    mean_iou: np.ndarray

    @property
    def success_curves(self) -> np.ndarray:
        return self.success_hits / self.frames[:, None]

    @property
    def precision_curves(self) -> np.ndarray:
        return self.precision_hits / self.frames[:, None]


@dataclass(frozen=True)
class OPESummary:
    """Curves over a set of sequences, with the two headline numbers."""

    success_curve: np.ndarray
    precision_curve: np.ndarray
    sequences: tuple[str, ...]

    @property
    def auc(self) -> float:
        """Success score: the mean of the 21-point success curve (OTB's "AUC")."""
        return float(self.success_curve.mean())

    @property
    def precision(self) -> float:
        """Precision at 20 px."""
        return float(self.precision_curve[PRECISION_AT])


def evaluate_sequences(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    names: Sequence[str] | None = None,
    protocol: OPEProtocol = GOT10K,
) -> OPEScores:
    """Score every sequence (predicted and ground-truth ``[T_s, 4]`` boxes, frame for frame) in one batch."""
    names = tuple(names) if names is not None else tuple(f"sequence {i}" for i in range(len(predictions)))
    if not (len(predictions) == len(ground_truths) == len(names)) or not names:
        raise UserError(
            f"got {len(predictions)} predictions, {len(ground_truths)} ground truths and {len(names)} names",
            where="evaluate_sequences",
            fix="give one prediction and one ground truth per sequence, at least one sequence",
        )
    preds = [
        _boxes(p, f"predicted boxes of {n}").reshape(-1, 4) for p, n in zip(predictions, names, strict=True)
    ]
    gts = [
        _boxes(g, f"ground truth of {n}").reshape(-1, 4) for g, n in zip(ground_truths, names, strict=True)
    ]
    for pred, gt, name in zip(preds, gts, names, strict=True):
        if len(pred) != len(gt) or not len(gt):
            raise UserError(
                f"sequence {name}: {len(pred)} predicted boxes for {len(gt)} ground-truth frames",
                where=f"sequence {name}",
                fix="give one predicted box per ground-truth frame",
            )
    lengths = np.array([len(g) for g in gts])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    if protocol.replace_first_frame:
        pred[starts] = gt[starts]
    iou = box_iou(pred, gt)
    error = centre_error(pred, gt)
    passes = np.greater_equal if protocol.success_inclusive else np.greater
    success = passes(iou[:, None], SUCCESS_THRESHOLDS[None, :])
    precise = error[:, None] <= PRECISION_THRESHOLDS[None, :]
    if protocol.invalid_gt == "otb":
        valid = (gt > 0).all(axis=1)
        counted = np.ones_like(valid)
        success &= valid[:, None]
        precise |= ~valid[:, None]
    elif protocol.invalid_gt == "exclude":
        valid = (gt[:, 2:] > 0).all(axis=1)
        counted = valid
        success &= valid[:, None]
        precise &= valid[:, None]
    else:
        valid = counted = np.ones(len(gt), dtype=bool)
    frames = np.add.reduceat(counted.astype(np.int64), starts)
    valid_frames = np.add.reduceat(valid.astype(np.int64), starts)
    empty = [name for name, n in zip(names, np.minimum(frames, valid_frames), strict=True) if n == 0]
    if empty:
        raise UserError(
            f"sequence(s) {', '.join(empty)} have no frame with a valid ground-truth box",
            where="ground truth",
            fix="leave such sequences out, or score them with invalid_gt='keep'",
        )
    return OPEScores(
        names=names,
        success_hits=np.add.reduceat(success.astype(np.int64), starts, axis=0),
        precision_hits=np.add.reduceat(precise.astype(np.int64), starts, axis=0),
        frames=frames,
        mean_iou=np.add.reduceat(np.where(valid, iou, 0.0), starts) / valid_frames,
    )


def _combine(scores: OPEScores, membership: np.ndarray, aggregation: str) -> tuple[np.ndarray, np.ndarray]:
    """Success and precision curves ``[G, 21]``, ``[G, 51]`` of G sequence groups (``membership`` ``[G, S]``)."""
    check_choice(aggregation, AGGREGATIONS, "ope.aggregation", "aggregation")
    weights = membership.astype(np.float64)
    if aggregation == "sequence_mean":
        per_group = weights.sum(axis=1, keepdims=True)
        return weights @ scores.success_curves / per_group, weights @ scores.precision_curves / per_group
    frames = (weights @ scores.frames.astype(np.float64))[:, None]
    return weights @ scores.success_hits / frames, weights @ scores.precision_hits / frames


def summarise(
    scores: OPEScores, aggregation: str = "sequence_mean", sequences: Iterable[str] | None = None
) -> OPESummary:
    """Curves over all sequences of ``scores``, or over the named ones."""
    chosen = set(scores.names) if sequences is None else set(sequences)
    unknown = sorted(chosen - set(scores.names))
    if unknown or not chosen:
        raise UserError(
            f"no scores for sequence(s) {', '.join(unknown)}" if unknown else "no sequences to summarise",
            where="summarise",
            fix="name sequences exactly as they were scored",
        )
    membership = np.array([[name in chosen for name in scores.names]])
    success, precision = _combine(scores, membership, aggregation)
    return OPESummary(success[0], precision[0], tuple(n for n in scores.names if n in chosen))


def summarise_by_attribute(
    scores: OPEScores, attributes: Mapping[str, Iterable[str]], aggregation: str = "sequence_mean"
) -> dict[str, OPESummary]:
    """{tag: curves over the sequences tagged with it}; a sequence counts in every one of its tags.

    ``attributes`` maps sequence names (as scored) to their tags; naming an unscored sequence is an error, so a
    spelling mismatch (Jogging-1 / jogging_1) cannot silently shrink an attribute.
    """
    unknown = sorted(set(attributes) - set(scores.names))
    if unknown:
        raise UserError(
            f"attributes given for unscored sequence(s) {', '.join(unknown)}",
            where="summarise_by_attribute",
            fix="key the attributes by the names the sequences were scored under",
        )
    tags = sorted({tag for seq_tags in attributes.values() for tag in seq_tags})
    if not tags:
        return {}
    membership = np.array([[tag in set(attributes.get(name, ())) for name in scores.names] for tag in tags])
    success, precision = _combine(scores, membership, aggregation)
    return {
        tag: OPESummary(success[i], precision[i], tuple(np.asarray(scores.names)[membership[i]].tolist()))
        for i, tag in enumerate(tags)
    }


def draw_ope_curves(
    success_ax: Any, precision_ax: Any, summaries: Mapping[str, OPESummary], title: str
) -> None:
    """OTB's success and precision plots of ``summaries`` on two matplotlib axes: legends read ``name [AUC]``
    and ``name [P@20]``, ordered by that score, best first (ties by name), as OTB does."""
    for name, summary in sorted(summaries.items(), key=lambda item: (-item[1].auc, item[0])):
        success_ax.plot(SUCCESS_THRESHOLDS, summary.success_curve, label=f"{name} [{summary.auc:.3f}]")
    for name, summary in sorted(summaries.items(), key=lambda item: (-item[1].precision, item[0])):
        precision_ax.plot(
            PRECISION_THRESHOLDS, summary.precision_curve, label=f"{name} [{summary.precision:.3f}]"
        )
    success_ax.set(xlabel="Overlap threshold", ylabel="Success rate", xlim=(0, 1), ylim=(0, 1.0))
    success_ax.set_title(f"Success plots of {title}")
    precision_ax.set(xlabel="Location error threshold (px)", ylabel="Precision", xlim=(0, 50), ylim=(0, 1.0))
    precision_ax.set_title(f"Precision plots of {title}")
    for ax, loc in ((success_ax, "lower left"), (precision_ax, "lower right")):
        ax.grid(alpha=0.3)
        ax.legend(loc=loc, fontsize="small")


def plot_ope(path: str | Path, summaries: Mapping[str, OPESummary], title: str = "OPE") -> Path:
    """Success and precision plots side by side as one PNG at ``path``, written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.loggers import write_figure

    fig = Figure(figsize=(11.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    draw_ope_curves(*fig.subplots(1, 2), summaries, title)
    fig.tight_layout()
    return write_figure(Path(path), fig)
