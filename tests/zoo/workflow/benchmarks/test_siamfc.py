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


def test_the_table_has_a_row_per_backbone_and_the_profile_share(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(module: str, *args: str) -> dict[str, float]:
        mode = args[args.index("--mode") + 1]
        return {
            "fps": {"no_ot": 10.0, "ot_gate_closed": 8.0, "ot_every_frame": 2.0}[mode],
            "updates": 0.0,
            "steps": 4.0,
        } | ({"backbone_s": 0.075, "frame_s": 0.1} if mode == "no_ot" else {})

    published = {}
    monkeypatch.setattr(siamfc, "in_subprocess", fake_run)
    monkeypatch.setattr(siamfc, "publish", lambda name, table, data: published.update(table=table, data=data))
    monkeypatch.setattr(siamfc.torch.cuda, "is_available", lambda: False)
    siamfc.main(frames=6)
    rows = [line for line in published["table"].splitlines() if line.startswith("| cpu |")]
    assert len(rows) == len(siamfc.BACKBONES) and len(published["data"]) == 3 * len(siamfc.BACKBONES)
    assert rows[0] == f"| cpu | {siamfc.BACKBONES[0]} | 10.0 | 8.0 | 2.0 (4.0 steps) | 75% |"
