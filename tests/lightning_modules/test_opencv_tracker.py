"""OpenCVTracker: CSRT and KCF follow a moving square through the test loop; OTB ↔ OpenCV boxes; lost targets keep
the previous box; bad algorithms, parameters and an OpenCV without the contrib trackers are paragraphs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lightning_modules.components import ope
from lightning_modules.opencv_tracker import OpenCVTracker, opencv_to_otb, otb_to_opencv
from tests.lightning_modules.components.test_tracking_evaluation import (
    datamodule,
    moving_square_sequence,
    run_test_stage,
)
from zoo.errors import UserError


@pytest.mark.parametrize("algorithm", ["csrt", "kcf"])
def test_both_algorithms_follow_a_moving_square(algorithm: str, tmp_path: Path) -> None:
    truth = moving_square_sequence(tmp_path, "Square", 8)
    module = OpenCVTracker(algorithm=algorithm, overlay_frames=2)
    metrics = run_test_stage(module, datamodule(tmp_path, ["Square"]), tmp_path / "run")
    boxes = np.loadtxt(tmp_path / "run" / "boxes" / "Square.txt", delimiter=",")
    assert boxes.shape == (8, 4) and boxes[0].tolist() == truth[0].tolist()
    # the square moved 21 px right, 14 down; the box went with it (KCF's reports one 3.6 px step behind)
    assert ope.centre_error(boxes[-1:], truth[-1:])[0] <= 6.0
    assert ope.box_iou(boxes[-1:], truth[-1:])[0] > 0.5
    assert metrics["test/success_auc"] > 0.6 and metrics["test/precision_20"] == 1.0
    assert metrics["test/update_failure_rate"] == 0.0 and metrics["test/fps"] > 0
    assert module.solver_budget == f"no training: OpenCV {algorithm.upper()} (opencv {cv2.__version__})"
    assert module.weights_description.startswith("none (OpenCV")


def test_boxes_convert_between_otb_and_opencv_pixels() -> None:
    assert otb_to_opencv([1, 1, 24, 24]) == (0, 0, 24, 24)  # OTB's pixel (1, 1) is OpenCV's (0, 0)
    assert otb_to_opencv([121.4, 80.6, 40.5, 0.2]) == (120, 80, 41, 1)
    assert opencv_to_otb((120, 80, 40, 30)).tolist() == [121.0, 81.0, 40.0, 30.0]
    assert opencv_to_otb(otb_to_opencv([7, 9, 20, 10])).tolist() == [7.0, 9.0, 20.0, 10.0]


def test_frames_reach_opencv_as_contiguous_bgr() -> None:
    frame = torch.zeros(3, 4, 5, dtype=torch.uint8)
    frame[0] = 200  # red
    image = OpenCVTracker(algorithm="kcf").prepare(frame)
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8 and image.flags["C_CONTIGUOUS"]
    assert image[0, 0].tolist() == [0, 0, 200]


class Lost:
    """An OpenCV tracker whose update always reports failure."""

    def init(self, frame: np.ndarray, rect: tuple[int, ...]) -> None:
        self.rect = rect

    def update(self, frame: np.ndarray) -> tuple[bool, tuple[int, ...]]:
        return False, (0, 0, 0, 0)


def test_a_lost_target_keeps_the_previous_box_and_is_counted(tmp_path: Path) -> None:
    truth = moving_square_sequence(tmp_path, "Square", 4)
    module = OpenCVTracker(algorithm="csrt", overlay_frames=0)
    module.create = lambda params: Lost()
    metrics = run_test_stage(module, datamodule(tmp_path, ["Square"]), tmp_path / "run")
    boxes = np.loadtxt(tmp_path / "run" / "boxes" / "Square.txt", delimiter=",")
    assert (boxes == truth[0]).all()  # every frame scored with the first box
    assert metrics["test/update_failure_rate"] == 1.0


def test_params_reach_opencv_and_bad_ones_name_their_key() -> None:
    assert OpenCVTracker(algorithm="csrt", params={"padding": 2.5}).params.padding == 2.5
    assert OpenCVTracker(
        algorithm="kcf", params={"detect_thresh": 0.3}
    ).params.detect_thresh == pytest.approx(0.3)
    with pytest.raises(UserError, match="no parameter 'paddin'") as error:
        OpenCVTracker(algorithm="csrt", params={"paddin": 2.5})
    assert error.value.where == "model.params.paddin" and "padding" in error.value.fix
    with pytest.raises(UserError, match="refused padding='wide'") as error:
        OpenCVTracker(algorithm="csrt", params={"padding": "wide"})
    assert error.value.where == "model.params.padding"


def test_an_unknown_algorithm_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown OpenCV tracker 'mosse'") as error:
        OpenCVTracker(algorithm="mosse")
    assert error.value.where == "model.algorithm" and "csrt, kcf" in error.value.fix


def test_an_opencv_without_the_contrib_trackers_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(cv2, "TrackerKCF_create")
    with pytest.raises(UserError, match="has no TrackerKCF") as error:
        OpenCVTracker(algorithm="kcf")
    assert "opencv-contrib-python-headless" in error.value.fix
    OpenCVTracker(algorithm="csrt")  # the other one is still there


def test_an_optimiser_is_refused() -> None:
    with pytest.raises(UserError, match="nothing to train"):
        OpenCVTracker(algorithm="csrt", optimizer=torch.optim.SGD)
