"""Deep local features for SeqDLF (§3.1): a pretrained network cut after one late layer, with its input convention.

``layer`` counts from the end of each network's list of late layers (``LAYERS``), so one number means the same
depth for every backbone and a sweep over it is numeric:

* VGG16 (``vgg16``, ``vgg16_places365``): -4 conv4_3, -3 conv5_1, -2 conv5_2, -1 conv5_3, the outputs after
  each layer's ReLU (Caffe's ReLU is in place, so the blob the paper reads as "conv5_x" is rectified). The
  paper's conv5 a / b / c are -3 / -2 / -1. At a 224 × 224 input every conv5 map is 14 × 14 × 512 (§3.1).
* EfficientNet-Lite0 (not in the paper; the one network with real weights offline): -4 .. -1 are the outputs of
  its stages 4-7 (timm ``blocks.3`` .. ``blocks.6``: 80, 112, 192, 320 channels; strides 16, 16, 32, 32, so 14 × 14
  or 7 × 7 at 224).

Input conventions: torchvision ImageNet mean/std on RGB in [0, 1]; Lite0 (x - 0.5) / 0.5; a Places365 Caffe
conversion BGR in 0-255 minus a per-channel mean (``caffe_mean_bgr``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lightning_modules.components.backbones import (
    IMAGENET_NORMALISATION,
    LITE0_NORMALISATION,
    PLACES365_VGG16,
    load_network,
)
from zoo.errors import UserError, check_choice

#: the late layers each backbone offers, deepest last: (cut index after the layer, name)
LAYERS = {
    "vgg16": ((23, "conv4_3"), (26, "conv5_1"), (28, "conv5_2"), (30, "conv5_3")),
    PLACES365_VGG16: ((23, "conv4_3"), (26, "conv5_1"), (28, "conv5_2"), (30, "conv5_3")),
    "efficientnet_lite0": ((3, "stage 4"), (4, "stage 5"), (5, "stage 6"), (6, "stage 7")),
}
#: the ImageNet Caffe mean (BGR); a Places365 conversion should pass the mean of its own binaryproto
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def layer_entry(name: str, layer: int) -> tuple[int, str]:
    """(cut index, layer name) of ``layer`` (-4 .. -1) of backbone ``name``."""
    check_choice(name, tuple(LAYERS), "model.backbone.name", "SeqDLF backbone")
    options = LAYERS[name]
    if isinstance(layer, bool) or not isinstance(layer, int) or not -len(options) <= layer <= -1:
        raise UserError(
            f"model.backbone.layer must be an integer from -{len(options)} to -1 (counted from the last layer), "
            f"got {layer!r}",
            where="model.backbone.layer",
            fix=f"for {name}: " + ", ".join(f"{i - len(options)} = {n}" for i, (_, n) in enumerate(options)),
        )
    return options[layer]


class LayerFeatures(nn.Module):
    """Images ``[B, 3, H, W]`` in [0, 1] (RGB) → the chosen layer's maps ``[B, c, h, w]``; frozen, eval only."""

    def __init__(
        self,
        name: str,
        weights: str,
        layer: int = -2,
        caffe_mean_bgr: Sequence[float] = CAFFE_MEAN_BGR,
    ) -> None:
        super().__init__()
        cut, self.layer_name = layer_entry(name, layer)
        network = load_network(name, weights)
        if name == "efficientnet_lite0":
            self.body = nn.Sequential(network.conv_stem, network.bn1, *network.blocks[: cut + 1])
            mean, std = LITE0_NORMALISATION
        else:
            self.body = network.features[:cut]
            mean, std = IMAGENET_NORMALISATION
        self.caffe = name == PLACES365_VGG16
        if self.caffe:  # x·255 in BGR minus the mean: scale 1/255 undone, so std = 1/255
            mean_bgr = tuple(float(v) for v in caffe_mean_bgr)
            if len(mean_bgr) != 3:
                raise UserError(
                    f"caffe_mean_bgr needs 3 values (B, G, R), got {list(caffe_mean_bgr)}",
                    where="model.backbone.caffe_mean_bgr",
                    fix="the per-channel mean of places365CNN_mean.binaryproto",
                )
            mean, std = tuple(v / 255.0 for v in mean_bgr), (1 / 255.0,) * 3
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LayerFeatures:
        """Always in eval mode: BatchNorm statistics (Lite0) are the pretrained ones, never batch statistics."""
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        x = images.flip(1) if self.caffe else images  # RGB → BGR for the Caffe weights
        return self.body((x - self.mean) / self.std)
