"""Logger fixes and helpers that every paper needs: the CSV logger that survives resumes, and the one way a
module shows a picture (``publish_figure``: saved into the run dir and sent to every image-capable logger)."""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import CSVLogger as LightningCSVLogger

from zoo.io import atomic_write, atomic_write_png

log = logging.getLogger(__name__)


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


def write_figure(path: Path, figure: Any) -> Path:
    """A matplotlib figure (closed afterwards) or an image in [0, 1] ([H, W] or [H, W, 3]) as PNG, atomically."""
    if not hasattr(figure, "savefig"):
        return atomic_write_png(path, figure)
    import matplotlib.pyplot as plt

    try:
        return atomic_write(
            path, lambda handle: figure.savefig(handle, format="png", bbox_inches="tight", dpi=100)
        )
    finally:
        plt.close(figure)


def publish_figure(module: Any, name: str, figure: Any, key: str) -> Path:
    """Save ``figure`` as ``<run dir>/<name>`` and log it under ``key`` to every active image logger."""
    path = write_figure(Path(module.trainer.default_root_dir) / name, figure)
    log_image_file(module.loggers, key, path)
    log.info("%s written to %s", key, path)
    return path
