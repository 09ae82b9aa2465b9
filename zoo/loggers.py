"""Logger fixes and helpers that every paper needs."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import CSVLogger as LightningCSVLogger

from zoo.io import atomic_write


def _header(path: str) -> list[str]:
    with open(path, newline="") as handle:
        return next(csv.reader(handle), [])


class CSVLogger(LightningCSVLogger):
    """Lightning's CSV logger, continuing a ``metrics.csv`` that another process of the same run wrote.

    Why: Lightning's writer deletes an existing file when it starts, and rewrites the header with only the keys
    *it* has seen ("dict contains fields not in fieldnames"). Both happen when a run resumes into its run dir and
    when rank 0 tests after a ``ddp_spawn`` fit (the children wrote the file); the run's history must survive.
    """

    @property
    def experiment(self) -> Any:
        if self._experiment is None:
            path = os.path.join(self.log_dir, "metrics.csv")
            previous = open(path, "rb").read() if os.path.isfile(path) else None
            writer = super().experiment
            if previous:
                atomic_write(path, lambda handle: handle.write(previous))
            return writer
        return super().experiment

    def save(self) -> None:
        writer = self.experiment
        path = getattr(writer, "metrics_file_path", None)  # non-zero ranks get a dummy experiment
        if isinstance(path, str) and os.path.isfile(path):
            # Lightning keeps the header sorted, so the merged key list reproduces the file's column order.
            writer.metrics_keys = sorted(set(writer.metrics_keys) | set(_header(path)))
        super().save()


def log_image_file(loggers: list[Any], key: str, path: Path) -> None:
    """Send a PNG from the run dir to the image-capable loggers (TensorBoard, W&B); CSV has no images."""
    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB"))
    for logger in loggers:
        name = type(logger).__name__
        if name == "TensorBoardLogger":
            logger.experiment.add_image(key, image, dataformats="HWC")
        elif name == "WandbLogger":
            logger.log_image(key=key, images=[str(path)])
