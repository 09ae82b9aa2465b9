import torch

from zoo.workflow.benchmarks import fpca


def test_benchmark_builds_the_configured_models_and_times_both_modes() -> None:
    model = fpca.build("rpca")
    noisy, sigma = fpca.noisy_batch(size=32, count=2)
    assert noisy.shape == (2, 32, 32) and torch.equal(sigma, torch.full((2,), 0.05))
    for batched in (True, False):
        assert fpca.seconds_per_image(model, noisy, sigma, batched) > 0
    assert fpca.build("fpca").grouper is not None  # FPCA is benchmarked on patch groups, as configured
