from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_modules.components.patch_groups import PatchGrouper
from zoo.errors import UserError


def test_aggregating_unchanged_groups_rebuilds_the_image() -> None:
    images = torch.rand(3, 40, 33, dtype=torch.float64)
    grouper = PatchGrouper(patch_size=5, stride=3, window=11, group_size=8)
    groups = grouper.group(images)
    assert groups.matrices.shape[2:] == (25, 8)
    torch.testing.assert_close(grouper.aggregate(groups, groups.matrices), images)


def test_groups_hold_the_nearest_patches_of_the_search_window() -> None:
    image = torch.rand(1, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grouper = PatchGrouper(patch_size=4, stride=4, window=7, group_size=5)
    groups = grouper.group(image)
    patches = F.unfold(image[:, None], kernel_size=4)[0].T  # [17·17, 16]
    first = groups.index[0, 0]  # reference (0, 0): window rows/cols 0..6
    assert 0 in first.tolist()  # the reference itself belongs to its group
    window = torch.tensor([r * 17 + c for r in range(7) for c in range(7)])
    distance = (patches[window] - patches[0]).pow(2).sum(1)
    expected = set(window[distance.argsort()[:5]].tolist())
    assert set(first.tolist()) == expected
    torch.testing.assert_close(groups.matrices[0, 0], patches[first].T)


def test_flat_images_keep_every_pixel_covered() -> None:
    grouper = PatchGrouper(patch_size=6, stride=4, window=15, group_size=20)
    groups = grouper.group(torch.zeros(1, 30, 30))
    assert not grouper.aggregate(groups, groups.matrices).isnan().any()


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(UserError, match="stride"):
        PatchGrouper(patch_size=4, stride=5)
    with pytest.raises(UserError, match="too few"):
        PatchGrouper(patch_size=6, window=31, group_size=70).group(torch.zeros(1, 10, 10))
