"""VOT sequence folders: 8-digit frames, polygons to the polygons' bounding boxes, bad rows named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking import polygon_to_box, read_vot_sequence
from tests.datamodules.tracking.conftest import write_frames
from zoo.errors import UserError


def test_bag_parses_196_polygons_into_their_bounding_boxes(tracking_dir: Path) -> None:
    bag = read_vot_sequence(tracking_dir / "VOT" / "bag")
    assert len(bag) == 196 and bag.regions.shape == (196, 8) and bag.boxes.shape == (196, 4)
    assert bag.frames[0].name == "00000001.jpg" and bag.frames[-1].name == "00000196.jpg"
    # line 1 of groundtruth.txt: 334.02,128.36,438.19,188.78,396.39,260.83,292.23,200.41
    np.testing.assert_allclose(bag.boxes[0], [292.23, 128.36, 438.19 - 292.23, 260.83 - 128.36])
    xs, ys = bag.regions[:, 0::2], bag.regions[:, 1::2]
    np.testing.assert_allclose(bag.boxes[:, :2], np.stack([xs.min(axis=1), ys.min(axis=1)], axis=1))
    np.testing.assert_allclose(
        bag.boxes[:, :2] + bag.boxes[:, 2:], np.stack([xs.max(axis=1), ys.max(axis=1)], axis=1)
    )
    assert np.all(bag.boxes[:, 2:] > 0)


def test_polygon_to_box_of_a_rotated_square_and_of_a_batch() -> None:
    diamond = [5, 0, 10, 5, 5, 10, 0, 5]  # a square rotated by 45 degrees, centre (5, 5)
    np.testing.assert_array_equal(polygon_to_box(diamond), [0, 0, 10, 10])
    batch = np.array([diamond, [1, 2, 4, 2, 4, 6, 1, 6]], dtype=float)
    np.testing.assert_array_equal(polygon_to_box(batch), [[0, 0, 10, 10], [1, 2, 3, 4]])


def _vot_folder(root: Path, lines: list[str], frames: int) -> Path:
    folder = root / "toy"
    write_frames(folder, range(1, frames + 1), digits=8)
    (folder / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_a_row_of_seven_numbers_is_refused_with_the_line(tmp_path: Path) -> None:
    folder = _vot_folder(tmp_path, ["0,0,10,0,10,10,0,10", "0,0,10,0,10,10,0"], frames=2)
    with pytest.raises(UserError, match="7 numbers on line 2") as err:
        read_vot_sequence(folder)
    assert f"{folder / 'groundtruth.txt'}, line 2" in str(err.value)


def test_a_missing_vot_frame_is_named(tmp_path: Path) -> None:
    folder = _vot_folder(tmp_path, ["0,0,10,0,10,10,0,10"] * 3, frames=3)
    (folder / "00000002.jpg").unlink()
    with pytest.raises(UserError, match="missing") as err:
        read_vot_sequence(folder)
    assert str(folder / "00000002.jpg") in str(err.value)


def test_fewer_regions_than_frames_is_refused(tmp_path: Path) -> None:
    folder = _vot_folder(tmp_path, ["0,0,10,0,10,10,0,10"] * 2, frames=3)
    with pytest.raises(UserError, match="2 regions for 3 frames") as err:
        read_vot_sequence(folder)
    assert "line 3" in str(err.value)


def test_a_degenerate_first_polygon_is_refused(tmp_path: Path) -> None:
    folder = _vot_folder(tmp_path, ["5,5,5,5,5,5,5,5", "0,0,10,0,10,10,0,10"], frames=2)
    with pytest.raises(UserError, match="no area") as err:
        read_vot_sequence(folder)
    assert "line 1" in str(err.value)
