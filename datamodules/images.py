"""Grey test images with synthetic noise, for optimisation-based denoisers (FPCA, ICONIP 2019, §4.1).

Sets: ``set12``, ``bsd68``, ``classic5`` (DnCNN's test sets), ``paper10`` (FPCA's ten pictures as far as the
classic sets hold them), ``camera`` (``skimage.data.camera()``, bundled with scikit-image: works with no data
folder), and ``lowrank`` (MoG-RPCA's synthetic rank-r matrices, for the relative reconstruction error).

Images are read with Pillow, converted to 8-bit grey (ITU-R 601 luma for colour files) and scaled to [0, 1];
``size`` crops the centre (FPCA: "cropped to 128×128") or resizes (``size_mode=resize``). Every file is checked
against the pinned sha256 of DnCNN's copy (``image_sets.sha256``); ``download=true`` fetches missing files from
that pinned commit. Noise is drawn per image from a generator seeded by (noise seed, image, noise model), so
every method sees exactly the same noisy inputs for a given seed. Batches hold images of one shape only.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from datamodules import checks
from datamodules.noise import NoiseModel
from datamodules.pointclouds import derive_seed
from zoo.download import download_file
from zoo.errors import UserError, check_choice, non_negative_int, positive_int

log = logging.getLogger(__name__)

SOURCE = "cszn/DnCNN @ e93b27812d3ff523a3a79d19e5e50d233d7a8d0a, testsets/"
URL = "https://raw.githubusercontent.com/cszn/DnCNN/e93b27812d3ff523a3a79d19e5e50d233d7a8d0a/testsets/{path}"
CHECKSUMS = Path(__file__).with_name("image_sets.sha256")
SIZE_MODES = ("crop", "resize")


@dataclass(frozen=True)
class ImageSpec:
    name: str
    path: str  # relative to the images data folder; "" for an embedded image
    note: str = ""


# FPCA §4.1: cameraman, Newton, boat, Lena, butterfly, baboon, bird, zebra, starfish, peppers.
PAPER10 = (
    ImageSpec("cameraman", "Set12/01.png"),
    ImageSpec("newton", "Set14/face.bmp", "substitute: no Newton portrait in the classic sets; Set14 'face'"),
    ImageSpec("boat", "classic5/boats.bmp"),
    ImageSpec("lena", "classic5/lena.bmp"),
    ImageSpec("butterfly", "Set5/butterfly_GT.bmp"),
    ImageSpec("baboon", "classic5/baboon.bmp"),
    ImageSpec("bird", "Set5/bird_GT.bmp"),
    ImageSpec("zebra", "Set14/zebra.bmp"),
    ImageSpec("starfish", "Set12/04.png"),
    ImageSpec("peppers", "classic5/peppers.bmp"),
)
SET12_NAMES = (
    "cameraman", "house", "peppers", "starfish", "monarch", "airplane",
    "parrot", "lena", "barbara", "boat", "man", "couple",
)  # fmt: skip
IMAGE_SETS: dict[str, tuple[ImageSpec, ...]] = {
    "paper10": PAPER10,
    "set12": tuple(ImageSpec(n, f"Set12/{i:02d}.png") for i, n in enumerate(SET12_NAMES, 1)),
    "bsd68": tuple(ImageSpec(f"test{i:03d}", f"BSD68/test{i:03d}.png") for i in range(1, 69)),
    "classic5": tuple(
        ImageSpec(n, f"classic5/{n}.bmp") for n in ("baboon", "barbara", "boats", "lena", "peppers")
    ),
    "camera": (ImageSpec("camera", "", "skimage.data.camera(), bundled with scikit-image"),),
}
SETS = (*IMAGE_SETS, "lowrank")


def pinned_checksums() -> dict[str, str]:
    """path → sha256 of DnCNN's test images at the pinned commit (the shared data folder's SHA256SUMS)."""
    pairs = (line.split() for line in CHECKSUMS.read_text().splitlines() if line.strip())
    return {path: digest for digest, path in pairs}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(path: str, root: Path) -> None:
    """Download one file of the pinned DnCNN commit into ``root/path``, checked against its pinned sha256."""
    download_file(
        URL.format(path=path),
        root / path,
        sha256=pinned_checksums()[path],
        where=f"data.download=true -> {root / path}",
        hint=f"source: {SOURCE}{path}",
    )


def read_grey(spec: ImageSpec, root: Path, verify: bool, download: bool) -> np.ndarray:
    """The image as float64 [H, W] in [0, 1]; a clear error when the file is missing or differs."""
    if not spec.path:
        from skimage import data as skimage_data

        return skimage_data.camera().astype(np.float64) / 255.0
    from PIL import Image

    file = root / spec.path
    if not file.is_file() and download:
        fetch(spec.path, root)
    if not file.is_file():
        raise UserError(
            f"image {spec.path} ({spec.name}) is missing under {root}",
            where=f"data.root -> {root}",
            fix=f"point data.root (or DATA_DIR) at the folder holding Set12/, BSD68/, classic5/, Set5/, Set14/, "
            f"or set data.download=true to fetch it from {SOURCE}",
        )
    raw = file.read_bytes()
    if verify and _sha256(raw) != pinned_checksums().get(spec.path):
        raise UserError(
            f"{file} does not match the pinned sha256 of {SOURCE}{spec.path} (corrupt or a different version)",
            where=str(file),
            fix="re-download it (data.download=true after deleting it), or data.verify_checksums=false",
        )
    from io import BytesIO

    with Image.open(BytesIO(raw)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def fit_size(image: np.ndarray, size: int | None, mode: str) -> np.ndarray:
    """Centre crop (or resize) to ``size``×``size``; images smaller than ``size`` are a clear error when cropping."""
    if size is None:
        return image
    height, width = image.shape
    if mode == "resize":
        from PIL import Image

        resized = Image.fromarray(image.astype(np.float32), mode="F").resize(
            (size, size), Image.Resampling.BICUBIC
        )
        return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)
    if height < size or width < size:
        raise UserError(
            f"a {height}×{width} image cannot be cropped to {size}×{size}",
            where="data.size",
            fix="use a smaller data.size, data.size_mode=resize, or data.size=null (full images)",
        )
    top, left = (height - size) // 2, (width - size) // 2
    return image[top : top + size, left : left + size]


def lowrank_matrices(count: int, size: int, rank: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """MoG-RPCA's synthetic data: M = U Vᵀ with U, V ∈ R^{size×rank} of i.i.d. N(0, 1) entries."""
    generator = torch.Generator().manual_seed(derive_seed("lowrank", seed))
    out = []
    for i in range(count):
        u = torch.randn(size, rank, generator=generator, dtype=torch.float64)
        v = torch.randn(size, rank, generator=generator, dtype=torch.float64)
        out.append((f"lowrank{i:02d}", (u @ v.T).numpy()))
    return out


class NoisyImages(Dataset):
    """(clean, noisy) pairs; ``data_range`` is 1 for images and max − min for synthetic matrices."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


class SameShapeBatches(Sampler[list[int]]):
    """Batches of at most ``batch_size`` indices whose images share one shape (a batched SVD needs it)."""

    def __init__(self, shapes: list[tuple[int, ...]], batch_size: int) -> None:
        by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, shape in enumerate(shapes):
            by_shape[shape].append(index)
        self.batches = [
            indices[i : i + batch_size]
            for indices in by_shape.values()
            for i in range(0, len(indices), batch_size)
        ]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _lowrank_options(lowrank: Mapping[str, int] | None) -> dict[str, int]:
    """``data.lowrank`` with defaults, as positive ints and rank <= size (a rank above it is not attainable)."""
    merged = checks.options(lowrank, "data.lowrank", {"count": 1, "size": 100, "rank": 5})
    out = {k: positive_int(v, f"data.lowrank.{k}", f"data.lowrank.{k}=5") for k, v in merged.items()}
    if out["rank"] > out["size"]:
        raise UserError(
            f"a {out['size']}×{out['size']} matrix cannot have rank {out['rank']}",
            where="data.lowrank.rank",
            fix=f"set data.lowrank.rank <= data.lowrank.size ({out['size']})",
        )
    return out


class DenoisingDataModule(pl.LightningDataModule):
    """Clean images of ``images`` (a key of ``SETS``) and their noisy copies under ``noise`` (a ``NoiseModel``).

    Only a test split exists: the methods solve an optimisation problem per image and train nothing.
    ``noise_seed`` None draws from the run seed (``torch.initial_seed()`` at setup, after ``seed_everything``).
    """

    def __init__(
        self,
        images: str = "camera",
        root: str = "data/images",
        noise: Mapping[str, Any] | None = None,
        size: int | None = 128,
        size_mode: str = "crop",
        noise_seed: int | None = None,
        batch_size: int = 16,
        verify_checksums: bool = True,
        download: bool = False,
        lowrank: Mapping[str, int] | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        check_choice(images, SETS, "data.images", "image set")
        check_choice(size_mode, SIZE_MODES, "data.size_mode")
        try:
            self.noise = NoiseModel(**dict(noise or {}))
        except TypeError as err:
            raise UserError(
                f"bad noise settings: {err}", where="data.noise", fix="see conf/data/images.yaml"
            ) from None
        self.images, self.root = images, checks.folder(root, "data.root")
        self.size = None if size is None else positive_int(size, "data.size", "data.size=128")
        self.size_mode = size_mode
        self.noise_seed = checks.optional_seed(noise_seed, "data.noise_seed")
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=16")
        self.verify_checksums, self.download = bool(verify_checksums), bool(download)
        self.lowrank = _lowrank_options(lowrank)
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory = bool(pin_memory)
        self.dataset: NoisyImages | None = None

    @property
    def specs(self) -> tuple[ImageSpec, ...]:
        return IMAGE_SETS.get(self.images, ())

    def prepare_data(self) -> None:
        """Fetch missing files when ``download`` is set (rank 0 only, before any setup)."""
        if self.download:
            for spec in self.specs:
                if spec.path and not (self.root / spec.path).is_file():
                    fetch(spec.path, self.root)

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is not None:
            return
        seed = int(torch.initial_seed() if self.noise_seed is None else self.noise_seed)
        if self.images == "lowrank":
            clean = lowrank_matrices(self.lowrank["count"], self.lowrank["size"], self.lowrank["rank"], seed)
        else:
            clean = [
                (
                    spec.name,
                    fit_size(
                        read_grey(spec, self.root, self.verify_checksums, False), self.size, self.size_mode
                    ),
                )
                for spec in self.specs
            ]
            for spec in self.specs:
                if spec.note:
                    log.info("%s: %s", spec.name, spec.note)
        items = []
        for name, image in clean:
            generator = torch.Generator().manual_seed(derive_seed(seed, name, self.noise))
            x = torch.from_numpy(np.ascontiguousarray(image))
            noisy = x + self.noise.sample(tuple(x.shape), generator)
            data_range = 1.0 if self.images != "lowrank" else float(x.max() - x.min())
            items.append(
                {
                    "name": name,
                    "clean": x.float(),
                    "noisy": noisy.float(),
                    "noise_std": torch.tensor(self.noise.std, dtype=torch.float32),
                    "data_range": torch.tensor(data_range, dtype=torch.float32),
                }
            )
        self.dataset = NoisyImages(items)
        log.info(
            "%s: %d image(s), noise %s (std %.4f), seed %d",
            self.images,
            len(items),
            self.noise.kind,
            self.noise.std,
            seed,
        )

    def test_dataloader(self) -> DataLoader:
        if self.dataset is None:
            raise RuntimeError("call setup() first")
        shapes = [tuple(item["clean"].shape) for item in self.dataset.items]
        return DataLoader(
            self.dataset,
            batch_sampler=SameShapeBatches(shapes, self.batch_size),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
