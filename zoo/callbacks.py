"""Callbacks every paper can reuse: epoch-keyed seeding, gloo teardown, and BatchNorm momentum schedules."""

from __future__ import annotations

import math
import random

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn


def epoch_seed(base_seed: int, epoch: int) -> int:
    """A 32-bit seed that depends only on (run seed, epoch)."""
    return (base_seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**32)


class EpochSeeding(pl.Callback):
    """Reseed every RNG at the start of each training epoch from (seed, epoch).

    Why: shuffling, augmentation and dropout of epoch e then depend on nothing that happened before, so a
    run resumed from a checkpoint at the end of epoch e-1 replays epoch e exactly as the uninterrupted run did
    (Lightning draws the shuffle permutation lazily, after ``on_train_epoch_start``).
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.seed is None:
            return
        seed = epoch_seed(int(self.seed) + trainer.global_rank, trainer.current_epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device


class DestroyProcessGroup(pl.Callback):
    """Tear down a gloo process group that Lightning leaves alive, avoiding the SIGABRT at CPU-DDP exit."""

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def step_decayed_momentum(
    epoch: int, initial: float, rate: float, decay_epochs: float, minimum: float
) -> float:
    """PointNet's BN schedule in PyTorch terms: momentum = 1 - TF decay, halved every ``decay_epochs``."""
    return max(minimum, initial * rate ** math.floor(epoch / decay_epochs))


class BatchNormMomentumSchedule(pl.Callback):
    """Set the momentum of every BatchNorm layer at each epoch start (a pure function of the epoch: resume-safe).

    The PointNet-style recipe (PyramNet §3.4: "decay rate for batch normalization starts with 0.5 and is gradually
    increased to 0.999") is TF decay 0.5 → 0.999, i.e. PyTorch momentum 0.5 → 0.001, halved every 200k samples
    (≈ 20 epochs of ModelNet40's 9,843 training shapes).
    """

    def __init__(
        self, initial: float = 0.5, rate: float = 0.5, decay_epochs: float = 20, minimum: float = 0.001
    ):
        self.initial, self.rate, self.decay_epochs, self.minimum = initial, rate, decay_epochs, minimum

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        momentum = step_decayed_momentum(
            trainer.current_epoch, self.initial, self.rate, self.decay_epochs, self.minimum
        )
        for module in pl_module.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = momentum
        pl_module.log("train/bn_momentum", momentum, on_step=False, on_epoch=True)
