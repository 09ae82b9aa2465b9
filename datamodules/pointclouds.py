"""Point-cloud plumbing shared by every point-cloud dataset family (ModelNet40, the synthetic shapes, ...).

Batch contract with the model side: ``{"points": float32 [B, N, F], "label": int64 [B], "index": int64 [B]}``.
Channels 0..2 of ``points`` are xyz; when F >= 6, channels 3..5 are unit normals. ``index`` is the sample's
row in its source split (the training split for the validation hold-out), so predictions map back to files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as nnf
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, RandomSampler

from datamodules import checks
from zoo.errors import UserError, non_negative_int, positive_int

log = logging.getLogger(__name__)

ROTATE_AXES = ("x", "y", "z", "so3")
# For a rotation about axis a, the plane it turns: (i, j) in right-handed cyclic order.
_ROTATION_PLANE = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}


@rank_zero_only
def warn(message: str) -> None:
    """Log a warning once per job (rank 0 only), so DDP runs do not repeat it per process."""
    log.warning(message)


# ------------------------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------------------------


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text, stable across processes and runs (unlike ``hash()``)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def sample_points_on_mesh(
    pos: Tensor,
    face: Tensor,
    num_points: int,
    generator: torch.Generator,
    num_samples: int | None = None,
) -> Tensor:
    """Sample points uniformly on a triangle mesh's surface.

    ``pos`` is [V, 3] float, ``face`` is [T, 3] integer (one row per triangle, the layout ``read_off``
    returns; torch_geometric's ``Data.face`` is the transpose). Triangles are drawn with probability
    proportional to their area, then a point uniformly inside each by reflected barycentric coordinates.
    Deterministic given ``generator`` (which must live on ``pos``'s device). Returns [num_points, 3], or
    [num_samples, num_points, 3] when ``num_samples`` is given (all samples in one draw, for batched synthetic
    data).
    """
    if face.ndim != 2 or face.shape[1] != 3:
        raise ValueError(f"face must be [T, 3] triangle indices, got shape {tuple(face.shape)}")
    if pos.ndim != 2 or pos.shape[1] != 3 or not pos.is_floating_point():
        raise ValueError(f"pos must be a float [V, 3] tensor, got {pos.dtype} {tuple(pos.shape)}")
    a, b, c = pos[face].unbind(dim=1)
    ab, ac = b - a, c - a
    weights = torch.linalg.cross(ab, ac).norm(dim=1)  # twice the triangle areas
    total = weights.sum()
    if face.shape[0] == 0 or not torch.isfinite(total) or total <= 0:
        raise ValueError(
            f"cannot sample points on a mesh with total surface area {float(total)} "
            f"({face.shape[0]} triangles, {pos.shape[0]} vertices): every triangle is degenerate "
            "or a coordinate is not finite"
        )
    count = num_points * (1 if num_samples is None else num_samples)
    choice = torch.multinomial(weights, count, replacement=True, generator=generator)
    uv = torch.rand(count, 2, generator=generator, dtype=pos.dtype, device=pos.device)
    uv = torch.where(uv.sum(dim=1, keepdim=True) > 1, 1 - uv, uv)  # fold the far half back into the triangle
    points = a[choice] + uv[:, :1] * ab[choice] + uv[:, 1:] * ac[choice]
    return points if num_samples is None else points.view(num_samples, num_points, 3)


def normalize_unit_sphere(points: Tensor, eps: float = 1e-12) -> Tensor:
    """Centre each cloud [..., N, 3] on its centroid and scale it so the farthest point has norm 1.

    This is the paper's "normalized to the unit sphere" (PointNet++'s ``pc_normalize``); batched over any
    leading dimensions. A cloud collapsed to one point becomes all zeros rather than NaN.
    """
    if points.shape[-1] != 3:
        raise ValueError(
            f"normalize_unit_sphere expects xyz in the last dimension, got {tuple(points.shape)}"
        )
    centred = points - points.mean(dim=-2, keepdim=True)
    radius = centred.norm(dim=-1).amax(dim=-1).clamp_min(eps)
    return centred / radius[..., None, None]


def random_rotation_matrices(
    batch: int,
    axis: str,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """[batch, 3, 3] rotations: uniform angle about ``axis`` (x/y/z) or uniform over SO(3) (``"so3"``).

    ``generator=None`` uses the global RNG of ``device`` (augmentation); a generator gives seeded data
    generation. SO(3) uses normalised Gaussian quaternions, which are uniform on the sphere and hence
    Haar-uniform rotations.
    """
    if axis == "so3":
        q = torch.randn(batch, 4, generator=generator, device=device, dtype=dtype)
        w, x, y, z = nnf.normalize(q, dim=1).unbind(dim=1)
        rows = [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
        return torch.stack([torch.stack(row, dim=1) for row in rows], dim=1)
    if axis not in _ROTATION_PLANE:
        raise ValueError(f"rotation axis must be one of {ROTATE_AXES}, got {axis!r}")
    angle = 2 * math.pi * torch.rand(batch, generator=generator, device=device, dtype=dtype)
    cos, sin = angle.cos(), angle.sin()
    i, j = _ROTATION_PLANE[axis]
    rot = torch.eye(3, device=device, dtype=dtype).repeat(batch, 1, 1)
    rot[:, i, i], rot[:, i, j], rot[:, j, i], rot[:, j, j] = cos, -sin, sin, cos
    return rot


# ------------------------------------------------------------------------------------------------------------
# Augmentation
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointCloudAugmentation:
    """Training-time augmentation of a batch [B, N, F], vectorised on the batch's device.

    Defaults are PointNet's recipe: a random rotation about the up axis, then Gaussian jitter of sigma 0.01
    clipped to +-0.05. ``scale_range`` (anisotropic, per axis, e.g. DGCNN's (2/3, 3/2)) and ``shift_range``
    (uniform +-r per axis, DGCNN's 0.2) add the PointNet++/DGCNN options; order: rotate, scale, shift, jitter.
    ``rotate_axis``: "x", "y", "z", "so3" (uniform 3-D rotation) or None. Raw ModelNet OFF meshes are z-up,
    PointNet's HDF5 and PointNet++'s resampled files are y-up. Normals (channels 3..5 when F >= 6) are rotated
    with the points and transformed by the inverse scale (then renormalised), never jittered or shifted; other
    channels pass through. Random numbers come from the global torch RNG, so resuming restores them via the
    saved RNG state.
    """

    rotate_axis: str | None = "z"
    jitter_sigma: float = 0.01
    jitter_clip: float = 0.05
    scale_range: tuple[float, float] | None = None
    shift_range: float | None = None

    def __post_init__(self) -> None:
        if self.rotate_axis not in (None, *ROTATE_AXES):
            raise UserError(
                f"unknown rotation axis {self.rotate_axis!r}",
                where="augment.rotate_axis",
                fix=f"use one of {', '.join(ROTATE_AXES)} or null",
            )
        jitter_fix = "e.g. jitter_sigma=0.01 jitter_clip=0.05, or jitter_sigma=0 to disable jitter"
        sigma = checks.real(self.jitter_sigma, "augment.jitter_sigma", jitter_fix, low=0, high=math.inf)
        object.__setattr__(self, "jitter_sigma", sigma)
        if sigma > 0:  # the clip matters only with jitter
            clip = checks.real(self.jitter_clip, "augment.jitter_clip", jitter_fix, low=0, high=math.inf)
            if clip <= 0:
                raise UserError(
                    f"jitter needs sigma >= 0 and clip > 0, got {sigma} and {clip}",
                    where="augment.jitter_sigma / augment.jitter_clip",
                    fix=jitter_fix,
                )
            object.__setattr__(self, "jitter_clip", clip)
        if self.scale_range is not None:  # also accepts a list / ListConfig
            scale = checks.positive_range(
                self.scale_range, "augment.scale_range", "e.g. scale_range=[0.667,1.5], or null to disable"
            )
            object.__setattr__(self, "scale_range", scale)
        if self.shift_range is not None:
            shift = checks.real(
                self.shift_range,
                "augment.shift_range",
                "e.g. shift_range=0.2, or null to disable shifting",
                low=0,
                high=math.inf,
            )
            object.__setattr__(self, "shift_range", shift)

    def __call__(self, points: Tensor) -> Tensor:
        if points.ndim != 3 or points.shape[-1] < 3:
            raise ValueError(f"augmentation expects a batch [B, N, F>=3], got {tuple(points.shape)}")
        batch, _, features = points.shape
        opts = {"device": points.device, "dtype": points.dtype}
        xyz = points[..., :3]
        normals = points[..., 3:6] if features >= 6 else None
        if self.rotate_axis is not None:
            rot_t = random_rotation_matrices(batch, self.rotate_axis, **opts).transpose(1, 2)
            xyz = torch.bmm(xyz, rot_t)
            normals = None if normals is None else torch.bmm(normals, rot_t)
        if self.scale_range is not None:
            low, high = self.scale_range
            scale = (low + (high - low) * torch.rand(batch, 1, 3, **opts)).expand_as(xyz)
            xyz = xyz * scale
            normals = None if normals is None else nnf.normalize(normals / scale, dim=-1)
        if self.shift_range:
            xyz = xyz + self.shift_range * (2 * torch.rand(batch, 1, 3, **opts) - 1)
        if self.jitter_sigma > 0:
            xyz = xyz + (self.jitter_sigma * torch.randn_like(xyz)).clamp(-self.jitter_clip, self.jitter_clip)
        parts = [xyz] if normals is None else [xyz, normals]
        return torch.cat([*parts, points[..., 6:]], dim=-1) if features > 6 else torch.cat(parts, dim=-1)


def _as_augmentation(
    augment: PointCloudAugmentation | Mapping[str, Any] | None,
) -> PointCloudAugmentation | None:
    """Accept a ready augmentation or its keyword arguments (a plain Hydra mapping without ``_target_``)."""
    if augment is None or isinstance(augment, PointCloudAugmentation):
        return augment
    if isinstance(augment, Mapping):
        defaults = {f.name: f.default for f in dataclasses.fields(PointCloudAugmentation)}
        return PointCloudAugmentation(**checks.options(augment, "data.augment", defaults))
    raise UserError(
        "augment must be a PointCloudAugmentation, a mapping of its arguments or null, "
        f"got {type(augment).__name__}",
        where="data.augment",
        fix="e.g. data.augment={rotate_axis: z, jitter_sigma: 0.01, jitter_clip: 0.05} or data.augment=null",
    )


# ------------------------------------------------------------------------------------------------------------
# Datasets and splits
# ------------------------------------------------------------------------------------------------------------


class PointCloudTensorDataset(Dataset):
    """One split held in memory: ModelNet40 at 1024 points is ~150 MB, so lazy loading only adds latency."""

    def __init__(self, points: Tensor, labels: Tensor, index: Tensor | None = None) -> None:
        if points.ndim != 3:
            raise ValueError(f"points must be [S, N, F], got shape {tuple(points.shape)}")
        if labels.shape != points.shape[:1]:
            raise ValueError(f"labels must be [S={points.shape[0]}], got shape {tuple(labels.shape)}")
        self.points = points.to(torch.float32).contiguous()
        self.labels = labels.to(torch.int64)
        self.index = torch.arange(len(labels)) if index is None else index.to(torch.int64)

    def __len__(self) -> int:
        return self.points.shape[0]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"points": self.points[i], "label": self.labels[i], "index": self.index[i]}

    @property
    def num_points(self) -> int:
        return self.points.shape[1]

    @property
    def point_features(self) -> int:
        return self.points.shape[2]

    def subset(self, rows: Tensor) -> PointCloudTensorDataset:
        """Rows ``rows`` of this split, keeping their original ``index``."""
        return PointCloudTensorDataset(self.points[rows], self.labels[rows], self.index[rows])


@dataclass(frozen=True)
class PointCloudSplits:
    """What a dataset family loads; ``val`` is for datasets that ship their own validation split."""

    train: PointCloudTensorDataset
    test: PointCloudTensorDataset
    class_names: tuple[str, ...]
    val: PointCloudTensorDataset | None = None


def holdout_split(labels: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor, bool]:
    """Deterministic validation hold-out: (train rows, val rows, stratified), both sorted.

    Stratified: each class gives round(fraction * count) rows, at least 1 and at most count - 1, chosen by one
    seeded permutation (its own generator, so the run seed never changes the split). When some class has a
    single sample the split cannot be stratified, and a plain seeded split of round(fraction * n) rows is
    returned. Requires at least 2 labels.
    """
    n = labels.numel()
    if n < 2:
        raise ValueError(f"a hold-out needs at least 2 samples, got {n}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    counts = torch.bincount(labels)
    if (counts == 1).any():
        n_val = min(max(round(n * fraction), 1), n - 1)
        return perm[n_val:].sort().values, perm[:n_val].sort().values, False
    n_val = torch.floor(counts * fraction + 0.5).long().clamp(min=1).minimum(counts - 1).clamp(min=0)
    shuffled = labels[perm]
    order = torch.argsort(shuffled, stable=True)  # grouped by class, random order inside each class
    rows, grouped = perm[order], shuffled[order]
    rank = torch.arange(n) - (torch.cumsum(counts, 0) - counts)[grouped]
    is_val = rank < n_val[grouped]
    return rows[~is_val].sort().values, rows[is_val].sort().values, True


# ------------------------------------------------------------------------------------------------------------
# DataModule
# ------------------------------------------------------------------------------------------------------------


class PointCloudDataModule(pl.LightningDataModule):
    """Base of every point-cloud DataModule: validation hold-out, checks, loaders and GPU-side augmentation.

    Subclasses implement ``load_splits()``; they may override ``declared_class_names`` and
    ``declared_point_features`` so that ``num_classes`` / ``point_features`` are known before ``setup``
    (models are usually built before the data is loaded).

    ``val_fraction`` of the training set (stratified by class, seeded by ``split_seed`` only) becomes the
    validation set; ``val_fraction=0`` validates on the test set as PointNet/DGCNN did (with a warning).
    ``drop_last`` applies to the training loader only: evaluation never drops samples.
    """

    dataset_name: str = "point clouds"
    synthetic: bool = False
    # the data's vertical axis, to catch an augmentation that rotates about another one
    up_axis: str | None = None

    def __init__(
        self,
        batch_size: int = 32,
        num_workers: int = 0,
        pin_memory: bool = False,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        augment: PointCloudAugmentation | None = None,
        num_classes: int | None = None,
        drop_last: bool = True,
    ) -> None:
        super().__init__()
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=32")
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory = bool(pin_memory)
        self.val_fraction = checks.fraction(
            val_fraction,
            "data.val_fraction",
            "e.g. data.val_fraction=0.1, or data.val_fraction=0 to validate on the test set",
        )
        self.split_seed = checks.seed(split_seed, "data.split_seed")
        self.augment = _as_augmentation(augment)
        self._num_classes_arg = (
            None
            if num_classes is None
            else positive_int(num_classes, "data.num_classes", "data.num_classes=null")
        )
        self.drop_last = bool(drop_last)
        self._splits: PointCloudSplits | None = None
        self._train: PointCloudTensorDataset | None = None
        self._val: PointCloudTensorDataset | None = None
        self._val_source: str | None = None

    # ---- hooks for subclasses ------------------------------------------------------------------------------

    def load_splits(self) -> PointCloudSplits:
        """Return the train and test datasets (and optionally a ready validation split) plus class names."""
        raise NotImplementedError

    def declared_class_names(self) -> Sequence[str] | None:
        return None

    def declared_point_features(self) -> int | None:
        return None

    def summary_extras(self) -> dict[str, Any]:
        """Dataset-specific entries for ``dataset_summary``."""
        return {}

    # ---- Lightning hooks -----------------------------------------------------------------------------------

    def setup(self, stage: str | None = None) -> None:
        if self._splits is None:
            splits = self.load_splits()
            self._check_splits(splits)
            self._train, self._val, self._val_source = self._split_validation(splits)
            self._splits = splits
            self._check_augment_axis()
        if stage in (None, "fit"):
            self._check_batch_size_fits()

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_dataset, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_dataset, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_dataset, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.test_dataset, train=False)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment on the batch's device (the GPU when training on one), only in the training loop."""
        trainer = self.trainer
        if self.augment is None or trainer is None or not trainer.training:
            return batch
        return {**batch, "points": self.augment(batch["points"])}

    # ---- public properties ---------------------------------------------------------------------------------

    @property
    def class_names(self) -> tuple[str, ...]:
        if self._splits is not None:
            return self._splits.class_names
        declared = self.declared_class_names()
        if declared is None:
            raise RuntimeError(
                f"{type(self).__name__}.class_names is known only after setup(); call setup() first"
            )
        return tuple(declared)

    @property
    def num_classes(self) -> int:
        if self._splits is None and self.declared_class_names() is None:
            if self._num_classes_arg is None:
                raise RuntimeError(
                    f"{type(self).__name__}.num_classes is unknown before setup(); call setup()"
                )
            return self._num_classes_arg
        self._check_num_classes(len(self.class_names))
        return len(self.class_names)

    @property
    def point_features(self) -> int:
        if self._splits is not None:
            return self._splits.train.point_features
        declared = self.declared_point_features()
        if declared is None:
            raise RuntimeError(
                f"{type(self).__name__}.point_features is known only after setup(); call setup()"
            )
        return declared

    @property
    def train_dataset(self) -> PointCloudTensorDataset:
        return self._require(self._train)

    @property
    def val_dataset(self) -> PointCloudTensorDataset:
        return self._require(self._val)

    @property
    def test_dataset(self) -> PointCloudTensorDataset:
        return self._require(None if self._splits is None else self._splits.test)

    def dataset_summary(self) -> dict[str, Any]:
        """Counts per split and classes present, for the run's provenance record and the log."""
        names = self.class_names
        splits = {"train": self.train_dataset, "val": self.val_dataset, "test": self.test_dataset}
        present = {
            split: sorted({names[i] for i in ds.labels.unique().tolist()}) for split, ds in splits.items()
        }
        return {
            "name": self.dataset_name,
            "synthetic": self.synthetic,
            "counts": {split: len(ds) for split, ds in splits.items()},
            "val_source": self._val_source,
            "num_classes": len(names),
            "classes_present": sorted(set().union(*present.values())),
            "num_classes_present": {split: len(p) for split, p in present.items()},
            "num_points": self.train_dataset.num_points,
            "point_features": self.point_features,
            "up_axis": self.up_axis,
            "augment": None if self.augment is None else repr(self.augment),
            **self.summary_extras(),
        }

    # ---- internals -----------------------------------------------------------------------------------------

    def _require(self, dataset: PointCloudTensorDataset | None) -> PointCloudTensorDataset:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for datasets or loaders")
        return dataset

    def _loader(self, dataset: PointCloudTensorDataset, *, train: bool) -> DataLoader:
        """Loaders that never draw from the global RNG except for the training shuffle, at its first batch.

        Creating a DataLoader iterator draws a worker base seed from the global RNG unless the loader has its
        own generator; Lightning creates the first epoch's iterator before ``on_train_epoch_start`` and later
        ones after it, so that draw would make a resumed run shuffle differently from an uninterrupted one.
        With a private generator for that seed and a ``RandomSampler`` on the global RNG (drawn lazily, when
        the first batch is fetched), the shuffle and augmentation of epoch e depend only on the global RNG
        state at the epoch's start (which the framework reseeds per epoch).
        """
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=RandomSampler(dataset) if train else None,
            drop_last=train and self.drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator(),
        )

    def _check_num_classes(self, found: int) -> None:
        if self._num_classes_arg is not None and self._num_classes_arg != found:
            raise UserError(
                f"num_classes={self._num_classes_arg} was requested "
                f"but {self.dataset_name} has {found} classes",
                where="data.num_classes",
                fix=f"set data.num_classes={found} or leave it unset (null) so it follows the data",
            )

    def _check_splits(self, splits: PointCloudSplits) -> None:
        datasets = {"train": splits.train, "test": splits.test}
        if splits.val is not None:
            datasets["val"] = splits.val
        for split, ds in datasets.items():
            if len(ds) == 0:
                raise UserError(
                    f"the {split} split of {self.dataset_name} is empty",
                    where=self.dataset_name,
                    fix="check the data root and that the dataset is complete",
                )
            if ds.labels.min() < 0 or ds.labels.max() >= len(splits.class_names):
                raise ValueError(
                    f"{split} labels outside [0, {len(splits.class_names)}) in {self.dataset_name}"
                )
        features = {split: ds.point_features for split, ds in datasets.items()}
        if len(set(features.values())) != 1:
            raise ValueError(f"splits of {self.dataset_name} disagree on the point features: {features}")
        self._check_num_classes(len(splits.class_names))

    def _split_validation(
        self, splits: PointCloudSplits
    ) -> tuple[PointCloudTensorDataset, PointCloudTensorDataset, str]:
        if splits.val is not None:
            return splits.train, splits.val, "provided"
        if self.val_fraction == 0 or len(splits.train) < 2:
            why = "val_fraction=0" if self.val_fraction == 0 else f"only {len(splits.train)} training sample"
            warn(
                f"{self.dataset_name}: {why}, so validation uses the TEST set (as PointNet/DGCNN did): "
                "model selection (best checkpoint, early stopping) then sees the test set "
                "and test metrics are optimistic"
            )
            return splits.train, splits.test, "test"
        train_rows, val_rows, stratified = holdout_split(
            splits.train.labels, self.val_fraction, self.split_seed
        )
        if not stratified:
            counts = torch.bincount(splits.train.labels)
            single = [splits.class_names[i] for i in torch.nonzero(counts == 1).flatten().tolist()]
            shown = ", ".join(single[:5]) + (", ..." if len(single) > 5 else "")
            warn(
                f"{self.dataset_name}: {len(single)} class(es) have a single training sample ({shown}), "
                f"so the validation hold-out is a plain seeded split ({len(val_rows)} of "
                f"{len(splits.train)} samples), not stratified by class"
            )
        return splits.train.subset(train_rows), splits.train.subset(val_rows), "holdout"

    def _check_augment_axis(self) -> None:
        axis = None if self.augment is None else self.augment.rotate_axis
        if axis in _ROTATION_PLANE and self.up_axis is not None and axis != self.up_axis:
            warn(
                f"{self.dataset_name} is {self.up_axis}-up but the augmentation rotates about {axis}: "
                f"set augment.rotate_axis={self.up_axis} unless this is deliberate"
            )

    def _check_batch_size_fits(self) -> None:
        n = len(self.train_dataset)
        if self.drop_last and self.batch_size > n:
            raise UserError(
                f"batch size {self.batch_size} is larger than the {n} training sample{'s' * (n != 1)} "
                f"of {self.dataset_name}, so with drop_last every epoch would have zero training batches",
                where="data.batch_size",
                fix=f"set data.batch_size={n} or smaller, or data.drop_last=false",
            )
