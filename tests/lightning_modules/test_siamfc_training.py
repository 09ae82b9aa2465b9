"""Pair training fits the labels on pairs of one panning texture and writes the file the tracker reads."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch

from datamodules.tracking.pairs import PairDataModule
from lightning_modules.components.siamfc_backbones import build_siamfc_network
from lightning_modules.siamfc_training import EXPORT_NAME, SiamFCPairTraining
from tests.lightning_modules.test_siamfc import _textured_sequence


def test_pair_training_learns_and_exports_a_network_the_tracker_loads(tmp_path: Path) -> None:
    for s in range(2):
        _textured_sequence(tmp_path, f"Pan{s}", frames=6, seed=s)
    source = {"layout": "otb", "path": str(tmp_path / "OTB"), "sequences": ["Pan0", "Pan1"]}
    dm = PairDataModule(
        [source], val_tracks=["otb/Pan1"], pairs_per_epoch=8, val_pairs=4, max_gap=3, batch_size=4
    )
    torch.manual_seed(0)
    module = SiamFCPairTraining(
        optimizer=partial(torch.optim.SGD, lr=1e-2, momentum=0.9),
        backbone={"name": "siamfc_alexnet", "weights": "random"},
    )
    trainer = pl.Trainer(
        default_root_dir=tmp_path / "run",
        max_epochs=6,
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    before = trainer.validate(module, datamodule=dm, verbose=False)[0]["val/loss"]
    trainer.fit(module, datamodule=dm)
    after = trainer.validate(module, datamodule=dm, verbose=False)[0]["val/loss"]
    assert after < before, (before, after)
    exported = tmp_path / "run" / EXPORT_NAME
    loaded = build_siamfc_network("siamfc_alexnet", str(exported))
    assert torch.equal(loaded.adjust.weight, module.network.adjust.weight)
