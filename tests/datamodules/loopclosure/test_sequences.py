"""Frame readers: the real Lip6 Outdoor folder, synthetic frames in each public layout, Corridor, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamodules.loopclosure.ground_truth import load_ground_truth
from datamodules.loopclosure.sequences import (
    LAYOUTS,
    check_count,
    image_folder,
    list_frames,
    load_frames,
    read_corridor,
    read_rgb,
    select_camera,
)
from tests.datamodules.loopclosure.conftest import write_frames
from zoo.errors import UserError


def test_lip6_outdoor_frames_match_the_matrix(loopclosure_dir: Path, lip6_images: Path) -> None:
    layout = LAYOUTS["lip6outdoor"]
    assert image_folder(loopclosure_dir, layout) == lip6_images
    frames = list_frames(lip6_images, layout.pattern)
    assert len(frames) == 1063 and frames[0].name == "outdoor_kennedylong_000000.jpg"
    assert frames[-1].name == "outdoor_kennedylong_001062.jpg"
    truth = load_ground_truth(loopclosure_dir / layout.ground_truth, layout.variable)
    check_count(frames, truth.size, "lip6")
    pixels = load_frames(frames[:3], None)
    assert pixels.shape == (3, 3, 192, 240) and pixels.dtype == np.uint8
    assert load_frames(frames[:2], (96, 120)).shape == (2, 3, 96, 120)


def test_corridor_real(loopclosure_dir: Path) -> None:
    corridor = read_corridor(loopclosure_dir / "VPRBench_corridor")
    assert len(corridor.ref) == len(corridor.query) == 111
    q, r = np.indices(corridor.matches.shape)
    assert np.array_equal(corridor.matches, np.abs(q - r) <= 2)  # query i matches ref i-2 … i+2
    frames, matrix = corridor.as_sequence()
    assert len(frames) == 222 and matrix.shape == (222, 222) and matrix[111 + 5, 3] and not matrix[3, 116]


# dataset -> (folder under root, file names of 4 frames in time order, written shuffled)
LAYOUT_FILES = {
    "lip6outdoor": ("Lip6Outdoor/images", [f"outdoor_kennedylong_{k:06d}.ppm" for k in range(4)]),
    "lip6indoor": ("Lip6Indoor/images", [f"indoor_lip6_{k:06d}.ppm" for k in range(4)]),
    "newcollege": ("NewCollege/Images", [f"{k:04d}.jpg" for k in (1, 2, 9, 10)]),
    "citycentre": ("CityCentre/Images", [f"{k:04d}.jpg" for k in (8, 9, 10, 11)]),
    "bovisa_outdoor": (
        "Bovisa_2008-10-04/FRONTAL",
        [f"FRONTAL_{t}.png" for t in ("99.5", "100.25", "100.5", "1000")],
    ),
    "bovisa_mixed": ("Bovisa_2008-10-06/FRONTAL", [f"FRONTAL_{t}.png" for t in ("7", "8", "9", "10")]),
    "kitti00": ("KITTI/sequences/00/image_2", [f"{k:06d}.png" for k in range(4)]),
    "kitti06": ("KITTI/sequences/06/image_0", [f"{k:06d}.png" for k in range(8, 12)]),
}


@pytest.mark.parametrize("dataset", sorted(LAYOUT_FILES))
def test_public_layouts_in_time_order(tmp_path: Path, dataset: str) -> None:
    folder, names = LAYOUT_FILES[dataset]
    suffix = Path(names[0]).suffix
    order = [2, 0, 3, 1]
    for k in order:  # written out of order: the reader must sort by number, not by file age or string
        write_frames(tmp_path / folder, [names[k]], size=(4, 5))
        (tmp_path / folder / names[k]).rename(tmp_path / folder / f"tmp{k}{suffix}")
    for k in order:
        (tmp_path / folder / f"tmp{k}{suffix}").rename(tmp_path / folder / names[k])
    (tmp_path / folder / "notes.txt").write_text("not a frame")
    layout = LAYOUTS[dataset]
    found = image_folder(tmp_path, layout)
    assert found == tmp_path / folder
    assert [p.name for p in list_frames(found, layout.pattern)] == names


def test_frame_numbers_sort_numerically(tmp_path: Path) -> None:
    names = ["9.jpg", "10.jpg", "100.jpg", "11.jpg"]
    write_frames(tmp_path, names)
    assert [p.name for p in list_frames(tmp_path, LAYOUTS["newcollege"].pattern)] == [
        "9.jpg", "10.jpg", "11.jpg", "100.jpg"
    ]  # fmt: skip


def test_pixels_follow_the_order(tmp_path: Path) -> None:
    names = [f"outdoor_kennedylong_{k:06d}.png" for k in (0, 1, 2)]
    write_frames(tmp_path, names)
    pixels = load_frames(list_frames(tmp_path, LAYOUTS["lip6outdoor"].pattern), None)
    assert pixels[:, 0, 0, 0].tolist() == [0, 1, 2]


def test_interleaved_cameras(tmp_path: Path) -> None:
    frames = write_frames(tmp_path, [f"{k:04d}.jpg" for k in range(1, 7)])
    assert [p.name for p in select_camera(frames, 2, "left", "x")] == ["0001.jpg", "0003.jpg", "0005.jpg"]
    assert [p.name for p in select_camera(frames, 2, "right", "x")] == ["0002.jpg", "0004.jpg", "0006.jpg"]
    assert len(select_camera(frames, 2, "both", "x")) == 6
    with pytest.raises(UserError, match="interleaved"):
        select_camera(frames[:5], 2, "left", "x")


def test_count_mismatch_names_the_gap(tmp_path: Path) -> None:
    frames = write_frames(tmp_path, [f"outdoor_kennedylong_{k:06d}.png" for k in (0, 1, 3)])
    with pytest.raises(
        UserError, match=r"3 frames but the ground-truth matrix is 4 × 4; .*jumps from 1 to 3"
    ):
        check_count(frames, 4, str(tmp_path))


def test_duplicate_frame_number_is_refused(tmp_path: Path) -> None:
    write_frames(tmp_path, ["outdoor_kennedylong_000000.jpg", "outdoor_kennedylong_000000.ppm"])
    with pytest.raises(UserError, match="two files are frame 000000"):
        list_frames(tmp_path, LAYOUTS["lip6outdoor"].pattern)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    frames = write_frames(tmp_path, ["0001.jpg", "0002.jpg"])
    frames[1].write_bytes(b"\xff\xd8\xff garbage, not a JPEG")
    with pytest.raises(UserError, match="cannot decode") as err:
        load_frames(frames, (4, 4))
    assert str(frames[1]) in str(err.value)
    with pytest.raises(UserError, match="missing"):
        read_rgb(tmp_path / "0003.jpg")


def test_frames_of_other_sizes_need_image_size(tmp_path: Path) -> None:
    write_frames(tmp_path, ["0001.png"], size=(4, 4))
    write_frames(tmp_path / "b", ["0002.png"], size=(5, 4))
    frames = [tmp_path / "0001.png", tmp_path / "b" / "0002.png"]
    with pytest.raises(UserError, match="image_size"):
        load_frames(frames, None)
    assert load_frames(frames, (3, 3)).shape == (2, 3, 3, 3)


def test_corridor_bad_ground_truth(tmp_path: Path) -> None:
    for part in ("query", "ref"):
        write_frames(tmp_path / part, [f"{k:07d}.jpg" for k in range(3)])
    with pytest.raises(UserError, match="pickle"):
        read_corridor(tmp_path)
    (tmp_path / "ground_truth.txt").write_text("0: 0,1\n1: 0,1,2\n")
    with pytest.raises(UserError, match="1 queries have no line"):
        read_corridor(tmp_path)
    (tmp_path / "ground_truth.txt").write_text("0: 0,1\n1: 0,1,2\n2: 3\n")
    with pytest.raises(UserError, match="refs < 3") as err:
        read_corridor(tmp_path)
    assert "line 3" in str(err.value)
    (tmp_path / "ground_truth.txt").write_text("# header\n0: 0,1\n1: 0,1,2\n2: 1,2\n")
    assert read_corridor(tmp_path).matches.sum() == 7
