"""OpenCV's CSRT and KCF trackers as baselines beside SiamFC, scored by the same OPE code.

Not in the SiamFC online-training paper: they are what a practitioner runs on a CPU today (``cv2.TrackerCSRT``,
``cv2.TrackerKCF`` of ``opencv-contrib-python-headless``; OpenCV's build without the contrib modules lacks both).
Nothing is learnt or loaded: hand-crafted features (HOG, colour names) and correlation filters fitted per frame,
so the module is a ``SolverModule`` and its run record's budget names the OpenCV version instead of weights.
Streaming, timing, scoring and outputs are ``OPETrackingModule``'s, exactly as for SiamFC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lightning_modules.components.base import SolverModule
from lightning_modules.components.tracking_evaluation import OPETrackingModule
from zoo.errors import UserError, check_choice

ALGORITHMS = {"csrt": "CSRT", "kcf": "KCF"}
INSTALL_FIX = (
    "pip uninstall -y opencv-python opencv-python-headless opencv-contrib-python && "
    "pip install opencv-contrib-python-headless (the OpenCV wheels share the cv2 folder: keep only this one)"
)


def _opencv() -> Any:
    """``cv2``, or a UserError saying which package provides it."""
    try:
        import cv2
    except ImportError as error:
        raise UserError(
            f"OpenCV (cv2) cannot be imported: {error}", where="model.algorithm", fix=INSTALL_FIX
        ) from None
    return cv2


def tracker_factory(algorithm: str) -> tuple[Any, Any]:
    """OpenCV's ``Tracker<NAME>_create`` and ``Tracker<NAME>_Params`` for ``csrt`` / ``kcf``.

    Both live in the contrib modules; a plain ``opencv-python(-headless)`` build (5.1 measured) has MIL, Nano,
    Vit and DaSiamRPN only, so their absence is a paragraph naming the install, not an AttributeError.
    """
    check_choice(algorithm, tuple(ALGORITHMS), "model.algorithm", "OpenCV tracker")
    cv2 = _opencv()
    name = ALGORITHMS[algorithm]
    create, params = getattr(cv2, f"Tracker{name}_create", None), getattr(cv2, f"Tracker{name}_Params", None)
    if create is None or params is None:
        raise UserError(
            f"this OpenCV ({cv2.__version__}, {cv2.__file__}) has no Tracker{name}: it is a build without the "
            "contrib modules",
            where="model.algorithm",
            fix=INSTALL_FIX,
        )
    return create, params


class OpenCVTracker(OPETrackingModule, SolverModule):
    """OpenCV's CSRT or KCF tracker, initialised with each sequence's first ground-truth box.

    Boxes: our boxes are OTB's, as in the annotation files: (x, y, w, h) with the top-left pixel (x, y) counted
    from 1; OpenCV's ``Rect`` counts pixels from 0 and takes integers. So ``start`` initialises OpenCV with
    ``(round(x) - 1, round(y) - 1, round(w), round(h))`` and ``track`` returns OpenCV's ``(x, y, w, h)`` plus 1 on
    x and y; an integer box survives the round trip (``otb_to_opencv`` / ``opencv_to_otb``).

    Failures: when OpenCV's ``update`` reports the target lost, the previous box is kept. OTB's one-pass
    protocol scores a box on every frame (no re-initialisation), so a lost target has to be scored somewhere;
    the share of such frames is logged as ``test/update_failure_rate`` so the fallback is never silent.

    ``params``: attributes of OpenCV's ``Tracker<NAME>_Params`` (e.g. ``{padding: 3.0}`` for CSRT,
    ``{detect_thresh: 0.5}`` for KCF); unknown keys or wrong types are a UserError naming the key.
    """

    def __init__(
        self,
        algorithm: str = "csrt",
        params: Mapping[str, Any] | None = None,
        protocol: str = "got10k",
        overlay_frames: int = 6,
        **solver: Any,
    ) -> None:
        super().__init__(protocol=protocol, overlay_frames=overlay_frames, **solver)
        self.save_hyperparameters(logger=False)
        self.create, params_type = tracker_factory(algorithm)
        self.algorithm = algorithm
        self.params = _set_params(params_type(), dict(params or {}), ALGORITHMS[algorithm])
        self.opencv_version = str(_opencv().__version__)
        self.opencv: Any = None  # the running tracker, one per sequence
        self.previous = np.zeros(4)
        self.failures = 0

    @property
    def solver_budget(self) -> str:
        return f"no training: OpenCV {ALGORITHMS[self.algorithm]} (opencv {self.opencv_version})"

    @property
    def weights_description(self) -> str:
        return f"none (OpenCV {ALGORITHMS[self.algorithm]}, opencv {self.opencv_version})"

    @property
    def tracker_label(self) -> str:
        return f"OpenCV {ALGORITHMS[self.algorithm]}"

    def on_test_epoch_start(self) -> None:
        super().on_test_epoch_start()
        self.failures = 0

    def prepare(self, frame: torch.Tensor) -> np.ndarray:
        """uint8 CHW RGB tensor → contiguous uint8 HWC BGR array (OpenCV's channel order)."""
        return np.ascontiguousarray(frame.permute(1, 2, 0).cpu().numpy()[:, :, ::-1])

    def start(self, frame: np.ndarray, box: torch.Tensor) -> None:
        self.opencv = self.create(self.params)
        self.previous = box.detach().cpu().numpy().astype(np.float64)
        self.opencv.init(frame, otb_to_opencv(self.previous))

    def track(self, frame: np.ndarray) -> np.ndarray:
        found, rect = self.opencv.update(frame)
        if found:
            self.previous = opencv_to_otb(rect)
        else:
            self.failures += 1
        return self.previous

    def tracker_metrics(self) -> dict[str, float]:
        return {"test/update_failure_rate": self.failures / max(self.tracked_frames, 1)}


def otb_to_opencv(box: Any) -> tuple[int, int, int, int]:
    """OTB (x, y, w, h), 1-based → OpenCV ``Rect`` (integers, 0-based); w, h at least 1 pixel."""
    x, y, w, h = (int(np.floor(v + 0.5)) for v in np.asarray(box, dtype=np.float64))
    return x - 1, y - 1, max(w, 1), max(h, 1)


def opencv_to_otb(rect: Any) -> np.ndarray:
    """OpenCV ``Rect`` (0-based) → OTB (x, y, w, h), 1-based."""
    x, y, w, h = (float(v) for v in rect)
    return np.array([x + 1, y + 1, w, h])


def _set_params(params: Any, values: dict[str, Any], name: str) -> Any:
    """Set each configured attribute on OpenCV's params object, naming the key of any that does not fit."""
    known = sorted(k for k in dir(params) if not k.startswith("_"))
    for key, value in values.items():
        if key not in known:
            raise UserError(
                f"OpenCV's Tracker{name}_Params has no parameter {key!r}",
                where=f"model.params.{key}",
                fix=f"use one of {', '.join(known)}",
            )
        try:
            setattr(params, key, value)
        except (TypeError, ValueError) as error:
            raise UserError(
                f"OpenCV refused {key}={value!r}: {error}",
                where=f"model.params.{key}",
                fix=f"the default is {getattr(params, key)!r}; give a value of that type",
            ) from None
    return params
