"""The tracking DataModule: which sequences run, the frame stream's order, own folders, and the download path."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest
import torch

from datamodules.tracking import datamodule as tracking
from datamodules.tracking.datamodule import TrackingDataModule
from tests.datamodules.tracking.conftest import make_otb_folder
from zoo.errors import UserError


def test_otb2013_runs_the_sequences_with_images_and_names_the_rest(tracking_dir: Path, caplog) -> None:
    dm = TrackingDataModule(str(tracking_dir), vot_sequences=["bag"])
    with caplog.at_level(logging.WARNING):
        dm.setup("test")
    described = dm.describe()
    assert described["sequences"] == ["Couple", "Crossing", "Football1", "vot/bag"]
    assert described["lengths"] == [140, 120, 74, 196]
    assert described["attributes"]["Crossing"] == ["SV", "DEF", "FM", "OPR", "BC"]  # from cvpr13.txt
    assert "3 of 51 sequences have images" in caplog.text and "Basketball" in caplog.text


def test_the_stream_restarts_at_each_sequence_and_vot_boxes_become_one_based(tracking_dir: Path) -> None:
    dm = TrackingDataModule(
        str(tracking_dir), sequences=["Couple", "Football1"], vot_sequences=["bag"], max_frames=3
    )
    dm.setup("test")
    batches = list(dm.test_dataloader())
    assert [(int(b["sequence"]), int(b["index"])) for b in batches] == [
        (s, i) for s in range(3) for i in range(3)
    ]
    first = batches[0]
    assert first["frame"].dtype == torch.uint8 and first["frame"].shape == (1, 3, 240, 320)
    torch.testing.assert_close(first["box"][0], torch.tensor([51.0, 47.0, 25.0, 62.0]))  # Couple, line 1
    bag = dm.sequences[2]
    polygon = [
        float(v) for v in (tracking_dir / "VOT/bag/groundtruth.txt").read_text().splitlines()[0].split(",")
    ]
    assert bag.boxes[0][0] == pytest.approx(min(polygon[0::2]) + 1)
    couple = dm.sequences[0]  # a frame limit keeps the attribute tags and a visibility flag per kept frame
    assert couple.attributes and len(couple.visible) == len(couple.boxes) == 3


def test_requested_sequences_must_exist(tracking_dir: Path) -> None:
    with pytest.raises(UserError, match="Basketball"):
        TrackingDataModule(str(tracking_dir), sequences=["Couple", "Basketball"]).setup("test")
    with pytest.raises(UserError, match="not in otb2013"):
        TrackingDataModule(str(tracking_dir), sequences=["NoSuchVideo"]).setup("test")
    with pytest.raises(UserError, match="require"):
        TrackingDataModule(str(tracking_dir), require_all=True).setup("test")


def test_own_folders_run_with_benchmark_folders(tmp_path: Path) -> None:
    make_otb_folder(tmp_path / "OTB", "MyVideo", frames=4)
    dm = TrackingDataModule(str(tmp_path), benchmark="folders", sequences=["MyVideo"])
    dm.setup("test")
    assert dm.describe() == {
        "sequences": ["MyVideo"],
        "lengths": [4],
        "attributes": {"MyVideo": ["SV", "OCC"]},
    }
    with pytest.raises(UserError, match="folder names"):
        TrackingDataModule(str(tmp_path), benchmark="folders")
    with pytest.raises(UserError, match="max_frames"):
        TrackingDataModule(str(tmp_path), benchmark="folders", sequences=["MyVideo"], max_frames=1)


def test_a_missing_sequence_is_downloaded_and_extracted_when_asked(tmp_path: Path, monkeypatch) -> None:
    source = make_otb_folder(tmp_path / "site", "Couple", frames=3)
    archive = tmp_path / "site" / "Couple.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in source.rglob("*"):
            zf.write(path, path.relative_to(source.parent))
    lists = tmp_path / "data" / "annotations" / "lists"
    lists.mkdir(parents=True)
    (lists / "cvpr13.txt").write_text("Couple\tSV, DEF\n")
    monkeypatch.setattr(tracking, "OTB_SEQUENCE_URL", (tmp_path / "site").as_uri() + "/{name}.zip")
    dm = TrackingDataModule(str(tmp_path / "data"), download=True)
    dm.setup("test")
    assert dm.describe()["lengths"] == [3] and (tmp_path / "data" / "OTB" / "Couple" / "img").is_dir()
    assert not list((tmp_path / "data" / "OTB").glob(".*"))  # the staging folder is gone
    monkeypatch.setattr(tracking, "OTB_SEQUENCE_URL", (tmp_path / "nowhere").as_uri() + "/{name}.zip")
    (lists / "cvpr13.txt").write_text("Couple\tSV\nCrossing\tSV\n")
    with pytest.raises(UserError, match="Crossing .*download failed"):
        TrackingDataModule(str(tmp_path / "data"), download=True).setup("test")
