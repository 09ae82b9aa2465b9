"""Non-local patch groups: block matching into [p², K] matrices and aggregation back into images.

Low-rank denoisers (WNNM, FPCA's "Aggregate cleaned image" step) do not treat a natural image as one low-rank
matrix; they stack the K patches most similar to a reference patch as columns of a matrix that *is* nearly low
rank, denoise every such group, and average the overlapping patch estimates back into the image. All of it is
tensor indexing (unfold / gather / topk / scatter_add / fold) batched over images and reference patches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import UserError, positive_int


@dataclass(frozen=True)
class PatchGroups:
    """``matrices`` [B, R, p², K]: group r of image b holds patches ``index[b, r]`` (row-major patch ids)."""

    matrices: Tensor
    index: Tensor
    image_size: tuple[int, int]
    patch_size: int


def _reference_positions(length: int, stride: int) -> Tensor:
    """0, stride, 2·stride, … and always the last position, so every pixel lies in some reference patch."""
    positions = torch.arange(0, length, stride)
    if int(positions[-1]) != length - 1:
        positions = torch.cat([positions, torch.tensor([length - 1])])
    return positions


def _window_starts(reference: Tensor, half_window: int, window: int, length: int) -> Tensor:
    """The first candidate position of each reference's search window, shifted to stay inside the image."""
    return (reference - half_window).clamp(0, length - window)


class PatchGrouper:
    """Block matching with ``patch_size`` p, reference ``stride``, search ``window`` (side, in positions) and
    ``group_size`` K; ``chunk`` bounds the references matched at once (memory: B·chunk·window²·p² floats)."""

    def __init__(
        self, patch_size: int = 6, stride: int = 4, window: int = 31, group_size: int = 70, chunk: int = 256
    ):
        self.patch_size = positive_int(patch_size, "model.grouping.patch_size", "model.grouping.patch_size=6")
        self.stride = positive_int(stride, "model.grouping.stride", "model.grouping.stride=4")
        self.window = positive_int(window, "model.grouping.window", "model.grouping.window=31")
        self.group_size = positive_int(
            group_size, "model.grouping.group_size", "model.grouping.group_size=70"
        )
        self.chunk = positive_int(chunk, "model.grouping.chunk", "model.grouping.chunk=256")
        if self.stride > self.patch_size:
            raise UserError(
                f"stride {stride} > patch_size {patch_size} leaves pixels outside every reference patch",
                where="model.grouping.stride",
                fix=f"use a stride ≤ {patch_size}",
            )

    def _check(self, height: int, width: int) -> tuple[int, int, int, int]:
        p = self.patch_size
        rows, cols = height - p + 1, width - p + 1
        win_r, win_c = min(self.window, rows), min(self.window, cols)
        if rows < 1 or cols < 1 or win_r * win_c < self.group_size:
            raise UserError(
                f"a {height}×{width} image has too few {p}×{p} patches in a {self.window}-wide search window "
                f"for groups of {self.group_size}",
                where="model.grouping",
                fix="lower model.grouping.group_size or patch_size, or use model.grouping.mode=whole_image",
            )
        return rows, cols, win_r, win_c

    def group(self, images: Tensor) -> PatchGroups:
        """Groups of the K nearest patches (squared L2, the reference itself included) of ``images`` [B, H, W]."""
        b, height, width = images.shape
        p, k = self.patch_size, self.group_size
        rows, cols, win_r, win_c = self._check(height, width)
        patches = F.unfold(images[:, None], kernel_size=p).transpose(1, 2)  # [B, rows·cols, p²]
        ref_r = _reference_positions(rows, self.stride)
        ref_c = _reference_positions(cols, self.stride)
        ref_r, ref_c = (t.reshape(-1) for t in torch.meshgrid(ref_r, ref_c, indexing="ij"))
        start_r = _window_starts(ref_r, self.window // 2, win_r, rows)
        start_c = _window_starts(ref_c, self.window // 2, win_c, cols)
        offsets_r, offsets_c = torch.meshgrid(torch.arange(win_r), torch.arange(win_c), indexing="ij")
        candidates = (
            (start_r[:, None] + offsets_r.reshape(1, -1)) * cols + start_c[:, None] + offsets_c.reshape(1, -1)
        )
        references = ref_r * cols + ref_c
        candidates, references = candidates.to(images.device), references.to(images.device)
        chosen = []
        for first in range(
            0, references.numel(), self.chunk
        ):  # bounded memory; each chunk is fully vectorised
            cand = candidates[first : first + self.chunk]  # [r, C]
            cand_patches = patches[:, cand]  # [B, r, C, p²]
            ref = references[first : first + self.chunk]
            distance = (cand_patches - patches[:, ref][:, :, None]).pow(2).sum(-1)  # [B, r, C]
            # the reference always joins its own group (ties in flat areas could otherwise push it out)
            distance = distance.masked_fill(cand == ref[:, None], -1.0)
            nearest = distance.topk(k, dim=-1, largest=False).indices  # [B, r, K]
            chosen.append(torch.gather(cand.expand(b, -1, -1), 2, nearest))
        index = torch.cat(chosen, dim=1)  # [B, R, K]
        gathered = torch.gather(patches, 1, index.reshape(b, -1, 1).expand(-1, -1, p * p))
        matrices = gathered.reshape(b, index.shape[1], k, p * p).transpose(-1, -2)
        return PatchGroups(matrices, index, (height, width), p)

    @staticmethod
    def aggregate(groups: PatchGroups, matrices: Tensor) -> Tensor:
        """Average every pixel's estimates over all groups and patches that contain it → [B, H, W]."""
        b, _, p2, k = matrices.shape
        height, width = groups.image_size
        p = groups.patch_size
        num_patches = (height - p + 1) * (width - p + 1)
        columns = matrices.transpose(-1, -2).reshape(b, -1, p2)
        index = groups.index.reshape(b, -1, 1).expand(-1, -1, p2)
        sums = matrices.new_zeros(b, num_patches, p2).scatter_add_(1, index, columns)
        counts = matrices.new_zeros(b, num_patches, p2).scatter_add_(1, index, torch.ones_like(columns))
        fold = dict(output_size=(height, width), kernel_size=p)
        total = F.fold(sums.transpose(1, 2), **fold)
        weight = F.fold(counts.transpose(1, 2), **fold)
        return (total / weight).squeeze(1)
