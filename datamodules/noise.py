"""Additive noise models of the FPCA experiments (§4.1, following FRPCA / MoG-RPCA), drawn from a torch Generator.

Images are grey in [0, 1]; amplitudes are on that scale. Each model also reports its standard deviation (the
root mean noise power), which an "oracle" noise level uses and which the experiment records state.

- ``sparse``: a ``sparse_fraction`` (20 %) of the pixels gets U[−a, a] (a = 0.2), the rest is untouched.
- ``gaussian``: N(0, σ²), σ = 0.05 everywhere.
- ``mixed_gaussian``: ``mixed_fraction`` (40 %) of the pixels N(0, 0.1²), the rest N(0, 0.05²).
- ``mixed_complex``: sparse noise, then Gaussian noise on top ("sparse followed by Gaussian", §4.1).
- ``mog_matrix``: MoG-RPCA's synthetic "complex noise" (Zhao et al. 2014): 10 % U[−25, 25], 20 % N(0, 1),
  70 % N(0, 0.01) (0.01 read as the variance), for the rank-5 matrix protocol, which is not an image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from datamodules import checks
from zoo.errors import check_choice

NOISE_TYPES = ("sparse", "gaussian", "mixed_gaussian", "mixed_complex", "mog_matrix", "none")


@dataclass(frozen=True)
class NoiseModel:
    """One of ``NOISE_TYPES`` with its parameters (config ``data.noise``)."""

    kind: str = "gaussian"
    sparse_fraction: float = 0.2
    sparse_amplitude: float = 0.2
    sigma: float = 0.05
    mixed_fraction: float = 0.4
    mixed_sigma: float = 0.1

    def __post_init__(self) -> None:
        check_choice(self.kind, NOISE_TYPES, "data.noise.kind")
        # checked, not converted: the values' repr seeds the noise draws, so 0 and 0.0 must stay as given
        for name in ("sparse_fraction", "mixed_fraction"):
            checks.real(getattr(self, name), f"data.noise.{name}", "e.g. 0.2", low=0, high=1, high_open=False)
        for name in ("sparse_amplitude", "sigma", "mixed_sigma"):
            checks.real(getattr(self, name), f"data.noise.{name}", "e.g. 0.05", low=0, high=math.inf)

    @property
    def std(self) -> float:
        """√E[n²] of one entry: what a known-noise-level (oracle) denoiser is told."""
        sparse_power = self.sparse_fraction * self.sparse_amplitude**2 / 3.0
        mixed_power = self.mixed_fraction * self.mixed_sigma**2 + (1 - self.mixed_fraction) * self.sigma**2
        power = {
            "sparse": sparse_power,
            "gaussian": self.sigma**2,
            "mixed_gaussian": mixed_power,
            "mixed_complex": sparse_power + self.sigma**2,
            "mog_matrix": 0.1 * 50.0**2 / 12.0 + 0.2 * 1.0 + 0.7 * 0.01,
            "none": 0.0,
        }[self.kind]
        return math.sqrt(power)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """A noise tensor of ``shape`` (float64 on the CPU, so draws do not depend on device or dtype)."""
        draw = {
            "sparse": lambda: self._sparse(shape, generator),
            "gaussian": lambda: self.sigma * _normal(shape, generator),
            "mixed_gaussian": lambda: self._mixed_gaussian(shape, generator),
            "mixed_complex": lambda: self._sparse(shape, generator) + self.sigma * _normal(shape, generator),
            "mog_matrix": lambda: _mog_matrix(shape, generator),
            "none": lambda: torch.zeros(shape, dtype=torch.float64),
        }[self.kind]
        return draw()

    def _sparse(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        mask = _uniform(shape, generator) < self.sparse_fraction
        values = (2.0 * _uniform(shape, generator) - 1.0) * self.sparse_amplitude
        return values * mask

    def _mixed_gaussian(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        strong = _uniform(shape, generator) < self.mixed_fraction
        sigma = torch.where(strong, self.mixed_sigma, self.sigma)
        return sigma * _normal(shape, generator)


def _uniform(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def _normal(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _mog_matrix(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    component = _uniform(shape, generator)
    outliers = (2.0 * _uniform(shape, generator) - 1.0) * 25.0
    normal = _normal(shape, generator)
    return torch.where(component < 0.1, outliers, torch.where(component < 0.3, normal, 0.1 * normal))
