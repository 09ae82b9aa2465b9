"""Loop-closure evaluator: methods.md §2 oracles 3-4 (self-cosine 1, recall at 100 % precision = 0.75 on the given
scores, self-query on the diagonal), the PR curve against scikit-learn, exclusion windows, block ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_modules.components.retrieval_eval import (
    average_precision,
    best_matches,
    block_ground_truth,
    cosine_similarity,
    dilate,
    earlier_mask,
    evaluate_loop_closure,
    evaluate_matches,
    plot_pr_curves,
    precision_recall,
    recall_at_full_precision,
)
from lightning_modules.components.vlad import blocks, power_normalize
from zoo.errors import UserError

SCORES = [0.9, 0.8, 0.7, 0.95, 0.1, 0.2, 0.3]
LABELS = [1, 1, 0, 1, 0, 0, 1]


def test_recall_at_full_precision_of_the_methods_oracle_is_0_75() -> None:
    assert recall_at_full_precision(SCORES, LABELS) == 0.75
    assert recall_at_full_precision(SCORES, LABELS, num_positives=6) == 0.5
    assert recall_at_full_precision([0.9, 0.5], [0, 1]) == 0.0


def test_the_curve_and_ap_match_scikit_learn() -> None:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 20, 200) / 20, rng.random(200) < 0.4  # many ties
    precision, recall, thresholds = precision_recall(scores, labels)
    p_ref, r_ref, t_ref = precision_recall_curve(labels, scores)
    np.testing.assert_allclose(precision, p_ref[:-1][::-1])
    np.testing.assert_allclose(recall, r_ref[:-1][::-1])
    np.testing.assert_allclose(thresholds, t_ref[::-1])
    assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores))


def test_a_false_positive_tied_with_true_ones_ends_the_perfect_run() -> None:
    assert recall_at_full_precision([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 1]) == pytest.approx(1 / 3)


def test_self_cosine_is_one_and_a_copied_database_matches_on_the_diagonal() -> None:
    codes = power_normalize(torch.randn(30, 64, generator=torch.Generator().manual_seed(0)), 0.5)
    sim = cosine_similarity(codes)
    torch.testing.assert_close(sim.diagonal(), torch.ones(30))
    index, score = best_matches(cosine_similarity(codes, codes.clone()))
    assert torch.equal(index, torch.arange(30))
    assert torch.isfinite(cosine_similarity(torch.zeros(2, 4))).all()  # zero codes: guarded, no NaN


def test_only_earlier_blocks_outside_the_exclusion_window_are_candidates() -> None:
    mask = earlier_mask(5, exclude_recent=1)
    assert mask.int().tolist() == [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0],
    ]
    scores = torch.eye(5) + 0.5 * torch.eye(5).roll(
        -1, 1
    )  # each block most like itself, then its predecessor
    index, score = best_matches(scores, mask)
    assert index[:2].tolist() == [-1, -1] and torch.isinf(score[:2]).all()
    assert index[2:].tolist() == [0, 0, 0]


def test_block_ground_truth_aligns_with_blocks() -> None:
    frames = torch.zeros(10, 10, dtype=torch.bool)
    frames[7, 1] = True  # frame 7 revisits frame 1
    frames[4, 0] = frames[5, 1] = True  # frames 4, 5 revisit 0, 1
    b = blocks(10, 3)  # [0 1 2] [3 4 5] [6 7 8]; frame 9 dropped
    gt = block_ground_truth(frames, b)
    assert gt.int().tolist() == [[0, 1, 1], [1, 0, 0], [1, 0, 0]]  # symmetric
    majority = block_ground_truth(frames, b, rule="majority")
    assert majority.int().tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]  # 2 of 3 frames of block 1 loop
    assert not block_ground_truth(frames, b, symmetrize=False)[0, 2]
    shifted = torch.zeros(10, 10, dtype=torch.bool)
    shifted[9, 2] = True
    assert not block_ground_truth(shifted, b)[2, 0]
    assert block_ground_truth(shifted, b, tolerance=1)[2, 0]  # (9, 2) dilated reaches (8, 2)


def test_dilate_spreads_a_loop_to_a_square() -> None:
    frames = torch.zeros(7, 7, dtype=torch.bool)
    frames[3, 3] = True
    assert dilate(frames, 2).sum() == 25 and dilate(frames, 0).sum() == 1


def test_evaluate_loop_closure_counts_misses_in_the_recall() -> None:
    gt = torch.zeros(6, 6, dtype=torch.bool)
    gt[4, 0] = gt[5, 1] = gt[3, 0] = True
    scores = torch.zeros(6, 6)
    scores[4, 0], scores[5, 1] = 0.9, 0.8  # right
    scores[3, 1] = 0.95  # wrong best match of a query that has a loop
    result = evaluate_loop_closure(scores, gt, exclude_recent=1)
    assert result.num_positives == 3
    assert result.match_index.tolist()[3:] == [1, 0, 1]
    assert result.recall_at_100 == 0.0  # the best-scored match is wrong
    scores[3, 1] = 0.5
    result = evaluate_loop_closure(scores, gt, exclude_recent=1)
    assert result.recall_at_100 == pytest.approx(2 / 3) and result.average_precision == pytest.approx(2 / 3)
    nothing = evaluate_matches(torch.full((6,), -1), torch.full((6,), float("-inf")), gt)
    assert nothing.recall_at_100 == 0.0 and nothing.precision.size == 0


def test_no_true_loop_and_nan_scores_are_user_errors() -> None:
    with pytest.raises(UserError, match="true loop"):
        recall_at_full_precision([0.5], [0])
    with pytest.raises(UserError, match="NaN"):
        best_matches(torch.tensor([[float("nan")]]))
    with pytest.raises(UserError, match="rule"):
        block_ground_truth(torch.zeros(3, 3), blocks(3, 1), rule="all")


def test_plot_pr_curves_writes_a_png(tmp_path: Path) -> None:
    gt = torch.zeros(6, 6, dtype=torch.bool)
    gt[4, 0] = True
    result = evaluate_loop_closure(torch.rand(6, 6, generator=torch.Generator().manual_seed(0)), gt)
    path = plot_pr_curves(tmp_path / "pr.png", {"vlad T=3": result, "toy": ([1.0, 0.5], [0.5, 1.0])})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
