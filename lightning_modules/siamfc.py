"""SiamFC with online training (Ma et al., ICONIP 2019) as a test-time-optimising LightningModule.

The test loop streams frames sequence by sequence (``datamodules.tracking``). At each sequence's first frame the
module restores the weights the test started from and a fresh optimiser (``TestTimeModule.start_sequence``), so
no sequence learns from another; then ``SiamFCTracker`` tracks (and, with ``online.enabled``, adapts) frame by
frame. At the end: one-pass evaluation (``components.ope``), overall and per OTB attribute, the success /
precision plot, each sequence's boxes in OTB's text format, and a strip of frames with predicted (red) and
ground-truth (green) boxes per sequence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.optim import Optimizer

from lightning_modules.components import ope
from lightning_modules.components.base import TestTimeModule
from lightning_modules.components.siamfc_backbones import network_from_config
from lightning_modules.components.siamfc_ops import centre_to_otb, otb_to_centre
from lightning_modules.components.siamfc_tracker import InferenceConfig, OnlineConfig, SiamFCTracker
from zoo.errors import UserError, check_choice
from zoo.io import atomic_write_text
from zoo.loggers import log_image_file, write_figure

log = logging.getLogger(__name__)


class SiamFCOnline(TestTimeModule):
    """SiamFC tracker (one backbone of Table 1) with or without online training; scored by OPE."""

    needs_data = True

    def __init__(
        self,
        optimizer: Callable[..., Optimizer],
        backbone: Mapping[str, Any],
        inference: Mapping[str, Any] | None = None,
        online: Mapping[str, Any] | None = None,
        protocol: str = "got10k",
        overlay_frames: int = 6,
    ) -> None:
        super().__init__(optimizer=optimizer)
        self.save_hyperparameters(logger=False, ignore=["optimizer"])
        check_choice(protocol, tuple(ope.PROTOCOLS), "model.protocol", "OPE protocol")
        self.protocol = ope.PROTOCOLS[protocol]
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
        self.overlay_frames = int(overlay_frames)

    @property
    def weights_description(self) -> str:
        """Which weights ran (stored in the record through the module's metrics log)."""
        return self.network.weights

    def build_for_data(self, description: dict[str, Any]) -> None:
        self.sequence_names = list(description["sequences"])
        self.lengths = [int(n) for n in description["lengths"]]
        self.attributes = {k: tuple(v) for k, v in description["attributes"].items()}

    def on_test_epoch_start(self) -> None:
        self.predictions = [np.zeros((n, 4)) for n in self.lengths]
        self.ground_truth = [np.zeros((n, 4)) for n in self.lengths]
        self.seen = [0] * len(self.lengths)  # frames tracked per sequence (a limited test stops early)
        self.track_seconds, self.tracked_frames = 0.0, 0
        self.strips: dict[int, list[np.ndarray]] = {}
        self.tracker.stats = {"frames": 0, "updates": 0, "steps": 0}

    def _shown(self, sequence: int, index: int) -> bool:
        n = self.lengths[sequence]
        picks = np.linspace(0, n - 1, min(self.overlay_frames, n)).round().astype(int)
        return self.overlay_frames > 0 and index in picks

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        s, i = int(batch["sequence"][0]), int(batch["index"][0])
        frame = batch["frame"][0].to(self.device).float() / 255
        truth = batch["box"][0].to(self.device).float()
        if i == 0:
            self.start_sequence()
            optimizer = self.test_time_optimizer if self.tracker.online.enabled else None
            self.tracker.initialise(frame, otb_to_centre(truth), optimizer)
            box = truth
        else:
            started = time.perf_counter()
            with self.test_time_gradients():
                box = centre_to_otb(self.tracker.track(frame))
            self.track_seconds += time.perf_counter() - started
            self.tracked_frames += 1
        self.predictions[s][i] = box.detach().cpu().numpy()
        self.ground_truth[s][i] = truth.cpu().numpy()
        self.seen[s] = i + 1
        if self._shown(s, i):
            self.strips.setdefault(s, []).append(self._overlay(batch["frame"][0], box, truth))

    def on_test_epoch_end(self) -> None:
        ran = [s for s, n in enumerate(self.seen) if n]
        if not ran:
            return
        scores = ope.evaluate_sequences(
            [self.predictions[s][: self.seen[s]] for s in ran],
            [self.ground_truth[s][: self.seen[s]] for s in ran],
            [self.sequence_names[s] for s in ran],
            self.protocol,
        )
        overall = ope.summarise(scores)
        self.log("test/success_auc", overall.auc)
        self.log("test/precision_20", overall.precision)
        self.log("test/fps", self.tracked_frames / max(self.track_seconds, 1e-9))
        frames = max(self.tracker.stats["frames"], 1)
        self.log("test/online_update_rate", self.tracker.stats["updates"] / frames)
        # eq. 5 can zero the loss of an update (below T_l): the SGD steps actually taken, per tracked frame
        self.log("test/online_steps_per_frame", self.tracker.stats["steps"] / frames)
        for name, auc in zip(scores.names, scores.success_curves.mean(axis=1), strict=True):
            self.log(f"test/success_auc_{name}", float(auc))
        attributes = {name: self.attributes[name] for name in scores.names}
        for tag, summary in ope.summarise_by_attribute(scores, attributes).items():
            self.log(f"test/success_auc_{tag}", summary.auc)
            self.log(f"test/precision_20_{tag}", summary.precision)
        if self.trainer.is_global_zero:
            self._write_outputs(Path(self.trainer.default_root_dir), overall, ran)

    # -- outputs ----------------------------------------------------------------------------------------------
    def _overlay(self, frame: torch.Tensor, box: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
        image = Image.fromarray(frame.permute(1, 2, 0).cpu().numpy())
        draw = ImageDraw.Draw(image)
        for (x, y, w, h), colour in ((truth.tolist(), (0, 200, 0)), (box.tolist(), (230, 0, 0))):
            draw.rectangle([x - 1, y - 1, x + w - 2, y + h - 2], outline=colour, width=2)
        image.thumbnail((240, 240))
        return np.asarray(image)

    def _write_outputs(self, run_dir: Path, overall: ope.OPESummary, ran: list[int]) -> None:
        label = f"SiamFC {self.network.weights.split(':')[0]}" + (
            " OT" if self.tracker.online.enabled else ""
        )
        plot = ope.plot_ope(run_dir / "ope.png", {label: overall}, title=", ".join(overall.sequences))
        log_image_file(self.loggers, "test/ope", plot)
        for s in ran:
            name = self.sequence_names[s]
            rows = "\n".join(",".join(f"{v:.2f}" for v in box) for box in self.predictions[s][: self.seen[s]])
            atomic_write_text(run_dir / "boxes" / f"{name.replace('/', '_')}.txt", rows + "\n")
        for s, tiles in self.strips.items():
            self._write_strip(run_dir / "overlays" / f"{self.sequence_names[s].replace('/', '_')}.png", tiles)
        log.info(
            "OPE plot, boxes/ and overlays/ written to %s (weights: %s)", run_dir, self.weights_description
        )

    def _write_strip(self, path: Path, tiles: list[np.ndarray]) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(2.4 * len(tiles), 2.2), dpi=100)
        FigureCanvasAgg(figure)
        for k, tile in enumerate(tiles):
            ax = figure.add_subplot(1, len(tiles), k + 1)
            ax.imshow(tile)
            ax.axis("off")
        figure.suptitle(f"{path.stem}: ground truth (green), tracker (red)", fontsize=9)
        write_figure(path, figure)
