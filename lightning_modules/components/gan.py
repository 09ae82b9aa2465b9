"""Losses and metrics shared by the image-to-image GANs (SAFont now; glyph stack and SRWGAN-GP reuse them)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import check_choice


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


APDR_BASES = ("ink", "all")


def apdr(prediction: Tensor, target: Tensor, threshold: float = 0.5, relative_to: str = "ink") -> Tensor:
    """Average pixel disagreement ratio per image → [B]: binarised pixels that differ, as a fraction.

    SAFont cites it from Chang et al. (HAN / HGAN) without a formula. Both images are binarised at ``threshold``
    (inputs in [0, 1]; ink below it). ``relative_to="ink"`` (default) divides the disagreements by the pixels
    that are ink in either image: Table 1's numbers need it, since with near-binary glyphs a flipped pixel costs
    ~255 in RMSE, so an RMSE of ~21 allows well under 1 % of *all* pixels to flip while the published APDR is
    ~0.12; and a blank page then scores the worst value, 1, instead of looking better than trained models.
    ``"all"`` divides by every pixel. Either way APDR(x, x) = 0 and APDR(x, 1 − x) = 1; an image pair without ink
    scores 0.
    """
    check_choice(relative_to, APDR_BASES, "model.apdr_relative_to")
    predicted_ink, true_ink = prediction < threshold, target < threshold
    disagree = (predicted_ink != true_ink).flatten(1).float().sum(1)
    if relative_to == "all":
        return disagree / true_ink[0].numel()
    ink = (predicted_ink | true_ink).flatten(1).float().sum(1)
    return disagree / ink.clamp_min(1.0)
