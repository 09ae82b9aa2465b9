"""ModelNet40: the tolerant OFF reader, the resampled reader, and the DataModule end to end on fixtures."""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules import modelnet
from datamodules.modelnet import (
    MODELNET40_CLASSES,
    ModelNet40DataModule,
    read_off,
    read_resampled,
)
from zoo.download import sha256_file
from zoo.errors import UserError

SMALL_MESH = "ModelNet40/monitor/test/monitor_0466.off"  # 255 vertices, 138 triangles


@pytest.fixture(scope="module")
def off_root(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "pointclouds" / "modelnet_off"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


@pytest.fixture(scope="module")
def resampled_root(shared_data_dir: Path) -> Path:
    root = shared_data_dir / "pointclouds" / "modelnet40_normal_resampled"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


def _lines(off_root: Path) -> list[str]:
    return (off_root / SMALL_MESH).read_text().splitlines()


def _write(tmp_path: Path, text: str, name: str = "mesh.off") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("ascii"))
    return path


# ---- read_off ----------------------------------------------------------------------------------------------


def test_all_fixture_meshes_match_torch_geometric(off_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.io import read_off as pyg_read_off
    paths = sorted(off_root.rglob("*.off"))
    assert len(paths) == 13
    for path in paths:
        pos, face = read_off(path)
        reference = pyg_read_off(str(path))
        assert pos.dtype == torch.float32 and face.dtype == torch.int64 and face.shape[1] == 3
        assert torch.equal(pos, reference.pos) and torch.equal(face, reference.face.t()), path


def test_off_quirks_parse_identically_to_the_clean_file(off_root: Path, tmp_path: Path) -> None:
    lines = _lines(off_root)
    clean_pos, clean_face = read_off(off_root / SMALL_MESH)
    header, counts, body = lines[0], lines[1], lines[2:]
    variants = {
        "glued": [f"OFF{counts}", *body],
        "trailing_space": ["OFF  \t", counts + "  ", *[line + " " for line in body]],
        "lower_case": ["off", counts, *body],
        "comments": [
            "# made by hand",
            header,
            "# counts next",
            counts,
            *body[:3],
            "# mid",
            *body[3:],
            "# end",
        ],
        "inline_comment": [header + " # header", counts, body[0] + " # first vertex", *body[1:]],
        "blank_lines": ["", header, "", counts, "   ", *body[:5], "", *body[5:], "", ""],
        "leading_space": ["  OFF", "  " + counts, *["\t" + line for line in body]],
    }
    for name, variant in variants.items():
        pos, face = read_off(_write(tmp_path, "\n".join(variant) + "\n", f"{name}.off"))
        assert torch.equal(pos, clean_pos) and torch.equal(face, clean_face), name
    crlf = _write(tmp_path, "\r\n".join(lines) + "\r\n", "crlf.off")
    everything = ["# c", "", "off ", "# c", counts, *body[:4], "", "# c", *body[4:]]
    combined = _write(tmp_path, "\r\n".join(everything), "combined.off")  # no final newline either
    for path in (crlf, combined):
        pos, face = read_off(path)
        assert torch.equal(pos, clean_pos) and torch.equal(face, clean_face), path.name


def test_polygons_are_fan_triangulated_in_file_order(tmp_path: Path) -> None:
    text = "OFF\n7 3 0\n" + "0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n1 0 1\n1 1 1\n"
    text += "4 0 1 2 3\n3 4 5 6 255 0 0\n5 0 1 5 6 4\n"  # quad, triangle with a colour, pentagon
    pos, face = read_off(_write(tmp_path, text))
    assert pos.shape == (7, 3)
    expected = [[0, 1, 2], [0, 2, 3], [4, 5, 6], [0, 1, 5], [0, 5, 6], [0, 6, 4]]
    assert face.tolist() == expected


CORRUPT = {
    "missing header": "8 6 0\n0 0 0\n",
    "wrong header": "PLY\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
    "no counts": "OFF\n",
    "bad counts": "OFF\nthree 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
    "truncated": "OFF\n3 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
    "too many lines": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n3 0 1 2\n",
    "non-numeric vertex": "OFF\n3 1 0\n0 0 0\n1 x 0\n0 1 0\n3 0 1 2\n",
    "non-numeric face": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 two\n",
    "float face index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2.5\n",
    "index out of range": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n",
    "negative index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 -1 2\n",
    "empty mesh": "OFF\n0 0 0\n",
    "no faces": "OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n",
    "short vertex": "OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n",
    "face too small": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n",
    "face lists too few": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n",
    "nan coordinate": "OFF\n3 1 0\n0 0 0\n1 nan 0\n0 1 0\n3 0 1 2\n",
    "empty file": "",
    # integers numpy cannot hold, or that wrap when added to, must not escape as raw tracebacks
    "overflowing face index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 99999999999999999999\n",
    "overflowing negative index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 -99999999999999999999 2\n",
    "overflowing face size": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n99999999999999999999 0 1 2\n",
    "int64-max face size": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n9223372036854775807 0 1 2\n",
    "int64-max face index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 9223372036854775807\n",
    "exponent face index": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2e0\n",
    "absurd counts": "OFF\n99999999999999999999 99999999999999999999 0\n0 0 0\n",
    "counts of 5000 digits": "OFF\n" + "9" * 5000 + " 1 0\n0 0 0\n",
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_off_files_raise_user_errors_naming_the_file(case: str, tmp_path: Path) -> None:
    path = _write(tmp_path, CORRUPT[case], "bad file.off")
    with pytest.raises(UserError) as err:
        read_off(path)
    assert str(path) in str(err.value) and "re-download or delete the file" in str(err.value)


@pytest.mark.parametrize(
    ("index", "problem"),
    [("99999999999999999999", "out-of-range integer"), ("-7", "face index -7"), ("1.5", "non-integer")],
)
def test_bad_face_indices_say_what_is_wrong(index: str, problem: str, tmp_path: Path) -> None:
    path = _write(tmp_path, f"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 {index} 2\n")
    with pytest.raises(UserError, match=problem):
        read_off(path)


def test_unreadable_off_files_raise_user_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.off"
    binary.write_bytes(b"OFF\n3 1 0\n\xff\xfe\x00\x01\n")
    for path in (binary, tmp_path / "missing.off"):
        with pytest.raises(UserError) as err:
            read_off(path)
        assert str(path) in str(err.value)


# ---- resampled files ---------------------------------------------------------------------------------------


def test_resampled_fixtures_read(resampled_root: Path) -> None:
    for path in sorted(resampled_root.glob("airplane/*.txt")):
        full = read_resampled(path)
        assert full.shape == (10000, 6) and full.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(full[:, 3:], axis=1), 1.0, atol=1e-3)
        np.testing.assert_array_equal(read_resampled(path, 1024), full[:1024])
    with pytest.raises(UserError, match="lower data.num_points"):
        read_resampled(path, 20000)


# ---- DataModule: mesh source -------------------------------------------------------------------------------


def _mesh_dm(root: Path, cache: Path, **kwargs) -> ModelNet40DataModule:
    kwargs = {"batch_size": 1, "num_points": 256, "download": False} | kwargs
    return ModelNet40DataModule(root=str(root), cache_dir=str(cache), **kwargs)


def test_mesh_end_to_end_on_the_fixtures(
    off_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dm = _mesh_dm(off_root, tmp_path, num_points=1024)
    assert (dm.num_classes, dm.point_features, dm.class_names) == (40, 3, MODELNET40_CLASSES)  # before setup
    with caplog.at_level(logging.WARNING):
        dm.prepare_data()
        dm.setup("fit")
    assert "found 2 train / 2 test meshes in 2 of 40 classes" in caplog.text
    assert "9,843 / 2,468" in caplog.text and "not comparable" in caplog.text
    assert "not stratified" in caplog.text  # one training mesh per class: plain seeded split
    desk, monitor = MODELNET40_CLASSES.index("desk"), MODELNET40_CLASSES.index("monitor")
    assert dm.test_dataset.labels.tolist() == [desk, monitor]
    assert dm.split_files["test"] == ["desk/test/desk_0201.off", "monitor/test/monitor_0466.off"]
    assert sorted(torch.cat([dm.train_dataset.labels, dm.val_dataset.labels]).tolist()) == [desk, monitor]
    points = dm.test_dataset.points
    assert points.shape == (2, 1024, 3) and points.dtype == torch.float32
    assert torch.allclose(points.mean(dim=1), torch.zeros(2, 3), atol=1e-5)
    assert torch.allclose(points.norm(dim=-1).amax(dim=1), torch.ones(2))
    batch = next(iter(dm.train_dataloader()))
    assert batch["points"].shape == (1, 1024, 3) and batch["label"].dtype == torch.int64
    summary = dm.dataset_summary()
    assert summary["synthetic"] is False and summary["classes_present"] == ["desk", "monitor"]
    assert summary["counts"] == {"train": 1, "val": 1, "test": 2} and summary["up_axis"] == "z"
    assert not list(off_root.rglob("*.pt"))  # nothing written next to the raw data


def test_val_fraction_zero_uses_the_test_set(off_root: Path, tmp_path: Path) -> None:
    dm = _mesh_dm(off_root, tmp_path, val_fraction=0.0, batch_size=2)
    dm.setup("fit")
    assert dm.val_dataset is dm.test_dataset and len(dm.train_dataset) == 2
    with pytest.raises(UserError, match="data.batch_size=2"):
        _mesh_dm(off_root, tmp_path, val_fraction=0.0, batch_size=8).setup("fit")


def test_sampling_is_deterministic_and_seeded(off_root: Path, tmp_path: Path) -> None:
    first = _mesh_dm(off_root, tmp_path / "a")
    again = _mesh_dm(off_root, tmp_path / "b")
    other = _mesh_dm(off_root, tmp_path / "c", sampling_seed=1)
    for dm in (first, again, other):
        dm.setup("test")
    assert torch.equal(first.test_dataset.points, again.test_dataset.points)
    assert not torch.equal(first.test_dataset.points, other.test_dataset.points)


def test_second_setup_uses_the_cache(off_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dm = _mesh_dm(off_root, tmp_path)
    dm.setup("fit")

    def fail(path: object) -> None:
        raise AssertionError(f"mesh {path} re-read despite the cache")

    monkeypatch.setattr(modelnet, "read_off", fail)
    cached = _mesh_dm(off_root, tmp_path)
    cached.prepare_data()
    cached.setup("fit")
    assert torch.equal(cached.test_dataset.points, dm.test_dataset.points)
    assert cached.cache_key == dm.cache_key


def test_cache_key_follows_parameters_and_raw_files(off_root: Path, tmp_path: Path) -> None:
    def key(root: Path, **kwargs) -> str:
        dm = _mesh_dm(root, tmp_path / "cache", **kwargs)
        dm.setup("test")
        return dm.cache_key

    base = key(off_root)
    assert key(off_root, num_points=128) != base and key(off_root, sampling_seed=3) != base
    assert key(off_root, batch_size=2) == base  # loader settings do not touch the cache
    copy = tmp_path / "copy"
    shutil.copytree(off_root / "ModelNet40", copy / "ModelNet40")
    assert key(copy) == base  # same files, other location
    with open(copy / SMALL_MESH, "a") as handle:
        handle.write("# appended comment\n")
    assert key(copy) != base
    assert len(list((tmp_path / "cache" / "modelnet40").iterdir())) == 4


def test_interrupted_cache_write_never_becomes_the_cache(
    off_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = torch.save

    def crash(obj: object, handle: object) -> None:
        handle.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt("simulated crash mid-write")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        _mesh_dm(off_root, tmp_path).setup("test")
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []
    monkeypatch.setattr(torch, "save", real_save)
    dm = _mesh_dm(off_root, tmp_path)
    dm.setup("test")
    assert dm.test_dataset.points.shape == (2, 256, 3)


def test_unreadable_cache_is_rebuilt_with_a_warning(
    off_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dm = _mesh_dm(off_root, tmp_path)
    dm.setup("test")
    cache_file = next(tmp_path.rglob("test.pt"))
    cache_file.write_bytes(cache_file.read_bytes()[:100])
    rebuilt = _mesh_dm(off_root, tmp_path)
    with caplog.at_level(logging.WARNING):
        rebuilt.setup("test")
    assert "unreadable" in caplog.text and str(cache_file) in caplog.text
    assert torch.equal(rebuilt.test_dataset.points, dm.test_dataset.points)
    assert torch.load(cache_file, weights_only=True)["points"].shape == (2, 256, 3)


def test_missing_root_without_download_explains_the_layout(tmp_path: Path) -> None:
    dm = _mesh_dm(tmp_path / "nowhere", tmp_path / "cache")
    with pytest.raises(UserError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert "ModelNet40/<class>/train/<class>_<id>.off" in message and str(tmp_path / "nowhere") in message
    assert "ModelNet40.zip" in message and "DATA_DIR" in message and "data.root" in message
    with pytest.raises(UserError, match="expected layout"):
        dm.setup("fit")
    assert not (tmp_path / "nowhere").exists()


def test_failed_download_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = "http://127.0.0.1:9/ModelNet40.zip"  # the connection is refused at once, network or not
    monkeypatch.setattr(modelnet, "official_url", lambda: refused)
    dm = _mesh_dm(tmp_path / "data", tmp_path / "cache", download=True)
    with pytest.raises(UserError) as err:
        dm.prepare_data()
    assert "downloading ModelNet40" in str(err.value) and "expected layout" in str(err.value)
    assert not (tmp_path / "data" / "ModelNet40").exists()
    assert not list((tmp_path / "data").glob(".ModelNet40*"))


def _local_archive(off_root: Path, folder: Path) -> str:
    """A small ModelNet40.zip of the fixture meshes, served as a file:// URL (no network needed)."""
    archive = folder / "ModelNet40.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((off_root / "ModelNet40").rglob("*.off")):
            zf.write(path, path.relative_to(off_root).as_posix())
    return archive.as_uri()


def test_download_extracts_into_root_and_records_the_unverified_archive(
    off_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = _local_archive(off_root, tmp_path)
    monkeypatch.setattr(modelnet, "official_url", lambda: url)
    dm = _mesh_dm(tmp_path / "data", tmp_path / "cache", download=True)
    with caplog.at_level(logging.WARNING):
        dm.prepare_data()
    dm.setup("test")
    assert len(list((tmp_path / "data" / "ModelNet40").rglob("*.off"))) == 4
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["ModelNet40"]  # staging removed
    assert len(dm.test_dataset) == 2
    digest = sha256_file(tmp_path / "ModelNet40.zip")
    record = json.loads((tmp_path / "cache" / "modelnet40" / "ModelNet40.zip.json").read_text())
    assert record["sha256"] == digest and record["verified"] is False and record["url"] == url
    assert "cannot be verified" in caplog.text and f"data.archive_sha256={digest}" in caplog.text


def test_download_checks_a_given_archive_sha256(
    off_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = _local_archive(off_root, tmp_path)
    digest = sha256_file(tmp_path / "ModelNet40.zip")
    monkeypatch.setattr(modelnet, "official_url", lambda: url)
    wrong = _mesh_dm(tmp_path / "bad", tmp_path / "cache", download=True, archive_sha256="0" * 64)
    with pytest.raises(UserError) as err:
        wrong.prepare_data()
    assert "checksum mismatch" in str(err.value) and digest in str(err.value)
    assert "data.archive_sha256" in str(err.value)
    assert not (tmp_path / "bad" / "ModelNet40").exists() and not list(
        (tmp_path / "bad").glob(".ModelNet40*")
    )
    right = _mesh_dm(tmp_path / "good", tmp_path / "cache", download=True, archive_sha256=digest.upper())
    with caplog.at_level(logging.WARNING):
        right.prepare_data()
    assert "cannot be verified" not in caplog.text
    record = json.loads((tmp_path / "cache" / "modelnet40" / "ModelNet40.zip.json").read_text())
    assert record["verified"] is True and record["sha256"] == digest
    with pytest.raises(UserError, match="data.archive_sha256"):
        _mesh_dm(tmp_path / "good", tmp_path / "cache", archive_sha256="not-a-checksum")


def test_corrupt_mesh_in_the_dataset_names_the_file(off_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(off_root / "ModelNet40", root / "ModelNet40")
    bad = root / SMALL_MESH
    bad.write_text(bad.read_text().replace("OFF", "OFX", 1))
    with pytest.raises(UserError) as err:
        _mesh_dm(root, tmp_path / "cache").setup("test")
    assert str(bad) in str(err.value)


TETRA = "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n"


def _tiny_dataset(root: Path) -> dict[str, Path]:
    """One tetrahedron per split of one class, written here so the test needs no shared data."""
    paths = {}
    for split, number in (("train", 1), ("test", 2)):
        paths[split] = root / "ModelNet40" / "desk" / split / f"desk_000{number}.off"
        paths[split].parent.mkdir(parents=True)
        paths[split].write_text(TETRA)
    return paths


def test_mesh_edited_in_place_to_the_same_size_is_not_served_from_the_cache(tmp_path: Path) -> None:
    mesh = _tiny_dataset(tmp_path / "root")["test"]
    first = _mesh_dm(tmp_path / "root", tmp_path / "cache")
    first.setup("test")
    edited = TETRA.replace("0 0 1\n", "0 0 9\n")  # a taller tetrahedron: not a rescaling of the old one
    assert len(edited) == len(TETRA)
    stat = mesh.stat()
    mesh.write_text(edited)
    os.utime(mesh, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert mesh.stat().st_size == stat.st_size
    again = _mesh_dm(tmp_path / "root", tmp_path / "cache")
    again.setup("test")
    assert again.cache_key != first.cache_key
    assert not torch.allclose(again.test_dataset.points, first.test_dataset.points)
    fresh = _mesh_dm(tmp_path / "root", tmp_path / "fresh")  # what an empty cache gives
    fresh.setup("test")
    assert torch.equal(again.test_dataset.points, fresh.test_dataset.points)


def test_cache_with_another_key_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _tiny_dataset(tmp_path / "root")
    dm = _mesh_dm(tmp_path / "root", tmp_path / "cache")
    dm.setup("test")
    other = _mesh_dm(tmp_path / "root", tmp_path / "cache", sampling_seed=1)
    other.setup("test")
    cache_file = next((tmp_path / "cache").rglob(f"mesh-{dm.cache_key}/test.pt"))
    shutil.copyfile(next((tmp_path / "cache").rglob(f"mesh-{other.cache_key}/test.pt")), cache_file)
    rebuilt = _mesh_dm(tmp_path / "root", tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        rebuilt.setup("test")
    assert "key differ" in caplog.text and torch.equal(rebuilt.test_dataset.points, dm.test_dataset.points)


def test_overflowing_face_index_in_the_dataset_names_the_file(tmp_path: Path) -> None:
    bad = _tiny_dataset(tmp_path / "root")["test"]
    bad.write_text(TETRA.replace("3 1 2 3", "3 1 2 99999999999999999999"))
    with pytest.raises(UserError) as err:
        _mesh_dm(tmp_path / "root", tmp_path / "cache").setup("test")
    assert str(bad) in str(err.value) and "out-of-range integer" in str(err.value)
    assert not list((tmp_path / "cache").rglob("test.pt")), "no cache may be written from a corrupt mesh"


def test_dangling_mesh_link_names_the_file(tmp_path: Path) -> None:
    _tiny_dataset(tmp_path / "root")
    link = tmp_path / "root" / "ModelNet40" / "desk" / "test" / "desk_0003.off"
    link.symlink_to(tmp_path / "gone.off")
    with pytest.raises(UserError) as err:
        _mesh_dm(tmp_path / "root", tmp_path / "cache").setup("test")
    assert str(link) in str(err.value)


def test_unknown_class_folders_are_rejected(off_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(off_root / "ModelNet40", root / "ModelNet40")
    (root / "ModelNet40" / "monitor").rename(root / "ModelNet40" / "screen")
    with pytest.raises(UserError, match="screen"):
        _mesh_dm(root, tmp_path / "cache").setup("test")


def test_argument_errors(off_root: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data.source"):
        _mesh_dm(off_root, tmp_path, source="voxels")
    with pytest.raises(UserError, match="use_normals"):
        _mesh_dm(off_root, tmp_path, use_normals=True)
    with pytest.raises(UserError, match="data.num_points"):
        _mesh_dm(off_root, tmp_path, num_points=0)
    with pytest.raises(UserError, match="data.num_classes=40"):
        _mesh_dm(off_root, tmp_path, num_classes=10).setup("fit")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("root", None),
        ("root", 5),
        ("root", ""),
        ("cache_dir", None),
        ("sampling_seed", "x"),
        ("sampling_seed", None),
        ("sampling_seed", -1),
        ("sampling_seed", 1.5),
        ("split_seed", "x"),
        ("val_fraction", "abc"),
        ("val_fraction", None),
        ("val_fraction", 1.0),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_key(key: str, value: object, tmp_path: Path) -> None:
    kwargs = {"root": str(tmp_path), "cache_dir": str(tmp_path)} | {key: value}
    with pytest.raises(UserError, match=f"data.{key}"):
        ModelNet40DataModule(**kwargs)


# ---- DataModule: resampled source --------------------------------------------------------------------------


@pytest.mark.parametrize("use_normals", [False, True])
def test_resampled_end_to_end(resampled_root: Path, tmp_path: Path, use_normals: bool) -> None:
    dm = ModelNet40DataModule(
        root=str(resampled_root),
        cache_dir=str(tmp_path),
        source="resampled",
        use_normals=use_normals,
        batch_size=1,
    )
    features = 6 if use_normals else 3
    assert dm.point_features == features
    dm.prepare_data()
    dm.setup("fit")
    assert dm.split_files["test"] == ["airplane/airplane_0627.txt", "airplane/airplane_0628.txt"]
    points = dm.test_dataset.points
    assert points.shape == (2, 1024, features) and dm.point_features == features
    assert (dm.test_dataset.labels == MODELNET40_CLASSES.index("airplane")).all()
    assert torch.allclose(points[..., :3].norm(dim=-1).amax(dim=1), torch.ones(2))
    raw = torch.from_numpy(read_resampled(resampled_root / "airplane" / "airplane_0627.txt", 1024))
    centred = raw[:, :3] - raw[:, :3].mean(dim=0)
    assert torch.allclose(points[0, :, :3], centred / centred.norm(dim=1).max(), atol=1e-6)  # first N points
    if use_normals:
        assert torch.equal(points[0, :, 3:], raw[:, 3:])
    batch = next(iter(dm.val_dataloader()))
    assert batch["points"].shape == (1, 1024, features)
    assert dm.dataset_summary()["up_axis"] == "y"


def test_resampled_missing_files_are_user_errors(resampled_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "resampled"
    shutil.copytree(resampled_root, root)
    (root / "airplane" / "airplane_0628.txt").unlink()
    dm = ModelNet40DataModule(
        root=str(root), cache_dir=str(tmp_path / "cache"), source="resampled", batch_size=1
    )
    with pytest.raises(UserError, match="airplane_0628.txt"):
        dm.setup("test")
    empty = ModelNet40DataModule(root=str(tmp_path / "x"), cache_dir=str(tmp_path), source="resampled")
    with pytest.raises(UserError, match="modelnet40_train.txt"):
        empty.setup("fit")
