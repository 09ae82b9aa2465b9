"""The pair sampler: reproducible draws, the gap limit, held-out validation tracks, and bad sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamodules.tracking.pairs import PairDataModule, PairStream, read_tracks
from tests.datamodules.tracking.conftest import make_otb_folder
from zoo.errors import UserError


def _sources(root: Path) -> list[dict]:
    for name, frames in (("A", 30), ("B", 6)):
        make_otb_folder(root / "OTB", name, frames=frames)
    return [{"layout": "otb", "path": str(root / "OTB"), "sequences": ["A", "B"]}]


def test_pairs_are_reproducible_per_epoch_and_within_the_gap(tmp_path: Path) -> None:
    tracks = read_tracks(_sources(tmp_path)[0])
    stream = PairStream(tracks, length=50, max_gap=3, seed=0)
    first = [stream[i] for i in range(50)]
    again = [stream[i] for i in range(50)]
    assert all(
        (a["z_box"] == b["z_box"]).all() and (a["x_box"] == b["x_box"]).all()
        for a, b in zip(first, again, strict=True)
    )
    # the toy boxes move 1 px per frame: the x offset is the frame gap
    gaps = [abs(float(item["x_box"][0] - item["z_box"][0])) for item in first]
    assert max(gaps) <= 3 and min(gaps) >= 1
    stream.set_epoch(1)
    assert any((stream[i]["z_box"] != first[i]["z_box"]).any() for i in range(50))


def test_validation_tracks_are_held_out(tmp_path: Path) -> None:
    dm = PairDataModule(
        _sources(tmp_path), val_tracks=["otb/B"], pairs_per_epoch=8, val_pairs=4, batch_size=4
    )
    dm.setup("fit")
    assert [t.name for t in dm.train_tracks] == ["otb/A"] and [t.name for t in dm.val_tracks] == ["otb/B"]
    batch = next(iter(dm.val_dataloader()))
    assert len(batch["z_frame"]) == 4 and batch["z_box"].shape == (4, 4)
    assert all(float(box[0]) < 10 + 6 for box in batch["x_box"])  # only B's 6 frames


def test_bad_sources_are_paragraphs(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not among the sources"):
        PairDataModule(_sources(tmp_path), val_tracks=["otb/C"]).setup("fit")
    with pytest.raises(UserError, match="every track"):
        PairDataModule(_sources(tmp_path), val_tracks=["otb/A", "otb/B"]).setup("fit")
    with pytest.raises(UserError):
        read_tracks({"layout": "youtube", "path": str(tmp_path)})
    with pytest.raises(UserError, match="empty"):
        PairDataModule([])
    with pytest.raises(UserError, match="no path"):
        read_tracks({"layout": "otb", "sequences": ["A"]})
