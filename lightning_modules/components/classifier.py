"""A classification LightningModule around an injected network: loss, metrics named in config, predictions.

Metrics (``metrics: [...]`` in the model config, ``CLASSIFICATION_METRICS``), each logged as
``{train,val,test}/<name>``:

  * ``acc`` overall accuracy (micro), ``macc`` mean class accuracy (macro recall); ``balanced_acc`` is
    ``macc`` under the name medical tables use.
  * ``precision``, ``specificity``, ``recall``, ``f1``, ``auroc``: one-vs-rest for ``positive_class``
    (malignant = 1 for the ultrasound data), read from the softmax probability of that class at 0.5, which
    for two classes is the argmax prediction. These are FAN's eq. 6 (TP/FP/TN/FN of its Table 1).
  * ``confusion``: the confusion matrix, logged at each epoch end as ``<stage>/cm_<true>_<pred>`` counts
    (not a tensor: loggers take scalars).

PyramNet's configs name none, so they keep ``acc`` and ``macc`` and ``val/acc_best`` as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MaxMetric, MeanMetric, Metric, MetricCollection
from torchmetrics.classification import (
    BinaryAUROC,
    BinaryF1Score,
    BinaryPrecision,
    BinaryRecall,
    BinarySpecificity,
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
)

from lightning_modules.components.base import ZooModule
from zoo.errors import UserError


class _OnPositiveClass:
    """Feeds a binary torchmetrics metric ``(logits [B, K], target [B])``: P(positive) vs ``target == positive``.

    A subclass, not a wrapper around a metric instance: the metric's own states then accumulate over the
    epoch under ``forward`` (a wrapper holding no states of its own is reset by ``forward`` to its last batch).
    """

    def __init__(self, positive_class: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positive_class = int(positive_class)

    def update(self, logits: Tensor, target: Tensor) -> None:
        probability = logits.float().softmax(dim=-1)[:, self.positive_class]
        super().update(probability, (target == self.positive_class).long())


class PositiveClassPrecision(_OnPositiveClass, BinaryPrecision):
    """Precision of ``positive_class`` (eq. 6)."""


class PositiveClassSpecificity(_OnPositiveClass, BinarySpecificity):
    """Specificity of ``positive_class`` (eq. 6)."""


class PositiveClassRecall(_OnPositiveClass, BinaryRecall):
    """Recall (sensitivity) of ``positive_class`` (eq. 6)."""


class PositiveClassF1(_OnPositiveClass, BinaryF1Score):
    """F1 of ``positive_class`` (eq. 6)."""


class PositiveClassAUROC(_OnPositiveClass, BinaryAUROC):
    """ROC AUC of the ``positive_class`` probability."""


BINARY_METRICS: dict[str, type[Metric]] = {
    "precision": PositiveClassPrecision,
    "specificity": PositiveClassSpecificity,
    "recall": PositiveClassRecall,
    "f1": PositiveClassF1,
    "auroc": PositiveClassAUROC,
}
CLASSIFICATION_METRICS = ("acc", "macc", "balanced_acc", *BINARY_METRICS, "confusion")


def classification_metrics(
    num_classes: int, names: Sequence[str] = ("acc", "macc"), positive_class: int = 1
) -> MetricCollection:
    """The scalar metrics ``names`` (``confusion`` excluded: see ``confusion_matrix``) as one collection."""
    unknown = sorted(set(names) - set(CLASSIFICATION_METRICS))
    if unknown or not names:
        raise UserError(
            f"unknown classification metrics {unknown}" if unknown else "no classification metric named",
            where="model.metrics",
            fix=f"choose from {', '.join(CLASSIFICATION_METRICS)}",
        )
    if not 0 <= int(positive_class) < int(num_classes):
        raise UserError(
            f"positive_class must be a class index below {num_classes}, got {positive_class}",
            where="model.positive_class",
            fix="e.g. 1 (malignant) for benign / malignant",
        )
    metrics: dict[str, Metric] = {}
    for name in names:
        if name == "acc":
            metrics[name] = MulticlassAccuracy(num_classes=num_classes, average="micro")
        elif name in ("macc", "balanced_acc"):
            metrics[name] = MulticlassAccuracy(num_classes=num_classes, average="macro")
        elif name in BINARY_METRICS:
            metrics[name] = BINARY_METRICS[name](positive_class=positive_class)
    return MetricCollection(metrics)


def accuracy_metrics(num_classes: int) -> MetricCollection:
    """Overall accuracy (micro) and mean class accuracy (macro), the two columns of point-cloud tables."""
    return classification_metrics(num_classes, ("acc", "macc"))


class ClassifierModule(ZooModule):
    """Cross-entropy classification of ``batch[input_key]`` into ``batch[target_key]`` with a config-built ``net``.

    Logs ``{train,val,test}/loss``, each of ``metrics`` (module docstring) and ``val/acc_best`` (the best
    validation value of the first metric); ``predict_step`` returns per-sample predictions.
    ``class_weights``: ``None`` (plain cross-entropy), a list (one weight per class), or ``"data"``: the
    datamodule's ``describe()["class_weights"]`` (the module then declares ``needs_data``).
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
        metrics: Sequence[str] = ("acc", "macc"),
        positive_class: int = 1,
        class_weights: Sequence[float] | str | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval)
        self.save_hyperparameters(logger=False, ignore=["net", "optimizer", "scheduler"])
        self.net = net
        names = [str(m) for m in metrics]
        scalar = [m for m in names if m != "confusion"]
        base = classification_metrics(int(num_classes), scalar, positive_class)
        self.selection_metric = scalar[0]
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.train_metrics = base.clone(prefix="train/")
        self.val_metrics = base.clone(prefix="val/")
        self.test_metrics = base.clone(prefix="test/")
        self.confusion = (
            nn.ModuleDict(
                {f"{s}_cm": MulticlassConfusionMatrix(int(num_classes)) for s in ("train", "val", "test")}
            )
            if "confusion" in names
            else None
        )
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # saved in checkpoints, so a resumed run keeps its best
        self.needs_data = class_weights == "data"  # an instance-level declaration, read by the pipeline
        weights = None if class_weights in (None, "data") else [float(w) for w in class_weights]
        if isinstance(class_weights, str) and class_weights != "data":
            raise UserError(
                f"class_weights must be null, a list of weights or 'data', got {class_weights!r}",
                where="model.class_weights",
                fix="class_weights=data takes the datamodule's (data.balance=weights), or give one per class",
            )
        self._set_class_weights(weights)

    def _set_class_weights(self, weights: Sequence[float] | None) -> None:
        if weights is not None and len(weights) != int(self.hparams.num_classes):
            raise UserError(
                f"{len(weights)} class weights for {self.hparams.num_classes} classes",
                where="model.class_weights",
                fix="give one weight per class",
            )
        tensor = None if weights is None else torch.tensor([float(w) for w in weights])
        if "class_weight" in self._buffers:
            self._buffers["class_weight"] = tensor
        else:
            self.register_buffer("class_weight", tensor, persistent=False)

    def build_for_data(self, description: dict[str, Any]) -> None:
        if int(description.get("num_classes", self.hparams.num_classes)) != int(self.hparams.num_classes):
            raise UserError(
                f"the data has {description['num_classes']} classes, the model {self.hparams.num_classes}",
                where="model.num_classes",
                fix="set model.num_classes to the data's",
            )
        if self.hparams.class_weights == "data":
            self._set_class_weights(description["class_weights"])

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)

    def logits(self, batch: dict[str, Tensor]) -> Tensor:
        """The network's logits for a batch (subclasses pass more of the batch, e.g. dataset indices)."""
        return self(batch[self.hparams.input_key])

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        weight = None if self.class_weight is None else self.class_weight.to(logits)
        return F.cross_entropy(logits, target, weight=weight, label_smoothing=self.hparams.label_smoothing)

    def _shared_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        logits = self.logits(batch)
        target = batch[self.hparams.target_key]
        return self.loss(logits, target), logits, target

    def _record(
        self,
        stage: str,
        loss_metric: MeanMetric,
        metrics: MetricCollection,
        loss: Tensor,
        logits: Tensor,
        target: Tensor,
    ) -> None:
        loss_metric(loss)
        metrics(logits, target)
        if self.confusion is not None:
            self.confusion[f"{stage}_cm"].update(logits.argmax(dim=-1), target)
        self.log(f"{stage}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=stage != "test")
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")

    def _update(self, stage: str, loss_metric: MeanMetric, metrics: MetricCollection, batch: dict) -> Tensor:
        loss, logits, target = self._shared_step(batch)
        self._record(stage, loss_metric, metrics, loss, logits, target)
        return loss

    def _log_confusion(self, stage: str) -> None:
        if self.confusion is None or self.confusion[f"{stage}_cm"].confmat.sum() == 0:
            return
        matrix = self.confusion[f"{stage}_cm"].compute()
        for true, row in enumerate(matrix.tolist()):
            for pred, count in enumerate(row):
                self.log(f"{stage}/cm_{true}_{pred}", float(count))
        self.confusion[f"{stage}_cm"].reset()

    def on_train_start(self) -> None:
        # The sanity check fills validation metrics; start the real run from a clean slate.
        self.val_loss.reset()
        self.val_metrics.reset()
        self.val_acc_best.reset()
        if self.confusion is not None:
            self.confusion["val_cm"].reset()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._update("train", self.train_loss, self.train_metrics, batch)

    def on_train_epoch_end(self) -> None:
        self._log_confusion("train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._update("val", self.val_loss, self.val_metrics, batch)

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_metrics[self.selection_metric].compute())
        # Logged as a value, not the metric object, so Lightning does not reset it each epoch.
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)
        self._log_confusion("val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._update("test", self.test_loss, self.test_metrics, batch)

    def on_test_epoch_end(self) -> None:
        self._log_confusion("test")

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        probs = self.logits(batch).softmax(dim=-1)
        confidence, prediction = probs.max(dim=-1)
        out = {"pred": prediction, "confidence": confidence}
        for key in ("index", self.hparams.target_key):
            if key in batch:
                out["target" if key == self.hparams.target_key else key] = batch[key]
        return out
