"""OTB-2013 side by side on the sequences that run here: the 34 published trackers, our tracking records, OpenCV's
baselines, and the evaluator's validation, as generated blocks of ``docs/papers/siamfc_online.md``.

Why: only a few OTB-2013 sequences have images here (the shared data: Couple, Crossing, Football1), so our
overall numbers cannot stand next to the published overall ones; the published trackers' scores on the same
sequences can. Three of the 34 (MEEM, MUSTer, STRUCK) ship raw boxes, which our evaluator scores exactly as it
scores our trackers; the other 31 ship only their scores files, whose two per-sequence fields are, as measured
on the three raw-box trackers (``check_stored_fields``, pinned by tests/zoo/workflow/test_tracking_comparison.py):

- ``overlapScores[s]``: the mean IoU over sequence s's frames, the first frame replaced by the ground truth;
- ``errorNum[s]``: 10 × the share of sequence s's frames with IoU < 0.5 (a frame without a valid ground-truth box
  counts as one), i.e. 10 × (1 − success rate at IoU ≥ 0.5). It is no pixel count: MEEM has no frame of BasketBall
  beyond 20 px yet errorNum 0.70 = 10 × 51 / 725, its frames with IoU < 0.5. So the 31 have no per-sequence
  precision (P@20), and their success rate at 0.5 is 1 − errorNum / 10.

Both equalities hold to float rounding on 50 of the 51 sequences for each of the three trackers. Tiger1 misses
both, as its published scores compare boxes with the ground truth 5 frames out of step
(``zoo.workflow.tracking_validation``): scored that way, the published errorNum count exceeds ours by exactly the 4
frames (2-5) whose 2013 boxes the shared data lacks. (The files' scalars: ``overlap`` is 100 × the success AUC of
the overall curve, ``error`` the mean of errorNum; the readers leave them out.)

So the success column holds the success AUC (mean of [IoU > t] over t = 0, 0.05, ..., 1) where boxes or our
records give it, and the published mean overlap (its integral over t) for the 31; the block states how far the
two lie apart on the raw-box trackers. Our rows: the latest record of each experiment and override set whose
metrics hold ``test/success_auc`` and ``test/precision_20``, per sequence ``test/success_auc_<Seq>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from datamodules.tracking import (
    OTB_ATTRIBUTES,
    read_sequence_list,
    reference_trackers,
    sequence_key,
)
from datamodules.tracking.reference import PublishedScores
from lightning_modules.components.ope import (
    OTB_TOOLKIT,
    OPEProtocol,
    OPEScores,
    OPESummary,
    draw_ope_curves,
    summarise,
)
from zoo.loggers import write_figure
from zoo.workflow.tables import BlockInputs, PageBlock, markdown_table, variant
from zoo.workflow.tracking_validation import (
    ANNOTATIONS,
    REFERENCE,
    published_scores,
    recompute_scores,
    validate_reference_trackers,
)
from zoo.workflow.tracking_validation import markdown_table as validation_table

RAW, STORED, OURS = "raw boxes, recomputed", "stored per-sequence scores", "our run record"
ERROR_NUM_SCALE = 10.0  # errorNum = ERROR_NUM_SCALE × share of frames with IoU < 0.5
AT_HALF = 10  # SUCCESS_THRESHOLDS[10] == 0.5
INCLUSIVE = replace(OTB_TOOLKIT, success_inclusive=True)  # [IoU >= t]: errorNum's complement at t = 0.5
EXACT = 1e-9  # float rounding only (the validation block says "1e-9")
SEQUENCE_LIST = Path("annotations") / "lists" / "cvpr13.txt"
TRACKING_METRICS = ("test/success_auc", "test/precision_20")
PER_SEQUENCE = "test/success_auc_"
FIGURE = "siamfc_online_tracking_comparison.png"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ComparisonRow:
    """One tracker on the compared sequences: success per sequence (AUC, or the mean overlap for ``STORED``) and
    over them; P@20 and the success rate at IoU >= 0.5 where its source gives them (else ``None``)."""

    tracker: str
    kind: str
    success: dict[str, float]
    mean_success: float
    precision: float | None
    success_rate_050: float | None
    fps: float | None = None
    variant: str = ""
    note: str = ""


@dataclass(frozen=True)
class StoredFieldCheck:
    """On how many of a raw-box tracker's published sequences each stored field equals our recomputation."""

    tracker: str
    sequences: int
    overlap_matches: int
    error_num_matches: int
    differing: tuple[str, ...]


# -- the data ---------------------------------------------------------------------------------------------------
def tracking_data(data_dir: Path | None) -> Path | str:
    """``<data_dir>/tracking`` when it holds what the blocks read, else why not: said in the block, never
    raised, so ``make results`` on a clone without the shared data still writes every other table."""
    if data_dir is None:
        return "no data folder was given to `make results`"
    root = Path(data_dir) / "tracking"
    for needed in (REFERENCE, ANNOTATIONS, SEQUENCE_LIST):
        if not (root / needed).exists():
            return f"`DATA_DIR/tracking/{needed.as_posix()}` is not in this clone's data folder"
    return root


def available_sequences(root: Path) -> tuple[str, ...]:
    """The OTB-2013 sequences (``cvpr13.txt`` order) with an image folder under ``root/OTB``, as the tracking
    data module finds them."""
    folder = root / "OTB"
    present = (
        {sequence_key(p.name) for p in folder.iterdir() if (p / "img").is_dir()} if folder.is_dir() else set()
    )
    return tuple(name for name in read_sequence_list(root / SEQUENCE_LIST) if sequence_key(name) in present)


def raw_box_trackers(root: Path, sequences: Iterable[str]) -> list[str]:
    """The published trackers with a raw result for every one of ``sequences`` (MEEM, MUSTer, STRUCK here)."""
    wanted = {sequence_key(name) for name in sequences}
    return [
        tracker
        for tracker in reference_trackers(root / REFERENCE)
        if wanted <= {sequence_key(p.stem) for p in (root / REFERENCE / tracker).glob("*.json")}
    ]


@lru_cache(maxsize=32)
def _scores(root: Path, tracker: str, sequences: tuple[str, ...], protocol: OPEProtocol) -> OPEScores:
    """``recompute_scores``, once per page generation (both blocks and the figure need the same numbers)."""
    return recompute_scores(root, tracker, sequences, protocol)


def stored_success_rate(published: PublishedScores) -> np.ndarray:
    """Per-sequence success rate at IoU >= 0.5 from ``errorNum`` (see the module's docstring)."""
    return 1.0 - published.error_num / ERROR_NUM_SCALE


def failure_share(root: Path, tracker: str, sequences: Sequence[str]) -> np.ndarray:
    """Per-sequence share of frames with IoU < 0.5, recomputed from raw boxes (an invalid ground truth fails)."""
    return 1.0 - _scores(root, tracker, tuple(sequences), INCLUSIVE).success_curves[:, AT_HALF]


def check_stored_fields(root: Path, tracker: str, tolerance: float = EXACT) -> StoredFieldCheck:
    """Compare ``overlapScores`` with the recomputed mean IoU and ``errorNum`` with 10 × the recomputed share
    of frames with IoU < 0.5, sequence by sequence, over the tracker's published ``ALL`` sequences."""
    published = published_scores(root, tracker)
    names = published.sequences
    overlap = np.abs(_scores(root, tracker, names, OTB_TOOLKIT).mean_iou - published.overlap_scores)
    error = np.abs(ERROR_NUM_SCALE * failure_share(root, tracker, names) - published.error_num)
    overlap_ok, error_ok = overlap <= tolerance, error <= ERROR_NUM_SCALE * tolerance
    differing = tuple(n for n, a, b in zip(names, overlap_ok, error_ok, strict=True) if not (a and b))
    return StoredFieldCheck(tracker, len(names), int(overlap_ok.sum()), int(error_ok.sum()), differing)


def auc_minus_overlap(root: Path, trackers: Iterable[str], sequences: Sequence[str]) -> np.ndarray:
    """Per tracker and sequence, success AUC − mean IoU from raw boxes: how far the ``STORED`` rows' proxy lies
    from the AUC the other rows show."""
    gaps = []
    for tracker in trackers:
        scores = _scores(root, tracker, tuple(sequences), OTB_TOOLKIT)
        gaps.append(scores.success_curves.mean(axis=1) - scores.mean_iou)
    return np.concatenate(gaps) if gaps else np.empty(0)


# -- the rows ---------------------------------------------------------------------------------------------------
def _positions(listed: Sequence[str], sequences: Sequence[str]) -> list[int]:
    keys = [sequence_key(name) for name in listed]
    return [keys.index(sequence_key(name)) for name in sequences]


def published_rows(root: Path, sequences: Sequence[str]) -> list[ComparisonRow]:
    """Every published tracker on ``sequences``: recomputed from raw boxes where they exist, else read from its
    ``scores_cvpr13/ALL.json``."""
    raw = set(raw_box_trackers(root, sequences))
    rows = []
    for tracker in reference_trackers(root / REFERENCE):
        if tracker in raw:
            scores = _scores(root, tracker, tuple(sequences), OTB_TOOLKIT)
            summary = summarise(scores)
            per_sequence = scores.success_curves.mean(axis=1)
            rate = 1.0 - failure_share(root, tracker, sequences)
            rows.append(
                ComparisonRow(
                    tracker,
                    RAW,
                    dict(zip(sequences, map(float, per_sequence), strict=True)),
                    summary.auc,
                    summary.precision,
                    float(rate.mean()),
                )
            )
        else:
            published = published_scores(root, tracker)
            at = _positions(published.sequences, sequences)
            overlap = published.overlap_scores[at]
            rows.append(
                ComparisonRow(
                    tracker,
                    STORED,
                    dict(zip(sequences, map(float, overlap), strict=True)),
                    float(overlap.mean()),
                    None,
                    float(stored_success_rate(published)[at].mean()),
                )
            )
    return rows


def _run_order(run: dict[str, Any]) -> tuple[str, str]:
    """Runs by the start time their id carries (``runs+<date>_<time>_...``), then by id."""
    run_id = str(run.get("run_id", ""))
    found = TIMESTAMP.search(run_id)
    return (found.group(0) if found else "", run_id)


def record_rows(runs: Iterable[dict[str, Any]], sequences: Sequence[str]) -> list[ComparisonRow]:
    """The latest run of each (experiment, variant) that logged the tracking metrics (our SiamFC records, OpenCV's
    CSRT / KCF baselines, ...); a row whose own sequences are not ``sequences`` says which it ran."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for run in sorted(runs, key=_run_order):
        if all(metric in (run.get("metrics") or {}) for metric in TRACKING_METRICS):
            latest[(str(run["experiment"]), variant(run))] = run
    wanted = {sequence_key(name) for name in sequences}
    rows = []
    for (experiment, changes), run in sorted(latest.items()):
        metrics = run["metrics"]
        own = {
            key[len(PER_SEQUENCE) :]: float(value)
            for key, value in metrics.items()
            if key.startswith(PER_SEQUENCE) and key[len(PER_SEQUENCE) :] not in OTB_ATTRIBUTES
        }
        by_key = {sequence_key(name): value for name, value in own.items()}
        differs = {sequence_key(name) for name in own} != wanted
        fps = metrics.get("test/fps")
        rows.append(
            ComparisonRow(
                experiment,
                OURS,
                {name: by_key[sequence_key(name)] for name in sequences if sequence_key(name) in by_key},
                float(metrics["test/success_auc"]),
                float(metrics["test/precision_20"]),
                None,
                None if fps is None else float(fps),
                changes,
                f"its sequences: {', '.join(sorted(own)) or 'none recorded'}" if differs else "",
            )
        )
    return rows


def comparison_rows(
    root: Path, runs: Iterable[dict[str, Any]], sequences: Sequence[str]
) -> list[ComparisonRow]:
    """Published and our rows, best mean success first (ties by name, so the order never depends on input)."""
    rows = published_rows(root, sequences) + record_rows(runs, sequences)
    return sorted(rows, key=lambda r: (-r.mean_success, r.tracker, r.variant))


# -- rendering --------------------------------------------------------------------------------------------------
def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def comparison_table(rows: Sequence[ComparisonRow], sequences: Sequence[str]) -> str:
    header = ["#", "tracker", "scores from", "success (mean)", *sequences, "P@20", "SR@0.5", "fps"]
    body = []
    for rank, row in enumerate(rows, start=1):
        name = f"**{row.tracker}**" if row.kind == OURS else row.tracker
        body.append(
            [
                str(rank),
                name + (f" `{row.variant}`" if row.variant else ""),
                row.kind + (f" ({row.note})" if row.note else ""),
                _number(row.mean_success),
                *(_number(row.success.get(name)) for name in sequences),
                _number(row.precision),
                _number(row.success_rate_050),
                _number(row.fps, 1),
            ]
        )
    return markdown_table(header, body)


def _bar_label(row: ComparisonRow) -> str:
    """The tracker and, for our rows, the overrides that tell its runs apart (the weights file is the same)."""
    changes = [item.split("=", 1) for item in row.variant.split() if "=" in item]
    short = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in changes if not key.endswith(".weights")]
    return row.tracker + (f" ({', '.join(short)})" if short else "")


def plot_comparison(
    path: Path, rows: Sequence[ComparisonRow], curves: dict[str, OPESummary], sequences: Sequence[str]
) -> Path:
    """Mean success of every row, ranked (ours red, raw-box trackers blue, stored scores grey), beside the
    success and precision plots of the raw-box trackers on ``sequences``; one PNG, written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    colours = {OURS: "tab:red", RAW: "tab:blue", STORED: "0.6"}
    fig = Figure(figsize=(16.0, max(6.0, 0.2 * len(rows) + 1.5)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.3, 1.0))
    bars, success_ax, precision_ax = (
        fig.add_subplot(grid[:, 0]),
        fig.add_subplot(grid[0, 1]),
        fig.add_subplot(grid[1, 1]),
    )
    y = np.arange(len(rows))
    bars.barh(y, [r.mean_success for r in rows], color=[colours[r.kind] for r in rows])
    bars.set_yticks(y, [f"#{rank} {_bar_label(r)}" for rank, r in enumerate(rows, start=1)], fontsize=7)
    for label, row in zip(bars.get_yticklabels(), rows, strict=True):
        label.set_color("tab:red" if row.kind == OURS else "black")
    bars.set_ylim(len(rows) - 0.5, -0.5)  # best on top, no margin
    bars.set(xlim=(0, 1), xlabel="mean success (AUC; mean overlap for stored scores)")
    bars.set_title(f"OTB-2013 on {', '.join(sequences)}")
    bars.legend(handles=[Patch(color=c, label=kind) for kind, c in colours.items()], fontsize="small")
    bars.grid(axis="x", alpha=0.3)
    draw_ope_curves(success_ax, precision_ax, curves, "the raw-box trackers (recomputed)")
    return write_figure(path, fig)


def _not_generated(reason: str) -> str:
    return (
        f"*Not generated: {reason}. `make results` fills this block when `DATA_DIR` holds the shared `tracking/` "
        "data (as in CI).*\n"
    )


def _span(values: np.ndarray) -> str:
    return f"{values.min():+.3f} to {values.max():+.3f} (mean {values.mean():+.3f})"


def comparison_block(inputs: BlockInputs) -> str:
    """The side-by-side table and its figure (``inputs.figures_dir``), or why they cannot be generated."""
    root = tracking_data(inputs.data_dir)
    if isinstance(root, str):
        return _not_generated(root)
    sequences = available_sequences(root)
    if not sequences:
        return _not_generated("no OTB-2013 sequence has an image folder under `DATA_DIR/tracking/OTB`")
    rows = comparison_rows(root, inputs.runs, sequences)
    raw = raw_box_trackers(root, sequences)
    curves = {t: summarise(_scores(root, t, sequences, OTB_TOOLKIT)) for t in raw}
    figure = plot_comparison(inputs.figures_dir / FIGURE, rows, curves, sequences)
    link = Path(os.path.relpath(figure, inputs.page.parent)).as_posix()
    everywhere = published_scores(root, raw[0]).sequences if raw else ()
    stored = sum(r.kind == STORED for r in rows)
    return (
        f"OTB-2013 sequences with images under `DATA_DIR/tracking/OTB`: {', '.join(sequences)} "
        f"({len(sequences)} of {len(read_sequence_list(root / SEQUENCE_LIST))}). Scores from *{RAW}* "
        f"({', '.join(raw) or 'none'}): our evaluator on their boxes; *{STORED}* ({stored} trackers): their "
        "published per-sequence fields, whose success is the mean overlap (`overlapScores`) instead of the "
        "success AUC"
        + (
            f": on the raw-box trackers, AUC − mean overlap is {_span(auc_minus_overlap(root, raw, everywhere))} "
            f"over their {len(everywhere)} sequences and {_span(auc_minus_overlap(root, raw, sequences))} "
            "on these"
            if raw
            else ""
        )
        + ". P@20 (mean over the sequences) exists only from boxes and our records (`errorNum` is 10 × the share "
        "of frames with IoU < 0.5, no pixel count); SR@0.5: share of frames with IoU ≥ 0.5 (1 − errorNum / 10 "
        f"for stored scores; our records do not log it). *{OURS}*: the latest record of each experiment and "
        "override set; its success is the record's overall `test/success_auc`, its fps on the record's "
        "hardware. Ranked by mean success.\n\n"
        f"![success of every tracker on {', '.join(sequences)}]({link})\n\n"
        + comparison_table(rows, sequences)
    )


def validation_block(inputs: BlockInputs) -> str:
    """Published against recomputed overall scores of the raw-box trackers, and the stored fields' meaning."""
    root = tracking_data(inputs.data_dir)
    if isinstance(root, str):
        return _not_generated(root)
    listed = tuple(read_sequence_list(root / SEQUENCE_LIST))
    trackers = raw_box_trackers(root, listed)
    if not trackers:
        return _not_generated("no published tracker has raw boxes for every OTB-2013 sequence")
    checks = [check_stored_fields(root, tracker) for tracker in trackers]
    fields = markdown_table(
        [
            "tracker",
            "overlapScores = mean IoU",
            "errorNum = 10 × share of frames with IoU < 0.5",
            "differs on",
        ],
        [
            [
                c.tracker,
                f"{c.overlap_matches} of {c.sequences}",
                f"{c.error_num_matches} of {c.sequences}",
                ", ".join(c.differing) or "—",
            ]
            for c in checks
        ],
    )
    return (
        f"Published OTB-2013 overall scores (`scores_cvpr13/ALL.json`) against our evaluator on the raw boxes of "
        f"{', '.join(trackers)} and the shared ground truth, all {len(listed)} sequences "
        "(`python -m zoo.workflow.tracking_validation`); a gap is Tiger1's share, whose published scores compare "
        "boxes with ground truth out of step:\n\n"
        + validation_table(validate_reference_trackers(root, trackers))
        + "\n\nThe per-sequence fields of the scores files against the same recomputation (sequences where they "
        "agree to 1e-9):\n\n" + fields
    )


#: the blocks ``make results`` writes into the SiamFC page (``zoo.workflow.results.PAGE_BLOCKS``)
PAGE_BLOCKS = (
    PageBlock("siamfc_online", "tracking-validation", validation_block),
    PageBlock("siamfc_online", "tracking-comparison", comparison_block),
)
