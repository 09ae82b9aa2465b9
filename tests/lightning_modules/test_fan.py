"""FAN's LightningModule: CAM localisation metrics on known CAM/mask pairs, a training step moves the weights,
class weights from the data reach the loss, the test stage logs eq. 6, #params, CAM scores and the overlays;
the layout-only baseline fits and scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from lightning_modules.components.classifier_backbones import parameter_count
from lightning_modules.components.fan import FAN
from lightning_modules.fan import FANClassifier, LayoutBaseline, cam_localisation

DESCRIPTION = {
    "num_classes": 2,
    "class_weights": [1.0, 4.0],
    "split": {"counts": {"train": [6, 2], "val": [1, 1], "test": [2, 2]}},
}


def _tiny_fan(**kwargs) -> FAN:
    return FAN(
        2,
        3,
        eta=8,
        kappa=2,
        input_size=32,
        stage_channels=(4, 8),
        convs_per_stage=1,
        lfm_channels=8,
        **kwargs,
    )


def _items(n: int = 4, size: int = 32, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        mask = torch.zeros(1, size, size)
        mask[:, 8:20, 8:20] = 1
        items.append(
            {
                "image": torch.rand(3, size, size, generator=g),
                "label": i % 2,
                "mask": mask,
                "has_mask": i != 0,
                "index": i,
            }
        )
    return items


def test_cam_localisation_known_answers() -> None:
    cam = torch.zeros(3, 4, 4)
    mask = torch.zeros(3, 4, 4)
    mask[:, :2, :2] = 1
    cam[0, 0, 0] = 3.0  # all the mass inside, peak inside
    cam[0, 3, 3] = -5.0  # negative evidence is not energy
    cam[1, 0, 0], cam[1, 3, 3] = 1.0, 3.0  # a quarter inside, peak outside
    # image 2: all zeros: no positive mass (energy 0), argmax = first pixel (inside)
    energy, hit = cam_localisation(cam, mask[:, None])
    assert energy.tolist() == pytest.approx([1.0, 0.25, 0.0])
    assert hit.tolist() == [1.0, 0.0, 1.0]


def test_class_weights_from_the_data_reach_the_loss() -> None:
    module = FANClassifier(_tiny_fan(), class_weights="data")
    assert module.needs_data
    module.configure_for_data(DESCRIPTION)
    logits, target = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 0])
    expected = F.cross_entropy(logits, target, weight=torch.tensor([1.0, 4.0]))
    assert module.loss(logits, target) == pytest.approx(float(expected))
    unweighted = FANClassifier(_tiny_fan(), class_weights=None)
    unweighted.configure_for_data(DESCRIPTION)  # still sized by the data, weights stay off
    assert unweighted.class_weight is None


def test_previous_epoch_reading_gets_a_store_over_every_image() -> None:
    module = FANClassifier(_tiny_fan(reading="previous_epoch"))
    module.configure_for_data(DESCRIPTION)
    assert module.net.store is not None and module.net.store.maps.shape[0] == 14


def test_one_training_step_moves_the_weights() -> None:
    torch.manual_seed(0)
    module = FANClassifier(
        _tiny_fan(),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
        class_weights=None,
    )
    module.configure_for_data(DESCRIPTION)
    before = [p.detach().clone() for p in module.parameters()]
    batch = torch.utils.data.default_collate(_items())
    optimizer = module.configure_optimizers()
    loss = module.loss(module.logits(batch), batch["label"])
    loss.backward()
    optimizer.step()
    moved = [not torch.equal(a, b.detach()) for a, b in zip(before, module.parameters(), strict=True)]
    assert torch.isfinite(loss) and any(moved) and moved[-1]  # the WTFM (last Linear) moves


def test_test_stage_logs_eq6_params_cam_scores_and_overlays(tmp_path: Path) -> None:
    module = FANClassifier(_tiny_fan(), cam_figures=3)
    module.configure_for_data(DESCRIPTION)
    trainer = pl.Trainer(
        default_root_dir=tmp_path, logger=False, enable_progress_bar=False, enable_checkpointing=False
    )
    (metrics,) = trainer.test(module, DataLoader(_items(), batch_size=2), verbose=False)
    for name in ("acc", "precision", "specificity", "recall", "f1", "loss"):
        assert f"test/{name}" in metrics
    assert metrics["test/params"] == parameter_count(module.net)
    assert 0.0 <= metrics["test/cam_energy_in_mask"] <= 1.0
    # three of the four images have a mask: the pointing game is a count of hits out of three
    assert round(metrics["test/pointing_game"] * 3, 5) in (0.0, 1.0, 2.0, 3.0)
    assert metrics["test/mask_area_share"] == pytest.approx(144 / 1024)  # a 12 × 12 nodule in 32 × 32
    assert (tmp_path / "cam_overlays.png").stat().st_size > 0


def test_the_pointing_game_ignores_images_without_a_mask(tmp_path: Path) -> None:
    module = FANClassifier(_tiny_fan(), cam_figures=0)
    module.configure_for_data(DESCRIPTION)
    items = _items()
    for item in items:
        item["has_mask"] = False
    trainer = pl.Trainer(default_root_dir=tmp_path, logger=False, enable_progress_bar=False)
    (metrics,) = trainer.test(module, DataLoader(items, batch_size=2), verbose=False)
    assert "test/pointing_game" not in metrics and "test/cam_energy_in_mask" not in metrics


class _LayoutData(pl.LightningDataModule):
    """Layout features where feature 0 is the label: the baseline must find it."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.labels = np.array([0, 1] * 20)
        self.features = np.c_[self.labels + 0.1 * rng.standard_normal(40), rng.standard_normal(40)]
        self.parts = {"train": np.arange(0, 30), "test": np.arange(30, 40)}

    def layout_features(self, part: str):
        idx = self.parts[part]
        return self.features[idx], self.labels[idx], ["informative", "noise"]

    def test_dataloader(self) -> DataLoader:
        mask = torch.zeros(1, 8, 8)
        mask[:, :4] = 1
        items = [
            {"index": int(i), "label": int(self.labels[i]), "mask": mask, "has_mask": True}
            for i in self.parts["test"]
        ]
        return DataLoader(items, batch_size=4)


def test_layout_baseline_fits_on_train_and_scores_the_test_part(tmp_path: Path) -> None:
    from zoo.errors import UserError

    with pytest.raises(UserError, match="nothing to train"):
        LayoutBaseline(optimizer=lambda params: None)
    module = LayoutBaseline()
    trainer = pl.Trainer(default_root_dir=tmp_path, logger=False, enable_progress_bar=False)
    (metrics,) = trainer.test(module, datamodule=_LayoutData(), verbose=False)
    assert metrics["test/acc"] == 1.0 and metrics["test/f1"] == 1.0
    assert metrics["test/mask_area_share"] == 0.5  # the CAM metrics' chance level on the same images


def test_baseline_networks_are_named_by_a_class_and_keep_their_parameter_count() -> None:
    from lightning_modules.components.classifier_backbones import build_baseline
    from lightning_modules.fan import BaselineNetwork

    net = BaselineNetwork("densenet40", 2)
    assert parameter_count(net) == parameter_count(build_baseline("densenet40", 2))
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 2)
