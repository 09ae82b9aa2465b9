"""One labelled ultrasound image as plain data, and the two file readers every dataset shares.

``read_rgb`` and ``read_mask`` turn an unreadable, truncated or mis-sized file into a ``UserError`` naming it,
so one bad JPEG among hundreds says which one it is instead of failing deep inside a DataLoader worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datamodules import image_files
from zoo.errors import UserError

CLASS_NAMES = ("benign", "malignant")
# the threshold the DDTI masks are read with (MANIFEST: green channel = filled nodule, red = its contour line)
MASK_THRESHOLD = 128


@dataclass(frozen=True)
class UltrasoundImage:
    """One image of a dataset: where its files are, its label (0 benign, 1 malignant) and its case.

    ``case``: the patient / case id the splits group by (DDTI: the number before ``_``; UD-TN: the file's id).
    ``mask``: the nodule mask file, or None (UD-TN has none). ``source``: where the label came from, in words
    (e.g. ``label.txt line 12: TI-RADS 4c``), for error messages and the run record. ``tags``: extra facts
    (DDTI's TI-RADS grade and folder tag, UD-TN's sample folders).
    """

    key: str
    image: Path
    mask: Path | None
    label: int
    case: str
    source: str
    tags: dict[str, str] = field(default_factory=dict, compare=False)


def read_rgb(path: Path) -> np.ndarray:
    """The image as uint8 ``[H, W, 3]``; a clear error naming the file when it is missing or does not decode."""
    return image_files.read_rgb(
        path,
        missing_fix="put the file back (see the data folder's MANIFEST.md), or set data.download=true",
        undecodable_fix="re-download the file (delete it and set data.download=true) or remove its label row",
    )


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A DDTI mask as bool ``[H, W]``: the filled nodule (green) and its contour line (red), each above 128.

    ``shape`` is the image's (H, W): a mask of another size would not align with its image, so it is refused.
    """
    rgb = read_rgb(path)
    if rgb.shape[:2] != tuple(shape):
        raise UserError(
            f"the mask is {rgb.shape[1]}×{rgb.shape[0]} px but its image is {shape[1]}×{shape[0]} px "
            "(a mask must cover its image pixel for pixel)",
            where=str(path),
            fix="replace the mask by the one published with the image (same size), or remove the pair",
        )
    return (rgb[..., 0] > MASK_THRESHOLD) | (rgb[..., 1] > MASK_THRESHOLD)
