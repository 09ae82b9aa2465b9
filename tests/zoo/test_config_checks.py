from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import compose_run_config
from zoo.config_checks import (
    check_optimisers,
    check_run_dir,
    check_trainer,
    checked_seed,
    resolve_checkpoint_word,
)
from zoo.errors import UserError


@pytest.mark.parametrize("seed", [1.5, 1.0, -1, 2**32, "abc", True])
def test_bad_seeds_are_refused(seed: object) -> None:
    with pytest.raises(UserError, match="seed must be an integer"):
        checked_seed(seed)


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1, None])
def test_good_seeds_pass_unchanged(seed: int | None) -> None:
    assert checked_seed(seed) == seed


def test_the_shipped_trainer_config_passes(tmp_path: Path) -> None:
    for hardware in ("cpu", "ddp_sim", "gpu_bf16"):
        check_trainer(compose_run_config([f"hardware={hardware}"], tmp_path).trainer)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_epochs", "abc", "trainer.max_epochs must be an integer >= -1"),
        ("max_epochs", -5, "trainer.max_epochs must be an integer >= -1"),
        ("max_steps", 1.5, "trainer.max_steps must be an integer >= -1"),
        ("limit_train_batches", 1.5, "fraction in \\[0, 1\\]"),
        ("gradient_clip_val", -1.0, "gradient_clip_val must be a number >= 0"),
    ],
)
def test_bad_trainer_values_name_their_key(key: str, value: object, message: str, tmp_path: Path) -> None:
    trainer = OmegaConf.merge(OmegaConf.to_container(compose_run_config([], tmp_path).trainer), {key: value})
    with pytest.raises(UserError, match=message) as err:
        check_trainer(trainer)
    assert err.value.where == f"trainer.{key}"


def test_an_unknown_trainer_key_is_named_with_the_closest_real_one(tmp_path: Path) -> None:
    trainer = OmegaConf.create(
        {**OmegaConf.to_container(compose_run_config([], tmp_path).trainer), "max_epoch": 3}
    )
    with pytest.raises(UserError, match="no argument 'max_epoch'.*did you mean trainer.max_epochs"):
        check_trainer(trainer)


@pytest.mark.parametrize("lr", [-1.0, "abc", float("nan"), True])
def test_bad_learning_rates_are_refused_before_fitting(lr: object, tmp_path: Path) -> None:
    model = compose_run_config([], tmp_path).model
    check_optimisers(model)  # the shipped one passes
    model.optimizer.lr = lr
    with pytest.raises(UserError, match="optimiser's lr must be a finite number >= 0") as err:
        check_optimisers(model)
    assert err.value.where == "model.optimizer.lr"


def _finished_run(run_dir: Path) -> Path:
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"x")
    (run_dir / "checkpoints" / "best_epoch002.ckpt").write_bytes(b"x")
    (run_dir / "metrics.json").write_text("{}")
    (run_dir / ".hydra").mkdir()
    (run_dir / "run.log").write_text("log")
    return run_dir


def test_a_folder_holding_a_run_is_refused_unless_resumed_or_overwritten(tmp_path: Path) -> None:
    run_dir = _finished_run(tmp_path / "run")
    for task in ("fit", "test", "predict"):
        with pytest.raises(UserError, match="already holds a run .*overwrite=true"):
            check_run_dir(run_dir, task, None, overwrite=False)
    outside = tmp_path / "other" / "last.ckpt"
    with pytest.raises(UserError, match="already holds a run"):
        check_run_dir(run_dir, "fit", str(outside), overwrite=False)
    check_run_dir(run_dir, "fit", str(run_dir / "checkpoints" / "last.ckpt"), overwrite=False)  # a resume
    assert (run_dir / "metrics.json").exists()
    check_run_dir(run_dir, "fit", None, overwrite=True)
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "run.log"]
    check_run_dir(tmp_path / "fresh", "fit", None, overwrite=False)  # nothing there: nothing to refuse


def test_checkpoint_words_resolve_to_files_of_the_run_folder_or_fail(tmp_path: Path) -> None:
    run_dir = _finished_run(tmp_path / "run")
    assert resolve_checkpoint_word("last", run_dir) == str(run_dir / "checkpoints" / "last.ckpt")
    assert resolve_checkpoint_word("best", run_dir) == str(run_dir / "checkpoints" / "best_epoch002.ckpt")
    assert resolve_checkpoint_word("some/file.ckpt", run_dir) == "some/file.ckpt"
    assert resolve_checkpoint_word(None, run_dir) is None
    for word in ("last", "best"):
        with pytest.raises(UserError, match=f"ckpt_path={word} .* holds none"):
            resolve_checkpoint_word(word, tmp_path / "new_run")
