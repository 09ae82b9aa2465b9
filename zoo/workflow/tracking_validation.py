"""Recompute published OTB-2013 trackers from their raw boxes and compare with their published scores.

Why: it pins down which evaluation convention the published numbers follow, so a new tracker's numbers are
comparable with them. Here (the top layer) the tracking readers of ``datamodules.tracking`` meet the
evaluation of ``lightning_modules.components.ope``, which must not import each other.

Findings on the shared data (MEEM, MUSTer, STRUCK; tests/zoo/workflow/test_tracking_validation.py):

- The mean of per-sequence curves, with the first frame replaced by the ground truth, [IoU > t] and
  [error <= t], reproduces every per-sequence mean overlap but Tiger1's, and the BC, LR, OV, SV attribute curves
  (which hold no Tiger1) to float rounding. ``OTB_TOOLKIT`` and ``GOT10K`` agree here, as the 51 sequences have
  no invalid ground-truth box; pooling frames over sequences does not reproduce the published numbers, and
  keeping the tracker's own first box does not for STRUCK.
- The published Tiger1 scores compare the boxes of images 6-354 with a ground truth that starts at image 1 (the
  2013 annotation), 5 frames out of step; as the recomputation aligns them, ALL and the attributes tagged with
  Tiger1 differ by Tiger1's 1/51 (or 1/n) share.
- The published attribute membership drops tags written ``"IV ,SV"`` or ``"DEF,"`` in the list (Car4, CarDark,
  Freeman4, Girl, Soccer, Walking), so attribute subsets are taken from each scores file's ``seqs``.

``python -m zoo.workflow.tracking_validation`` prints the comparison as a markdown table (``--published`` adds
the published scores of every reference tracker).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from datamodules.tracking import (
    aligned_ground_truth,
    raw_result_path,
    read_otb_annotations,
    read_published_scores,
    read_raw_result,
    reference_trackers,
    sequence_key,
)
from datamodules.tracking.reference import PublishedScores
from lightning_modules.components.ope import (
    OTB_TOOLKIT,
    PROTOCOLS,
    OPEProtocol,
    OPEScores,
    evaluate_sequences,
    summarise,
)

DEFAULT_TRACKERS = ("MEEM", "MUSTer", "STRUCK")
REFERENCE = Path("reference_results") / "OTB_OPE_jwlim"
ANNOTATIONS = Path("annotations") / "OTB2015.json"


@dataclass(frozen=True)
class ValidationRow:
    """One tracker: published and recomputed success score (AUC) and precision at 20 px."""

    tracker: str
    published_auc: float
    recomputed_auc: float
    published_precision: float
    recomputed_precision: float
    sequences: int


def tracking_root(data_dir: str | Path | None = None) -> Path:
    """``<DATA_DIR>/tracking`` (``DATA_DIR`` defaults to ``./data``, as everywhere in the project)."""
    return Path(data_dir if data_dir is not None else os.environ.get("DATA_DIR", "data")) / "tracking"


def published_scores(
    root: Path, tracker: str, attribute: str = "ALL", subset: str = "cvpr13"
) -> PublishedScores:
    return read_published_scores(root / REFERENCE / tracker / f"scores_{subset}" / f"{attribute}.json")


def recompute_scores(
    root: Path, tracker: str, sequences: Sequence[str], protocol: OPEProtocol = OTB_TOOLKIT
) -> OPEScores:
    """Per-sequence scores of ``tracker``'s raw boxes against ``OTB2015.json``, aligned frame by frame."""
    annotations = read_otb_annotations(root / ANNOTATIONS)
    predictions, ground_truths = [], []
    for name in sequences:
        result = read_raw_result(raw_result_path(root / REFERENCE, tracker, name))
        predictions.append(result.boxes)
        ground_truths.append(aligned_ground_truth(result, annotations[sequence_key(name)]))
    return evaluate_sequences(predictions, ground_truths, sequences, protocol)


def validate_reference_trackers(
    root: Path,
    trackers: Sequence[str] = DEFAULT_TRACKERS,
    protocol: OPEProtocol = OTB_TOOLKIT,
    attribute: str = "ALL",
) -> list[ValidationRow]:
    """One row per tracker, over the sequences its published ``attribute`` file lists."""
    rows = []
    for tracker in trackers:
        published = published_scores(root, tracker, attribute)
        scores = recompute_scores(root, tracker, published.sequences, protocol)
        summary = summarise(scores, protocol.aggregation)
        rows.append(
            ValidationRow(
                tracker,
                published.auc,
                summary.auc,
                published.precision,
                summary.precision,
                len(published.sequences),
            )
        )
    return rows


def implied_curves(
    published: PublishedScores, scores: OPEScores, sequence: str
) -> tuple[np.ndarray, np.ndarray]:
    """The success and precision curves of ``sequence`` that the published mean over sequences implies when
    every other sequence scores as recomputed: n * published - sum of the others."""
    others = np.array([name != sequence for name in scores.names])
    n = len(scores.names)
    return (
        n * published.success_curve - scores.success_curves[others].sum(axis=0),
        n * published.precision_curve - scores.precision_curves[others].sum(axis=0),
    )


def markdown_table(rows: Sequence[ValidationRow]) -> str:
    lines = [
        "| tracker | published AUC | recomputed AUC | published P@20 | recomputed P@20 | sequences |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.tracker} | {r.published_auc:.4f} | {r.recomputed_auc:.4f} | {r.published_precision:.4f} "
        f"| {r.recomputed_precision:.4f} | {r.sequences} |"
        for r in rows
    ]
    return "\n".join(lines)


def published_table(root: Path, attribute: str = "ALL") -> str:
    """The published AUC and P@20 of every reference tracker, best AUC first."""
    scores = [published_scores(root, tracker, attribute) for tracker in reference_trackers(root / REFERENCE)]
    lines = ["| tracker | published AUC | published P@20 |", "|---|---|---|"]
    lines += [
        f"| {s.tracker} | {s.auc:.4f} | {s.precision:.4f} |" for s in sorted(scores, key=lambda s: -s.auc)
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the folder holding tracking/ (default: $DATA_DIR or ./data)")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="otb")
    parser.add_argument("--aggregation", choices=("sequence_mean", "frame_pool"), default=None)
    parser.add_argument("--attribute", default="ALL", help="ALL or an OTB tag (BC, LR, OV, SV, ...)")
    parser.add_argument("--trackers", default=",".join(DEFAULT_TRACKERS), help="comma-separated")
    parser.add_argument("--published", action="store_true", help="also list every published tracker")
    args = parser.parse_args(argv)
    root = tracking_root(args.data_dir)
    protocol = PROTOCOLS[args.protocol]
    if args.aggregation:
        protocol = replace(protocol, aggregation=args.aggregation)
    rows = validate_reference_trackers(root, args.trackers.split(","), protocol, args.attribute)
    print(f"OTB-2013 OPE, attribute {args.attribute}, protocol {args.protocol} ({protocol})\n")
    print(markdown_table(rows))
    if args.published:
        print(f"\nPublished scores_cvpr13/{args.attribute}.json of every reference tracker\n")
        print(published_table(root, args.attribute))


if __name__ == "__main__":
    from zoo.errors import UserError

    try:
        main()
    except UserError as err:
        raise SystemExit(f"{err}") from None
