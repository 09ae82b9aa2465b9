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

ROOT = Path(__file__).resolve().parents[3]
# Each benchmark's record (its table, raw numbers and where it ran) is committed under results/bench/, and
# docs/benchmarks.md is generated from those records, like the results tables from results/runs/.
BENCH_DIR = Path(os.environ.get("ZOO_BENCH_DIR", ROOT / "results" / "bench"))
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


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


def publish(
    name: str, table: str, data: Any, bench_dir: Path | None = None, page: Path | None = None
) -> Path:
    """Write a benchmark's record (table, raw numbers, code version, hardware) atomically, then regenerate the
    docs page's generated block from every record, and show the table."""
    from zoo.provenance import device_info, git_state, package_versions

    bench_dir, page = bench_dir or BENCH_DIR, page or DOCS_PAGE
    record = {
        "name": name,
        "table": table,
        "data": data,
        "environment": {
            "git": git_state(ROOT, ignore=(_relative(bench_dir), _relative(page))),
            "device": device_info(),
            "packages": package_versions(),
        },
    }
    path = atomic_write_text(bench_dir / f"{name}.json", json.dumps(record, indent=1, sort_keys=True) + "\n")
    if page.is_file():
        write_block(page, render_benchmarks(bench_dir))
    print(table)
    print(f"written to {path}" + (f" and {page}" if page.is_file() else ""))
    return path


def _relative(path: Path) -> str:
    """``path`` relative to the checkout (as git pathspecs want it), or as given outside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def render_benchmarks(bench_dir: Path) -> str:
    """Every benchmark record's table under a heading that says where and on which commit it was measured."""
    parts = []
    for path in sorted(bench_dir.glob("*.json")) if bench_dir.is_dir() else []:
        record = json.loads(path.read_text())
        env = record.get("environment", {})
        device, git = env.get("device", {}), env.get("git", {})
        where = device.get("gpu") or f"{device.get('cpu', '?')}, {device.get('cpu_count', '?')} cores"
        commit = (git.get("commit") or "?")[:7] + (" (uncommitted changes)" if git.get("dirty") else "")
        parts.append(f"### {record['name']}\n\nMeasured on {where}, commit {commit}.\n\n{record['table']}")
    return "\n".join(parts) or "No benchmark has been recorded yet: run `make bench`.\n"


def write_block(page: Path, text: str) -> None:
    """Replace what stands between the benchmark markers of ``page``."""
    content = page.read_text()
    if BEGIN not in content or END not in content:
        raise ValueError(f"{page} lacks the markers {BEGIN} / {END}")
    head, rest = content.split(BEGIN, 1)
    atomic_write_text(page, f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}")
