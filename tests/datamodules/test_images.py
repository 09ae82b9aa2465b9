from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from datamodules.images import (
    IMAGE_SETS,
    DenoisingDataModule,
    SameShapeBatches,
    fit_size,
    lowrank_matrices,
    pinned_checksums,
)
from zoo.errors import UserError


def images_root(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "images"
    if not root.is_dir():
        pytest.skip("no images folder in the data root")
    return root


def module(root: Path, **kwargs) -> DenoisingDataModule:
    dm = DenoisingDataModule(root=str(root), **({"images": "paper10", "noise_seed": 0} | kwargs))
    dm.setup("test")
    return dm


def test_paper10_is_ten_grey_128_crops_in_unit_range(shared_data_dir: Path) -> None:
    dm = module(images_root(shared_data_dir))
    items = dm.dataset.items
    assert [item["name"] for item in items] == [spec.name for spec in IMAGE_SETS["paper10"]]
    for item in items:
        assert item["clean"].shape == (128, 128)
        assert 0.0 <= float(item["clean"].min()) and float(item["clean"].max()) <= 1.0
        assert float(item["clean"].std()) > 0.02  # a real picture, not a blank crop
    batches = list(dm.test_dataloader())
    assert len(batches) == 1 and batches[0]["noisy"].shape == (10, 128, 128)


def test_every_listed_file_has_a_pinned_checksum() -> None:
    checksums = pinned_checksums()
    for specs in IMAGE_SETS.values():
        for spec in specs:
            assert not spec.path or spec.path in checksums, spec.path


def test_same_seed_same_noise_other_seed_other_noise(shared_data_dir: Path) -> None:
    root = images_root(shared_data_dir)
    a, b, c = (module(root, noise_seed=s).dataset.items[0]["noisy"] for s in (0, 0, 1))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_noise_seed_defaults_to_the_run_seed(shared_data_dir: Path) -> None:
    root = images_root(shared_data_dir)
    torch.manual_seed(7)
    first = module(root, noise_seed=None).dataset.items[0]["noisy"]
    torch.testing.assert_close(first, module(root, noise_seed=7).dataset.items[0]["noisy"])


def test_embedded_camera_needs_no_data_folder(tmp_path: Path) -> None:
    dm = DenoisingDataModule(images="camera", root=str(tmp_path / "nowhere"), noise_seed=0)
    dm.setup("test")
    assert dm.dataset.items[0]["clean"].shape == (128, 128)


def test_missing_and_corrupt_files_are_clear_errors(shared_data_dir: Path, tmp_path: Path) -> None:
    root = images_root(shared_data_dir)
    with pytest.raises(UserError, match="missing.*data.download=true"):
        module(tmp_path, images="set12")
    (tmp_path / "Set12").mkdir()
    for name in (f"{i:02d}.png" for i in range(1, 13)):
        shutil.copy(root / "Set12" / name, tmp_path / "Set12" / name)
    (tmp_path / "Set12" / "03.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="pinned sha256"):
        module(tmp_path, images="set12")


def test_batches_group_images_of_one_shape() -> None:
    batches = list(SameShapeBatches([(4, 4), (8, 8), (4, 4), (4, 4), (8, 8)], batch_size=2))
    assert batches == [[0, 2], [3], [1, 4]]


def test_crop_and_resize() -> None:
    image = torch.rand(300, 200).double().numpy()
    assert fit_size(image, 128, "crop").shape == (128, 128)
    assert fit_size(image, 128, "resize").shape == (128, 128)
    with pytest.raises(UserError, match="cannot be cropped"):
        fit_size(image, 256, "crop")


def test_lowrank_protocol_matrices_have_the_requested_rank() -> None:
    matrices = lowrank_matrices(count=3, size=100, rank=5, seed=0)
    assert len(matrices) == 3
    assert all(int(torch.linalg.matrix_rank(torch.from_numpy(m))) == 5 for _, m in matrices)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"noise_seed": "x"}, "data.noise_seed"),
        ({"noise_seed": 1.5}, "data.noise_seed"),
        ({"num_workers": -1}, "data.num_workers"),
        ({"root": None}, "data.root"),
        ({"images": "lowrank", "lowrank": 5}, "data.lowrank"),
        ({"images": "lowrank", "lowrank": {"bogus": 1}}, "data.lowrank"),
        ({"images": "lowrank", "lowrank": {"count": "x"}}, "data.lowrank.count"),
        ({"images": "lowrank", "lowrank": {"size": 0}}, "data.lowrank.size"),
        ({"images": "lowrank", "lowrank": {"size": 4, "rank": 5}}, "data.lowrank.rank"),
        ({"noise": {"sigma": "x"}}, "data.noise.sigma"),
        ({"noise": {"sigma": -1}}, "data.noise.sigma"),
        ({"noise": {"kind": "sparse", "sparse_fraction": 2}}, "data.noise.sparse_fraction"),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_key(kwargs: dict, where: str) -> None:
    with pytest.raises(UserError, match=where):
        DenoisingDataModule(**kwargs)
