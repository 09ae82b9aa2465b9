from pathlib import Path

import pytest
import torch

from zoo.io import atomic_torch_save, atomic_write, atomic_write_json


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "data.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert target.read_text().strip().endswith("}") and '"a": 2' in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]


def test_crash_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "cache.pt"
    atomic_torch_save({"x": torch.ones(3)}, target)

    def crash(handle) -> None:
        handle.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert torch.equal(torch.load(target)["x"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.pt"]


def test_atomic_write_png_scales_unit_range_images(tmp_path) -> None:
    import numpy as np
    from PIL import Image

    from zoo.io import atomic_write_png

    path = atomic_write_png(tmp_path / "x.png", np.array([[0.0, 0.5], [1.0, 2.0]]))
    assert np.asarray(Image.open(path)).tolist() == [[0, 128], [255, 255]]
