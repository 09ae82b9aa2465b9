from __future__ import annotations

import pytest
import torch

from lightning_modules.components.lowrank import rpca_ialm, soft_threshold, weighted_svt, wnnm_weights


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_constant_weights_give_singular_value_soft_thresholding() -> None:
    y = _random(2, 12, 9)
    u, s, vh = torch.linalg.svd(y, full_matrices=False)
    expected = u @ torch.diag_embed((s - 1.5).clamp_min(0)) @ vh
    torch.testing.assert_close(weighted_svt(y, 1.5), expected)
    torch.testing.assert_close(weighted_svt(y, torch.full((2, 9), 1.5, dtype=torch.float64)), expected)


def test_weighted_svt_minimises_the_weighted_objective() -> None:
    """½‖Y − X‖² + Σ w_i σ_i(X) at the closed form is below its value at any nearby matrix (Theorem 2)."""
    y = _random(15, 10, seed=3)
    w = torch.linspace(0.2, 3.0, 10, dtype=torch.float64)  # non-descending

    def objective(x: torch.Tensor) -> float:
        return float(0.5 * (y - x).pow(2).sum() + (w * torch.linalg.svdvals(x)).sum())

    best = weighted_svt(y, w)
    generator = torch.Generator().manual_seed(4)
    for _ in range(50):
        perturbed = best + 1e-3 * torch.randn(best.shape, dtype=torch.float64, generator=generator)
        assert objective(best) <= objective(perturbed) + 1e-12


@pytest.mark.parametrize("shape", [(5, 20, 40), (5, 40, 20)])
def test_gram_route_matches_the_full_svd(shape: tuple[int, int, int]) -> None:
    y = _random(*shape, seed=5)
    w = torch.linspace(0.5, 4.0, 20, dtype=torch.float64)
    torch.testing.assert_close(weighted_svt(y, w, gram=True), weighted_svt(y, w), atol=1e-9, rtol=1e-9)


def test_wnnm_weights_are_non_descending_and_shrink_noise_level_values_hardest() -> None:
    s = torch.tensor([[50.0, 20.0, 3.0, 1.0]])
    w = wnnm_weights(s, torch.tensor([0.2]), columns=70, c=2.8, eps=1e-8)
    assert bool((w[0, 1:] >= w[0, :-1]).all())
    # σ_i ≤ √n·σ: the clean estimate is 0, so the weight is c√n/ε, enough to zero it
    assert float(w[0, -1]) > 1e6


def test_soft_threshold() -> None:
    torch.testing.assert_close(
        soft_threshold(torch.tensor([-3.0, -0.5, 0.2, 2.0]), 1.0), torch.tensor([-2.0, 0, 0, 1.0])
    )


def test_ialm_recovers_a_low_rank_matrix_from_gross_sparse_corruption() -> None:
    """Oracle: rank-5 200×200, 10 % of the entries U[−50, 50]: relative error < 1e-5, numerical rank 5."""
    generator = torch.Generator().manual_seed(0)
    low_rank = torch.randn(200, 5, dtype=torch.float64, generator=generator) @ torch.randn(
        5, 200, dtype=torch.float64, generator=generator
    )
    mask = torch.rand(200, 200, dtype=torch.float64, generator=generator) < 0.1
    sparse = (torch.rand(200, 200, dtype=torch.float64, generator=generator) * 100 - 50) * mask
    result = rpca_ialm((low_rank + sparse)[None])
    error = torch.linalg.matrix_norm(result.low_rank[0] - low_rank) / torch.linalg.matrix_norm(low_rank)
    assert float(error) < 1e-5
    assert int(torch.linalg.matrix_rank(result.low_rank[0])) == 5
    assert result.iterations < 100 and float(result.residual[0]) < 1e-7
