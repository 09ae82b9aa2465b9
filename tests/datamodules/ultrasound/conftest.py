"""Fixtures for the ultrasound data tests: the real shared folder, and synthetic DDTI-like frames and folders.

A synthetic frame imitates DDTI's layout: a black 500 × 315 frame with text, tick marks and a ruler line on it,
around a speckled scan area holding one bright nodule, whose mask is written the DDTI way (green fill, red
contour line). Each frame gets its own low-frequency texture and nodule place, so no two are near-duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

FRAME = (315, 500)
SCAN_BOX = (40, 60, 300, 440)  # top, left, bottom, right (exclusive) of the synthetic scan area


@pytest.fixture(scope="package")
def ultrasound_dir(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "ultrasound"
    if not (root / "DDTI" / "label.txt").is_file():
        pytest.skip(f"{root} has no DDTI folder")
    return root


@dataclass
class Frame:
    rgb: np.ndarray  # uint8 [H, W, 3]
    mask: np.ndarray  # bool [H, W]
    box: tuple[int, int, int, int]


def synthetic_frame(
    seed: int,
    box: tuple[int, int, int, int] = SCAN_BOX,
    shape: tuple[int, int] = FRAME,
    panels: int = 1,
) -> Frame:
    """A frame with text and borders around a scan area (``panels`` side by side, 20 px apart) and a nodule."""
    rng = np.random.default_rng(seed)
    height, width = shape
    top, left, bottom, right = box
    grey = np.zeros(shape, dtype=np.float32)
    texture = ndimage.gaussian_filter(rng.normal(size=(bottom - top, right - left)), 12)
    texture = 90 + 40 * texture / (np.abs(texture).max() + 1e-6)
    grey[top:bottom, left:right] = texture + rng.uniform(-25, 25, size=texture.shape)
    if panels == 2:
        middle = (left + right) // 2
        grey[top:bottom, middle - 10 : middle + 10] = 0  # the dark gap between two views
    mask = np.zeros(shape, dtype=bool)
    cy = int(rng.integers(top + 50, bottom - 50))
    cx = int(rng.integers(left + 50, (left + right) // 2 - 40 if panels == 2 else right - 50))
    ry, rx = int(rng.integers(15, 35)), int(rng.integers(20, 40))
    yy, xx = np.ogrid[:height, :width]
    mask[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = True
    grey[mask] = 235
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.text((4, 2), "0", fill=(255, 255, 255))  # depth digits and a machine label, outside the scan
    draw.text((4, height - 14), "5", fill=(255, 255, 255))
    draw.text((right + 8, 6), "T  ACME-UX 42", fill=(230, 230, 230))
    draw.line([(left, top - 20), (right, top - 20)], fill=(200, 200, 200))  # a ruler line above the scan
    for y in range(top, bottom, 20):  # tick dots on the left
        draw.rectangle([left - 12, y, left - 10, y + 2], fill=(255, 255, 255))
    return Frame(np.asarray(image), mask, box)


def mask_rgb(mask: np.ndarray) -> np.ndarray:
    """A DDTI-style mask: green filled nodule, red one-pixel contour."""
    rgb = np.zeros((*mask.shape, 3), dtype=np.uint8)
    rgb[mask, 1] = 255
    contour = mask & ~ndimage.binary_erosion(mask)
    rgb[contour] = (255, 0, 0)
    return rgb


def write_ddti(folder: Path, rows: list[tuple[str, str]], seed: int = 0) -> Path:
    """``folder`` as a DDTI copy: a synthetic image and mask per (id, TI-RADS) row, and ``label.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for k, (key, tirads) in enumerate(rows):
        frame = synthetic_frame(seed * 10_000 + k)
        Image.fromarray(frame.rgb).save(folder / f"{key}.a.jpg", quality=95)
        Image.fromarray(mask_rgb(frame.mask)).save(folder / f"{key}.b.jpg", quality=95)
        lines.append(f"{key},na,solid,None,None,None,{tirads},F,40")
    (folder / "label.txt").write_text("\n".join(lines) + "\n")
    return folder


def toy_rows(cases: int = 30, seed: int = 0) -> list[tuple[str, str]]:
    """``cases`` cases of 1–3 images each, about one benign case in four (DDTI's imbalance), a few ungraded."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(1, cases + 1):
        tirads = "3" if case % 4 == 0 else "4b"
        for n in range(1, int(rng.integers(1, 4)) + 1):
            rows.append((f"{case}_{n}", "None" if case % 10 == 7 else tirads))
    return rows
