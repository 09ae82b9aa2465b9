"""The target allow-list: hostile targets that really run code when unchecked are refused, and nothing runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.conftest import REPO_ROOT
from zoo.errors import UserError
from zoo.targets import allowed_target, check_targets


class _TouchOnUnpickle:
    """Unpickling this runs ``os.system('touch <marker>')``: the classic hostile pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_nodes(tmp_path: Path) -> dict[str, tuple[dict, Path]]:
    """Config nodes that each create a marker file when Hydra instantiates them, keyed by the trick they use.

    (``torch.os.system`` and friends are refused too, see below; Hydra 1.3.8's own blocklist also stops those,
    so they cannot serve as a control here.)
    """
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "hubconf.py").write_text(
        f"open({str(tmp_path / 'hub_ran')!r}, 'w').close()\ndef model():\n    return 1\n"
    )
    script = tmp_path / "script.py"
    script.write_text(f"open({str(tmp_path / 'script_ran')!r}, 'w').close()\n")
    payload = tmp_path / "payload.pt"
    torch.save(_TouchOnUnpickle(tmp_path / "pickle_ran"), payload)
    return {
        "a local-file loader under torch.hub": (
            {"_target_": "torch.hub.load", "repo_or_dir": str(hub), "model": "model", "source": "local"},
            tmp_path / "hub_ran",
        ),
        "an unpickling load": (
            {"_target_": "torch.load", "f": str(payload), "weights_only": False},
            tmp_path / "pickle_ran",
        ),
        "a loader re-exported by the project": (
            {"_target_": "zoo.callbacks.torch.hub._import_module", "name": "script", "path": str(script)},
            tmp_path / "script_ran",
        ),
    }


@pytest.mark.parametrize(
    "trick",
    [
        "a local-file loader under torch.hub",
        "an unpickling load",
        "a loader re-exported by the project",
    ],
)
def test_hostile_targets_run_code_when_unchecked_and_are_refused(trick: str, tmp_path: Path) -> None:
    node, marker = hostile_nodes(tmp_path)[trick]
    cfg = OmegaConf.create({"callbacks": {"evil": node}})
    with pytest.raises(UserError, match="is not allowed"):
        check_targets(cfg)
    assert not marker.exists(), "the check ran the target"
    instantiate(node)  # the control: unchecked, the same node runs its code
    assert marker.exists(), "the hostile node should really execute something"


def test_interpolated_targets_are_checked_after_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOO_TEST_TARGET", "torch.os.system")
    with pytest.raises(UserError, match="torch.os.system"):
        check_targets(OmegaConf.create({"model": {"_target_": "${oc.env:ZOO_TEST_TARGET}"}}))
    created = OmegaConf.create({"model": "${oc.create:'{_target_: torch.os.system}'}"})
    with pytest.raises(UserError, match="torch.os.system"):
        check_targets(created)


def test_logging_factories_in_the_hydra_node_are_targets() -> None:
    cfg = OmegaConf.create({"hydra": {"job_logging": {"handlers": {"h": {"class": "torch.hub.load"}}}}})
    with pytest.raises(UserError, match="hydra.job_logging.handlers.h.class"):
        check_targets(cfg)
    formatter = OmegaConf.create({"hydra": {"hydra_logging": {"formatters": {"f": {"()": "torch.load"}}}}})
    with pytest.raises(UserError, match="torch.load"):
        check_targets(formatter)
    check_targets(OmegaConf.create({"data": {"class": "not a target outside logging configs"}}))


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("os.system", "not trusted"),
        ("torch.os.system", "posix.system"),
        ("zoo.workflow.pipeline.os.system", "posix.system"),
        ("builtins.eval", "not trusted"),
        ("torch.nn", "a module"),
        ("torch.__builtins__", "dunder"),
        ("torch.utils.data.Dataset", "not on the allow-list"),
        ("torchvision.datasets.CIFAR10", "not trusted"),  # unpickles its batch files
        ("zoo.io.atomic_write_text", "not a class"),
        ("../evil", "dotted import path"),
        (42, "dotted import path"),
    ],
)
def test_what_is_refused_and_why(target: object, why: str) -> None:
    with pytest.raises(UserError, match=why):
        allowed_target(target, "x._target_")


def test_a_misspelt_target_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="does not exist"):
        allowed_target("torch.optim.Adamm", "model.optimizer._target_")


def test_every_target_the_shipped_configs_use_is_allowed() -> None:
    """The allow-list must not break the project: every _target_ string in conf/ resolves to an allowed class."""
    targets = set()
    for path in (REPO_ROOT / "conf").rglob("*.yaml"):
        targets |= {
            line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if "_target_:" in line
        }
    assert len(targets) > 30
    for target in sorted(targets):
        allowed_target(target, target)
