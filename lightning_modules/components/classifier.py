"""A classification LightningModule around an injected network: loss, OA / mean-class accuracy, predictions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MaxMetric, MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from lightning_modules.components.base import ZooModule


def accuracy_metrics(num_classes: int) -> MetricCollection:
    """Overall accuracy (micro) and mean class accuracy (macro), the two columns of point-cloud tables."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes=num_classes, average="micro"),
            "macc": MulticlassAccuracy(num_classes=num_classes, average="macro"),
        }
    )


class ClassifierModule(ZooModule):
    """Cross-entropy classification of ``batch[input_key]`` into ``batch[target_key]`` with a config-built ``net``.

    Logs ``{train,val,test}/{loss,acc,macc}`` and ``val/acc_best``; ``predict_step`` returns per-sample predictions.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
        label_smoothing: float = 0.0,
        input_key: str = "points",
        target_key: str = "label",
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval)
        self.save_hyperparameters(logger=False, ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.train_metrics = accuracy_metrics(num_classes).clone(prefix="train/")
        self.val_metrics = accuracy_metrics(num_classes).clone(prefix="val/")
        self.test_metrics = accuracy_metrics(num_classes).clone(prefix="test/")
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # saved in checkpoints, so a resumed run keeps its best

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)

    def _shared_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        logits = self(batch[self.hparams.input_key])
        target = batch[self.hparams.target_key]
        loss = F.cross_entropy(logits, target, label_smoothing=self.hparams.label_smoothing)
        return loss, logits, target

    def _update(self, stage: str, loss_metric: MeanMetric, metrics: MetricCollection, batch: dict) -> Tensor:
        loss, logits, target = self._shared_step(batch)
        loss_metric(loss)
        metrics(logits, target)
        self.log(f"{stage}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=stage != "test")
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")
        return loss

    def on_train_start(self) -> None:
        # The sanity check fills validation metrics; start the real run from a clean slate.
        self.val_loss.reset()
        self.val_metrics.reset()
        self.val_acc_best.reset()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._update("train", self.train_loss, self.train_metrics, batch)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._update("val", self.val_loss, self.val_metrics, batch)

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_metrics["acc"].compute())
        # Logged as a value, not the metric object, so Lightning does not reset it each epoch.
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._update("test", self.test_loss, self.test_metrics, batch)

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        probs = self(batch[self.hparams.input_key]).softmax(dim=-1)
        confidence, prediction = probs.max(dim=-1)
        out = {"pred": prediction, "confidence": confidence}
        for key in ("index", self.hparams.target_key):
            if key in batch:
                out["target" if key == self.hparams.target_key else key] = batch[key]
        return out
