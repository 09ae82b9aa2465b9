"""Loop-closure / place-retrieval evaluation shared by SeqDLF and the retrieval baselines (SeqSLAM, CNN, NetVLAD).

Protocol (SeqDLF §2 and §4): every query block is compared with the blocks seen before it by the cosine
similarity of L2-normalised codes; its best-scoring earlier block outside an exclusion window of the
``exclude_recent`` most recent blocks is its match, and the match's score is the loop-closure confidence. A
threshold sweep over the confidences gives the precision-recall curve:
  * a match is correct when the block ground truth marks (query, match) as a loop;
  * precision = correct accepted / accepted; recall = correct accepted / queries that have a true loop among
    their allowed candidates (a query whose best match is wrong still counts in the denominator);
  * recall at 100 % precision (the paper's Table 2): the largest recall reached before the first false positive
    when the matches are sorted by score (methods.md §2). Tied scores are one threshold: a false positive tied
    with true positives ends the run before them.
Block ground truth comes from the frame-level loop matrix (``block_ground_truth``): a block pair is a loop if any
frame pair inside is one (``rule="any"``) or if most of the query block's frames have a loop partner in the
candidate block (``"majority"``); ``tolerance`` dilates the frame matrix by ±k frames on both axes first, since
Lip6 Outdoor's ground truth marks revisits in a fixed offset band while the real alignment drifts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import UserError, check_choice, non_negative_int

EPS = 1e-12
RULES = ("any", "majority")


def cosine_similarity(query: Tensor, database: Tensor | None = None) -> Tensor:
    """``[n, m]`` cosine similarities of L2-normalised rows (one matmul); ``database=None`` compares query to itself."""
    q = torch.as_tensor(query).float()
    db = q if database is None else torch.as_tensor(database).float()
    if q.dim() != 2 or db.dim() != 2 or q.shape[1] != db.shape[1]:
        raise UserError(
            f"descriptors must be [n, D] and [m, D], got {tuple(q.shape)} and {tuple(db.shape)}",
            where="cosine_similarity",
            fix="flatten each block's code to one row",
        )
    q, db = q / q.norm(dim=1, keepdim=True).clamp_min(EPS), db / db.norm(dim=1, keepdim=True).clamp_min(EPS)
    return q @ db.T


def earlier_mask(num: int, exclude_recent: int = 0) -> Tensor:
    """``[n, n]`` candidates of each query: blocks j < i - exclude_recent (itself and its recent past excluded)."""
    exclude_recent = non_negative_int(exclude_recent, "exclude_recent")
    i = torch.arange(num)
    return i.unsqueeze(0) < (i.unsqueeze(1) - exclude_recent)


def best_matches(scores: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Best candidate per query row and its score; a query without a finite allowed candidate gets -1 and -inf."""
    scores = torch.as_tensor(scores).float()
    if torch.isnan(scores).any():
        raise UserError(
            "the score matrix contains NaN",
            where="best_matches(scores=...)",
            fix="check the descriptors (an all-zero code is guarded, NaN features are not)",
        )
    masked = scores if valid is None else scores.masked_fill(~valid.bool().to(scores.device), float("-inf"))
    if masked.shape[1] == 0:
        return torch.full((masked.shape[0],), -1), torch.full((masked.shape[0],), float("-inf"))
    score, index = masked.max(dim=1)
    return index.masked_fill(~torch.isfinite(score), -1), score


def dilate(frame_gt: Tensor, tolerance: int) -> Tensor:
    """Loop matrix with every loop spread to ±tolerance frames on both axes (a square max filter)."""
    gt = torch.as_tensor(frame_gt).bool()
    k = non_negative_int(tolerance, "tolerance")
    if k == 0:
        return gt
    return F.max_pool2d(gt.float()[None, None], 2 * k + 1, stride=1, padding=k)[0, 0].bool()


def block_ground_truth(
    frame_gt: Tensor | np.ndarray,
    query_blocks: Tensor,
    database_blocks: Tensor | None = None,
    rule: str = "any",
    tolerance: int = 0,
    symmetrize: bool = True,
) -> Tensor:
    """``[nq, ndb]`` block loop matrix from the frame loop matrix ``[L, L]`` and the blocks' frame indices.

    ``symmetrize`` ORs the matrix with its transpose: datasets store a loop as (later, earlier) or the reverse.
    """
    check_choice(rule, RULES, "block_ground_truth(rule=...)", "block ground-truth rule")
    gt = torch.as_tensor(frame_gt)
    if gt.dim() != 2 or gt.shape[0] != gt.shape[1]:
        raise UserError(
            f"the frame ground truth must be a square [L, L] matrix, got {tuple(gt.shape)}",
            where="block_ground_truth(frame_gt=...)",
            fix="load the dataset's loop matrix",
        )
    gt = gt.bool()
    gt = dilate(gt | gt.T if symmetrize else gt, tolerance).float()
    db_blocks = query_blocks if database_blocks is None else database_blocks
    length = gt.shape[0]
    if int(query_blocks.max()) >= length or int(db_blocks.max()) >= length:
        raise UserError(
            f"block frame indices exceed the ground truth's {length} frames",
            where="block_ground_truth",
            fix="subsample the ground truth like the frames",
        )
    member_q = F.one_hot(query_blocks.long(), length).float().sum(1).clamp_max(1)  # [nq, L]
    member_db = F.one_hot(db_blocks.long(), length).float().sum(1).clamp_max(1)  # [ndb, L]
    if rule == "any":
        return (member_q @ gt @ member_db.T) > 0
    has_partner = (gt @ member_db.T) > 0  # [L, ndb]: frame f has a loop partner in block j
    count = member_q @ has_partner.float()
    return 2 * count > member_q.sum(1, keepdim=True)


def _curve_inputs(scores: Any, correct: Any, num_positives: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    s = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=np.float64).ravel()
    c = np.asarray(correct.detach().cpu() if isinstance(correct, Tensor) else correct).astype(bool).ravel()
    if s.shape != c.shape or np.isnan(s).any():
        raise UserError(
            f"scores and labels must be matching vectors without NaN, got {s.shape} and {c.shape}",
            where="precision_recall(...)",
            fix="pass one score and one correct flag per match",
        )
    positives = int(c.sum()) if num_positives is None else int(num_positives)
    if positives <= 0 or positives < int(c.sum()):
        raise UserError(
            f"recall needs at least one true loop (and no fewer than the {int(c.sum())} correct "
            f"matches), got {positives}",
            where="precision_recall(num_positives=...)",
            fix="check the ground truth and the exclusion window",
        )
    return s, c, positives


def precision_recall(
    scores: Any, correct: Any, num_positives: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds, one point per distinct score, from the highest threshold down.

    A match is accepted when its score >= threshold. ``num_positives`` is recall's denominator (queries with a
    true loop); by default the number of correct matches, which gives scikit-learn's curve.
    """
    s, c, positives = _curve_inputs(scores, correct, num_positives)
    if s.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-s, kind="stable")
    s, c = s[order], c[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # last match of each tie group
    tp = np.cumsum(c)[last]
    fp = (last + 1) - tp
    return tp / (tp + fp), tp / positives, s[last]


def recall_at_full_precision(scores: Any, correct: Any, num_positives: int | None = None) -> float:
    """The largest recall at precision 1 (0 when the best-scored match is wrong)."""
    precision, recall, _ = precision_recall(scores, correct, num_positives)
    perfect = precision == 1.0
    return float(recall[perfect].max()) if perfect.any() else 0.0


def average_precision(scores: Any, correct: Any, num_positives: int | None = None) -> float:
    """sum_k (R_k - R_{k-1}) P_k, scikit-learn's step-wise AP (with recall's own denominator)."""
    precision, recall, _ = precision_recall(scores, correct, num_positives)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass
class LoopClosureResult:
    """One method's matches and PR summary on one sequence."""

    match_index: Tensor  # [nq], -1 where the query had no candidate
    match_score: Tensor  # [nq]
    correct: Tensor  # [nq] bool
    num_positives: int  # queries with a true loop among their candidates
    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    recall_at_100: float
    average_precision: float


def evaluate_matches(
    match_index: Tensor, match_score: Tensor, gt: Tensor, valid: Tensor | None = None
) -> LoopClosureResult:
    """Score one match per query (``-1`` / non-finite score = no match) against the block loop matrix ``gt``."""
    gt = torch.as_tensor(gt).detach().bool().cpu()
    index = torch.as_tensor(match_index).detach().long().cpu()
    score = torch.as_tensor(match_score).detach().float().cpu()
    if gt.dim() != 2 or index.shape != (gt.shape[0],) or score.shape != index.shape:
        raise UserError(
            f"one match per query row of the [nq, ndb] ground truth is needed, got {tuple(index.shape)} "
            f"matches and {tuple(score.shape)} scores for {tuple(gt.shape)}",
            where="evaluate_matches",
            fix="build the block ground truth over the same query blocks",
        )
    allowed = gt if valid is None else gt & valid.detach().bool().cpu()
    has_match = (index >= 0) & torch.isfinite(score)
    correct = torch.zeros_like(has_match)
    rows = torch.arange(index.numel())[has_match]
    correct[has_match] = allowed[rows, index[has_match]]
    positives = int(allowed.any(1).sum())
    p, r, t = precision_recall(score[has_match], correct[has_match], positives)
    return LoopClosureResult(
        index,
        score,
        correct,
        positives,
        p,
        r,
        t,
        recall_at_full_precision(score[has_match], correct[has_match], positives),
        average_precision(score[has_match], correct[has_match], positives),
    )


def evaluate_loop_closure(scores: Tensor, gt: Tensor, exclude_recent: int = 0) -> LoopClosureResult:
    """A sequence against its own past: ``scores`` and ``gt`` are ``[n, n]`` over the same blocks."""
    scores = torch.as_tensor(scores).detach().float().cpu()
    valid = earlier_mask(scores.shape[0], exclude_recent)
    index, score = best_matches(scores, valid)
    return evaluate_matches(index, score, gt, valid)


def plot_pr_curves(
    path: str | Path, curves: Mapping[str, LoopClosureResult | tuple[Any, Any]], title: str = "loop closure"
) -> Path:
    """Precision-recall curves (results or (precision, recall) pairs), one line each, as one PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.loggers import write_figure

    fig = Figure(figsize=(5.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name, curve in curves.items():
        precision, recall = (curve.precision, curve.recall) if isinstance(curve, LoopClosureResult) else curve
        label = (
            f"{name} (R@100%P {curve.recall_at_100:.3f})" if isinstance(curve, LoopClosureResult) else name
        )
        ax.plot(np.asarray(recall), np.asarray(precision), label=label)
    ax.set(xlabel="Recall", ylabel="Precision", xlim=(0.0, 1.02), ylim=(0.0, 1.02), title=title)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return write_figure(Path(path), fig)
