"""One-pass evaluation (OPE) of a single-object tracker inside Lightning's test loop, whatever the tracker.

Why one base: SiamFC (learnt, adapting online) and the OpenCV baselines (CSRT, KCF) must be streamed, timed,
scored and drawn by the same code, so their records compare like with like. The test loop streams frames
sequence by sequence (``datamodules.tracking``: batch keys ``sequence``, ``index``, ``frame`` uint8 CHW RGB,
``box`` OTB x, y, w, h). A tracker implements ``start`` (first frame and its ground-truth box) and ``track`` (every
later frame to a box); this class keeps every prediction and ground truth, times ``track``, and at the end logs
the OPE scores overall, per sequence and per OTB attribute, and writes the success / precision plot (ope.png),
each sequence's boxes in OTB's text format (boxes/<seq>.txt) and a strip of frames with predicted (red) and
ground-truth (green) boxes per sequence (overlays/<seq>.png).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from lightning_modules.components import ope
from lightning_modules.components.base import ZooModule
from zoo.errors import check_choice
from zoo.io import atomic_write_text
from zoo.loggers import log_image_file, write_figure

log = logging.getLogger(__name__)


class OPETrackingModule(ZooModule):
    """A tracker scored by OPE; subclasses implement ``start`` and ``track`` (and may ``prepare`` frames).

    It declares no fit kind of its own: a tracker names this class first and its kind's base second, e.g.
    ``class SiamFCOnline(OPETrackingModule, TestTimeModule)`` or ``class OpenCVTracker(OPETrackingModule,
    SolverModule)``; ``__init__`` passes the remaining keyword arguments on to that base.
    """

    needs_data = True

    def __init__(self, protocol: str = "got10k", overlay_frames: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_choice(protocol, tuple(ope.PROTOCOLS), "model.protocol", "OPE protocol")
        self.protocol = ope.PROTOCOLS[protocol]
        self.overlay_frames = int(overlay_frames)

    # -- what a tracker implements ----------------------------------------------------------------------------
    def prepare(self, frame: torch.Tensor) -> Any:
        """The frame (uint8 CHW RGB) in the tracker's own form; untimed, so fps measures tracking alone."""
        return frame

    def start(self, frame: Any, box: torch.Tensor) -> None:
        """Initialise on a sequence's first frame (``prepare``'s output) and its ground-truth OTB box."""
        raise NotImplementedError

    def track(self, frame: Any) -> torch.Tensor | np.ndarray:
        """The OTB box (x, y, w, h, 1-based) of the target in the next frame; OPE needs one every frame."""
        raise NotImplementedError

    def tracker_metrics(self) -> dict[str, float]:
        """Metrics of the tracker's own (e.g. online update rates), logged next to the OPE scores."""
        return {}

    @property
    def tracker_label(self) -> str:
        """The tracker's name in the OPE plot's legend."""
        return type(self).__name__

    @property
    def weights_description(self) -> str:
        """Which weights ran (named in the log next to the outputs): a file, a download, or none."""
        raise NotImplementedError

    # -- Lightning hooks --------------------------------------------------------------------------------------
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

    def _shown(self, sequence: int, index: int) -> bool:
        n = self.lengths[sequence]
        picks = np.linspace(0, n - 1, min(self.overlay_frames, n)).round().astype(int)
        return self.overlay_frames > 0 and index in picks

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        s, i = int(batch["sequence"][0]), int(batch["index"][0])
        truth = batch["box"][0].to(self.device).float()
        frame = self.prepare(batch["frame"][0])
        if i == 0:
            self.start(frame, truth)
            box = truth.cpu().numpy()
        else:
            started = time.perf_counter()
            predicted = self.track(frame)
            self.track_seconds += time.perf_counter() - started
            self.tracked_frames += 1
            box = np.asarray(
                predicted.detach().cpu() if isinstance(predicted, torch.Tensor) else predicted,
                dtype=np.float64,
            )
        self.predictions[s][i] = box
        self.ground_truth[s][i] = truth.cpu().numpy()
        self.seen[s] = i + 1
        if self._shown(s, i):
            self.strips.setdefault(s, []).append(
                self._overlay(batch["frame"][0], self.predictions[s][i], self.ground_truth[s][i])
            )

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
        for name, value in self.tracker_metrics().items():
            self.log(name, value)
        for name, auc in zip(scores.names, scores.success_curves.mean(axis=1), strict=True):
            self.log(f"test/success_auc_{name}", float(auc))
        attributes = {name: self.attributes[name] for name in scores.names}
        for tag, summary in ope.summarise_by_attribute(scores, attributes).items():
            self.log(f"test/success_auc_{tag}", summary.auc)
            self.log(f"test/precision_20_{tag}", summary.precision)
        if self.trainer.is_global_zero:
            self._write_outputs(Path(self.trainer.default_root_dir), overall, ran)

    # -- outputs ----------------------------------------------------------------------------------------------
    def _overlay(self, frame: torch.Tensor, box: np.ndarray, truth: np.ndarray) -> np.ndarray:
        image = Image.fromarray(frame.permute(1, 2, 0).cpu().numpy())
        draw = ImageDraw.Draw(image)
        for (x, y, w, h), colour in ((truth.tolist(), (0, 200, 0)), (box.tolist(), (230, 0, 0))):
            # a collapsed box (a tracker that shrank its target to nothing) is still drawn, as a point
            draw.rectangle(
                [x - 1, y - 1, x - 1 + max(w - 1, 0), y - 1 + max(h - 1, 0)], outline=colour, width=2
            )
        image.thumbnail((240, 240))
        return np.asarray(image)

    def _write_outputs(self, run_dir: Path, overall: ope.OPESummary, ran: list[int]) -> None:
        plot = ope.plot_ope(
            run_dir / "ope.png", {self.tracker_label: overall}, title=", ".join(overall.sequences)
        )
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
