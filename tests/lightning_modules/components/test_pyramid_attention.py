"""PAN's two readings: what makes FPA an attention over several resolutions, and the symmetries of both."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.pyramid_attention import (
    FeaturePyramidAttention,
    ParallelStridedPyramid,
    build_pyramid_attention,
)
from zoo.errors import UserError


def _features(b: int = 2, c: int = 16, n: int = 24, seed: int = 5) -> torch.Tensor:
    return torch.randn(b, c, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _influence_along_points(pan: torch.nn.Module, n: int = 64, c: int = 16) -> int:
    """How many points away an input still changes the output at the middle point (eval mode)."""
    x = _features(1, c, n).requires_grad_()
    pan.double().eval()(x)[0, :, n // 2].sum().backward()
    reached = (x.grad[0].abs().sum(dim=0) > 0).nonzero().flatten()
    return int((reached - n // 2).abs().max())


def test_fpa_layout_is_a_cascaded_pyramid_gating_a_one_by_one_branch() -> None:
    fpa = FeaturePyramidAttention(out_channels=8, kernel_sizes=(1, 3, 5, 7), stride=2)
    assert fpa.master[0].kernel_size == (1, 1)
    assert [d[0].kernel_size for d in fpa.down] == [(7, 7), (5, 5), (3, 3)]  # largest at the finest level
    assert all(d[0].stride == (2, 2) for d in fpa.down)
    assert fpa(torch.randn(2, 16, 21)).shape == (2, 8, 21)  # odd sizes: upsampling restores N exactly
    feature = FeaturePyramidAttention(out_channels=6, kernel_sizes=[1, 3, 5], kernel_shape="feature")
    assert [d[0].kernel_size for d in feature.down] == [(1, 5), (1, 3)]
    assert feature(torch.randn(2, 10, 9)).shape == (2, 6, 9)


def test_fpa_output_is_the_master_branch_gated_by_the_attention_map() -> None:
    torch.manual_seed(0)
    fpa = FeaturePyramidAttention(out_channels=8).double().eval()
    x = _features()
    with torch.no_grad():
        for lateral in fpa.lateral:  # attention map -> 0 everywhere: only the global branch is left
            lateral[0].weight.zero_()
            lateral[1].bias.zero_()
        gated_off = fpa(x)
    # without the attention every point gets the same (image-level) value: the gate carries all point detail
    torch.testing.assert_close(gated_off, gated_off[:, :, :1].expand_as(gated_off))
    assert FeaturePyramidAttention(out_channels=8).double().eval()(x).std(dim=2).max() > 1e-3


def test_fpa_combines_resolutions_so_its_reach_exceeds_the_largest_kernel() -> None:
    torch.manual_seed(0)
    # cascade 7 -> 5 -> 3 at strides 2, 4, 8 (the global branch, which sees everything, left out)
    assert _influence_along_points(FeaturePyramidAttention(out_channels=8, global_branch=False)) > 20
    # the parallel reading sees one strided kernel (and its bilinear neighbour) at most
    assert _influence_along_points(ParallelStridedPyramid(out_channels=8)) <= 7


@pytest.mark.parametrize("variant", ["fpa", "parallel"])
def test_feature_kernels_are_permutation_equivariant_and_square_ones_are_not(variant: str) -> None:
    x = _features()
    perm = torch.randperm(24, generator=torch.Generator().manual_seed(1))

    def gap(kernel_shape: str) -> float:
        torch.manual_seed(0)
        pan = build_pyramid_attention(variant, 8, (1, 3, 5, 7), 2, kernel_shape).double().eval()
        return (pan(x[:, :, perm]) - pan(x)[:, :, perm]).abs().max().item()

    assert gap("feature") < 1e-12
    # k x k kernels mix each point with its neighbours *in storage order*, which is arbitrary for a point
    # cloud (§3.3's "adjacent points"): reordering the points changes every point's output
    assert gap("square") > 1e-3


@pytest.mark.parametrize(
    ("variant", "kwargs"),
    [
        ("parallel", {"out_channels": 30}),
        ("fpa", {"out_channels": 0}),
        ("fpa", {"kernel_shape": "round"}),
        ("parallel", {"stride": 0}),
        ("fpa", {"kernel_sizes": [3]}),
        ("fpa", {"kernel_sizes": []}),
        ("pyramid", {}),
    ],
)
def test_bad_pan_options_are_user_errors(variant: str, kwargs: dict) -> None:
    args = {"out_channels": 8, "kernel_sizes": (1, 3, 5, 7), "stride": 2, "kernel_shape": "square"} | kwargs
    with pytest.raises(UserError):
        build_pyramid_attention(variant, **args)
