"""The orthonormal 2-D DCT-II as two matrix products, batched over leading dimensions, on any device.

FPCA (eq. 4-6) moves each matrix to the frequency domain with C_Y = D_m · Y · D_nᵀ, where D_n[j, i] =
s_j cos(π j (2i + 1) / 2n), s_0 = √(1/n), s_j = √(2/n). D is orthogonal, so the transform preserves the
Frobenius norm (Parseval), keeps i.i.d. Gaussian noise i.i.d. with the same σ, and leaves singular values unchanged.
torch has no DCT; two small matmuls are exact, differentiable and fast for the sizes used here (≤ 512).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor


@lru_cache(maxsize=32)
def _dct_matrix(n: int, dtype: torch.dtype, device: str) -> Tensor:
    i = torch.arange(n, dtype=torch.float64)
    j = i[:, None]
    scale = torch.full((n, 1), math.sqrt(2.0 / n), dtype=torch.float64)
    scale[0] = math.sqrt(1.0 / n)
    matrix = scale * torch.cos(math.pi * j * (2 * i + 1) / (2 * n))
    return matrix.to(dtype=dtype, device=device)


def dct_matrix(n: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """The orthonormal DCT-II matrix D_n [n, n] (rows are frequencies), cached per size, dtype and device."""
    return _dct_matrix(int(n), dtype, str(torch.device(device)))


def dct2(x: Tensor) -> Tensor:
    """2-D orthonormal DCT-II over the last two dimensions (``scipy.fft.dctn(x, norm="ortho", axes=(-2, -1))``)."""
    rows = dct_matrix(x.shape[-2], x.dtype, x.device)
    cols = dct_matrix(x.shape[-1], x.dtype, x.device)
    return rows @ x @ cols.T


def idct2(c: Tensor) -> Tensor:
    """The inverse of ``dct2`` (the transposed matrices: D is orthogonal)."""
    rows = dct_matrix(c.shape[-2], c.dtype, c.device)
    cols = dct_matrix(c.shape[-1], c.dtype, c.device)
    return rows.T @ c @ cols
