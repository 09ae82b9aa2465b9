from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch

from lightning_modules.components.dct import dct2, dct_matrix, idct2
from lightning_modules.components.lowrank import weighted_svt


@pytest.mark.parametrize("shape", [(8, 8), (6, 11), (3, 5, 7)])
def test_dct2_matches_scipy_orthonormal_dctn(shape: tuple[int, ...]) -> None:
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    expected = scipy.fft.dctn(x.numpy(), norm="ortho", axes=(-2, -1))
    np.testing.assert_allclose(dct2(x).numpy(), expected, atol=1e-12)


def test_dct_matrix_is_orthogonal_and_matches_eq6() -> None:
    d = dct_matrix(10, torch.float64)
    torch.testing.assert_close(d @ d.T, torch.eye(10, dtype=torch.float64))
    # eq. 6 at (j, i) = (2, 3): s_j cos(π j (2i + 1) / 2n), s_j = √(2/n)
    assert float(d[2, 3]) == pytest.approx(np.sqrt(2 / 10) * np.cos(np.pi * 2 * 7 / 20))


def test_parseval_and_exact_inverse() -> None:
    x = torch.randn(4, 16, 12, dtype=torch.float64)
    c = dct2(x)
    torch.testing.assert_close(torch.linalg.matrix_norm(c), torch.linalg.matrix_norm(x))
    torch.testing.assert_close(idct2(c), x)


def test_iid_gaussian_noise_keeps_its_sigma_after_the_transform() -> None:
    noise = 0.05 * torch.randn(64, 128, 128, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert float(dct2(noise).std()) == pytest.approx(0.05, rel=0.01)


def test_weighted_svt_commutes_with_the_dct() -> None:
    """Singular values are DCT-invariant, so thresholding in either domain gives the same image."""
    y = torch.randn(3, 20, 30, dtype=torch.float64)
    weights = torch.linspace(0.1, 2.0, 20, dtype=torch.float64)
    torch.testing.assert_close(idct2(weighted_svt(dct2(y), weights)), weighted_svt(y, weights))
