"""Atomic file writes: a crash mid-write never leaves a partial cache, checkpoint or report behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, fsync it, then rename it over ``path``.

    The file gets the permissions any new file of the user gets (``0o666`` less the umask), not the ``0o600``
    of the temporary file, so run records are readable wherever the user's other files are.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process umask, read without changing it where Linux reports it (``os.umask`` alone must set one)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
