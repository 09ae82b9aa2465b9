"""SeqSLAM: patch normalisation, the difference and contrast-enhanced matrices against direct formulas, straight
lines in the sequence search, and a planted repeated route found among random frames (methods.md §2)."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.retrieval_eval import earlier_mask, evaluate_loop_closure, evaluate_matches
from lightning_modules.components.seqslam import (
    difference_matrix,
    enhance_contrast,
    preprocess,
    ratio_matches,
    seqslam_costs,
    seqslam_scores,
    sequence_costs,
)
from zoo.errors import UserError


def route_with_a_revisit(seed: int = 0) -> torch.Tensor:
    """60 random 32×64 RGB frames; frames 40..59 revisit frames 10..29 with a little noise."""
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(60, 3, 32, 64, generator=g)
    frames[40:] = (frames[10:30] + 0.1 * torch.randn(20, 3, 32, 64, generator=g)).clamp(0, 1)
    return frames


def test_patches_are_z_scored() -> None:
    x = preprocess(torch.rand(3, 64, 128, generator=torch.Generator().manual_seed(0)) * 255)
    assert x.shape == (3, 32 * 64)
    patches = x.reshape(3, 4, 8, 8, 8)
    torch.testing.assert_close(patches.mean(dim=(2, 4)), torch.zeros(3, 4, 8), atol=1e-5, rtol=0)
    torch.testing.assert_close(patches.std(dim=(2, 4), correction=0), torch.ones(3, 4, 8), atol=1e-4, rtol=0)
    with pytest.raises(UserError, match="patches"):
        preprocess(torch.rand(1, 30, 60), size=(30, 60))


def test_difference_and_contrast_enhancement_match_the_direct_formulas() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 16, generator=g), torch.randn(9, 16, generator=g)
    d = difference_matrix(a, b)
    torch.testing.assert_close(d, (a[:, None] - b[None]).abs().mean(-1))
    dd = enhance_contrast(d, window=4)
    direct = torch.empty_like(d)  # OpenSeqSLAM's loop: columns j-2..j+2 clipped at the ends, unbiased std
    for i in range(5):
        for j in range(9):
            window = d[i, max(0, j - 2) : j + 3]
            direct[i, j] = (d[i, j] - window.mean()) / window.std()
    torch.testing.assert_close(dd, direct - direct.min(), atol=1e-5, rtol=0)
    assert dd.min() == 0


def test_sequence_costs_sum_along_straight_lines() -> None:
    dd = torch.ones(30, 30)
    dd.fill_diagonal_(0.0)
    cost = sequence_costs(dd, ds=4, v_min=1.0, v_max=1.0)
    assert cost[10, 10] == 0 and cost[10, 11] == 5  # 5 points, all off the diagonal
    assert torch.isinf(cost[1]).all() and torch.isinf(cost[:, 0]).all()  # the line leaves the matrix
    fast = torch.ones(30, 30)
    fast[torch.arange(15), torch.arange(0, 30, 2)] = 0.0  # the database advances twice as fast
    assert sequence_costs(fast, ds=4, v_min=1.0, v_max=2.0, v_step=1.0)[6, 12] == 0
    assert sequence_costs(fast, ds=4, v_min=1.0, v_max=1.0)[6, 12] == 4
    trailing = sequence_costs(dd, ds=4, v_min=1.0, v_max=1.0, align="trailing")
    assert trailing[4, 4] == 0 and torch.isinf(trailing[3]).all() and torch.isfinite(trailing[29, 29])


def test_seqslam_finds_the_planted_revisit() -> None:
    frames = route_with_a_revisit()
    scores = seqslam_scores(frames)
    gt = torch.zeros(60, 60, dtype=torch.bool)
    gt[torch.arange(40, 60), torch.arange(10, 30)] = True
    result = evaluate_loop_closure(scores, gt, exclude_recent=10)
    inner = torch.arange(45, 55)  # queries whose centred 11-frame window lies inside the revisit
    assert torch.equal(result.match_index[inner], inner - 30)
    # queries 55..59 have no full centred window (their lines leave the matrix): 15 of the 20 revisits
    assert torch.equal(result.match_index[40:55], torch.arange(10, 25))
    assert torch.isinf(result.match_score[55:]).all()
    assert result.recall_at_100 == pytest.approx(15 / 20)
    index, confidence = ratio_matches(-scores, earlier_mask(60, 10))
    assert torch.equal(index[inner], inner - 30)
    ratio_result = evaluate_matches(index, confidence, gt, earlier_mask(60, 10))
    assert ratio_result.recall_at_100 == pytest.approx(15 / 20)
    assert confidence[inner].min() > confidence[20:35].max()  # a revisit is surer than any first visit


def test_query_against_a_separate_database() -> None:
    frames = route_with_a_revisit(seed=2)
    cost = seqslam_costs(frames[40:], frames[:40], ds=6)
    assert cost.shape == (20, 40)
    index = cost[3:17].argmin(1)
    assert torch.equal(index, torch.arange(3, 17) + 10)


def test_ratio_matches_handles_empty_and_lonely_candidates() -> None:
    cost = torch.tensor([[float("inf"), float("inf")], [1.0, float("inf")], [1.0, 4.0]])
    index, confidence = ratio_matches(cost, r_window=0)
    assert index.tolist() == [-1, 0, 0]
    assert confidence[0] == float("-inf") and confidence[1] == 0.0 and confidence[2] == pytest.approx(0.75)
