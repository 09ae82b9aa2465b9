"""The OTB-2013 comparison blocks: what the published per-sequence fields mean, the rows' kinds, our records' rows,
the message without data, and that ``make results`` writes the same blocks (and figure) twice.

The fields' meaning is a measurement on the three trackers with raw boxes: ``overlapScores`` is the mean IoU and
``errorNum`` 10 × the share of frames with IoU < 0.5, on every sequence but Tiger1 (whose published scores are 5
frames out of step; ``test_tracking_validation``), and errorNum is neither a count nor a share of frames within
20 px.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking import read_otb_annotations, read_raw_result
from lightning_modules.components.ope import OTB_TOOLKIT, box_iou
from zoo.workflow.results import BEGIN, END, PAGE_BLOCKS, all_runs, run_results, search_of
from zoo.workflow.tables import BlockInputs
from zoo.workflow.tracking_comparison import (
    FIGURE,
    OURS,
    RAW,
    STORED,
    available_sequences,
    check_stored_fields,
    comparison_block,
    comparison_rows,
    record_rows,
    validation_block,
)
from zoo.workflow.tracking_validation import ANNOTATIONS, REFERENCE, published_scores, recompute_scores

REPO_ROOT = Path(__file__).resolve().parents[3]
RAW_TRACKERS = ["MEEM", "MUSTer", "STRUCK"]
SHARED_SEQUENCES = ("Couple", "Crossing", "Football1")


@pytest.fixture(scope="module")
def root(tracking_root: Path) -> Path:
    return tracking_root


# -- what the stored per-sequence fields mean ------------------------------------------------------------------
@pytest.mark.parametrize("tracker", RAW_TRACKERS)
def test_overlap_scores_are_mean_iou_and_error_num_ten_times_the_share_below_half(
    root: Path, tracker
) -> None:
    check = check_stored_fields(root, tracker)
    assert (check.sequences, check.overlap_matches, check.error_num_matches) == (51, 50, 50), check
    assert check.differing == ("Tiger1",)


def test_error_num_is_no_pixel_measure(root: Path) -> None:
    """Neither 10 × nor 1 × the share of frames beyond 20 px: MEEM's BasketBall has none, yet errorNum 0.70."""
    published = published_scores(root, "MEEM")
    scores = recompute_scores(root, "MEEM", published.sequences, OTB_TOOLKIT)
    beyond_20px = 1.0 - scores.precision_curves[:, 20]
    basketball = published.sequences.index("BasketBall")
    assert beyond_20px[basketball] == 0.0
    assert published.error_num[basketball] == pytest.approx(10 * 51 / 725, abs=1e-12)
    for scale in (1.0, 10.0):
        assert np.sum(np.abs(scale * beyond_20px - published.error_num) < 1e-9) < 25


def test_tiger1s_error_num_is_the_out_of_step_count_plus_the_four_unknown_frames(root: Path) -> None:
    gt = read_otb_annotations(root / ANNOTATIONS)["tiger1"].boxes
    for tracker in RAW_TRACKERS:
        published = published_scores(root, tracker)
        count = published.error_num[published.sequences.index("Tiger1")] * len(gt) / 10
        boxes = read_raw_result(root / REFERENCE / tracker / "Tiger1.json").boxes
        shifted = int(np.sum(box_iou(boxes[5:], gt[:-5]) < 0.5))
        assert count == pytest.approx(shifted + 4, abs=1e-9), tracker


# -- the rows ------------------------------------------------------------------------------------------------------
def test_the_compared_sequences_are_those_with_images(root: Path) -> None:
    assert available_sequences(root) == SHARED_SEQUENCES


def test_three_trackers_are_recomputed_from_boxes_and_31_read_from_their_scores(root: Path) -> None:
    rows = comparison_rows(root, [], SHARED_SEQUENCES)
    assert len(rows) == 34 and [r.mean_success for r in rows] == sorted(
        (r.mean_success for r in rows), reverse=True
    )
    raw = {r.tracker: r for r in rows if r.kind == RAW}
    assert sorted(raw) == RAW_TRACKERS and all(r.precision is not None for r in raw.values())
    meem = recompute_scores(root, "MEEM", SHARED_SEQUENCES, OTB_TOOLKIT)
    assert raw["MEEM"].success["Couple"] == pytest.approx(meem.success_curves[0].mean(), abs=1e-12)
    stored = [r for r in rows if r.kind == STORED]
    assert len(stored) == 31 and all(r.precision is None for r in stored)
    mil = next(r for r in stored if r.tracker == "MIL")
    published = published_scores(root, "MIL")
    at = [published.sequences.index(name) for name in SHARED_SEQUENCES]
    assert [mil.success[n] for n in SHARED_SEQUENCES] == pytest.approx(published.overlap_scores[at].tolist())
    assert mil.mean_success == pytest.approx(published.overlap_scores[at].mean())
    assert mil.success_rate_050 == pytest.approx(1 - published.error_num[at].mean() / 10)


def tracking_record(
    experiment: str, stamp: str, auc: float, sequences: dict[str, float], *overrides: str
) -> dict:
    metrics = {
        "test/success_auc": auc,
        "test/precision_20": 0.5,
        "test/fps": 12.0,
        "test/success_auc_OPR": 0.1,
    }
    metrics |= {f"test/success_auc_{name}": value for name, value in sequences.items()}
    return {
        "experiment": experiment,
        "run_id": f"{experiment}+runs+{stamp}_abcdef",
        "seed": 0,
        "overrides": [f"experiment={experiment}", "seed=0", *overrides],
        "metrics": metrics,
    }


def test_our_rows_are_the_latest_record_of_each_experiment_and_variant() -> None:
    three = dict(zip(SHARED_SEQUENCES, (0.6, 0.2, 0.4), strict=True))
    runs = [
        tracking_record("siamfc_x", "2026-01-02_00-00-00", 0.4, three),
        tracking_record("siamfc_x", "2026-01-01_00-00-00", 0.9, three),  # older: superseded
        tracking_record("siamfc_x", "2026-01-01_00-00-00", 0.7, three, "model.online.lr=0.1"),
        tracking_record("opencv_kcf", "2026-01-01_00-00-00", 0.3, {"Couple": 0.3}),
        {"experiment": "siamfc_pairs", "run_id": "p", "metrics": {"test/loss": 0.6}},  # no tracking metrics
    ]
    rows = record_rows(runs, SHARED_SEQUENCES)
    assert [(r.tracker, r.variant, r.mean_success) for r in rows] == [
        ("opencv_kcf", "", 0.3),
        ("siamfc_x", "", 0.4),
        ("siamfc_x", "model.online.lr=0.1", 0.7),
    ]
    kcf, default = rows[0], rows[1]
    assert default.kind == OURS and default.success == three and default.note == ""  # OPR is an attribute
    assert (default.precision, default.fps, default.success_rate_050) == (0.5, 12.0, None)
    assert kcf.success == {"Couple": 0.3} and kcf.note == "its sequences: Couple"


# -- the blocks ----------------------------------------------------------------------------------------------------
def test_without_tracking_data_the_blocks_say_so(tmp_path: Path) -> None:
    for data_dir in (None, tmp_path / "empty"):
        inputs = BlockInputs([], data_dir, tmp_path / "papers" / "p.md", tmp_path / "figures")
        for render in (comparison_block, validation_block):
            assert render(inputs).startswith("*Not generated: ")
    assert not (tmp_path / "figures").exists()


def page_with_markers(pages: Path) -> Path:
    pages.mkdir(parents=True, exist_ok=True)
    page = pages / "siamfc_online.md"
    blocks = "".join(f"{begin}\n{end}\n" for begin, end in (b.markers for b in PAGE_BLOCKS))
    page.write_text(f"# page\n{BEGIN}\n{END}\n{blocks}tail\n")
    return page


def make_results(tmp_path: Path, data_dir: Path) -> Path:
    records = tmp_path / "records" / "siamfc_x"
    records.mkdir(parents=True, exist_ok=True)
    record = tracking_record("siamfc_x", "2026-01-01_00-00-00", 0.5, dict.fromkeys(SHARED_SEQUENCES, 0.5))
    (records / "r.json").write_text(json.dumps(record))
    page = page_with_markers(tmp_path / "docs" / "papers")
    run_results(
        REPO_ROOT / "conf" / "experiment",
        tmp_path / "records",
        tmp_path / "logs",
        tmp_path / "results.md",
        pages_dir=page.parent,
        data_dir=data_dir,
    )
    return page


def test_make_results_without_tracking_data_still_writes_the_page(tmp_path: Path) -> None:
    page = make_results(tmp_path, tmp_path / "no-data")
    assert page.read_text().count("*Not generated: `DATA_DIR/tracking/") == 2 and page.read_text().endswith(
        "tail\n"
    )


def test_make_results_writes_the_same_blocks_and_figure_twice(
    tmp_path: Path, shared_data_dir: Path, root
) -> None:
    page = make_results(tmp_path, shared_data_dir)
    figure = tmp_path / "docs" / "figures" / FIGURE
    first, first_png = page.read_text(), figure.read_bytes()
    assert f"](../figures/{FIGURE})" in first and "| MEEM | 0.5561 | 0.5643 |" in first
    assert "| **siamfc_x** | our run record | 0.500 | 0.500 | 0.500 | 0.500 | 0.500 | — | 12.0 |" in first
    make_results(tmp_path, shared_data_dir)
    assert page.read_text() == first and figure.read_bytes() == first_png


def test_the_committed_blocks_are_what_the_committed_records_give(
    tmp_path: Path, shared_data_dir, root
) -> None:
    """As test_records does for the results tables: a fresh clone's `make results` (with the shared data, as in
    CI) must reproduce the committed blocks; the figure is committed next to them."""
    runs = all_runs(REPO_ROOT / "results" / "runs", tmp_path / "no-logs")
    runs = [run for run in runs if search_of(run) is None]
    committed = (REPO_ROOT / "docs" / "papers" / "siamfc_online.md").read_text()
    scratch = tmp_path / "docs" / "papers" / "siamfc_online.md"
    for block in PAGE_BLOCKS:
        begin, end = block.markers
        rendered = block.render(BlockInputs(runs, shared_data_dir, scratch, tmp_path / "docs" / "figures"))
        assert committed.split(begin, 1)[1].split(end, 1)[0] == "\n" + rendered, (
            "run `make results` and commit"
        )
    assert (REPO_ROOT / "docs" / "figures" / FIGURE).is_file()
