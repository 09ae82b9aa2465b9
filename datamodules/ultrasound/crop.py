"""The scan-area crop (FAN §4.1: the machine's text and borders removed, then 224 × 224) and layout features.

The paper removes the borders with a CNN of its earlier work; this is a documented image-processing rule
instead. The rule (``scan_area``), on the 8-bit grey image (ITU-R 601 luma):

1. *lit* pixels: the mean over a ``smooth``×``smooth`` window is above ``lit_level`` (10 of 255). Ultrasound
   speckle is lit even in dark tissue; the black frame around the scan is not (JPEG noise there stays < 6).
2. a morphological opening with a ``min_width``×``min_width`` square (15 px) removes every lit structure
   thinner than that: text, tick marks and depth scales, orientation glyphs, body-mark icons.
3. connected components of what is left: the largest is the scan area; components with at least
   ``panel_share`` (25 %) of its area are further panels of a dual view (DDTI has side-by-side images) and
   are kept too. The crop is the bounding box of the kept components (the whole image if nothing is lit),
4. trimmed: box rows and columns at its edges in which under ``edge_share`` (5 %) of the pixels are above
   ``lit_level`` themselves are dropped (the smoothing's halo of about ``smooth / 2`` px, black margins).

Lit structures closer to the scan than about ``smooth / 2`` px (a continuous ruler line touching it) merge
with it in step 1 and stay in the crop; DDTI's and UD-TN's tick marks are dots, and are removed.

What it cannot remove: marks drawn *on* the scan (DDTI's "T" orientation glyph near the top right, the depth
digits on full-frame images, UD-TN's caliper crosses and body-mark icons). Those stay in the crop.

``crop_and_resize`` applies one box to the image (bilinear, antialiased) and to its nodule mask (nearest), so
mask and image keep the same geometry; the aspect ratio is not kept (the paper scales to 224 × 224). Mask
pixels outside the scan area (annotators' contours running onto the black frame) are cut with it.

``layout_features`` describes an image by its acquisition layout only (where the scan area sits, its size,
grey level, what is drawn outside it): the inputs of the layout-only baseline that tells how far a classifier
can get without looking at the nodule. Everything is vectorised (numpy, scipy.ndimage); no per-pixel loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

CROP_VERSION = "scan-area-2"  # part of the cache key: bump when the rule or its defaults change


@dataclass(frozen=True)
class CropRule:
    """The crop rule's parameters (module docstring); the defaults were checked on all DDTI and UD-TN images."""

    lit_level: float = 10.0
    smooth: int = 7
    min_width: int = 15
    panel_share: float = 0.25
    edge_share: float = 0.05


@dataclass(frozen=True)
class ScanArea:
    """The crop box as ``top, left, bottom, right`` (bottom / right exclusive, pixels) and its panel count."""

    top: int
    left: int
    bottom: int
    right: int
    panels: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.top, self.left, self.bottom, self.right


def grey(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of uint8 ``[H, W, 3]`` as float32 in [0, 255] (what Pillow's ``convert("L")`` computes)."""
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def lit_pixels(luma: np.ndarray, rule: CropRule = CropRule()) -> np.ndarray:
    """Step 1 of the rule: bool ``[H, W]``, where the local mean grey level is above ``rule.lit_level``."""
    return ndimage.uniform_filter(luma, size=rule.smooth, mode="nearest") > rule.lit_level


def scan_area(rgb: np.ndarray, rule: CropRule = CropRule()) -> ScanArea:
    """The scan area of an image, by the rule of the module docstring."""
    height, width = rgb.shape[:2]
    luma = grey(rgb)
    lit = lit_pixels(luma, rule).astype(np.uint8)
    # opening with a square, as two separable rank filters (erosion then dilation)
    opened = ndimage.maximum_filter(
        ndimage.minimum_filter(lit, size=rule.min_width, mode="nearest"), size=rule.min_width, mode="nearest"
    )
    labels, count = ndimage.label(opened)
    if count == 0:
        return ScanArea(0, 0, height, width, 0)
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(sizes >= rule.panel_share * sizes.max()) + 1
    kept = np.isin(labels, keep)
    rows, cols = np.flatnonzero(kept.any(axis=1)), np.flatnonzero(kept.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    bright = luma[top:bottom, left:right] > rule.lit_level
    rows = np.flatnonzero(bright.mean(axis=1) >= rule.edge_share)
    cols = np.flatnonzero(bright.mean(axis=0) >= rule.edge_share)
    if rows.size and cols.size:  # trim the edges (step 4); a box of dim speckle only stays as it is
        top, bottom, left, right = top + rows[0], top + rows[-1] + 1, left + cols[0], left + cols[-1] + 1
    return ScanArea(int(top), int(left), int(bottom), int(right), int(keep.size))


def crop_and_resize(
    rgb: np.ndarray, mask: np.ndarray | None, area: ScanArea, size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 ``[size, size, 3]`` (bilinear) and bool ``[size, size]`` (nearest) of the box; None stays None."""
    from PIL import Image

    top, left, bottom, right = area.box
    image = Image.fromarray(np.ascontiguousarray(rgb[top:bottom, left:right, :3]))
    out = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    if mask is None:
        return out, None
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {rgb.shape[:2]}")
    crop = Image.fromarray(np.ascontiguousarray(mask[top:bottom, left:right]).astype(np.uint8) * 255)
    return out, np.asarray(crop.resize((size, size), Image.Resampling.NEAREST)) > 127


# name → meaning; the order of ``layout_features``' vector
LAYOUT_FEATURES: dict[str, str] = {
    "image_height": "original image height, px",
    "image_width": "original image width, px",
    "box_top": "top edge of the scan area / image height",
    "box_left": "left edge of the scan area / image width",
    "box_bottom": "bottom edge (exclusive) of the scan area / image height",
    "box_right": "right edge (exclusive) of the scan area / image width",
    "box_height": "scan area height, px",
    "box_width": "scan area width, px",
    "box_area": "scan area / image area",
    "panels": "scan panels found (2 for a side-by-side dual view)",
    "scan_mean": "mean grey level inside the scan area, in [0, 1]",
    "scan_std": "standard deviation of the grey level inside the scan area, in [0, 1]",
    "outside_mean": "mean grey level outside the scan area, in [0, 1] (0 when the scan fills the image)",
    "outside_lit": "share of the pixels outside the scan area brighter than lit_level (text, ticks, markers)",
    "colour": "share of the image's pixels whose channels differ by more than 32 (coloured overlays)",
}


def layout_features(rgb: np.ndarray, area: ScanArea, rule: CropRule = CropRule()) -> np.ndarray:
    """float32 ``[len(LAYOUT_FEATURES)]``: the image's acquisition layout, nothing of its content beyond grey
    level statistics (see ``LAYOUT_FEATURES`` for each entry)."""
    height, width = rgb.shape[:2]
    luma = grey(rgb) / 255.0
    inside = np.zeros((height, width), dtype=bool)
    inside[area.top : area.bottom, area.left : area.right] = True
    scan, outside = luma[inside], luma[~inside]
    lit_outside = luma[~inside] * 255.0 > rule.lit_level
    channels = rgb[..., :3].astype(np.int16)
    chroma = channels.max(axis=-1) - channels.min(axis=-1)
    values = [
        height,
        width,
        area.top / height,
        area.left / width,
        area.bottom / height,
        area.right / width,
        area.bottom - area.top,
        area.right - area.left,
        inside.mean(),
        area.panels,
        scan.mean(),
        scan.std(),
        outside.mean() if outside.size else 0.0,
        lit_outside.mean() if lit_outside.size else 0.0,
        (chroma > 32).mean(),
    ]
    return np.asarray(values, dtype=np.float32)
