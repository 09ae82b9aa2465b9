"""Fixtures for the loop-closure data tests: the real shared folder, and synthetic frames in public layouts.

Synthetic frames are tiny images whose colour encodes their frame number, so a test can tell from the pixels
which file landed at which position of the sequence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image


@pytest.fixture(scope="package")
def loopclosure_dir(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "loopclosure"
    if not (root / "ground_truth" / "original_mat").is_dir():
        pytest.skip(f"{root} has no loop-closure ground truth")
    return root


@pytest.fixture(scope="package")
def lip6_images(loopclosure_dir: Path) -> Path:
    folder = loopclosure_dir / "Lip6Outdoor" / "images"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder


def frame_pixels(number: int, size: tuple[int, int] = (6, 8)) -> np.ndarray:
    """A flat RGB frame whose red value is ``number % 256`` and green ``number // 256`` (exact in PNG)."""
    rgb = np.zeros((*size, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = number % 256, number // 256, 128
    return rgb


def write_frames(folder: Path, names: list[str], size: tuple[int, int] = (6, 8)) -> list[Path]:
    """One synthetic frame per name (the k-th name gets frame number k), in whatever format the suffix says."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, name in enumerate(names):
        Image.fromarray(frame_pixels(k, size)).save(folder / name)
        paths.append(folder / name)
    return paths


def band_matrix(n: int, gap: int, width: int = 1) -> np.ndarray:
    """A lower-triangular 0/1 matrix: frame i revisits frames i-gap … i-gap-width+1."""
    rows, cols = np.indices((n, n))
    return ((rows - cols >= gap) & (rows - cols < gap + width)).astype(np.uint8)


def write_mat(path: Path, matrix: np.ndarray, variable: str = "truth") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {variable: matrix})
    return path
