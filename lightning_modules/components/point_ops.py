"""Point-cloud building blocks: shared per-point MLPs, PyramNet's GEM and PAN, and a fully connected head.

Layout is channels-first throughout: features are ``[B, C, N]`` (batch, channels, points), so per-point
layers are ``Conv1d(kernel_size=1)`` and every block can be chained without transposes.

Interpretation choices (PyramNet, Kang & Li 2019, §3.2-3.3) are documented next to the code they affect; each
alternative reading is a constructor option.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import UserError, check_choice

SIMILARITIES = ("covariance", "correlation", "euclidean")
KERNEL_SHAPES = ("square", "feature")


def _channels(values: Sequence[int], name: str, where: str) -> tuple[int, ...]:
    """Turn a list/ListConfig of widths into a tuple and reject empty or non-positive entries early."""
    widths = tuple(int(v) for v in values)
    if not widths or min(widths) < 1:
        raise UserError(
            f"{name} must be a non-empty list of positive channel counts, got {list(widths)}",
            where=where,
            fix=f"set {where} to e.g. [64, 128]",
        )
    return widths


class SharedMLP(nn.Sequential):
    """Per-point MLP: ``Conv1d(k=1) + BatchNorm1d + ReLU`` per layer, i.e. the same weights on every point.

    ``plain_last=True`` leaves the last layer a bare ``Conv1d`` with bias, for per-point score outputs such as
    the segmentation branch ("all layers include ReLU and batch normalization except for the last layer").
    """

    def __init__(self, in_channels: int, channels: Sequence[int], *, plain_last: bool = False) -> None:
        widths = _channels(channels, "SharedMLP channels", "SharedMLP(channels=...)")
        layers: list[nn.Module] = []
        c_in = int(in_channels)
        for i, c_out in enumerate(widths):
            if plain_last and i == len(widths) - 1:
                layers.append(nn.Conv1d(c_in, c_out, kernel_size=1))
            else:
                # Bias is redundant before BatchNorm (BN's shift absorbs it).
                layers += [
                    nn.Conv1d(c_in, c_out, 1, bias=False),
                    nn.BatchNorm1d(c_out),
                    nn.ReLU(inplace=True),
                ]
            c_in = c_out
        super().__init__(*layers)
        self.in_channels = int(in_channels)
        self.out_channels = widths[-1]


class FullyConnectedHead(nn.Sequential):
    """Global-feature classifier: ``(Linear + BN + ReLU)*`` then dropout and a plain ``Linear`` to the logits.

    Dropout sits only before the last layer: PyramNet §3.4 uses "dropout with keep ratio 0.65 on the last
    fully connected layer" (PointNet, by contrast, drops after every hidden FC layer).
    """

    def __init__(
        self, in_features: int, hidden: Sequence[int], num_classes: int, *, dropout: float = 0.0
    ) -> None:
        if not 0.0 <= float(dropout) < 1.0:
            raise UserError(
                f"dropout must be in [0, 1), got {dropout}",
                where="model.net.dropout",
                fix="use the drop probability (paper: 1 - keep ratio 0.65 = 0.35)",
            )
        layers: list[nn.Module] = []
        c_in = int(in_features)
        for c_out in (int(h) for h in hidden):
            layers += [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        layers += [nn.Dropout(float(dropout)), nn.Linear(c_in, int(num_classes))]
        super().__init__(*layers)


class GraphEmbeddingModule(nn.Module):
    """GEM (§3.2, eqs. 1-2, Fig. 3): append to each point the mean features of its k most similar points.

    ``x [B, C, N] -> [B, 2C, N]`` = concat(x, mean of the top-k neighbours' features). Parameter-free.

    Readings of the paper:
      * eq. 1 centres each *point* by the mean of its own C attributes, and eq. 2's expectation runs over the
        attributes, so ``S = Xc^T Xc / C`` (``N x N`` per sample): a covariance between points (``similarity=
        "covariance"``). ``"correlation"`` additionally L2-normalises each centred point (Pearson correlation;
        its top-k equals Euclidean kNN of the normalised vectors); ``"euclidean"`` ranks by negative squared
        distance of the raw features (DGCNN-style kNN).
      * "the strongest correlation" is read as the largest signed value; ``absolute=True`` ranks by ``|S|``
        so that strongly anti-correlated points count too.
      * "with the remaining N-1 points" excludes the point itself (``include_self=False``).
      * "N x k x F ... global average pooling" averages the k gathered neighbours (not over features), giving
        ``N x F``, concatenated with the input to ``N x 2F``.
      * k defaults to ``ceil(C/4)`` of the GEM's input channels (§4.3, Table 4's best row); an int fixes it.
    The mean over neighbours is computed as ``X @ W^T`` with a selection matrix W (1/k at the top-k entries):
    exact, differentiable w.r.t. X, O(N^2) memory instead of the O(N k C) of an explicit gather (~300 MB per
    sample for C=544, k=136, N=1024). Top-k selection itself is not differentiable, as in the paper.
    """

    def __init__(
        self,
        k: int | None = None,
        similarity: str = "covariance",
        absolute: bool = False,
        include_self: bool = False,
    ) -> None:
        super().__init__()
        if k is not None and int(k) < 1:
            raise UserError(
                f"GEM k must be a positive integer or null, got {k}",
                where="model.net.gem_k",
                fix="set model.net.gem_k to null (ceil(C/4)) or e.g. 20",
            )
        check_choice(similarity, SIMILARITIES, "model.net.gem_similarity", "GEM similarity")
        if absolute and similarity == "euclidean":
            # |negative distance| would rank the *farthest* points first: certainly not what the user wants.
            raise UserError(
                "absolute=True only applies to covariance/correlation similarity",
                where="model.net.gem_absolute",
                fix="set model.net.gem_absolute=false or use gem_similarity=covariance",
            )
        self.k = None if k is None else int(k)
        self.similarity = similarity
        self.absolute = bool(absolute)
        self.include_self = bool(include_self)

    def extra_repr(self) -> str:
        k = "ceil(C/4)" if self.k is None else self.k
        return (
            f"k={k}, similarity={self.similarity}, absolute={self.absolute}, include_self={self.include_self}"
        )

    def resolve_k(self, channels: int) -> int:
        """The k used for an input with ``channels`` features: the fixed k, else ``ceil(C/4)``."""
        return self.k if self.k is not None else math.ceil(channels / 4)

    def similarity_matrix(self, x: torch.Tensor) -> torch.Tensor:
        """Pairwise scores ``[B, N, N]`` (larger = more similar) before |.| and self-masking."""
        if self.similarity == "euclidean":
            inner = torch.bmm(x.transpose(1, 2), x)  # [B, N, N]
            sq = x.pow(2).sum(dim=1)  # [B, N]
            return 2 * inner - sq.unsqueeze(2) - sq.unsqueeze(1)
        xc = x - x.mean(dim=1, keepdim=True)  # eq. 1: centre each point by its own attribute mean
        if self.similarity == "correlation":
            xc = F.normalize(xc, dim=1)
            return torch.bmm(xc.transpose(1, 2), xc)
        return torch.bmm(xc.transpose(1, 2), xc) / x.shape[1]  # eq. 2: mean over attributes

    def neighbours(self, x: torch.Tensor) -> torch.Tensor:
        """Indices ``[B, N, k]`` of each point's top-k neighbours, most similar first (no gradient)."""
        channels, n = x.shape[1], x.shape[2]
        k = self.resolve_k(channels)
        available = n if self.include_self else n - 1
        if k > available:
            default = "" if self.k is not None else f" (default ceil(C/4) with C={channels})"
            raise UserError(
                f"GEM k={k}{default} exceeds the {available} neighbours available with N={n} points",
                where="model.net.gem_k",
                fix=f"lower model.net.gem_k to at most {available} or use more points per cloud",
            )
        with torch.no_grad():
            scores = self.similarity_matrix(x)
            if self.absolute:
                scores = scores.abs()
            if not self.include_self:
                scores.diagonal(dim1=1, dim2=2).fill_(float("-inf"))
            return scores.topk(k, dim=-1).indices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idx = self.neighbours(x)
        with torch.no_grad():
            b, n, k = idx.shape
            weights = x.new_zeros(b, n, n).scatter_(-1, idx, 1.0 / k)  # W[b, i, j] = 1/k if j in kNN(i)
        neighbour_mean = torch.bmm(x, weights.transpose(1, 2))  # [B, C, N]: sum_j x[:, c, j] W[i, j]
        return torch.cat([x, neighbour_mean], dim=1)


class PyramidAttentionNetwork(nn.Module):
    """PAN (§3.3, Fig. 2): multi-kernel downsampling pyramid over the ``N x C`` map, upsampled and pooled.

    ``x [B, C, N] -> [B, out_channels, N]``.

    Reading of the paper (Fig. 2: "N x 64" in, "N x 64 x 32" out, then GAP to "N x 1 x 32"): the feature map
    is a one-channel image with height N (points) and width C (features). Each of ``len(kernel_sizes)``
    parallel branches is ``Conv2d(1, out/branches, kernel, stride, padding=kernel//2) + BN2d + ReLU``
    (downsampling), bilinearly upsampled back to ``(N, C)``; the branches are concatenated to
    ``[B, out, N, C]`` and averaged over the feature axis C (the GAP) to ``[B, out, N]``.

    ``kernel_shape="square"`` (k x k, stride on both axes) mixes features of *adjacent points* as the paper
    says ("the features of adjacent points ... can be fused"); since point order is arbitrary this is not
    permutation-equivariant. ``"feature"`` uses 1 x k kernels with stride only along the feature axis, so each
    point is processed alone and the block is permutation-equivariant.
    Upsampling uses ``align_corners=False`` (half-pixel centres); TF 1.x ``resize_bilinear`` used a slightly
    different grid by default, which only shifts the interpolation by half a cell.
    """

    def __init__(
        self,
        out_channels: int = 32,
        kernel_sizes: Sequence[int] = (1, 3, 5, 7),
        stride: int = 2,
        kernel_shape: str = "square",
    ) -> None:
        super().__init__()
        kernels = _channels(kernel_sizes, "PAN kernel sizes", "model.net.pan_kernel_sizes")
        if int(out_channels) < 1 or int(out_channels) % len(kernels):
            raise UserError(
                f"PAN out_channels={out_channels} must be a positive multiple of the {len(kernels)} branches "
                f"(kernel sizes {list(kernels)})",
                where="model.net.pan_out_channels",
                fix=f"use a multiple of {len(kernels)} (paper: 32) or change model.net.pan_kernel_sizes",
            )
        check_choice(kernel_shape, KERNEL_SHAPES, "model.net.pan_kernel_shape", "PAN kernel_shape")
        if int(stride) < 1:
            raise UserError(
                f"PAN stride must be >= 1, got {stride}",
                where="model.net.pan_stride",
                fix="use 2 (the paper downsamples) or 1",
            )
        self.out_channels = int(out_channels)
        self.kernel_sizes = kernels
        self.stride = int(stride)
        self.kernel_shape = kernel_shape
        per_branch = self.out_channels // len(kernels)
        self.branches = nn.ModuleList(self._branch(k, per_branch) for k in kernels)

    def _branch(self, kernel: int, channels: int) -> nn.Sequential:
        """One pyramid level: strided conv on the (points x features) image, BN, ReLU."""
        if self.kernel_shape == "square":
            size, stride, pad = (kernel, kernel), (self.stride, self.stride), (kernel // 2, kernel // 2)
        else:  # "feature": never look across points, so point order cannot matter
            size, stride, pad = (1, kernel), (1, self.stride), (0, kernel // 2)
        return nn.Sequential(
            nn.Conv2d(1, channels, size, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[2], x.shape[1]
        image = x.transpose(1, 2).unsqueeze(1)  # [B, 1, N, C]: height = points, width = features
        # Same-size bilinear resize along N is the identity, so "feature" kernels stay per-point.
        levels = [
            F.interpolate(branch(image), size=(n, c), mode="bilinear", align_corners=False)
            for branch in self.branches
        ]
        return torch.cat(levels, dim=1).mean(dim=3)  # GAP over the feature axis -> [B, out, N]
