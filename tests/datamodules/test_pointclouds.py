"""Shared point-cloud plumbing: sampling, normalisation, augmentation, hold-out split, base DataModule."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch

from datamodules.pointclouds import (
    PointCloudAugmentation,
    PointCloudDataModule,
    PointCloudSplits,
    PointCloudTensorDataset,
    holdout_split,
    normalize_unit_sphere,
    random_rotation_matrices,
    sample_points_on_mesh,
)
from zoo.errors import UserError


def _cube() -> tuple[torch.Tensor, torch.Tensor]:
    pos = torch.tensor([[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)])
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    face = torch.tensor([[q[0], q[i], q[i + 1]] for q in quads for i in (1, 2)])
    return pos, face


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- sampling and normalisation ----------------------------------------------------------------------------


def test_mesh_samples_lie_on_the_cube_surface() -> None:
    pos, face = _cube()
    points = sample_points_on_mesh(pos, face, 2000, _gen())
    assert points.shape == (2000, 3) and points.dtype == torch.float32
    assert torch.allclose(points.abs().amax(dim=1), torch.ones(2000), atol=1e-6)
    counts = torch.bincount((points.abs() > 1 - 1e-6).float().argmax(dim=1), minlength=3)
    assert (counts > 500).all()  # every pair of opposite faces gets about a third


def test_mesh_sampling_is_area_weighted_and_uniform_inside_triangles() -> None:
    # two disjoint triangles, areas 0.5 (z=0) and 1.5 (z=1): expected 25 % / 75 %
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 1, 1]])
    face = torch.tensor([[0, 1, 2], [3, 4, 5]])
    points = sample_points_on_mesh(pos, face, 40_000, _gen())
    small = points[:, 2] < 0.5
    assert small.float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert points[small, :2].mean(dim=0).tolist() == pytest.approx([1 / 3, 1 / 3], abs=0.01)  # centroid
    assert (points[small, :2].sum(dim=1) <= 1 + 1e-6).all() and (points[small, :2] >= 0).all()


def test_mesh_sampling_is_deterministic_per_generator() -> None:
    pos, face = _cube()
    first, again = (sample_points_on_mesh(pos, face, 64, _gen(3)) for _ in range(2))
    assert torch.equal(first, again)
    assert not torch.equal(first, sample_points_on_mesh(pos, face, 64, _gen(4)))
    batched = sample_points_on_mesh(pos, face, 64, _gen(3), num_samples=5)
    assert batched.shape == (5, 64, 3)


def test_mesh_sampling_rejects_degenerate_meshes_and_wrong_layouts() -> None:
    flat = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]])
    with pytest.raises(ValueError, match="surface area"):
        sample_points_on_mesh(flat, torch.tensor([[0, 1, 2]]), 10, _gen())
    pos, face = _cube()
    with pytest.raises(ValueError, match=r"\[T, 3\]"):
        sample_points_on_mesh(pos, face.t(), 10, _gen())  # torch_geometric's [3, T] layout
    with pytest.raises(ValueError, match="surface area"):
        sample_points_on_mesh(pos, face[:0], 10, _gen())


def test_normalize_unit_sphere_is_batched_and_safe() -> None:
    points = torch.randn(4, 100, 3) * torch.tensor([5.0, 1.0, 0.1]) + torch.tensor([10.0, -3.0, 2.0])
    normed = normalize_unit_sphere(points)
    assert torch.allclose(normed.mean(dim=1), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(normed.norm(dim=-1).amax(dim=1), torch.ones(4))
    assert torch.allclose(normed[2], normalize_unit_sphere(points[2]))
    collapsed = normalize_unit_sphere(torch.ones(1, 10, 3))
    assert torch.equal(collapsed, torch.zeros(1, 10, 3))


@pytest.mark.parametrize("axis", ["x", "y", "z", "so3"])
def test_random_rotations_are_proper_and_about_the_axis(axis: str) -> None:
    rot = random_rotation_matrices(64, axis, generator=_gen(), dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64).expand(64, 3, 3)
    assert torch.allclose(rot @ rot.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(64, dtype=torch.float64))
    if axis != "so3":
        k = "xyz".index(axis)
        assert torch.allclose(rot[:, :, k], eye[:, :, k])  # the axis itself is fixed
    assert rot.std(dim=0).max() > 0.5  # a different rotation per sample


# ---- augmentation ------------------------------------------------------------------------------------------


def _sphere_batch(batch: int = 6, n: int = 50, extra: int = 0) -> torch.Tensor:
    xyz = torch.nn.functional.normalize(torch.randn(batch, n, 3, generator=_gen(1)), dim=-1)
    normals = xyz  # a unit sphere's normals are its positions
    return torch.cat([xyz, normals, torch.randn(batch, n, extra, generator=_gen(2))], dim=-1)


def test_augmentation_keeps_shape_and_dtype() -> None:
    aug = PointCloudAugmentation(rotate_axis="so3", scale_range=(0.8, 1.25), shift_range=0.1)
    for points in (torch.randn(4, 32, 3), torch.randn(4, 32, 6, dtype=torch.float64), _sphere_batch(extra=3)):
        out = aug(points)
        assert out.shape == points.shape and out.dtype == points.dtype and out.device == points.device


def test_rotation_preserves_norms_rotates_normals_and_keeps_up_axis() -> None:
    torch.manual_seed(0)
    points = _sphere_batch(extra=2)
    out = PointCloudAugmentation(rotate_axis="z", jitter_sigma=0.0)(points)
    assert torch.allclose(out[..., :3].norm(dim=-1), points[..., :3].norm(dim=-1), atol=1e-6)
    assert torch.allclose(out[..., 2], points[..., 2])  # about z: heights unchanged
    assert torch.allclose(out[..., 3:6], out[..., :3], atol=1e-6)  # normals turned with the points
    assert torch.equal(out[..., 6:], points[..., 6:])  # other channels pass through
    per_sample_change = (out[..., :2] - points[..., :2]).abs().mean(dim=(1, 2))
    assert per_sample_change.std() > 0  # each sample gets its own angle


def test_anisotropic_scale_transforms_normals_by_the_inverse_scale() -> None:
    torch.manual_seed(0)
    points = _sphere_batch()
    out = PointCloudAugmentation(rotate_axis=None, jitter_sigma=0.0, scale_range=(0.5, 2.0))(points)
    scale = out[:, :1, :3] / points[:, :1, :3]  # one scale per sample and axis
    assert torch.allclose(out[..., :3], points[..., :3] * scale, atol=1e-5)
    expected = torch.nn.functional.normalize(points[..., :3] / scale, dim=-1)  # ellipsoid normals
    assert torch.allclose(out[..., 3:6], expected, atol=1e-5)


def test_jitter_is_clipped_and_shift_is_per_sample_and_normals_untouched() -> None:
    torch.manual_seed(0)
    points = _sphere_batch()
    jittered = PointCloudAugmentation(rotate_axis=None, jitter_sigma=0.05, jitter_clip=0.02)(points)
    delta = jittered[..., :3] - points[..., :3]
    assert delta.abs().max() <= 0.02 + 1e-6 and (delta.abs() == 0).float().mean() < 0.01
    assert torch.equal(jittered[..., 3:], points[..., 3:])
    shifted = PointCloudAugmentation(rotate_axis=None, jitter_sigma=0.0, shift_range=0.2)(points)
    offset = shifted[..., :3] - points[..., :3]
    assert torch.allclose(offset, offset[:, :1].expand_as(offset), atol=1e-6) and offset.abs().max() <= 0.2
    assert torch.equal(shifted[..., 3:], points[..., 3:])


def test_augmentation_arguments_are_validated() -> None:
    with pytest.raises(UserError, match="rotate_axis"):
        PointCloudAugmentation(rotate_axis="w")
    with pytest.raises(UserError, match="scale_range"):
        PointCloudAugmentation(scale_range=(1.5, 0.5))
    assert PointCloudAugmentation(scale_range=[0.5, 2]).scale_range == (0.5, 2.0)


@pytest.mark.parametrize(
    ("augment", "where"),
    [
        ({"bogus": 1}, "data.augment"),
        ({"jitter_sigma": "x"}, "augment.jitter_sigma"),
        ({"jitter_sigma": float("nan")}, "augment.jitter_sigma"),
        ({"jitter_clip": None}, "augment.jitter_clip"),
        ({"shift_range": "x"}, "augment.shift_range"),
        ({"shift_range": float("inf")}, "augment.shift_range"),
        ({"scale_range": "ab"}, "augment.scale_range"),
        ({"scale_range": [1]}, "augment.scale_range"),
        ({"scale_range": [1, 2, 3]}, "augment.scale_range"),
        ({"scale_range": [1, float("inf")]}, "augment.scale_range"),
    ],
)
def test_bad_augmentation_settings_are_user_errors(augment: dict, where: str) -> None:
    with pytest.raises(UserError, match=where):
        ToyDataModule(augment=augment)


def test_jitter_clip_is_ignored_without_jitter() -> None:
    assert PointCloudAugmentation(jitter_sigma=0, jitter_clip=None).jitter_clip is None


# ---- hold-out split ----------------------------------------------------------------------------------------


def test_holdout_is_stratified_seeded_and_independent_of_the_global_seed() -> None:
    labels = torch.arange(4).repeat_interleave(torch.tensor([10, 20, 5, 2]))
    torch.manual_seed(1)
    train, val, stratified = holdout_split(labels, 0.2, seed=7)
    torch.manual_seed(2)
    train2, val2, _ = holdout_split(labels, 0.2, seed=7)
    assert stratified and torch.equal(train, train2) and torch.equal(val, val2)
    assert torch.bincount(labels[val], minlength=4).tolist() == [2, 4, 1, 1]  # at least one, at most n-1
    assert sorted(train.tolist() + val.tolist()) == list(range(len(labels)))
    assert not torch.equal(val, holdout_split(labels, 0.2, seed=8)[1])


def test_holdout_falls_back_to_a_plain_split_for_single_sample_classes() -> None:
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    train, val, stratified = holdout_split(labels, 0.34, seed=0)
    assert not stratified and len(val) == 2 and len(train) == 4


# ---- the base DataModule -----------------------------------------------------------------------------------


class ToyDataModule(PointCloudDataModule):
    dataset_name = "toy"

    def __init__(self, n_train: int = 40, n_test: int = 12, classes: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sizes, self.classes = (n_train, n_test), classes

    def load_splits(self) -> PointCloudSplits:
        g = _gen(5)
        train, test = (
            PointCloudTensorDataset(torch.randn(n, 16, 3, generator=g), torch.arange(n) % self.classes)
            for n in self.sizes
        )
        return PointCloudSplits(
            train=train, test=test, class_names=tuple(f"c{i}" for i in range(self.classes))
        )


def test_base_holds_out_a_stratified_validation_split() -> None:
    dm = ToyDataModule(val_fraction=0.25, batch_size=4)
    dm.setup("fit")
    assert (len(dm.train_dataset), len(dm.val_dataset), len(dm.test_dataset)) == (28, 12, 12)
    assert torch.bincount(dm.val_dataset.labels).tolist() == [3, 3, 3, 3]
    all_rows = torch.cat([dm.train_dataset.index, dm.val_dataset.index]).sort().values
    assert torch.equal(all_rows, torch.arange(40))  # index refers to the row in the original train split
    summary = dm.dataset_summary()
    assert summary["counts"] == {"train": 28, "val": 12, "test": 12} and summary["val_source"] == "holdout"
    assert (
        summary["synthetic"] is False
        and summary["name"] == "toy"
        and summary["num_classes_present"]["val"] == 4
    )
    assert (dm.num_classes, dm.point_features, dm.class_names[0]) == (4, 3, "c0")


def test_val_fraction_zero_validates_on_test_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    dm = ToyDataModule(val_fraction=0.0, batch_size=4)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert dm.val_dataset is dm.test_dataset and len(dm.train_dataset) == 40
    assert "TEST set" in caplog.text and "model selection" in caplog.text


def test_tiny_datasets_fall_back_with_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        dm = ToyDataModule(n_train=3, classes=3, batch_size=1)  # one sample per class
        dm.setup("fit")
        assert (len(dm.train_dataset), len(dm.val_dataset)) == (2, 1)
        assert "not stratified" in caplog.text
        single = ToyDataModule(n_train=1, classes=1, batch_size=1)
        single.setup("fit")
        assert single.val_dataset is single.test_dataset


@pytest.mark.parametrize("bad", [0, -3, 2.5, "32", True, None])
def test_batch_size_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(UserError, match="data.batch_size"):
        ToyDataModule(batch_size=bad)


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("val_fraction", "abc"),
        ("val_fraction", None),
        ("val_fraction", True),
        ("val_fraction", -0.1),
        ("val_fraction", 1.0),
        ("val_fraction", float("nan")),
        ("split_seed", "x"),
        ("split_seed", None),
        ("split_seed", 1.5),
        ("split_seed", -1),
        ("split_seed", 2**64),
    ],
)
def test_fraction_and_seed_must_be_numbers_in_range(key: str, bad: object) -> None:
    with pytest.raises(UserError, match=f"data.{key}"):
        ToyDataModule(**{key: bad})


def test_batch_size_larger_than_the_training_set_is_a_user_error() -> None:
    dm = ToyDataModule(batch_size=64)
    with pytest.raises(UserError) as err:
        dm.setup("fit")
    assert (
        "64" in str(err.value)
        and "36 training samples" in str(err.value)
        and "data.batch_size=36" in str(err.value)
    )
    dm.setup("test")  # evaluation alone is fine: eval loaders never drop samples
    assert len(dm.test_dataloader()) == 1
    relaxed = ToyDataModule(batch_size=64, drop_last=False)
    relaxed.setup("fit")
    assert len(relaxed.train_dataloader()) == 1


def test_num_classes_must_match_the_data() -> None:
    assert ToyDataModule(num_classes=4).num_classes == 4  # known before setup from the argument
    dm = ToyDataModule(num_classes=10, batch_size=4)
    with pytest.raises(UserError, match="data.num_classes=4"):
        dm.setup("fit")


def test_loaders_follow_the_batch_contract() -> None:
    dm = ToyDataModule(batch_size=8, val_fraction=0.25)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["points"].shape == (8, 16, 3) and batch["points"].dtype == torch.float32
    assert batch["label"].dtype == torch.int64 and batch["label"].shape == (8,)
    assert batch["index"].dtype == torch.int64 and batch["index"].shape == (8,)
    assert len(dm.train_dataloader()) == 28 // 8  # drop_last on training only
    assert len(dm.val_dataloader()) == 2 and len(dm.test_dataloader()) == 2
    predicted = torch.cat([b["index"] for b in dm.predict_dataloader()])
    assert torch.equal(predicted, torch.arange(12))  # the test set, in order


def test_shuffle_depends_only_on_the_global_rng_at_the_first_batch() -> None:
    # Lightning creates the first epoch's iterator before on_train_epoch_start (where the run reseeds) and
    # later ones after it: creating an iterator must not consume the global RNG, or resumed runs diverge.
    dm = ToyDataModule(batch_size=4)
    dm.setup("fit")
    torch.manual_seed(0)
    state = torch.get_rng_state()
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        iter(loader)
    assert torch.equal(torch.get_rng_state(), state)
    early = iter(dm.train_dataloader())  # created before the reseed
    torch.manual_seed(1)
    first = next(early)["index"]
    torch.manual_seed(1)
    assert torch.equal(next(iter(dm.train_dataloader()))["index"], first)


def test_augmentation_is_applied_only_while_training() -> None:
    dm = ToyDataModule(batch_size=4, augment={"rotate_axis": "so3"})
    assert isinstance(dm.augment, PointCloudAugmentation)
    batch = {
        "points": torch.randn(4, 16, 3),
        "label": torch.zeros(4, dtype=torch.long),
        "index": torch.arange(4),
    }
    assert dm.on_after_batch_transfer(batch, 0) is batch  # no trainer attached
    dm.trainer = SimpleNamespace(training=False)
    assert torch.equal(dm.on_after_batch_transfer(batch, 0)["points"], batch["points"])
    dm.trainer = SimpleNamespace(training=True)
    out = dm.on_after_batch_transfer(batch, 0)
    assert not torch.equal(out["points"], batch["points"]) and out["label"] is batch["label"]


class _Recorder(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 4)
        self.seen: dict[str, list[dict]] = {"train": [], "val": []}

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        self.seen[stage].append({k: v.clone() for k, v in batch.items()})
        logits = self.layer(batch["points"]).mean(dim=1)
        return torch.nn.functional.cross_entropy(logits, batch["label"])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_lightning_fit_augments_training_batches_only() -> None:
    dm = ToyDataModule(batch_size=4, val_fraction=0.25, augment=PointCloudAugmentation(rotate_axis="z"))
    model = _Recorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=3,
        limit_val_batches=2,
        num_sanity_val_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=dm)
    for stage, dataset in (("train", dm.train_dataset), ("val", dm.val_dataset)):
        assert model.seen[stage]
        for batch in model.seen[stage]:
            rows = torch.searchsorted(dataset.index, batch["index"])
            raw = dataset.points[rows]
            assert torch.equal(batch["points"], raw) == (stage == "val")
            # rotation about z keeps heights up to the clipped jitter
            assert torch.allclose(batch["points"][..., 2], raw[..., 2], atol=0.05 + 1e-6)
