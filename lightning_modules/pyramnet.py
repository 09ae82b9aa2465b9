"""PyramNet classification network (Kang & Li, ICONIP 2019, §3.1 and Fig. 2, top branch; §4.1: N=1024, F=3).

``points [B, N, F] -> logits [B, num_classes]``:

    stem MLP (F -> 32) -> GEM1 (-> 64) -> [top MLP (64, 128, 512) || PAN (-> 32)] -> concat (544)
    -> GEM2 (-> 1088) -> concat shortcut from the stem (32) -> MLP (1024) -> max pool over points
    -> FC 512 -> FC 256 -> dropout 0.35 -> Linear (num_classes)

Interpretation choices (each is a constructor option; the alternatives are noted):
  * The first layer is a per-point linear map of the F inputs (PointNet's ``1 x F`` conv), i.e.
    ``Conv1d(F, 32, 1)``.
  * ``mid_channels`` are the widths of the top branch's layers, so with GEM its first layer maps 64 -> 64;
    pass ``(128, 512)`` for the reading where "64" is only GEM1's output width.
  * "Each branch connects a different number of shortcuts from the first MLP structure": the classification
    branch takes one, the stem output (32 channels), concatenated after GEM2 (``shortcut=False`` drops it).
  * Dropout with keep ratio 0.65 "on the last fully connected layer" = ``Dropout(0.35)`` before the final
    Linear only; every other layer has BatchNorm + ReLU (§3.4), the final Linear has neither.
  * Both GEMs share the ``gem_*`` options; ``gem_k=None`` gives ``ceil(C/4)`` per GEM (8 for GEM1's 32
    channels, 136 for GEM2's 544), Table 4's best setting.
  * GEM details (projection, covariance reading, neighbour weighting) are in ``point_ops``; PAN's two readings
    (Li et al.'s Feature Pyramid Attention, the default, and parallel strided branches) in ``pyramid_attention``.
Table 1's ablation rows: Baseline = ``use_gem=False, use_pan=False``; Baseline+PAN; Baseline+GEM;
PyramNet = both.
Channel counts are derived from the flags, so every combination builds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightning_modules.components.point_ops import FullyConnectedHead, GraphEmbeddingModule, SharedMLP
from lightning_modules.components.pyramid_attention import build_pyramid_attention
from zoo.errors import UserError


class PyramNet(nn.Module):
    """PyramNet classifier, Table-1 ablations via ``use_gem`` / ``use_pan``: ``[B, N, F]`` -> logits."""

    def __init__(
        self,
        in_features: int = 3,
        num_classes: int = 40,
        *,
        stem_channels: Sequence[int] = (32,),
        mid_channels: Sequence[int] = (64, 128, 512),
        head_channels: Sequence[int] = (1024,),
        fc_channels: Sequence[int] = (512, 256),
        dropout: float = 0.35,
        use_gem: bool = True,
        use_pan: bool = True,
        gem_k: int | None = None,
        gem_similarity: str = "covariance",
        gem_absolute: bool = False,
        gem_include_self: bool = False,
        gem_projection_factor: float | None = None,
        gem_weighting: str = "mean",
        pan_variant: str = "fpa",
        pan_out_channels: int = 32,
        pan_kernel_sizes: Sequence[int] = (1, 3, 5, 7),
        pan_stride: int = 2,
        pan_kernel_shape: str = "square",
        pan_pyramid_channels: int = 8,
        shortcut: bool = True,
    ) -> None:
        super().__init__()
        if int(in_features) < 1 or int(num_classes) < 2:
            raise UserError(
                f"need in_features >= 1 and num_classes >= 2, got {in_features} and {num_classes}",
                where="model.net.in_features / model.net.num_classes",
                fix="set them from the dataset (ModelNet40: in_features=3, num_classes=40)",
            )
        self.in_features = int(in_features)
        self.use_gem, self.use_pan, self.shortcut = bool(use_gem), bool(use_pan), bool(shortcut)
        # Hydra hands lists over as ListConfig; SharedMLP/FullyConnectedHead turn them into tuples of ints.
        fc_channels = tuple(int(c) for c in fc_channels)

        self.stem = SharedMLP(self.in_features, stem_channels)
        gem_kwargs = dict(
            k=gem_k,
            similarity=gem_similarity,
            absolute=gem_absolute,
            include_self=gem_include_self,
            projection_factor=gem_projection_factor,
            weighting=gem_weighting,
        )
        self.gem1 = (
            GraphEmbeddingModule(in_channels=self.stem.out_channels, **gem_kwargs)
            if self.use_gem
            else nn.Identity()
        )
        gem1_out = self.stem.out_channels * (2 if self.use_gem else 1)

        self.top = SharedMLP(gem1_out, mid_channels)
        self.pan = (
            build_pyramid_attention(
                pan_variant,
                pan_out_channels,
                tuple(pan_kernel_sizes),
                pan_stride,
                pan_kernel_shape,
                pan_pyramid_channels,
            )
            if self.use_pan
            else None
        )
        branches_out = self.top.out_channels + (self.pan.out_channels if self.pan is not None else 0)

        self.gem2 = (
            GraphEmbeddingModule(in_channels=branches_out, **gem_kwargs) if self.use_gem else nn.Identity()
        )
        gem2_out = branches_out * (2 if self.use_gem else 1)
        head_in = gem2_out + (self.stem.out_channels if self.shortcut else 0)

        self.head = SharedMLP(head_in, head_channels)
        self.classifier = FullyConnectedHead(
            self.head.out_channels, fc_channels, int(num_classes), dropout=dropout
        )

    def _check_input(self, points: torch.Tensor) -> None:
        """Turn a data/config mismatch (e.g. normals loaded, ``in_features=3``) into a readable message."""
        if points.dim() != 3 or points.shape[-1] != self.in_features:
            raise UserError(
                f"PyramNet expects points shaped [B, N, {self.in_features}], got {list(points.shape)}",
                where="model.net.in_features",
                fix="set model.net.in_features to the number of per-point features the datamodule yields",
            )

    def point_features(self, points: torch.Tensor) -> torch.Tensor:
        """Per-point features before the head, ``[B, C_head_in, N]`` (reused by a segmentation branch)."""
        self._check_input(points)
        stem = self.stem(points.transpose(1, 2))  # [B, 32, N]
        x = self.gem1(stem)  # [B, 64, N]
        parts = [self.top(x)]  # [B, 512, N]
        if self.pan is not None:
            parts.append(self.pan(x))  # [B, 32, N]
        x = self.gem2(torch.cat(parts, dim=1))  # [B, 1088, N]
        return torch.cat([x, stem], dim=1) if self.shortcut else x

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        x = self.head(self.point_features(points))  # [B, 1024, N]
        return self.classifier(x.amax(dim=2))  # symmetric max pool over points -> [B, num_classes]
