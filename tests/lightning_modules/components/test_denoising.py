from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_modules.components.denoising import relative_error, side_by_side
from zoo.loggers import write_figure


def test_relative_error() -> None:
    clean = torch.ones(2, 4, 4)
    assert relative_error(clean * 1.1, clean).tolist() == pytest.approx([0.1, 0.1])


def test_side_by_side_figure_is_a_png(tmp_path: Path) -> None:
    image = np.random.default_rng(0).random((16, 16))
    results = [{"psnr": 30.0, "psnr_noisy": 20.0}]
    path = write_figure(tmp_path / "fig.png", side_by_side([("a", image, image, image)], results, "X"))
    assert path.read_bytes()[:4] == b"\x89PNG"
