"""Every SiamFC cut keeps SiamFC's geometry (127 -> exemplar map, 255 -> search map, response 17 x 17), and a
trained network round-trips through the file the tracker reads."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components.siamfc_backbones import (
    SIAMFC_BACKBONES,
    build_siamfc_network,
    network_from_config,
)
from zoo.errors import UserError

EXEMPLAR_SIDE = {"siamfc_alexnet": 6, "alexnet": 14, "vgg19": 15, "inception_v3": 13, "resnet34": 16}


@pytest.mark.parametrize("name", SIAMFC_BACKBONES)
def test_cut_gives_a_17_by_17_response(name: str) -> None:
    torch.manual_seed(0)
    network = build_siamfc_network(name).eval()
    with torch.no_grad():
        z, x = network(torch.rand(1, 3, 127, 127)), network(torch.rand(1, 3, 255, 255))
        assert network.response(z, x).shape == (1, 1, 17, 17)
    assert z.shape[1] == x.shape[1] == network.backbone.out_channels
    assert z.shape[-1] == EXEMPLAR_SIDE.get(name, 16)
    assert "random initialisation" in network.weights


def test_siamfc_alexnet_has_no_imagenet_weights() -> None:
    with pytest.raises(UserError, match="trained from scratch"):
        build_siamfc_network("siamfc_alexnet", "imagenet")


@pytest.mark.parametrize("name", ["siamfc_alexnet", "resnet34"])
def test_a_trained_network_round_trips_through_its_file(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    trained = build_siamfc_network(name)
    with torch.no_grad():
        trained.adjust.weight.fill_(3.0)  # what pair training learns, besides the backbone
        next(trained.backbone.parameters()).add_(1.0)
    path = tmp_path / "siamfc_backbone.pt"
    torch.save(trained.state_dict(), path)
    loaded = build_siamfc_network(name, str(path))
    for key, value in trained.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert "siamfc_backbone.pt (sha256" in loaded.weights


def test_a_backbone_config_without_a_name_is_a_paragraph() -> None:
    with pytest.raises(UserError, match="no name"):
        network_from_config({"weights": "random"})
