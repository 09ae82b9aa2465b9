"""Committable run records: one small JSON file per finished run under ``results/runs/``, tracked in git.

Why: run folders (``logs/``) hold checkpoints and images and stay on the machine that ran them, so a number in
the docs could not be regenerated or audited anywhere else. A record keeps exactly what the tables need and
what an auditor asks — metrics, published values, experiment, overrides, seed, git commit and dirty flag,
hardware, budget, wall time, package versions and the resolved config — and ``make results`` builds every
table from the records (plus local run folders that have none).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo.io import atomic_write_text

log = logging.getLogger(__name__)

#: environment.json fields a record keeps (peak memory and the command line stay in the run folder)
ENVIRONMENT_KEYS = ("git", "packages", "device", "python", "platform")


def unit_scale(unit: str | None) -> float:
    """Displayed value ÷ logged value. The one place units convert: "%" metrics are logged as fractions
    (torchmetrics) and published (and shown in the tables) in percent."""
    return 100.0 if unit == "%" else 1.0


def published_values(paper_metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """A record's published values in the scale its metrics are logged in, so that metrics.json and W&B put
    like next to like (PyramNet's published 91.5 % next to a measured 0.91 read as 0.915)."""
    values = {}
    for metric, spec in paper_metrics.items():
        published = spec.get("published")
        values[metric] = None if published is None else float(published) / unit_scale(spec.get("unit"))
    return values


def record_id(run_dir: Path, log_dir: Path) -> str:
    """A stable name for a run: its folder relative to the log dir ("/" → "+"), or name + path hash outside it."""
    try:
        return "+".join(run_dir.resolve().relative_to(log_dir.resolve()).parts)
    except ValueError:
        digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]
        return f"{run_dir.name}+{digest}"


def compact_record(
    metrics_record: dict[str, Any], environment: dict[str, Any], config: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """The run record (metrics.json) with the provenance that makes it auditable, and nothing bulky."""
    return {
        **{
            k: v for k, v in metrics_record.items() if k != "checkpoint"
        },  # a local path, meaningless elsewhere
        "run_id": run_id,
        "environment": {k: environment.get(k) for k in ENVIRONMENT_KEYS},
        "config": portable_config(config),
    }


def portable_config(config: dict[str, Any]) -> dict[str, Any]:
    """The resolved config without this machine's folders: ``paths`` is dropped and every value under one of its
    folders is written relative to it (``/home/me/data/graphs`` → ``${paths.data_dir}/graphs``), longest first."""
    folders = sorted(
        ((str(v).rstrip("/"), k) for k, v in (config.get("paths") or {}).items() if str(v).startswith("/")),
        key=lambda item: -len(item[0]),
    )

    def relative(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: relative(v) for k, v in value.items()}
        if isinstance(value, list):
            return [relative(v) for v in value]
        if isinstance(value, str):
            for folder, key in folders:
                if value == folder or value.startswith(folder + "/"):
                    return "${paths." + key + "}" + value[len(folder) :]
        return value

    return relative({k: v for k, v in config.items() if k != "paths"})


def write_record(results_dir: Path, record: dict[str, Any]) -> Path:
    """``results_dir/<experiment>/<run id>.json``; a finished run's record is never replaced by another run."""
    path = results_dir / record["experiment"] / f"{record['run_id']}.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return path


def load_records(results_dir: Path) -> list[dict[str, Any]]:
    """Every readable record under ``results_dir`` (an unreadable file is named and skipped, never fatal)."""
    records = []
    for path in sorted(results_dir.rglob("*.json")) if results_dir.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            log.warning("skipping unreadable record %s: %s", path, err)
            continue
        if isinstance(record, dict) and record.get("metrics") and not record.get("debug"):
            records.append(record)
    return records
