import pytest
import torch

from zoo.workflow.benchmarks import safont


def test_training_rate_times_a_real_gan_step_and_reports_images_per_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timed call must be a real training step (the generator's weights move) and the rate batch / seconds."""
    from lightning_modules.safont import FontGan

    moved = []
    real_step = FontGan.training_step

    def watched_step(self: FontGan, batch: dict, batch_idx: int) -> None:
        before = [p.detach().clone() for p in self.generator.parameters()]
        real_step(self, batch, batch_idx)
        moved.append(
            any(not torch.equal(a, p) for a, p in zip(before, self.generator.parameters(), strict=True))
        )

    def fake_timer(call, device, warmup, repeats) -> float:
        call()
        return 0.5  # seconds per step

    monkeypatch.setattr(FontGan, "training_step", watched_step)
    monkeypatch.setattr(safont, "time_per_call", fake_timer)
    result = safont.training_rate("f512", "efficient", "cpu", batch=2, steps=1)
    assert moved == [True]
    assert result["images_per_s"] == pytest.approx(2 / 0.5) and result["peak_memory_mib"] > 0
