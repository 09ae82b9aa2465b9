"""The shell around Hydra in ``run.py``: checks that must come before Hydra acts, and errors as paragraphs.

Why before: Hydra instantiates ``hydra.callbacks`` and the logging config (whose ``()`` / ``class`` entries are
callables) before the task function starts, so a target check inside the task function is too late for the
``hydra.*`` node. ``preflight`` composes the config as Hydra will (Hydra's own argument parser, the same config
dir, sweep overrides left to each job, whose config the task function checks again), checks every callable it
names, and checks that the log and cache folders are usable.

Why our own reporting: Hydra prints a trimmed traceback for anything raised outside the task function (a
``-m`` job's UserError, Optuna's "No trials are completed yet"). ``report_errors`` turns the ones a user can fix
into one paragraph; ``HYDRA_FULL_ERROR=1`` (Hydra's switch) still shows every traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from zoo.errors import UserError
from zoo.io import atomic_write_text
from zoo.resolvers import register_resolvers
from zoo.targets import check_targets


def preflight(argv: list[str], config_dir: Path, config_name: str) -> None:
    """Refuse, before Hydra starts, a command line whose composed config names a disallowed callable."""
    from hydra._internal.utils import get_args_parser  # the parser hydra.main itself uses

    register_resolvers()
    args = get_args_parser().parse_args(argv)
    if args.experimental_rerun:
        raise UserError(
            "--experimental-rerun loads a pickled config, and this project never unpickles files",
            where="--experimental-rerun",
            fix="rerun with the run's overrides instead: python run.py $(python -c \"import yaml,sys; "
            "print(' '.join(yaml.safe_load(open(sys.argv[1]))))\" <run dir>/overrides.yaml)",
        )
    if args.help or args.hydra_help or args.info or args.shell_completion or args.cfg:
        return  # these only print; nothing is instantiated
    if args.config_path:
        config_dir = (config_dir.parent / args.config_path).resolve()
    config_name = args.config_name or config_name
    cfg = _compose(args.overrides, config_dir, config_name, args.config_dir)
    check_targets(cfg, strict=False)
    mode_dir = "sweep" if args.multirun or str(OmegaConf.select(cfg, "hydra.mode")) == "MULTIRUN" else "run"
    for key in ("paths.log_dir", "paths.cache_dir", "paths.results_dir", f"hydra.{mode_dir}.dir"):
        value = _resolved(cfg, key)
        if value:
            check_usable_dir(Path(value), key)


def _compose(overrides: list[str], config_dir: Path, config_name: str, extra_dir: str | None) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    kept = [o.input_line for o in parsed if not o.is_sweep_override()]  # each job's config is checked later
    if extra_dir:
        kept.append(f"hydra.searchpath=[file://{Path(extra_dir).resolve()}]")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3", job_name="run"):
            cfg = compose(config_name, overrides=kept, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    HydraConfig.instance().set_config(cfg)  # ${hydra:...} interpolations resolve while we check
    return cfg


def _resolved(cfg: DictConfig, key: str) -> str | None:
    try:
        value = OmegaConf.select(cfg, key)
    except Exception:  # resolvable only inside the job (checked there)
        return None
    return None if value is None else str(value)


def check_usable_dir(path: Path, key: str) -> None:
    """A folder that exists or can be created, and is writable: else one paragraph naming the setting."""
    source = {
        "paths.log_dir": "ZOO_LOG_DIR or paths.log_dir",
        "paths.cache_dir": "ZOO_CACHE_DIR or paths.cache_dir",
        "paths.results_dir": "ZOO_RESULTS_DIR or paths.results_dir",
    }.get(key, key)
    fix = f"point {source} at a writable folder"
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file, not a folder", where=source, fix=fix, sweep_fatal=True)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(
            f"{path} cannot be created: {existing} is a file", where=source, fix=fix, sweep_fatal=True
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{existing} is not writable", where=f"{source} = {path}", fix=fix, sweep_fatal=True)


class RecordSweepDir(Callback):
    """Remembers the sweep folder (a Hydra callback) so a sweep that fails as a whole can leave its outcome there."""

    sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        RecordSweepDir.sweep_dir = Path(config.hydra.sweep.dir)


def report_errors(entry: Callable[[], Any]) -> None:
    """Run ``entry`` (preflight, then Hydra's main); print a fixable error as a paragraph, exit 2."""
    user_wants_traces = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = (
        "1"  # Hydra re-raises instead of printing; children inherit the same shell
    )
    try:
        entry()
    except UserError as err:
        if user_wants_traces:
            raise
        _exit_with(str(err), 2)
    except Exception as err:
        if user_wants_traces:
            raise
        failed_sweep = _every_trial_failed(err)
        if failed_sweep is not None:
            _exit_with(str(failed_sweep), 2)
        from hydra.errors import CompactHydraException
        from omegaconf.errors import OmegaConfBaseException

        if isinstance(err, CompactHydraException):  # Hydra's own one-paragraph errors, printed as Hydra does
            cause = f"\n{err.__cause__}" if isinstance(err.__cause__, OmegaConfBaseException) else ""
            _exit_with(f"{err}{cause}", 1, prefix="")
        traceback.print_exc()  # a bug, not a user error: the trace is what a report needs
        sys.exit(1)


def _exit_with(message: str, code: int, prefix: str = "Error: ") -> None:
    print(f"\n{prefix}{message}", file=sys.stderr)
    sys.exit(code)


def _every_trial_failed(err: Exception) -> UserError | None:
    """Optuna asks its study for the best trial after the last one; with none completed that is a ValueError."""
    if not (isinstance(err, ValueError) and "No trials are completed yet" in str(err)):
        return None
    sweep_dir = RecordSweepDir.sweep_dir
    where = str(sweep_dir) if sweep_dir else "the sweep folder"
    if sweep_dir is not None and sweep_dir.is_dir():
        outcome = {"name": "optuna", "best_params": None, "best_value": None, "completed_trials": 0}
        outcome["note"] = "every trial failed; each job's log (<n>_<name>/*.log) says why"
        atomic_write_text(sweep_dir / "optimization_results.yaml", OmegaConf.to_yaml(outcome))
        where += " (optimization_results.yaml says so; each job's log says why)"
    return UserError(
        "every trial of the sweep failed, so there is no best value",
        where=where,
        fix="read the 'Failed experiment:' lines above for each trial's reason; fix it, or run one trial alone "
        "without -m to see its error",
    )
