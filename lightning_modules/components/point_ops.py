"""Point-cloud building blocks: shared per-point MLPs, PyramNet's GEM, a fully connected head.

PyramNet's PAN lives in ``pyramid_attention``.

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
WEIGHTINGS = ("mean", "similarity")


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
    """GEM (§3.2, eqs. 1-2, Fig. 3): append to each point the pooled features of its k most similar points.

    ``x [B, C, N] -> [B, 2C, N]`` = concat(x, pooled features of the top-k neighbours).

    Readings of the paper:
      * "We project the features of each point into high dimensional space. Afterwards, we use a covariance
        matrix": with ``projection_factor=r`` a learnable per-point layer (1 x 1 conv + BN + ReLU, §3.4's layer)
        maps the C features to ``ceil(r C)`` before the similarity; ``None`` ranks the raw features. The
        projected features only rank and weight the neighbours: the pooled features are the input's, so the
        output stays 2C wide (Fig. 3: "N x 1 x F" in, "N x 1 x 2F" out).
      * eq. 1 centres each *point* by the mean of its own attributes, and eq. 2's expectation runs over the
        attributes, so ``S = Xc^T Xc / D`` (``N x N`` per sample): a covariance between points (``similarity=
        "covariance"``). ``"correlation"`` additionally L2-normalises each centred point (Pearson correlation;
        its top-k equals Euclidean kNN of the normalised vectors); ``"euclidean"`` ranks by negative squared
        distance (DGCNN-style kNN).
      * "the strongest correlation" is read as the largest signed value; ``absolute=True`` ranks by ``|S|``
        so that strongly anti-correlated points count too.
      * "with the remaining N-1 points" excludes the point itself (``include_self=False``).
      * "N x k x F ... global average pooling": ``weighting="mean"`` averages the k neighbours (giving
        ``N x F``); ``"similarity"`` weights them by the softmax of their similarity values, the values the
        adjacency similarity matrix M_AS keeps ("retain the top k term ... as the new attribute"). Only the
        similarity weighting passes a gradient to the ranking features, so a projection requires it.
      * k defaults to ``ceil(C/4)`` of the GEM's input channels (§4.3, Table 4's best row); an int fixes it.
    Pooling is computed as ``X @ W^T`` with a selection matrix W (the weights at the top-k entries, 0 elsewhere):
    exact, differentiable, O(N^2) memory instead of the O(N k C) of an explicit gather (~300 MB per sample for
    C=544, k=136, N=1024). The top-k selection itself is not differentiable, as in the paper.
    """

    def __init__(
        self,
        k: int | None = None,
        similarity: str = "covariance",
        absolute: bool = False,
        include_self: bool = False,
        *,
        in_channels: int | None = None,
        projection_factor: float | None = None,
        weighting: str = "mean",
    ) -> None:
        super().__init__()
        if k is not None and int(k) < 1:
            raise UserError(
                f"GEM k must be a positive integer or null, got {k}",
                where="model.net.gem_k",
                fix="set model.net.gem_k to null (ceil(C/4)) or e.g. 20",
            )
        check_choice(similarity, SIMILARITIES, "model.net.gem_similarity", "GEM similarity")
        check_choice(weighting, WEIGHTINGS, "model.net.gem_weighting", "GEM weighting")
        if absolute and similarity == "euclidean":
            # |negative distance| would rank the *farthest* points first: certainly not what the user wants.
            raise UserError(
                "absolute=True only applies to covariance/correlation similarity",
                where="model.net.gem_absolute",
                fix="set model.net.gem_absolute=false or use gem_similarity=covariance",
            )
        self.projection: SharedMLP | None = None
        if projection_factor is not None:
            if float(projection_factor) <= 0 or in_channels is None:
                raise UserError(
                    f"GEM projection_factor must be a positive number (and the GEM's input width known), got "
                    f"{projection_factor}",
                    where="model.net.gem_projection_factor",
                    fix="set model.net.gem_projection_factor to null (no projection) or e.g. 2",
                )
            if weighting == "mean":
                raise UserError(
                    "a GEM projection with weighting=mean would never be trained: the top-k choice passes no "
                    "gradient, so the projection would stay at its random initialisation",
                    where="model.net.gem_projection_factor / model.net.gem_weighting",
                    fix="set model.net.gem_weighting=similarity, or model.net.gem_projection_factor=null",
                )
            width = math.ceil(float(projection_factor) * int(in_channels))
            self.projection = SharedMLP(int(in_channels), (width,))
        self.k = None if k is None else int(k)
        self.similarity = similarity
        self.absolute = bool(absolute)
        self.include_self = bool(include_self)
        self.weighting = weighting

    def extra_repr(self) -> str:
        k = "ceil(C/4)" if self.k is None else self.k
        return (
            f"k={k}, similarity={self.similarity}, absolute={self.absolute}, include_self={self.include_self}, "
            f"weighting={self.weighting}"
        )

    def resolve_k(self, channels: int) -> int:
        """The k used for an input with ``channels`` features: the fixed k, else ``ceil(C/4)``."""
        return self.k if self.k is not None else math.ceil(channels / 4)

    def similarity_matrix(self, x: torch.Tensor) -> torch.Tensor:
        """Pairwise scores ``[B, N, N]`` (larger = more similar) of the (projected) features, before |.|."""
        if self.projection is not None:
            x = self.projection(x)
        if self.similarity == "euclidean":
            inner = torch.bmm(x.transpose(1, 2), x)  # [B, N, N]
            sq = x.pow(2).sum(dim=1)  # [B, N]
            return 2 * inner - sq.unsqueeze(2) - sq.unsqueeze(1)
        xc = x - x.mean(dim=1, keepdim=True)  # eq. 1: centre each point by its own attribute mean
        if self.similarity == "correlation":
            xc = F.normalize(xc, dim=1)
            return torch.bmm(xc.transpose(1, 2), xc)
        return torch.bmm(xc.transpose(1, 2), xc) / x.shape[1]  # eq. 2: mean over attributes

    def top_k(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and indices ``[B, N, k]`` of each point's top-k neighbours, most similar first."""
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
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.weighting == "similarity"):
            scores = self.similarity_matrix(x)
            if self.absolute:
                scores = scores.abs()
            if not self.include_self:
                eye = torch.eye(n, dtype=torch.bool, device=x.device)
                scores = scores.masked_fill(eye, float("-inf"))
            top = scores.topk(k, dim=-1)
        return top.values, top.indices

    def neighbours(self, x: torch.Tensor) -> torch.Tensor:
        """Indices ``[B, N, k]`` of each point's top-k neighbours, most similar first."""
        return self.top_k(x)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores, idx = self.top_k(x)
        if self.weighting == "similarity":
            weights = scores.softmax(dim=-1)  # M_AS's values as pooling weights; gradient reaches the ranking
        else:
            weights = torch.full_like(scores, 1.0 / idx.shape[-1]).detach()
        selection = x.new_zeros(x.shape[0], x.shape[2], x.shape[2]).scatter(-1, idx, weights)  # W[b, i, j]
        pooled = torch.bmm(x, selection.transpose(1, 2))  # [B, C, N]: sum_j x[:, c, j] W[i, j]
        return torch.cat([x, pooled], dim=1)
