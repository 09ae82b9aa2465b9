"""Render the results tables (published vs measured, mean ± std over seeds) from run directories.

The README's results section is written only by this module (``make results``), never by hand. Jobs of a named
search (``hparams_search=...``) are points of a sweep, not results of their record: they stay out of the main table,
and those of a sensitivity sweep (a search that plots a curve, e.g. LEARN's Fig. 3) get a table of their own.
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
from zoo.sweep_plot import job_value, load_sensitivity_sweeps

log = logging.getLogger(__name__)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# Overrides that say where, how long or how loudly a run ran, not what it computed: they never make a variant
# (the budget and hardware columns already tell runs apart by epochs and device).
NEUTRAL_OVERRIDES = (
    "experiment",
    "seed",
    "hardware",
    "logger",
    "paths",
    "hydra",
    "trainer",
    "task",
    "ckpt_path",
    "name",
    "callbacks",
    "data.num_workers",
    "data.pin_memory",
    "data.root",
    "data.cache_dir",
)


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
            if "overrides" not in run:  # records written before metrics.json carried them
                run["overrides"] = _overrides_file(path.parent / "overrides.yaml")
            runs.append(run)
    return runs


def _overrides_file(path: Path) -> list[str]:
    try:
        return [str(item) for item in OmegaConf.load(path)] if path.is_file() else []
    except Exception as err:  # an unreadable file must not hide the run's metrics
        log.warning("could not read %s: %s", path, err)
        return []


def variant(run: dict[str, Any], ignore: tuple[str, ...] = ()) -> str:
    """The run's method-changing command-line overrides (e.g. ``model.link_score=logistic_regression``).

    Runs with different variants are different rows: a tuning run must never be averaged into the default.
    ``ignore`` names further keys to leave out (a sweep's own parameters, which its table shows as a column).
    """
    changes = []
    for item in run.get("overrides") or []:
        key = item.split("=", 1)[0].lstrip("+~")
        if not any(key == n or key.startswith(n + ".") for n in NEUTRAL_OVERRIDES + ignore):
            changes.append(item)
    return " ".join(sorted(changes))


def search_of(run: dict[str, Any]) -> str | None:
    """The named search (``hparams_search=<name>``) that launched the run, if any."""
    for item in run.get("overrides") or []:
        key, _, value = item.partition("=")
        if key.lstrip("+~") == "hparams_search" and value not in ("", "null"):
            return value
    return None


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def format_measured(values: list[float], scale: float, digits: int | None = None) -> str:
    """Two decimals, four below 0.1 (relative errors such as FPCA's RRE ≈ 0.05 would otherwise show as 0.05 ± 0.00);
    ``digits`` fixes the count (a sensitivity curve's points differ in the third decimal)."""
    finite = [v * scale for v in values if math.isfinite(v)]
    if not finite:
        return "non-finite"
    mean, std = mean_std(finite)
    if digits is None:
        digits = 4 if abs(mean) < 0.1 else 2
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if len(finite) > 1 else f"{mean:.{digits}f}"


def run_cost(group: list[dict]) -> str:
    """Epochs actually run (a range under early stopping) and the mean wall time of one run."""
    epochs = sorted({int(r["epochs"]) for r in group if r.get("epochs") is not None})
    times = [float(r["wall_time_s"]) for r in group if r.get("wall_time_s") is not None]
    parts = []
    if epochs:
        parts.append(f"{epochs[0]} ep" if len(epochs) == 1 else f"{epochs[0]}–{epochs[-1]} ep")
    if times:
        parts.append(f"{statistics.fmean(times):.0f} s")
    return ", ".join(parts)


def table_rows(records: dict[str, dict], runs: list[dict]) -> list[list[str]]:
    grouped: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for run in runs:
        key = (run["experiment"], variant(run), run.get("hardware", "?"), run.get("budget", "?"))
        grouped[key].append(run)
    rows = []
    for name, record in records.items():
        metrics = record.get("metrics") or {}
        groups = sorted(key for key in grouped if key[0] == name) or [(name, "", "", "")]
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
                        f"{name} `{key[1]}`" if key[1] else name,
                        f"{spec.get('name', metric)} ({metric}{', ' + unit if unit else ''})",
                        "—" if published is None else str(published),
                        format_measured(values, scale) if values else "not run",
                        str(len(values)) if values else "",
                        ",".join(str(s) for s in seeds),
                        key[2],
                        key[3],
                        run_cost(group),
                    ]
                )
    return rows


def sensitivity_rows(sweeps: dict[str, dict], records: dict[str, dict], runs: list[dict]) -> list[list[str]]:
    """One row per sweep, parameter value, remaining variant, hardware and budget; every plotted metric in it."""
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        name = search_of(run)
        if name not in sweeps:
            continue
        sweep = sweeps[name]
        value = job_value(Path(run["run_dir"]), sweep["param"])
        others = variant(run, ignore=sweep["swept"] + ("hparams_search",))
        key = (name, run["experiment"], others, run.get("hardware", "?"), run.get("budget", "?"))
        grouped[(*key, _sort_key(value), str(value))].append(run)
    rows = []
    for key in sorted(grouped):
        name, experiment, others, hardware, budget, _, value = key
        group = grouped[key]
        specs = records.get(experiment, {}).get("metrics") or {}
        cells = []
        for metric in sweeps[name]["metrics"]:
            values = [r["metrics"][metric] for r in group if metric in r["metrics"]]
            if values:
                cells.append(
                    f"{specs.get(metric, {}).get('name', metric)} {format_measured(values, 1.0, digits=4)}"
                )
        seeds = sorted({r.get("seed") for r in group}, key=str)
        rows.append(
            [
                f"{name} (`{experiment}`{' ' + others if others else ''})",
                f"{sweeps[name]['param']} = {value}",
                " · ".join(cells) or "no metric",
                str(len(group)),
                ",".join(str(s) for s in seeds),
                hardware,
                budget,
                run_cost(group),
            ]
        )
    return rows


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order (16 before 128), anything else after them by text."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


# the columns both tables end with, in this order
SHARED_COLUMNS = ("measured (mean ± std)", "n", "seeds", "hardware", "budget", "epochs, time / run")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def render_sensitivity(sweeps: dict[str, dict], records: dict[str, dict], runs: list[dict]) -> str:
    rows = sensitivity_rows(sweeps, records, runs)
    if not rows:
        return ""
    header = ["sweep (record)", "parameter", *SHARED_COLUMNS]
    intro = "\n**Sensitivity sweeps** (`python run.py hparams_search=<sweep>`; one row per swept value):\n\n"
    return intro + markdown_table(header, rows)


def render_table(records: dict[str, dict], runs: list[dict]) -> str:
    header = ["experiment", "metric", "published", *SHARED_COLUMNS]
    return markdown_table(header, table_rows(records, [run for run in runs if search_of(run) is None]))


def update_readme(readme: Path, table: str) -> None:
    """Replace the text between the results markers; refuse to guess if the markers are missing."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} lacks the markers {BEGIN} / {END} around its results section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(readme, f"{head}{BEGIN}\n{table}{END}{tail}")


def run_results(
    experiment_dir: Path, log_dir: Path, output: Path, readme: Path | None, search_dir: Path | None = None
) -> str:
    records, runs = load_records(experiment_dir), load_runs(log_dir)
    table = render_table(records, runs)
    if search_dir is not None:
        table += render_sensitivity(load_sensitivity_sweeps(search_dir), records, runs)
    atomic_write_text(output, table)
    if readme is not None:
        update_readme(readme, table)
    print(table)
    print(f"Results table written to {output}" + (f" and {readme}" if readme else ""))
    return table
