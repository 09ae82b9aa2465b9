"""The single entry point: ``python run.py experiment=NAME [overrides]`` (see README.md)."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from zoo.errors import UserError
from zoo.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="run")
def main(cfg: DictConfig) -> float | None:
    from zoo.pipeline import run  # heavy imports stay out of --help and tab completion

    try:
        return run(cfg)
    except UserError as err:
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
        if multirun and not err.sweep_fatal:
            raise  # the sweeper records the failed job and goes on
        print(f"\nError: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
