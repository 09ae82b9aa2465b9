"""Losses and metrics shared by the image-to-image GANs (SAFont now; glyph stack and SRWGAN-GP reuse them)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Eq. 7: E[max(0, 1 − D(y))] + E[max(0, 1 + D(G(x)))]; zero once real ≥ 1 and fake ≤ −1."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g_loss(fake: Tensor) -> Tensor:
    """Eq. 6: −E[D(G(x))]."""
    return -fake.mean()


def bce_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """The original (pix2pix / zi2zi) discriminator loss on logits."""
    return F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def bce_g_loss(fake: Tensor) -> Tensor:
    """The non-saturating generator loss on logits."""
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def rmse_255(prediction: Tensor, target: Tensor) -> Tensor:
    """Root mean square error per image on the 0-255 scale (inputs in [0, 1], [B, 1, H, W]) → [B]."""
    return (255.0 * (prediction - target)).pow(2).flatten(1).mean(1).sqrt()


def apdr(prediction: Tensor, target: Tensor, threshold: float = 0.5) -> Tensor:
    """Average pixel disagreement ratio per image → [B]: the fraction of pixels whose binarised values differ.

    SAFont cites it from Chang et al. (HAN / HGAN) without a formula; we binarise both images at ``threshold``
    (inputs in [0, 1]; ink below it) and count disagreements, so APDR(x, x) = 0 and APDR(x, 1 − x) = 1.
    """
    return ((prediction < threshold) != (target < threshold)).flatten(1).float().mean(1)
