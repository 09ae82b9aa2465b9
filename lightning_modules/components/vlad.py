"""VLAD and ST-VLAD encodings of the deep local features of an image block (SeqDLF §3.2, Duta et al. 2017).

A block is T consecutive frames; each frame gives h·w local features (one per conv5 grid cell, §3.1), so a block
holds m = T·h·w features of dimension d. Both encoders hard-assign every feature to its nearest visual word of a
k-means codebook (fitted offline, ``fit_codebook``) and pool the residuals per word:
  * ``vlad``: residuals **summed** per word (eq. 1), then sign(x)|x|^alpha and L2 (§4, alpha = 0.5);
  * ``st_vlad``: residuals **averaged** per word (eq. 3); a second k-means over the features' (x, y, t) positions
    splits the residuals and the word memberships into q2 position words (eq. 4): P = mean residual, E = summed
    one-hot word membership per position word; the code is [V, (P_1, E_1), ..., (P_q2, E_q2)] of length
    q1·d + q2·(d + q1), power- and L2-normalised as a whole (methods.md §2; Duta's demo uses alpha = 0.1).
Everything is batched over blocks with index_add / bincount: there is no Python loop over features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from zoo.errors import UserError, positive_int

EPS = 1e-12  # guards the L2 norm of an all-zero code (features equal to their words): 0 stays 0, no NaN


def l2_normalize(x: Tensor, dim: int = -1, eps: float = EPS) -> Tensor:
    """x / max(||x||, eps): the paper L2-normalises local features and codes; a zero vector stays zero."""
    return x / x.norm(dim=dim, keepdim=True).clamp_min(eps)


def power_normalize(x: Tensor, alpha: float) -> Tensor:
    """sign(x)|x|^alpha then L2 (§4), which damps bursty words before the cosine similarity."""
    if not 0.0 < float(alpha) <= 1.0:
        raise UserError(
            f"power-normalisation alpha must be in (0, 1], got {alpha!r}",
            where="alpha",
            fix="the paper uses alpha=0.5; Duta's ST-VLAD demo 0.1",
        )
    return l2_normalize(torch.sign(x) * x.abs().pow(alpha))


def _matrix(x: Tensor | np.ndarray, where: str) -> Tensor:
    """A finite float ``[N, d]`` tensor, or a UserError naming the argument."""
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[0] == 0 or not x.is_floating_point():
        raise UserError(
            f"{where} must be a non-empty float [N, d] matrix, got {tuple(x.shape)} {x.dtype}",
            where=where,
            fix="flatten the local features to rows: maps.flatten(2).transpose(1, 2)",
        )
    if not torch.isfinite(x).all():
        raise UserError(f"{where} contains NaN or infinity", where=where, fix="check the feature extractor")
    return x


def fit_codebook(
    features: Tensor | np.ndarray, words: int, seed: int = 0, batch_size: int = 4096, max_iter: int = 100
) -> Tensor:
    """The k-means codebook ``[words, d]`` (§2 "created offline"): scikit-learn's seeded MiniBatchKMeans.

    Mini-batch k-means because a dataset holds millions of conv5 features (14·14 per frame); the fit needs no
    gradients. Also fits the ST-VLAD position codebook from ``feature_positions(h, w, T)``.
    """
    from sklearn.cluster import MiniBatchKMeans

    words = positive_int(words, "fit_codebook(words=...)", "words=512")
    x = _matrix(features, "fit_codebook(features=...)")
    if x.shape[0] < words:
        raise UserError(
            f"k-means needs at least as many features as visual words: {x.shape[0]} features for {words} words",
            where="fit_codebook(features=..., words=...)",
            fix="fit on more frames (every frame of the training sequence) or lower the number of words",
        )
    kmeans = MiniBatchKMeans(
        n_clusters=words, random_state=seed, batch_size=batch_size, max_iter=max_iter, n_init=3
    )
    kmeans.fit(x.detach().cpu().double().numpy())
    return torch.as_tensor(kmeans.cluster_centers_, dtype=x.dtype)


def assign(features: Tensor, centroids: Tensor, chunk: int = 65536) -> Tensor:
    """Index of the nearest centroid (Euclidean, hard assignment NN(f) of eq. 1) for every row of ``[N, d]``.

    argmin ||f - c||² = argmax f·c - ||c||²/2: one matmul per chunk of rows, so a dataset's features
    (N ~ 10^5-10^6 against 512 words) never need an [N, q] distance matrix at once.
    """
    c = centroids.to(features)
    half_norm = 0.5 * (c * c).sum(1)
    parts = [(rows @ c.T - half_norm).argmax(-1) for rows in features.split(chunk)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long, device=features.device)


def _flatten(features: Tensor | Sequence[Tensor], d: int, where: str) -> tuple[Tensor, Tensor, int]:
    """Rows of all blocks ``[N, d]``, each row's block id ``[N]``, and the number of blocks B.

    A ``[B, n, d]`` tensor or a list of ``[n_b, d]`` tensors (blocks of different sizes) are both accepted.
    """
    if isinstance(features, Tensor):
        if features.dim() != 3 or features.shape[-1] != d:
            raise UserError(
                f"{where} must be [B, n, {d}] (blocks, features per block, dim), got {tuple(features.shape)}",
                where=where,
                fix="batch blocks with block_features(...)",
            )
        if not torch.isfinite(features).all():
            raise UserError(
                f"{where} contains NaN or infinity", where=where, fix="check the feature extractor"
            )
        b, n = features.shape[:2]
        return features.reshape(b * n, d), torch.arange(b, device=features.device).repeat_interleave(n), b
    items = [_matrix(f, where) for f in features]
    if not items or any(f.shape[1] != d for f in items):
        raise UserError(
            f"{where} must be a non-empty list of [n_b, {d}] tensors",
            where=where,
            fix="the feature dimension must match the codebook's",
        )
    sizes = torch.tensor([f.shape[0] for f in items], device=items[0].device)
    return (
        torch.cat(items),
        torch.arange(len(items), device=items[0].device).repeat_interleave(sizes),
        len(items),
    )


def _pool(values: Tensor, group: Tensor, groups: int, mean: bool) -> Tensor:
    """Sum (or mean) of the rows of ``values`` per group id: ``[groups, d]``; an empty group gives zeros."""
    out = values.new_zeros(groups, values.shape[1]).index_add_(0, group, values)
    if mean:
        out = out / torch.bincount(group, minlength=groups).clamp_min(1).unsqueeze(1).to(out)
    return out


def vlad(
    features: Tensor | Sequence[Tensor],
    centroids: Tensor,
    alpha: float = 0.5,
    pooling: str = "sum",
    normalize: bool = True,
) -> Tensor:
    """VLAD codes ``[B, q·d]`` of B blocks of local features against the codebook ``[q, d]``.

    ``pooling="mean"`` is ST-VLAD's eq. 3 (a config switch); ``normalize=False`` returns the raw residual sums.
    """
    q, d = _matrix(centroids, "vlad(centroids=...)").shape
    if pooling not in ("sum", "mean"):
        raise UserError(
            f"unknown residual pooling {pooling!r}", where="vlad(pooling=...)", fix="use sum or mean"
        )
    x, block, b = _flatten(features, d, "vlad(features=...)")
    word = assign(x, centroids)
    residual = x - centroids.to(x)[word]  # f_j - d_i with NN(f_j) = d_i
    code = _pool(residual, block * q + word, b * q, pooling == "mean").reshape(
        b, q * d
    )  # eq. 1 (eq. 3 if mean)
    return power_normalize(code, alpha) if normalize else code


def feature_positions(h: int, w: int, frames: int) -> Tensor:
    """(x, y, t) of every local feature of a block of ``frames`` frames of an h×w map: ``[frames·h·w, 3]``.

    Eq. 2 with 1-based grid indices: x = i/w, y = j/h, t = τ/T, all in (0, 1] so the three axes weigh the same in
    the position k-means (the extracted eq. 2 divides x by h and y by w, read as a typo for a square map).
    Row order is frame-major, then grid row, then column, the order of ``block_features``.
    """
    h, w = (
        positive_int(h, "feature_positions(h=...)", "14"),
        positive_int(w, "feature_positions(w=...)", "14"),
    )
    frames = positive_int(frames, "feature_positions(frames=...)", "3")
    t, y, x = torch.meshgrid(
        torch.arange(1, frames + 1) / frames,
        torch.arange(1, h + 1) / h,
        torch.arange(1, w + 1) / w,
        indexing="ij",
    )
    return torch.stack([x, y, t], dim=-1).reshape(-1, 3)


def st_vlad(
    features: Tensor,
    centroids: Tensor,
    positions: Tensor,
    position_centroids: Tensor,
    alpha: float = 0.5,
    normalize: bool = True,
) -> Tensor:
    """ST-VLAD codes ``[B, q1·d + q2·(d + q1)]`` of blocks ``[B, m, d]`` (eq. 3-4).

    ``positions`` is ``[m, 3]`` (shared by all blocks, ``feature_positions``) or ``[B, m, 3]``;
    ``position_centroids`` ``[q2, 3]`` is the position codebook. alpha defaults to the paper's 0.5 (§4).
    """
    q1, d = _matrix(centroids, "st_vlad(centroids=...)").shape
    q2 = _matrix(position_centroids, "st_vlad(position_centroids=...)").shape[0]
    x, block, b = _flatten(features, d, "st_vlad(features=...)")
    m = x.shape[0] // b
    positions = torch.as_tensor(positions).to(x)
    if positions.dim() == 2:
        positions = positions.unsqueeze(0).expand(b, -1, -1)
    if tuple(positions.shape) != (b, m, position_centroids.shape[1]):
        raise UserError(
            f"positions must be [{m}, 3] or [{b}, {m}, 3] for {b} blocks of {m} features, got "
            f"{tuple(positions.shape)}",
            where="st_vlad(positions=...)",
            fix="build them with feature_positions(h, w, T)",
        )
    word = assign(x, centroids)
    residual = x - centroids.to(x)[word]  # r_j, kept for the position pooling
    place = assign(positions.reshape(b * m, -1), position_centroids)  # NN(fp_j)
    v = _pool(residual, block * q1 + word, b * q1, mean=True).reshape(b, q1 * d)  # eq. 3
    p = _pool(residual, block * q2 + place, b * q2, mean=True).reshape(b, q2, d)  # eq. 4, P_i
    e = torch.bincount((block * q2 + place) * q1 + word, minlength=b * q2 * q1).reshape(
        b, q2, q1
    )  # eq. 4, E_i
    code = torch.cat([v, torch.cat([p, e.to(p)], dim=-1).reshape(b, q2 * (d + q1))], dim=1)
    return power_normalize(code, alpha) if normalize else code


def st_vlad_length(words: int, dim: int, position_words: int) -> int:
    """q1·d + q2·(d + q1), the ST-VLAD code length (§3.2)."""
    return words * dim + position_words * (dim + words)


def blocks(num_frames: int, T: int, stride: int | None = None) -> Tensor:
    """Frame indices ``[num_blocks, T]`` of consecutive blocks of T frames.

    ``stride=None`` (= T) gives non-overlapping blocks, frames 0..T-1, T..2T-1, ...; the paper's "L frames are
    split into L - T + 1 blocks" (§3.2) is ``stride=1``. Trailing frames that do not fill a whole block are
    dropped (at most stride - 1 of them) so every code sees exactly T frames.
    """
    num_frames = positive_int(num_frames, "blocks(num_frames=...)", "531")
    T = positive_int(T, "blocks(T=...)", "3")
    stride = T if stride is None else positive_int(stride, "blocks(stride=...)", "1")
    if num_frames < T:
        raise UserError(
            f"a block of T={T} frames does not fit in a sequence of {num_frames} frames",
            where="blocks(T=...)",
            fix="use a shorter sequence length T",
        )
    starts = torch.arange(0, num_frames - T + 1, stride)
    return starts.unsqueeze(1) + torch.arange(T)


def local_features(maps: Tensor) -> Tensor:
    """Conv maps ``[L, d, h, w]`` → local features ``[L, h·w, d]``, one per grid cell in row-major order (§3.1)."""
    if maps.dim() != 4:
        raise UserError(f"feature maps must be [L, d, h, w], got {tuple(maps.shape)}", where="local_features")
    return maps.flatten(2).transpose(1, 2)


def block_features(frame_features: Tensor, index: Tensor) -> Tensor:
    """Per-frame local features ``[L, n, d]`` gathered into blocks ``[num_blocks, T·n, d]`` (frame-major rows)."""
    nb, t = index.shape
    return frame_features[index.reshape(-1)].reshape(nb, t * frame_features.shape[1], frame_features.shape[2])
