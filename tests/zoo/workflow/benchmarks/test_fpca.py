import time

import torch

from zoo.workflow.benchmarks import fpca


class SleepyDenoiser:
    """Takes 20 ms per image whichever way it is called, so both modes must report 20 ms per image."""

    calls: list[int] = []

    def denoise(self, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls.append(noisy.shape[0])
        time.sleep(0.02 * noisy.shape[0])
        return noisy


def test_benchmark_builds_the_configured_models_and_times_per_image_in_both_modes() -> None:
    model = fpca.build("rpca")
    noisy, sigma = fpca.noisy_batch(size=32, count=2)
    assert noisy.shape == (2, 32, 32) and torch.equal(sigma, torch.full((2,), 0.05))
    assert fpca.build("fpca").grouper is not None  # FPCA is benchmarked on patch groups, as configured
    sleepy = SleepyDenoiser()
    for batched, calls in ((True, [2]), (False, [1, 1])):
        sleepy.calls.clear()
        seconds = fpca.seconds_per_image(sleepy, noisy, sigma, batched)
        assert sleepy.calls == calls and 0.02 <= seconds < 0.04, (batched, seconds)
    assert fpca.seconds_per_image(model, noisy, sigma, batched=True) > 0  # the real solver runs too
