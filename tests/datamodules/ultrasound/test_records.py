"""The shared file readers: a missing, unreadable or mis-sized file is a UserError naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datamodules.ultrasound.records import read_mask, read_rgb
from tests.datamodules.ultrasound.conftest import mask_rgb, synthetic_frame
from zoo.errors import UserError


def test_an_image_reads_as_uint8_rgb(tmp_path: Path) -> None:
    Image.fromarray(np.full((5, 7), 80, dtype=np.uint8)).save(tmp_path / "grey.png")
    rgb = read_rgb(tmp_path / "grey.png")
    assert rgb.shape == (5, 7, 3) and rgb.dtype == np.uint8 and (rgb == 80).all()


@pytest.mark.parametrize("content", [b"", b"not a jpeg at all", None])
def test_an_unreadable_image_is_named(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "1_1.a.jpg"
    if content is None:  # a truncated JPEG: the header decodes, the pixels do not
        buffer = tmp_path / "full.jpg"
        Image.fromarray(synthetic_frame(0).rgb).save(buffer)
        content = buffer.read_bytes()[:600]
    path.write_bytes(content)
    with pytest.raises(UserError, match="cannot decode") as err:
        read_rgb(path)
    assert err.value.where == str(path)


def test_a_missing_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="missing") as err:
        read_rgb(tmp_path / "nope.jpg")
    assert err.value.where == str(tmp_path / "nope.jpg")


def test_a_mask_is_its_green_fill_and_red_contour(tmp_path: Path) -> None:
    frame = synthetic_frame(0)
    Image.fromarray(mask_rgb(frame.mask)).save(tmp_path / "m.png")
    assert (read_mask(tmp_path / "m.png", frame.mask.shape) == frame.mask).all()


def test_a_mask_of_another_size_is_refused_naming_it(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((300, 500, 3), dtype=np.uint8)).save(tmp_path / "1_1.b.jpg")
    with pytest.raises(UserError, match="500×300 px but its image is 500×315") as err:
        read_mask(tmp_path / "1_1.b.jpg", (315, 500))
    assert err.value.where == str(tmp_path / "1_1.b.jpg")
