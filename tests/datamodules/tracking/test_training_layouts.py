"""GOT-10k and ILSVRC2015-VID readers on folders laid out as the datasets ship (neither dataset is here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking.training_layouts import read_got10k, read_vid
from tests.datamodules.tracking.conftest import write_frames
from zoo.errors import UserError


def _got10k(root: Path, absent: str | None = "0\n1\n0\n") -> Path:
    folder = root / "train" / "GOT-10k_Train_000001"
    write_frames(folder, range(1, 4), digits=8)
    (folder / "groundtruth.txt").write_text("10,20,30,40\n11,20,30,40\n12,20,30,40\n")
    if absent is not None:
        (folder / "absence.label").write_text(absent)
    (root / "train" / "list.txt").write_text("GOT-10k_Train_000001\n")
    return folder


def test_got10k_boxes_become_one_based_and_absent_frames_invisible(tmp_path: Path) -> None:
    _got10k(tmp_path)
    (track,) = read_got10k(tmp_path)
    assert track.name == "got10k/GOT-10k_Train_000001" and len(track) == 3
    assert track.boxes[0].tolist() == [11.0, 21.0, 30.0, 40.0]
    assert track.visible.tolist() == [True, False, True]


def test_got10k_label_count_mismatch_is_named(tmp_path: Path) -> None:
    _got10k(tmp_path, absent="0\n0\n")
    with pytest.raises(UserError, match="2 absence labels for 3 boxes"):
        read_got10k(tmp_path)


def _vid_annotation(objects: list[tuple[int, tuple[int, int, int, int]]]) -> str:
    body = "".join(
        f"<object><trackid>{tid}</trackid><bndbox><xmax>{x1}</xmax><xmin>{x0}</xmin><ymax>{y1}</ymax>"
        f"<ymin>{y0}</ymin></bndbox></object>"
        for tid, (x0, y0, x1, y1) in objects
    )
    return f"<annotation>{body}</annotation>"


def test_vid_tracks_follow_each_trackid(tmp_path: Path) -> None:
    snippet = Path("ILSVRC2015_VID_train_0000") / "ILSVRC2015_train_00000000"
    images = tmp_path / "Data" / "VID" / "train" / snippet
    write_frames(images, range(3), digits=6)
    for path in images.glob("*.jpg"):
        path.rename(path.with_suffix(".JPEG"))
    labels = tmp_path / "Annotations" / "VID" / "train" / snippet
    labels.mkdir(parents=True)
    frames = [[(0, (10, 20, 39, 59)), (1, (0, 0, 9, 9))], [(0, (12, 20, 41, 59))], []]
    for t, objects in enumerate(frames):
        (labels / f"{t:06d}.xml").write_text(_vid_annotation(objects))
    tracks = read_vid(tmp_path)
    assert [t.name for t in tracks] == [f"vid/{snippet}/0", f"vid/{snippet}/1"]
    assert tracks[0].visible.tolist() == [True, True, False]
    np.testing.assert_array_equal(tracks[0].boxes[0], [11.0, 21.0, 30.0, 40.0])  # inclusive corners, 1-based
    assert tracks[1].visible.tolist() == [True, False, False]
    (labels / "000001.xml").write_text("<annotation><object><trackid>x</trackid></object></annotation>")
    with pytest.raises(UserError, match="trackid and bndbox"):
        read_vid(tmp_path)
