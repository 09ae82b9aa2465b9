"""The UD-TN sample: 26 files, 25 distinct images (one file in two folders), labels from the folder names."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datamodules.ultrasound.udtn import read_udtn
from zoo.errors import UserError


def test_real_sample_counts_and_the_duplicate(ultrasound_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        images, duplicates = read_udtn(ultrasound_dir / "UD-TN_sample")
    assert len(images) == 25 and len(images) + len(duplicates) == 26
    assert sum(i.label == 0 for i in images) == 12 and sum(i.label == 1 for i in images) == 13
    assert duplicates == [("Sample of Smalltest/Benign/1000052.jpg", "Sample of Testdata/Benign/1000052.jpg")]
    kept = next(i for i in images if i.key == "1000052")
    assert kept.tags["subsets"] == "Testdata+Smalltest" and kept.mask is None
    assert "1000052.jpg has the same bytes as" in caplog.text
    assert all(i.key.startswith("1" if i.label == 0 else "2") for i in images)  # upstream id convention


def _write(root: Path, subset: str, label: str, name: str, value: int) -> Path:
    folder = root / f"Sample of {subset}" / label
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 30, 3), value, dtype=np.uint8)).save(folder / name)
    return folder / name


def test_synthetic_sample(tmp_path: Path) -> None:
    _write(tmp_path, "Traindata", "Benign", "1000001.jpg", 50)
    _write(tmp_path, "Testdata", "Malignant", "2000001.jpg", 90)
    copy = _write(tmp_path, "Testdata", "Benign", "1000002.jpg", 120)
    (tmp_path / "Sample of Smalltest" / "Benign").mkdir(parents=True)
    shutil.copy(copy, tmp_path / "Sample of Smalltest" / "Benign" / "1000002.jpg")
    images, duplicates = read_udtn(tmp_path)
    assert [(i.key, i.label, i.tags["subsets"]) for i in images] == [
        ("1000001", 0, "Traindata"), ("1000002", 0, "Testdata+Smalltest"), ("2000001", 1, "Testdata"),
    ]  # fmt: skip
    assert len(duplicates) == 1


def test_the_same_bytes_under_two_labels_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "Testdata", "Benign", "1000002.jpg", 120)
    (tmp_path / "Sample of Smalltest" / "Malignant").mkdir(parents=True)
    shutil.copy(path, tmp_path / "Sample of Smalltest" / "Malignant" / "1000002.jpg")
    with pytest.raises(UserError, match="same image under different labels"):
        read_udtn(tmp_path)


def test_an_empty_folder_says_the_layout(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Sample of"):
        read_udtn(tmp_path)
