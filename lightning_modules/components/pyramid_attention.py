"""PyramNet's Pyramid Attention Network (§3.3, Fig. 2) in two readings, both ``x [B, C, N] -> [B, out, N]``.

Common to both: the ``N x C`` feature map is a one-channel image (height N = points, width C = features), as
Fig. 2's "N x 64" in / "N x 64 x 32" out / GAP to "N x 1 x 32" implies; the block's output is averaged over the
feature axis (the GAP). ``kernel_shape="square"`` (k x k, stride on both axes) mixes features of *adjacent points*
as §3.3 says ("the features of adjacent points ... can be fused"); point order is arbitrary, so this is not
permutation-equivariant. ``"feature"`` uses 1 x k kernels, stride only along the feature axis: each point is
processed alone and the block is permutation-equivariant.

* ``FeaturePyramidAttention`` (``pan_variant=fpa``, default): the Feature Pyramid Attention block of Li et al.
  2018, "Pyramid Attention Network for Semantic Segmentation" (BMVC), which the name, the four kernel sizes and
  "bilinear interpolation as upsampling" point to. A 1 x 1 master branch is multiplied by an attention map built
  by a *cascaded* downsampling pyramid (7, 5, 3 kernels, each level at half the previous resolution), merged top
  down with bilinear upsampling; a global-pooling branch is added. It "combines features of different
  resolutions" and is an attention, the two things §3.3 names.
* ``ParallelStridedPyramid`` (``pan_variant=parallel``): the earlier reading, four parallel stride-2 convolutions
  (kernels 1, 3, 5, 7) at one resolution, each bilinearly upsampled, concatenated; no attention.
Upsampling uses ``align_corners=False`` (half-pixel centres); TF 1.x ``resize_bilinear`` used a slightly
different grid by default, which only shifts the interpolation by half a cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import UserError, check_choice

KERNEL_SHAPES = ("square", "feature")
PAN_VARIANTS = ("fpa", "parallel")


def _kernel_sizes(values: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(v) for v in values)
    if not sizes or min(sizes) < 1:
        raise UserError(
            f"PAN kernel sizes must be a non-empty list of positive integers, got {list(sizes)}",
            where="model.net.pan_kernel_sizes",
            fix="use e.g. [1, 3, 5, 7] (the paper's four kernel sizes)",
        )
    return sizes


def _check_common(out_channels: int, stride: int, kernel_shape: str) -> None:
    check_choice(kernel_shape, KERNEL_SHAPES, "model.net.pan_kernel_shape", "PAN kernel_shape")
    if int(stride) < 1:
        raise UserError(
            f"PAN stride must be >= 1, got {stride}",
            where="model.net.pan_stride",
            fix="use 2 (the paper downsamples) or 1",
        )
    if int(out_channels) < 1:
        raise UserError(
            f"PAN out_channels must be positive, got {out_channels}",
            where="model.net.pan_out_channels",
            fix="use e.g. 32 (the paper's N x 64 x 32 map)",
        )


def _as_image(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, N]`` features -> ``[B, 1, N, C]`` one-channel image (height = points, width = features)."""
    return x.transpose(1, 2).unsqueeze(1)


def _upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class _ImageConv(nn.Sequential):
    """``Conv2d + BatchNorm2d (+ ReLU)`` on the points x features image, square or feature-axis kernels."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, kernel_shape: str, *, relu: bool = True
    ) -> None:
        if kernel_shape == "square":
            size, steps, pad = (kernel, kernel), (stride, stride), (kernel // 2, kernel // 2)
        else:  # "feature": never look across points, so point order cannot matter
            size, steps, pad = (1, kernel), (1, stride), (0, kernel // 2)
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, size, stride=steps, padding=pad, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class FeaturePyramidAttention(nn.Module):
    """Li et al. 2018's FPA on the point-feature image: ``relu(master * attention + global)``, GAP over features.

    ``kernel_sizes`` holds the master kernel (the smallest, 1 in the paper) and the pyramid kernels, which run
    largest first (7 -> 5 -> 3), each level a ``stride``-downsampling conv followed by a same-resolution conv to
    ``out_channels``; the coarsest level is upsampled and added to the next finer one, and so on, up to the input
    size (the attention map). ``pyramid_channels`` is the width inside the pyramid (Li et al. keep it small; a
    one-channel input needs little). ``global_branch`` adds Li et al.'s image-level pooling branch.
    """

    def __init__(
        self,
        out_channels: int = 32,
        kernel_sizes: Sequence[int] = (1, 3, 5, 7),
        stride: int = 2,
        kernel_shape: str = "square",
        *,
        pyramid_channels: int = 8,
        global_branch: bool = True,
    ) -> None:
        super().__init__()
        _check_common(out_channels, stride, kernel_shape)
        sizes = sorted(_kernel_sizes(kernel_sizes))
        if len(sizes) < 2 or int(pyramid_channels) < 1:
            raise UserError(
                f"the FPA reading of PAN needs a master kernel and at least one pyramid kernel and "
                f"pyramid_channels >= 1, got kernel sizes {list(sizes)} and pyramid_channels={pyramid_channels}",
                where="model.net.pan_kernel_sizes / model.net.pan_pyramid_channels",
                fix="use pan_kernel_sizes=[1, 3, 5, 7] (master 1 x 1, pyramid 7 -> 5 -> 3) and e.g. 8 channels",
            )
        self.out_channels = int(out_channels)
        self.kernel_sizes = tuple(sizes)
        self.stride = int(stride)
        self.kernel_shape = kernel_shape
        out, mid = self.out_channels, int(pyramid_channels)
        self.master = _ImageConv(1, out, sizes[0], 1, kernel_shape, relu=False)
        pyramid = sizes[:0:-1]  # largest kernel at the finest level: 7, 5, 3
        self.down = nn.ModuleList(
            _ImageConv(1 if i == 0 else mid, mid, k, self.stride, kernel_shape) for i, k in enumerate(pyramid)
        )
        self.lateral = nn.ModuleList(_ImageConv(mid, out, k, 1, kernel_shape, relu=False) for k in pyramid)
        self.global_branch = _ImageConv(1, out, 1, 1, "square", relu=False) if global_branch else None

    def attention(self, image: torch.Tensor) -> torch.Tensor:
        """The pyramid's attention map ``[B, out, N, C]``: cascaded downsampling, merged coarse to fine."""
        levels, h = [], image
        for down, lateral in zip(self.down, self.lateral, strict=True):
            h = down(h)
            levels.append(lateral(h))
        merged = levels[-1]
        for finer in reversed(levels[:-1]):
            merged = finer + _upsample(merged, finer.shape[-2:])
        return _upsample(merged, image.shape[-2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = _as_image(x)
        y = self.master(image) * self.attention(image)
        if self.global_branch is not None:
            # image-level context: mean over all points and features, broadcast back to every cell
            y = y + self.global_branch(image.mean(dim=(2, 3), keepdim=True))
        return F.relu(y).mean(dim=3)  # GAP over the feature axis -> [B, out, N]


class ParallelStridedPyramid(nn.Module):
    """The parallel reading: one ``stride``-downsampling branch per kernel, upsampled, concatenated, GAP.

    Each of ``len(kernel_sizes)`` branches is ``Conv2d(1, out/branches, k, stride) + BN + ReLU`` on the same
    input; nothing multiplies anything, so it is a multi-kernel filter bank rather than an attention.
    """

    def __init__(
        self,
        out_channels: int = 32,
        kernel_sizes: Sequence[int] = (1, 3, 5, 7),
        stride: int = 2,
        kernel_shape: str = "square",
    ) -> None:
        super().__init__()
        _check_common(out_channels, stride, kernel_shape)
        kernels = _kernel_sizes(kernel_sizes)
        if int(out_channels) % len(kernels):
            raise UserError(
                f"PAN out_channels={out_channels} must be a multiple of the {len(kernels)} branches "
                f"(kernel sizes {list(kernels)})",
                where="model.net.pan_out_channels",
                fix=f"use a multiple of {len(kernels)} (paper: 32) or change model.net.pan_kernel_sizes",
            )
        self.out_channels = int(out_channels)
        self.kernel_sizes = kernels
        self.stride = int(stride)
        self.kernel_shape = kernel_shape
        per_branch = self.out_channels // len(kernels)
        self.branches = nn.ModuleList(
            _ImageConv(1, per_branch, k, self.stride, kernel_shape) for k in kernels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = _as_image(x)
        # Same-size bilinear resize along N is the identity, so "feature" kernels stay per-point.
        levels = [_upsample(branch(image), image.shape[-2:]) for branch in self.branches]
        return torch.cat(levels, dim=1).mean(dim=3)  # GAP over the feature axis -> [B, out, N]


def build_pyramid_attention(
    variant: str,
    out_channels: int,
    kernel_sizes: Sequence[int],
    stride: int,
    kernel_shape: str,
    pyramid_channels: int = 8,
) -> FeaturePyramidAttention | ParallelStridedPyramid:
    """The PAN named by ``model.net.pan_variant`` (``fpa`` | ``parallel``)."""
    check_choice(variant, PAN_VARIANTS, "model.net.pan_variant", "PAN variant")
    if variant == "fpa":
        return FeaturePyramidAttention(
            out_channels, kernel_sizes, stride, kernel_shape, pyramid_channels=pyramid_channels
        )
    return ParallelStridedPyramid(out_channels, kernel_sizes, stride, kernel_shape)
