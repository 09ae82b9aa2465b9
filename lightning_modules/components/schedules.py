"""Learning-rate schedules that torch lacks as a single configurable class."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class StepDecayLR(LambdaLR):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs, never below ``min_lr``.

    PointNet's recipe (used by PyramNet, §3.4): lr 1e-3 decayed by 0.7 every 200k samples (≈ 20 ModelNet40
    epochs), clipped at 1e-5; ``StepLR`` has no floor.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float, min_lr: float = 0.0) -> None:
        base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.step_size, self.gamma, self.min_lr = step_size, gamma, min_lr
        super().__init__(
            optimizer,
            [lambda epoch, lr0=lr0: max(min_lr / lr0, gamma ** (epoch // step_size)) for lr0 in base_lrs],
        )
