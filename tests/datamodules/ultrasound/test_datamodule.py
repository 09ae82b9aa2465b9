"""UltrasoundDataModule end to end: batches, case-grouped folds, duplicates, cache, balance, bad input."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.ultrasound import sources
from datamodules.ultrasound.crop import LAYOUT_FEATURES
from datamodules.ultrasound.datamodule import UltrasoundDataModule
from tests.datamodules.ultrasound.conftest import toy_rows, write_ddti
from zoo.errors import UserError


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DDTI-like folder: 30 cases (three ungraded), and case 99 a re-encoded copy of case 5's first image."""
    root = tmp_path_factory.mktemp("ultrasound")
    rows = toy_rows(30)
    folder = write_ddti(root / "DDTI", rows)
    buffer = io.BytesIO()
    Image.open(folder / "5_1.a.jpg").save(buffer, format="JPEG", quality=70)
    (folder / "99_1.a.jpg").write_bytes(buffer.getvalue())
    shutil.copy(folder / "5_1.b.jpg", folder / "99_1.b.jpg")
    tirads = dict(rows)["5_1"]
    with (folder / "label.txt").open("a") as handle:
        handle.write(f"99_1,na,solid,None,None,None,{tirads},F,40\n")
    return root


def module(root: Path, stage: str = "fit", **kwargs) -> UltrasoundDataModule:
    dm = UltrasoundDataModule(root=str(root), **({"verify_checksums": False} | kwargs))
    dm.prepare_data()
    dm.setup(stage)
    return dm


def test_batches_have_the_documented_format(toy_root: Path) -> None:
    dm = module(toy_root, batch_size=4)
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 3, 224, 224) and batch["image"].dtype == torch.float32
    assert 0.0 <= float(batch["image"].min()) and float(batch["image"].max()) <= 1.0
    assert batch["mask"].shape == (4, 1, 224, 224) and batch["mask"].dtype == torch.uint8
    assert batch["has_mask"].all() and batch["mask"].flatten(1).amax(1).eq(1).all()
    assert batch["label"].dtype == torch.int64 and set(batch["label"].tolist()) <= {0, 1}
    assert len(batch["case"]) == 4 and all(isinstance(c, str) for c in batch["case"])
    item = dm.part("test")[0]
    assert dm.data["keys"][item["index"]] == item["key"] and item["key"].split("_")[0] == item["case"]


def test_ungraded_images_and_the_copy_are_left_out(toy_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        dm = module(toy_root)
    keys = dm.data["keys"]
    assert "99_1" not in keys and "5_1" in keys and "7_1" not in keys
    assert "1 near-duplicate pictures left out" in caplog.text and "99_1 (= 5_1)" in caplog.text
    assert sum(map(len, dm.parts.values())) == len(keys)


def test_no_case_in_two_parts_or_two_test_folds(toy_root: Path) -> None:
    tested: list[str] = []
    for fold in range(3):
        dm = module(toy_root, num_folds=3, fold=fold, val_share=0.2)
        cases = {part: {dm.data["cases"][i] for i in idx} for part, idx in dm.parts.items()}
        assert not cases["train"] & cases["test"] and not cases["val"] & cases["test"]
        assert not cases["train"] & cases["val"] and cases["val"]
        tested += [dm.data["keys"][i] for i in dm.parts["test"]]
    assert sorted(tested) == sorted(dm.data["keys"])  # each image is tested exactly once


def test_duplicates_group_keeps_the_copy_with_its_original(toy_root: Path) -> None:
    for fold in range(3):
        dm = module(toy_root, num_folds=3, fold=fold, duplicates="group")
        keys = dm.data["keys"]
        where = {keys[i]: part for part, idx in dm.parts.items() for i in idx}
        assert where["99_1"] == where["5_1"]
        assert dm.data["groups"][keys.index("99_1")] == dm.data["groups"][keys.index("5_1")]


def test_the_split_is_seeded(toy_root: Path) -> None:
    a, b, c = (module(toy_root, split_seed=s).parts["test"] for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_cache_is_written_once_then_reused(toy_root: Path, tmp_path: Path, monkeypatch) -> None:
    first = module(toy_root, cache_dir=str(tmp_path))
    assert first.cache_path is not None and first.cache_path.is_file()
    assert not list(first.cache_path.parent.glob("*.tmp"))

    def refuse(*args, **kwargs):
        raise AssertionError("preprocessed again despite a valid cache")

    monkeypatch.setattr(UltrasoundDataModule, "_preprocess", refuse)
    second = module(toy_root, cache_dir=str(tmp_path))
    assert torch.equal(first.data["images"], second.data["images"])
    assert torch.equal(first.data["masks"], second.data["masks"])
    monkeypatch.undo()
    other = module(toy_root, cache_dir=str(tmp_path), image_size=112)  # another key, another file
    assert other.cache_path != first.cache_path and other.data["images"].shape[-1] == 112
    first.cache_path.write_bytes(b"garbage")  # a broken cache is rebuilt, not trusted
    assert module(toy_root, cache_dir=str(tmp_path)).data["images"].shape[-1] == 224


def test_describe_and_class_balance(toy_root: Path) -> None:
    plain = module(toy_root).describe()
    counts = plain["class_counts"]
    assert plain["num_classes"] == 2 and plain["class_names"] == ["benign", "malignant"]
    assert plain["class_weights"] == [1.0, 1.0] and counts[0] < counts[1]
    assert plain["split"]["counts"]["train"] == counts
    weighted = module(toy_root, balance="weights").describe()["class_weights"]
    assert weighted == pytest.approx([sum(counts) / (2 * c) for c in counts])
    sampled = module(toy_root, balance="sampler", batch_size=1000)
    torch.manual_seed(0)
    labels = torch.cat([next(iter(sampled.train_dataloader()))["label"] for _ in range(20)])
    assert abs(labels.float().mean().item() - 0.5) < 0.05  # balanced draws, not the 1 : 3 of the data


def test_flip_moves_image_and_mask_together(toy_root: Path) -> None:
    plain = module(toy_root).part("train")
    flipped = module(toy_root, augment="flip").part("train")
    torch.manual_seed(0)
    seen = set()
    for k in range(12):
        a, b = plain[k], flipped[k]
        same = torch.equal(a["image"], b["image"])
        if not same:
            assert torch.equal(a["image"].flip(-1), b["image"]) and torch.equal(a["mask"].flip(-1), b["mask"])
        seen.add(same)
    assert seen == {True, False}
    assert not module(toy_root, augment="flip").part("test").flip  # only training is augmented


def test_one_channel_is_grey(toy_root: Path) -> None:
    item = module(toy_root, channels=1).part("train")[0]
    assert item["image"].shape == (1, 224, 224)


def test_layout_features_for_the_baseline(toy_root: Path) -> None:
    dm = module(toy_root)
    features, labels, names = dm.layout_features("test")
    assert features.shape == (len(dm.parts["test"]), len(LAYOUT_FEATURES)) and names == list(LAYOUT_FEATURES)
    assert np.array_equal(labels, dm.data["labels"].numpy()[dm.parts["test"]])


def test_val_share_zero_has_no_validation_loader(toy_root: Path) -> None:
    assert module(toy_root, val_share=0.0).val_dataloader() == []


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"dataset": "busi"}, "data.dataset"),
        ({"fold": 5}, "data.fold"),
        ({"num_folds": 1}, "data.num_folds"),
        ({"val_share": 0.7}, "data.val_share"),
        ({"channels": 2}, "data.channels"),
        ({"balance": "oversample"}, "data.balance"),
        ({"root": None}, "data.root"),
    ],
)
def test_bad_settings_name_their_key(kwargs: dict, key: str) -> None:
    with pytest.raises(UserError) as err:
        UltrasoundDataModule(**({"root": "/nonexistent"} | kwargs))
    assert err.value.where == key


def _copy(toy_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(toy_root / "DDTI", tmp_path / "DDTI")
    return tmp_path


def test_an_unreadable_image_is_named(toy_root: Path, tmp_path: Path) -> None:
    root = _copy(toy_root, tmp_path)
    (root / "DDTI" / "2_1.a.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(UserError, match="cannot decode") as err:
        module(root)
    assert err.value.where == str(root / "DDTI" / "2_1.a.jpg")


def test_a_mask_of_another_size_is_named(toy_root: Path, tmp_path: Path) -> None:
    root = _copy(toy_root, tmp_path)
    Image.new("RGB", (250, 150)).save(root / "DDTI" / "3_1.b.jpg")
    with pytest.raises(UserError, match="the mask is 250×150 px") as err:
        module(root)
    assert err.value.where == str(root / "DDTI" / "3_1.b.jpg")


def test_a_label_row_naming_a_missing_file_gives_the_line(toy_root: Path, tmp_path: Path) -> None:
    root = _copy(toy_root, tmp_path)
    (root / "DDTI" / "4_1.a.jpg").unlink()
    line = next(n for n, text in enumerate((root / "DDTI" / "label.txt").read_text().splitlines(), 1)
                if text.startswith("4_1,"))  # fmt: skip
    with pytest.raises(UserError, match="4_1.a.jpg, which is missing") as err:
        module(root)
    assert err.value.where == f"{root / 'DDTI' / 'label.txt'}:{line}"


def test_files_that_differ_from_the_published_ones_are_refused(toy_root: Path) -> None:
    with pytest.raises(UserError, match="differs from the published file") as err:
        module(toy_root, verify_checksums=True)
    assert "data.verify_checksums=false" in str(err.value)


def test_a_missing_folder_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no DDTI folder") as err:
        module(tmp_path)
    assert "DDTI/<case>_<n>.a.jpg" in str(err.value) and "data.download=true" in str(err.value)


def test_download_fetches_pinned_files_and_fails_clearly_offline(tmp_path: Path, monkeypatch) -> None:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "a b.txt").write_bytes(b"hello")
    digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    monkeypatch.setattr(sources, "pinned_checksums", lambda folder: {"a b.txt": digest})
    monkeypatch.setitem(sources.SOURCES, "DDTI", ("test upstream", upstream.as_uri() + "/{path}"))
    assert sources.fetch(tmp_path / "data", "DDTI") == 1
    assert (tmp_path / "data" / "DDTI" / "a b.txt").read_bytes() == b"hello"
    assert sources.fetch(tmp_path / "data", "DDTI") == 0  # present files are not fetched again
    monkeypatch.setitem(sources.SOURCES, "DDTI", ("test upstream", (tmp_path / "gone").as_uri() + "/{path}"))
    dm = UltrasoundDataModule(root=str(tmp_path / "empty"), download=True)
    with pytest.raises(UserError, match="no connection|failed") as err:
        dm.prepare_data()
    assert "DDTI/<case>_<n>.a.jpg" in str(err.value) and str(tmp_path / "empty" / "DDTI") in str(err.value)


def test_every_published_file_has_a_pinned_checksum() -> None:
    assert len(sources.pinned_checksums("DDTI")) == 1191 and "label.txt" in sources.pinned_checksums("DDTI")
    assert len(sources.pinned_checksums("UD-TN_sample")) == 26


# ---- the real data ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("ultrasound-cache"))


@pytest.mark.parametrize("duplicates", ["drop", "group"])
def test_real_folds_never_share_a_case_or_a_picture(
    ultrasound_dir: Path, real_cache: str, duplicates: str
) -> None:
    tested, share = [], None
    for fold in range(5):
        dm = module(
            ultrasound_dir, cache_dir=real_cache, fold=fold, duplicates=duplicates, verify_checksums=True
        )
        data, parts = dm.data, dm.parts
        labels = data["labels"].numpy()
        share = labels.mean()
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            for name in ("cases", "groups"):
                values = data[name] if name == "cases" else data[name].tolist()
                assert not {values[i] for i in parts[a]} & {values[i] for i in parts[b]}, (fold, a, b, name)
        assert abs(labels[parts["test"]].mean() - share) < 0.05
        tested += parts["test"].tolist()
    assert sorted(tested) == list(range(len(labels)))
    if duplicates == "drop":
        # the copies are disproportionately benign: 40 of 102 benign images go, 87 of 368 malignant
        assert np.bincount(labels).tolist() == [62, 281]
        assert "545_1" not in data["keys"] and "330_1" in data["keys"]  # 545_1 is a copy of 330_1
    else:
        assert np.bincount(labels).tolist() == [102, 368]
        keys = data["keys"]
        assert data["groups"][keys.index("545_1")] == data["groups"][keys.index("330_1")]


def test_real_udtn_is_a_test_only_set(ultrasound_dir: Path, real_cache: str) -> None:
    dm = module(ultrasound_dir, stage="test", dataset="udtn", cache_dir=real_cache, verify_checksums=True)
    batch = next(iter(dm.test_dataloader()))
    assert len(dm.part("test")) == 25 and not batch["has_mask"].any()
    assert dm.describe()["class_counts"] == [12, 13]
    with pytest.raises(UserError, match="evaluation set"):
        dm.setup("fit")
    with pytest.raises(UserError, match="test-only"):
        dm.train_dataloader()
