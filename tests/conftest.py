"""Shared pytest fixtures: where the real data lives, and a quiet, offline environment for every test."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The data root (``DATA_DIR``, as CI sets it); tests that need real files skip when it is absent."""
    root = Path(os.environ.get("DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"data root {root} not found; set DATA_DIR to the shared data folder")
    return root


@pytest.fixture(scope="session", autouse=True)
def _run_records_stay_out_of_the_repo(tmp_path_factory: pytest.TempPathFactory):
    """Every finished run writes a committable record (zoo/records.py): tests keep theirs in a temp folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_RESULTS_DIR", str(tmp_path_factory.mktemp("results")))
        yield


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


def compose_run_config(overrides: list[str], output_dir: Path, multirun: bool = False):
    """Compose ``conf/run.yaml`` as ``run.py`` would, with the run dir at ``output_dir``.

    Returns the job config (without the ``hydra`` node) after registering the Hydra config globally, so
    ``${hydra:...}`` interpolations resolve inside the pipeline.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from zoo.resolvers import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("run", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
        if multirun:
            from hydra.types import RunMode

            cfg.hydra.mode = RunMode.MULTIRUN
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def run_cli(args: list[str], tmp_path: Path, timeout: float = 600, **env: str):
    """Run ``python run.py ARGS`` in a subprocess with logs and caches under ``tmp_path``."""
    import subprocess
    import sys

    environ = {
        **os.environ,
        "ZOO_LOG_DIR": str(tmp_path / "logs"),
        "ZOO_CACHE_DIR": str(tmp_path / "cache"),
        "WANDB_MODE": "offline",
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "run.py"), *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


#: Overrides that make the synthetic demo tiny: a full fit in a few seconds on 2 CPU cores.
TINY_SHAPES = [
    "experiment=pyramnet_shapes",
    "data.num_points=64",
    "data.train_per_class=8",
    "data.val_per_class=4",
    "data.test_per_class=4",
    "data.batch_size=16",
    "model.net.mid_channels=[32,64]",
    "model.net.head_channels=[64]",
    "model.net.fc_channels=[32,32]",
    "model.net.pan_out_channels=8",
    "trainer.enable_progress_bar=false",
    "~callbacks.model_summary",
]

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, 22 bytes of fields, file name length, extra length


def flip_tensor_bytes(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst``, inverting 4 bytes inside the largest tensor record; return its member name."""
    shutil.copyfile(src, dst)
    with zipfile.ZipFile(dst) as archive:
        records = [i for i in archive.infolist() if re.fullmatch(r"[^/]+/data/\d+", i.filename)]
    info = max(records, key=lambda i: i.file_size)
    assert info.compress_type == zipfile.ZIP_STORED and info.file_size >= 64
    raw = bytearray(dst.read_bytes())
    signature, name_len, extra_len = _LOCAL_HEADER.unpack_from(raw, info.header_offset)
    assert signature == b"PK\x03\x04"
    middle = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + info.file_size // 2
    for i in range(middle, middle + 4):
        raw[i] ^= 0xFF
    dst.write_bytes(bytes(raw))
    return info.filename
