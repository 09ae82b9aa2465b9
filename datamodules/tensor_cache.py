"""The preprocessed-tensor cache the photograph datasets share (ultrasound scans, loop-closure frames).

A cache file is a ``torch.save``d dict with its ``format`` and ``key`` (a digest of everything it was built from).
It is read with ``weights_only=True`` (never unpickled), trusted only when format, key and the caller's own check
agree, rebuilt otherwise, and written atomically, so an interrupted run never leaves a half-written cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zoo.io import atomic_torch_save

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


def load_or_build(
    path: Path,
    key: str,
    build: Callable[[], dict[str, Any]],
    problem: Callable[[dict[str, Any]], str | None] = lambda data: None,
    what: str = "data",
) -> dict[str, Any]:
    """The dict cached at ``path`` when valid, else ``build()``'s, saved there (with ``format`` and ``key``).

    ``problem(data)`` names what makes a readable cache unusable (e.g. another frame count), or None.
    """
    if path.is_file():
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            if data.get("format") != CACHE_FORMAT or data.get("key") != key:
                raise ValueError("format or key differ")
            reason = problem(data)
            if reason:
                raise ValueError(reason)
            return data
        except Exception as err:  # an unreadable or stale cache is rebuilt, never trusted
            log.warning(
                "%s cache %s is unreadable (%s: %s); rebuilding it", what, path, type(err).__name__, err
            )
    data = build()
    atomic_torch_save(data | {"format": CACHE_FORMAT, "key": key}, path)
    log.info("%s: preprocessed into %s", what, path)
    return data
