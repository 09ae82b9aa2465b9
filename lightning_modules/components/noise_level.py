"""Blind noise-level estimates σ̂ for the denoisers (``model.noise_estimator``), batched over images [B, H, W].

σ̂ is read as the root mean noise power, the quantity the "oracle" level (``NoiseModel.std``) gives, because that
is what FPCA's λ = 1/(2σ̂²), ζ and WNNM weights model. Two estimators:

- ``"dct"`` (default): the median absolute value / 0.6745 of the highest-frequency orthonormal DCT coefficients
  (u + v ≥ 2p − 5: the ten highest) of p×p blocks at stride p/2. The DCT is the domain FPCA models noise in: an
  orthonormal transform keeps i.i.d. noise of any shape at the same power σ², and a coefficient mixes p² pixels,
  so sparse noise (20 % of the pixels hit) is near-Gaussian there and the MAD reads its power; natural images
  have almost no energy in the top band, so edges and texture reach it only as outliers the median ignores.
- ``"wavelet"``: Donoho's median(|HH|)/0.6745 of the finest Haar diagonal band (``skimage.restoration.
  estimate_sigma``). An HH coefficient mixes only 4 pixels, so for sparse noise most coefficients hold no
  noise and the MAD reads it at a fraction of its power; texture in HH is read as noise.

Validated against the true level on images outside paper10 in ``tests/lightning_modules/components/
test_noise_level.py``; the measured comparison is on the FPCA doc page.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.components.dct import dct2
from zoo.errors import UserError, check_choice

NOISE_ESTIMATORS = ("dct", "wavelet")
_MAD_TO_SIGMA = 0.6745  # median |N(0, 1)|


def estimate_noise_sigma(images: Tensor, estimator: str = "dct", block: int = 16) -> Tensor:
    """σ̂ per image of ``images`` [B, H, W] with the named estimator (see the module docstring)."""
    check_choice(estimator, NOISE_ESTIMATORS, "model.noise_estimator")
    if estimator == "wavelet":
        return wavelet_mad_sigma(images)
    return dct_band_sigma(images, block)


def dct_band_sigma(images: Tensor, block: int = 16) -> Tensor:
    """MAD σ̂ of the top DCT band (u + v ≥ 2·block − 5) of ``block``² blocks at stride block/2."""
    block = int(block)
    if block < 4 or min(images.shape[-2:]) < block:
        raise UserError(
            f"the DCT noise estimate needs blocks of at least 4 pixels that fit the image; got block {block} "
            f"for images of {tuple(images.shape[-2:])}",
            where="model.noise_block",
            fix="a smaller model.noise_block (e.g. 8), or model.noise_estimator=wavelet",
        )
    x = images.flatten(0, -3)[:, None].to(torch.float64)
    patches = F.unfold(x, block, stride=max(block // 2, 1))  # [B, block², L]
    coefficients = dct2(patches.transpose(1, 2).reshape(x.shape[0], -1, block, block))
    u = torch.arange(block, device=images.device)
    top = (u[:, None] + u[None, :]) >= 2 * block - 5
    band = coefficients[..., top].flatten(1)
    return (band.abs().median(dim=1).values / _MAD_TO_SIGMA).to(images.dtype).reshape(images.shape[:-2])


def wavelet_mad_sigma(images: Tensor) -> Tensor:
    """Donoho's σ̂ = median(|HH|) / 0.6745 of the finest Haar diagonal band."""
    h, w = images.shape[-2] // 2 * 2, images.shape[-1] // 2 * 2
    x = images[..., :h, :w]
    diagonal = (x[..., 0::2, 0::2] - x[..., 0::2, 1::2] - x[..., 1::2, 0::2] + x[..., 1::2, 1::2]) / 2.0
    return diagonal.flatten(-2).abs().median(dim=-1).values / _MAD_TO_SIGMA
