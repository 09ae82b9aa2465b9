from __future__ import annotations

import torch

from datamodules.noise import NoiseModel
from lightning_modules.components.lowrank import rpca_ialm
from lightning_modules.mog_rpca import MogRpca, mog_rpca


def test_mog_rpca_beats_ialm_on_its_complex_noise_protocol() -> None:
    """Zhao et al.'s protocol (rank 5, 100×100, outliers + two Gaussians): IALM reaches RRE ≈ 0.05 [anchor]."""
    generator = torch.Generator().manual_seed(0)
    low = torch.randn(3, 100, 5, dtype=torch.float64, generator=generator) @ torch.randn(
        3, 5, 100, dtype=torch.float64, generator=generator
    )
    noisy = low + NoiseModel("mog_matrix").sample((3, 100, 100), generator)
    rre = lambda x: torch.linalg.matrix_norm(x - low) / torch.linalg.matrix_norm(low)  # noqa: E731
    ours, iterations = mog_rpca(noisy, rank=10)
    ialm = rpca_ialm(noisy).low_rank
    assert bool((rre(ialm) > 0.04).all()) and bool((rre(ialm) < 0.07).all())
    assert bool((rre(ours) < 0.6 * rre(ialm)).all())
    assert iterations < 100


def test_noise_free_low_rank_input_is_kept() -> None:
    generator = torch.Generator().manual_seed(1)
    low = torch.rand(1, 30, 2, generator=generator) @ torch.rand(1, 2, 40, generator=generator)
    out = MogRpca(rank=6).solve(low, torch.zeros(1))
    assert out.dtype == low.dtype
    assert float(torch.linalg.matrix_norm(out - low) / torch.linalg.matrix_norm(low)) < 1e-3
