from __future__ import annotations

import math

import pytest
import torch

from lightning_modules.components.lowrank import weighted_svt
from lightning_modules.fpca import AlmOptions, Fpca, fpca_alm
from zoo.errors import UserError


def low_rank_images(count: int = 2, size: int = 32, rank: int = 3, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(count, size, rank, generator=generator, dtype=torch.float64)
    v = torch.rand(count, rank, size, generator=generator, dtype=torch.float64)
    return u @ v / rank


def test_noise_update_is_the_minimiser_of_eq13() -> None:
    """C_N = (γP + 2λ sign(P)ζ)/(γ + 2λ) minimises λ(|c| − ζ)² + γ/2 (c − P)² entry-wise (grid search)."""
    lam, gamma, zeta = 3.0, 5.0, 0.4
    grid = torch.linspace(-3, 3, 600_001, dtype=torch.float64)
    for p in (-1.3, -0.1, 0.05, 2.0):
        closed = (gamma * p + 2 * lam * zeta * math.copysign(1, p)) / (gamma + 2 * lam)
        objective = lam * (grid.abs() - zeta) ** 2 + gamma / 2 * (grid - p) ** 2
        assert closed == pytest.approx(float(grid[objective.argmin()]), abs=1e-5)


def test_with_zeta_zero_the_alm_converges_to_weighted_svt_with_threshold_w_over_2lambda() -> None:
    """ζ = 0 makes the noise term λ‖C_N‖²: the optimum is X = SVT_{w/(2λ)}(Y) = SVT_{c(√m+√n)σ}(Y)."""
    y = low_rank_images() + 0.05 * torch.randn(
        2, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    sigma = torch.tensor([0.05, 0.05], dtype=torch.float64)
    options = AlmOptions(weights="constant", zeta_scale=0.0, max_iter=500, tol=1e-10, gram=False)
    x, iterations = fpca_alm(y, sigma, options)
    expected = weighted_svt(y, 1.0 * (2 * math.sqrt(32)) * 0.05)
    torch.testing.assert_close(x, expected, atol=1e-4, rtol=0)  # a wrong threshold scale moves it by ~1e-2
    assert iterations < 500


def test_fpca_denoises_and_the_domains_differ() -> None:
    clean = low_rank_images(seed=2)
    noisy = clean + 0.05 * torch.randn(
        clean.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    )
    sigma = torch.full((2,), 0.05, dtype=torch.float64)
    dct, _ = fpca_alm(noisy, sigma, AlmOptions(domain="dct"))
    spatial, _ = fpca_alm(noisy, sigma, AlmOptions(domain="spatial"))
    error = lambda x: float(torch.linalg.matrix_norm(x - clean).mean())  # noqa: E731
    assert error(dct) < 0.75 * error(noisy)
    assert not torch.allclose(dct, spatial)


def test_module_denoise_runs_the_outer_loop_on_patch_groups() -> None:
    clean = low_rank_images(count=1, size=40).float()
    noisy = clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(4))
    model = Fpca(
        grouping={"mode": "patch_groups", "patch_size": 5, "stride": 3, "window": 15, "group_size": 16}
    )
    out = model.denoise(noisy, torch.tensor([0.05]))
    assert out.shape == noisy.shape
    assert float((out - clean).pow(2).mean()) < 0.75 * float((noisy - clean).pow(2).mean())
    assert len(model.alm_iterations) == model.hparams.outer_iterations


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(UserError, match="model.optimizer"):
        Fpca(optimizer=torch.optim.Adam)
    with pytest.raises(UserError, match="rho"):
        Fpca(rho=0.5)
    with pytest.raises(UserError, match="model.domain"):
        Fpca(domain="wavelet")


def test_patch_dct_is_each_patch_s_2d_dct_and_orthonormal() -> None:
    from lightning_modules.components.dct import dct2
    from lightning_modules.fpca import transforms

    forward, inverse = transforms("patch_dct")
    groups = torch.randn(3, 36, 70, dtype=torch.float64)  # 6×6 patches in the columns
    coefficients = forward(groups)
    per_patch = dct2(groups.transpose(1, 2).reshape(3, 70, 6, 6)).reshape(3, 70, 36).transpose(1, 2)
    torch.testing.assert_close(coefficients, per_patch)
    torch.testing.assert_close(inverse(coefficients), groups)
    torch.testing.assert_close(torch.linalg.svdvals(coefficients), torch.linalg.svdvals(groups))
    with pytest.raises(UserError, match="square number"):
        forward(torch.randn(1, 35, 10))
