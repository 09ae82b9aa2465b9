"""The shell around Hydra: the preflight sees the ``hydra.*`` node and conf/local, and errors become paragraphs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from zoo.errors import UserError
from zoo.workflow.cli import RecordSweepDir, check_usable_dir, preflight, report_errors

CONF = REPO_ROOT / "conf"


@pytest.fixture
def hub_marker(tmp_path: Path) -> tuple[Path, Path]:
    """A local torch.hub repo whose hubconf.py creates a marker file when anything loads it."""
    hub = tmp_path / "hub"
    hub.mkdir()
    marker = tmp_path / "hub_ran"
    (hub / "hubconf.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef model():\n    return 1\n")
    return hub, marker


def hostile_callback(hub: Path) -> str:
    return f"+hydra.callbacks.evil={{_target_: torch.hub.load, repo_or_dir: '{hub}', model: model, source: local}}"


def test_a_hostile_hydra_callback_is_refused_before_hydra_builds_it(hub_marker: tuple[Path, Path]) -> None:
    hub, marker = hub_marker
    with pytest.raises(UserError, match="hydra.callbacks.evil._target_"):
        preflight([hostile_callback(hub)], CONF, "run")
    with pytest.raises(UserError, match="hydra.callbacks.evil._target_"):
        preflight(["-m", "seed=0,1", hostile_callback(hub)], CONF, "run")
    assert not marker.exists()


def test_a_hostile_local_config_is_refused(hub_marker: tuple[Path, Path], tmp_path: Path) -> None:
    hub, marker = hub_marker
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    local = {"callbacks": {"evil": {"_target_": "torch.hub.load", "repo_or_dir": str(hub), "model": "model"}}}
    (conf / "local" / "default.yaml").write_text(yaml.safe_dump(local))
    with pytest.raises(UserError, match="callbacks.evil._target_"):
        preflight([], conf, "run")
    assert not marker.exists()


def test_the_shipped_sweep_and_launcher_configs_pass(tmp_path: Path) -> None:
    preflight(
        ["-m", "seed=0,1", "hparams_search=pyramnet_optuna", "hydra/launcher=submitit_slurm"], CONF, "run"
    )
    preflight(["experiment=learn_cora_clustering", "hydra/job_logging=default"], CONF, "run")


def test_experimental_rerun_would_unpickle_and_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="never unpickles"):
        preflight(["--experimental-rerun", str(tmp_path / "config.pickle")], CONF, "run")


def test_unusable_log_and_cache_folders_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    monkeypatch.setenv("ZOO_LOG_DIR", str(a_file))
    with pytest.raises(UserError, match="is a file, not a folder.*ZOO_LOG_DIR"):
        preflight([], CONF, "run")
    monkeypatch.setenv("ZOO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(a_file / "below"))
    with pytest.raises(UserError, match="cannot be created.*ZOO_CACHE_DIR"):
        preflight([], CONF, "run")
    check_usable_dir(tmp_path / "new" / "deeper", "paths.log_dir")  # creatable: fine


def _exit_code(entry, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        report_errors(entry)
    return stop.value.code, capsys.readouterr().err


def test_user_errors_become_one_paragraph(capsys: pytest.CaptureFixture, monkeypatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "")  # recorded, so the value report_errors sets is undone

    def fail() -> None:
        raise UserError("broken", where="x", fix="y")

    code, err = _exit_code(fail, capsys)
    assert code == 2 and err.strip() == "Error: broken. Where: x. Fix: y." and "Traceback" not in err


def test_a_bug_keeps_its_traceback_and_hydra_full_error_reraises(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "")  # recorded, so the value report_errors sets is undone

    def bug() -> None:
        raise KeyError("oops")

    code, err = _exit_code(bug, capsys)
    assert code == 1 and "Traceback" in err and "KeyError" in err
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(KeyError):
        report_errors(bug)


def test_a_sweep_whose_every_trial_failed_says_so_and_leaves_an_outcome_file(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "")  # recorded, so the value report_errors sets is undone
    monkeypatch.setattr(RecordSweepDir, "sweep_dir", tmp_path)

    def optuna_without_completed_trials() -> None:
        raise ValueError("No trials are completed yet.")

    code, err = _exit_code(optuna_without_completed_trials, capsys)
    assert code == 2 and "every trial of the sweep failed" in err and "Traceback" not in err
    outcome = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert outcome["best_params"] is None and outcome["completed_trials"] == 0
    assert os.environ.get("HYDRA_FULL_ERROR") == "1"  # what makes Hydra hand its errors to report_errors
