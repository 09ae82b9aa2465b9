import pytest
import torch

from zoo.workflow.benchmarks import siamfc


def test_the_synthetic_sequence_moves_its_square_and_starts_on_it() -> None:
    frames, box = siamfc.synthetic_frames(3, height=360, width=480)
    assert frames.shape == (3, 3, 360, 480) and 0 <= frames.min() and frames.max() <= 1
    cx, cy, w, h = box.tolist()
    square = frames[0, :, int(cy - h / 2) : int(cy + h / 2), int(cx - w / 2) : int(cx + w / 2)]
    assert square.min() >= 0.5  # the first box covers the bright patch, nothing of the background
    assert not torch.equal(frames[0], frames[1])


@pytest.mark.parametrize(
    ("mode", "updates"), [("no_ot", 0.0), ("ot_gate_closed", 0.0), ("ot_every_frame", 1.0)]
)
def test_each_mode_runs_the_online_work_it_names(mode: str, updates: float) -> None:
    result = siamfc.tracking_rate("siamfc_alexnet", mode, frames=5)
    assert result["fps"] > 0 and result["updates"] == updates
    if mode == "no_ot":
        assert 0 < result["backbone_s"] < 10 * result["frame_s"]
