"""The pix2pix / zi2zi U-Net generator (Isola et al. 2017): the font-transfer baseline of SAFont's Table 1.

Encoder Conv(4, stride 2)-BatchNorm-LeakyReLU halving the resolution down to 1×1, decoder ConvTranspose-BatchNorm-ReLU
with a skip from the encoder level of the same size (U-Net), dropout in the innermost decoder layers, Tanh output
(returned before the Tanh, as ``SafontGenerator`` does, so both share the pixel losses).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class UNetGenerator(nn.Module):
    def __init__(
        self, image_size: int = 64, width: int = 64, max_width: int = 512, dropout: float = 0.5
    ) -> None:
        super().__init__()
        depth = int(math.log2(image_size))
        widths = [min(width * 2**i, max_width) for i in range(depth)]
        self.down = nn.ModuleList()
        channels = 1
        for i, out in enumerate(widths):
            layers: list[nn.Module] = [nn.Conv2d(channels, out, 4, 2, 1, bias=False)]
            if 0 < i < depth - 1:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2))
            self.down.append(nn.Sequential(*layers))
            channels = out
        self.up = nn.ModuleList()
        for i in reversed(range(depth - 1)):  # up to the level of encoder output i, then concat its skip
            skip_in = channels if i == depth - 2 else 2 * widths[i + 1]
            layers = [nn.ConvTranspose2d(skip_in, widths[i], 4, 2, 1, bias=False), nn.BatchNorm2d(widths[i])]
            if i >= depth - 4 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.ReLU())
            self.up.append(nn.Sequential(*layers))
        self.out = nn.ConvTranspose2d(2 * widths[0], 1, 4, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        for layer, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = torch.cat([layer(x), skip], dim=1)
        return self.out(x)
