"""VLAD / ST-VLAD encoders: methods.md §2 oracles 1-2 (zero code of the centroids, order invariance, ST-VLAD
length), hand-checked residual pooling, positions, blocks, and the codebook fit."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.vlad import (
    block_features,
    blocks,
    feature_positions,
    fit_codebook,
    local_features,
    st_vlad,
    st_vlad_length,
    vlad,
)
from zoo.errors import UserError


def codebook(q: int = 4, d: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(q, d, generator=torch.Generator().manual_seed(seed))


def test_vlad_of_the_centroids_is_zero_and_normalises_without_nan() -> None:
    c = codebook()
    raw = vlad(c.unsqueeze(0), c, normalize=False)
    assert raw.shape == (1, 4 * 6) and torch.equal(raw, torch.zeros(1, 24))
    code = vlad(c.unsqueeze(0), c)
    assert not torch.isnan(code).any() and torch.equal(code, torch.zeros(1, 24))


def test_vlad_does_not_depend_on_feature_order() -> None:
    c = codebook()
    x = torch.randn(2, 50, 6, generator=torch.Generator().manual_seed(1))
    shuffled = x[:, torch.randperm(50, generator=torch.Generator().manual_seed(2))]
    torch.testing.assert_close(vlad(x, c), vlad(shuffled, c), rtol=1e-5, atol=1e-6)
    assert torch.allclose(vlad(x, c).norm(dim=1), torch.ones(2))


def test_vlad_sums_residuals_per_nearest_word_by_hand() -> None:
    c = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [11.0, 9.0]]])
    torch.testing.assert_close(vlad(x, c, normalize=False), torch.tensor([[1.0, 2.0, 1.0, -1.0]]))
    torch.testing.assert_close(
        vlad(x, c, pooling="mean", normalize=False), torch.tensor([[0.5, 1.0, 1.0, -1.0]])
    )
    expected = torch.tensor([1.0, 2.0**0.5, 1.0, -1.0])  # sign(x)|x|^0.5, then L2
    torch.testing.assert_close(vlad(x, c)[0], expected / expected.norm())


def test_a_list_of_blocks_of_different_sizes_equals_one_by_one() -> None:
    c = codebook()
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(7, 6, generator=g), torch.randn(12, 6, generator=g)
    both = vlad([a, b], c)
    torch.testing.assert_close(both, torch.cat([vlad(a[None], c), vlad(b[None], c)]))


def test_st_vlad_length_is_1664_for_16_words_dim_64_and_8_position_words() -> None:
    assert st_vlad_length(16, 64, 8) == 1664
    g = torch.Generator().manual_seed(0)
    positions = feature_positions(4, 4, 3)
    code = st_vlad(
        torch.randn(2, 48, 64, generator=g),
        torch.randn(16, 64, generator=g),
        positions,
        torch.rand(8, 3, generator=g),
    )
    assert code.shape == (2, 1664) and torch.allclose(code.norm(dim=1), torch.ones(2))


def test_st_vlad_pools_by_hand_and_is_order_invariant_with_its_positions() -> None:
    c = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [11.0, 9.0]]])
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    pc = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    raw = st_vlad(x, c, pos, pc, normalize=False)[0]
    v = [0.5, 1.0, 1.0, -1.0]  # eq. 3: mean residual per word
    p1, e1 = [1.0, 0.0], [1.0, 0.0]  # position word 1: feature 0 (word 0)
    p2, e2 = [0.5, 0.5], [1.0, 1.0]  # position word 2: features 1 (word 0) and 2 (word 1)
    torch.testing.assert_close(raw, torch.tensor(v + p1 + e1 + p2 + e2))
    perm = torch.tensor([2, 0, 1])
    torch.testing.assert_close(st_vlad(x[:, perm], c, pos[perm], pc), st_vlad(x, c, pos, pc))
    zero = st_vlad(c[None], c, pos[:2], pc, normalize=False)[0]
    # V and P are zero residuals; only the word counts E remain (centroid k sits at position word k)
    assert torch.equal(zero, torch.tensor([0.0] * 4 + [0.0, 0.0, 1.0, 0.0] + [0.0, 0.0, 0.0, 1.0]))
    assert not torch.isnan(st_vlad(c[None], c, pos[:2], pc)).any()


def test_feature_positions_follow_block_feature_order_and_lie_in_0_1() -> None:
    positions = feature_positions(2, 3, 2)
    assert positions.shape == (12, 3)
    torch.testing.assert_close(positions[0], torch.tensor([1 / 3, 1 / 2, 1 / 2]))
    torch.testing.assert_close(positions[-1], torch.tensor([1.0, 1.0, 1.0]))
    torch.testing.assert_close(
        positions[3], torch.tensor([1 / 3, 1.0, 1 / 2])
    )  # second grid row, first column
    maps = torch.arange(5 * 1 * 2 * 3, dtype=torch.float32).reshape(
        5, 1, 2, 3
    )  # value = frame·6 + row·3 + col
    per_frame = local_features(maps)
    assert per_frame.shape == (5, 6, 1)
    block = block_features(per_frame, blocks(5, 2))
    assert block.shape == (2, 12, 1)
    torch.testing.assert_close(block[1, :, 0], torch.arange(12, 24, dtype=torch.float32))


def test_blocks_are_consecutive_and_drop_the_remainder() -> None:
    assert blocks(10, 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert blocks(5, 3, stride=1).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]  # the paper's L - T + 1
    assert blocks(4, 1).tolist() == [[0], [1], [2], [3]]
    with pytest.raises(UserError, match="does not fit"):
        blocks(2, 3)


def test_fit_codebook_is_seeded_and_refuses_fewer_features_than_words() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(40, 3, generator=g) * 0.05 + k for k in (0.0, 5.0, 10.0)])
    a, b = fit_codebook(x, 3, seed=1), fit_codebook(x, 3, seed=1)
    assert a.shape == (3, 3) and torch.equal(a, b)
    torch.testing.assert_close(a.mean(1).sort().values, torch.tensor([0.0, 5.0, 10.0]), atol=0.05, rtol=0)
    with pytest.raises(UserError, match="at least as many features"):
        fit_codebook(x[:2], 3)


def test_bad_input_raises_user_errors() -> None:
    c = codebook()
    with pytest.raises(UserError, match=r"\[B, n, 6\]"):
        vlad(torch.randn(5, 6), c)
    with pytest.raises(UserError, match="NaN"):
        vlad(torch.full((1, 2, 6), float("nan")), c)
    with pytest.raises(UserError, match="alpha"):
        vlad(torch.randn(1, 2, 6), c, alpha=0.0)
    with pytest.raises(UserError, match="positions"):
        st_vlad(torch.randn(1, 5, 6), c, torch.rand(4, 3), torch.rand(2, 3))
