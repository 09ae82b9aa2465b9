"""GEM, PAN and SharedMLP against brute-force references and the symmetries they should (not) have."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.point_ops import (
    FullyConnectedHead,
    GraphEmbeddingModule,
    PyramidAttentionNetwork,
    SharedMLP,
)
from zoo.errors import UserError


def _points(b: int = 2, c: int = 6, n: int = 12, seed: int = 0) -> torch.Tensor:
    """Random float64 features: ties in the similarity ranking are then practically impossible."""
    return torch.randn(b, c, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _reference_score(x: torch.Tensor, similarity: str) -> torch.Tensor:
    """Pairwise similarity written out per pair (eqs. 1-2 literally), independent of the matrix form."""
    b, _, n = x.shape
    score = torch.empty(b, n, n, dtype=x.dtype)
    for s in range(b):
        for i in range(n):
            for j in range(n):
                pi, pj = x[s, :, i], x[s, :, j]
                if similarity == "euclidean":
                    score[s, i, j] = -((pi - pj) ** 2).sum()
                    continue
                di, dj = pi - pi.mean(), pj - pj.mean()
                if similarity == "correlation":
                    score[s, i, j] = (di * dj).sum() / (di.norm() * dj.norm())
                else:
                    score[s, i, j] = (di * dj).mean()
    return score


def _reference_gem(
    x: torch.Tensor, k: int, similarity: str, absolute: bool, include_self: bool
) -> torch.Tensor:
    """Explicit N x k x C gather of the top-k neighbours, averaged over k, concatenated with the input."""
    score = _reference_score(x, similarity)
    if absolute:
        score = score.abs()
    if not include_self:
        score = score - torch.diag_embed(torch.full(score.shape[:2], float("inf"), dtype=x.dtype))
    idx = score.topk(k, dim=-1).indices  # [B, N, k]
    feats = x.transpose(1, 2)  # [B, N, C]
    gathered = torch.stack([feats[s][idx[s]] for s in range(x.shape[0])])  # [B, N, k, C]
    return torch.cat([x, gathered.mean(dim=2).transpose(1, 2)], dim=1)


def test_gem_output_shape_doubles_channels() -> None:
    assert GraphEmbeddingModule(k=3)(_points(3, 5, 10)).shape == (3, 10, 10)


@pytest.mark.parametrize(("channels", "expected"), [(3, 1), (32, 8), (33, 9), (64, 16), (544, 136)])
def test_gem_default_k_is_ceil_quarter_of_input_channels(channels: int, expected: int) -> None:
    assert GraphEmbeddingModule().resolve_k(channels) == expected
    assert GraphEmbeddingModule(k=20).resolve_k(channels) == 20


def test_gem_default_k_used_at_forward_time() -> None:
    idx = GraphEmbeddingModule().neighbours(_points(c=9, n=12))
    assert idx.shape == (2, 12, 3)  # ceil(9 / 4)


@pytest.mark.parametrize(
    ("similarity", "absolute", "include_self"),
    [
        ("covariance", False, False),
        ("covariance", True, False),
        ("covariance", False, True),
        ("correlation", False, False),
        ("correlation", True, True),
        ("euclidean", False, False),
        ("euclidean", False, True),
    ],
)
def test_gem_matches_brute_force_gather(similarity: str, absolute: bool, include_self: bool) -> None:
    x = _points(2, 5, 11, seed=1)
    gem = GraphEmbeddingModule(k=4, similarity=similarity, absolute=absolute, include_self=include_self)
    expected = _reference_gem(x, 4, similarity, absolute, include_self)
    torch.testing.assert_close(gem(x), expected)


def test_gem_options_change_the_neighbourhood() -> None:
    """Guard against options silently ignored: on random data each reading picks different neighbours."""
    x = _points(2, 5, 16, seed=2)
    sets = {
        (sim, ab): GraphEmbeddingModule(k=4, similarity=sim, absolute=ab).neighbours(x).sort(-1).values
        for sim, ab in [
            ("covariance", False),
            ("covariance", True),
            ("correlation", False),
            ("euclidean", False),
        ]
    }
    keys = list(sets)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not torch.equal(sets[a], sets[b]), (a, b)


def test_gem_excludes_self_by_default_and_includes_it_on_request() -> None:
    x = _points(2, 6, 12)
    own = torch.arange(12).view(1, 12, 1)
    assert not (GraphEmbeddingModule(k=5).neighbours(x) == own).any()
    # With self allowed, the euclidean nearest neighbour of a point is itself (distance 0).
    first = GraphEmbeddingModule(k=5, similarity="euclidean", include_self=True).neighbours(x)[..., :1]
    assert torch.equal(first, own.expand(2, 12, 1))


@pytest.mark.parametrize("similarity", ["covariance", "correlation", "euclidean"])
def test_gem_is_permutation_equivariant(similarity: str) -> None:
    x = _points(2, 7, 15, seed=3)
    perm = torch.randperm(15, generator=torch.Generator().manual_seed(0))
    gem = GraphEmbeddingModule(k=4, similarity=similarity)
    torch.testing.assert_close(gem(x[:, :, perm]), gem(x)[:, :, perm])


def test_gem_correlation_topk_is_euclidean_knn_of_normalised_centred_features() -> None:
    x = _points(2, 8, 20, seed=4)
    z = x - x.mean(dim=1, keepdim=True)
    z = z / z.norm(dim=1, keepdim=True)
    dist = torch.cdist(z.transpose(1, 2), z.transpose(1, 2))
    dist.diagonal(dim1=1, dim2=2).fill_(float("inf"))
    knn = dist.topk(5, dim=-1, largest=False).indices
    assert torch.equal(GraphEmbeddingModule(k=5, similarity="correlation").neighbours(x), knn)


def test_gem_raises_user_error_when_k_exceeds_neighbours() -> None:
    x = _points(1, 4, 8)
    GraphEmbeddingModule(k=7).neighbours(x)  # N - 1 neighbours: still fine
    with pytest.raises(UserError, match=r"k=8 .*N=8.*gem_k"):
        GraphEmbeddingModule(k=8)(x)
    GraphEmbeddingModule(k=8, include_self=True)(x)  # the point itself makes N candidates
    with pytest.raises(UserError, match=r"ceil\(C/4\)"):
        GraphEmbeddingModule()(_points(1, 40, 8))  # default k = 10 > 7


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"similarity": "cosine"}, {"similarity": "euclidean", "absolute": True}]
)
def test_gem_rejects_bad_options(kwargs: dict) -> None:
    with pytest.raises(UserError):
        GraphEmbeddingModule(**kwargs)


def test_gem_gradient_flows_through_neighbour_mean() -> None:
    x = _points(2, 6, 10).requires_grad_()
    GraphEmbeddingModule(k=3)(x)[:, 6:].sum().backward()  # only the aggregated half
    assert x.grad is not None and x.grad.abs().sum() > 0
    # d(sum of neighbour means)/dx_j = (number of points that chose j) / k: a count over k.
    counts = GraphEmbeddingModule(k=3).neighbours(x).flatten(1).long()
    expected = (
        torch.zeros(2, 10, dtype=x.dtype).scatter_add_(1, counts, torch.ones_like(counts, dtype=x.dtype)) / 3
    )
    torch.testing.assert_close(x.grad, expected.unsqueeze(1).expand(2, 6, 10))


def test_pan_output_shape_and_branch_layout() -> None:
    pan = PyramidAttentionNetwork(out_channels=8, kernel_sizes=(1, 3, 5, 7), stride=2)
    assert pan(torch.randn(2, 16, 21)).shape == (2, 8, 21)  # odd sizes: upsampling restores N exactly
    assert [b[0].kernel_size for b in pan.branches] == [(1, 1), (3, 3), (5, 5), (7, 7)]
    assert all(b[0].out_channels == 2 for b in pan.branches)
    feature = PyramidAttentionNetwork(out_channels=6, kernel_sizes=[3, 5], kernel_shape="feature")
    assert [b[0].kernel_size for b in feature.branches] == [(1, 3), (1, 5)]
    assert feature(torch.randn(2, 10, 9)).shape == (2, 6, 9)


def _permutation_gap(kernel_shape: str) -> float:
    torch.manual_seed(0)
    pan = PyramidAttentionNetwork(out_channels=8, kernel_shape=kernel_shape).double().eval()
    x = _points(2, 16, 24, seed=5)
    perm = torch.randperm(24, generator=torch.Generator().manual_seed(1))
    return (pan(x[:, :, perm]) - pan(x)[:, :, perm]).abs().max().item()


def test_pan_feature_kernels_are_permutation_equivariant() -> None:
    assert _permutation_gap("feature") < 1e-12


def test_pan_square_kernels_are_not_permutation_equivariant() -> None:
    # k x k kernels (and the stride along N) mix each point with its neighbours *in storage order*, which is
    # arbitrary for a point cloud: reordering the points changes every point's output.
    assert _permutation_gap("square") > 1e-3


@pytest.mark.parametrize(
    "kwargs", [{"out_channels": 30}, {"out_channels": 0}, {"kernel_shape": "round"}, {"stride": 0}]
)
def test_pan_rejects_bad_options(kwargs: dict) -> None:
    with pytest.raises(UserError):
        PyramidAttentionNetwork(**kwargs)


def test_shared_mlp_and_head_layers() -> None:
    mlp = SharedMLP(3, [8, 5], plain_last=True)
    assert mlp.out_channels == 5 and mlp(torch.randn(2, 3, 7)).shape == (2, 5, 7)
    assert isinstance(mlp[-1], torch.nn.Conv1d) and mlp[-1].bias is not None  # last layer without BN/ReLU
    assert (mlp.eval()(torch.randn(2, 3, 7)) < 0).any()
    head = FullyConnectedHead(5, (4,), 3, dropout=0.35)
    assert isinstance(head[-2], torch.nn.Dropout) and head[-2].p == 0.35
    assert head(torch.randn(4, 5)).shape == (4, 3)
    with pytest.raises(UserError):
        SharedMLP(3, [])
    with pytest.raises(UserError):
        FullyConnectedHead(5, (4,), 3, dropout=1.0)
