"""The base LightningModule: optimiser and schedule come from config as partials, so papers only write steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
from torch.optim import Optimizer


class ZooModule(pl.LightningModule):
    """Common optimiser wiring; a method that does not train (FPCA) passes ``optimizer=None``.

    GAN-style modules with several optimisers override ``configure_optimizers``.
    """

    def __init__(
        self,
        optimizer: Callable[..., Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store hyperparameters as plain containers: ``torch.load(weights_only=True)`` rejects OmegaConf types."""
        from omegaconf import OmegaConf

        if "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"] = OmegaConf.to_container(
                OmegaConf.create(dict(checkpoint["hyper_parameters"]))
            )

    @property
    def trains(self) -> bool:
        """Whether ``run.py task=fit`` has anything to optimise."""
        return self.optimizer_factory is not None

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            return None
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval},
        }
