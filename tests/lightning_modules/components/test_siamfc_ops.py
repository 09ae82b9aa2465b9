"""SiamFC's tensor functions against the oracles of methods.md §6 and brute-force references."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.components import siamfc_ops as ops
from zoo.errors import UserError


def test_cross_correlation_matches_a_brute_force_sliding_sum() -> None:
    g = torch.Generator().manual_seed(0)
    z, x = torch.randn(2, 4, 6, 6, generator=g), torch.randn(6, 4, 22, 22, generator=g)  # 3 maps per exemplar
    out = ops.cross_correlation(z, x, out_scale=1.0)
    assert out.shape == (6, 1, 17, 17)
    for i in (0, 4):
        zi = z[i // 3]
        ref = torch.stack(
            [torch.stack([(x[i, :, u : u + 6, v : v + 6] * zi).sum() for v in range(17)]) for u in range(17)]
        )
        torch.testing.assert_close(out[i, 0], ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ops.cross_correlation(z, x), out * 0.001)


def test_crop_of_a_box_inside_the_frame_is_the_box_and_outside_is_the_mean_colour() -> None:
    image = torch.arange(3 * 40 * 50, dtype=torch.float32).view(3, 40, 50) / 6000
    crop = ops.crop_and_resize(image, torch.tensor([[24.5, 19.5]]), torch.tensor([10.0]), 10)
    torch.testing.assert_close(crop[0], image[:, 15:25, 20:30])  # same size: the pixels themselves
    far = ops.crop_and_resize(image, torch.tensor([[-100.0, -100.0]]), torch.tensor([8.0]), 4)
    torch.testing.assert_close(far[0], image.mean(dim=(1, 2), keepdim=True).expand(3, 4, 4))


def test_diamond_labels_have_thirteen_positives_around_the_centre() -> None:
    labels = ops.diamond_labels(17, 16.0, 8)
    assert labels.sum() == 13 and labels[8, 8] == 1 and labels[8, 10] == 1 and labels[9, 9] == 1
    assert labels[8, 11] == 0 and labels[10, 9] == 0


def test_balanced_loss_weighs_positives_and_negatives_equally() -> None:
    labels = ops.diamond_labels()
    logits = torch.zeros(2, 1, 17, 17)
    # at logit 0 every cell costs log 2: half the weight on 13 positives, half on 276 negatives
    torch.testing.assert_close(
        ops.balanced_logistic_loss(logits, labels), torch.tensor(0.6931), atol=1e-4, rtol=0
    )
    confident = torch.where(labels.bool(), 10.0, -10.0).expand(2, 1, 17, 17)
    assert ops.balanced_logistic_loss(confident, labels) < 1e-3


def test_kl_of_a_map_with_itself_is_zero_and_positive_otherwise() -> None:
    p = ops.normalise_map(torch.randn(3, 17, 17), "softmax")
    torch.testing.assert_close(ops.kl_divergence(p, p), torch.zeros(3), atol=1e-6, rtol=0)
    q = ops.normalise_map(torch.randn(3, 17, 17), "shift_sum")
    assert (ops.kl_divergence(p, q) > 0).all()
    torch.testing.assert_close(q.flatten(1).sum(1), torch.ones(3))
    loss = torch.tensor([0.5, 1.5])
    assert ops.thresholded_loss(loss, 1.0).tolist() == [0.0, 1.5]  # eq. 5, T_l = 1


def _peak(width: float) -> torch.Tensor:
    r = torch.arange(17.0) - 8
    return torch.exp(-(r.view(-1, 1) ** 2 + r.view(1, -1) ** 2) / (2 * width**2))


def test_psr_of_a_sharp_peak_exceeds_that_of_a_broad_one() -> None:
    noise = 0.01 * torch.randn(17, 17, generator=torch.Generator().manual_seed(0))
    assert ops.peak_to_sidelobe(_peak(1.0) + noise, 5) > ops.peak_to_sidelobe(_peak(4.0) + noise, 5)
    with pytest.raises(UserError, match="sidelobe"):
        ops.peak_to_sidelobe(_peak(1.0), 17)


def test_jcpp_limits_and_update_rate() -> None:
    noise = 0.01 * torch.randn(17, 17, generator=torch.Generator().manual_seed(1))
    template, current = _peak(1.0) + noise, 0.5 * _peak(3.0) + noise
    peak_r = min(1.0, float(current.max() / template.max()))
    psr_r = min(1.0, float(ops.peak_to_sidelobe(current, 5) / ops.peak_to_sidelobe(template, 5)))
    assert float(ops.jcpp(current, template, 1.0, 5)) == pytest.approx(peak_r)
    assert float(ops.jcpp(current, template, 0.0, 5)) == pytest.approx(psr_r)
    assert float(ops.jcpp(template, template, 0.5, 5)) == pytest.approx(1.0)
    assert ops.update_rate(1.0, 0.7) == 1.0 and ops.update_rate(0.7, 0.7) == 0.0
    assert ops.update_rate(0.85, 0.7) == pytest.approx(0.5)
    with pytest.raises(UserError):
        ops.jcpp(current, template, 1.5)


def test_scales_and_displacement_geometry() -> None:
    torch.testing.assert_close(ops.scale_factors(3, 1.0375), torch.tensor([1 / 1.0375, 1.0, 1.0375]))
    centre = torch.tensor([135.5, 135.5])
    # the centre of the upsampled map is no displacement; 16 upsampled cells = 1 response cell = 8 input px
    peak = torch.tensor([135.5 + 16, 135.5])  # one response cell down
    shift = ops.displacement_in_frame(peak, 272, 8, 16, 255, 510.0)
    torch.testing.assert_close(shift, torch.tensor([0.0, 16.0]))
    torch.testing.assert_close(ops.displacement_in_frame(centre, 272, 8, 16, 255, 255.0), torch.zeros(2))
