"""Exemplar / search frame pairs for SiamFC's offline training, from any mix of tracking layouts.

SiamFC learns similarity from two frames of the same object at most ``max_gap`` frames apart. Each item is one
such pair, drawn reproducibly from ``(seed, epoch, index)``: a track (weighted by its number of visible frames), a
visible exemplar frame, a visible search frame within the gap. Frames are decoded here (in the loader's workers)
and cropped by the model, which owns SiamFC's crop geometry. Items: ``{"z_frame", "x_frame": uint8 [3, H, W],
"z_box", "x_box": float32 [4] (OTB x, y, w, h)}``; batches keep frames as lists (their sizes differ).

``sources`` lists where tracks come from, each ``{layout: otb | vot | got10k | vid, path: ..., sequences: [...]}``
(``sequences`` only for otb / vot: folder names under ``path``). The default config trains on the shared
sequences that OTB-2013 never evaluates (DragonBaby, Surfer, VOT bag), so the tracker is never tuned on its test
videos. ``val_tracks`` names the tracks held out for validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from datamodules.tracking.otb import read_otb_sequence
from datamodules.tracking.text import Track, visible_frames
from datamodules.tracking.training_layouts import read_got10k, read_vid
from datamodules.tracking.vot import read_vot_sequence
from zoo.errors import UserError, check_choice, positive_int

LAYOUTS = ("otb", "vot", "got10k", "vid")


def read_tracks(source: Mapping[str, Any]) -> list[Track]:
    """The tracks of one ``sources`` entry."""
    layout = str(source.get("layout", ""))
    check_choice(layout, LAYOUTS, "data.sources[].layout", "tracking layout")
    if "path" not in source:
        raise UserError(
            f"a data.sources entry ({layout}) has no path",
            where="data.sources[].path",
            fix="give the folder, e.g. {layout: otb, path: <DATA_DIR>/tracking/OTB, sequences: [Surfer]}",
        )
    path = Path(str(source["path"]))
    if layout == "got10k":
        return read_got10k(path)
    if layout == "vid":
        return read_vid(path)
    tracks = []
    for name in source.get("sequences") or []:
        if layout == "otb":
            seq = read_otb_sequence(path / name)
            boxes = seq.boxes
        else:
            seq = read_vot_sequence(path / name)
            boxes = seq.boxes.copy()
            boxes[:, :2] += 1.0  # VOT's pixel (0, 0) is OTB's (1, 1)
        tracks.append(Track(f"{layout}/{seq.name}", seq.frames, boxes, visible_frames(boxes)))
    return tracks


def _decode(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)


class PairStream(Dataset):
    """``length`` pairs per epoch; ``set_epoch`` changes which pairs an index draws."""

    def __init__(self, tracks: list[Track], length: int, max_gap: int, seed: int) -> None:
        self.tracks, self.length, self.max_gap, self.seed, self.epoch = tracks, length, max_gap, seed, 0
        visible = np.array([t.visible.sum() for t in tracks], dtype=np.float64)
        usable = visible >= 2
        if not usable.any():
            raise UserError(
                "no track has two frames showing its object, so no training pair can be drawn",
                where="data.sources",
                fix="add sequences (or check their ground truth)",
            )
        self.weights = np.where(usable, visible, 0.0) / visible[usable].sum()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        track = self.tracks[rng.choice(len(self.tracks), p=self.weights)]
        shown = np.flatnonzero(track.visible)
        z = int(rng.choice(shown))
        near = shown[(np.abs(shown - z) <= self.max_gap) & (shown != z)]
        x = int(rng.choice(near)) if len(near) else z
        return {
            "z_frame": _decode(track.frames[z]),
            "x_frame": _decode(track.frames[x]),
            "z_box": torch.as_tensor(track.boxes[z], dtype=torch.float32),
            "x_box": torch.as_tensor(track.boxes[x], dtype=torch.float32),
        }


def collate_pairs(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Frames stay lists (sizes differ between videos); boxes stack to ``[B, 4]``."""
    return {
        "z_frame": [item["z_frame"] for item in items],
        "x_frame": [item["x_frame"] for item in items],
        "z_box": torch.stack([item["z_box"] for item in items]),
        "x_box": torch.stack([item["x_box"] for item in items]),
    }


class PairDataModule(pl.LightningDataModule):
    """Training / validation pairs from ``sources``; validation draws from the ``val_tracks`` only."""

    def __init__(
        self,
        sources: list[Mapping[str, Any]],
        val_tracks: list[str] | None = None,
        pairs_per_epoch: int = 2000,
        val_pairs: int = 200,
        max_gap: int = 100,
        batch_size: int = 8,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if not sources:
            raise UserError("data.sources is empty", where="data.sources", fix="name at least one source")
        self.sources = [dict(s) for s in sources]
        self.val_names = list(val_tracks or [])
        self.pairs_per_epoch = positive_int(pairs_per_epoch, "data.pairs_per_epoch", "2000")
        self.val_pairs = positive_int(val_pairs, "data.val_pairs", "200")
        self.max_gap = positive_int(max_gap, "data.max_gap", "100 (SiamFC)")
        self.batch_size = positive_int(batch_size, "data.batch_size", "8 (SiamFC)")
        self.seed, self.num_workers, self.pin_memory = int(seed), int(num_workers), bool(pin_memory)
        self.train_tracks: list[Track] = []
        self.val_tracks: list[Track] = []

    def setup(self, stage: str | None = None) -> None:
        tracks = [track for source in self.sources for track in read_tracks(source)]
        unknown = set(self.val_names) - {t.name for t in tracks}
        if unknown:
            raise UserError(
                f"validation track(s) {', '.join(sorted(unknown))} are not among the sources' tracks "
                f"({', '.join(t.name for t in tracks[:6])}{' ...' if len(tracks) > 6 else ''})",
                where="data.val_tracks",
                fix="name tracks as <layout>/<sequence>, e.g. vot/bag",
            )
        self.val_tracks = [t for t in tracks if t.name in self.val_names]
        self.train_tracks = [t for t in tracks if t.name not in self.val_names]
        if not self.train_tracks:
            raise UserError(
                "every track is held out for validation", where="data.val_tracks", fix="hold out fewer"
            )

    def _loader(self, tracks: list[Track], length: int, seed: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            PairStream(tracks, length, self.max_gap, seed),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            collate_fn=collate_pairs,
            drop_last=shuffle,
        )

    def train_dataloader(self) -> DataLoader:
        loader = self._loader(self.train_tracks, self.pairs_per_epoch, self.seed, shuffle=True)
        loader.dataset.set_epoch(self.trainer.current_epoch if self.trainer is not None else 0)
        return loader

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_tracks:
            return []
        return self._loader(self.val_tracks, self.val_pairs, self.seed + 1, shuffle=False)  # fixed pairs

    def test_dataloader(self) -> DataLoader | list:
        """The held-out tracks' fixed pairs: nothing else is unseen (the tracking benchmark tests the tracker)."""
        return self.val_dataloader()
