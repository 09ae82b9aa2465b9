"""SiamFC's offline pair training (Bertinetto et al. 2016, methods.md §6): the similarity the tracker matches with.

Each batch holds pairs of frames of one object; the model crops the exemplar (127, context 0.5·(w + h)) and the
search region (255, the same scale) around the boxes, with SiamFC's random stretch of the search crop, and fits
the 17 × 17 cross-correlation response to the 13-cell diamond labels with the balanced logistic loss. SGD with
momentum 0.9, weight decay 5e-4, the learning rate decayed exponentially 1e-2 → 1e-5 over the epochs.

At the end of training the network's weights (feature extractor and response adjust) are written atomically to
``<run dir>/siamfc_backbone.pt``, the file the tracker takes as ``model.backbone.weights``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch.optim import Optimizer

from lightning_modules.components import siamfc_ops as ops
from lightning_modules.components.base import ZooModule
from lightning_modules.components.siamfc_backbones import network_from_config
from zoo.io import atomic_torch_save

log = logging.getLogger(__name__)
EXPORT_NAME = "siamfc_backbone.pt"


class SiamFCPairTraining(ZooModule):
    """Trains a SiamFC feature extractor on exemplar / search pairs (``datamodules.tracking.pairs``)."""

    def __init__(
        self,
        optimizer: Callable[..., Optimizer],
        backbone: Mapping[str, Any],
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
        exemplar_size: int = 127,
        instance_size: int = 255,
        context: float = 0.5,
        stretch: float = 0.05,
        positive_radius: float = 16.0,
        stride: int = 8,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, scheduler_interval=scheduler_interval)
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        self.network = network_from_config(backbone)
        self.exemplar_size, self.instance_size = int(exemplar_size), int(instance_size)
        self.context, self.stretch = float(context), float(stretch)
        self.register_buffer("labels", ops.diamond_labels(17, positive_radius, stride), persistent=False)

    def _crops(
        self, frames: list[torch.Tensor], boxes: torch.Tensor, size: int, jitter: float
    ) -> torch.Tensor:
        """One crop per pair (frames differ in size, so one ``roi_align`` call per frame)."""
        centred = ops.otb_to_centre(boxes)
        centres, wh = centred[:, :2], centred[:, 2:]
        sides = ops.context_size(wh, self.context) * size / self.exemplar_size
        if jitter > 0:
            sides = sides * (1 + jitter * (2 * torch.rand(len(sides), device=sides.device) - 1))
        return torch.cat(
            [
                ops.crop_and_resize(
                    frame.to(self.device).float() / 255, centres[i : i + 1], sides[i : i + 1], size
                )
                for i, frame in enumerate(frames)
            ]
        )

    def _responses(self, batch: dict[str, Any], jitter: float) -> torch.Tensor:
        z = self._crops(batch["z_frame"], batch["z_box"], self.exemplar_size, 0.0)
        x = self._crops(batch["x_frame"], batch["x_box"], self.instance_size, jitter)
        return self.network.response(self.network(z), self.network(x))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = ops.balanced_logistic_loss(self._responses(batch, self.stretch), self.labels)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["z_frame"]))
        return loss

    def _evaluate(self, batch: dict[str, Any], stage: str) -> None:
        responses = self._responses(batch, 0.0)
        n = len(batch["z_frame"])
        self.log(f"{stage}/loss", ops.balanced_logistic_loss(responses, self.labels), batch_size=n)
        peaks = responses.flatten(1).argmax(dim=1)
        hit = self.labels.flatten()[peaks]  # the response's maximum inside the 13 positive cells
        self.log(f"{stage}/peak_hit", hit.float().mean(), batch_size=n)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_train_end(self) -> None:
        if self.trainer.is_global_zero:
            path = Path(self.trainer.default_root_dir) / EXPORT_NAME
            atomic_torch_save(self.network.state_dict(), path)
            log.info("SiamFC network written to %s (use it as model.backbone.weights)", path)
