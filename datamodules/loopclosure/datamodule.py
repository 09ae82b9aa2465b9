"""Loop-closure image sequences as a LightningDataModule, for SeqDLF (ICONIP 2019, §4).

Nothing is trained on these sets: the predict / test loaders stream every kept frame in time order, never
shuffled, ``{"image": float32 [3, H, W] in [0, 1], "index": position in the kept sequence}``, and
``ground_truth()`` is the frame × frame bool matrix of the same frames (symmetric: ``[i, j]`` true when i and
j show the same place; ``tril(-1)`` gives the revisits of earlier frames a detector is scored on).

``root`` holds the layouts of ``sequences`` (the shared ``loopclosure`` folder for Lip6 Outdoor and Corridor).
``subsample`` keeps every ``subsample``-th frame from ``offset`` (``ground_truth.subsample``); None takes the
paper's rate: 2 for Lip6 Outdoor (1 Hz → 0.5 Hz: 532 frames with ``offset=0``, the paper's 531 with
``offset=1``), 30 for Bovisa (30 Hz → 1 Hz), 1 otherwise. ``camera``: ``left`` / ``right`` / ``both`` for the
interleaved New College and City Centre streams (the paper's NCleft/NCright, CCleft/CCright). Corridor is the
reference run followed by the query run (``describe()["segments"]``). ``dataset=frames`` is one's own sequence:
the images directly in ``root``, ordered by the number in their names, with ``ground_truth`` its n × n matrix.

Preprocessed frames (uint8) are cached under ``cache_dir/loopclosure`` as a ``.pt`` file keyed by the dataset,
frame list (names, sizes, mtimes), subsampling and image size, written atomically (temp file, then rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from datamodules import checks
from datamodules.loopclosure import sources
from datamodules.loopclosure.ground_truth import GroundTruth, load_ground_truth, subsample, subsample_indices
from datamodules.loopclosure.sequences import (
    LAYOUTS,
    check_count,
    image_folder,
    list_frames,
    load_frames,
    read_corridor,
    select_camera,
)
from datamodules.tensor_cache import load_or_build
from zoo.errors import UserError, check_choice, non_negative_int, positive_int

log = logging.getLogger(__name__)

CAMERAS = ("left", "right", "both")
PAPER_SUBSAMPLE = {"lip6outdoor": 2, "bovisa_outdoor": 30, "bovisa_mixed": 30}
READER_VERSION = "loopclosure-reader-1"  # part of the cache key


class SequenceFrames(Dataset):
    """The items of the module docstring over the preprocessed uint8 frames."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"image": self.images[index].float().div_(255.0), "index": index}


def image_shape(value: object) -> tuple[int, int] | None:
    """``image_size`` as (H, W): an int is a square, a pair is (H, W), None keeps each frame's size."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(positive_int(v, "data.image_size", "data.image_size=[192,240]") for v in value)  # type: ignore
    side = positive_int(value, "data.image_size", "data.image_size=224 (or [H, W], or null)")
    return side, side


class LoopClosureDataModule(pl.LightningDataModule):
    """One loop-closure sequence (see the module docstring for every option)."""

    def __init__(
        self,
        root: str,
        dataset: str = "lip6outdoor",
        subsample: int | None = None,
        offset: int = 0,
        camera: str = "left",
        image_size: int | list[int] | None = 224,
        ground_truth: str | None = None,
        ground_truth_variable: str | None = None,
        cache_dir: str | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool = False,
        download: bool = False,
        verify_checksums: bool = True,
    ) -> None:
        super().__init__()
        check_choice(dataset, LAYOUTS, "data.dataset", "loop-closure dataset")
        check_choice(camera, CAMERAS, "data.camera")
        self.root = checks.folder(root, "data.root")
        self.dataset, self.layout, self.camera = dataset, LAYOUTS[dataset], camera
        step = PAPER_SUBSAMPLE.get(dataset, 1) if subsample is None else subsample
        self.subsample = positive_int(step, "data.subsample", "data.subsample=2")
        self.offset = non_negative_int(offset, "data.offset")
        subsample_indices(0, self.subsample, self.offset)  # checks offset < subsample now, not at setup
        self.size = image_shape(image_size)
        self.ground_truth_path = None if ground_truth is None else Path(ground_truth).expanduser()
        self.ground_truth_variable = ground_truth_variable
        self.cache_dir = None if cache_dir is None else checks.folder(cache_dir, "data.cache_dir")
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=16")
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory, self.download = bool(pin_memory), bool(download)
        self.verify_checksums = bool(verify_checksums)
        self.cache_path: Path | None = None
        self.frames: list[Path] = []
        self.truth: GroundTruth | None = None
        self.images: torch.Tensor | None = None
        self.segments: dict[str, list[int]] = {}

    # ---- frames and ground truth -------------------------------------------------------------------------

    def _truth_file(self) -> Path:
        if self.ground_truth_path is not None:
            path = self.ground_truth_path
            return path if path.is_absolute() else self.root / path
        if self.layout.ground_truth is None:
            raise UserError(
                f"the shared data has no ground-truth matrix for {self.dataset}",
                where="data.ground_truth",
                fix="give the path of its n × n loop-closure matrix (.mat, .npy or pairs .txt)",
            )
        return self.root / self.layout.ground_truth

    def _sequence(self) -> tuple[list[Path], GroundTruth]:
        """Every frame of the chosen camera and its ground truth, before subsampling."""
        if self.dataset == "corridor":
            folder = self.root / "VPRBench_corridor"
            if not folder.is_dir():
                raise sources.missing(self.root, "corridor", "no Corridor folder", str(folder), self.download)
            corridor = read_corridor(folder)
            frames, matrix = corridor.as_sequence()
            nr = len(corridor.ref)
            self.segments = {"ref": [0, nr], "query": [nr, len(frames)]}
            return frames, GroundTruth(matrix | matrix.T, str(folder / "ground_truth.txt"), "lower",
                                       np.arange(len(frames)))  # fmt: skip
        folder = image_folder(self.root, self.layout)
        frames = [] if folder is None else list_frames(folder, self.layout.pattern)
        if not frames:
            expected = " or ".join(str(self.root / f) for f in self.layout.folders)
            raise sources.missing(
                self.root, self.dataset, f"no {self.dataset} frames", expected, self.download
            )
        truth = load_ground_truth(self._truth_file(), self.ground_truth_variable or self.layout.variable)
        where = f"{folder} (data.dataset={self.dataset})"
        if self.layout.cameras > 1:
            if self.layout.matrix_rows == "image":
                check_count(frames, truth.size, where)
                if self.camera != "both":
                    truth = subsample(truth, self.layout.cameras, CAMERAS.index(self.camera))
            elif self.camera == "both":  # one row per place: each camera of a place shares it
                k = self.layout.cameras
                matrix = np.repeat(np.repeat(truth.matrix, k, axis=0), k, axis=1)
                truth = GroundTruth(matrix, truth.source, truth.stored, np.arange(matrix.shape[0]))
            frames = select_camera(frames, self.layout.cameras, self.camera, where)
        check_count(frames, truth.size, where)
        return frames, truth

    def _cache_key(self) -> str:
        files = []
        for path in self.frames:
            stat = path.stat()
            files.append([path.name, stat.st_size, stat.st_mtime_ns])
        payload = {
            "reader": READER_VERSION,
            "dataset": self.dataset,
            "camera": self.camera,
            "subsample": [self.subsample, self.offset],
            "size": self.size,
            "files": files,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def _load(self, build_only: bool = False) -> None:
        frames, truth = self._sequence()
        keep = subsample_indices(len(frames), self.subsample, self.offset)
        self.frames = [frames[i] for i in keep]
        self.truth = subsample(truth, self.subsample, self.offset)
        if self.verify_checksums:
            sources.verify(self.root, self.frames + [Path(truth.source.split(":")[0])])
        if self.cache_dir is None:
            if not build_only:
                self.images = torch.from_numpy(load_frames(self.frames, self.size))
            return
        key = self._cache_key()
        size = "native" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        path = self.cache_path = self.cache_dir / "loopclosure" / f"{self.dataset}-{size}-{key}.pt"
        data = load_or_build(
            path,
            key,
            lambda: {"images": torch.from_numpy(load_frames(self.frames, self.size))},
            lambda cached: None if cached["images"].shape[0] == len(self.frames) else "frame count differs",
            f"{self.dataset} ({len(self.frames)} frames)",
        )
        self.images = None if build_only else data["images"]

    # ---- Lightning hooks ---------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Download missing pinned files when asked, then build the cache (one process per node)."""
        if self.download:
            self._download()
        if self.cache_dir is not None:
            self._load(build_only=True)

    def _download(self) -> None:
        if self.dataset == "corridor":
            sources.fetch_corridor(self.root)
            return
        if self.ground_truth_path is None and self.layout.ground_truth is not None:
            sources.fetch_ground_truth(self.root, self.layout.ground_truth)
        folder = image_folder(self.root, self.layout)
        if folder is not None and list_frames(folder, self.layout.pattern):
            return
        if self.dataset != "lip6outdoor":
            expected = str(self.root / self.layout.folders[0])
            raise sources.missing(self.root, self.dataset, f"no {self.dataset} frames", expected, True)
        fetched = sources.fetch_lip6outdoor(self.root / self.layout.folders[0])
        log.info("lip6outdoor: downloaded %d PPM frames", fetched)

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", "validate"):
            raise UserError(
                "loop-closure sequences are only encoded and scored: there is nothing to train or validate",
                where=f"data.dataset={self.dataset}",
                fix="run the test or predict stage",
            )
        if self.images is None:
            self._load()

    # ---- what the method reads ---------------------------------------------------------------------------

    def _require(self) -> tuple[torch.Tensor, GroundTruth]:
        if self.images is None or self.truth is None:
            raise RuntimeError("call setup() first")
        return self.images, self.truth

    def ground_truth(self) -> torch.Tensor:
        """Bool ``[N, N]`` over the kept frames, symmetric, empty diagonal for every shared source."""
        return torch.from_numpy(self._require()[1].matrix.copy())

    def describe(self) -> dict[str, Any]:
        """The sequence as plain values: sizes, subsampling, ground-truth source and loop counts."""
        images, truth = self._require()
        rate = self.layout.rate_hz
        return {
            "dataset": self.dataset,
            "num_frames": len(self.frames),
            "frame_numbers": truth.frames.tolist(),
            "subsample": self.subsample,
            "offset": self.offset,
            "camera": self.camera if self.layout.cameras > 1 else None,
            "rate_hz": None if rate is None else rate / self.subsample,
            "image_shape": list(images.shape[1:]),
            "ground_truth": truth.source,
            "stored_triangle": truth.stored,
            "revisits": int(truth.lower().sum()),
            "frames_with_revisit": int(truth.lower().any(axis=1).sum()),
            "segments": self.segments or {"sequence": [0, len(self.frames)]},
            "cache": None if self.cache_path is None else str(self.cache_path),
            "citation": self.layout.citation,
        }

    def frames_dataset(self) -> SequenceFrames:
        return SequenceFrames(self._require()[0])

    def _loader(self) -> DataLoader:
        return DataLoader(
            self.frames_dataset(),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def test_dataloader(self) -> DataLoader:
        return self._loader()

    def predict_dataloader(self) -> DataLoader:
        return self._loader()
