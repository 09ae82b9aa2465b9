"""Thyroid ultrasound images (benign / malignant) as a LightningDataModule, for FAN (ICONIP 2019, §4.1).

Each item: ``{"image": float32 [C, S, S] in [0, 1] (C = ``channels``, S = ``image_size``, 224 in the paper),
"label": 0 benign / 1 malignant, "mask": uint8 [1, S, S] nodule mask (same crop and resize as the image,
nearest), "has_mask": bool (UD-TN has no masks: all zeros), "case": case id, "key": image id, "index":
position in the datamodule's image list}``.

``dataset=ddti``: DDTI's 470 TI-RADS-labelled images (see ``ddti``), split by case into ``num_folds`` grouped,
stratified folds (``splits``): test is fold ``fold``, validation a ``val_share`` of the rest; near-duplicate
pictures are dropped (``duplicates=drop``, default) or kept in one group (``group``). ``dataset=udtn``: the
UD-TN sample as a test-only set (biopsy labels). ``dataset=folders``: one's own images in class folders under
``root`` (``folders``), split like DDTI. Images are cropped to the scan area (``crop``) and resized;
the preprocessed tensors are cached under ``cache_dir/ultrasound`` with a key over the parameters, the crop
rule and the raw files (name, size, mtime), written atomically.

``balance``: ``none``; ``weights`` (``describe()["class_weights"]`` are the inverse-frequency weights
n / (2 n_c) of the training part, for the loss); ``sampler`` (training batches drawn with replacement, each class
equally likely). ``describe()`` always gives the training class counts. ``augment=flip``: random horizontal
flips of image and mask together (off by default: the paper describes no augmentation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from datamodules import checks
from datamodules.tensor_cache import load_or_build
from datamodules.ultrasound import sources
from datamodules.ultrasound.crop import (
    CROP_VERSION,
    LAYOUT_FEATURES,
    CropRule,
    ScanArea,
    crop_and_resize,
    layout_features,
    scan_area,
)
from datamodules.ultrasound.ddti import check_labels_csv, read_ddti
from datamodules.ultrasound.duplicates import duplicate_pairs, keep_first_copies, split_groups, thumbnails
from datamodules.ultrasound.folders import read_class_folders
from datamodules.ultrasound.records import CLASS_NAMES, UltrasoundImage, read_mask, read_rgb
from datamodules.ultrasound.splits import PARTS, class_counts, split_indices
from datamodules.ultrasound.udtn import read_udtn
from zoo.errors import UserError, check_choice, integer_in_range, non_negative_int, positive_int

log = logging.getLogger(__name__)

FOLDERS = {"ddti": "DDTI", "udtn": "UD-TN_sample", "folders": ""}  # folders: data.root itself
BALANCES = ("none", "weights", "sampler")
DUPLICATE_MODES = ("drop", "group")
AUGMENTS = ("none", "flip")
READER_VERSION = f"{CROP_VERSION}/ultrasound-reader-1"  # part of the cache key


class UltrasoundImages(Dataset):
    """Items of the module docstring for the positions ``indices`` of the preprocessed tensors."""

    def __init__(self, data: dict[str, Any], indices: np.ndarray, channels: int, flip: bool) -> None:
        self.data, self.indices = data, np.asarray(indices, dtype=np.int64)
        self.channels, self.flip = channels, flip

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        i = int(self.indices[item])
        image = self.data["images"][i].float().div_(255.0)
        if self.channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
            image = (image * weights).sum(dim=0, keepdim=True)
        mask = self.data["masks"][i]
        if self.flip and bool(torch.rand(()) < 0.5):
            image, mask = image.flip(-1), mask.flip(-1)
        return {
            "image": image,
            "label": int(self.data["labels"][i]),
            "mask": mask,
            "has_mask": bool(self.data["has_mask"][i]),
            "case": self.data["cases"][i],
            "key": self.data["keys"][i],
            "index": i,
        }


class UltrasoundDataModule(pl.LightningDataModule):
    """DDTI (k-fold by case) or the UD-TN sample (test only); see the module docstring for every option."""

    def __init__(
        self,
        root: str,
        dataset: str = "ddti",
        cache_dir: str | None = None,
        image_size: int = 224,
        channels: int = 3,
        crop: bool = True,
        num_folds: int = 5,
        fold: int = 0,
        val_share: float = 0.1,
        split_seed: int | None = 0,
        duplicates: str = "drop",
        balance: str = "none",
        augment: str = "none",
        batch_size: int = 10,
        num_workers: int = 0,
        pin_memory: bool = False,
        drop_last: bool = False,
        download: bool = False,
        verify_checksums: bool = True,
        case_separator: str = "_",
    ) -> None:
        super().__init__()
        check_choice(dataset, FOLDERS, "data.dataset", "ultrasound dataset")
        check_choice(duplicates, DUPLICATE_MODES, "data.duplicates")
        check_choice(balance, BALANCES, "data.balance")
        check_choice(augment, AUGMENTS, "data.augment")
        self.root = checks.folder(root, "data.root")
        self.cache_dir = None if cache_dir is None else checks.folder(cache_dir, "data.cache_dir")
        self.dataset = dataset
        self.image_size = positive_int(image_size, "data.image_size", "data.image_size=224")
        self.channels = integer_in_range(channels, "data.channels", 1, 3, fix="data.channels=3 (or 1: grey)")
        if self.channels == 2:
            raise UserError(
                "data.channels must be 1 or 3, got 2", where="data.channels", fix="data.channels=3"
            )
        self.crop = bool(crop)
        self.num_folds = integer_in_range(num_folds, "data.num_folds", 2, 100, fix="e.g. data.num_folds=5")
        self.fold = non_negative_int(fold, "data.fold")
        if self.fold >= self.num_folds:
            raise UserError(
                f"data.fold must be in 0 .. {self.num_folds - 1}, got {fold}",
                where="data.fold",
                fix=f"run data.fold=0..{self.num_folds - 1}",
            )
        self.val_share = checks.real(
            val_share, "data.val_share", "e.g. data.val_share=0.1", low=0.0, high=0.5
        )
        self._split_seed = checks.optional_seed(split_seed, "data.split_seed")
        self.duplicates, self.balance, self.augment = duplicates, balance, augment
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=10")
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory, self.drop_last = bool(pin_memory), bool(drop_last)
        self.download, self.verify_checksums = bool(download), bool(verify_checksums)
        self.case_separator = str(case_separator)
        self.rule = CropRule()
        self.cache_path: Path | None = None
        self.data: dict[str, Any] | None = None
        self.parts: dict[str, np.ndarray] = {}
        self.dropped: list[str] = []

    # ---- raw records -------------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.root / FOLDERS[self.dataset]

    @property
    def title(self) -> str:
        """The data's name in log lines."""
        return FOLDERS[self.dataset] or f"own folders {self.root}"

    @property
    def split_seed(self) -> int:
        """``data.split_seed``, or the run seed when it is None (each seed then re-draws the folds)."""
        return self._split_seed if self._split_seed is not None else torch.initial_seed() % 2**63

    def _records(self) -> list[UltrasoundImage]:
        if self.dataset == "folders":
            return read_class_folders(self.folder, self.case_separator)
        name = FOLDERS[self.dataset]
        if not self.folder.is_dir():
            raise sources.missing_data(self.root, name, f"no {name} folder at {self.folder}", self.download)
        if self.dataset == "udtn":
            return read_udtn(self.folder)[0]
        if not (self.folder / "label.txt").is_file() and not any(self.folder.glob("*.a.jpg")):
            raise sources.missing_data(self.root, name, f"no DDTI images in {self.folder}", self.download)
        images, unlabelled = read_ddti(self.folder)
        check_labels_csv(self.root / "labels.csv", images, unlabelled)
        if not images:
            raise UserError(
                f"no TI-RADS-labelled image in {self.folder / 'label.txt'}",
                where=str(self.folder / "label.txt"),
                fix="the 7th field of each line is the TI-RADS grade (2, 3, 4a, 4b, 4c, 5; None = unlabelled)",
            )
        return images

    # ---- preprocessing and cache -------------------------------------------------------------------------

    def _cache_key(self, records: list[UltrasoundImage]) -> str:
        files = []
        for record in records:
            for path in (record.image, record.mask):
                if path is not None:
                    stat = path.stat()
                    files.append([path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime_ns])
        payload = {
            "reader": READER_VERSION,
            "dataset": self.dataset,
            "size": self.image_size,
            "crop": dataclasses.asdict(self.rule) if self.crop else None,
            "records": [[r.key, r.label, r.case] for r in records],
            "files": files,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def _preprocess(self, records: list[UltrasoundImage]) -> dict[str, Any]:
        if self.verify_checksums and self.dataset != "folders":  # own files have no pinned checksums
            paths = [p for r in records for p in (r.image, r.mask) if p is not None]
            sources.verify(self.root, FOLDERS[self.dataset], paths)
        n, size = len(records), self.image_size
        images = np.empty((n, 3, size, size), dtype=np.uint8)
        masks = np.zeros((n, 1, size, size), dtype=np.uint8)
        boxes = np.empty((n, 5), dtype=np.int64)
        features = np.empty((n, len(LAYOUT_FEATURES)), dtype=np.float32)
        for i, record in enumerate(records):
            rgb = read_rgb(record.image)
            mask = None if record.mask is None else read_mask(record.mask, rgb.shape[:2])
            area = scan_area(rgb, self.rule) if self.crop else ScanArea(0, 0, *rgb.shape[:2], 1)
            image, small_mask = crop_and_resize(rgb, mask, area, size)
            images[i] = image.transpose(2, 0, 1)
            if small_mask is not None:
                masks[i, 0] = small_mask
            boxes[i] = (*area.box, area.panels)
            features[i] = layout_features(rgb, area, self.rule)
        return {
            "images": torch.from_numpy(images),
            "masks": torch.from_numpy(masks),
            "has_mask": torch.tensor([r.mask is not None for r in records]),
            "labels": torch.tensor([r.label for r in records], dtype=torch.int64),
            "boxes": torch.from_numpy(boxes),
            "features": torch.from_numpy(features),
            "keys": [r.key for r in records],
            "cases": [r.case for r in records],
            "sources": [r.source for r in records],
        }

    def _load(self, build_only: bool = False) -> dict[str, Any] | None:
        """The preprocessed tensors of every record, from the cache when it is valid."""
        records = self._records()
        if self.cache_dir is None:
            return None if build_only else self._preprocess(records)
        key = self._cache_key(records)
        path = self.cache_path = self.cache_dir / "ultrasound" / f"{self.dataset}-{self.image_size}-{key}.pt"
        keys = [r.key for r in records]
        data = load_or_build(
            path,
            key,
            lambda: self._preprocess(records),
            lambda cached: None if cached["keys"] == keys else "image list differs",
            f"{self.title} ({len(records)} images)",
        )
        return None if build_only else data

    # ---- Lightning hooks ---------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Download missing files when asked, then build the cache (one process per node, before setup)."""
        name = FOLDERS[self.dataset]
        if self.download and self.dataset == "folders":
            raise UserError(
                "data.download=true has nothing to fetch for one's own folders",
                where="data.download",
                fix="set data.download=false (download fetches DDTI or the UD-TN sample)",
            )
        if self.download:
            try:
                fetched = sources.fetch(self.root, name)
            except UserError as err:
                raise sources.missing_data(self.root, name, err.problem, True) from None
            if fetched:
                log.info("%s: downloaded %d files into %s", name, fetched, self.folder)
        self._load(build_only=True)

    def setup(self, stage: str | None = None) -> None:
        if self.dataset == "udtn" and stage in ("fit", "validate"):
            raise UserError(
                "the UD-TN sample is an evaluation set (25 images): it trains and validates nothing",
                where="data.dataset=udtn",
                fix="train on data=ddti, then test its checkpoint with data=udtn task=test ckpt_path=...",
            )
        if self.data is not None:
            return
        data = self._load()
        assert data is not None
        labels = data["labels"].numpy()
        pairs = duplicate_pairs(thumbnails(data["images"].numpy()))
        if self.duplicates == "drop" and pairs:
            keep, self.dropped = keep_first_copies(data["keys"], labels.tolist(), pairs)
            data = _subset(data, np.flatnonzero(keep))
            labels = data["labels"].numpy()
            pairs = duplicate_pairs(thumbnails(data["images"].numpy()))
            log.info(
                "%s: %d near-duplicate pictures left out (data.duplicates=drop), e.g. %s",
                self.title,
                len(self.dropped),
                "; ".join(self.dropped[:3]),
            )
        groups = split_groups(data["cases"], pairs)
        data["groups"] = torch.from_numpy(groups)
        self.data = data
        if self.dataset == "udtn":
            empty = np.zeros(0, dtype=np.int64)
            self.parts = {"train": empty, "val": empty, "test": np.arange(len(labels))}
        else:
            self.parts = split_indices(
                labels, groups, self.num_folds, self.fold, self.val_share, self.split_seed
            )
        sizes = {part: class_counts(labels[idx]) for part, idx in self.parts.items()}
        log.info(
            "%s fold %d of %d (split seed %d): %s (benign, malignant)",
            self.title,
            self.fold,
            self.num_folds,
            self.split_seed,
            ", ".join(f"{part} {sizes[part]}" for part in PARTS),
        )

    # ---- what models and baselines read ------------------------------------------------------------------

    def _require(self) -> dict[str, Any]:
        if self.data is None:
            raise RuntimeError("call setup() first")
        return self.data

    def class_counts(self, part: str = "train") -> list[int]:
        """Images per class (benign, malignant) in ``part`` (train, val or test)."""
        return class_counts(self._require()["labels"].numpy()[self.parts[part]])

    def class_weights(self) -> list[float]:
        """Inverse-frequency weights n / (2 n_c) of the training part (sklearn's "balanced")."""
        counts = np.asarray(self.class_counts("train"), dtype=np.float64)
        return (counts.sum() / (len(counts) * np.maximum(counts, 1))).tolist()

    def describe(self) -> dict[str, Any]:
        """What a classifier is sized and weighted by (``ZooModule.configure_for_data``), as plain values.

        ``class_weights``: the loss weights to use, inverse frequency with ``balance=weights``, ones otherwise
        (the sampler already balances; ``none`` trains on the data as it is).
        """
        data = self._require()
        part = "test" if self.dataset == "udtn" else "train"
        weights = self.class_weights() if self.balance == "weights" and part == "train" else [1.0, 1.0]
        return {
            "dataset": self.dataset,
            "num_classes": len(CLASS_NAMES),
            "class_names": list(CLASS_NAMES),
            "class_counts": self.class_counts(part),
            "class_weights": weights,
            "balance": self.balance,
            "image_size": self.image_size,
            "channels": self.channels,
            "has_masks": bool(data["has_mask"].any()),
            "split": {
                "fold": self.fold,
                "num_folds": self.num_folds,
                "split_seed": self.split_seed,
                "duplicates": self.duplicates,
                "counts": {p: self.class_counts(p) for p in PARTS},
            },
        }

    def layout_features(self, part: str = "test") -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The layout-only baseline's inputs for ``part``: features ``[n, F]``, labels ``[n]``, feature names
        (``crop.LAYOUT_FEATURES`` documents each)."""
        data = self._require()
        idx = self.parts[part]
        return data["features"].numpy()[idx], data["labels"].numpy()[idx], list(LAYOUT_FEATURES)

    def part(self, part: str) -> UltrasoundImages:
        data = self._require()
        if self.dataset == "udtn" and part != "test":
            raise UserError(
                f"the UD-TN sample has no {part} part (it is test-only)",
                where="data.dataset=udtn",
                fix="train and validate on data=ddti",
            )
        flip = part == "train" and self.augment == "flip"
        return UltrasoundImages(data, self.parts[part], self.channels, flip)

    # ---- loaders -----------------------------------------------------------------------------------------

    def _loader(self, dataset: UltrasoundImages, train: bool) -> DataLoader:
        sampler = None
        if train and self.balance == "sampler":
            labels = self._require()["labels"][torch.from_numpy(dataset.indices)]
            counts = torch.bincount(labels, minlength=len(CLASS_NAMES)).clamp(min=1).double()
            sampler = WeightedRandomSampler(1.0 / counts[labels], num_samples=len(dataset), replacement=True)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train and sampler is None,
            sampler=sampler,
            drop_last=train and self.drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.part("train"), train=True)

    def val_dataloader(self) -> DataLoader | list:
        dataset = self.part("val")
        return self._loader(dataset, train=False) if len(dataset) else []

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.part("test"), train=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()


def _subset(data: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """The preprocessed data restricted to the positions ``keep`` (tensors indexed, lists picked)."""
    index = torch.from_numpy(keep)
    return {
        name: value[index] if isinstance(value, torch.Tensor) else [value[i] for i in keep]
        for name, value in data.items()
        if name not in ("format", "key")
    }
