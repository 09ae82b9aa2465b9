"""Checkpoint loading refuses damaged, foreign and hostile files in one paragraph (real fit checkpoints)."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra.utils import instantiate

from tests.conftest import TINY_SHAPES, compose_run_config, flip_tensor_bytes
from zoo.checkpoints import (
    SafeCheckpointIO,
    load_checkpoint,
    translate_state_dict_mismatch,
    verify_checkpoint,
)
from zoo.errors import UserError

#: Makes ``torch.load(weights_only=None)`` unpickle anything on any torch, as torch < 2.6 does by default.
TORCH_BEFORE_2_6 = ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run dir from a one-epoch tiny fit: checkpoints/last.ckpt, best_epoch*.ckpt, overrides.yaml."""
    from zoo.workflow.pipeline import run

    out_dir = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=1"], out_dir))
    assert (out_dir / "checkpoints" / "last.ckpt").is_file()
    return out_dir


@pytest.fixture
def last_ckpt(fitted_run: Path) -> Path:
    return fitted_run / "checkpoints" / "last.ckpt"


class RunsACommand:
    """Unpickling this runs ``touch MARKER``: what a hostile checkpoint does under ``weights_only=False``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.marker}'",))


class PlainObject:
    """An arbitrary (harmless) class instance: still not something a weights-only load may build."""


def hostile_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    """A torch checkpoint whose unpickling would create ``marker``; returns (checkpoint, marker)."""
    marker = tmp_path / "marker"
    path = tmp_path / "hostile.ckpt"
    torch.save({"state_dict": {}, "payload": RunsACommand(marker)}, path)
    return path, marker


def test_a_real_checkpoint_loads_weights_only(last_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real_load = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    checkpoint = SafeCheckpointIO().load_checkpoint(last_ckpt)  # Lightning passes weights_only=None
    assert [call["weights_only"] for call in calls] == [True]
    expected = real_load(last_ckpt, weights_only=True)["state_dict"]
    assert checkpoint["state_dict"].keys() == expected.keys()
    assert all(torch.equal(checkpoint["state_dict"][k], v) for k, v in expected.items())
    assert load_checkpoint(last_ckpt, map_location="cpu")["epoch"] == 0
    assert verify_checkpoint(str(last_ckpt)) == last_ckpt


def test_bytes_flipped_inside_a_tensor_are_caught(last_ckpt: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.ckpt"
    member = flip_tensor_bytes(last_ckpt, damaged)
    with zipfile.ZipFile(damaged) as archive:  # still a well-formed zip: only the CRC-32 tells
        assert member in archive.namelist()
    for load in (verify_checkpoint, load_checkpoint, SafeCheckpointIO().load_checkpoint):
        with pytest.raises(UserError, match=rf"damaged: member '{re.escape(member)}' .*CRC-32") as caught:
            load(damaged)
        assert "Where: ckpt_path" in str(caught.value) and "Fix:" in str(caught.value)


def test_a_truncated_checkpoint_is_refused(last_ckpt: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.ckpt"
    data = last_ckpt.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a zip archive \\(truncated or corrupt\\)"):
        load_checkpoint(truncated)


def test_a_missing_checkpoint_names_the_ones_next_to_it(fitted_run: Path) -> None:
    with pytest.raises(UserError, match="does not exist.*last.ckpt"):
        verify_checkpoint(fitted_run / "checkpoints" / "lats.ckpt")


def test_a_zip_that_is_not_a_torch_checkpoint_is_refused(tmp_path: Path) -> None:
    for name in ("bundle/weights.bin", "data.pkl"):  # torch writes <name>/data.pkl, never a bare data.pkl
        path = tmp_path / "bundle.ckpt"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(name, b"not a pickle")
        with pytest.raises(UserError, match="zip archive but not a PyTorch checkpoint"):
            verify_checkpoint(path)


def test_a_checkpoint_with_a_missing_record_is_refused(last_ckpt: Path, tmp_path: Path) -> None:
    incomplete = tmp_path / "incomplete.ckpt"
    with zipfile.ZipFile(last_ckpt) as src, zipfile.ZipFile(incomplete, "w") as dst:
        dropped = next(n for n in src.namelist() if re.fullmatch(r"[^/]+/data/0", n))
        for name in src.namelist():
            if name != dropped:
                dst.writestr(name, src.read(name))
    assert verify_checkpoint(incomplete) == incomplete  # a valid zip with a data.pkl: torch itself complains
    with pytest.raises(UserError, match="incomplete or corrupt: torch could not read it"):
        load_checkpoint(incomplete)


def test_a_hostile_checkpoint_never_runs_its_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, marker = hostile_checkpoint(tmp_path)
    torch.load(path, weights_only=False)  # control: the file really is hostile
    assert marker.exists()
    marker.unlink()
    monkeypatch.setenv(*TORCH_BEFORE_2_6)
    with pytest.raises(UserError, match=r"other than tensors and plain containers \(\w+\.system\)"):
        load_checkpoint(path)
    with pytest.raises(UserError, match="can run arbitrary code"):
        SafeCheckpointIO().load_checkpoint(path, weights_only=False)  # the request is ignored
    assert not marker.exists()


def test_an_arbitrary_object_is_refused_and_named(tmp_path: Path) -> None:
    path = tmp_path / "object.ckpt"
    torch.save({"state_dict": {}, "obj": PlainObject()}, path)
    with pytest.raises(UserError, match=re.escape(f"({PlainObject.__module__}.PlainObject)")):
        load_checkpoint(path)


@pytest.mark.parametrize("stage", ["fit", "test", "predict"])
def test_lightning_loads_ckpt_path_through_the_safe_io(
    stage: str, last_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setter the pipeline uses is what ``fit``/``test``/``predict(ckpt_path=...)`` load through."""
    import pytorch_lightning as pl

    monkeypatch.setenv(
        *TORCH_BEFORE_2_6
    )  # Lightning passes weights_only=None: the old IO would run the payload

    cfg = compose_run_config(TINY_SHAPES, tmp_path / "run")
    datamodule, module = instantiate(cfg.data), instantiate(cfg.model)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.strategy.checkpoint_io = SafeCheckpointIO()
    hostile, marker = hostile_checkpoint(tmp_path)
    damaged = tmp_path / "damaged.ckpt"
    flip_tensor_bytes(last_ckpt, damaged)
    for bad, reason in ((hostile, "arbitrary code"), (damaged, "CRC-32")):
        with pytest.raises(UserError, match=reason):
            getattr(trainer, stage)(module, datamodule=datamodule, ckpt_path=str(bad))
    assert not marker.exists()


def test_a_checkpoint_of_another_model_configuration_is_explained(last_ckpt: Path, tmp_path: Path) -> None:
    cfg = compose_run_config([*TINY_SHAPES, "model.net.fc_channels=[16,16]"], tmp_path / "other")
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict") as caught:
        instantiate(cfg.model).load_state_dict(load_checkpoint(last_ckpt)["state_dict"])
    error = translate_state_dict_mismatch(caught.value, last_ckpt)
    assert isinstance(error, UserError)
    message = str(error)
    assert "net.classifier.0.weight [32, 64] in the checkpoint vs [16, 64] here" in message
    assert "torch.Size" not in message and "\n" not in message
    assert f"Where: ckpt_path={last_ckpt}" in message
    assert str(last_ckpt.parent.parent / "overrides.yaml") in message
    assert "model.net.fc_channels=[32,32]" in message and "experiment=pyramnet_shapes" in message


def test_missing_and_unexpected_keys_are_listed(last_ckpt: Path, tmp_path: Path) -> None:
    state = dict(load_checkpoint(last_ckpt)["state_dict"])
    dropped = [key for key in state if key.endswith(".weight")][:5]  # BatchNorm forgives a missing counter
    for key in dropped:
        del state[key]
    state["head.extra.weight"] = torch.zeros(1)
    module = instantiate(compose_run_config(TINY_SHAPES, tmp_path / "same").model)
    with pytest.raises(RuntimeError) as caught:
        module.load_state_dict(state)
    moved = tmp_path / "elsewhere.ckpt"  # not in a run's checkpoints/ folder: no overrides.yaml to point at
    message = str(translate_state_dict_mismatch(caught.value, moved))
    listed = re.search(r"5 keys missing from the checkpoint: ([^;(]+) \(\+2 more\)", message)
    assert listed and set(listed.group(1).split(", ")) < set(dropped)  # three named, in the module's order
    assert "1 key only in the checkpoint: head.extra.weight" in message
    assert "pick a checkpoint written by this experiment" in message


def test_other_errors_are_not_translated(last_ckpt: Path) -> None:
    assert translate_state_dict_mismatch(RuntimeError("CUDA out of memory"), last_ckpt) is None
    assert (
        translate_state_dict_mismatch(ValueError("Error(s) in loading state_dict for X"), last_ckpt) is None
    )
