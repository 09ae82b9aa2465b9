"""OTB2015.json and the sequence lists: counts from MANIFEST.md, name keys, frame ranges, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamodules.tracking import OTB_FRAME_RANGES, read_otb_annotations, read_sequence_list, sequence_key
from zoo.errors import UserError


@pytest.fixture(scope="module")
def annotations(tracking_dir: Path):
    return read_otb_annotations(tracking_dir / "annotations" / "OTB2015.json")


def test_otb2015_has_100_sequences_and_59035_boxes(annotations) -> None:
    assert len(annotations) == 100
    assert sum(len(a) for a in annotations.values()) == 59_035
    assert annotations["jogging1"].key == "jogging_1" and annotations["jogging1"].name == "Jogging"


def test_the_frame_range_table_matches_the_2015_image_files(annotations) -> None:
    for key, (first, last) in OTB_FRAME_RANGES.items():
        entry = annotations[key]
        assert (entry.first_frame, entry.first_frame + len(entry) - 1) == (first, last), key
    odd_starts = {key for key, entry in annotations.items() if entry.first_frame != 1}
    assert odd_starts <= set(OTB_FRAME_RANGES)


def test_cvpr13_lists_51_annotated_sequences_and_reads_every_tag(tracking_dir: Path, annotations) -> None:
    sequences = read_sequence_list(tracking_dir / "annotations" / "lists" / "cvpr13.txt")
    assert len(sequences) == 51
    assert all(sequence_key(name) in annotations for name in sequences)
    # written "IV ,SV", "SV, OCC ,IPR, OPR" and "SV, OCC, DEF," in the file
    assert sequences["Car4"] == ("IV", "SV")
    assert sequences["Girl"] == ("SV", "OCC", "IPR", "OPR")
    assert sequences["Walking"] == ("SV", "OCC", "DEF")
    assert sum("Tiger1" == name for name in sequences) == 1


def test_sequence_keys_ignore_case_dashes_and_underscores() -> None:
    assert sequence_key("Jogging-1") == sequence_key("jogging_1") == "jogging1"
    assert sequence_key("BasketBall") == sequence_key("basketball")


def test_malformed_json_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "OTB2015.json"
    path.write_text('{\n"couple": {"name": "Couple",\n "gt_rect": [[1, 2, 3, 4]]\n')
    with pytest.raises(UserError, match="not valid JSON") as err:
        read_otb_annotations(path)
    assert f"{path}, line" in str(err.value)


def _annotation_file(tmp_path: Path, rows: list, files: int | None = None) -> Path:
    path = tmp_path / "OTB2015.json"
    entry = {
        "name": "Toy",
        "image_files": [f"{i + 1:04d}.jpg" for i in range(files or len(rows))],
        "gt_rect": rows,
    }
    path.write_text(json.dumps({"toy": entry}))
    return path


@pytest.mark.parametrize(
    ("rows", "files", "problem"),
    [
        ([[1, 2, 3, 4], [1, 2, "x", 4]], None, "gt_rect row 2"),
        ([[1, 2, 3, 4], [1, 2, float("nan"), 4]], None, "gt_rect row 2"),
        ([[1, 2, 0, 4], [1, 2, 3, 4]], None, "no area"),
        ([[1, 2, 3, 4]], 2, "1 boxes for 2 image files"),
    ],
)
def test_bad_annotation_entries_are_refused(
    tmp_path: Path, rows: list, files: int | None, problem: str
) -> None:
    path = _annotation_file(tmp_path, rows, files)
    with pytest.raises(UserError, match=problem) as err:
        read_otb_annotations(path)
    assert str(path) in str(err.value) and "'toy'" in str(err.value)


def test_a_list_with_an_unknown_tag_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("Couple\tSV, DEF\nCrossing\tSV, WOBBLE\n")
    with pytest.raises(UserError, match="WOBBLE") as err:
        read_sequence_list(path)
    assert f"{path}, line 2" in str(err.value)


def test_a_list_naming_a_sequence_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("Jogging-1\tOCC\njogging_1\tOCC\n")
    with pytest.raises(UserError, match="twice") as err:
        read_sequence_list(path)
    assert "line 2" in str(err.value)
