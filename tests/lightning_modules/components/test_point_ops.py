"""GEM and SharedMLP against brute-force references and the symmetries they should (not) have."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.point_ops import FullyConnectedHead, GraphEmbeddingModule, SharedMLP
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


@pytest.mark.parametrize(
    ("similarity", "projection"),
    [("covariance", None), ("correlation", None), ("euclidean", None), ("covariance", 2)],
)
def test_gem_is_permutation_equivariant(similarity: str, projection: int | None) -> None:
    x = _points(2, 7, 15, seed=3)
    perm = torch.randperm(15, generator=torch.Generator().manual_seed(0))
    gem = GraphEmbeddingModule(
        k=4,
        similarity=similarity,
        in_channels=7,
        projection_factor=projection,
        weighting="mean" if projection is None else "similarity",
    )
    gem = gem.double().eval()
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
    "kwargs",
    [{"k": 0}, {"similarity": "cosine"}, {"similarity": "euclidean", "absolute": True}, {"weighting": "max"}],
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


def test_gem_similarity_weighting_uses_the_softmax_of_the_kept_scores() -> None:
    x = _points(2, 6, 12, seed=4)
    gem = GraphEmbeddingModule(k=4, weighting="similarity").double()
    score = _reference_score(x, "covariance") - torch.diag_embed(
        torch.full((2, 12), float("inf"), dtype=x.dtype)
    )
    top = score.topk(4, dim=-1)
    weights = top.values.softmax(dim=-1)  # [B, N, k]
    feats = x.transpose(1, 2)
    gathered = torch.stack([feats[s][top.indices[s]] for s in range(2)])  # [B, N, k, C]
    expected = (gathered * weights.unsqueeze(-1)).sum(dim=2).transpose(1, 2)
    torch.testing.assert_close(gem(x)[:, 6:], expected)
    mean = GraphEmbeddingModule(k=4).double()(x)[:, 6:]
    assert (mean - expected).abs().max() > 1e-3  # the two readings differ on the same neighbours


def test_gem_projection_is_trained_through_the_similarity_weights() -> None:
    torch.manual_seed(0)
    gem = GraphEmbeddingModule(k=3, in_channels=6, projection_factor=2, weighting="similarity").double()
    assert gem.projection is not None and gem.projection.out_channels == 12
    x = _points(2, 6, 10, seed=2)
    gem(x)[:, 6:].pow(2).sum().backward()
    grads = [p.grad for p in gem.projection.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    # the projection only ranks and weights: the pooled features are still the input's (output 2C wide)
    assert gem(x).shape == (2, 12, 10)


def test_gem_projection_changes_which_neighbours_are_chosen() -> None:
    torch.manual_seed(0)
    x = _points(2, 6, 16, seed=3)
    plain = GraphEmbeddingModule(k=4, weighting="similarity").double().eval()
    projected = GraphEmbeddingModule(k=4, in_channels=6, projection_factor=2, weighting="similarity")
    assert not torch.equal(plain.neighbours(x), projected.double().eval().neighbours(x))


def test_gem_projection_without_similarity_weighting_is_refused() -> None:
    with pytest.raises(UserError, match="never be trained"):
        GraphEmbeddingModule(in_channels=6, projection_factor=2)
    with pytest.raises(UserError, match="projection_factor"):
        GraphEmbeddingModule(projection_factor=2, weighting="similarity")  # input width unknown


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
