"""The synthetic shapes dataset: deterministic, balanced, labelled synthetic, in the shared batch format."""

from __future__ import annotations

import time

import pytest
import torch

from datamodules.pointclouds import PointCloudAugmentation, sample_points_on_mesh
from datamodules.shapes import SHAPE_CLASSES, ShapesDataModule, shape_meshes
from zoo.errors import UserError

SMALL = {"num_points": 64, "train_per_class": 8, "val_per_class": 2, "test_per_class": 4}


def _setup(**kwargs) -> ShapesDataModule:
    dm = ShapesDataModule(**({"batch_size": 8} | SMALL | kwargs))
    dm.setup("fit")
    return dm


def test_same_seed_same_data_other_seed_other_data() -> None:
    torch.manual_seed(0)
    first = _setup()
    torch.manual_seed(123)  # the run seed must not matter
    again = _setup()
    other = _setup(generation_seed=1)
    for split in ("train_dataset", "val_dataset", "test_dataset"):
        assert torch.equal(getattr(first, split).points, getattr(again, split).points)
        assert not torch.equal(getattr(first, split).points, getattr(other, split).points)
    assert not torch.equal(first.train_dataset.points[:4], first.test_dataset.points[:4])


def test_split_sizes_are_independent_streams() -> None:
    small, large = _setup(), _setup(train_per_class=16)
    assert torch.equal(small.test_dataset.points, large.test_dataset.points)
    assert torch.equal(small.val_dataset.points, large.val_dataset.points)


def test_classes_are_balanced_and_the_data_is_labelled_synthetic() -> None:
    dm = _setup()
    for dataset, per_class in ((dm.train_dataset, 8), (dm.val_dataset, 2), (dm.test_dataset, 4)):
        assert torch.bincount(dataset.labels, minlength=8).tolist() == [per_class] * 8
    summary = dm.dataset_summary()
    assert summary["synthetic"] is True and summary["name"] == "shapes (synthetic)"
    assert summary["counts"] == {"train": 64, "val": 16, "test": 32} and summary["val_source"] == "provided"
    assert summary["classes_present"] == sorted(SHAPE_CLASSES)
    assert dm.num_classes == len(SHAPE_CLASSES) == 8 and dm.point_features == 3


def test_loaders_follow_the_batch_contract() -> None:
    dm = _setup()
    loaders = [dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader(), dm.predict_dataloader()]
    for loader in loaders:
        batch = next(iter(loader))
        assert set(batch) == {"points", "label", "index"}
        assert batch["points"].shape == (8, 64, 3) and batch["points"].dtype == torch.float32
        assert batch["label"].shape == (8,) and batch["label"].dtype == torch.int64
        assert batch["index"].shape == (8,) and batch["index"].dtype == torch.int64
    points = dm.train_dataset.points
    assert torch.allclose(points.norm(dim=-1).amax(dim=1), torch.ones(64))
    assert torch.allclose(points.mean(dim=1), torch.zeros(64, 3), atol=1e-5)


def test_meshes_are_valid_surfaces() -> None:
    generator = torch.Generator().manual_seed(0)
    for name in SHAPE_CLASSES:
        pos, face = shape_meshes()[name]
        assert face.max() < len(pos) and face.min() >= 0
        sample_points_on_mesh(pos, face, 16, generator)  # positive area
    pos, face = shape_meshes()["sphere"]
    radii = sample_points_on_mesh(pos, face, 1000, generator).norm(dim=1)
    assert radii.max() <= 1 + 1e-6 and radii.min() > 0.99  # 32 x 16 facets of the unit sphere


def test_defaults_generate_quickly() -> None:
    dm = ShapesDataModule()
    start = time.perf_counter()
    dm.setup("fit")
    assert time.perf_counter() - start < 5.0  # ~0.04 s idle, ~1.7 s on 2 busy cores: catches per-point loops
    assert dm.train_dataset.points.shape == (512, 256, 3)


def test_without_its_own_validation_split_the_base_holds_out() -> None:
    dm = _setup(val_per_class=0, val_fraction=0.25)
    assert dm.dataset_summary()["val_source"] == "holdout"
    assert torch.bincount(dm.val_dataset.labels).tolist() == [2] * 8


def test_errors_and_augmentation_hook() -> None:
    with pytest.raises(UserError, match="data.num_classes=8"):
        _setup(num_classes=40)
    with pytest.raises(UserError, match="train_per_class"):
        ShapesDataModule(train_per_class=0)
    with pytest.raises(UserError, match="data.batch_size=64"):
        _setup(batch_size=65)
    dm = _setup(augment=PointCloudAugmentation(rotate_axis="so3"))
    assert dm.up_axis is None and dm.augment is not None


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("generation_seed", "x"),
        ("generation_seed", None),
        ("noise_sigma", "x"),
        ("noise_sigma", None),
        ("noise_sigma", -0.1),
        ("noise_sigma", float("nan")),
        ("noise_sigma", float("inf")),
        ("scale_range", "ab"),
        ("scale_range", None),
        ("scale_range", [1]),
        ("scale_range", [1, 2, 3]),
        ("scale_range", [1, float("inf")]),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_key(key: str, bad: object) -> None:
    with pytest.raises(UserError, match=f"data.{key}"):
        ShapesDataModule(**{key: bad})
