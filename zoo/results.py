"""Render the results table (published vs measured, mean ± std over seeds) from run directories.

The README's results section is written only by this module (``make results``), never by hand.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from zoo.io import atomic_write_text

log = logging.getLogger(__name__)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load_records(experiment_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``paper:`` block of every experiment config, keyed by experiment name.

    A record that extends another (``defaults: [pyramnet_modelnet40]``) is merged over its parent's block, as
    Hydra would compose it, so it inherits metric names and units and overrides only what it states.
    """
    raw = {path.stem: OmegaConf.load(path) for path in sorted(experiment_dir.glob("*.yaml"))}

    def paper(name: str) -> Any:
        conf = raw[name]
        parents = [d for d in conf.get("defaults", []) if isinstance(d, str) and d in raw]
        return OmegaConf.merge(*(paper(p) for p in parents), conf.get("paper") or {})

    return {name: OmegaConf.to_container(paper(name), resolve=False) for name in raw}


def load_runs(log_dir: Path) -> list[dict[str, Any]]:
    """Every finished, non-debug run under ``log_dir`` (a run is a folder holding ``metrics.json``)."""
    runs = []
    for path in sorted(log_dir.rglob("metrics.json")):
        try:
            run = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            log.warning("skipping unreadable %s: %s", path, err)
            continue
        if not run.get("debug") and run.get("metrics"):
            run["run_dir"] = str(path.parent)
            runs.append(run)
    return runs


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def format_measured(values: list[float], scale: float) -> str:
    finite = [v * scale for v in values if math.isfinite(v)]
    if not finite:
        return "non-finite"
    mean, std = mean_std(finite)
    return f"{mean:.2f} ± {std:.2f}" if len(finite) > 1 else f"{mean:.2f}"


def table_rows(records: dict[str, dict], runs: list[dict]) -> list[list[str]]:
    grouped: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for run in runs:
        grouped[(run["experiment"], run.get("hardware", "?"), run.get("budget", "?"))].append(run)
    rows = []
    for name, record in records.items():
        metrics = record.get("metrics") or {}
        groups = sorted(key for key in grouped if key[0] == name) or [(name, "", "")]
        for key in groups:
            group = grouped.get(key, [])
            for metric, spec in metrics.items():
                unit = spec.get("unit", "")
                scale = 100.0 if unit == "%" else 1.0
                published = spec.get("published")
                values = [r["metrics"][metric] for r in group if metric in r["metrics"]]
                seeds = sorted({r.get("seed") for r in group if metric in r["metrics"]}, key=str)
                rows.append(
                    [
                        name,
                        f"{spec.get('name', metric)} ({metric}{', ' + unit if unit else ''})",
                        "—" if published is None else str(published),
                        format_measured(values, scale) if values else "not run",
                        str(len(values)) if values else "",
                        ",".join(str(s) for s in seeds),
                        key[1],
                        key[2],
                    ]
                )
    return rows


def render_table(records: dict[str, dict], runs: list[dict]) -> str:
    header = [
        "experiment",
        "metric",
        "published",
        "measured (mean ± std)",
        "n",
        "seeds",
        "hardware",
        "budget",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(records, runs)]
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, table: str) -> None:
    """Replace the text between the results markers; refuse to guess if the markers are missing."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} lacks the markers {BEGIN} / {END} around its results section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(readme, f"{head}{BEGIN}\n{table}{END}{tail}")


def run_results(experiment_dir: Path, log_dir: Path, output: Path, readme: Path | None) -> str:
    table = render_table(load_records(experiment_dir), load_runs(log_dir))
    atomic_write_text(output, table)
    if readme is not None:
        update_readme(readme, table)
    print(table)
    print(f"Results table written to {output}" + (f" and {readme}" if readme else ""))
    return table
