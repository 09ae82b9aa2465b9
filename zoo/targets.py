"""Which callables a config may name: a config (command line, ``conf/local/``, a sweep) must not run arbitrary code.

A dotted ``_target_`` is only a name; what runs is the object it resolves to, and anything importable under a
trusted package is reachable by name (``torch.hub.load``, ``torch.load``, ``torch.os.system``). So each target
is checked in three steps: (1) its top-level package must be trusted *before* anything is imported (importing
runs code); (2) the name is resolved; (3) the object itself must be a class defined in this project's packages,
or a subclass of one of a short list of third-party base classes the configs need (optimisers, schedulers,
Lightning's trainer, callbacks and loggers, torchmetrics, Optuna samplers, Hydra plugins). Functions, loaders,
modules and re-exports fail step 3 whatever path reaches them.

Hydra instantiates more than ``_target_``: ``logging.config.dictConfig`` calls the ``()`` and ``class`` entries of
``hydra.job_logging`` / ``hydra.hydra_logging``, so those are checked the same way.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from omegaconf import DictConfig, ListConfig

from zoo.errors import UserError

#: the project's own packages: any class defined in them may be a target
PROJECT_PACKAGES = ("lightning_modules", "datamodules", "zoo")

#: third-party classes a config may name, as (module, class name): the target must be this class or a subclass
ALLOWED_BASES = (
    ("torch.optim", "Optimizer"),
    ("torch.optim.lr_scheduler", "LRScheduler"),
    ("pytorch_lightning", "Trainer"),
    ("pytorch_lightning", "Callback"),
    ("pytorch_lightning.loggers", "Logger"),
    ("torchmetrics", "Metric"),
    ("optuna.samplers", "BaseSampler"),
    ("optuna.pruners", "BasePruner"),
    ("hydra.plugins.plugin", "Plugin"),  # sweepers and launchers (Hydra also requires a registered plugin)
    ("logging", "Handler"),  # the job-logging config's handlers, formatters and filters
    ("logging", "Formatter"),
    ("logging", "Filter"),
)

#: top-level packages whose modules may be imported to resolve a target: ours, those of the bases, installed
#: Hydra plugins (Hydra imports them all anyway when it scans for plugins) and colorlog's formatter
TRUSTED_ROOTS = (
    frozenset(PROJECT_PACKAGES)
    | {module.split(".")[0] for module, _ in ALLOWED_BASES}
    | {"hydra_plugins", "colorlog"}
)

#: config keys whose value names a callable: Hydra's, and logging.config.dictConfig's (under hydra.*_logging)
TARGET_KEY = "_target_"
LOGGING_FACTORY_KEYS = ("()", "class")
LOGGING_NODES = ("job_logging", "hydra_logging")

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_ALLOWED_TEXT = (
    "a class of this project (lightning_modules., datamodules., zoo.), or an optimiser, LR scheduler, "
    "Lightning Trainer / callback / logger, torchmetrics metric, Optuna sampler / pruner, Hydra plugin or "
    "logging handler / formatter / filter class"
)


def _refuse(target: object, where: str, why: str) -> UserError:
    return UserError(
        f"_target_ {target!r} is not allowed: {why}",
        where=where or "config root",
        fix=f"a config may only name {_ALLOWED_TEXT}; to run other code, wrap it in a class in "
        "lightning_modules/, datamodules/ or zoo/ (see docs/errors.md)",
        sweep_fatal=True,
    )


def _base_classes() -> list[type]:
    bases = []
    for module, name in ALLOWED_BASES:
        try:
            bases.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):  # an optional package (optuna) that is not installed
            continue
    return bases


def allowed_target(target: object, where: str) -> type:
    """The class ``target`` names, if a config may instantiate it; else a UserError naming why not."""
    if not isinstance(target, str) or not _DOTTED.fullmatch(target):
        raise _refuse(target, where, "not a dotted import path")
    parts = target.split(".")
    if parts[0] not in TRUSTED_ROOTS:
        raise _refuse(target, where, f"package '{parts[0]}' is not trusted, so it is not even imported")
    if any(part.startswith("__") for part in parts):
        raise _refuse(target, where, "dunder attributes are never targets")
    from hydra.utils import get_object

    try:
        obj = get_object(target)
    except Exception as err:  # ImportError, AttributeError, or Hydra's wrapper of them
        raise UserError(
            f"_target_ {target!r} does not exist ({type(err).__name__})",
            where=where or "config root",
            fix="check the spelling; `python run.py --cfg job` shows the composed config",
        ) from None
    if not inspect.isclass(obj):
        kind = "a module" if inspect.ismodule(obj) else f"a {type(obj).__name__}, not a class"
        raise _refuse(target, where, f"it resolves to {kind} ({_home(obj)})")
    if obj.__module__.split(".")[0] in PROJECT_PACKAGES:
        return obj
    if any(issubclass(obj, base) for base in _base_classes()):
        return obj
    raise _refuse(target, where, f"it resolves to {_home(obj)}, which is not on the allow-list")


def _home(obj: Any) -> str:
    """Where an object really lives (``torch.os.system`` is ``posix.system``)."""
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "?")
    name = getattr(obj, "__qualname__", None)
    return f"{module}.{name}" if name and not inspect.ismodule(obj) else str(module)


def check_targets(cfg: DictConfig | ListConfig, where: str = "", *, strict: bool = True) -> None:
    """Check every callable the config names, interpolations resolved; ``hydra.*`` included when present.

    ``strict=False`` (before Hydra has set up its runtime, see ``zoo.preflight``) skips values whose
    interpolation cannot resolve yet; the task function checks the job's config again with ``strict=True``.
    """
    keys = range(len(cfg)) if isinstance(cfg, ListConfig) else list(cfg.keys())
    for key in keys:
        path = f"{where}[{key}]" if isinstance(cfg, ListConfig) else (f"{where}.{key}" if where else str(key))
        try:
            value = cfg[key]  # resolves an interpolation, e.g. `_target_: ${oc.env:X}` or `${oc.create:...}`
        except Exception as err:
            if strict or _names_a_callable(where, key):
                raise UserError(
                    f"the config value at {path} cannot be resolved ({type(err).__name__}: {err})",
                    where=path,
                    fix="fix the interpolation; `python run.py --cfg job` shows the composed config",
                ) from None
            continue
        if _names_a_callable(where, key):
            allowed_target(value, path)
        elif isinstance(value, DictConfig | ListConfig):
            check_targets(value, path, strict=strict)


def _names_a_callable(where: str, key: object) -> bool:
    if key == TARGET_KEY:
        return True
    in_logging = any(where == f"hydra.{node}" or where.startswith(f"hydra.{node}.") for node in LOGGING_NODES)
    return in_logging and key in LOGGING_FACTORY_KEYS
