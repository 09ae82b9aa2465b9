"""Table 2's baselines of FAN (Li et al., ICONIP 2019), and a frozen-feature EfficientNet-Lite0 probe.

``build_baseline(name, num_classes, weights)``: ``[B, 3, 224, 224]`` in [0, 1] -> logits.

* ``vgg19``, ``resnet18``, ``resnet34``, ``resnet50``: torchvision's architectures with a ``num_classes``
  head (the last Linear replaced), 224 × 224 inputs. ``weights="random"`` (the paper does not say it
  pretrained) or ``"imagenet"`` / an ImageNet checkpoint path through ``backbones.load_network`` (the
  1000-class head is replaced after loading); with ImageNet weights the input is normalised with
  ImageNet's mean / std first.
* ``densenet40``: the classic DenseNet (Huang et al. 2017, L = 40, k = 12): 3 dense blocks of 12
  BN-ReLU-3×3 conv layers (no bottleneck), transitions BN-ReLU-1×1 conv (no compression)-2×2 average pool,
  BN-ReLU-GAP-FC. torchvision's DenseNet always has bottlenecks, hence our own. CIFAR's stem is one 3×3
  conv, stride 1, which at 224 × 224 would run the first block on 224² maps; for 224² inputs we use the
  ImageNet DenseNet stem (7×7 conv stride 2, BN, ReLU, 3×3 max-pool stride 2: total stride 4, blocks at
  56², 28², 14², as an ImageNet DenseNet's first three). ``stem="cifar"`` keeps the 3×3 stride-1 stem.
  Our count: 1 018 082 (ImageNet stem) / 1 016 130 (CIFAR stem) parameters for 2 classes (Huang et al.
  report 1.0 M), vs the paper's 1.13 M.
* ``efficientnet_lite0_linear`` (not in the paper): ``FrozenFeatureLinear``, EfficientNet-Lite0's pooled
  1280-d ImageNet features (``load_network("efficientnet_lite0", "imagenet")``, offline) with a trained
  linear head only.

Parameter counts with a 2-class head, ours vs Table 2's "#Params" (``PAPER_TABLE2_PARAMETERS``):

    model        ours          paper
    FAN          775 346       0.77 M   (η = 56, κ = 2; fan.FAN)
    VGG-19       139 578 434   139.58 M
    ResNet-18    11 177 538    11.00 M
    ResNet-34    21 285 698    21.11 M
    ResNet-50    23 512 130    38.08 M  (no standard ResNet-50 has 38 M; the paper's is not torchvision's)
    DenseNet-40  1 018 082     1.13 M
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.components.backbones import (
    IMAGENET_NORMALISATION,
    LITE0_NORMALISATION,
    load_network,
)
from zoo.errors import UserError, check_choice

#: Table 2 of "FAN: Feedback Attention Network for visual diagnosis of thyroid nodules in ultrasound images"
#: (Li et al., ICONIP 2019 Proceedings, AJIIPS Vol. 16 No. 2), column "#Params", as printed.
PAPER_TABLE2_PARAMETERS: dict[str, float] = {
    "fan": 0.77e6,
    "vgg19": 139.58e6,
    "resnet18": 11.00e6,
    "resnet34": 21.11e6,
    "resnet50": 38.08e6,
    "densenet40": 1.13e6,
}
PAPER_TABLE2_SOURCE = "Li et al., FAN (ICONIP 2019), Table 2, column #Params"
TORCHVISION_BASELINES = ("vgg19", "resnet18", "resnet34", "resnet50")
BASELINES = (*TORCHVISION_BASELINES, "densenet40", "efficientnet_lite0_linear")
DENSENET_STEMS = ("imagenet", "cifar")


def parameter_count(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (all, or those with ``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


class Normalised(nn.Module):
    """``body((x - mean) / std)`` for RGB inputs in [0, 1] (what pretrained weights expect)."""

    def __init__(self, body: nn.Module, mean: tuple, std: tuple) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.body((x - self.mean) / self.std)


class _DenseLayer(nn.Module):
    """BN-ReLU-3×3 conv to ``growth`` channels, concatenated to the input."""

    def __init__(self, c_in: int, growth: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, growth, 3, padding=1, bias=False)
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.dropout(self.body(x))], dim=1)


class DenseNet40(nn.Module):
    """Classic DenseNet-40 (k = 12, 3 × 12 layers, no bottleneck, no compression) for 224² inputs."""

    def __init__(
        self,
        num_classes: int = 2,
        in_channels: int = 3,
        *,
        growth: int = 12,
        layers_per_block: int = 12,
        blocks: int = 3,
        initial_channels: int = 16,
        stem: str = "imagenet",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_choice(stem, DENSENET_STEMS, "model.net.stem", "DenseNet stem")
        width = int(initial_channels)  # 16 in Huang et al.'s DenseNet (no BC), whatever k
        if stem == "imagenet":
            layers: list[nn.Module] = [
                nn.Conv2d(int(in_channels), width, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            ]
        else:
            layers = [nn.Conv2d(int(in_channels), width, 3, padding=1, bias=False)]
        for block in range(int(blocks)):
            for _ in range(int(layers_per_block)):
                layers.append(_DenseLayer(width, int(growth), float(dropout)))
                width += int(growth)
            if block < int(blocks) - 1:
                layers += [
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(width, width, 1, bias=False),
                    nn.AvgPool2d(2, 2),
                ]
        layers += [nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, int(num_classes))
        self.out_channels = width

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class FrozenFeatureLinear(nn.Module):
    """A linear classifier on a frozen network's pooled features (EfficientNet-Lite0's 1280).

    The backbone never trains: no gradients, and it stays in eval mode (BatchNorm statistics and dropout
    fixed) whatever ``train()`` is called with; only ``head`` learns. Inputs are RGB in [0, 1] (a one-channel
    image is repeated to three), normalised as Lite0 expects (mean = std = 0.5).
    """

    def __init__(
        self, num_classes: int = 2, weights: str = "imagenet", backbone: str = "efficientnet_lite0"
    ) -> None:
        super().__init__()
        check_choice(backbone, ("efficientnet_lite0",), "model.net.backbone", "frozen backbone")
        network = load_network(backbone, weights)
        network.reset_classifier(0)  # timm: forward -> pooled features
        network.requires_grad_(False)
        self.backbone = Normalised(network.eval(), *LITE0_NORMALISATION)
        self.weights = weights
        self.head = nn.Linear(network.num_features, int(num_classes))

    def train(self, mode: bool = True) -> FrozenFeatureLinear:
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        with torch.no_grad():
            return self.backbone(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _replace_head(network: nn.Module, name: str, num_classes: int) -> nn.Module:
    if name == "vgg19":
        last = network.classifier[-1]
        network.classifier[-1] = nn.Linear(last.in_features, num_classes)
    else:
        network.fc = nn.Linear(network.fc.in_features, num_classes)
    return network


def build_baseline(name: str, num_classes: int = 2, weights: str | None = None, **kwargs) -> nn.Module:
    """A Table 2 baseline (or the Lite0 probe) with a ``num_classes`` head; ``kwargs`` go to DenseNet40.

    ``weights=None``: ``"imagenet"`` for the frozen-feature probe (a frozen random network is only a floor),
    ``"random"`` for the others (trained from scratch).
    """
    check_choice(name, BASELINES, "model.net.name", "baseline classifier")
    if weights is None:
        weights = "imagenet" if name == "efficientnet_lite0_linear" else "random"
    num_classes = int(num_classes)
    if kwargs and name != "densenet40":
        raise UserError(
            f"options {sorted(kwargs)} only apply to densenet40, not {name}",
            where="model.net",
            fix="drop them, or use name=densenet40",
        )
    if name == "efficientnet_lite0_linear":
        return FrozenFeatureLinear(num_classes, weights)
    if name == "densenet40":
        if weights != "random":
            raise UserError(
                f"DenseNet-40 has no pretrained weights here, got weights={weights!r}",
                where="model.net.weights",
                fix="use weights=random (the classic DenseNet-40 is trained from scratch)",
            )
        return DenseNet40(num_classes, **kwargs)
    network = _replace_head(load_network(name, weights), name, num_classes)
    return network if weights == "random" else Normalised(network, *IMAGENET_NORMALISATION)
