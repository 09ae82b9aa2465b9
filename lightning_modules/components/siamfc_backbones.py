"""SiamFC feature extractors: the networks of Table 1 cut to total stride 8 as §3.1 says, plus SiamFC's own.

Every cut maps a 127 × 127 exemplar and a 255 × 255 search crop to feature maps whose cross-correlation is a
17 × 17 response, SiamFC's geometry (checked in the tests). Inputs are RGB in [0, 1]; each extractor normalises
as its weights expect (ImageNet mean / std; 0.5 / 0.5 for EfficientNet-Lite0; SiamFC's AlexNetV1 was trained on
0-255 pixels).

§3.1's cuts of the torchvision networks:
  * AlexNet: "adjust the stride of first conv-layer to 2 and remove the last pooling layer";
  * VGG-19: "remove the forth max-pooling layer and the fifth conv-block" (ends at conv4_4 + ReLU);
  * Inception-v3: "remove the inception 6" (ends at Mixed_5d, before the stride-2 Mixed_6a);
  * ResNet-34: "adjust the stride of forth conv-block to 1 and remove the fifth conv-block" (conv4_x = layer3);
  * EfficientNet-Lite0 (not in the paper; the one ImageNet network available offline): stem and the first four
    stages with the fourth stage's stride set to 1, ResNet-34's treatment (80 channels at stride 8).
``siamfc_alexnet`` is SiamFC's AlexNetV1 (BN eps 1e-6, momentum 0.05, grouped conv2/4/5, no padding).
``build_siamfc_network`` adds the response head (cross-correlation and its "adjust" BatchNorm).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightning_modules.components.backbones import (
    IMAGENET_NORMALISATION,
    LITE0_NORMALISATION,
    describe_weights,
    load_network,
    load_state,
    read_state_dict,
)
from lightning_modules.components.siamfc_ops import cross_correlation
from zoo.errors import UserError, check_choice

SIAMFC_BACKBONES = ("siamfc_alexnet", "alexnet", "vgg19", "inception_v3", "resnet34", "efficientnet_lite0")


class FeatureExtractor(nn.Module):
    """``[B, 3, H, W]`` in [0, 1] -> stride-8 features; ``out_channels`` and ``weights`` describe it."""

    def __init__(self, body: nn.Module, out_channels: int, mean: tuple, std: tuple, weights: str) -> None:
        super().__init__()
        self.body = body
        self.out_channels = int(out_channels)
        self.weights = weights
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body((images - self.mean) / self.std)


def _siamfc_alexnet() -> nn.Sequential:
    def block(c_in: int, c_out: int, k: int, groups: int = 1, *, pool: bool = False, last: bool = False):
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, groups=groups)]
        if not last:
            layers += [nn.BatchNorm2d(c_out, eps=1e-6, momentum=0.05), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(3, 2))
        return layers

    conv1 = [nn.Conv2d(3, 96, 11, 2), nn.BatchNorm2d(96, eps=1e-6, momentum=0.05), nn.ReLU(inplace=True)]
    return nn.Sequential(
        *conv1,
        nn.MaxPool2d(3, 2),
        *block(96, 256, 5, 2, pool=True),
        *block(256, 384, 3),
        *block(384, 384, 3, 2),
        *block(384, 256, 3, 2, last=True),
    )


def _cut(name: str, network: nn.Module) -> tuple[nn.Module, int]:
    """§3.1's stride-8 cut of a torchvision / timm network and its output width."""
    if name == "alexnet":
        features = network.features
        features[0].stride = (2, 2)
        return nn.Sequential(*list(features)[:-1]), 256
    if name == "vgg19":
        layers = list(network.features)
        pools = [i for i, layer in enumerate(layers) if isinstance(layer, nn.MaxPool2d)]
        return nn.Sequential(*layers[: pools[3]]), 512  # up to conv4_4 + ReLU
    if name == "inception_v3":
        n = network
        stem = [
            n.Conv2d_1a_3x3,
            n.Conv2d_2a_3x3,
            n.Conv2d_2b_3x3,
            n.maxpool1,
            n.Conv2d_3b_1x1,
            n.Conv2d_4a_3x3,
        ]
        return nn.Sequential(*stem, n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d), 288
    if name == "resnet34":
        n = network
        first = n.layer3[0]
        first.conv1.stride = (1, 1)
        first.downsample[0].stride = (1, 1)
        return nn.Sequential(n.conv1, n.bn1, n.relu, n.maxpool, n.layer1, n.layer2, n.layer3), 256
    n = network  # efficientnet_lite0 (timm)
    n.blocks[3][0].conv_dw.stride = (1, 1)
    return nn.Sequential(n.conv_stem, n.bn1, *list(n.blocks)[:4]), 80


class SiameseNetwork(nn.Module):
    """φ shared by both branches and the response head: ``R = adjust(out_scale · φ(z) ⋆ φ(x))``.

    ``adjust`` is a one-channel BatchNorm on the response (SiamFC's "adjust" layer): the raw correlation of
    ImageNet features is orders of magnitude larger than a logit, and its scale differs between backbones; pair
    training learns the affine map, and at tracking time (eval mode) it is a fixed affine map of the response.
    """

    def __init__(self, backbone: FeatureExtractor, out_scale: float = 0.001) -> None:
        super().__init__()
        self.backbone = backbone
        self.adjust = nn.BatchNorm2d(1)
        self.out_scale = float(out_scale)

    @property
    def weights(self) -> str:
        return self.backbone.weights

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images)

    def response(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Responses ``[B·S, 1, 17, 17]`` of exemplar features ``z [B, ...]`` to search features ``x [B·S, ...]``."""
        return self.adjust(cross_correlation(z, x, self.out_scale))


def network_from_config(backbone: Mapping[str, Any]) -> SiameseNetwork:
    """``model.backbone`` (``name``, ``weights``, ``out_scale``) as a network; a missing name is a paragraph."""
    if "name" not in backbone:
        raise UserError(
            "model.backbone has no name",
            where="model.backbone.name",
            fix=f"set it to one of {', '.join(SIAMFC_BACKBONES)}",
        )
    return build_siamfc_network(
        str(backbone["name"]), str(backbone.get("weights", "random")), float(backbone.get("out_scale", 0.001))
    )


def build_siamfc_network(name: str, weights: str = "random", out_scale: float = 0.001) -> SiameseNetwork:
    """A SiamFC network. ``weights``: ``random`` | ``imagenet`` (the backbone's ImageNet weights; not for
    ``siamfc_alexnet``) | the path of a state dict: a whole ``SiameseNetwork`` (what pair training writes), or the
    backbone network alone (torchvision / timm layout; for ``siamfc_alexnet`` its layers)."""
    check_choice(name, SIAMFC_BACKBONES, "model.backbone.name", "SiamFC backbone")
    state = None if weights in ("random", "imagenet") else read_state_dict(Path(weights))
    trained = state is not None and any(key.startswith("backbone.body.") for key in state)
    base = "random" if trained else weights
    if name == "siamfc_alexnet":
        if weights == "imagenet":
            raise UserError(
                "SiamFC's AlexNetV1 has no ImageNet weights: it is trained from scratch on video pairs",
                where="model.backbone.weights",
                fix="use weights=random (then train it: experiment=siamfc_pairs_training) or a SiamFC "
                "checkpoint path, or backbone alexnet for torchvision's ImageNet AlexNet",
            )
        body = _siamfc_alexnet()
        if state is not None and not trained:
            load_state(body, state, weights)
        zero_mean, unit = (0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255)  # trained on 0-255 pixels
        extractor = FeatureExtractor(body, 256, zero_mean, unit, describe_weights(name, weights))
    else:
        body, channels = _cut(name, load_network(name, base))
        mean, std = LITE0_NORMALISATION if name == "efficientnet_lite0" else IMAGENET_NORMALISATION
        extractor = FeatureExtractor(body, channels, mean, std, describe_weights(name, weights))
    network = SiameseNetwork(extractor, out_scale)
    if trained:
        load_state(network, state, weights)
    return network
