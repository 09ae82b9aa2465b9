"""Tracking benchmarks as a LightningDataModule: the test stage streams every frame of every sequence in order.

A tracker carries state from frame to frame and resets at each sequence's first frame, so the test loader yields
one frame per batch, sequence after sequence, never shuffled: ``{"frame": uint8 [1, 3, H, W], "box": float32
[1, 4] ground truth (OTB's 1-based x, y, w, h), "sequence": [1] index, "index": [1] frame number in the
sequence}``. ``describe()`` names the sequences, their lengths and attribute tags (the tracker's evaluator needs
them before the first frame).

Which sequences: ``benchmark`` picks a list (``otb2013``: the 51 of ``annotations/lists/cvpr13.txt``; ``otb2015``:
the 100 of ``tb_100.txt``) and the ones whose image folders are under ``root/OTB`` run; the others are named in
the log (``require_all=true`` refuses instead, ``download=true`` fetches each from the OTB site first).
``sequences`` narrows the list; ``vot_sequences`` adds folders in the VOT layout (``root/VOT/<name>``, polygons
turned into their bounding boxes, shifted from VOT's 0-based to OTB's 1-based pixels). Your own videos: put each
in the OTB layout (``<name>/img/0001.jpg ...`` + ``groundtruth_rect.txt``; only the first box is needed to
track, the rest to score) and name them in ``sequences`` with ``benchmark=folders``.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from datamodules.tracking.annotations import read_sequence_list
from datamodules.tracking.otb import read_otb_sequence
from datamodules.tracking.text import Track, sequence_key, visible_frames
from datamodules.tracking.vot import read_vot_sequence
from zoo.download import DownloadError, download_file
from zoo.errors import UserError, check_choice

log = logging.getLogger(__name__)

BENCHMARK_LISTS = {"otb2013": "cvpr13.txt", "otb2015": "tb_100.txt", "folders": None}
OTB_SEQUENCE_URL = "http://cvlab.hanyang.ac.kr/tracker_benchmark/seq/{name}.zip"


class FrameStream(Dataset):
    """Every frame of every sequence, sequence-major; decoding happens in the loader's workers."""

    def __init__(self, sequences: list[Track]) -> None:
        self.sequences = sequences
        self.items = [(s, i) for s, seq in enumerate(sequences) for i in range(len(seq.frames))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: int) -> dict[str, Any]:
        s, i = self.items[item]
        seq = self.sequences[s]
        with Image.open(seq.frames[i]) as image:
            pixels = np.array(image.convert("RGB"))
        return {
            "frame": torch.from_numpy(pixels).permute(2, 0, 1),
            "box": torch.as_tensor(seq.boxes[i], dtype=torch.float32),
            "sequence": s,
            "index": i,
        }


class TrackingDataModule(pl.LightningDataModule):
    """OTB / VOT sequences for one-pass evaluation (test stage only; offline training has its own data)."""

    def __init__(
        self,
        root: str,
        benchmark: str = "otb2013",
        sequences: list[str] | None = None,
        vot_sequences: list[str] | None = None,
        require_all: bool = False,
        download: bool = False,
        max_frames: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        check_choice(benchmark, tuple(BENCHMARK_LISTS), "data.benchmark", "tracking benchmark")
        if benchmark == "folders" and not sequences:
            raise UserError(
                "benchmark=folders needs the folder names",
                where="data.sequences",
                fix="list your OTB-layout folders under data.root/OTB, e.g. data.sequences=[MyVideo]",
            )
        if max_frames is not None and int(max_frames) < 2:
            raise UserError(
                f"data.max_frames must be null or at least 2, got {max_frames}",
                where="data.max_frames",
                fix="null scores whole sequences; a small number only shortens smoke tests",
            )
        self.root = Path(root)
        self.benchmark = benchmark
        self.names = list(sequences) if sequences else None
        self.vot_names = list(vot_sequences or [])
        self.require_all, self.download = bool(require_all), bool(download)
        self.max_frames = None if max_frames is None else int(max_frames)
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self._sequences: list[Track] | None = None

    # -- which sequences ----------------------------------------------------------------------------------
    def _listed(self) -> dict[str, tuple[str, ...]]:
        """{name: tags} of the benchmark, narrowed to ``sequences`` when given."""
        list_file = BENCHMARK_LISTS[self.benchmark]
        listed = (
            {} if list_file is None else read_sequence_list(self.root / "annotations" / "lists" / list_file)
        )
        if self.names is None:
            return listed
        by_key = {sequence_key(name): (name, tags) for name, tags in listed.items()}
        chosen: dict[str, tuple[str, ...]] = {}
        for name in self.names:
            if self.benchmark != "folders" and sequence_key(name) not in by_key:
                raise UserError(
                    f"sequence {name!r} is not in {self.benchmark}'s list ({list_file})",
                    where="data.sequences",
                    fix="use the list's names (e.g. Couple, Football1), or benchmark=folders for your own",
                )
            chosen[name] = by_key.get(sequence_key(name), (name, ()))[1]
        return chosen

    def _fetch(self, name: str) -> None:
        """Download and extract one OTB sequence zip into ``root/OTB`` (staged, then renamed)."""
        from torch_geometric.data import extract_zip

        url, staging = OTB_SEQUENCE_URL.format(name=name), self.root / "OTB" / f".{name}.download"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            download_file(url, staging / f"{name}.zip", sha256=None, where=f"data.download=true -> {url}")
            extract_zip(str(staging / f"{name}.zip"), str(staging))
            os.replace(staging / name, self.root / "OTB" / name)
        except DownloadError as err:
            raise UserError(
                f"OTB sequence {name} is not under {self.root / 'OTB'} and its download failed: {err.reason}",
                where="data.root / data.download",
                fix=f"download {url} by hand and extract it into {self.root / 'OTB'}, or leave the sequence out",
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _load(self) -> list[Track]:
        listed = self._listed()
        otb_root = self.root / "OTB"
        present = {sequence_key(p.name): p for p in otb_root.iterdir()} if otb_root.is_dir() else {}
        missing = [name for name in listed if sequence_key(name) not in present]
        if missing and self.download:
            for name in missing:
                self._fetch(name)
            present = {sequence_key(p.name): p for p in otb_root.iterdir()}
            missing = []
        if missing and (self.require_all or self.names is not None):
            raise UserError(
                f"{len(missing)} of the {len(listed)} requested sequences have no image folder under {otb_root}: "
                + ", ".join(missing[:8])
                + (" ..." if len(missing) > 8 else ""),
                where="data.root / data.sequences",
                fix="set data.download=true (the OTB site), copy the folders there, or leave them out of "
                "data.sequences (data.require_all=false runs the ones present)",
            )
        if missing:
            log.warning(
                "%s: %d of %d sequences have images under %s and run; the other %d are skipped (%s)",
                self.benchmark,
                len(listed) - len(missing),
                len(listed),
                otb_root,
                len(missing),
                ", ".join(missing),
            )
        sequences = []
        for name, tags in listed.items():
            if name in missing:
                continue
            otb = read_otb_sequence(present[sequence_key(name)])
            sequences.append(
                Track(otb.name, otb.frames, otb.boxes, visible_frames(otb.boxes), tags or otb.attributes)
            )
        for name in self.vot_names:
            vot = read_vot_sequence(self.root / "VOT" / name)
            boxes = vot.boxes.copy()
            boxes[:, :2] += 1.0  # VOT's pixel (0, 0) is OTB's (1, 1)
            sequences.append(Track(f"vot/{vot.name}", vot.frames, boxes, visible_frames(boxes)))
        if not sequences:
            raise UserError(
                f"no tracking sequence to run under {self.root}",
                where="data.root / data.sequences / data.vot_sequences",
                fix="point data.root (DATA_DIR/tracking) at the OTB / VOT folders, or set data.download=true",
            )
        if self.max_frames is not None:
            n = self.max_frames
            sequences = [
                Track(s.name, s.frames[:n], s.boxes[:n], s.visible[:n], s.attributes) for s in sequences
            ]
        return sequences

    @property
    def sequences(self) -> list[Track]:
        if self._sequences is None:
            self._sequences = self._load()
        return self._sequences

    def setup(self, stage: str | None = None) -> None:
        """Read every sequence's files now, so a bad one is named before the first frame is tracked."""
        _ = self.sequences

    def describe(self) -> dict[str, Any]:
        """Names, lengths and attribute tags of the sequences, in streaming order."""
        return {
            "sequences": [s.name for s in self.sequences],
            "lengths": [len(s.frames) for s in self.sequences],
            "attributes": {s.name: list(s.attributes) for s in self.sequences},
        }

    def test_dataloader(self) -> DataLoader:
        return DataLoader(
            FrameStream(self.sequences),
            batch_size=1,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )
