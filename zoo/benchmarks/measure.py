"""Timing and memory helpers shared by the benchmarks (wall clock after warm-up, peak memory per process)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zoo.io import atomic_write_text

# Benchmark tables go next to the run logs (ZOO_LOG_DIR, as in conf/paths), under bench/.
BENCH_DIR = Path(os.environ.get("ZOO_LOG_DIR", "logs")) / "bench"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_per_call(fn: Callable[[], Any], device: torch.device, warmup: int, repeats: int) -> float:
    """Median seconds per call after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mib(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocator peak on a GPU, max resident set size on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_subprocess(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module args`` and parse its last stdout line as JSON (a clean process per measurement)."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def publish(output: Path, table: str, data: Any) -> None:
    """Write a benchmark's Markdown table and its raw numbers (``.json`` beside it), atomically, and show the table."""
    atomic_write_text(output, table)
    atomic_write_text(output.with_suffix(".json"), json.dumps(data, indent=2))
    print(table)
    print(f"written to {output}")
