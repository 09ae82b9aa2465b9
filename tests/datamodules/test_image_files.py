from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datamodules.image_files import read_rgb
from zoo.errors import UserError

FIXES = {"missing_fix": "put it back", "undecodable_fix": "replace it"}


def test_grey_images_come_back_as_rgb(tmp_path: Path) -> None:
    Image.fromarray(np.full((4, 5), 7, dtype=np.uint8)).save(tmp_path / "grey.png")
    rgb = read_rgb(tmp_path / "grey.png", **FIXES)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8 and (rgb == 7).all()


def test_missing_and_truncated_files_name_themselves_with_the_datasets_fix(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="put it back") as err:
        read_rgb(tmp_path / "nope.jpg", **FIXES)
    assert "nope.jpg" in str(err.value)
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(tmp_path / "whole.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:100])
    with pytest.raises(UserError, match="replace it") as err:
        read_rgb(tmp_path / "cut.jpg", **FIXES)
    assert "cut.jpg" in str(err.value) and "cannot decode" in str(err.value)
