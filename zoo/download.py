"""Downloads that either put a verified file in place or raise one paragraph saying how to get it by hand.

``download_file`` streams a URL into a staging file next to the destination (``zoo.io.atomic_write``),
hashes it on the way, compares the sha256 and only then renames it into place: an interrupted, failed or
mismatched download never leaves a partial or wrong file where a loader would trust it. Every failure (no
network, timeout, HTTP error, truncated transfer, checksum mismatch, unwritable folder) is a ``UserError``
that names the URL, the destination and the manual route.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from zoo.errors import UserError
from zoo.io import atomic_write

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_LOG_EVERY = 0.1  # without tqdm: a log line per tenth of the file (or per 64 MiB when the size is unknown)


class DownloadError(UserError):
    """A failed download; ``url``, ``dest`` and ``reason`` let a caller reword it for its own setting."""

    def __init__(self, url: str, dest: Path, reason: str, *, where: str, fix: str) -> None:
        self.url, self.dest, self.reason = url, dest, reason
        super().__init__(f"downloading {url} to {dest} failed: {reason}", where=where, fix=fix)


class ChecksumMismatch(DownloadError):
    """The downloaded bytes are not the published file (callers may point at the config key holding the sha256)."""


def checked_sha256(value: str | None, where: str) -> str | None:
    """``value`` as a lower-case sha256 hex digest (None stays None); a UserError naming ``where`` otherwise."""
    if value is None:
        return None
    digest = str(value).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise UserError(
            f"{value!r} is not a sha256 checksum (64 hex digits)",
            where=where,
            fix="give the file's published sha256 (what `sha256sum` prints for a trusted copy), or null",
        )
    return digest


def sha256_file(path: str | os.PathLike, chunk: int = _CHUNK) -> str:
    """The hex sha256 of a file, read in chunks (raw data can be larger than memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None,
    where: str | None = None,
    hint: str | None = None,
    timeout: float = 60.0,
) -> str:
    """Download ``url`` to ``dest`` atomically and return the file's sha256.

    ``sha256`` is the published checksum the file must have; pass None only where none is published: the
    file is then kept unverified, and the caller should warn and record the returned sha256. ``where`` names
    the setting that asked for the download (default: ``dest``); ``hint`` is appended to the fix (another
    source, a config key). ``file://`` URLs work too (urllib), which is how the tests run offline.
    """
    dest = Path(dest)
    expected = checked_sha256(sha256, where or str(dest))
    digest = hashlib.sha256()

    def fail(reason: str, error: type[DownloadError] = DownloadError) -> DownloadError:
        check = f", check that its sha256 is {expected}" if expected else ""
        return error(
            url,
            dest,
            reason,
            where=where or str(dest),
            fix=f"download {url} by hand (a browser, or `curl -L -o {dest} {url}`){check} and put it at "
            f"{dest}" + (f"; {hint}" if hint else ""),
        )

    def write(handle: IO[bytes]) -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                size = _content_length(response)
                received = _copy(response, handle, digest, _progress(dest.name, size))
        except urllib.error.HTTPError as err:
            raise fail(f"the server answered HTTP {err.code} {err.reason}") from None
        except urllib.error.URLError as err:
            raise fail(f"no connection ({_reason(err.reason)}); the machine may be offline") from None
        except TimeoutError:
            raise fail(f"no answer within {timeout:g} s (timed out); the machine may be offline") from None
        except (OSError, http.client.HTTPException) as err:
            raise fail(f"the transfer broke off ({type(err).__name__}: {_reason(err)})") from None
        if size is not None and received != size:
            raise fail(f"the transfer ended after {received:,} of {size:,} bytes")
        if expected is not None and digest.hexdigest() != expected:
            raise fail(
                f"checksum mismatch: expected sha256 {expected}, got {digest.hexdigest()} (a corrupt, "
                "truncated or changed file; nothing was kept)",
                ChecksumMismatch,
            )

    log.info("downloading %s to %s", url, dest)
    try:
        atomic_write(dest, write)
    except OSError as err:  # the destination folder cannot be created or written
        raise fail(f"cannot write next to the destination ({_reason(err)})") from None
    log.info("%s: sha256 %s (%s)", dest, digest.hexdigest(), "verified" if expected else "not verified")
    return digest.hexdigest()


def _content_length(response: object) -> int | None:
    length = getattr(response, "headers", {}).get("Content-Length")
    return int(length) if length and str(length).isdigit() else None


def _copy(source: IO[bytes], target: IO[bytes], digest: Any, progress: Callable[[int], None]) -> int:
    """Copy in chunks, hashing on the way; returns the number of bytes."""
    received = 0
    try:
        while block := source.read(_CHUNK):
            target.write(block)
            digest.update(block)
            received += len(block)
            progress(len(block))
    finally:
        progress(-1)
    return received


def _progress(name: str, total: int | None) -> Callable[[int], None]:
    """A callback taking each block's size (-1 to finish): a tqdm bar when tqdm is installed, else log lines."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None)
        return lambda n: bar.close() if n < 0 else bar.update(n)
    step = int(total * _LOG_EVERY) if total else 64 * _CHUNK
    state = {"done": 0, "next": step}

    def report(n: int) -> None:
        if n < 0:
            return
        state["done"] += n
        if state["done"] >= state["next"]:
            state["next"] += step
            of = f" of {total / _CHUNK:,.1f}" if total else ""
            log.info("%s: %.1f%s MiB downloaded", name, state["done"] / _CHUNK, of)

    return report


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__
