from __future__ import annotations

import torch

from lightning_modules.rpca import Rpca


def test_rpca_module_separates_a_low_rank_image_from_sparse_corruption() -> None:
    generator = torch.Generator().manual_seed(0)
    clean = (torch.rand(2, 64, 2, generator=generator) @ torch.rand(2, 2, 64, generator=generator)) / 2
    mask = torch.rand(clean.shape, generator=generator) < 0.05
    noisy = clean + mask * (torch.rand(clean.shape, generator=generator) - 0.5)
    out = Rpca().solve(noisy, torch.zeros(2))
    assert out.dtype == noisy.dtype
    assert float(torch.linalg.matrix_norm(out - clean).max() / torch.linalg.matrix_norm(clean).min()) < 1e-4
