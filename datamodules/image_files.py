"""One image-file reader for the datasets of photographs (ultrasound scans, loop-closure frames).

A missing, truncated or undecodable file becomes a ``UserError`` naming it, so one bad JPEG among thousands says
which one it is instead of failing deep inside a DataLoader worker; each dataset says how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import UserError


def read_rgb(path: Path, *, missing_fix: str, undecodable_fix: str) -> np.ndarray:
    """The image as uint8 ``[H, W, 3]`` (grey repeated), decoded now; ``UserError`` naming ``path`` otherwise."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, naming itself
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise UserError("image file is missing", where=str(path), fix=missing_fix) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise UserError(
            f"cannot decode the image ({type(err).__name__}: {err})", where=str(path), fix=undecodable_fix
        ) from None
