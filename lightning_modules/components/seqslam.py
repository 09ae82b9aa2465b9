"""SeqSLAM on raw pixels (Milford & Wyeth 2012), the sequence-matching baseline of SeqDLF (§1, §2).

Read from the OpenSeqSLAM / pySeqSLAM parameters (methods.md §2), every step batched over all frames:
  1. greyscale, resize to 32×64 (h×w), z-score each 8×8 patch (patch normalisation);
  2. D[i, j] = mean absolute pixel difference of query i and database frame j;
  3. local contrast enhancement: each D[i, j] is z-scored against D[i, j-R/2 .. j+R/2] (R = 10, unbiased std,
     the window clipped at the ends), then the whole matrix is shifted so its minimum is 0;
  4. sequence search: for query i and candidate j, the summed enhanced difference along straight lines through
     (i, j) with slopes v in 0.8..1.2 (step 0.1) over ds + 1 = 11 queries centred on i; the cost is the minimum
     over slopes. Readings: the line passes through (i, j) exactly (database offset round-half-up(v·(x - ds/2)));
     OpenSeqSLAM anchors it at its first point and reports start + ds/2, which differs by at most ds/2·|v - 1|
     frames. A line leaving the matrix (the first and last ds/2 queries, candidates near the ends) is +inf.
  5. match = argmin of the cost; confidence = 1 - min / second-min, the second minimum taken outside ±R_window/2
     of the match (OpenSeqSLAM reports the ratio itself, lower = surer).
``seqslam_scores`` returns -cost (higher = more similar) for ``retrieval_eval``; ``ratio_matches`` the ratio test.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import UserError, check_choice, non_negative_int, positive_int

GREY = (0.299, 0.587, 0.114)
ALIGNS = ("center", "trailing")


def preprocess(frames: Tensor, size: tuple[int, int] = (32, 64), patch: int = 8) -> Tensor:
    """Frames ``[L, H, W]`` or ``[L, C, H, W]`` (C = 1 or 3, any range) → patch-normalised ``[L, h·w]`` (step 1)."""
    x = torch.as_tensor(frames).float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise UserError(
            f"frames must be [L, H, W] or [L, 1|3, H, W], got {tuple(x.shape)}",
            where="seqslam.preprocess(frames=...)",
            fix="stack the images channel-first",
        )
    if x.shape[1] == 3:
        x = (x * torch.tensor(GREY).view(1, 3, 1, 1)).sum(1, keepdim=True)
    h, w = size
    patch = positive_int(patch, "seqslam.patch", "8")
    if h % patch or w % patch:
        raise UserError(
            f"the resized frame {h}x{w} must be a whole number of {patch}-px patches",
            where="seqslam.size / seqslam.patch",
            fix="e.g. size=[32, 64], patch=8",
        )
    if tuple(x.shape[-2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    # [L, h/p, p, w/p, p]: one z-score per patch
    p = x.reshape(-1, h // patch, patch, w // patch, patch)
    mean = p.mean(dim=(2, 4), keepdim=True)
    std = p.std(dim=(2, 4), keepdim=True, correction=0).clamp_min(1e-6)
    return ((p - mean) / std).reshape(x.shape[0], h * w)


def difference_matrix(query: Tensor, database: Tensor | None = None) -> Tensor:
    """D ``[nq, ndb]``: mean absolute difference of preprocessed frames (step 2; sum / n pixels)."""
    db = query if database is None else database
    return torch.cdist(query.double(), db.double(), p=1).float() / query.shape[1]


def enhance_contrast(d: Tensor, window: int = 10) -> Tensor:
    """Step 3: z-score every entry against its ±window/2 database neighbours, then shift the minimum to 0."""
    half = positive_int(window, "seqslam.contrast_window", "10") // 2
    x = d.double()
    n = x.shape[1]
    zero = x.new_zeros(x.shape[0], 1)
    c1, c2 = torch.cat([zero, x.cumsum(1)], 1), torch.cat([zero, (x * x).cumsum(1)], 1)
    j = torch.arange(n, device=x.device)
    a, b = (j - half).clamp_min(0), (j + half + 1).clamp_max(n)
    count = (b - a).to(x)
    total, squares = c1[:, b] - c1[:, a], c2[:, b] - c2[:, a]
    mean = total / count
    var = (squares - count * mean * mean).clamp_min(0) / (count - 1).clamp_min(1)
    z = (x - mean) / var.sqrt().clamp_min(1e-9)
    return (z - z.min()).float()


def sequence_costs(
    dd: Tensor,
    ds: int = 10,
    v_min: float = 0.8,
    v_max: float = 1.2,
    v_step: float = 0.1,
    align: str = "center",
) -> Tensor:
    """Step 4: ``[nq, ndb]`` minimum over slopes of the summed enhanced difference along a line through (i, j).

    ``align="trailing"`` ends the query window at i (an online detector that sees no future frames).
    """
    check_choice(align, ALIGNS, "seqslam.align", "alignment")
    ds = positive_int(ds, "seqslam.ds", "10")
    if not 0 < v_min <= v_max or v_step <= 0:
        raise UserError(
            f"velocities need 0 < v_min <= v_max and v_step > 0, got {v_min}, {v_max}, {v_step}",
            where="seqslam.v_min / v_max / v_step",
            fix="e.g. v_min=0.8, v_max=1.2, v_step=0.1",
        )
    velocities = torch.arange(v_min, v_max + v_step / 2, v_step, dtype=torch.float64)
    anchor = ds // 2 if align == "center" else ds
    dq = torch.arange(ds + 1) - anchor  # query-row offsets of the ds + 1 points
    ddb = torch.floor(dq.unsqueeze(0) * velocities.unsqueeze(1) + 0.5 + 1e-9).long()  # [V, ds + 1]
    pad = int(max(dq.abs().max(), ddb.abs().max()))
    nq, ndb = dd.shape
    padded = F.pad(dd.float(), (pad, pad, pad, pad), value=float("inf"))
    best = torch.full((nq, ndb), float("inf"), device=dd.device)
    for offsets in ddb:  # a few slopes × ds + 1 points; each step is one shifted [nq, ndb] slice
        cost = torch.zeros(nq, ndb, device=dd.device)
        for r, c in zip(dq.tolist(), offsets.tolist(), strict=True):
            cost += padded[pad + r : pad + r + nq, pad + c : pad + c + ndb]
        best = torch.minimum(best, cost)
    return best


def ratio_matches(cost: Tensor, valid: Tensor | None = None, r_window: int = 10) -> tuple[Tensor, Tensor]:
    """Step 5: per query the argmin candidate and 1 - min / second-min (outside ±r_window/2 of the match).

    No finite candidate: index -1 and -inf; no second candidate (or a zero second minimum): confidence 0.
    """
    half = non_negative_int(r_window, "seqslam.r_window") // 2
    c = cost if valid is None else cost.masked_fill(~valid.bool().to(cost.device), float("inf"))
    low, index = c.min(dim=1)
    near = (torch.arange(c.shape[1], device=c.device).unsqueeze(0) - index.unsqueeze(1)).abs() <= half
    second = c.masked_fill(near, float("inf")).min(dim=1).values
    usable = torch.isfinite(second) & (second > 0)
    ratio = torch.where(
        usable, low / torch.where(usable, second, torch.ones_like(second)), torch.ones_like(low)
    )
    found = torch.isfinite(low)
    return index.masked_fill(~found, -1), (1.0 - ratio).masked_fill(~found, float("-inf"))


def seqslam_costs(
    query_frames: Tensor,
    database_frames: Tensor | None = None,
    size: tuple[int, int] = (32, 64),
    patch: int = 8,
    contrast_window: int = 10,
    ds: int = 10,
    v_min: float = 0.8,
    v_max: float = 1.2,
    v_step: float = 0.1,
    align: str = "center",
) -> Tensor:
    """Steps 1-4 on raw frames: the sequence cost ``[nq, ndb]`` (lower = more similar); database = query if None."""
    q = preprocess(query_frames, size, patch)
    db = None if database_frames is None else preprocess(database_frames, size, patch)
    dd = enhance_contrast(difference_matrix(q, db), contrast_window)
    return sequence_costs(dd, ds, v_min, v_max, v_step, align)


def seqslam_scores(query_frames: Tensor, database_frames: Tensor | None = None, **options: object) -> Tensor:
    """-cost of ``seqslam_costs``: a score matrix for ``retrieval_eval`` (higher = more similar, -inf = none)."""
    return -seqslam_costs(query_frames, database_frames, **options)  # type: ignore[arg-type]
