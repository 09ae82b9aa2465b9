"""One's own images in class folders (``dataset=folders``): read, split by case, masks optional, bad layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datamodules.ultrasound.datamodule import UltrasoundDataModule
from datamodules.ultrasound.folders import read_class_folders
from tests.datamodules.ultrasound.conftest import synthetic_frame
from zoo.errors import UserError


def write_folders(root: Path, cases: int = 12) -> Path:
    """``cases`` patients of two images each (``p<case>_<n>.png``), one in four benign; masks for odd cases."""
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for case in range(cases):
        label = "Benign" if case % 4 == 0 else "Malignant"
        (root / label).mkdir(exist_ok=True)
        for n in range(2):
            frame = synthetic_frame(100 * case + n)
            Image.fromarray(frame.rgb).save(root / label / f"p{case:02d}_{n}.png")
            if case % 2:
                Image.fromarray(frame.mask.astype(np.uint8) * 255).save(
                    root / "masks" / f"p{case:02d}_{n}.png"
                )
    return root


@pytest.fixture(scope="module")
def own_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folders(tmp_path_factory.mktemp("own"))


def test_class_folders_give_labels_cases_and_optional_masks(own_root: Path) -> None:
    images = read_class_folders(own_root)
    assert len(images) == 24 and sum(i.label == 0 for i in images) == 6
    first = next(i for i in images if i.key == "malignant/p01_0")
    assert first.case == "p01" and first.mask == own_root / "masks" / "p01_0.png"
    assert next(i for i in images if i.key == "benign/p00_1").mask is None


def test_own_folders_train_in_case_grouped_folds(own_root: Path) -> None:
    dm = UltrasoundDataModule(root=str(own_root), dataset="folders", num_folds=3, val_share=0.25, crop=False)
    dm.prepare_data()
    dm.setup("fit")
    cases = np.asarray(dm.data["cases"])
    parts = {part: set(cases[idx]) for part, idx in dm.parts.items()}
    assert not parts["train"] & parts["test"] and not parts["val"] & parts["test"]
    batch = next(iter(dm.test_dataloader()))
    assert batch["image"].shape[1:] == (3, 224, 224)
    # the masks that exist are read (white = nodule); images without one say so
    assert (
        dm.data["has_mask"].sum() == 12
        and dm.data["masks"][dm.data["has_mask"]].flatten(1).amax(1).eq(1).all()
    )


def test_too_few_cases_for_the_validation_share_is_a_user_error(own_root: Path) -> None:
    dm = UltrasoundDataModule(root=str(own_root), dataset="folders", num_folds=3, val_share=0.1, crop=False)
    with pytest.raises(UserError, match="data.val_share"):
        dm.setup("fit")


def test_a_missing_class_folder_says_which(tmp_path: Path) -> None:
    (tmp_path / "benign").mkdir()
    with pytest.raises(UserError, match="no Malignant/ folder"):
        read_class_folders(tmp_path)


def test_a_mask_of_another_size_is_named(tmp_path: Path) -> None:
    root = write_folders(tmp_path / "own", cases=4)
    bad = root / "masks" / "p01_0.png"
    Image.fromarray(np.zeros((10, 10), dtype=np.uint8)).save(bad)
    dm = UltrasoundDataModule(root=str(root), dataset="folders", num_folds=2, crop=False)
    with pytest.raises(UserError) as err:
        dm.setup("fit")
    assert str(bad) in str(err.value) and "10×10 px" in str(err.value)


def test_download_is_refused_for_own_folders(own_root: Path) -> None:
    dm = UltrasoundDataModule(root=str(own_root), dataset="folders", download=True)
    with pytest.raises(UserError, match="nothing to fetch"):
        dm.prepare_data()


def test_fan_trains_on_own_folders_from_run_py(tmp_path: Path) -> None:
    """The documented own-data command: a FAN record with ``data=ultrasound_folders data.root=...``."""
    from tests.conftest import compose_run_config
    from zoo.workflow.pipeline import run

    root = write_folders(tmp_path / "own", cases=16)
    overrides = [
        "experiment=fan_ddti_eta7_kappa1",
        "data=ultrasound_folders",
        f"data.root={root}",
        "data.num_folds=3",
        "data.val_share=0.25",
        "data.batch_size=4",
        "trainer.max_epochs=1",
        "model.cam_figures=2",
    ]
    run(compose_run_config(overrides, tmp_path / "run"))
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= record["metrics"]["test/balanced_acc"] <= 1.0
    assert 0.0 <= record["metrics"]["test/cam_energy_in_mask"] <= 1.0  # the masks that exist are scored
    assert (tmp_path / "run" / "cam_overlays.png").is_file()
