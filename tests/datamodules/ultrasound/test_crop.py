"""The scan-area crop: text and borders go, dual views stay whole, the mask keeps the image's geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamodules.ultrasound.crop import (
    LAYOUT_FEATURES,
    CropRule,
    ScanArea,
    crop_and_resize,
    layout_features,
    scan_area,
)
from datamodules.ultrasound.records import read_mask, read_rgb
from tests.datamodules.ultrasound.conftest import FRAME, SCAN_BOX, synthetic_frame


def test_the_crop_is_the_synthetic_scan_area_without_text_ticks_or_ruler() -> None:
    for seed in range(5):
        frame = synthetic_frame(seed)
        area = scan_area(frame.rgb)
        assert area.box == SCAN_BOX and area.panels == 1
        top, left, bottom, right = area.box
        outside = np.ones(FRAME, dtype=bool)
        outside[top:bottom, left:right] = False
        assert frame.rgb[outside].max() > 200  # the frame did carry text, ticks and a ruler line


@pytest.mark.parametrize("box", [(5, 54, 311, 445), (70, 20, 315, 500), (0, 0, 315, 500)])
def test_scan_areas_anywhere_in_the_frame_are_found(box: tuple[int, int, int, int]) -> None:
    area = scan_area(synthetic_frame(1, box=box).rgb)
    assert max(abs(a - b) for a, b in zip(area.box, box, strict=True)) <= 1


def test_both_panels_of_a_dual_view_are_kept() -> None:
    area = scan_area(synthetic_frame(3, panels=2).rgb)
    assert area.box == SCAN_BOX and area.panels == 2


def test_a_black_image_keeps_the_whole_frame() -> None:
    area = scan_area(np.zeros((40, 60, 3), dtype=np.uint8))
    assert area == ScanArea(0, 0, 40, 60, 0)


def test_the_mask_follows_the_image_through_crop_and_resize() -> None:
    """The synthetic nodule is the only pixel value above 200 inside the scan: after crop and resize, the bright
    pixels of the image and the mask must coincide (up to the bilinear edge)."""
    for seed in range(5):
        frame = synthetic_frame(seed)
        image, mask = crop_and_resize(frame.rgb, frame.mask, scan_area(frame.rgb), 224)
        assert image.shape == (224, 224, 3) and image.dtype == np.uint8
        assert mask.shape == (224, 224) and mask.dtype == bool
        bright = image[..., 0] > 200
        iou = (bright & mask).sum() / (bright | mask).sum()
        assert iou > 0.9, (seed, iou)
        centre = lambda m: np.argwhere(m).mean(axis=0)  # noqa: E731
        assert np.abs(centre(bright) - centre(mask)).max() < 1.0


def test_a_mask_of_another_shape_is_refused_by_crop_and_resize() -> None:
    frame = synthetic_frame(0)
    with pytest.raises(ValueError, match="mask shape"):
        crop_and_resize(frame.rgb, frame.mask[:-1], scan_area(frame.rgb), 224)


def test_layout_features_describe_the_box_and_grey_levels() -> None:
    frame = synthetic_frame(0)
    area = scan_area(frame.rgb)
    values = dict(zip(LAYOUT_FEATURES, layout_features(frame.rgb, area), strict=True))
    top, left, bottom, right = SCAN_BOX
    assert values["image_height"] == FRAME[0] and values["image_width"] == FRAME[1]
    assert values["box_top"] == pytest.approx(top / FRAME[0])
    assert values["box_right"] == pytest.approx(right / FRAME[1])
    assert values["box_height"] == bottom - top and values["box_width"] == right - left
    assert values["box_area"] == pytest.approx((bottom - top) * (right - left) / (FRAME[0] * FRAME[1]))
    assert values["panels"] == 1
    assert 0.3 < values["scan_mean"] < 0.6 and values["scan_std"] > 0.05
    assert values["outside_mean"] < 0.05 and 0 < values["outside_lit"] < 0.1  # only text and ticks
    assert values["colour"] == 0.0


def test_the_rule_parameters_matter() -> None:
    """A huge opening erases the scan area: the fallback is the whole frame, not an error."""
    frame = synthetic_frame(0)
    assert scan_area(frame.rgb, CropRule(min_width=400)).box == (0, 0, *FRAME)


def test_on_ddti_the_crop_keeps_the_nodules(ultrasound_dir: Path) -> None:
    """Every DDTI mask keeps at least 97 % of its pixels (annotators' contours may run onto the black frame)."""
    worst = 1.0
    for path in sorted((ultrasound_dir / "DDTI").glob("*.a.jpg"))[::5]:
        rgb = read_rgb(path)
        mask = read_mask(path.with_name(path.name.replace(".a.", ".b.")), rgb.shape[:2])
        top, left, bottom, right = scan_area(rgb).box
        worst = min(worst, mask[top:bottom, left:right].sum() / mask.sum())
    assert worst > 0.97
