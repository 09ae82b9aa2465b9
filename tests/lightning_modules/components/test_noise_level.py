"""Blind noise levels against the true one: a smooth ramp, and real photographs outside paper10 (BSD68)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.noise import NoiseModel
from lightning_modules.components.noise_level import estimate_noise_sigma
from zoo.errors import UserError


@pytest.mark.parametrize("estimator", ["dct", "wavelet"])
def test_both_estimators_recover_gaussian_sigma_on_a_smooth_image(estimator: str) -> None:
    ramp = torch.linspace(0, 1, 256).repeat(256, 1)
    sigma = torch.tensor([0.02, 0.05, 0.1])
    noise = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(0)) * sigma[:, None, None]
    torch.testing.assert_close(estimate_noise_sigma(ramp + noise, estimator), sigma, rtol=0.05, atol=0)


@pytest.fixture(scope="module")
def photographs(shared_data_dir: Path) -> torch.Tensor:
    """Eight BSD68 test photographs (none of them in paper10), grey in [0, 1], cropped to 320×320."""
    files = sorted((shared_data_dir / "images" / "BSD68").glob("*.png"))[:8]
    if len(files) < 8:
        pytest.skip("BSD68 not found under DATA_DIR/images")
    grey = [np.asarray(Image.open(f).convert("L"), dtype=np.float64)[:320, :320] / 255.0 for f in files]
    return torch.from_numpy(np.stack(grey))


@pytest.mark.parametrize("kind", ["gaussian", "sparse", "mixed_gaussian", "mixed_complex"])
def test_the_dct_estimate_reads_every_noise_model_at_its_power_on_photographs(
    photographs: torch.Tensor, kind: str
) -> None:
    model = NoiseModel(kind=kind)
    noisy = photographs + model.sample(tuple(photographs.shape), torch.Generator().manual_seed(1))
    ratio = estimate_noise_sigma(noisy, "dct") / model.std
    assert float(ratio.min()) > 0.93 and float(ratio.max()) < 1.2, ratio
    assert abs(float(ratio.mean()) - 1.0) < 0.08, ratio


def test_the_wavelet_estimate_under_reads_sparse_noise(photographs: torch.Tensor) -> None:
    """Why it is no longer the default: most Haar HH coefficients of sparse noise hold no noise."""
    model = NoiseModel(kind="sparse")
    noisy = photographs + model.sample(tuple(photographs.shape), torch.Generator().manual_seed(1))
    assert float((estimate_noise_sigma(noisy, "wavelet") / model.std).mean()) < 0.9


def test_blocks_that_do_not_fit_are_a_user_error() -> None:
    with pytest.raises(UserError, match="noise_block"):
        estimate_noise_sigma(torch.rand(2, 12, 12), "dct", block=16)
    with pytest.raises(UserError, match="noise_estimator"):
        estimate_noise_sigma(torch.rand(2, 32, 32), "mad")
