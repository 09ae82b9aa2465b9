import pytest
import torch
from torch import nn

from zoo.callbacks import BatchNormMomentumSchedule, EpochSeeding, epoch_seed, step_decayed_momentum


class FakeTrainer:
    def __init__(self, epoch: int) -> None:
        self.current_epoch, self.global_rank = epoch, 0


def test_epoch_seeding_depends_only_on_seed_and_epoch() -> None:
    callback = EpochSeeding(seed=3)
    callback.on_train_epoch_start(FakeTrainer(5), None)
    first = torch.rand(4)
    torch.rand(100)  # whatever happened in between
    callback.on_train_epoch_start(FakeTrainer(5), None)
    assert torch.equal(first, torch.rand(4))
    callback.on_train_epoch_start(FakeTrainer(6), None)
    assert not torch.equal(first, torch.rand(4))
    assert epoch_seed(3, 5) != epoch_seed(4, 5)


@pytest.mark.parametrize(("epoch", "expected"), [(0, 0.5), (19, 0.5), (20, 0.25), (40, 0.125), (300, 0.001)])
def test_pointnet_bn_momentum_schedule(epoch: int, expected: float) -> None:
    assert step_decayed_momentum(epoch, 0.5, 0.5, 20, 0.001) == pytest.approx(expected)


def test_bn_schedule_sets_every_batchnorm() -> None:
    net = nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4), nn.BatchNorm2d(2))
    net.log = lambda *args, **kwargs: None
    BatchNormMomentumSchedule().on_train_epoch_start(FakeTrainer(20), net)
    assert [m.momentum for m in net if isinstance(m, nn.modules.batchnorm._BatchNorm)] == [0.25, 0.25]
