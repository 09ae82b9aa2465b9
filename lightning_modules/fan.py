"""FAN's training and evaluation (Li et al., ICONIP 2019, §4): a ``ClassifierModule`` with CAMs at test time.

``FANClassifier`` trains FAN (``components.fan``) or any Table 2 baseline (``components.classifier_backbones``)
with cross-entropy (optionally weighted by the training class counts, ``class_weights=data``), SGD with
momentum 0.9 at lr 0.01, ×0.1 every 100 epochs (§4.1; both from config). At test time it logs, beside the
eq. 6 metrics from config (``components.classifier``):

  * ``test/params``: the network's parameter count (Table 2's "#Params"; trainable and frozen alike).
  * For networks with a CAM (FAN): the CAM of the predicted class, upsampled to the input, scored against the
    DDTI nodule masks (only images with ``has_mask``): ``test/cam_energy_in_mask``, the mean share of the
    positive CAM mass inside the mask, and ``test/pointing_game``, the share of images whose CAM maximum lies
    inside the mask (``cam_localisation``).
  * ``cam_overlays.png`` in the run dir (logged as ``test/cam_overlays``): the first ``cam_figures`` test
    images in loader order (not shuffled, so the same images every run of a fold), CAM over the image, mask
    outline.

``LayoutBaseline`` is the shortcut check: logistic regression on the scan's layout alone
(``UltrasoundDataModule.layout_features``), scored with the same metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, SumMetric

from lightning_modules.components.base import SolverModule
from lightning_modules.components.classifier import ClassifierModule, classification_metrics
from lightning_modules.components.classifier_backbones import build_baseline, parameter_count
from zoo.errors import UserError
from zoo.loggers import publish_figure


def cam_localisation(cam: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: share of the positive CAM mass inside ``mask``, and whether the CAM maximum lies inside it.

    ``cam`` ``[B, H, W]`` (any scale), ``mask`` ``[B, H, W]`` or ``[B, 1, H, W]`` (nonzero = nodule). An image
    with no positive CAM mass scores 0 energy. Ties for the maximum: the first in row-major order.
    """
    mask = mask.reshape(cam.shape).bool()
    positive = cam.clamp_min(0).flatten(1)
    total = positive.sum(dim=1)
    inside = (positive * mask.flatten(1)).sum(dim=1)
    energy = torch.where(total > 0, inside / total.clamp_min(torch.finfo(positive.dtype).tiny), 0.0)
    peak = cam.flatten(1).argmax(dim=1)
    hit = mask.flatten(1).gather(1, peak[:, None]).squeeze(1).to(cam.dtype)
    return energy, hit


def mask_area_share(mask: Tensor) -> Tensor:
    """Per image, the share of pixels inside the mask: the localisation metrics' chance level (a uniform CAM's
    energy inside the mask, a random point's chance to fall in it)."""
    return mask.flatten(1).bool().float().mean(dim=1)


class BaselineNetwork(nn.Module):
    """A Table 2 baseline (``classifier_backbones.build_baseline``) as a class configs can name."""

    def __init__(self, name: str, num_classes: int = 2, weights: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self.body = build_baseline(name, num_classes, weights, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class FANClassifier(ClassifierModule):
    """FAN or a baseline on ``batch["image"]``; see the module docstring for what the test stage logs."""

    needs_data = True  # class weights (``class_weights=data``) and the previous-epoch store's size

    def __init__(
        self,
        net: nn.Module,
        num_classes: int = 2,
        *,
        metrics: Sequence[str] = ("acc", "precision", "specificity", "recall", "f1"),
        cam_figures: int = 4,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("input_key", "image")
        super().__init__(net, num_classes, metrics=metrics, **kwargs)
        self.needs_data = True
        self.cam_figures = int(cam_figures)
        self.has_cam = hasattr(net, "forward_with_cam")
        self.cam_energy, self.pointing_game, self.mask_share = MeanMetric(), MeanMetric(), MeanMetric()
        self.masked_images = SumMetric()
        self._figure_items: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]] = []

    def build_for_data(self, description: dict[str, Any]) -> None:
        super().build_for_data(description)
        if getattr(self.net, "reading", None) == "previous_epoch" and getattr(
            self.net, "use_attention", False
        ):
            counts = description["split"]["counts"]
            self.net.build_store(sum(sum(c) for c in counts.values()))  # indices run over every image

    def _net_kwargs(self, batch: dict[str, Tensor]) -> dict[str, Any]:
        if getattr(self.net, "reading", None) == "previous_epoch":
            return {"index": batch["index"], "epoch": int(self.current_epoch)}
        return {}

    def logits(self, batch: dict[str, Tensor]) -> Tensor:
        return self.net(batch[self.hparams.input_key], **self._net_kwargs(batch))

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        if not self.has_cam:
            super().test_step(batch, batch_idx)
            return
        image, target = batch[self.hparams.input_key], batch[self.hparams.target_key]
        out = self.net.forward_with_cam(image, **self._net_kwargs(batch))
        self._record(
            "test", self.test_loss, self.test_metrics, self.loss(out.logits, target), out.logits, target
        )
        predicted = out.logits.argmax(dim=1)
        cams = self.net.cam_at_input(
            out.cam[torch.arange(len(predicted), device=predicted.device), predicted][:, None]
        )
        cams = cams[:, 0]  # [B, H, W]
        has_mask = batch["has_mask"].bool()
        if has_mask.any():
            energy, hit = cam_localisation(cams[has_mask], batch["mask"][has_mask])
            self.cam_energy.update(energy)
            self.pointing_game.update(hit)
            self.mask_share.update(mask_area_share(batch["mask"][has_mask]))
            self.masked_images.update(has_mask.sum())
        for i in range(min(len(image), self.cam_figures - len(self._figure_items))):
            self._figure_items.append(
                (
                    image[i].float().mean(dim=0).cpu().numpy(),
                    cams[i].float().cpu().numpy(),
                    batch["mask"][i].reshape(cams.shape[-2:]).float().cpu().numpy(),
                    int(target[i]),
                    int(predicted[i]),
                )
            )

    def on_test_epoch_end(self) -> None:
        super().on_test_epoch_end()
        self.log("test/params", float(parameter_count(self.net)))
        if not self.has_cam:
            return
        if (
            self.masked_images.update_count and self.masked_images.compute() > 0
        ):  # no masks (UD-TN): no update
            self.log("test/cam_energy_in_mask", self.cam_energy.compute())
            self.log("test/pointing_game", self.pointing_game.compute())
            self.log("test/mask_area_share", self.mask_share.compute())
        for metric in (self.cam_energy, self.pointing_game, self.mask_share, self.masked_images):
            metric.reset()
        if self._figure_items and self.trainer.is_global_zero and not self.trainer.sanity_checking:
            publish_figure(self, "cam_overlays.png", cam_figure(self._figure_items), key="test/cam_overlays")
        self._figure_items = []


def cam_figure(items: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]) -> Any:
    """One panel per image: the grey image, the CAM (min-max scaled) in jet over it, the mask outline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(items), figsize=(3 * len(items), 3.2), squeeze=False)
    for ax, (grey, cam, mask, label, predicted) in zip(axes[0], items, strict=True):
        span = cam.max() - cam.min()
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        ax.imshow((cam - cam.min()) / span if span > 0 else cam * 0, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        if mask.any():
            ax.contour(mask, levels=[0.5], colors="white", linewidths=1)
        ax.set_title(f"label {label}, predicted {predicted}", fontsize=9)
        ax.axis("off")
    return figure


class LayoutBaseline(SolverModule):
    """Logistic regression on the scan's layout only (``layout_features``): nothing to train by SGD.

    Fitted on the datamodule's training part when the test stage starts (scikit-learn, ``C`` and
    ``class_weight`` from config), then each test batch is scored by dataset index with the eq. 6 metrics.
    """

    def __init__(
        self,
        num_classes: int = 2,
        metrics: Sequence[str] = ("acc", "precision", "specificity", "recall", "f1"),
        positive_class: int = 1,
        C: float = 1.0,
        class_weight: str | None = None,
        max_iter: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.test_metrics = classification_metrics(int(num_classes), list(metrics), positive_class).clone(
            prefix="test/"
        )
        self._logits: Tensor | None = None
        self.mask_share = (
            MeanMetric()
        )  # the CAM metrics' chance level on this fold (FANClassifier's docstring)

    @property
    def solver_budget(self) -> str:
        return f"logistic regression, C={self.hparams.C}"

    def on_test_start(self) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "layout_features"):
            raise UserError(
                "the layout baseline reads the datamodule's layout features",
                where="data",
                fix="use data=ddti (datamodules.ultrasound.UltrasoundDataModule)",
            )
        train_x, train_y, _ = datamodule.layout_features("train")
        if len(np.unique(train_y)) < 2:
            raise UserError(
                "the training part holds one class only; logistic regression needs both",
                where="data.fold / data.num_folds",
                fix="use the full DDTI folds",
            )
        model = make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=float(self.hparams.C),
                class_weight=self.hparams.class_weight,
                max_iter=int(self.hparams.max_iter),
            ),
        ).fit(train_x, train_y)
        test_x, _, _ = datamodule.layout_features("test")
        log_probability = np.log(np.clip(model.predict_proba(test_x), 1e-12, 1.0))
        logits = torch.full((int(datamodule.parts["test"].max()) + 1, log_probability.shape[1]), float("nan"))
        logits[torch.as_tensor(datamodule.parts["test"])] = torch.as_tensor(
            log_probability, dtype=torch.float32
        )
        self._logits = logits

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits = self._logits[batch["index"].cpu()].to(self.device)
        if torch.isnan(logits).any():
            raise RuntimeError("a test batch carries an index outside the test part")
        self.test_metrics.update(logits, batch["label"])
        has_mask = batch.get("has_mask")
        if has_mask is not None and has_mask.bool().any():
            has_mask = has_mask.bool()
            self.mask_share.update(mask_area_share(batch["mask"][has_mask]))

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()
        if self.mask_share.update_count:
            self.log("test/mask_area_share", self.mask_share.compute())
        self.mask_share.reset()
