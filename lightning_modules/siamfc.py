"""SiamFC with online training (Ma et al., ICONIP 2019) as a test-time-optimising LightningModule.

The test loop streams frames sequence by sequence (``datamodules.tracking``). At each sequence's first frame the
module restores the weights the test started from and a fresh optimiser (``TestTimeModule.start_sequence``), so
no sequence learns from another; then ``SiamFCTracker`` tracks (and, with ``online.enabled``, adapts) frame by
frame. Streaming, timing, one-pass evaluation (overall and per OTB attribute) and the outputs (success /
precision plot, boxes, overlay strips) are ``OPETrackingModule``'s, shared with the OpenCV baselines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.optim import Optimizer

from lightning_modules.components.base import TestTimeModule
from lightning_modules.components.siamfc_backbones import network_from_config
from lightning_modules.components.siamfc_ops import centre_to_otb, otb_to_centre
from lightning_modules.components.siamfc_tracker import InferenceConfig, OnlineConfig, SiamFCTracker
from lightning_modules.components.tracking_evaluation import OPETrackingModule
from zoo.errors import UserError


class SiamFCOnline(OPETrackingModule, TestTimeModule):
    """SiamFC tracker (one backbone of Table 1) with or without online training; scored by OPE."""

    def __init__(
        self,
        optimizer: Callable[..., Optimizer],
        backbone: Mapping[str, Any],
        inference: Mapping[str, Any] | None = None,
        online: Mapping[str, Any] | None = None,
        protocol: str = "got10k",
        overlay_frames: int = 6,
    ) -> None:
        super().__init__(optimizer=optimizer, protocol=protocol, overlay_frames=overlay_frames)
        self.save_hyperparameters(logger=False, ignore=["optimizer"])
        self.network = network_from_config(backbone)
        try:
            inference_cfg, online_cfg = InferenceConfig(**(inference or {})), OnlineConfig(**(online or {}))
        except TypeError as error:
            raise UserError(
                f"unknown SiamFC option: {error}",
                where="model.inference / model.online",
                fix="see conf/model/siamfc.yaml for the keys",
            ) from None
        self.tracker = SiamFCTracker(self.network, inference_cfg, online_cfg)

    @property
    def weights_description(self) -> str:
        return self.network.weights

    @property
    def tracker_label(self) -> str:
        return f"SiamFC {self.network.weights.split(':')[0]}" + (" OT" if self.tracker.online.enabled else "")

    def on_test_epoch_start(self) -> None:
        super().on_test_epoch_start()
        self.tracker.stats = {"frames": 0, "updates": 0, "steps": 0}

    def prepare(self, frame: torch.Tensor) -> torch.Tensor:
        return frame.to(self.device).float() / 255

    def start(self, frame: torch.Tensor, box: torch.Tensor) -> None:
        self.start_sequence()
        optimizer = self.test_time_optimizer if self.tracker.online.enabled else None
        self.tracker.initialise(frame, otb_to_centre(box), optimizer)

    def track(self, frame: torch.Tensor) -> torch.Tensor:
        with self.test_time_gradients():
            return centre_to_otb(self.tracker.track(frame))

    def tracker_metrics(self) -> dict[str, float]:
        frames = max(self.tracker.stats["frames"], 1)
        return {
            "test/online_update_rate": self.tracker.stats["updates"] / frames,
            # eq. 5 can zero the loss of an update (below T_l): the SGD steps actually taken, per tracked frame
            "test/online_steps_per_frame": self.tracker.stats["steps"] / frames,
        }
