"""SeqDLF's module on a tiny synthetic sequence with a planted revisit (no data files, random-weight Lite0)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from lightning_modules.seqdlf import SeqDLF
from zoo.errors import UserError

N, REVISIT, ORIGINAL, LENGTH = 40, 28, 4, 6  # frames 28..33 are copies of frames 4..9


def frames(seed: int = 0) -> torch.Tensor:
    """Smooth random 64 × 64 scenes; the revisit copies earlier frames with a little pixel noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(N, 3, 8, 8, generator=g)
    images = torch.nn.functional.interpolate(coarse, size=(64, 64), mode="bilinear", align_corners=False)
    copies = images[ORIGINAL : ORIGINAL + LENGTH]
    images[REVISIT : REVISIT + LENGTH] = (copies + 0.01 * torch.rand(copies.shape, generator=g)).clamp(0, 1)
    return images


def ground_truth(shift: int = 0) -> torch.Tensor:
    """The revisit's frame pairs, optionally misaligned by ``shift`` frames (as Lip6's fixed-offset bands drift)."""
    gt = torch.zeros(N, N, dtype=torch.bool)
    k = torch.arange(LENGTH)
    gt[REVISIT + k, ORIGINAL + k + shift] = True
    return gt | gt.T


class Sequence(pl.LightningDataModule):
    """The loop-closure datamodule's contract: ordered frames, ``ground_truth()``, ``describe()``."""

    def __init__(self, images: torch.Tensor, gt: torch.Tensor, batch_size: int = 16) -> None:
        super().__init__()
        self.images, self.gt, self.batch_size = images, gt, batch_size

    def test_dataloader(self) -> DataLoader:
        items = [{"image": image, "index": i} for i, image in enumerate(self.images)]
        return DataLoader(items, batch_size=self.batch_size, shuffle=False)

    def ground_truth(self) -> torch.Tensor:
        return self.gt

    def describe(self) -> dict:
        return {"segments": {"sequence": [0, len(self.images)]}}


def module(**options: object) -> SeqDLF:
    defaults = {
        "backbone": {"name": "efficientnet_lite0", "weights": "random", "layer": -3},
        "words": 8,
        "position_words": 4,
        "kmeans_max_iter": 20,
        "exclusion_frames": 5,
        "tolerance": 3,
        "match_figures": 2,
    }
    return SeqDLF(**{**defaults, **options})


def run_test(model: SeqDLF, data: Sequence, tmp_path: Path) -> dict[str, float]:
    trainer = pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    return trainer.test(model, datamodule=data, verbose=False)[0]


@pytest.mark.parametrize(
    "mode,T", [("vlad", 3), ("st_vlad", 3), ("vlad", 1), ("cnn_global", 1), ("seqslam", 1)]
)
def test_the_planted_revisit_is_found(mode: str, T: int, tmp_path: Path) -> None:
    options = {"seqslam_options": {"ds": 2}, "seqslam_score": "cost"} if mode == "seqslam" else {}
    metrics = run_test(module(mode=mode, T=T, **options), Sequence(frames(), ground_truth()), tmp_path)
    assert metrics["test/recall_at_100p"] > 0.5, metrics
    assert metrics["test/ap"] > 0.5
    assert metrics["test/num_blocks"] == N - T + 1
    assert (tmp_path / "pr_curve.png").is_file() and (tmp_path / "matches.png").is_file()


def test_strict_scoring_rejects_a_misaligned_ground_truth_and_the_tolerance_accepts_it(
    tmp_path: Path,
) -> None:
    """The copies match their originals, but the matrix marks frames 3 later: wrong strictly, right within ±3."""
    metrics = run_test(module(mode="cnn_global", T=1), Sequence(frames(), ground_truth(shift=3)), tmp_path)
    assert metrics["test/recall_at_100p"] == 0.0
    # dilation also gives the queries next to the revisit a loop (the denominator grows); all six copies are
    # accepted at full precision
    accepted = metrics["test/recall_at_100p_tol"] * metrics["test/loop_queries_tol"]
    assert accepted >= LENGTH - 1e-6, metrics
    assert metrics["test/ap_tol"] > metrics["test/ap"]
    assert metrics["test/loop_queries_tol"] >= metrics["test/loop_queries"]


def test_frames_beyond_the_ground_truth_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="ground truth covers"):
        run_test(module(mode="cnn_global", T=1), Sequence(frames(), ground_truth()[:30, :30]), tmp_path)


@pytest.mark.parametrize(
    "options,where",
    [
        ({"mode": "netvlad"}, "model.mode"),
        ({"T": 0}, "model.T"),
        ({"mode": "cnn_global", "T": 3}, "model.T"),
        ({"rule": "all"}, "model.rule"),
        ({"alpha": 0.0}, "model.alpha"),
        ({"exclusion_frames": -1}, "model.exclusion_frames"),
        (
            {"backbone": {"name": "efficientnet_lite0", "weights": "random", "layer": -5}},
            "model.backbone.layer",
        ),
        (
            {"backbone": {"name": "vgg16_places365", "weights": "random", "layer": -2}},
            "model.backbone.weights",
        ),
        ({"backbone": {"name": "resnet18", "weights": "random", "layer": -2}}, "model.backbone.name"),
        ({"optimizer": "sgd"}, "model.optimizer"),
    ],
)
def test_bad_configs_are_user_errors(options: dict, where: str) -> None:
    with pytest.raises(UserError) as error:
        module(**options)
    assert where in str(error.value)


def test_a_places365_file_with_caffe_names_loads_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    """The conversion path: Caffe layer names map onto torchvision's VGG16 conv layers (tensor-only load)."""
    import torchvision

    from lightning_modules.components.backbones import VGG16_CONV_INDEX, load_network

    reference = torchvision.models.vgg16().features.state_dict()
    caffe = {
        f"{layer}.{p}": reference[f"{index}.{p}"]
        for layer, index in VGG16_CONV_INDEX.items()
        for p in ("weight", "bias")
    }
    caffe["fc8.weight"] = torch.zeros(365, 4096)  # ignored: only the conv layers are used
    torch.save(caffe, tmp_path / "places.pt")
    network = load_network("vgg16_places365", str(tmp_path / "places.pt"))
    assert torch.equal(network.features[28].weight, reference["28.weight"])
    del caffe["conv5_3.bias"]
    torch.save(caffe, tmp_path / "broken.pt")
    with pytest.raises(UserError, match="conv entries are missing"):
        load_network("vgg16_places365", str(tmp_path / "broken.pt"))
