"""Rank-zero warnings of the graphs package, logged as ``datamodules.graphs`` (what run logs and tests filter on)."""

from __future__ import annotations

import logging

from pytorch_lightning.utilities.rank_zero import rank_zero_only

log = logging.getLogger("datamodules.graphs")


@rank_zero_only
def warn(message: str) -> None:
    """Log a warning once per job (rank 0 only), so DDP runs do not repeat it per process."""
    log.warning(message)
