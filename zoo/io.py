"""Atomic file writes: a crash mid-write never leaves a partial cache, checkpoint or report behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))


def atomic_write_png(path: str | os.PathLike, image: Any) -> Path:
    """An image in [0, 1] (array or tensor; [H, W] grey or [H, W, 3] RGB) as an 8-bit PNG, written atomically."""
    import numpy as np
    from PIL import Image

    values = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=np.float64)
    pixels = Image.fromarray(np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8))
    return atomic_write(path, lambda handle: pixels.save(handle, format="PNG"))
