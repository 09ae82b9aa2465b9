"""SiamFC inference geometry and the online-training gate, on frames whose true motion is known."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.siamfc_backbones import build_siamfc_network
from lightning_modules.components.siamfc_tracker import InferenceConfig, OnlineConfig, SiamFCTracker
from zoo.errors import UserError


def _texture(seed: int = 0) -> torch.Tensor:
    """A smooth random colour texture (features of random networks still localise it)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 30, 40, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(240, 320), mode="bilinear")[0]


def _tracker(online: OnlineConfig, inference: InferenceConfig | None = None) -> SiamFCTracker:
    torch.manual_seed(0)
    backbone = build_siamfc_network("siamfc_alexnet").eval()
    return SiamFCTracker(backbone, inference, online=online)


def _sgd(tracker: SiamFCTracker) -> torch.optim.Optimizer:
    return torch.optim.SGD(tracker.network.parameters(), lr=1e-2, momentum=0.9)


@pytest.mark.parametrize("shift", [(0, 0), (9, -6), (-14, 4)])
def test_tracking_a_translated_frame_recovers_the_translation(shift: tuple[int, int]) -> None:
    frame = _texture()
    # no Hann window: its motion prior would (rightly) pull the estimate towards no displacement
    tracker = _tracker(OnlineConfig(enabled=False), InferenceConfig(window_influence=0.0))
    box = torch.tensor([160.0, 120.0, 40.0, 30.0])  # (cx, cy, w, h)
    tracker.initialise(frame, box)
    moved = torch.roll(frame, shifts=(shift[1], shift[0]), dims=(1, 2))
    found = tracker.track(moved)
    assert (found[:2] - (box[:2] + torch.tensor(shift, dtype=torch.float32))).abs().max() < 1.5, found
    assert (found[2:] / box[2:] - 1).abs().max() < 0.05  # no scale change on a pure translation


def _parameters(tracker: SiamFCTracker) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in tracker.network.parameters()])


def test_online_training_runs_only_above_the_confidence_threshold() -> None:
    frame, moved = _texture(1), torch.roll(_texture(1), shifts=(3, 5), dims=(1, 2))
    box = torch.tensor([150.0, 110.0, 36.0, 36.0])
    never = _tracker(OnlineConfig(confidence_threshold=1.0, zero_loss_threshold=0.0))
    before = _parameters(never)
    never.initialise(frame, box, _sgd(never))
    never.track(moved)
    assert torch.equal(_parameters(never), before) and never.stats["updates"] == 0
    always = _tracker(OnlineConfig(confidence_threshold=0.0, zero_loss_threshold=0.0, iterations=2))
    always.initialise(frame, box, _sgd(always))
    template = always.template.clone()
    always.track(moved)
    assert always.stats["updates"] == 1 and always.stats["steps"] == 2
    assert not torch.equal(_parameters(always), before)  # SGD moved the network
    assert not torch.equal(always.template, template)  # eq. 10 moved R_t


def test_a_high_zero_loss_threshold_trains_nothing_but_still_updates_the_template() -> None:
    tracker = _tracker(OnlineConfig(confidence_threshold=0.0, zero_loss_threshold=1e6))
    before = _parameters(tracker)
    tracker.initialise(_texture(2), torch.tensor([150.0, 110.0, 36.0, 36.0]), _sgd(tracker))
    tracker.track(_texture(2))
    assert torch.equal(_parameters(tracker), before) and tracker.stats["steps"] == 0
    assert tracker.stats["updates"] == 1


def test_bad_online_options_are_paragraphs() -> None:
    backbone = build_siamfc_network("siamfc_alexnet")
    with pytest.raises(UserError, match="optimiser"):
        SiamFCTracker(backbone, online=OnlineConfig(enabled=True)).initialise(
            _texture(), torch.tensor([150.0, 110.0, 36.0, 36.0])
        )
    with pytest.raises(UserError):
        SiamFCTracker(backbone, online=OnlineConfig(enabled=False, normalisation="l2"))
    with pytest.raises(UserError):
        SiamFCTracker(backbone, online=OnlineConfig(enabled=False, score_map="full"))
