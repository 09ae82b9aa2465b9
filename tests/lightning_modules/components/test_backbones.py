"""The one network loader: real offline ImageNet weights, local checkpoints, and the paragraphs for bad ones."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision

from lightning_modules.components import backbones
from zoo.errors import UserError


def test_efficientnet_lite0_imagenet_weights_load_strictly_and_recognise_a_cat() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    network = backbones.load_network("efficientnet_lite0", "imagenet").eval()
    image = torch.tensor(skimage_data.chelsea()).permute(2, 0, 1).float() / 255
    image = torch.nn.functional.interpolate(image[None], size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        top = network((image - 0.5) / 0.5).softmax(-1).topk(3).indices[0].tolist()
    assert set(top) <= {281, 282, 285, 287}  # tabby, tiger cat, Egyptian cat, lynx: a cat, as it should be
    assert "sha256 579344248a93" in backbones.describe_weights("efficientnet_lite0", "imagenet")


def test_a_saved_state_dict_round_trips_and_a_mismatched_one_is_a_paragraph(tmp_path) -> None:
    torch.manual_seed(0)
    source = backbones.load_network("resnet18")
    path = tmp_path / "r18.pt"
    torch.save({"state_dict": source.state_dict()}, path)
    loaded = backbones.load_network("resnet18", str(path))
    expected, got = source.state_dict(), loaded.state_dict()
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)
    assert "r18.pt (sha256" in backbones.describe_weights("resnet18", str(path))
    with pytest.raises(UserError, match="missing keys"):
        backbones.load_network("resnet34", str(path))


def test_pickled_objects_and_missing_files_are_refused(tmp_path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torchvision.models.resnet18(), path)  # a whole pickled module, not a state dict
    with pytest.raises(UserError, match="tensor-only state dict"):
        backbones.load_network("resnet18", str(path))
    with pytest.raises(UserError, match="does not exist"):
        backbones.load_network("resnet18", str(tmp_path / "absent.pt"))
    with pytest.raises(UserError):
        backbones.load_network("resnet101")


def test_an_imagenet_download_that_fails_says_how_to_work_offline(monkeypatch) -> None:
    def offline(name: str, **kwargs):
        if kwargs.get("weights") is not None:
            raise urllib.error.URLError("no network")
        return torchvision.models.get_model(name, **kwargs)

    monkeypatch.setattr(backbones.torchvision.models, "get_model", offline)
    with pytest.raises(UserError, match="TORCH_HOME") as error:
        backbones.load_network("alexnet", "imagenet")
    assert "efficientnet_lite0" in str(error.value)
