"""Fixtures of the tracking-result tests (validation and comparison read the same shared reference results)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.workflow.tracking_validation import REFERENCE


@pytest.fixture(scope="module")
def tracking_root(shared_data_dir: Path) -> Path:
    """``DATA_DIR/tracking`` with the published OTB results, or a skip that says where it looked."""
    root = shared_data_dir / "tracking"
    if not (root / REFERENCE).is_dir():
        pytest.skip(f"{root / REFERENCE} not found")
    return root
