from __future__ import annotations

import pytest
import torch

from lightning_modules.components.gan import apdr, hinge_d_loss, hinge_g_loss, rmse_255


def test_hinge_losses_at_their_margins() -> None:
    assert float(hinge_d_loss(torch.full((4,), 1.0), torch.full((4,), -1.0))) == 0.0  # both past the margin
    assert float(hinge_d_loss(torch.full((4,), 3.0), torch.full((4,), -2.0))) == 0.0
    assert float(hinge_d_loss(torch.zeros(4), torch.zeros(4))) == pytest.approx(2.0)
    assert float(hinge_d_loss(torch.full((4,), 0.5), torch.full((4,), -1.5))) == pytest.approx(0.5)
    assert float(hinge_g_loss(torch.tensor([1.0, 3.0]))) == pytest.approx(-2.0)


def test_rmse_and_apdr_on_known_pairs() -> None:
    x = (torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    assert rmse_255(x, x).tolist() == [0.0, 0.0, 0.0]
    assert apdr(x, x).tolist() == [0.0, 0.0, 0.0]
    assert apdr(x, 1 - x).tolist() == [1.0, 1.0, 1.0]
    assert rmse_255(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)).tolist() == [127.5]
    half = torch.zeros(1, 1, 2, 2)
    half[..., 0, :] = 1.0
    assert apdr(half, torch.zeros(1, 1, 2, 2)).tolist() == [0.5]
    # relative to the ink: one stroke pixel of 16 missing is half of the ink gone, not 1/16 of the page
    glyph = torch.ones(1, 1, 4, 4)
    glyph[..., 0, :2] = 0.0
    blank, missing_one = torch.ones_like(glyph), glyph.clone()
    missing_one[..., 0, 1] = 1.0
    assert apdr(missing_one, glyph).tolist() == [0.5] and apdr(
        missing_one, glyph, relative_to="all"
    ).tolist() == [1 / 16]
    assert apdr(blank, glyph).tolist() == [1.0] and apdr(blank, blank).tolist() == [0.0]
