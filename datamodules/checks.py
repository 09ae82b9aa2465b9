"""Argument checks shared by the DataModules: a bad config value becomes a UserError naming its key.

Without them ``float("abc")``, ``int(None)``, ``Path(None)`` or a seed numpy cannot take surface as raw
tracebacks far from the config line that caused them. Each check takes the value, its config key (``where``)
and an example fix, and returns the value in the type the DataModule stores.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zoo.errors import UserError, integer_in_range

# torch.Generator.manual_seed and numpy's default_rng both take any seed in [0, 2**63).
MAX_SEED = 2**63 - 1


def seed(value: object, where: str) -> int:
    """A seed as an int in [0, 2**63); text, fractions and bools are refused rather than truncated."""
    return integer_in_range(value, where, 0, MAX_SEED, fix=f"e.g. {where}=0")


def optional_seed(value: object, where: str) -> int | None:
    """``seed``, or None (meaning: follow the run seed)."""
    return None if value is None else seed(value, where)


def real(value: object, where: str, fix: str, *, low: float, high: float, high_open: bool = True) -> float:
    """A finite number in [low, high) (or [low, high] with ``high_open=False``); text, None, nan refused."""
    number = float(value) if _is_real(value) else math.nan
    inside = low <= number < high if high_open else low <= number <= high
    if not (math.isfinite(number) and inside):
        bounds = f"[{low:g}, {high:g}{')' if high_open else ']'}".replace("inf", "∞")
        raise UserError(f"{where} must be a number in {bounds}, got {value!r}", where=where, fix=fix)
    return number


def fraction(value: object, where: str, fix: str, *, open_low: bool = False) -> float:
    """A fraction in [0, 1), or (0, 1) with ``open_low``."""
    number = real(value, where, fix, low=0.0, high=1.0)
    if open_low and number == 0:
        raise UserError(f"{where} must be in (0, 1), got {value!r}", where=where, fix=fix)
    return number


def positive_range(value: object, where: str, fix: str) -> tuple[float, float]:
    """A (low, high) pair of finite numbers with 0 < low <= high (a list or ListConfig works too)."""
    items = list(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else None
    numbers_ok = items is not None and len(items) == 2 and all(_is_real(v) for v in items)
    if not numbers_ok or not 0 < float(items[0]) <= float(items[1]) < math.inf:
        raise UserError(
            f"{where} must be [low, high] with 0 < low <= high, both finite, got {value!r}",
            where=where,
            fix=fix,
        )
    return float(items[0]), float(items[1])


def folder(value: object, where: str) -> Path:
    """A folder path given as text or path-like; None or an empty string is a config mistake, not ``.``."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise UserError(
            f"{where} must be a folder path, got {value!r}",
            where=where,
            fix=f"set {where}=/path/to/folder (or the environment variable it defaults to, e.g. DATA_DIR)",
        )
    return Path(value).expanduser()


def options(value: object, where: str, allowed: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping whose keys are all in ``allowed``, merged over ``allowed`` (the defaults)."""
    if value is None:
        return dict(allowed)
    if not isinstance(value, Mapping):
        raise UserError(
            f"{where} must be a mapping, got {type(value).__name__}",
            where=where,
            fix=f"e.g. {where}={{{', '.join(f'{k}: {v}' for k, v in allowed.items())}}}",
        )
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise UserError(
            f"unknown {where} key(s) {', '.join(unknown)}", where=where, fix=f"use {', '.join(allowed)}"
        )
    return dict(allowed) | {str(k): v for k, v in value.items()}


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
