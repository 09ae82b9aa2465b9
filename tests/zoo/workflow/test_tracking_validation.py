"""Recomputing MEEM, MUSTer and STRUCK from their raw OTB-2013 boxes reproduces their published scores.

Tolerances: the per-sequence mean overlaps of 50 of the 51 sequences and the curves of the four attributes that
do not hold Tiger1 (BC, LR, OV, SV) must agree to 1e-9 (float rounding only). Tiger1's published scores compare
its boxes with ground truth 5 frames out of step (checked below), so the overall curves may differ by Tiger1's
share of the mean over 51 sequences: at most 1/51 per curve point, hence per AUC and P@20. Pooling frames, or
[IoU >= t], or keeping STRUCK's own first box, breaks these checks (tested, so the checks can fail).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking import read_otb_annotations, read_raw_result, read_sequence_list, sequence_key
from lightning_modules.components.ope import GOT10K, OTB_TOOLKIT, evaluate_sequences, summarise
from zoo.workflow.tracking_validation import (
    ANNOTATIONS,
    DEFAULT_TRACKERS,
    REFERENCE,
    implied_curves,
    main,
    published_scores,
    recompute_scores,
    validate_reference_trackers,
)

EXACT = 1e-9
ONE_SEQUENCE = 1 / 51
TIGER1_FRAMES, TIGER1_OFFSET = 349, 5
ATTRIBUTES_WITHOUT_TIGER1 = ("BC", "LR", "OV", "SV")


@pytest.fixture(scope="module")
def root(tracking_root: Path) -> Path:
    return tracking_root


@pytest.fixture(scope="module")
def all_scores(root: Path) -> dict:
    """{tracker: (published ALL, recomputed per-sequence scores)}."""
    out = {}
    for tracker in DEFAULT_TRACKERS:
        published = published_scores(root, tracker)
        out[tracker] = (published, recompute_scores(root, tracker, published.sequences, OTB_TOOLKIT))
    return out


def test_overall_auc_and_precision_match_within_tiger1s_share(root: Path) -> None:
    rows = validate_reference_trackers(root)
    assert [r.tracker for r in rows] == list(DEFAULT_TRACKERS) and all(r.sequences == 51 for r in rows)
    for row in rows:
        assert abs(row.recomputed_auc - row.published_auc) <= ONE_SEQUENCE, row
        assert abs(row.recomputed_precision - row.published_precision) <= ONE_SEQUENCE, row
    meem = rows[0]  # the values the report quotes, to 4 decimals
    assert (round(meem.published_auc, 4), round(meem.recomputed_auc, 4)) == (0.5561, 0.5643)
    assert (round(meem.published_precision, 4), round(meem.recomputed_precision, 4)) == (0.8003, 0.8148)


def test_every_sequence_but_tiger1_reproduces_its_published_mean_overlap(all_scores: dict) -> None:
    for tracker, (published, scores) in all_scores.items():
        assert scores.names == published.sequences
        differs = np.abs(scores.mean_iou - published.overlap_scores) > EXACT
        assert [n for n, d in zip(scores.names, differs, strict=True) if d] == ["Tiger1"], tracker


@pytest.mark.parametrize("attribute", ATTRIBUTES_WITHOUT_TIGER1)
@pytest.mark.parametrize("protocol", [OTB_TOOLKIT, GOT10K], ids=["otb", "got10k"])
def test_attributes_without_tiger1_reproduce_the_published_curves(
    root: Path, attribute: str, protocol
) -> None:
    for tracker in DEFAULT_TRACKERS:
        published = published_scores(root, tracker, attribute)
        assert "Tiger1" not in published.sequences
        summary = summarise(recompute_scores(root, tracker, published.sequences, protocol))
        np.testing.assert_allclose(summary.success_curve, published.success_curve, rtol=0, atol=EXACT)
        np.testing.assert_allclose(summary.precision_curve, published.precision_curve, rtol=0, atol=EXACT)


def test_the_published_tiger1_compares_boxes_with_ground_truth_five_frames_early(
    root: Path, all_scores
) -> None:
    """What the published mean implies for Tiger1 (n * published - our other 50) is a whole number of its 349
    frames, and equals scoring box k against the box of frame k - 5, up to frames 2-5, whose 2013 boxes the
    shared data lacks: the implied counts exceed ours by what 4 frames can add (0 to 4, all 4 at the loosest
    threshold, none at 20 px)."""
    gt = read_otb_annotations(root / ANNOTATIONS)["tiger1"].boxes
    unknown = TIGER1_OFFSET - 1
    for tracker, (published, scores) in all_scores.items():
        success, precision = (curve * TIGER1_FRAMES for curve in implied_curves(published, scores, "Tiger1"))
        np.testing.assert_allclose(success, np.round(success), atol=1e-6)
        np.testing.assert_allclose(precision, np.round(precision), atol=1e-6)
        boxes = read_raw_result(root / REFERENCE / tracker / "Tiger1.json").boxes
        assert len(boxes) == len(gt) == TIGER1_FRAMES
        shifted = evaluate_sequences(
            [boxes[TIGER1_OFFSET:]],
            [gt[:-TIGER1_OFFSET]],
            protocol=replace(OTB_TOOLKIT, replace_first_frame=False),
        )
        # the replaced first box: IoU 1 (a hit below t = 1) and no centre error
        extra_success = np.round(success) - (shifted.success_hits[0] + np.r_[np.ones(20), 0.0])
        extra_precision = np.round(precision) - (shifted.precision_hits[0] + 1)
        for extra in (extra_success, extra_precision[::-1]):
            assert np.all((extra >= 0) & (extra <= unknown)) and np.all(np.diff(extra) <= 0), (tracker, extra)
            assert extra[0] == unknown, (tracker, extra)
        assert extra_precision[20] == 0, tracker


def test_pooling_frames_does_not_reproduce_the_published_numbers(root: Path) -> None:
    pooled = validate_reference_trackers(root, protocol=replace(OTB_TOOLKIT, aggregation="frame_pool"))
    assert all(abs(r.recomputed_auc - r.published_auc) > ONE_SEQUENCE for r in pooled)


def test_inclusive_success_or_the_trackers_own_first_box_do_not_reproduce_them(root: Path) -> None:
    published = published_scores(root, "STRUCK", "BC")
    for protocol in (
        replace(OTB_TOOLKIT, success_inclusive=True),
        replace(OTB_TOOLKIT, replace_first_frame=False),
    ):
        summary = summarise(recompute_scores(root, "STRUCK", published.sequences, protocol))
        assert np.abs(summary.success_curve - published.success_curve).max() > 1e-3, protocol


def test_published_attribute_membership_drops_tags_written_with_odd_spacing(root: Path) -> None:
    """cvpr13.txt writes "IV ,SV" (Car4), "IV ,BC" (CarDark), "IPR ,OPR" (Freeman4, Soccer), "OCC ,IPR" (Girl),
    "DEF," (Walking); the published attribute files leave exactly those sequences out."""
    tags = read_sequence_list(root / "annotations" / "lists" / "cvpr13.txt")
    tagged = {key: set() for key in ("BC", "DEF", "FM", "IPR", "IV", "LR", "MB", "OCC", "OPR", "OV", "SV")}
    for name, seq_tags in tags.items():
        for tag in seq_tags:
            tagged[tag].add(sequence_key(name))
    dropped = {}
    for tag, members in tagged.items():
        listed = {sequence_key(n) for n in published_scores(root, "MEEM", tag).sequences}
        assert listed <= members, tag
        if members - listed:
            dropped[tag] = members - listed
    assert dropped == {
        "BC": {"cardark"},
        "DEF": {"walking"},
        "IPR": {"freeman4", "girl", "soccer"},
        "IV": {"car4", "cardark"},
        "OCC": {"girl"},
        "OPR": {"freeman4", "soccer"},
        "SV": {"car4"},
    }


def test_the_entry_point_prints_markdown_tables(shared_data_dir: Path, root: Path, capsys) -> None:
    main(["--data-dir", str(shared_data_dir), "--published"])
    out = capsys.readouterr().out
    assert "| MEEM | 0.5561 | 0.5643 | 0.8003 | 0.8148 | 51 |" in out
    published_rows = [line for line in out.splitlines() if line.count("|") == 4 and line[2:3].isalpha()]
    assert len(published_rows) == 34 + 1  # the trackers and the header
    assert "| MUSTer | 0.6344 | 0.8531 |" in out
