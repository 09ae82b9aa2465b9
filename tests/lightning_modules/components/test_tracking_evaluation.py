"""OPETrackingModule through Lightning's test loop: a tracker that replays the ground truth scores OPE's oracle
(success 20/21, precision 1.0) overall, per sequence and per attribute; fps times ``track`` alone; outputs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image

from datamodules.tracking.datamodule import TrackingDataModule
from lightning_modules.components.base import SolverModule
from lightning_modules.components.tracking_evaluation import OPETrackingModule


def moving_square_sequence(
    root: Path, name: str, frames: int, step: tuple[int, int] = (3, 2), attributes: str = ""
) -> np.ndarray:
    """An OTB folder: a textured 24 px square moving ``step`` px per frame over a textured background.

    Returns the OTB boxes (1-based x, y, w, h) written to ``groundtruth_rect.txt``.
    """
    rng = np.random.default_rng(len(name))
    background = (rng.uniform(0, 1, (12, 16, 3)) * 120).astype(np.uint8)
    background = np.asarray(Image.fromarray(background).resize((160, 120), Image.BILINEAR))
    square = (rng.uniform(0, 1, (24, 24, 3)) * 135 + 120).astype(np.uint8)
    folder = root / "OTB" / name
    (folder / "img").mkdir(parents=True)
    boxes = []
    for t in range(frames):
        x0, y0 = 30 + step[0] * t, 40 + step[1] * t  # 0-based top-left pixel
        image = background.copy()
        image[y0 : y0 + 24, x0 : x0 + 24] = square
        Image.fromarray(image).save(folder / "img" / f"{t + 1:04d}.png")
        boxes.append([x0 + 1, y0 + 1, 24, 24])
    (folder / "groundtruth_rect.txt").write_text("\n".join(",".join(map(str, b)) for b in boxes) + "\n")
    if attributes:
        (folder / "attrs.txt").write_text(attributes + "\n")
    return np.array(boxes, dtype=np.float64)


def datamodule(root: Path, names: list[str]) -> TrackingDataModule:
    dm = TrackingDataModule(str(root), benchmark="folders", sequences=names)
    dm.setup("test")
    return dm


def run_test_stage(module: pl.LightningModule, dm: TrackingDataModule, run_dir: Path) -> dict[str, float]:
    module.configure_for_data(dm.describe())
    trainer = pl.Trainer(default_root_dir=run_dir, logger=False, enable_progress_bar=False)
    return trainer.test(module, datamodule=dm, verbose=False)[0]


class ReplayTracker(OPETrackingModule, SolverModule):
    """Returns the ground truth it was given; ``prepare`` and ``track`` sleep to check what fps times."""

    def __init__(self, truth: list[np.ndarray], prepare_s: float = 0.0, track_s: float = 0.0, **kw: Any):
        super().__init__(**kw)
        self.truth, self.prepare_s, self.track_s = truth, prepare_s, track_s
        self.sequence, self.index = -1, 0

    @property
    def weights_description(self) -> str:
        return "none (the ground truth)"

    @property
    def solver_budget(self) -> str:
        return "none"

    def prepare(self, frame: torch.Tensor) -> torch.Tensor:
        time.sleep(self.prepare_s)
        return frame

    def start(self, frame: Any, box: torch.Tensor) -> None:
        self.sequence, self.index = self.sequence + 1, 0
        np.testing.assert_array_equal(box.cpu().numpy(), self.truth[self.sequence][0])

    def track(self, frame: Any) -> np.ndarray:
        time.sleep(self.track_s)
        self.index += 1
        return self.truth[self.sequence][self.index]

    def tracker_metrics(self) -> dict[str, float]:
        return {"test/replayed": float(self.index)}


def test_a_tracker_that_returns_the_ground_truth_scores_the_oracle(tmp_path: Path) -> None:
    truth = [
        moving_square_sequence(tmp_path, "Left", 5, attributes="SV, FM"),
        moving_square_sequence(tmp_path, "Down", 4, step=(0, 4), attributes="FM"),
    ]
    module = ReplayTracker(truth, overlay_frames=3)
    metrics = run_test_stage(module, datamodule(tmp_path, ["Left", "Down"]), tmp_path / "run")
    for key in ("", "_Left", "_Down", "_FM", "_SV"):
        assert abs(metrics[f"test/success_auc{key}"] - 20 / 21) < 1e-6, key
    assert metrics["test/precision_20"] == 1.0 and metrics["test/precision_20_FM"] == 1.0
    assert (
        metrics["test/replayed"] == 3.0 and metrics["test/fps"] > 0
    )  # the tracker's own metric, last sequence
    run = tmp_path / "run"
    assert (run / "ope.png").is_file() and (run / "overlays" / "Down.png").is_file()
    np.testing.assert_allclose(np.loadtxt(run / "boxes" / "Left.txt", delimiter=","), truth[0])


def test_fps_times_track_and_not_the_frame_conversion(tmp_path: Path) -> None:
    truth = [moving_square_sequence(tmp_path, "Left", 4)]
    module = ReplayTracker(truth, prepare_s=0.05, track_s=0.01, overlay_frames=0)
    metrics = run_test_stage(module, datamodule(tmp_path, ["Left"]), tmp_path / "run")
    assert 25 < metrics["test/fps"] <= 100  # 1 / 0.01 s at most; 1 / 0.06 s if prepare were timed
    assert not (tmp_path / "run" / "overlays").exists()


def test_a_limited_test_scores_the_frames_it_saw(tmp_path: Path) -> None:
    truth = [moving_square_sequence(tmp_path, "Left", 6)]
    module = ReplayTracker(truth, overlay_frames=0)
    dm = datamodule(tmp_path, ["Left"])
    module.configure_for_data(dm.describe())
    trainer = pl.Trainer(
        default_root_dir=tmp_path / "run", logger=False, enable_progress_bar=False, limit_test_batches=3
    )
    metrics = trainer.test(module, datamodule=dm, verbose=False)[0]
    assert abs(metrics["test/success_auc"] - 20 / 21) < 1e-6
    assert np.loadtxt(tmp_path / "run" / "boxes" / "Left.txt", delimiter=",").shape == (3, 4)


def test_a_tracker_that_collapses_its_box_is_scored_and_drawn(tmp_path: Path) -> None:
    """OpenCV's KCF can shrink a box to nothing: it scores zero overlap, and the overlay still draws it."""
    truth = [moving_square_sequence(tmp_path, "Left", 4)]
    collapsed = truth[0].copy()
    collapsed[1:, 2:] = 0.0
    module = ReplayTracker([collapsed], overlay_frames=4)
    module.start = lambda frame, box: setattr(module, "sequence", 0) or setattr(module, "index", 0)
    metrics = run_test_stage(module, datamodule(tmp_path, ["Left"]), tmp_path / "run")
    assert abs(metrics["test/success_auc"] - 1 / 4 * 20 / 21) < 1e-6  # only the first (ground-truth) frame
    assert (tmp_path / "run" / "overlays" / "Left.png").is_file()
