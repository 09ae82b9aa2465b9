import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from lightning_modules.components.base import ZooModule
from tests.conftest import compose_run_config
from zoo.errors import UserError
from zoo.workflow.pipeline import (
    _checkpoint_to_test,
    budget_label,
    check_multirun_strategy,
    objective,
)


def test_the_tested_checkpoint_is_the_monitored_best_or_the_last_one() -> None:
    trainer = SimpleNamespace(
        checkpoint_callbacks=[
            SimpleNamespace(monitor="val/rmse", best_model_path="best_epoch001.ckpt"),
            SimpleNamespace(monitor=None, best_model_path="last.ckpt"),
        ]
    )
    assert _checkpoint_to_test(trainer, "best") == "best_epoch001.ckpt"
    assert _checkpoint_to_test(trainer, "last") == "last.ckpt"
    assert _checkpoint_to_test(SimpleNamespace(checkpoint_callbacks=[]), "last") is None
    with pytest.raises(UserError, match="test_checkpoint"):
        _checkpoint_to_test(trainer, "final")


def test_objective_fails_the_trial_on_non_finite_values() -> None:
    cfg = OmegaConf.create({"optimized_metric": "val/acc_best"})
    assert objective(cfg, {"val/acc_best": 0.5}) == 0.5
    with pytest.raises(FloatingPointError, match="recorded as failed"):
        objective(cfg, {"val/acc_best": math.nan})
    with pytest.raises(UserError, match="was not logged"):
        objective(cfg, {"val/acc": 0.5})
    assert objective(OmegaConf.create({"optimized_metric": None}), {}) is None


def test_in_process_ddp_is_refused_under_multirun(tmp_path: Path) -> None:
    check_multirun_strategy(compose_run_config(["hardware=ddp"], tmp_path))  # a single run is fine
    with pytest.raises(UserError, match="ddp_spawn") as err:
        check_multirun_strategy(compose_run_config(["hardware=ddp"], tmp_path, multirun=True))
    assert err.value.sweep_fatal
    check_multirun_strategy(compose_run_config(["hardware=ddp_sim"], tmp_path, multirun=True))


def test_budget_label_names_every_bound_that_was_set() -> None:
    """Runs are grouped by this label: a step- or time-capped run must never share a row with an uncapped one."""
    from pytorch_lightning.callbacks import EarlyStopping

    trainer = SimpleNamespace(
        lightning_module=ZooModule(), callbacks=[EarlyStopping("val/loss", patience=5)], max_epochs=200
    )

    def label(**bounds) -> str:
        return budget_label(OmegaConf.create({"task": "fit", "trainer": bounds}), trainer)

    assert label() == "early stopping (patience 5, ≤ 200 epochs)"
    assert label(max_steps=-1, max_time=None) == label()
    assert label(max_steps=894) == "early stopping (patience 5, ≤ 200 epochs), ≤ 894 steps"
    assert label(max_time="00:00:17:00").endswith("≤ 00:00:17:00 training time")
    trainer.callbacks, trainer.current_epoch = [], 3
    assert label(limit_train_batches=10) == "3 epochs, limit_train_batches=10"
