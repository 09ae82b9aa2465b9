"""PyramNet: Table-1 variants build and run, channel bookkeeping, permutation invariance, and it can learn."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from lightning_modules.components.point_ops import GraphEmbeddingModule
from lightning_modules.pyramnet import PyramNet
from zoo.errors import UserError

TINY = {
    "stem_channels": (8,),
    "mid_channels": (8, 16),
    "head_channels": (32,),
    "fc_channels": (16,),
    "pan_out_channels": 8,
}
VARIANTS = {  # Table 1 rows
    "baseline": {"use_gem": False, "use_pan": False},
    "baseline+pan": {"use_gem": False, "use_pan": True},
    "baseline+gem": {"use_gem": True, "use_pan": False},
    "pyramnet": {"use_gem": True, "use_pan": True},
}


def _cloud(b: int = 3, n: int = 64, f: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, n, f, generator=torch.Generator().manual_seed(seed))


def _gem_inputs(net: PyramNet, points: torch.Tensor) -> dict[str, int]:
    """Channel count each GEM receives during one forward pass, via forward hooks."""
    seen: dict[str, int] = {}
    hooks = [
        m.register_forward_hook(lambda _m, args, _out, name=name: seen.__setitem__(name, args[0].shape[1]))
        for name, m in net.named_modules()
        if isinstance(m, GraphEmbeddingModule)
    ]
    net(points)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("gem_k", [None, 20, 30])
def test_logits_shape_for_every_table1_variant(variant: str, gem_k: int | None) -> None:
    net = PyramNet(num_classes=7, gem_k=gem_k, **TINY, **VARIANTS[variant])
    logits = net(_cloud())
    assert logits.shape == (3, 7) and torch.isfinite(logits).all()


@pytest.mark.parametrize(
    ("variant", "shortcut", "head_in"),
    [
        ("baseline", True, 16 + 8),
        ("baseline+pan", True, 16 + 8 + 8),
        ("baseline+gem", True, 2 * 16 + 8),
        ("pyramnet", True, 2 * (16 + 8) + 8),
        ("pyramnet", False, 2 * (16 + 8)),
    ],
)
def test_channel_counts_follow_the_flags(variant: str, shortcut: bool, head_in: int) -> None:
    net = PyramNet(shortcut=shortcut, **TINY, **VARIANTS[variant])
    assert net.head[0].in_channels == head_in
    assert net.top[0].in_channels == (16 if VARIANTS[variant]["use_gem"] else 8)
    assert net.point_features(_cloud()).shape == (3, head_in, 64)


def test_paper_default_widths_second_gem_sees_544_channels_and_k_136() -> None:
    net = PyramNet()
    seen = _gem_inputs(net, _cloud(b=2, n=140))  # N > 136 so that k = ceil(544/4) neighbours exist
    assert seen == {"gem1": 32, "gem2": 544}
    assert net.gem1.resolve_k(seen["gem1"]) == 8 and net.gem2.resolve_k(seen["gem2"]) == 136
    assert net.head[0].in_channels == 1088 + 32  # GEM2 doubles 544, plus the stem shortcut
    assert net.classifier[-1].out_features == 40 and net.classifier[-2].p == pytest.approx(0.35)


def test_default_k_too_large_for_few_points_is_a_user_error() -> None:
    with pytest.raises(UserError, match="gem_k"):
        PyramNet()(_cloud(b=2, n=64))  # GEM2 wants 136 neighbours among 63


def test_hydra_listconfig_arguments_are_accepted() -> None:
    cfg = OmegaConf.create({k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()})
    net = PyramNet(**cfg, pan_kernel_sizes=OmegaConf.create([1, 3]))
    assert net(_cloud()).shape == (3, 40)


def test_wrong_feature_count_is_a_user_error() -> None:
    with pytest.raises(UserError, match="in_features"):
        PyramNet(**TINY)(_cloud(f=6))


@pytest.mark.parametrize(
    "kwargs",
    [
        VARIANTS["baseline"],
        VARIANTS["baseline+gem"],
        {"use_gem": True, "use_pan": True, "pan_kernel_shape": "feature"},
        {"use_gem": True, "use_pan": False, "gem_similarity": "euclidean"},
    ],
)
def test_eval_logits_are_invariant_to_point_order(kwargs: dict) -> None:
    torch.manual_seed(0)
    net = PyramNet(**TINY, **kwargs).double().eval()
    points = _cloud(n=48).double()
    perm = torch.randperm(48, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(net(points[:, perm]), net(points))


def test_square_pan_makes_logits_depend_on_point_order() -> None:
    """The paper's k x k PAN is not symmetric: documents why the invariance test uses feature kernels."""
    torch.manual_seed(0)
    net = PyramNet(**TINY, **VARIANTS["pyramnet"]).double().eval()
    points = _cloud(n=48).double()
    perm = torch.randperm(48, generator=torch.Generator().manual_seed(1))
    assert (net(points[:, perm]) - net(points)).abs().max() > 1e-6


def test_a_few_adam_steps_reduce_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    net = PyramNet(num_classes=4, dropout=0.0, gem_k=4, **TINY)
    points, labels = _cloud(b=8, n=32), torch.arange(8) % 4
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(points), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
