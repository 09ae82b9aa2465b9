"""OmegaConf resolvers used by conf/: registered once by run.py (and by tests that compose configs)."""

from __future__ import annotations

import uuid
from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("uid"):
        # A short random id makes run dirs collision-free even for jobs started in the same second.
        OmegaConf.register_new_resolver("uid", lambda: uuid.uuid4().hex[:6], use_cache=True)
    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT))
