"""ModelNet40 classification (Wu et al., 2015) as PyramNet uses it (§4.1): 1024 points sampled uniformly on
each mesh's faces, normalised to the unit sphere; or PointNet++'s resampled point clouds (optionally with
normals).

Processed tensors are cached under ``cache_dir`` with a key over the preprocessing parameters and the raw
files' manifest, so a changed parameter or changed data never reuses a stale cache; nothing is written under
``root`` except by the download (``zoo.download``; the archive has no published sha256, see
``ModelNet40DataModule``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from datamodules import checks
from datamodules.pointclouds import (
    PointCloudDataModule,
    PointCloudSplits,
    PointCloudTensorDataset,
    derive_seed,
    normalize_unit_sphere,
    sample_points_on_mesh,
    warn,
)
from zoo.download import ChecksumMismatch, DownloadError, checked_sha256, download_file
from zoo.errors import UserError
from zoo.io import atomic_torch_save, atomic_write_json

log = logging.getLogger(__name__)

# The official 40 classes in the order of modelnet40_shape_names.txt; labels always index this list.
MODELNET40_CLASSES: tuple[str, ...] = (
    "airplane", "bathtub", "bed", "bench", "bookshelf", "bottle", "bowl", "car", "chair", "cone",
    "cup", "curtain", "desk", "door", "dresser", "flower_pot", "glass_box", "guitar", "keyboard", "lamp",
    "laptop", "mantel", "monitor", "night_stand", "person", "piano", "plant", "radio", "range_hood", "sink",
    "sofa", "stairs", "stool", "table", "tent", "toilet", "tv_stand", "vase", "wardrobe", "xbox",
)  # fmt: skip
MODELNET40_OFFICIAL_COUNTS = {"train": 9843, "test": 2468}
SPLITS = ("train", "test")
SOURCES = ("mesh", "resampled")
# Bump when reading, sampling or normalisation changes: it is part of the cache key.
READER_VERSION = "off-reader-1/sampler-1/unit-sphere-1"
_CACHE_FORMAT = 1
_FIX_CORRUPT = "re-download or delete the file"
_COMMENT = re.compile(r"#[^\n]*")
_MAX_COUNT_DIGITS = 18  # any count that fits int64; a real mesh has far fewer lines than 10**18
_INTEGER = re.compile(r"[+-]?[0-9]+")


# ------------------------------------------------------------------------------------------------------------
# OFF meshes
# ------------------------------------------------------------------------------------------------------------


def read_off(path: str | os.PathLike) -> tuple[Tensor, Tensor]:
    """Read an ASCII OFF mesh into (pos float32 [V, 3], face int64 [T, 3]); polygons are fan-triangulated.

    Tolerates the quirks found in ModelNet and elsewhere: the counts glued to the header (``OFF8 6 0``),
    trailing whitespace, lower-case ``off``, ``#`` comments and blank lines anywhere, CRLF line ends, extra
    per-vertex or per-face values (colours). The numeric body is tokenised once and parsed by numpy. Anything
    inconsistent raises UserError naming the file.
    """
    path = Path(path)
    lines = _off_lines(path)
    if not lines or lines[0].lstrip()[:3].lower() != "off":
        raise _corrupt(path, "missing 'OFF' header on the first line")
    counts_tokens, body_start = lines[0].lstrip()[3:].split(), 1
    if not counts_tokens:
        if len(lines) < 2:
            raise _corrupt(path, "no vertex / face counts after the 'OFF' header")
        counts_tokens, body_start = lines[1].split(), 2
    if not 2 <= len(counts_tokens) <= 3 or not all(t.isdigit() for t in counts_tokens):
        raise _corrupt(
            path, f"the counts line must be 'vertices faces [edges]', got {' '.join(counts_tokens)[:80]!r}"
        )
    if any(len(t) > _MAX_COUNT_DIGITS for t in counts_tokens):  # int() refuses over 4300 digits
        raise _corrupt(path, f"absurd counts on the counts line {' '.join(counts_tokens)[:80]!r}")
    num_vertices, num_faces = int(counts_tokens[0]), int(counts_tokens[1])
    if num_vertices == 0 or num_faces == 0:
        raise _corrupt(path, f"empty mesh ({num_vertices} vertices, {num_faces} faces)")
    body = lines[body_start:]
    if len(body) != num_vertices + num_faces:
        raise _corrupt(
            path,
            f"the header announces {num_vertices} vertices + {num_faces} faces = "
            f"{num_vertices + num_faces} lines, but the body has {len(body)} non-empty lines "
            "(truncated, or counts that do not match)",
        )
    pos = _parse_vertices(path, body[:num_vertices])
    face = _parse_faces(path, body[num_vertices:], num_vertices)
    return torch.from_numpy(pos), torch.from_numpy(face)


def _off_lines(path: Path) -> list[str]:
    """The file's non-empty lines, comments removed and line ends normalised."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(
            f"cannot read OFF file ({err.strerror or err})", where=str(path), fix=_FIX_CORRUPT
        ) from err
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as err:
        raise _corrupt(path, f"byte {err.start} is not ASCII (binary OFF is not supported)") from err
    if "#" in text:
        text = _COMMENT.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line for line in text.split("\n") if line and not line.isspace()]


def _parse_block(path: Path, lines: list[str], dtype: type, what: str) -> tuple[np.ndarray, np.ndarray]:
    """All values of ``lines`` as one flat array, plus the number of values on each line (vectorised)."""
    block = "\n".join(lines)
    tokens = block.split()
    try:
        values = np.array(tokens, dtype=dtype)
    except (ValueError, OverflowError) as err:  # overflow: an integer beyond int64
        bad = next((t for t in tokens if not _parses(t, dtype)), "?")
        if dtype is not np.int64:
            problem = "non-numeric value"
        elif _INTEGER.fullmatch(bad):
            problem = "out-of-range integer"
        else:
            problem = "non-integer value"
        raise _corrupt(path, f"{problem} {bad[:40]!r} in the {what}") from err
    raw = np.frombuffer(block.encode("ascii"), dtype=np.uint8)
    space = raw <= 32
    token_starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))
    line_bounds = np.concatenate(([0], np.flatnonzero(raw == 10) + 1, [raw.size]))
    per_line = np.diff(np.searchsorted(token_starts, line_bounds))
    if per_line.sum() != values.size or not per_line.all():
        raise _corrupt(path, f"unexpected control characters in the {what}")
    return values, per_line


def _parses(token: str, dtype: type) -> bool:
    try:
        np.array([token], dtype=dtype)
    except (ValueError, OverflowError):
        return False
    return True


def _parse_vertices(path: Path, lines: list[str]) -> np.ndarray:
    values, per_line = _parse_block(path, lines, np.float64, "vertex lines")
    if (per_line < 3).any():
        bad = int(np.argmax(per_line < 3))
        raise _corrupt(path, f"vertex {bad} has {per_line[bad]} coordinates, expected 3")
    starts = np.cumsum(per_line) - per_line
    pos = values[starts[:, None] + np.arange(3)].astype(np.float32)
    if not np.isfinite(pos).all():
        raise _corrupt(path, "a vertex coordinate is not finite (nan or inf)")
    return pos


def _parse_faces(path: Path, lines: list[str], num_vertices: int) -> np.ndarray:
    """Face lines ``k i_1 ... i_k [colour...]`` -> triangles [T, 3], fanned per polygon size, file order."""
    values, per_line = _parse_block(path, lines, np.int64, "face lines")
    starts = np.cumsum(per_line) - per_line
    sizes = values[starts]
    wrong = (sizes < 3) | (sizes > per_line - 1)  # not ``per_line < sizes + 1``: that wraps at 2**63 - 1
    if wrong.any():
        bad = int(np.argmax(wrong))
        raise _corrupt(
            path,
            f"face {bad} announces {sizes[bad]} vertices and lists {per_line[bad] - 1} "
            "(need at least 3, all listed)",
        )
    tris_per_face = sizes - 2
    first_tri = np.cumsum(tris_per_face) - tris_per_face
    face = np.empty((int(tris_per_face.sum()), 3), dtype=np.int64)
    for k in np.unique(sizes).tolist():
        rows = np.flatnonzero(sizes == k)
        poly = values[starts[rows, None] + 1 + np.arange(k)]  # [n_k, k]
        fan = np.stack([np.repeat(poly[:, :1], k - 2, axis=1), poly[:, 1:-1], poly[:, 2:]], axis=-1)
        face[first_tri[rows, None] + np.arange(k - 2)] = fan
    if face.min() < 0 or face.max() >= num_vertices:
        bad = int(face.min()) if face.min() < 0 else int(face.max())
        raise _corrupt(path, f"face index {bad} is out of range for {num_vertices} vertices")
    return face


def _corrupt(path: Path, problem: str) -> UserError:
    return UserError(f"corrupt OFF file: {problem}", where=str(path), fix=_FIX_CORRUPT)


# ------------------------------------------------------------------------------------------------------------
# PointNet++ resampled files
# ------------------------------------------------------------------------------------------------------------


def read_resampled(path: str | os.PathLike, num_points: int | None = None) -> np.ndarray:
    """First ``num_points`` rows "x,y,z,nx,ny,nz" of a PointNet++ resampled file as float32 [N, 6]."""
    path = Path(path)
    try:
        array = np.loadtxt(path, delimiter=",", dtype=np.float32, max_rows=num_points, ndmin=2)
    except (OSError, ValueError) as err:
        raise UserError(
            f"cannot read resampled point file ({err})", where=str(path), fix=_FIX_CORRUPT
        ) from err
    expected = (array.shape[0] if num_points is None else num_points, 6)
    if array.shape != expected or not array.shape[0]:
        raise UserError(
            f"expected {expected[0]} lines of 6 comma-separated values (x,y,z,nx,ny,nz), "
            f"got an array of shape {array.shape}",
            where=str(path),
            fix=f"{_FIX_CORRUPT}, or lower data.num_points",
        )
    if not np.isfinite(array).all():
        raise UserError("a value is not finite (nan or inf)", where=str(path), fix=_FIX_CORRUPT)
    return array


def read_name_list(path: Path) -> list[str]:
    """Non-empty stripped lines of a split or shape-name list."""
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read list file ({err})", where=str(path), fix=_FIX_CORRUPT) from err


# ------------------------------------------------------------------------------------------------------------
# DataModule
# ------------------------------------------------------------------------------------------------------------


def official_url() -> str:
    """The ModelNet40.zip URL of torch_geometric's ModelNet dataset (imported lazily: slow and noisy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.datasets import ModelNet
    return ModelNet.urls["40"]


class ModelNet40DataModule(PointCloudDataModule):
    """ModelNet40 with the official train/test split; validation is a hold-out of train (see the base class).

    ``root``: for ``source="mesh"`` the folder containing ``ModelNet40/<class>/{train,test}/*.off``
    (downloaded there from torch_geometric's ModelNet URL when missing and ``download=True``); for
    ``source="resampled"`` the contents of PointNet++'s ``modelnet40_normal_resampled`` folder. ``num_points``
    points per shape: sampled on the mesh faces (area-weighted, seeded per mesh by ``sampling_seed`` and the
    file path), or the first ``num_points`` of each resampled file (PointNet++'s default). ``use_normals``
    (resampled only) gives F=6. Other keyword arguments go to ``PointCloudDataModule`` (batch_size,
    val_fraction, augment, ...).

    ``archive_sha256``: the sha256 the downloaded ModelNet40.zip must have. This project knows of no
    published checksum for it (torch_geometric's ModelNet downloads it unchecked), so the default is None:
    the archive is then downloaded unverified, with a warning, and its computed sha256 is logged and recorded in
    ``cache_dir/modelnet40/ModelNet40.zip.json``; set ``data.archive_sha256`` to that value to check later
    downloads against it.
    """

    synthetic = False

    def __init__(
        self,
        root: str,
        cache_dir: str,
        source: str = "mesh",
        num_points: int = 1024,
        use_normals: bool = False,
        sampling_seed: int = 0,
        download: bool = True,
        archive_sha256: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if source not in SOURCES:
            raise UserError(
                f"unknown ModelNet40 source {source!r}",
                where="data.source",
                fix="data.source=mesh or resampled",
            )
        if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points <= 0:
            raise UserError(
                f"num_points must be a positive integer, got {num_points!r}",
                where="data.num_points",
                fix="e.g. data.num_points=1024",
            )
        if use_normals and source == "mesh":
            raise UserError(
                "use_normals needs the resampled source (the mesh source yields xyz only, as in the paper)",
                where="data.use_normals",
                fix="set data.use_normals=false, or data.source=resampled",
            )
        self.root = checks.folder(root, "data.root")
        self.cache_dir = checks.folder(cache_dir, "data.cache_dir")
        self.source, self.num_points, self.use_normals = source, num_points, bool(use_normals)
        self.sampling_seed = checks.seed(sampling_seed, "data.sampling_seed")
        self.download = bool(download)
        self.archive_sha256 = checked_sha256(archive_sha256, "data.archive_sha256")
        # raw ModelNet meshes are z-up; PointNet++'s resampled files are y-up
        self.up_axis = "z" if source == "mesh" else "y"
        self.dataset_name = (
            f"ModelNet40 ({source}, {num_points} points{' + normals' if self.use_normals else ''})"
        )
        self.split_files: dict[str, list[str]] = {}  # per split, the file behind each sample index
        self.cache_key: str | None = None

    @property
    def raw_dir(self) -> Path:
        return self.root / "ModelNet40" if self.source == "mesh" else self.root

    def declared_class_names(self) -> tuple[str, ...]:
        return MODELNET40_CLASSES

    def declared_point_features(self) -> int:
        return 6 if self.use_normals else 3

    # ---- Lightning hooks -----------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Download if needed, then build missing caches (runs on one process per node before ``setup``)."""
        if self.source == "mesh" and not self.raw_dir.is_dir() and self.download:
            self._download()
        files = self._raw_files()
        cache = self._cache_dir(files)
        for split in SPLITS:
            if not (cache / f"{split}.pt").is_file():
                self._build_and_save(split, files[split], cache)

    def load_splits(self) -> PointCloudSplits:
        files = self._raw_files()
        cache = self._cache_dir(files)
        train, test = (self._load_or_build(split, files[split], cache) for split in SPLITS)
        self.split_files = {split: [rel for rel, _ in files[split]] for split in SPLITS}
        self._warn_if_not_official(train, test)
        return PointCloudSplits(train=train, test=test, class_names=MODELNET40_CLASSES)

    def summary_extras(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "root": str(self.root),
            "sampling_seed": self.sampling_seed if self.source == "mesh" else None,
            "cache_key": self.cache_key,
            "official_counts": dict(MODELNET40_OFFICIAL_COUNTS),
        }

    # ---- raw files -----------------------------------------------------------------------------------------

    def _raw_files(self) -> dict[str, list[tuple[str, int]]]:
        """Per split, sorted (path relative to ``raw_dir``, label) pairs."""
        if self.source == "mesh":
            if not self.raw_dir.is_dir():
                raise self._missing(f"no ModelNet40 folder at {self.raw_dir}")
            files = {split: self._mesh_files(split) for split in SPLITS}
        else:
            files = {split: self._resampled_files(split) for split in SPLITS}
        for split, listed in files.items():
            if not listed:
                raise self._missing(
                    f"no {split} {'meshes' if self.source == 'mesh' else 'shapes'} in {self.raw_dir}"
                )
        return files

    def _mesh_files(self, split: str) -> list[tuple[str, int]]:
        paths = sorted(self.raw_dir.glob(f"*/{split}/*.off"))
        unknown = sorted({p.parts[-3] for p in paths} - set(MODELNET40_CLASSES))
        if unknown:
            raise UserError(
                f"class folders {unknown} are not ModelNet40 classes",
                where=str(self.raw_dir),
                fix="point data.root at the folder that contains an unmodified ModelNet40/ folder",
            )
        return [
            (p.relative_to(self.raw_dir).as_posix(), MODELNET40_CLASSES.index(p.parts[-3])) for p in paths
        ]

    def _resampled_files(self, split: str) -> list[tuple[str, int]]:
        list_file = self.root / f"modelnet40_{split}.txt"
        if not list_file.is_file():
            raise self._missing(f"no split list {list_file}")
        names_file = self.root / "modelnet40_shape_names.txt"
        if names_file.is_file() and tuple(read_name_list(names_file)) != MODELNET40_CLASSES:
            raise UserError(
                "the shape-name list differs from the official 40 ModelNet40 classes",
                where=str(names_file),
                fix=_FIX_CORRUPT,
            )
        files = []
        for name in read_name_list(list_file):
            cls = name.rsplit("_", 1)[0]
            if cls not in MODELNET40_CLASSES:
                raise UserError(
                    f"{name!r} is not a ModelNet40 shape id", where=str(list_file), fix=_FIX_CORRUPT
                )
            files.append((f"{cls}/{name}.txt", MODELNET40_CLASSES.index(cls)))
        missing = [rel for rel, _ in files if not (self.root / rel).is_file()]
        if missing:
            raise self._missing(
                f"{len(missing)} files listed in {list_file.name} are missing, e.g. {self.root / missing[0]}"
            )
        return files

    def _missing(self, problem: str) -> UserError:
        """The error for absent raw data: what was expected where, and every way to fix it."""
        if self.source == "mesh":
            layout = (
                f"{self.root}/ModelNet40/<class>/train/<class>_<id>.off and .../test/... "
                f"(e.g. {self.root}/ModelNet40/airplane/train/airplane_0001.off)"
            )
            fix = (
                f"download {official_url()} and extract it under {self.root} "
                "(the zip holds the ModelNet40/ folder); "
                "or set DATA_DIR / data.root to the folder that contains ModelNet40/; "
                "or set data.download=true"
                + (" (it is already true: check the network)" if self.download else "")
            )
        else:
            layout = (
                f"{self.root}/modelnet40_train.txt, modelnet40_test.txt, modelnet40_shape_names.txt and "
                f"{self.root}/<class>/<class>_<id>.txt with lines x,y,z,nx,ny,nz"
            )
            fix = (
                "place the contents of PointNet++'s modelnet40_normal_resampled folder there "
                "(it has no maintained download), or set DATA_DIR / data.root to that folder, "
                "or use data.source=mesh"
            )
        return UserError(f"{problem}; expected layout: {layout}", where=f"data.root={self.root}", fix=fix)

    def _download(self) -> None:
        """Fetch and extract ModelNet40.zip in a staging folder, then rename: no half-extracted raw folder."""
        url = official_url()
        staging = self.root / ".ModelNet40.download"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            from torch_geometric.data import extract_zip

            archive = staging / "ModelNet40.zip"
            digest = download_file(
                url, archive, sha256=self.archive_sha256, where=f"data.download=true -> {self.root}"
            )
            extract_zip(str(archive), str(staging))
            if not (staging / "ModelNet40").is_dir():
                raise RuntimeError(f"the archive from {url} has no ModelNet40/ folder")
            os.replace(staging / "ModelNet40", self.raw_dir)
        except ChecksumMismatch as err:
            raise UserError(
                f"ModelNet40.zip from {err.url} does not match data.archive_sha256: {err.reason}",
                where="data.archive_sha256",
                fix="check data.archive_sha256 against a trusted copy of the archive, or set it to null to "
                "download without verification (the computed sha256 is then logged and recorded)",
            ) from None
        except DownloadError as err:
            raise self._missing(f"downloading ModelNet40 from {err.url} failed: {err.reason}") from None
        except Exception as err:
            raise self._missing(
                f"downloading ModelNet40 from {url} failed ({type(err).__name__}: {err})"
            ) from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._record_archive(url, digest)

    def _record_archive(self, url: str, digest: str) -> None:
        """Keep the archive's sha256 next to the caches; warn when nothing could verify it."""
        record = self.cache_dir / "modelnet40" / "ModelNet40.zip.json"
        verified = self.archive_sha256 is not None
        atomic_write_json(
            record, {"url": url, "sha256": digest, "verified": verified, "root": str(self.root)}
        )
        if verified:
            log.info("ModelNet40.zip from %s matches data.archive_sha256 %s", url, digest)
        else:
            warn(
                f"ModelNet40.zip from {url} cannot be verified: no sha256 is published for it and "
                f"data.archive_sha256 is null. Its sha256 is {digest} (recorded in {record}); set "
                f"data.archive_sha256={digest} to check later downloads against it"
            )

    # ---- cache ---------------------------------------------------------------------------------------------

    def _cache_dir(self, files: dict[str, list[tuple[str, int]]]) -> Path:
        """``cache_dir/modelnet40/<source>-<key>``; the key hashes the parameters and the raw files' manifest."""
        params = {"source": self.source, "num_points": self.num_points, "use_normals": self.use_normals}
        if self.source == "mesh":
            params["sampling_seed"] = self.sampling_seed
        manifest = {split: [self._stat(rel) for rel, _ in listed] for split, listed in files.items()}
        payload = json.dumps(
            {"params": params, "reader": READER_VERSION, "manifest": manifest}, sort_keys=True
        )
        self.cache_key = hashlib.sha256(payload.encode()).hexdigest()[:16]
        return self.cache_dir / "modelnet40" / f"{self.source}-{self.cache_key}"

    def _stat(self, rel: str) -> list[str | int]:
        """(name, size, mtime_ns) of one raw file: what the cache key knows about its content.

        Not a content hash, unlike the graph caches (a few files, sha256 each): ModelNet40 is ~12k files and
        gigabytes of text, which would take seconds to minutes to hash on every start, while a stat costs
        microseconds. An edit in place changes ``mtime_ns`` even when the size stays the same; only a tool
        that rewrites a file and then restores both its size and its mtime defeats this (delete the cache
        folder then). Copying the data without keeping mtimes (``cp`` without ``-p``) rebuilds the cache once.
        """
        path = self.raw_dir / rel
        try:
            stat = path.stat()
        except OSError as err:  # vanished since the listing, or a dangling link
            raise UserError(
                f"cannot read raw file ({err.strerror or err})", where=str(path), fix=_FIX_CORRUPT
            ) from err
        return [rel, stat.st_size, stat.st_mtime_ns]

    def _load_or_build(
        self, split: str, files: list[tuple[str, int]], cache: Path
    ) -> PointCloudTensorDataset:
        path = cache / f"{split}.pt"
        if path.is_file():
            try:
                return self._from_cache(path, files)
            except Exception as err:  # any unreadable or inconsistent cache is rebuilt, never trusted
                warn(f"cache {path} is unreadable ({type(err).__name__}: {err}); rebuilding it")
        return self._build_and_save(split, files, cache)

    def _from_cache(self, path: Path, files: list[tuple[str, int]]) -> PointCloudTensorDataset:
        data = torch.load(path, map_location="cpu", weights_only=True)
        names, labels = [rel for rel, _ in files], [label for _, label in files]
        shape = (len(files), self.num_points, self.declared_point_features())
        if data.get("format") != _CACHE_FORMAT or data.get("key") != self.cache_key:
            raise ValueError("format or key differ")
        if data["files"] != names or data["labels"].tolist() != labels:
            raise ValueError("file list or labels differ from the raw data")
        if tuple(data["points"].shape) != shape:
            raise ValueError(f"points have shape {tuple(data['points'].shape)}, expected {shape}")
        return PointCloudTensorDataset(data["points"], data["labels"])

    def _build_and_save(
        self, split: str, files: list[tuple[str, int]], cache: Path
    ) -> PointCloudTensorDataset:
        start = time.perf_counter()
        points = self._process_meshes(files) if self.source == "mesh" else self._process_resampled(files)
        labels = torch.tensor([label for _, label in files], dtype=torch.int64)
        names = [rel for rel, _ in files]
        atomic_torch_save(
            {
                "format": _CACHE_FORMAT,
                "key": self.cache_key,
                "points": points,
                "labels": labels,
                "files": names,
            },
            cache / f"{split}.pt",
        )
        seconds = time.perf_counter() - start
        # a readable note next to each cache file, for people browsing the cache folder
        note = {"key": self.cache_key, "reader": READER_VERSION, "shape": list(points.shape)}
        atomic_write_json(cache / f"{split}.json", note | {"root": str(self.root), "seconds": seconds})
        log.info("ModelNet40 %s: processed %d files in %.1f s into %s", split, len(files), seconds, cache)
        return PointCloudTensorDataset(points, labels)

    def _process_meshes(self, files: list[tuple[str, int]]) -> Tensor:
        points = torch.empty(len(files), self.num_points, 3)
        for i, (rel, _) in enumerate(files):
            path = self.raw_dir / rel
            pos, face = read_off(path)
            # seeded by (sampling_seed, file): a mesh gets the same points in the full set and in any subset
            generator = torch.Generator().manual_seed(derive_seed("modelnet40", self.sampling_seed, rel))
            try:
                points[i] = sample_points_on_mesh(pos, face, self.num_points, generator)
            except ValueError as err:
                raise UserError(
                    f"cannot sample points on this mesh: {err}", where=str(path), fix=_FIX_CORRUPT
                ) from err
            if (i + 1) % 1000 == 0:
                log.info("ModelNet40: sampled %d / %d meshes", i + 1, len(files))
        return normalize_unit_sphere(points)

    def _process_resampled(self, files: list[tuple[str, int]]) -> Tensor:
        raw = torch.from_numpy(
            np.stack([read_resampled(self.root / rel, self.num_points) for rel, _ in files])
        )
        xyz = normalize_unit_sphere(raw[..., :3])
        return torch.cat([xyz, raw[..., 3:6]], dim=-1) if self.use_normals else xyz

    def _warn_if_not_official(self, train: PointCloudTensorDataset, test: PointCloudTensorDataset) -> None:
        """Say loudly when the data is not the full official split, instead of letting subset metrics pass."""
        classes = torch.cat([train.labels, test.labels]).unique().numel()
        official = MODELNET40_OFFICIAL_COUNTS
        if (len(train), len(test), classes) == (official["train"], official["test"], len(MODELNET40_CLASSES)):
            return
        kind = "meshes" if self.source == "mesh" else "shapes"
        warn(
            f"ModelNet40 ({self.source}): found {len(train):,} train / {len(test):,} test {kind} "
            f"in {classes} of {len(MODELNET40_CLASSES)} classes; the official split has "
            f"{official['train']:,} / {official['test']:,} in {len(MODELNET40_CLASSES)}: "
            "metrics are not comparable to the paper"
        )
