"""Every SiamFC cut keeps SiamFC's geometry: 127 -> exemplar map, 255 -> search map, response 17 x 17."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.siamfc_backbones import SIAMFC_BACKBONES, build_siamfc_backbone
from lightning_modules.components.siamfc_ops import cross_correlation
from zoo.errors import UserError

EXEMPLAR_SIDE = {"siamfc_alexnet": 6, "alexnet": 14, "vgg19": 15, "inception_v3": 13, "resnet34": 16}


@pytest.mark.parametrize("name", SIAMFC_BACKBONES)
def test_cut_gives_a_17_by_17_response(name: str) -> None:
    torch.manual_seed(0)
    backbone = build_siamfc_backbone(name).eval()
    with torch.no_grad():
        z, x = backbone(torch.rand(1, 3, 127, 127)), backbone(torch.rand(1, 3, 255, 255))
    assert z.shape[1] == x.shape[1] == backbone.out_channels
    assert z.shape[-1] == EXEMPLAR_SIDE.get(name, 16)
    assert cross_correlation(z, x).shape == (1, 1, 17, 17)
    assert "random initialisation" in backbone.weights


def test_siamfc_alexnet_has_no_imagenet_weights() -> None:
    with pytest.raises(UserError, match="trained from scratch"):
        build_siamfc_backbone("siamfc_alexnet", "imagenet")
