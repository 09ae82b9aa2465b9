"""The task function behind ``run.py``: build everything from config, fit / test / predict, write the run record.

Every paper goes through this one path. It branches on the method's declared ``FitKind``
(``lightning_modules/components/base.py``): gradient-trained and gradient-free fitted methods run ``trainer.fit``;
solvers go straight to the test stage; test-time optimisers get a trainer without inference mode and optimise
inside ``test_step``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from lightning_modules.components.base import FitKind, ZooModule
from zoo.checkpoints import SafeCheckpointIO, load_checkpoint, translate_state_dict_mismatch
from zoo.config_checks import (
    check_optimisers,
    check_run_dir,
    check_trainer,
    checked_seed,
    resolve_checkpoint_word,
)
from zoo.errors import UserError, check_choice
from zoo.io import atomic_write_json, atomic_write_text
from zoo.records import compact_record, published_values, record_id, write_record
from zoo.targets import check_targets

log = logging.getLogger("zoo")
#: kinds whose ``task=fit`` runs ``trainer.fit`` (and whose ``task=test`` needs a checkpoint)
FITTING_KINDS = (FitKind.GRADIENT, FitKind.FITTED)
TEST_CHECKPOINTS = ("best", "last")
#: a Trainer error that mentions these is about the hardware config, anything else about trainer.* values
HARDWARE_WORDS = re.compile(
    r"accelerator|device|gpu|cuda|mps|tpu|strategy|precision|nccl|gloo", re.IGNORECASE
)

TASKS = ("fit", "test", "predict", "results")


def run(cfg: DictConfig) -> float | None:
    """Run ``cfg.task``; return the value of ``cfg.optimized_metric`` for sweepers (``None`` when unset)."""
    if cfg.task not in TASKS:
        raise UserError(f"unknown task '{cfg.task}'", where="task=...", fix=f"use one of {', '.join(TASKS)}")
    if cfg.task == "results":
        from zoo.workflow.results import run_results

        run_results(
            Path(cfg.paths.root_dir) / "conf" / "experiment",
            Path(cfg.paths.results_dir),
            Path(cfg.paths.log_dir),
            Path(cfg.results.output),
            search_dir=Path(cfg.paths.root_dir) / "conf" / "hparams_search",
            pages_dir=Path(cfg.paths.root_dir) / "docs" / "papers" if cfg.results.write_pages else None,
            comparisons_dir=Path(cfg.paths.root_dir) / "conf" / "comparisons",
            data_dir=Path(cfg.paths.data_dir),
        )
        return None
    check_targets(cfg)
    check_multirun_strategy(cfg)
    checked_seed(cfg.seed)
    check_trainer(cfg.trainer)
    check_optimisers(cfg.model)
    started = time.time()
    try:
        return _execute(cfg, started)
    finally:
        _finish_wandb()


def _execute(cfg: DictConfig, started: float) -> float | None:
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    seed = checked_seed(cfg.seed)
    if seed is not None:  # seed=0 is a seed
        pl.seed_everything(seed, workers=True)
    run_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_checkpoint_word(cfg.get("ckpt_path"), run_dir)
    if ckpt_path is not None:  # read once here: every problem surfaces before training, also under ddp_spawn
        load_checkpoint(ckpt_path, map_location="cpu")
    if _is_rank_zero():  # other DDP ranks re-enter this run's folder after rank 0 has started writing it
        check_run_dir(run_dir, cfg.task, ckpt_path, bool(cfg.get("overwrite", False)))
        save_config(cfg, run_dir)

    datamodule = _instantiate("data", cfg.data, instantiate)
    module = _instantiate("model", cfg.model, instantiate)
    fits = fit_kind(module) in FITTING_KINDS
    if (
        module.needs_data
    ):  # sized by its data: the explicit hook, so its checkpoints load without a datamodule
        datamodule.prepare_data()
        datamodule.setup("fit" if cfg.task == "fit" else cfg.task)
        module.configure_for_data(datamodule.describe())
    callbacks = _instantiate_each("callbacks", cfg.get("callbacks"), instantiate)
    loggers = _instantiate_each("logger", cfg.get("logger"), instantiate)
    trainer = _instantiate(
        "trainer",
        cfg.trainer,
        instantiate,
        callbacks=callbacks,
        logger=loggers or False,
        **trainer_kwargs(module),
    )
    trainer.strategy.checkpoint_io = SafeCheckpointIO()  # fit-resume, test and predict load through it
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    test_checkpoint = cfg.get("test_checkpoint", "best")
    check_choice(test_checkpoint, TEST_CHECKPOINTS, "test_checkpoint")  # before fitting, not after
    metrics: dict[str, float] = {}
    fit_trainer = trainer  # the run record describes the hardware that trained
    if cfg.task == "fit" and fits:
        with library_errors_explained(ckpt_path, cfg):
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        metrics.update(_scalars(trainer.callback_metrics))
        ckpt_path = _checkpoint_to_test(trainer, test_checkpoint)
        if trainer.world_size > 1:
            if not trainer.is_global_zero:
                return None  # rank 0 evaluates alone
            fit_trainer, trainer = trainer, _single_device_trainer(cfg, instantiate, callbacks, loggers)
    elif cfg.task == "fit":
        log.info("%s has nothing to train; running the test stage only", type(module).__name__)
    if cfg.task in ("fit", "test"):
        if cfg.task == "test" and ckpt_path is None and fits:
            raise UserError(
                "task=test needs a checkpoint of a trained model",
                where="ckpt_path is unset",
                fix="pass ckpt_path=<run dir>/checkpoints/<file>.ckpt (a fit run prints its best checkpoint)",
            )
        with library_errors_explained(ckpt_path, cfg):
            results = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path)
        for result in results:
            metrics.update(_scalars(result))
    if cfg.task == "predict":
        with library_errors_explained(ckpt_path, cfg):
            predictions = trainer.predict(module, datamodule=datamodule, ckpt_path=ckpt_path)
        if trainer.is_global_zero:
            write_predictions(predictions, run_dir, getattr(datamodule, "class_names", None))

    if trainer.is_global_zero:
        write_run_record(cfg, fit_trainer, metrics, run_dir, started, ckpt_path)
        _publish_to_wandb(loggers, metrics, cfg)
        log.info("Run finished. Results: %s (metrics.json, config.yaml, environment.json)", run_dir)
    return objective(cfg, metrics)


def fit_kind(module: Any) -> FitKind:
    """The module's declared ``FitKind``; every model config must name a ``ZooModule``."""
    if not isinstance(module, ZooModule):
        raise UserError(
            f"model {type(module).__name__} is not a ZooModule, so the pipeline cannot tell how it fits",
            where="model._target_",
            fix="derive the model from lightning_modules.components.base.ZooModule (or SolverModule, "
            "FittedModule, TestTimeModule) and declare its fit_kind",
        )
    return module.fit_kind


def trainer_kwargs(module: Any) -> dict[str, Any]:
    """What a method's kind asks of the Trainer: online methods need autograd inside the test loop."""
    return {"inference_mode": False} if fit_kind(module) is FitKind.TEST_TIME else {}


def _instantiate(group: str, node: DictConfig, instantiate: Any, **kwargs: Any) -> Any:
    """Instantiate a config node, turning Hydra's nested instantiation traceback into one readable paragraph."""
    from hydra.errors import InstantiationException

    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__ or err
        if isinstance(cause, UserError):
            raise cause from None
        if group == "trainer" and HARDWARE_WORDS.search(str(cause)):
            where, fix = (
                "hardware=... (accelerator, devices, strategy, precision)",
                "pick a hardware config this machine supports (hardware=cpu works everywhere)",
            )
        elif group == "trainer":
            where = "trainer.* (conf/trainer/default.yaml and your trainer.* overrides)"
            fix = "check the value named above; `python run.py --cfg job` shows the composed trainer config"
        else:
            where = f"{group} ({node.get('_target_', '?')})"
            fix = f"check the keys of conf/{group.split('.')[0]}/ and your overrides; `python run.py --cfg job` shows them"
        raise UserError(
            f"could not build '{group}': {type(cause).__name__}: {cause}", where=where, fix=fix
        ) from None


@contextmanager
def library_errors_explained(ckpt_path: str | None, cfg: DictConfig) -> Iterator[None]:
    """Errors Lightning and torch raise deep inside a fit for a cause the user set: one paragraph each."""
    try:
        yield
    except ValueError as err:
        if "Expected more than 1 value per channel when training" not in str(err):
            raise
        raise UserError(
            "a training batch held a single sample, and BatchNorm cannot normalise one value per channel",
            where=f"data.batch_size={cfg.data.get('batch_size')} (or a last batch of 1 sample)",
            fix="use data.batch_size=2 or more (with BatchNorm, batches of one only work in eval mode)",
        ) from None
    except RuntimeError as err:
        explained = translate_state_dict_mismatch(err, ckpt_path) if ckpt_path else None
        if explained is None:
            raise
        raise explained from None


def _single_device_trainer(cfg: DictConfig, instantiate: Any, callbacks: list, loggers: list) -> Any:
    """Evaluate after a distributed fit on one device: a DistributedSampler pads the test set with duplicates."""
    log.info("Testing on a single device after the distributed fit (no padded duplicate samples)")
    trainer = instantiate(
        cfg.trainer,
        devices=1,
        num_nodes=1,
        strategy="auto",
        sync_batchnorm=False,
        callbacks=callbacks,
        logger=loggers or False,
    )
    trainer.strategy.checkpoint_io = SafeCheckpointIO()
    return trainer


def _instantiate_each(group: str, nodes: DictConfig | None, instantiate: Any) -> list[Any]:
    """Callbacks and loggers are dicts of configs: add or drop one by key; only ``_target_`` entries count."""
    if not nodes:
        return []
    return [
        _instantiate(f"{group}.{key}", node, instantiate)
        for key, node in nodes.items()
        if isinstance(node, DictConfig) and "_target_" in node
    ]


def check_multirun_strategy(cfg: DictConfig) -> None:
    """Lightning's in-process ``ddp`` re-runs ``sys.argv`` per rank: under ``-m`` each rank replays the sweep."""
    hydra_cfg = HydraConfig.get()
    strategy = str(cfg.trainer.get("strategy", "auto"))
    launcher = hydra_cfg.runtime.choices.get("hydra/launcher")
    if (
        hydra_cfg.mode == RunMode.MULTIRUN
        and strategy.startswith("ddp")
        and "spawn" not in strategy
        and launcher != "submitit_slurm"
    ):
        raise UserError(
            f"strategy '{strategy}' cannot run under -m: Lightning re-executes the command line for every rank, "
            "so each rank would replay the whole sweep (with Optuna, on different hyperparameters)",
            where="trainer.strategy (hardware=ddp) with --multirun",
            fix="use hardware=ddp_sim or trainer.strategy=ddp_spawn, or launch with hydra/launcher=submitit_slurm "
            "(one SLURM task per GPU)",
            sweep_fatal=True,
        )


def _checkpoint_to_test(trainer: Any, which: str) -> str | None:
    """The monitored best checkpoint, or (``last``) the one a monitor-less checkpoint callback wrote last."""
    check_choice(which, TEST_CHECKPOINTS, "test_checkpoint")
    callbacks = [cb for cb in trainer.checkpoint_callbacks if (cb.monitor is None) == (which == "last")]
    path = next((cb.best_model_path for cb in callbacks if cb.best_model_path), "")
    if path:
        log.info("Testing the %s checkpoint %s", which, path)
        return path
    log.warning("No checkpoint was saved (fast_dev_run or checkpointing off): testing the final weights")
    return None


def _scalars(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def _is_rank_zero() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", 0))) == 0


def save_config(cfg: DictConfig, run_dir: Path) -> None:
    """Hydra saves the *unresolved* config; keep the resolved one and the overrides next to the results."""
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    overrides = list(HydraConfig.get().overrides.task)
    atomic_write_text(run_dir / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides)))


def write_predictions(
    batches: list[dict[str, Any]] | None, run_dir: Path, class_names: list[str] | None
) -> Path:
    """Concatenate per-batch prediction dicts into ``predictions.csv`` (one row per sample)."""
    import torch

    if not batches:
        raise UserError(
            "the model produced no predictions", where="task=predict", fix="check the predict split"
        )
    columns = {
        key: torch.cat([b[key].detach().cpu().reshape(len(b[key]), -1) for b in batches])
        for key in batches[0]
    }
    names = list(columns)
    header = ",".join(
        names + ([f"{k}_name" for k in ("pred", "target") if k in columns] if class_names else [])
    )
    rows = []
    for i in range(len(next(iter(columns.values())))):
        cells = [" ".join(f"{v:g}" for v in columns[k][i].tolist()) for k in names]
        if class_names:
            cells += [class_names[int(columns[k][i, 0])] for k in ("pred", "target") if k in columns]
        rows.append(",".join(cells))
    path = atomic_write_text(run_dir / "predictions.csv", "\n".join([header, *rows]) + "\n")
    log.info("Wrote %d predictions to %s", len(rows), path)
    return path


def budget_label(cfg: DictConfig, trainer: Any) -> str:
    """What bounded the training: the epoch count, or the early-stopping rule (seeds stop at different epochs
    but share this label, so ``make results`` averages them together)."""
    from pytorch_lightning.callbacks import EarlyStopping

    if cfg.task != "fit":
        return f"{cfg.task} only"
    module = trainer.lightning_module
    kind = fit_kind(module)
    if kind is FitKind.SOLVER:  # DANMF, FPCA: its own iteration budget, no epochs
        return module.solver_budget
    if kind is FitKind.TEST_TIME:
        return "test-time optimisation only"
    stoppers = [cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)]
    if stoppers:
        label = f"early stopping (patience {stoppers[0].patience}, ≤ {trainer.max_epochs} epochs)"
    else:
        label = f"{trainer.current_epoch} epochs"
    if cfg.trainer.get("max_steps", -1) not in (None, -1):
        label += f", ≤ {cfg.trainer.max_steps} steps"
    if cfg.trainer.get("max_time"):
        label += f", ≤ {cfg.trainer.max_time} training time"
    limit = cfg.trainer.get("limit_train_batches")
    if cfg.task == "fit" and limit not in (None, 1.0):
        label += f", limit_train_batches={limit}"
    return label


def write_run_record(
    cfg: DictConfig, trainer: Any, metrics: dict[str, float], run_dir: Path, started: float, ckpt: str | None
) -> None:
    from zoo.provenance import environment_record, hardware_label

    env = environment_record(cfg.paths.root_dir, checked_seed(cfg.seed), time.time() - started)
    env["world_size"] = trainer.world_size
    atomic_write_json(run_dir / "environment.json", env)
    paper = OmegaConf.to_container(cfg.get("paper") or {}, resolve=True)
    record = {
        "experiment": cfg.name,
        "task": cfg.task,
        "seed": checked_seed(cfg.seed),
        "debug": bool(cfg.get("is_debug")) or bool(cfg.trainer.get("fast_dev_run")),
        "hardware": hardware_label(
            env["device"], trainer.strategy.root_device.type, trainer.num_devices, str(trainer.precision)
        ),
        "budget": budget_label(cfg, trainer),
        "epochs": trainer.current_epoch
        if cfg.task == "fit" and fit_kind(trainer.lightning_module) in FITTING_KINDS
        else None,
        "overrides": list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else [],
        "checkpoint": ckpt,
        "wall_time_s": env["wall_time_s"],
        "metrics": metrics,
        "published": published_values(paper.get("metrics") or {}),
        "paper": {k: v for k, v in paper.items() if k != "metrics"},
    }
    atomic_write_json(run_dir / "metrics.json", record)
    if not record["debug"]:
        run_id = record_id(run_dir, Path(cfg.paths.log_dir))
        config = OmegaConf.to_container(cfg, resolve=True)
        path = write_record(Path(cfg.paths.results_dir), compact_record(record, env, config, run_id))
        log.info("Run record for the results tables: %s (commit it to back a number in the docs)", path)


def _publish_to_wandb(loggers: list[Any], metrics: dict[str, float], cfg: DictConfig) -> None:
    """W&B gets what the run dir gets: final metrics next to the published values, and the code version."""
    from pytorch_lightning.loggers import WandbLogger

    from zoo.provenance import git_state

    for logger in loggers:
        if isinstance(logger, WandbLogger):
            paper = OmegaConf.to_container(cfg.get("paper") or {}, resolve=True)
            summary = {f"final/{k}": v for k, v in metrics.items()}
            summary.update(
                {f"published/{k}": v for k, v in published_values(paper.get("metrics") or {}).items()}
            )
            logger.experiment.summary.update(summary)
            logger.experiment.config.update({"git": git_state(cfg.paths.root_dir)}, allow_val_change=True)


def _finish_wandb() -> None:
    """Close the W&B run so multirun jobs do not merge into one run."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def objective(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """The number a sweeper optimises; a non-finite value fails the trial instead of killing the study."""
    name = cfg.get("optimized_metric")
    if not name:
        return None
    if name not in metrics:
        raise UserError(
            f"optimized_metric '{name}' was not logged",
            where="optimized_metric",
            fix=f"choose one of: {', '.join(sorted(metrics))}",
        )
    value = metrics[name]
    if not math.isfinite(value):
        raise FloatingPointError(f"{name} = {value}: this trial is recorded as failed and the sweep goes on")
    return value
