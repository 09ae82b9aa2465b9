"""SiamFCOnline in Lightning's test loop: weights reset per sequence, OPE metrics and outputs in the run dir."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image

from datamodules.tracking.datamodule import TrackingDataModule
from lightning_modules.components.siamfc_ops import centre_to_otb, otb_to_centre
from lightning_modules.siamfc import SiamFCOnline


def _textured_sequence(root: Path, name: str, frames: int, seed: int) -> None:
    """A smooth random texture panning 4 px per frame; the box follows the same content."""
    g = torch.Generator().manual_seed(seed)
    texture = torch.nn.functional.interpolate(
        torch.rand(1, 3, 40, 60, generator=g), size=(200, 300), mode="bilinear"
    )
    folder = root / "OTB" / name
    (folder / "img").mkdir(parents=True)
    rows = []
    for t in range(frames):
        frame = torch.roll(texture[0], shifts=4 * t, dims=2)
        Image.fromarray((frame.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(
            folder / "img" / f"{t + 1:04d}.png"
        )
        rows.append(f"{121 + 4 * t},81,40,30")
    (folder / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")


class RecordingTracker(SiamFCOnline):
    """Keeps a fingerprint of the backbone right after each sequence's reset."""

    def start_sequence(self) -> None:
        super().start_sequence()
        self.fingerprints = [*getattr(self, "fingerprints", []), self._fingerprint()]

    def _fingerprint(self) -> float:
        return float(sum(p.detach().double().sum() for p in self.network.parameters()))


def test_every_sequence_starts_from_the_same_weights_and_is_scored(tmp_path: Path) -> None:
    for s in range(2):
        _textured_sequence(tmp_path, f"Pan{s}", frames=4, seed=s)
    dm = TrackingDataModule(str(tmp_path), benchmark="folders", sequences=["Pan0", "Pan1"])
    dm.setup("test")
    torch.manual_seed(0)
    online = {"confidence_threshold": 0.0, "zero_loss_threshold": 0.0, "iterations": 2}
    module = RecordingTracker(
        optimizer=partial(torch.optim.SGD, lr=0.05, momentum=0.9),
        backbone={"name": "siamfc_alexnet", "weights": "random"},
        online=online,
        overlay_frames=2,
    )
    module.configure_for_data(dm.describe())
    trainer = pl.Trainer(
        default_root_dir=tmp_path / "run", inference_mode=False, logger=False, enable_progress_bar=False
    )
    metrics = trainer.test(module, datamodule=dm, verbose=False)[0]
    adapted = module._fingerprint()
    assert len(module.fingerprints) == 2
    assert module.fingerprints[0] == module.fingerprints[1]  # sequence 2 did not inherit sequence 1's updates
    assert adapted != module.fingerprints[0]  # online training did change the network
    assert 0 < module.tracker.stats["steps"] <= 2 * 3 * 2  # 2 sequences x 3 tracked frames x 2 iterations
    assert 0.0 <= metrics["test/success_auc"] <= 20 / 21 and metrics["test/fps"] > 0
    assert {"test/success_auc_Pan0", "test/success_auc_Pan1"} <= metrics.keys()
    assert metrics["test/online_steps_per_frame"] == module.tracker.stats["steps"] / 6
    run = tmp_path / "run"
    assert (run / "ope.png").is_file() and (run / "overlays" / "Pan1.png").is_file()
    boxes = np.loadtxt(run / "boxes" / "Pan0.txt", delimiter=",")
    assert boxes.shape == (4, 4) and boxes[0].tolist() == [121.0, 81.0, 40.0, 30.0]


def test_box_conventions_round_trip() -> None:
    box = torch.tensor([121.0, 81.0, 40.0, 30.0])  # OTB: 1-based x, y, w, h
    centre = otb_to_centre(box)
    torch.testing.assert_close(centre, torch.tensor([139.5, 94.5, 40.0, 30.0]))
    torch.testing.assert_close(centre_to_otb(centre), box)
