"""LoopClosureDataModule: frames in order with their ground truth, cameras, cache, downloads, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules.loopclosure import sources
from datamodules.loopclosure.datamodule import LoopClosureDataModule
from tests.datamodules.loopclosure.conftest import band_matrix, write_frames, write_mat
from zoo.errors import UserError


def module(root: Path, **kwargs) -> LoopClosureDataModule:
    dm = LoopClosureDataModule(root=str(root), **kwargs)
    dm.prepare_data()
    dm.setup("test")
    return dm


def test_lip6_outdoor_at_half_hertz(loopclosure_dir: Path, lip6_images: Path, tmp_path: Path) -> None:
    dm = module(loopclosure_dir, image_size=[24, 30], cache_dir=str(tmp_path), batch_size=8)
    info = dm.describe()
    assert info["num_frames"] == 532 and info["frame_numbers"][:3] == [0, 2, 4] and info["rate_hz"] == 0.5
    assert info["stored_triangle"] == "lower" and info["revisits"] == 1115
    batch = next(iter(dm.predict_dataloader()))
    assert batch["image"].shape == (8, 3, 24, 30) and batch["image"].dtype == torch.float32
    assert 0.0 <= float(batch["image"].min()) and float(batch["image"].max()) <= 1.0
    assert batch["index"].tolist() == list(range(8))
    gt = dm.ground_truth()
    assert gt.shape == (532, 532) and gt.dtype == torch.bool and torch.equal(gt, gt.T)
    assert dm.cache_path is not None and dm.cache_path.is_file()
    paper = module(loopclosure_dir, image_size=[24, 30], cache_dir=str(tmp_path), offset=1)
    assert paper.describe()["num_frames"] == 531 and paper.describe()["frame_numbers"][0] == 1


def test_corridor_is_ref_then_query(loopclosure_dir: Path) -> None:
    dm = module(loopclosure_dir, dataset="corridor", image_size=16)
    info = dm.describe()
    assert info["num_frames"] == 222 and info["segments"] == {"ref": [0, 111], "query": [111, 222]}
    gt = dm.ground_truth()
    assert gt[111 + 50, 48:53].all() and not gt[111 + 50, 47] and info["revisits"] == 549


def test_cache_is_reused_and_a_broken_one_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_frames(root / "Lip6Outdoor/images", [f"outdoor_kennedylong_{k:06d}.png" for k in range(6)])
    write_mat(root / "ground_truth/original_mat/Lip6OutdoorGroundTruth.mat", band_matrix(6, 2))
    kwargs = {"image_size": None, "cache_dir": str(tmp_path / "cache"), "verify_checksums": False}
    first = module(root, **kwargs)
    assert first.describe()["num_frames"] == 3  # frames 0, 2, 4
    assert first.images[:, 0, 0, 0].tolist() == [0, 2, 4]
    assert first.ground_truth().tolist() == [[False, True, False], [True, False, True], [False, True, False]]
    cache = first.cache_path
    cache.write_bytes(b"truncated")
    again = module(root, **kwargs)
    assert again.cache_path == cache and torch.equal(again.images, first.images)
    other = module(root, **kwargs | {"subsample": 1})
    assert other.cache_path != cache and other.describe()["num_frames"] == 6


def test_new_college_cameras(tmp_path: Path) -> None:
    root = tmp_path
    write_frames(root / "NewCollege/Images", [f"{k:04d}.jpg" for k in range(1, 9)])
    matrix = band_matrix(8, 4)  # image i revisits image i-4 (same camera: 4 is even)
    gt = write_mat(root / "nc.mat", matrix)
    left = module(root, dataset="newcollege", ground_truth=str(gt), image_size=4, verify_checksums=False)
    assert left.describe()["frame_numbers"] == [0, 2, 4, 6] and left.describe()["revisits"] == 2
    both = module(root, dataset="newcollege", ground_truth="nc.mat", camera="both", image_size=4)
    assert both.describe()["num_frames"] == 8 and both.describe()["revisits"] == 4


def test_city_centre_matrix_per_place(tmp_path: Path) -> None:
    write_frames(tmp_path / "CityCentre/Images", [f"{k:04d}.jpg" for k in range(1, 7)])
    write_mat(tmp_path / "ground_truth/original_mat/city_GT_final.mat", band_matrix(3, 2), "GT")
    right = module(tmp_path, dataset="citycentre", camera="right", image_size=4, verify_checksums=False)
    assert right.describe()["num_frames"] == 3  # red = frame number, up to JPEG rounding
    assert np.abs(right.images[:, 0, 0, 0].numpy().astype(int) - [1, 3, 5]).max() <= 1
    both = module(tmp_path, dataset="citycentre", camera="both", image_size=4, verify_checksums=False)
    assert both.ground_truth().shape == (6, 6) and both.describe()["revisits"] == 4


def test_bad_input(tmp_path: Path) -> None:
    write_frames(tmp_path / "Lip6Outdoor/images", [f"outdoor_kennedylong_{k:06d}.png" for k in range(5)])
    write_mat(tmp_path / "ground_truth/original_mat/Lip6OutdoorGroundTruth.mat", band_matrix(6, 3))
    with pytest.raises(UserError, match="5 frames but the ground-truth matrix is 6 × 6"):
        module(tmp_path, verify_checksums=False)
    write_mat(tmp_path / "ground_truth/original_mat/Lip6OutdoorGroundTruth.mat", 2 * band_matrix(5, 3))
    with pytest.raises(UserError, match="binary"):
        module(tmp_path, verify_checksums=False)
    write_mat(tmp_path / "ground_truth/original_mat/Lip6OutdoorGroundTruth.mat", band_matrix(5, 3))
    (tmp_path / "Lip6Outdoor/images/outdoor_kennedylong_000004.png").write_bytes(b"broken")
    with pytest.raises(UserError, match="outdoor_kennedylong_000004.png"):
        module(tmp_path, verify_checksums=False)
    with pytest.raises(UserError, match="no ground-truth matrix for bovisa_outdoor"):
        write_frames(tmp_path / "Bovisa_2008-10-04/FRONTAL", ["FRONTAL_1.5.png"])
        module(tmp_path, dataset="bovisa_outdoor")
    with pytest.raises(UserError, match="no kitti00 frames"):
        module(tmp_path, dataset="kitti00")
    with pytest.raises(UserError, match="nothing to train"):
        LoopClosureDataModule(str(tmp_path)).setup("fit")
    with pytest.raises(UserError, match="unknown loop-closure dataset"):
        LoopClosureDataModule(str(tmp_path), dataset="nordland")
    with pytest.raises(UserError, match="offset < step"):
        LoopClosureDataModule(str(tmp_path), subsample=2, offset=2)


def test_changed_shared_file_is_refused(loopclosure_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(loopclosure_dir / "VPRBench_corridor", root / "VPRBench_corridor")
    (root / "VPRBench_corridor/ref/0000005.jpg").chmod(0o644)
    shutil.copy(root / "VPRBench_corridor/ref/0000006.jpg", root / "VPRBench_corridor/ref/0000005.jpg")
    with pytest.raises(UserError, match="0000005.jpg differs from the published file"):
        module(root, dataset="corridor", image_size=8)
    assert (
        module(root, dataset="corridor", image_size=8, verify_checksums=False).describe()["num_frames"] == 222
    )


def mirror(monkeypatch: pytest.MonkeyPatch, base: Path) -> None:
    monkeypatch.setattr(sources, "RAW", f"file://{base}/{{repo}}/{{commit}}/{{path}}")


def test_download_from_a_pinned_mirror(loopclosure_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The download code against a file:// copy laid out like the pinned upstream commits."""
    mirror(monkeypatch, tmp_path / "mirror")
    repo, commit, folder = sources.VPR_REPO
    upstream = tmp_path / "mirror" / repo / commit / folder
    shutil.copytree(loopclosure_dir / "VPRBench_corridor", upstream)
    (upstream / "ground_truth.txt").chmod(0o644)
    (upstream / "ground_truth.txt").unlink()  # upstream has only the pickle
    repo, commit, folder = sources.GT_REPO
    name = "kitti06GroundTruth.mat"
    (tmp_path / "mirror" / repo / commit / folder).mkdir(parents=True)
    shutil.copy(
        loopclosure_dir / "ground_truth/original_mat" / name, tmp_path / "mirror" / repo / commit / folder
    )
    root = tmp_path / "root"
    dm = module(root, dataset="corridor", download=True, image_size=8)
    assert (root / "VPRBench_corridor/ground_truth.txt").read_text() == (
        loopclosure_dir / "VPRBench_corridor/ground_truth.txt"
    ).read_text()
    assert dm.describe()["revisits"] == 549
    assert sources.fetch_ground_truth(root, f"ground_truth/original_mat/{name}")
    assert (root / f"ground_truth/original_mat/{name}").is_file()


def test_download_without_network_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    mirror(monkeypatch, tmp_path / "nowhere")
    dm = LoopClosureDataModule(str(tmp_path / "root"), download=True)
    with pytest.raises(UserError, match="downloading .* failed"):
        dm.prepare_data()
    with pytest.raises(UserError, match="by hand"):
        LoopClosureDataModule(str(tmp_path / "root"), dataset="newcollege", download=True,
                              ground_truth="x.mat").prepare_data()  # fmt: skip


def test_lip6_ppm_download_checks_sha1(tmp_path: Path, monkeypatch) -> None:
    mirror(monkeypatch, tmp_path / "mirror")
    repo, commit, folder = sources.LIP6_REPO
    upstream = tmp_path / "mirror" / repo / commit / folder
    write_frames(upstream, ["outdoor_kennedylong_000000.ppm"])  # not the published frame
    monkeypatch.setattr(sources, "pinned_ppm_sha1", lambda: {"outdoor_kennedylong_000000.ppm": "0" * 40})
    with pytest.raises(UserError, match="SHA-1 mismatch"):
        sources.fetch_lip6outdoor(tmp_path / "root")
    assert not (tmp_path / "root/outdoor_kennedylong_000000.ppm").exists()


def test_own_frames_in_name_number_order_with_their_matrix(tmp_path: Path) -> None:
    """``dataset=frames`` (data=loopclosure_frames): one's own folder and matrix, frame 10 after frame 9."""
    names = [f"cam_frame_{k}.png" for k in range(1, 11)]
    write_frames(tmp_path / "seq", names)
    np.save(tmp_path / "truth.npy", band_matrix(10, 5))
    dm = module(tmp_path / "seq", dataset="frames", ground_truth=str(tmp_path / "truth.npy"), image_size=4)
    assert dm.images[:, 0, 0, 0].tolist() == list(range(10))  # red = position in `names`, so time order holds
    assert dm.describe()["num_frames"] == 10 and dm.describe()["revisits"] == 5
    with pytest.raises(UserError, match="data.ground_truth"):
        module(tmp_path / "seq", dataset="frames", image_size=4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="frame number"):
        module(tmp_path / "empty", dataset="frames", ground_truth=str(tmp_path / "truth.npy"))
