"""The single entry point: ``python run.py experiment=NAME [overrides]`` (see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from zoo.errors import UserError
from zoo.resolvers import register_resolvers
from zoo.workflow.cli import preflight, report_errors

register_resolvers()
CONFIG_DIR, CONFIG_NAME = Path(__file__).resolve().parent / "conf", "run"


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=CONFIG_NAME)
def main(cfg: DictConfig) -> float | None:
    from zoo.workflow.pipeline import run  # heavy imports stay out of --help and tab completion

    try:
        return run(cfg)
    except UserError as err:
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
        if multirun and not err.sweep_fatal:
            raise  # the sweeper records the failed job and goes on
        print(f"\nError: {err}", file=sys.stderr)
        sys.exit(2)


def checked_main() -> None:
    """Check the command line's composed config (``hydra.*`` included) before Hydra acts on it, then run."""
    preflight(sys.argv[1:], CONFIG_DIR, CONFIG_NAME)
    main()


if __name__ == "__main__":
    report_errors(checked_main)
