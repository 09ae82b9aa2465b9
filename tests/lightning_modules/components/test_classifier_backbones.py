"""Table 2's baselines: parameter counts next to the paper's, DenseNet-40's layout, the frozen Lite0 probe."""

from __future__ import annotations

import pytest
import torch
import torchvision

from lightning_modules.components.classifier_backbones import (
    PAPER_TABLE2_PARAMETERS,
    DenseNet40,
    FrozenFeatureLinear,
    Normalised,
    build_baseline,
    parameter_count,
)
from lightning_modules.components.fan import FAN
from zoo.errors import UserError

#: our counts with a 2-class head (FAN at η = 56, κ = 2; DenseNet-40 with the 224² ImageNet stem)
OURS = {
    "fan": 775_346,
    "vgg19": 139_578_434,
    "resnet18": 11_177_538,
    "resnet34": 21_285_698,
    "resnet50": 23_512_130,
    "densenet40": 1_018_082,
}


def test_parameter_counts_are_pinned_and_set_against_table_2() -> None:
    counts = {"fan": parameter_count(FAN())}
    counts |= {name: parameter_count(build_baseline(name)) for name in OURS if name != "fan"}
    assert counts == OURS
    for name, ours in counts.items():  # shown with pytest -s
        print(f"{name:11s} ours {ours / 1e6:7.2f} M   paper {PAPER_TABLE2_PARAMETERS[name] / 1e6:7.2f} M")
    ratio = {name: counts[name] / PAPER_TABLE2_PARAMETERS[name] for name in counts}
    assert abs(ratio["vgg19"] - 1) < 1e-4  # 139.58 M exactly: torchvision's VGG-19 with a 2-class head
    assert abs(ratio["fan"] - 1) < 0.02
    assert abs(ratio["resnet18"] - 1) < 0.02 and abs(ratio["resnet34"] - 1) < 0.01
    assert 0.85 < ratio["densenet40"] < 0.95  # 1.02 M (Huang et al.: 1.0 M) vs the printed 1.13 M
    assert (
        ratio["resnet50"] < 0.65
    )  # the printed 38.08 M is no standard ResNet-50 (23.5 M with a 2-class head)


def test_the_transcribed_table_agrees_with_the_texts_ratios() -> None:
    fan = PAPER_TABLE2_PARAMETERS["fan"]
    # §4.3: "the parameters in FAN is fewer, which was 0.5% of VGG, 3.6% of ResNet-34, and 68.1% of DenseNet"
    assert round(100 * fan / PAPER_TABLE2_PARAMETERS["vgg19"], 1) == 0.6  # the text truncates 0.55 % to 0.5 %
    assert round(100 * fan / PAPER_TABLE2_PARAMETERS["resnet34"], 1) == 3.6
    assert round(100 * fan / PAPER_TABLE2_PARAMETERS["densenet40"], 1) == 68.1


def test_densenet40_is_the_classic_layout_adapted_to_224() -> None:
    net = DenseNet40().eval()
    weighted = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert len(weighted) == 40  # stem + 3 × 12 dense layers + 2 transitions + FC
    transitions = [m for m in net.features if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)]
    assert [t.in_channels for t in transitions] == [160, 304] and net.out_channels == 448
    assert net.features[0].stride == (2, 2) and isinstance(net.features[3], torch.nn.MaxPool2d)
    with torch.no_grad():
        assert net(torch.rand(2, 3, 224, 224)).shape == (2, 2)
        assert net.features[:4](torch.rand(1, 3, 224, 224)).shape[-1] == 56  # blocks at 56², 28², 14²
    assert parameter_count(DenseNet40(stem="cifar")) == 1_016_130
    assert DenseNet40(stem="cifar").features[0].stride == (1, 1)


def test_torchvision_baselines_give_two_logits_at_224() -> None:
    torch.manual_seed(0)
    net = build_baseline("resnet18").eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 224, 224)).shape == (2, 2)
    assert build_baseline("vgg19", num_classes=3).classifier[-1].out_features == 3


def test_an_imagenet_checkpoint_loads_then_gets_a_new_head_and_normalisation(tmp_path) -> None:
    torch.manual_seed(0)
    source = torchvision.models.resnet18()
    path = tmp_path / "resnet18_imagenet.pt"
    torch.save(source.state_dict(), path)
    net = build_baseline("resnet18", weights=str(path))
    assert isinstance(net, Normalised) and net.body.fc.out_features == 2
    assert torch.equal(net.body.conv1.weight, source.conv1.weight)


def test_frozen_lite0_trains_only_its_linear_head() -> None:
    probe = build_baseline("efficientnet_lite0_linear")
    assert isinstance(probe, FrozenFeatureLinear) and probe.weights == "imagenet"
    assert parameter_count(probe, trainable_only=True) == 1280 * 2 + 2
    probe.train()
    assert not probe.backbone.training and probe.head.training  # BatchNorm statistics stay ImageNet's
    before = {k: v.clone() for k, v in probe.state_dict().items()}
    optimiser = torch.optim.SGD([p for p in probe.parameters() if p.requires_grad], lr=0.1)
    images = torch.rand(2, 1, 224, 224)  # grey ultrasound: repeated to RGB
    torch.nn.functional.cross_entropy(probe(images), torch.tensor([0, 1])).backward()
    optimiser.step()
    changed = {k for k, v in probe.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"head.weight", "head.bias"}
    with torch.no_grad():
        torch.testing.assert_close(probe.train().features(images), probe.eval().features(images))


def test_bad_baseline_requests_are_paragraphs() -> None:
    with pytest.raises(UserError, match="unknown baseline"):
        build_baseline("densenet121")
    with pytest.raises(UserError, match="no pretrained weights"):
        build_baseline("densenet40", weights="imagenet")
    with pytest.raises(UserError, match="only apply to densenet40"):
        build_baseline("resnet18", stem="cifar")
