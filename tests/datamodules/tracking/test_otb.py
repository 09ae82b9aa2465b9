"""OTB sequence folders: the shared sequences parse with the right counts; each bad folder is a UserError that
names the file and the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamodules.tracking import (
    OTB_ATTRIBUTES,
    read_otb_annotations,
    read_otb_sequence,
    sequence_key,
)
from tests.datamodules.tracking.conftest import make_otb_folder, write_frames
from zoo.errors import UserError

# MANIFEST.md: frames evaluated, attributes (Surfer ships no attrs.txt).
SHARED = {
    "Couple": (140, ("SV", "DEF", "FM", "OPR", "BC")),
    "Crossing": (120, ("SV", "DEF", "FM", "OPR", "BC")),
    "Football1": (74, ("IPR", "OPR", "BC")),
    "DragonBaby": (113, ("SV", "OCC", "MB", "FM", "IPR", "OPR", "OV")),
    "Surfer": (376, ()),
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_sequences_parse_with_their_counts_and_match_the_2015_annotation(
    tracking_dir: Path, name: str
) -> None:
    sequence = read_otb_sequence(tracking_dir / "OTB" / name)
    frames, attributes = SHARED[name]
    assert len(sequence) == frames and sequence.boxes.shape == (frames, 4)
    assert sequence.boxes.dtype == np.float64 and sequence.attributes == attributes
    assert sequence.frames[0].name == "0001.jpg" and sequence.frames[-1].name == f"{frames:04d}.jpg"
    annotation = read_otb_annotations(tracking_dir / "annotations" / "OTB2015.json")[sequence_key(name)]
    np.testing.assert_array_equal(sequence.boxes, annotation.boxes)


def test_football1_scores_only_the_images_that_have_boxes(tracking_dir: Path) -> None:
    folder = tracking_dir / "OTB" / "Football1"
    assert len(list((folder / "img").glob("*.jpg"))) == 81
    assert len(read_otb_sequence(folder)) == 74


def test_tab_comma_and_space_separators_all_parse(tmp_path: Path) -> None:
    text = "1,2,3,4\n5\t6\t7\t8\n9 10  11 12\n13, 14,\t15 ,16\n\n"
    sequence = read_otb_sequence(make_otb_folder(tmp_path, frames=4, ground_truth=text))
    np.testing.assert_array_equal(sequence.boxes, np.arange(1, 17, dtype=float).reshape(4, 4))


def test_a_frame_range_selects_the_scored_images(tmp_path: Path) -> None:
    """As OTB does for David (images 300-770): the boxes belong to the range, not to the whole folder."""
    folder = make_otb_folder(tmp_path, frames=3)
    write_frames(folder / "img", range(4, 9))
    sequence = read_otb_sequence(folder, frames=(6, 8))
    assert [p.name for p in sequence.frames] == ["0006.jpg", "0007.jpg", "0008.jpg"]
    assert sequence.first_frame == 6


def test_attributes_split_on_commas_whatever_the_spacing(tmp_path: Path) -> None:
    """cvpr13.txt writes "IV ,SV" and "SV, OCC, DEF,": every tag counts."""
    folder = make_otb_folder(tmp_path, attrs="IV ,SV, DEF,")
    assert read_otb_sequence(folder).attributes == ("IV", "SV", "DEF")
    assert set(OTB_ATTRIBUTES) == {"IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR"}


def _refused(folder: Path, *needles: str) -> str:
    with pytest.raises(UserError) as err:
        read_otb_sequence(folder)
    message = str(err.value)
    for needle in needles:
        assert needle in message, message
    return message


def test_a_missing_frame_is_named(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=5)
    (folder / "img" / "0003.jpg").unlink()
    _refused(folder, "missing", str(folder / "img" / "0003.jpg"))


def test_a_missing_image_folder_is_named(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=2)
    for image in (folder / "img").iterdir():
        image.unlink()
    (folder / "img").rmdir()
    _refused(folder, "does not exist", str(folder / "img"))


def test_fewer_boxes_than_frames_is_refused_with_the_line(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=5, ground_truth="1,2,3,4\n5,6,7,8\n9,10,11,12\n")
    _refused(
        folder, "3 boxes for 5 frames", f"{folder / 'groundtruth_rect.txt'}, line 4", "frames=(first, last)"
    )


def test_more_boxes_than_frames_is_refused(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=2, ground_truth="1,2,3,4\n5,6,7,8\n9,10,11,12\n")
    _refused(folder, "3 boxes for 2 frames", "line 3")


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [("1,2,NaN,4", "NaN"), ("1,2,abc,4", "non-numeric"), ("1,2,3", "3 numbers"), ("1,2,inf,4", "NaN or inf")],
)
def test_bad_values_are_refused_with_file_and_line(tmp_path: Path, bad_line: str, problem: str) -> None:
    folder = make_otb_folder(tmp_path, frames=3, ground_truth=f"1,2,3,4\n5,6,7,8\n{bad_line}\n")
    _refused(folder, problem, f"{folder / 'groundtruth_rect.txt'}, line 3")


def test_a_zero_size_first_box_is_refused(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=2, ground_truth="10,20,0,40\n10,20,30,40\n")
    _refused(folder, "first box", "no area", f"{folder / 'groundtruth_rect.txt'}, line 1")


def test_a_later_absent_target_box_is_kept(tmp_path: Path) -> None:
    """OTB marks an absent target 0,0,0,0 (Board, Twinnings): data, not an error."""
    folder = make_otb_folder(tmp_path, frames=2, ground_truth="10,20,30,40\n0,0,0,0\n")
    assert read_otb_sequence(folder).boxes[1].tolist() == [0, 0, 0, 0]


def test_a_negative_size_is_refused(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=2, ground_truth="10,20,30,40\n1,2,-3,4\n")
    _refused(folder, "negative", "line 2")


def test_an_empty_line_inside_is_refused(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=3, ground_truth="1,2,3,4\n\n5,6,7,8\n")
    _refused(folder, "empty line", "line 2")


def test_a_missing_ground_truth_file_is_named(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, frames=2)
    (folder / "groundtruth_rect.txt").unlink()
    _refused(folder, "not found", str(folder / "groundtruth_rect.txt"))


def test_an_unknown_attribute_is_refused_with_the_line(tmp_path: Path) -> None:
    folder = make_otb_folder(tmp_path, attrs="SV, XYZ")
    _refused(folder, "XYZ", f"{folder / 'attrs.txt'}, line 1")
