"""A Hydra callback that plots a sweep: metrics against the swept parameter (mean ± std over seeds).

Used by the named sensitivity sweeps (e.g. ``hparams_search=learn_sensitivity_alpha``, LEARN's Fig. 3): when the
multirun ends, it reads every job's ``metrics.json`` and resolved ``config.yaml`` and writes
``sensitivity_<name>.png`` and ``.csv`` into the sweep dir.
"""

from __future__ import annotations

import io
import json
import logging
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from zoo.io import atomic_write, atomic_write_text

log = logging.getLogger(__name__)


def load_sensitivity_sweeps(search_dir: Path) -> dict[str, dict[str, Any]]:
    """{search name: its plotted parameter, metrics and swept keys} for the named searches that plot with this
    callback (a ``hydra.callbacks.sensitivity_plot`` block): ``make results`` gives them a table of their own."""
    sweeps = {}
    for path in sorted(search_dir.glob("*.yaml")):
        conf = OmegaConf.load(path)
        plot = OmegaConf.select(conf, "hydra.callbacks.sensitivity_plot")
        if plot is not None:
            swept = OmegaConf.select(conf, "hydra.sweeper.params") or {}
            sweeps[path.stem] = {
                "param": plot.param,
                "metrics": list(plot.metrics),
                "swept": tuple(str(key) for key in swept),
            }
    return sweeps


def job_value(run: dict[str, Any], param: str) -> Any:
    """The swept parameter's value in a job's resolved config: the record's copy, else the run folder's
    ``config.yaml`` (``None`` when neither exists)."""
    if "config" in run:
        return OmegaConf.select(OmegaConf.create(run["config"]), param)
    config = Path(run.get("run_dir", "")) / "config.yaml"
    return OmegaConf.select(OmegaConf.load(config), param) if config.is_file() else None


def collect(sweep_dir: Path, param: str, metrics: list[str]) -> dict[float, dict[str, list[float]]]:
    """{parameter value: {metric: [values over jobs]}} from the finished jobs of a sweep."""
    table: dict[float, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record_path in sorted(sweep_dir.glob("*/metrics.json")):
        record = json.loads(record_path.read_text())
        value = job_value({"run_dir": str(record_path.parent)}, param)
        for metric in metrics:
            if metric in record.get("metrics", {}):
                table[float(value)][metric].append(record["metrics"][metric])
    return table


def render(table: dict[float, dict[str, list[float]]], param: str, metrics: list[str], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = sorted(table)
    fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=120)
    for metric in metrics:
        points = [(x, table[x][metric]) for x in xs if table[x].get(metric)]
        means = [statistics.fmean(v) for _, v in points]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in points]
        ax.errorbar([x for x, _ in points], means, yerr=stds, marker="o", capsize=3, label=metric)
    ax.set_xlabel(param)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


class SensitivityPlot(Callback):
    def __init__(self, param: str, metrics: list[str], name: str, title: str = "") -> None:
        self.param, self.metrics, self.name, self.title = param, list(metrics), name, title or name

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = collect(sweep_dir, self.param, self.metrics)
        if not table:
            log.warning("no finished jobs in %s: no sensitivity plot", sweep_dir)
            return
        rows = ["value," + ",".join(f"{m}_mean,{m}_n" for m in self.metrics)]
        for x in sorted(table):
            cells = [
                f"{statistics.fmean(table[x][m]):.6g},{len(table[x][m])}" if table[x].get(m) else ",0"
                for m in self.metrics
            ]
            rows.append(f"{x:g}," + ",".join(cells))
        atomic_write_text(sweep_dir / f"sensitivity_{self.name}.csv", "\n".join(rows) + "\n")
        png = render(table, self.param, self.metrics, self.title)
        path = atomic_write(sweep_dir / f"sensitivity_{self.name}.png", lambda handle: handle.write(png))
        log.info("Sensitivity plot written to %s", path)
