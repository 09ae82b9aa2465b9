"""Values checked before anything is built, so a typo costs a paragraph, not a traceback from deep in a fit.

Each check names the config key, what is wrong and a fix: the seed, the trainer's keys and bounds, optimiser
hyperparameters, and whether the run folder already holds another run (never overwritten silently).
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

from zoo.errors import UserError, integer_in_range

SEED_MAX = 2**32 - 1  # numpy's and Lightning's seed range


def checked_seed(value: object) -> int | None:
    """``null`` (unseeded) or an integer in [0, 2³² − 1]: ``seed=1.5`` would run as 1 but be recorded as 1.5."""
    if value is None:
        return None
    return integer_in_range(
        value, "seed", 0, SEED_MAX, fix="e.g. seed=0 (null: unseeded; -m seed=0,1,2: several)"
    )


# Trainer arguments that take counts: (smallest allowed value, whether null is allowed)
_TRAINER_COUNTS = {
    "max_epochs": (-1, True),
    "min_epochs": (0, True),
    "max_steps": (-1, False),
    "min_steps": (0, True),
    "check_val_every_n_epoch": (1, True),
    "log_every_n_steps": (1, True),
    "num_sanity_val_steps": (-1, True),
    "accumulate_grad_batches": (1, False),
}
_TRAINER_FRACTIONS = (
    "limit_train_batches",
    "limit_val_batches",
    "limit_test_batches",
    "limit_predict_batches",
)


def check_trainer(trainer: DictConfig) -> None:
    """Unknown keys by name (with the closest real one), counts and fractions by range."""
    from pytorch_lightning import Trainer

    known = set(inspect.signature(Trainer.__init__).parameters) - {"self"}
    for key in trainer:
        if key == "_target_" or key in known:
            continue
        close = difflib.get_close_matches(str(key), sorted(known), n=1)
        raise UserError(
            f"the Trainer has no argument '{key}'",
            where=f"trainer.{key}",
            fix=(f"did you mean trainer.{close[0]}? " if close else "")
            + "remove the key (trainer arguments: pytorch_lightning.Trainer's documentation)",
            sweep_fatal=True,
        )
    for key, (low, nullable) in _TRAINER_COUNTS.items():
        value = trainer.get(key)
        if key not in trainer or (value is None and nullable):
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise UserError(
                f"trainer.{key} must be an integer >= {low}{' or null' if nullable else ''}, got {value!r}",
                where=f"trainer.{key}",
                fix=f"e.g. trainer.{key}={max(low, 1)}",
            )
    for key in _TRAINER_FRACTIONS:
        value = trainer.get(key)
        if value is None:
            continue
        is_count = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0
        is_fraction = isinstance(value, float) and 0.0 <= value <= 1.0
        if not (is_count or is_fraction):
            raise UserError(
                f"trainer.{key} must be a fraction in [0, 1] or a batch count >= 0, got {value!r}",
                where=f"trainer.{key}",
                fix=f"e.g. trainer.{key}=0.25 or trainer.{key}=10",
            )
    clip = trainer.get("gradient_clip_val")
    if clip is not None and not _non_negative_number(clip):
        raise UserError(
            f"trainer.gradient_clip_val must be a number >= 0 or null, got {clip!r}",
            where="trainer.gradient_clip_val",
            fix="e.g. trainer.gradient_clip_val=1.0",
        )


def _non_negative_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and value >= 0
    )


_OPTIMISER_SCALARS = ("lr", "weight_decay", "momentum", "eps", "dampening", "alpha")


def check_optimisers(node: Any, where: str = "model") -> None:
    """Every optimiser node's learning rate and other scalar hyperparameters are finite numbers >= 0.

    The optimiser is built inside ``fit`` (``configure_optimizers``), so without this a negative or text
    learning rate surfaces as a traceback after the data and model were built.
    """
    from torch.optim import Optimizer

    from zoo.targets import allowed_target

    if isinstance(node, DictConfig):
        target = node.get("_target_")
        if target is not None and issubclass(allowed_target(target, f"{where}._target_"), Optimizer):
            for key in _OPTIMISER_SCALARS:
                value = node.get(key)
                if key in node and not _non_negative_number(value):
                    raise UserError(
                        f"the optimiser's {key} must be a finite number >= 0, got {value!r}",
                        where=f"{where}.{key}",
                        fix=f"e.g. {where}.{key}=0.001",
                    )
        for key in node:
            check_optimisers(node.get(key), f"{where}.{key}")
    elif isinstance(node, ListConfig):
        for i, value in enumerate(node):
            check_optimisers(value, f"{where}[{i}]")


# ---- the run folder: never overwrite another run without being asked ----------------------------------------

#: what a run leaves in its folder (metrics.json: a finished run; the others: one that trained or predicted)
RUN_OUTPUTS = ("metrics.json", "checkpoints", "csv", "predictions.csv")
#: written by Hydra for *this* run before the task function starts: never removed
HYDRA_OWN = (".hydra",)


def previous_run_outputs(run_dir: Path) -> list[str]:
    return [name for name in RUN_OUTPUTS if (run_dir / name).exists()]


def check_run_dir(run_dir: Path, task: str, ckpt_path: str | None, overwrite: bool) -> None:
    """Refuse to write into a folder that holds another run, unless resuming it or told to overwrite.

    A fit resumed from a checkpoint inside the same folder continues that run (its metrics.csv and best-checkpoint
    tracking go on). ``overwrite=true`` removes the old run's files first, so two runs never mix in one folder.
    """
    found = previous_run_outputs(run_dir)
    if not found:
        return
    resuming = task == "fit" and ckpt_path is not None and _inside(Path(ckpt_path), run_dir)
    if resuming:
        return
    if overwrite:
        for entry in run_dir.iterdir():
            if entry.name in HYDRA_OWN or entry.suffix == ".log":
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        return
    raise UserError(
        f"{run_dir} already holds a run ({', '.join(found)}); this {task} would overwrite its results",
        where="hydra.run.dir",
        fix="leave hydra.run.dir unset (every run gets a new folder), resume that run with "
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}, or pass overwrite=true to replace it",
        sweep_fatal=True,
    )


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def resolve_checkpoint_word(value: str | None, run_dir: Path) -> str | None:
    """``ckpt_path=last`` / ``best`` name this run folder's own checkpoints: a real file, or a clear error.

    Lightning would accept the words and, with no such file, test random weights or train from scratch.
    """
    if value not in ("last", "best"):
        return value
    checkpoints = run_dir / "checkpoints"
    if value == "last":
        found = [checkpoints / "last.ckpt"] if (checkpoints / "last.ckpt").is_file() else []
    else:
        found = sorted(checkpoints.glob("best_epoch*.ckpt"))
    if len(found) == 1:
        return str(found[0])
    problem = "holds several" if found else "holds none"
    raise UserError(
        f"ckpt_path={value} means this run folder's {value} checkpoint, and {checkpoints} {problem}",
        where="ckpt_path",
        fix="pass the file itself, e.g. ckpt_path=<run dir>/checkpoints/last.ckpt (a fit prints its run dir); "
        "every run starts in a new folder unless hydra.run.dir is set",
    )
