"""The shared classification base: metrics named in config (eq. 6 on a known confusion matrix), confusion-matrix
logging, class weights in the loss, and PyramNet's defaults (acc, macc) unchanged."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.components.classifier import ClassifierModule, classification_metrics
from zoo.errors import UserError

# TP = 3, FN = 1, FP = 2, TN = 4 with positive class 1
TARGET = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
PRED = torch.tensor([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])


def _logits(pred: torch.Tensor) -> torch.Tensor:
    return F.one_hot(pred, 2).float() * 4.0 - 2.0


def test_eq6_metrics_on_a_known_confusion_matrix() -> None:
    names = ["acc", "precision", "specificity", "recall", "f1", "balanced_acc", "macc"]
    values = {k: float(v) for k, v in classification_metrics(2, names)(_logits(PRED), TARGET).items()}
    tp, fn, fp, tn = 3, 1, 2, 4
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert values["acc"] == pytest.approx((tp + tn) / 10)
    assert values["precision"] == pytest.approx(precision)
    assert values["specificity"] == pytest.approx(tn / (tn + fp))
    assert values["recall"] == pytest.approx(recall)
    # eq. 6's F1 = 2 · R · P / (R + P)
    assert values["f1"] == pytest.approx(2 * recall * precision / (recall + precision))
    assert values["balanced_acc"] == pytest.approx((recall + tn / (tn + fp)) / 2) == values["macc"]


def test_binary_metrics_accumulate_over_batches_under_forward() -> None:
    """Lightning calls ``forward`` per batch and ``compute`` at epoch end: the epoch value covers every batch."""
    metrics = classification_metrics(2, ["precision", "recall", "f1", "auroc", "acc"])
    whole = {
        k: float(v) for k, v in classification_metrics(2, list(metrics.keys()))(_logits(PRED), TARGET).items()
    }
    for part in torch.arange(10).split(3):
        metrics(_logits(PRED[part]), TARGET[part])
    assert {k: float(v) for k, v in metrics.compute().items()} == pytest.approx(whole)


def test_positive_class_swaps_the_roles() -> None:
    values = classification_metrics(2, ["precision", "recall"], positive_class=0)(_logits(PRED), TARGET)
    assert float(values["precision"]) == pytest.approx(4 / 5)  # TN / (TN + FN) seen from class 0
    assert float(values["recall"]) == pytest.approx(4 / 6)


def test_auroc_ranks_by_the_positive_probability() -> None:
    logits = torch.tensor([[0.0, 3.0], [0.0, 2.0], [0.0, 1.0], [0.0, -1.0]])
    value = classification_metrics(2, ["auroc"])(logits, torch.tensor([1, 0, 1, 0]))["auroc"]
    assert float(value) == pytest.approx(0.75)


@pytest.mark.parametrize("names", [["nope"], []])
def test_unknown_or_no_metric_is_a_user_error(names: list[str]) -> None:
    with pytest.raises(UserError, match="model.metrics"):
        classification_metrics(2, names)


def test_defaults_are_pyramnets_accuracy_pair() -> None:
    module = ClassifierModule(nn.Linear(3, 4), 4)
    assert set(module.test_metrics.keys()) == {"test/acc", "test/macc"} and module.confusion is None
    assert module.selection_metric == "acc" and not module.needs_data


def test_class_weights_reach_the_loss() -> None:
    logits, target = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 1])
    module = ClassifierModule(nn.Identity(), 2, class_weights=[1.0, 3.0])
    expected = F.cross_entropy(logits, target, weight=torch.tensor([1.0, 3.0]))
    assert module.loss(logits, target) == pytest.approx(float(expected))
    from_data = ClassifierModule(nn.Identity(), 2, class_weights="data")
    assert from_data.needs_data and from_data.class_weight is None
    from_data.configure_for_data({"num_classes": 2, "class_weights": [0.5, 2.0]})
    expected = F.cross_entropy(logits, target, weight=torch.tensor([0.5, 2.0]))
    assert from_data.loss(logits, target) == pytest.approx(float(expected))
    with pytest.raises(UserError, match="class weights"):
        ClassifierModule(nn.Identity(), 3, class_weights=[1.0, 2.0])


def test_confusion_matrix_is_logged_as_counts() -> None:
    module = ClassifierModule(nn.Identity(), 2, metrics=["acc", "confusion"], input_key="x")
    logged: dict[str, float] = {}
    module.log = lambda name, value, **_: logged.__setitem__(name, float(value))  # type: ignore[method-assign]
    module.confusion["test_cm"].update(PRED, TARGET)
    module.on_test_epoch_end()
    assert logged == {"test/cm_0_0": 4.0, "test/cm_0_1": 2.0, "test/cm_1_0": 1.0, "test/cm_1_1": 3.0}
    assert module.confusion["test_cm"].confmat.sum() == 0  # reset for the next epoch
