from __future__ import annotations

import math

import pytest
import torch

from datamodules.noise import NOISE_TYPES, NoiseModel
from zoo.errors import UserError

SHAPE = (400, 500)


def draw(kind: str, seed: int = 0) -> torch.Tensor:
    return NoiseModel(kind).sample(SHAPE, torch.Generator().manual_seed(seed))


def test_sparse_noise_hits_a_fifth_of_the_pixels_uniformly_in_range() -> None:
    noise = draw("sparse")
    hit = noise != 0
    assert float(hit.double().mean()) == pytest.approx(0.2, abs=0.005)
    assert float(noise.abs().max()) <= 0.2
    assert float(noise[hit].var()) == pytest.approx(0.2**2 / 3, rel=0.03)  # U[−a, a]: a²/3


def test_gaussian_noise_has_sigma_005() -> None:
    noise = draw("gaussian")
    assert float(noise.mean()) == pytest.approx(0.0, abs=1e-3)
    assert float(noise.std()) == pytest.approx(0.05, rel=0.01)


def test_mixed_gaussian_is_a_40_60_mixture_of_two_sigmas() -> None:
    noise = draw("mixed_gaussian")
    assert float(noise.std()) == pytest.approx(math.sqrt(0.4 * 0.1**2 + 0.6 * 0.05**2), rel=0.01)
    kurtosis = float((noise**4).mean() / (noise**2).mean() ** 2)
    assert kurtosis > 3.5  # a scale mixture is heavier-tailed than one Gaussian (kurtosis 3)


def test_mixed_complex_adds_gaussian_to_sparse_noise() -> None:
    noise = draw("mixed_complex")
    assert float((noise == 0).double().mean()) == 0.0
    assert float(noise.var()) == pytest.approx(0.2 * 0.2**2 / 3 + 0.05**2, rel=0.03)


def test_mog_matrix_protocol_mixture() -> None:
    noise = draw("mog_matrix")
    assert float((noise.abs() > 5).double().mean()) == pytest.approx(0.1 * 20 / 25, abs=0.005)
    assert float(noise.abs().max()) <= 25.0


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_reported_std_matches_the_draws_and_draws_are_deterministic(kind: str) -> None:
    noise = draw(kind, seed=3)
    assert float(noise.pow(2).mean().sqrt()) == pytest.approx(NoiseModel(kind).std, rel=0.03, abs=1e-12)
    torch.testing.assert_close(noise, draw(kind, seed=3))
    if kind != "none":
        assert not torch.equal(noise, draw(kind, seed=4))


def test_unknown_noise_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="data.noise.kind"):
        NoiseModel("salt")
