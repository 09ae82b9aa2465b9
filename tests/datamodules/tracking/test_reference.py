"""Published OTB reference results: scores files, raw boxes, their frame fields and alignment with OTB2015.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking import (
    aligned_ground_truth,
    raw_result_path,
    read_otb_annotations,
    read_published_scores,
    read_raw_result,
    reference_trackers,
)
from zoo.errors import UserError


@pytest.fixture(scope="module")
def reference(tracking_dir: Path) -> Path:
    return tracking_dir / "reference_results" / "OTB_OPE_jwlim"


def test_34_trackers_publish_21_and_51_point_curves_over_51_sequences(reference: Path) -> None:
    trackers = reference_trackers(reference)
    assert len(trackers) == 34 and {"MEEM", "MUSTer", "STRUCK", "TLD", "MS"} <= set(trackers)
    for tracker in trackers:
        scores = read_published_scores(reference / tracker / "scores_cvpr13" / "ALL.json")
        assert scores.tracker == tracker and scores.attribute == "ALL" and len(scores.sequences) == 51
        assert scores.success_curve.shape == (21,) and scores.precision_curve.shape == (51,)
        assert np.all(np.diff(scores.success_curve) <= 0) and np.all(np.diff(scores.precision_curve) >= 0)
        assert scores.success_curve[-1] == 0.0  # [IoU > 1] never holds


def test_published_headline_numbers(reference: Path) -> None:
    meem = read_published_scores(reference / "MEEM" / "scores_cvpr13" / "ALL.json")
    assert meem.auc == pytest.approx(0.5561, abs=5e-5) and meem.precision == pytest.approx(0.8003, abs=5e-5)


def test_raw_results_carry_their_own_frame_fields_and_align_with_the_annotation(
    tracking_dir: Path, reference: Path
) -> None:
    annotations = read_otb_annotations(tracking_dir / "annotations" / "OTB2015.json")
    meem = read_raw_result(raw_result_path(reference, "MEEM", "David"))
    struck = read_raw_result(raw_result_path(reference, "STRUCK", "David"))
    assert (meem.start_frame, meem.end_frame) == (300, 770)  # image numbers
    assert (struck.start_frame, struck.end_frame) == (1, 471)  # positions within the sequence
    for result in (meem, struck):
        np.testing.assert_array_equal(
            aligned_ground_truth(result, annotations["david"]), annotations["david"].boxes
        )


def test_raw_result_names_match_up_to_case_and_separators(reference: Path) -> None:
    assert raw_result_path(reference, "MEEM", "jogging_1").name == "Jogging-1.json"
    assert raw_result_path(reference, "MEEM", "basketball").name == "BasketBall.json"
    with pytest.raises(UserError, match="no raw result of MEEM for sequence 'Surfer'"):
        raw_result_path(reference, "MEEM", "Surfer")


def _raw(tmp_path: Path, **record) -> Path:
    base = {"tracker": "T", "seqName": "Toy", "startFrame": 1, "endFrame": 2, "resType": "rect"}
    path = tmp_path / "Toy.json"
    path.write_text(json.dumps([{**base, "res": [[1, 2, 3, 4], [1, 2, 3, 4]], **record}]))
    return path


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"resType": "ivtAff"}, "only 'rect'"),
        ({"endFrame": 5}, "is 5 frames but 'res' has 2"),
        ({"res": [[1, 2, 3, 4], [1, 2, 3]]}, "box 2 of 'res'"),
    ],
)
def test_bad_raw_results_are_refused(tmp_path: Path, record: dict, problem: str) -> None:
    path = _raw(tmp_path, **record)
    with pytest.raises(UserError, match=problem) as err:
        read_raw_result(path)
    assert str(path) in str(err.value)


def test_a_result_that_fits_no_annotation_range_is_refused(tmp_path: Path, tracking_dir: Path) -> None:
    couple = read_otb_annotations(tracking_dir / "annotations" / "OTB2015.json")["couple"]
    result = read_raw_result(_raw(tmp_path, startFrame=200, endFrame=201))
    with pytest.raises(UserError, match="covers frames 200-201"):
        aligned_ground_truth(result, couple)


def test_a_scores_file_with_a_short_curve_is_refused(tmp_path: Path, reference: Path) -> None:
    data = json.loads((reference / "MEEM" / "scores_cvpr13" / "ALL.json").read_text())
    data["successRateList"] = data["successRateList"][:20]
    path = tmp_path / "ALL.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="'successRateList' is not 21 finite numbers") as err:
        read_published_scores(path)
    assert str(path) in str(err.value)
