"""BM3D baseline: denoises through the package, is told σ like FPCA, and refuses patch grouping."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.bm3d import Bm3d
from zoo.errors import UserError


def test_bm3d_denoises_a_smooth_image_and_names_its_budget() -> None:
    x = torch.linspace(0, 1, 64)
    clean = (0.5 + 0.3 * torch.sin(6 * x[:, None]) * torch.cos(4 * x[None, :]))[None].double()
    noisy = clean + 0.05 * torch.randn(
        clean.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    module = Bm3d()
    denoised = module.denoise(noisy, torch.tensor([0.05]))
    assert denoised.shape == clean.shape and denoised.dtype == clean.dtype
    assert (denoised - clean).pow(2).mean() < 0.2 * (noisy - clean).pow(2).mean()
    assert "BM3D" in module.solver_budget and "bm3d 4." in module.solver_budget


def test_bm3d_refuses_patch_groups_and_unknown_profiles() -> None:
    with pytest.raises(UserError, match="whole_image"):
        Bm3d(grouping={"mode": "patch_groups"})
    with pytest.raises(UserError, match="model.profile"):
        Bm3d(profile="fast")
