"""One-pass evaluation: the oracles of methods.md §6 (a perfect tracker scores 20/21 and 1.0), hand-computed IoU
and centre errors, the protocol options on toy sequences where they differ, attributes, and the plot file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_modules.components.ope import (
    GOT10K,
    OTB_TOOLKIT,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    OPEProtocol,
    box_iou,
    centre_error,
    evaluate_sequences,
    plot_ope,
    summarise,
    summarise_by_attribute,
)
from zoo.errors import UserError


def random_boxes(n: int, seed: int = 0) -> np.ndarray:
    """Float boxes far from the origin with fractional sizes: rounding in x + w - x is the rule, not the exception."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(1, 1000, (n, 2)), rng.uniform(0.1, 300, (n, 2))], axis=1)


@pytest.mark.parametrize("protocol", [GOT10K, OTB_TOOLKIT], ids=["got10k", "otb"])
def test_a_perfect_tracker_scores_20_of_21_and_precision_one(protocol: OPEProtocol) -> None:
    boxes = [random_boxes(n, seed) for seed, n in enumerate((50, 7, 300))]
    summary = summarise(evaluate_sequences(boxes, [b.copy() for b in boxes], protocol=protocol))
    assert summary.auc == pytest.approx(20 / 21, abs=1e-12)
    assert summary.precision == 1.0
    np.testing.assert_array_equal(summary.success_curve, [1.0] * 20 + [0.0])
    np.testing.assert_array_equal(summary.precision_curve, np.ones(51))


def test_the_iou_of_identical_boxes_never_exceeds_one() -> None:
    boxes = random_boxes(10_000, seed=1)
    iou = box_iou(boxes, boxes)
    assert np.all(iou <= 1.0) and np.all(iou > 1.0 - 1e-12)
    # why the clip: the unclipped ratio of the same boxes rounds above 1 for many of them
    right = boxes[:, :2] + boxes[:, 2:]
    inter = np.prod(right - boxes[:, :2], axis=1)
    assert np.any(inter / (2 * np.prod(boxes[:, 2:], axis=1) - inter) > 1.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [5, 5, 10, 10], 25 / 175),
        ([0, 0, 10, 10], [2, 2, 5, 5], 25 / 100),
        ([0, 0, 10, 10], [10, 0, 10, 10], 0.0),  # edges touch
        ([0, 0, 10, 10], [50, 50, 4, 4], 0.0),
        ([1, 1, 4, 2], [2, 1, 4, 2], 6 / 10),
        ([0, 0, 10, 10], [0, 0, 0, 0], 0.0),  # absent target
    ],
)
def test_hand_computed_ious(a: list, b: list, expected: float) -> None:
    assert box_iou(a, b) == pytest.approx(expected, abs=1e-12)
    assert box_iou(b, a) == pytest.approx(expected, abs=1e-12)


def test_otb_pixel_form_of_the_iou_gives_the_same_numbers() -> None:
    """OTB's calcRectInt: right = x + w - 1 and +1 in the intersection, which cancel."""
    a, b = random_boxes(2000, seed=2), random_boxes(2000, seed=3)
    b[:1000, :2] = a[:1000, :2] + np.random.default_rng(4).uniform(-20, 20, (1000, 2))  # many overlaps
    low = np.maximum(a[:, :2], b[:, :2])
    high = np.minimum(a[:, :2] + a[:, 2:] - 1, b[:, :2] + b[:, 2:] - 1)
    inter = np.prod(np.maximum(0, high - low + 1), axis=1)
    pixel = inter / (np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter)
    assert np.count_nonzero(pixel) > 900
    np.testing.assert_allclose(box_iou(a, b), pixel, rtol=0, atol=1e-12)


def test_a_shifted_box_has_the_shift_as_centre_error() -> None:
    box = np.array([[20.0, 30.0, 10.0, 8.0]])
    assert centre_error(box + [3, 4, 0, 0], box) == pytest.approx(5.0)
    # same centre, other size: xy + (wh - 1) / 2 is (24.5, 33.5) for both
    assert centre_error([[15.0, 26.0, 20.0, 16.0]], box) == pytest.approx(0.0)


def test_torch_tensors_score_like_arrays() -> None:
    a, b = random_boxes(20, seed=5), random_boxes(20, seed=6)
    np.testing.assert_allclose(box_iou(torch.from_numpy(a), torch.from_numpy(b)), box_iou(a, b))
    np.testing.assert_allclose(centre_error(torch.from_numpy(a), b), centre_error(a, b))


def _toy(frames: int, hit: bool, start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A sequence whose frames after the first are all exact (``hit``) or all 100 px away (no overlap)."""
    gt = np.tile([start + 10.0, 10.0, 20.0, 20.0], (frames, 1))
    pred = gt.copy()
    if not hit:
        pred[1:, 0] += 100.0
    return pred, gt


def test_sequence_mean_and_frame_pooling_differ_where_lengths_do() -> None:
    """A 2-frame perfect sequence and a 10-frame one lost after frame 1 (which both start from the truth)."""
    (p1, g1), (p2, g2) = _toy(2, hit=True), _toy(10, hit=False)
    scores = evaluate_sequences([p1, p2], [g1, g2], ["short", "long"])
    mean = summarise(scores, "sequence_mean")
    pooled = summarise(scores, "frame_pool")
    # success at t < 1: short 2/2, long 1/10 (its replaced first frame)
    assert mean.success_curve[0] == pytest.approx((1.0 + 0.1) / 2)
    assert pooled.success_curve[0] == pytest.approx(3 / 12)
    assert mean.auc == pytest.approx(20 / 21 * 0.55) and pooled.auc == pytest.approx(20 / 21 * 0.25)
    assert mean.precision == pytest.approx(0.55) and pooled.precision == pytest.approx(0.25)


def test_each_sequence_counts_in_every_attribute_it_is_tagged_with() -> None:
    sequences = {"a": _toy(4, hit=True), "b": _toy(5, hit=False), "c": _toy(10, hit=False)}
    scores = evaluate_sequences(
        [p for p, _ in sequences.values()], [g for _, g in sequences.values()], list(sequences)
    )
    by_tag = summarise_by_attribute(scores, {"a": ["SV", "OCC"], "b": ["OCC"], "c": ["SV", "OCC", "LR"]})
    assert sorted(by_tag) == ["LR", "OCC", "SV"]
    assert by_tag["OCC"].sequences == ("a", "b", "c") and by_tag["SV"].sequences == ("a", "c")
    assert by_tag["SV"].precision == pytest.approx((1.0 + 0.1) / 2)
    assert by_tag["OCC"].precision == pytest.approx((1.0 + 0.2 + 0.1) / 3)
    assert by_tag["LR"].precision == pytest.approx(0.1)
    pooled = summarise_by_attribute(scores, {"a": ["SV"], "c": ["SV"]}, "frame_pool")
    assert pooled["SV"].precision == pytest.approx(5 / 14)
    assert summarise(scores, sequences=["a", "c"]).precision == by_tag["SV"].precision


def test_attributes_of_an_unscored_sequence_are_refused() -> None:
    p, g = _toy(3, hit=True)
    scores = evaluate_sequences([p], [g], ["Jogging-1"])
    with pytest.raises(UserError, match="unscored sequence.*jogging_1"):
        summarise_by_attribute(scores, {"jogging_1": ["OCC"]})


def test_invalid_ground_truth_policies() -> None:
    """Frame 2 has no target (0,0,0,0) and the tracker reports a box there."""
    gt = np.array([[10.0, 10, 20, 20], [10, 10, 20, 20], [0, 0, 0, 0], [10, 10, 20, 20]])
    pred = gt.copy()
    pred[2] = [10, 10, 20, 20]
    keep, otb, exclude = (
        evaluate_sequences([pred], [gt], protocol=OPEProtocol(invalid_gt=policy))
        for policy in ("keep", "otb", "exclude")
    )
    # keep: a miss for success (IoU 0); the centres (19.5, 19.5) and (-0.5, -0.5) are 28.3 px apart
    assert keep.frames[0] == 4 and keep.success_hits[0, 0] == 3
    assert keep.precision_hits[0, 28] == 3 and keep.precision_hits[0, 29] == 4
    # otb: a success miss and a precision hit at every threshold (the toolkit's -1 sentinel)
    assert otb.frames[0] == 4 and otb.success_hits[0, 0] == 3 and np.all(otb.precision_hits[0] == 4)
    # exclude: the frame is not counted
    assert (
        exclude.frames[0] == 3 and exclude.success_hits[0, 0] == 3 and np.all(exclude.precision_hits[0] == 3)
    )
    assert exclude.mean_iou[0] == pytest.approx(1.0) and keep.mean_iou[0] == pytest.approx(0.75)


def test_the_otb_policy_treats_a_box_at_x_zero_as_invalid() -> None:
    """The toolkit checks all four numbers > 0, so Crowds' first-column box (x = 0) is not scored as seen."""
    gt = np.array([[10.0, 10, 20, 20], [0, 10, 20, 20]])
    pred = gt + [[0, 0, 0, 0], [200, 0, 0, 0]]
    scores = evaluate_sequences([pred], [gt], protocol=OTB_TOOLKIT)
    assert scores.precision_hits[0, 20] == 2


def test_the_first_frame_is_replaced_by_the_ground_truth_unless_asked_not_to() -> None:
    pred, gt = _toy(4, hit=True)
    pred[0, 0] += 100.0
    replaced = summarise(evaluate_sequences([pred], [gt]))
    kept = summarise(evaluate_sequences([pred], [gt], protocol=OPEProtocol(replace_first_frame=False)))
    assert replaced.precision == 1.0 and kept.precision == pytest.approx(0.75)


def test_inclusive_success_counts_iou_equal_to_the_threshold() -> None:
    lost = np.tile([0.0, 0, 10, 10], (3, 1))
    far = lost + [[0, 0, 0, 0], [50, 0, 0, 0], [50, 0, 0, 0]]
    strict = summarise(evaluate_sequences([far], [lost]))
    inclusive = summarise(evaluate_sequences([far], [lost], protocol=OPEProtocol(success_inclusive=True)))
    assert strict.success_curve[0] == pytest.approx(1 / 3) and inclusive.success_curve[0] == 1.0


def test_thresholds_are_the_published_ones() -> None:
    np.testing.assert_allclose(SUCCESS_THRESHOLDS, np.arange(21) / 20)
    np.testing.assert_array_equal(PRECISION_THRESHOLDS, np.arange(51))


def test_bad_inputs_are_user_errors() -> None:
    pred, gt = _toy(3, hit=True)
    with pytest.raises(UserError, match="2 predicted boxes for 3 ground-truth frames"):
        evaluate_sequences([pred[:2]], [gt], ["Couple"])
    with pytest.raises(UserError, match="shape"):
        evaluate_sequences([pred[:, :3]], [gt])
    with pytest.raises(UserError, match="unknown aggregation"):
        OPEProtocol(aggregation="pooled")
    with pytest.raises(UserError, match="unknown aggregation"):
        summarise(evaluate_sequences([pred], [gt]), "median")
    with pytest.raises(UserError, match="no frame with a valid"):
        evaluate_sequences([pred], [np.zeros_like(gt)], protocol=OPEProtocol(invalid_gt="exclude"))


def _two_trackers() -> dict:
    (p1, g1), (p2, g2) = _toy(5, hit=True), _toy(5, hit=False)
    good = summarise(evaluate_sequences([p1, p1], [g1, g1], ["s1", "s2"]))
    poor = summarise(evaluate_sequences([p1, p2], [g1, g2], ["s1", "s2"]))
    return {"poor": poor, "good": good}


def test_the_plot_is_written_atomically_as_a_png(tmp_path: Path) -> None:
    path = plot_ope(tmp_path / "plots" / "ope.png", _two_trackers(), title="OPE on toys")
    assert path == tmp_path / "plots" / "ope.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["ope.png"]  # no temporary file left behind


def test_the_legends_read_name_and_score_best_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import zoo.loggers

    captured = {}

    def capture(path: Path, fig: object) -> Path:
        captured["fig"] = fig
        return path

    monkeypatch.setattr(zoo.loggers, "write_figure", capture)
    plot_ope(tmp_path / "ope.png", _two_trackers())
    success_ax, precision_ax = captured["fig"].axes
    assert [t.get_text() for t in success_ax.get_legend().get_texts()] == ["good [0.952]", "poor [0.571]"]
    assert [t.get_text() for t in precision_ax.get_legend().get_texts()] == ["good [1.000]", "poor [0.600]"]
