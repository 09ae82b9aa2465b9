"""Fixtures shared by the tracking readers' tests: the real shared data, and small sequence folders to break."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(scope="package")
def tracking_dir(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "tracking"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


def write_frames(folder: Path, numbers: range, digits: int = 4) -> None:
    """Tiny JPEGs named like the benchmark's frames (the readers only list them)."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (8, 8))
    for number in numbers:
        image.save(folder / f"{number:0{digits}d}.jpg")


def make_otb_folder(
    root: Path,
    name: str = "Toy",
    frames: int = 5,
    ground_truth: str | None = None,
    attrs: str | None = "SV, OCC",
) -> Path:
    """``root/<name>/`` with ``frames`` images and (by default) one comma-separated box per frame."""
    folder = root / name
    write_frames(folder / "img", range(1, frames + 1))
    if ground_truth is None:
        ground_truth = "".join(f"{10 + i},20,30,40\n" for i in range(frames))
    (folder / "groundtruth_rect.txt").write_text(ground_truth)
    if attrs is not None:
        (folder / "attrs.txt").write_text(attrs + "\n")
    return folder
