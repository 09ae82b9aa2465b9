"""DDTI's label.txt (TI-RADS → benign / malignant), its files, and the labels.csv consistency check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from datamodules.ultrasound.ddti import check_labels_csv, read_ddti, read_label_rows
from tests.datamodules.ultrasound.conftest import write_ddti
from zoo.errors import UserError

ROWS = [("1_1", "2"), ("1_2", "2"), ("2_1", "4c"), ("3_1", "None"), ("10_1", "5")]


@pytest.fixture
def ddti(tmp_path: Path) -> Path:
    return write_ddti(tmp_path / "DDTI", ROWS)


def test_real_ddti_counts_match_the_manifest(ultrasound_dir: Path) -> None:
    images, unlabelled = read_ddti(ultrasound_dir / "DDTI")
    assert len(images) == 470 and len(unlabelled) == 125
    assert sum(i.label == 0 for i in images) == 102 and sum(i.label == 1 for i in images) == 368
    assert len({i.case for i in images}) < len(images)  # several images per case
    check_labels_csv(ultrasound_dir / "labels.csv", images, unlabelled)  # the derived copy agrees


def test_real_folder_tags_are_not_diagnoses(ultrasound_dir: Path) -> None:
    """label.txt's 'bening' / 'maling' tags contradict the TI-RADS grade on 54 of their 129 rows."""
    images, _ = read_ddti(ultrasound_dir / "DDTI")
    tagged = [i for i in images if i.tags["folder"] != "na"]
    wrong = [i for i in tagged if (i.tags["folder"] == "maling") != (i.label == 1)]
    assert len(tagged) == 129 and len(wrong) == 54


def test_tirads_grades_map_to_labels_in_id_order(ddti: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        images, unlabelled = read_ddti(ddti)
    assert [(i.key, i.label, i.case) for i in images] == [
        ("1_1", 0, "1"), ("1_2", 0, "1"), ("2_1", 1, "2"), ("10_1", 1, "10"),
    ]  # fmt: skip
    assert unlabelled == ["3_1"]
    assert images[2].source == "label.txt line 3: TI-RADS 4c"
    assert "1 unlabelled (no TI-RADS grade) left out" in caplog.text


def test_an_image_without_a_label_row_counts_as_unlabelled(ddti: Path) -> None:
    shutil.copy(ddti / "1_1.a.jpg", ddti / "7_1.a.jpg")
    assert read_ddti(ddti)[1] == ["3_1", "7_1"]


@pytest.mark.parametrize("suffix, what", [(".a.jpg", "image"), (".b.jpg", "mask")])
def test_a_label_row_naming_a_missing_file_gives_file_and_line(ddti: Path, suffix: str, what: str) -> None:
    (ddti / f"2_1{suffix}").unlink()
    with pytest.raises(UserError, match=f"names {what} 2_1{suffix}, which is missing") as err:
        read_ddti(ddti)
    assert err.value.where == f"{ddti / 'label.txt'}:3"


@pytest.mark.parametrize(
    "line, problem",
    [
        ("4_1,na,solid,4a,F,40", "expected 9 comma-separated fields, got 6"),
        ("4_1,na,solid,None,None,None,6,F,40", "unknown TI-RADS grade '6'"),
        ("case4,na,solid,None,None,None,4a,F,40", "is not '<case>_<n>'"),
        ("1_2,na,solid,None,None,None,4a,F,40", r"listed twice \(lines 2 and 6\)"),
    ],
)
def test_malformed_rows_give_the_line(ddti: Path, line: str, problem: str) -> None:
    label_file = ddti / "label.txt"
    label_file.write_text(label_file.read_text() + line + "\n")
    with pytest.raises(UserError, match=problem) as err:
        read_label_rows(label_file)
    assert err.value.where == f"{label_file}:6"


def test_a_missing_label_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="label file is missing"):
        read_ddti(tmp_path)


def test_a_disagreeing_labels_csv_is_refused_with_its_line(ddti: Path) -> None:
    images, unlabelled = read_ddti(ddti)
    csv = ddti.parent / "labels.csv"
    header = "path,mask,dataset,label,label_source,tirads,ddti_folder\r\n"
    csv.write_text(header + "DDTI/1_1.a.jpg,,DDTI,0,x,2,na\r\nDDTI/2_1.a.jpg,,DDTI,0,x,4c,na\r\n")
    with pytest.raises(UserError, match="labels.csv gives DDTI/2_1.a.jpg label 0") as err:
        check_labels_csv(csv, images, unlabelled)
    assert err.value.where == f"{csv}:3"
    csv.write_text(header + "DDTI/3_1.a.jpg,,DDTI,1,x,None,na\r\n")  # labelled there, ungraded here
    with pytest.raises(UserError, match="label 1"):
        check_labels_csv(csv, images, unlabelled)
    check_labels_csv(ddti.parent / "absent.csv", images, unlabelled)  # no file: nothing to check
