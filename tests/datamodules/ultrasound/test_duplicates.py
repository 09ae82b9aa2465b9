"""Near-duplicate pictures: a re-encoded copy is found, different pictures are not; groups merge, copies drop."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from datamodules.ultrasound.crop import crop_and_resize, scan_area
from datamodules.ultrasound.duplicates import duplicate_pairs, keep_first_copies, split_groups, thumbnails
from tests.datamodules.ultrasound.conftest import synthetic_frame


def _crop(rgb: np.ndarray) -> np.ndarray:
    return crop_and_resize(rgb, None, scan_area(rgb), 224)[0].transpose(2, 0, 1)


def _reencoded(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_a_reencoded_copy_is_a_duplicate_and_other_pictures_are_not() -> None:
    frames = [synthetic_frame(seed).rgb for seed in range(6)]
    frames.append(_reencoded(frames[2], quality=60))
    images = np.stack([_crop(rgb) for rgb in frames])
    thumbs = thumbnails(images)
    assert thumbs.shape == (7, 32 * 32)
    np.testing.assert_allclose(np.linalg.norm(thumbs, axis=1), 1.0, rtol=1e-5)
    assert duplicate_pairs(thumbs) == [(2, 6)]


def test_a_flat_image_does_not_divide_by_zero() -> None:
    thumbs = thumbnails(np.zeros((2, 3, 224, 224), dtype=np.uint8))
    assert np.isfinite(thumbs).all() and duplicate_pairs(thumbs) == []


def test_duplicate_pairs_are_the_same_in_row_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from datamodules.ultrasound import duplicates

    rng = np.random.default_rng(0)
    thumbs = rng.normal(size=(9, 16)).astype(np.float32)
    thumbs[7] = thumbs[1]
    thumbs[8] = thumbs[3]
    thumbs /= np.linalg.norm(thumbs, axis=1, keepdims=True)
    whole = duplicate_pairs(thumbs)
    monkeypatch.setattr(duplicates, "_CHUNK", 2)
    assert duplicate_pairs(thumbs) == whole == [(1, 7), (3, 8)]


def test_groups_join_cases_that_share_a_picture() -> None:
    cases = ["1", "1", "2", "3", "4", "5"]
    groups = split_groups(cases, [(1, 3), (3, 5)])  # case 1 ~ case 3 ~ case 5
    assert groups[0] == groups[1] == groups[3] == groups[5]
    assert len({groups[0], groups[2], groups[4]}) == 3


def test_the_first_copy_is_kept_and_conflicting_copies_all_go(caplog: pytest.LogCaptureFixture) -> None:
    keys = ["a", "b", "c", "d", "e", "f"]
    keep, notes = keep_first_copies(keys, [0, 1, 1, 1, 0, 1], [(1, 2), (1, 3), (2, 3), (0, 4)])
    assert keep.tolist() == [True, True, False, False, False, True]
    assert notes == ["c (= b)", "d (= b)", "e (= a)"]
    keep, _ = keep_first_copies(keys, [0, 1, 1, 1, 1, 1], [(0, 4)])
    assert keep.tolist() == [False, True, True, True, False, True]
    assert "same picture with different labels" in caplog.text
