from pathlib import Path

import torch

from datamodules.tensor_cache import load_or_build


def test_built_once_then_read_and_rebuilt_when_stale_or_broken(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    builds = []

    def build() -> dict:
        builds.append(1)
        return {"x": torch.arange(3)}

    assert torch.equal(load_or_build(path, "k1", build)["x"], torch.arange(3)) and len(builds) == 1
    assert torch.equal(load_or_build(path, "k1", build)["x"], torch.arange(3)) and len(builds) == 1
    load_or_build(path, "k2", build)  # another key: the old file is not trusted
    assert len(builds) == 2
    load_or_build(path, "k2", build, problem=lambda data: "too short" if len(data["x"]) < 4 else None)
    assert len(builds) == 3
    path.write_bytes(b"garbage")
    assert torch.equal(load_or_build(path, "k2", build)["x"], torch.arange(3)) and len(builds) == 4
    assert not list(tmp_path.glob("*.tmp"))
