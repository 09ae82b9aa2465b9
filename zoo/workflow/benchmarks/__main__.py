"""``python -m zoo.workflow.benchmarks [NAME ...]``: run the named benchmarks (all by default)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("pyramnet", "learn", "fpca", "safont", "siamfc", "fan", "seqdlf")


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        importlib.import_module(f"zoo.workflow.benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
