"""What produced a number: code version, packages, hardware, seed, time and memory (``environment.json``)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch",
    "torchvision",
    "pytorch-lightning",
    "hydra-core",
    "omegaconf",
    "torchmetrics",
    "torch-geometric",
    "numpy",
    "scikit-learn",
    "wandb",
    "optuna",
)


def git_state(root: str | os.PathLike, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Commit and dirty flag of the checkout, or ``None`` fields outside a git checkout.

    ``ignore``: paths whose changes do not count (a benchmark's own outputs, written by the benchmark before it
    in the same ``make bench``, must not mark the next one dirty).
    """

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git(
        "status", "--porcelain", "--untracked-files=no", "--", ".", *(f":(exclude){p}" for p in ignore)
    )
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info() -> dict[str, Any]:
    """The hardware a number was measured on; ``label`` is the short form used in results tables."""
    import torch

    # torch's intra-op threads, because runs sharing the CPU (one thread each) time differently from one run alone
    info: dict[str, Any] = {
        "cpu": cpu_name(),
        "cpu_count": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    return info


def hardware_label(device: dict[str, Any], accelerator: str, devices: Any, precision: str) -> str:
    if accelerator in ("gpu", "cuda") and device.get("gpu"):
        return f"{devices}× {device['gpu']} ({precision})"
    return f"CPU {device['cpu_count']} cores ({precision})"


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process (and of the GPU, where one was used), in MiB."""
    import torch

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    peak = {"cpu_rss_mib": round(usage, 1)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["gpu_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return peak


def environment_record(root: str | os.PathLike, seed: int | None, wall_time_s: float) -> dict[str, Any]:
    return {
        "git": git_state(root),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "device": device_info(),
        "seed": seed,
        "wall_time_s": round(wall_time_s, 2),
        "peak_memory": peak_memory(),
        "command": " ".join(sys.argv),
    }
