"""Ground-truth matrices: every shared matrix's size, symmetry and loops; the Lip6 Outdoor bands; bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from datamodules.loopclosure.ground_truth import (
    load_ground_truth,
    offset_histogram,
    read_pairs,
    subsample,
    subsample_indices,
)
from tests.datamodules.loopclosure.conftest import band_matrix, write_mat
from zoo.errors import UserError

# file -> (variable, size, loops stored, triangle stored); MANIFEST.md's table, checked against the files
MATRICES = {
    "Lip6OutdoorGroundTruth.mat": ("truth", 1063, 3704, "lower"),
    "Lip6IndoorGroundTruth.mat": ("truth", 388, 884, "lower"),
    "NewCollegeGroundTruth.mat": ("truth", 2146, 14832, "lower"),
    "city_GT_final.mat": ("GT", 1237, 8321, "lower"),
    "newcollege_GT.mat": ("gt", 2624, 46753, "upper"),
    "malaga_GT_final.mat": ("GT", 3474, 34828, "lower"),
    "groundTruth_KITTI00.mat": ("groundTruthMatrixKITTI00_ICRA18", 4541, 31922, "lower"),
    "groundTruth_KITTI_05.mat": ("groundTruthMatrixKITTI05_ICRA18", 2761, 10558, "lower"),
    "kitti02GroundTruth.mat": ("truth", 4661, 4037, "lower"),
    "kitti06GroundTruth.mat": ("truth", 1101, 3287, "lower"),
    "100909_1210_GT_labeled.mat": ("GT", 3851, 57809, "lower"),
    "100909_1410_GT_labeled.mat": ("GT", 4179, 80337, "lower"),
    "180809_1545_GT_labeled.mat": ("GT", 4287, 67873, "lower"),
    "190809_0845_GT_labeled.mat": ("GT", 4363, 66154, "lower"),
}
BICOCCA = ("new_GT_biccoca.mat", "new_GT_biccoca", 26335, 254055, "upper")
PAIRS = {
    "Lip6Outdoor_pairs.txt": "Lip6OutdoorGroundTruth.mat",
    "Lip6Indoor_pairs.txt": "Lip6IndoorGroundTruth.mat",
    "NewCollege_2146_pairs.txt": "NewCollegeGroundTruth.mat",
    "CityCentre_1237_pairs.txt": "city_GT_final.mat",
}


@pytest.fixture(scope="module")
def lip6(loopclosure_dir: Path):
    return load_ground_truth(loopclosure_dir / "ground_truth/original_mat/Lip6OutdoorGroundTruth.mat")


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_each_matrix_is_square_binary_one_triangle(loopclosure_dir: Path, name: str) -> None:
    variable, size, loops, stored = MATRICES[name]
    truth = load_ground_truth(loopclosure_dir / "ground_truth/original_mat" / name, variable)
    assert truth.matrix.shape == (size, size) and truth.matrix.dtype == bool
    assert truth.stored == stored
    assert (truth.matrix == truth.matrix.T).all() and not truth.matrix.diagonal().any()
    assert int(truth.lower().sum()) == loops  # symmetrising lost and invented nothing
    raw = load_ground_truth(loopclosure_dir / "ground_truth/original_mat" / name, symmetric=False)
    assert int(raw.matrix.sum()) == loops


def test_bicocca_header_without_loading_700_mb(loopclosure_dir: Path) -> None:
    name, variable, size, *_ = BICOCCA
    (entry,) = scipy.io.whosmat(str(loopclosure_dir / "ground_truth/original_mat" / name))
    assert entry == (variable, (size, size), "logical")  # MATLAB logical, read as uint8


@pytest.mark.slow
def test_bicocca_full(loopclosure_dir: Path) -> None:  # about 12 s and 2 GB
    name, variable, size, loops, stored = BICOCCA
    truth = load_ground_truth(loopclosure_dir / "ground_truth/original_mat" / name, variable, symmetric=False)
    assert truth.size == size and truth.stored == stored and int(truth.matrix.sum()) == loops


@pytest.mark.parametrize("pairs", sorted(PAIRS))
def test_pairs_text_equals_its_mat(loopclosure_dir: Path, pairs: str) -> None:
    from_text = load_ground_truth(loopclosure_dir / "ground_truth/pairs" / pairs)
    from_mat = load_ground_truth(loopclosure_dir / "ground_truth/original_mat" / PAIRS[pairs])
    assert np.array_equal(from_text.matrix, from_mat.matrix) and from_text.stored == "lower"


def test_lip6_outdoor_revisit_bands(lip6) -> None:
    """Revisits recur at fixed time gaps: 458–462 frames (second lap), 924–928 (third lap); plus row 1062."""
    hist = offset_histogram(lip6)
    assert {g: hist[g] for g in range(458, 463)} == {458: 603, 459: 603, 460: 603, 461: 602, 462: 601}
    assert {g: hist[g] for g in range(924, 929)} == {924: 137, 925: 137, 926: 137, 927: 136, 928: 135}
    outside = {g: c for g, c in hist.items() if not (458 <= g <= 462 or 924 <= g <= 928)}
    assert outside == {g: 1 for g in (455, 456, 457, *range(917, 924))}
    rows, cols = np.nonzero(lip6.lower())
    stray = ~(
        ((rows - cols) >= 458) & ((rows - cols) <= 462) | ((rows - cols) >= 924) & ((rows - cols) <= 928)
    )
    assert set(rows[stray].tolist()) == {1062}  # the ten off-band entries are all in the last frame's row
    assert rows.min() == 460 and np.array_equal(np.unique(rows), np.arange(460, 1063))  # 603 frames revisit
    assert np.unique(rows[(rows - cols) >= 924]).min() == 926


def test_lip6_outdoor_at_half_hertz(lip6) -> None:
    even, odd = subsample(lip6, 2, 0), subsample(lip6, 2, 1)
    assert even.size == 532 and even.frames[[0, -1]].tolist() == [0, 1062]
    assert odd.size == 531 and odd.frames[[0, -1]].tolist() == [1, 1061]  # the paper's 531 images
    assert int(even.lower().sum()) == 1115 and int(odd.lower().sum()) == 1105
    assert np.array_equal(even.matrix, lip6.matrix[::2, ::2])
    assert set(offset_histogram(even)) >= {229, 230, 231}  # 458–462 frames = 229–231 kept steps


def test_subsample_indices() -> None:
    assert subsample_indices(7, 3, 1).tolist() == [1, 4]
    with pytest.raises(UserError, match="offset < step"):
        subsample_indices(7, 2, 2)


def test_upper_triangle_is_mirrored(tmp_path: Path) -> None:
    path = write_mat(tmp_path / "up.mat", band_matrix(6, 2).T.copy())
    truth = load_ground_truth(path)
    assert truth.stored == "upper" and truth.lower().sum() == 4 and (truth.matrix == truth.matrix.T).all()


@pytest.mark.parametrize(
    "matrix, message",
    [
        (np.ones((3, 4)), "square"),
        (np.ones((2, 2, 2)), "square"),
        (np.array([[0, 2], [0, 0]]), "binary"),
        (np.array([[0, 0.5], [0, 0]]), "binary"),
    ],
)
def test_bad_matrices(tmp_path: Path, matrix: np.ndarray, message: str) -> None:
    for path in (write_mat(tmp_path / "m.mat", matrix), tmp_path / "m.npy"):
        np.save(tmp_path / "m.npy", matrix)
        with pytest.raises(UserError, match=message) as err:
            load_ground_truth(path)
        assert str(path) in str(err.value)


def test_pickled_npy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gt.npy"
    np.save(path, np.array([(0, [0, 1])], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="never unpickles"):
        load_ground_truth(path)


def test_mat_variable_choice(tmp_path: Path) -> None:
    path = tmp_path / "two.mat"
    scipy.io.savemat(str(path), {"a": np.zeros((2, 2)), "b": np.zeros((2, 2))})
    with pytest.raises(UserError, match="2 variables"):
        load_ground_truth(path)
    with pytest.raises(UserError, match="no variable 'c'"):
        load_ground_truth(path, "c")
    assert load_ground_truth(path, "b").size == 2


def test_pairs_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("# N=3\n2 0\n")
    assert read_pairs(path).tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]
    path.write_text("2 0\n")
    with pytest.raises(UserError, match="header"):
        read_pairs(path)
    path.write_text("# N=3\n3 0\n")
    with pytest.raises(UserError, match="outside") as err:
        read_pairs(path)
    assert "line 2" in str(err.value)
    path.write_text("# N=3\n2 x\n")
    with pytest.raises(UserError, match="two non-negative"):
        read_pairs(path)


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="missing"):
        load_ground_truth(tmp_path / "none.mat")
    (tmp_path / "gt.csv").write_text("0,1\n")
    with pytest.raises(UserError, match="unknown ground-truth file type"):
        load_ground_truth(tmp_path / "gt.csv")
    (tmp_path / "broken.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(UserError, match="cannot read the MATLAB file"):
        load_ground_truth(tmp_path / "broken.mat")
