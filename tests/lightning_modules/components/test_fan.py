"""FAN: methods.md §4's CAM oracles (GAP + FC = CAM mean + bias, LAP κ=1 = GAP, constant feedback
rescales), eq. 5's cell map ⌊i/s⌋, CAM alignment with the input, both feedback readings, parameter count,
gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_modules.components.fan import FAN, PAPER_PARAMETERS
from lightning_modules.components.fan_cam import (
    CamFeedbackStore,
    LargeAveragePooling,
    cell_index,
    class_activation_map,
    upsample_cam,
)
from zoo.errors import UserError


def _images(b: int = 2, c: int = 3, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(b, c, 224, 224, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _fan(seed: int = 0, **kwargs) -> FAN:
    torch.manual_seed(seed)
    return FAN(**kwargs)


def _twin(fan: FAN, **kwargs) -> FAN:
    """A FAN of the same architecture and weights, other attention options."""
    other = FAN(eta=fan.eta, kappa=fan.kappa, in_channels=fan.in_channels, **kwargs)
    other.load_state_dict(fan.state_dict(), strict=False)  # a store is the only extra state
    return other.train(fan.training)


def test_lap_with_kappa_one_is_gap_and_cells_are_means() -> None:
    x = torch.randn(3, 5, 14, 14, dtype=torch.float64)
    torch.testing.assert_close(LargeAveragePooling(14, 1)(x), x.mean(dim=(2, 3), keepdim=True))
    torch.testing.assert_close(LargeAveragePooling(14, 1)(x), F.adaptive_avg_pool2d(x, 1))
    cells = LargeAveragePooling(14, 2)(x)  # s = 7
    assert cells.shape == (3, 5, 2, 2)
    torch.testing.assert_close(cells[:, :, 1, 0], x[:, :, 7:, :7].mean(dim=(2, 3)))


@pytest.mark.parametrize("attention", [False, True])
def test_gap_fc_logit_is_the_cam_mean_plus_bias(attention: bool) -> None:
    fan = _fan(eta=14, kappa=1, attention=attention).double().eval()
    out = fan.forward_with_cam(_images(dtype=torch.float64))
    bias = fan.classifier.bias
    # eq. 4: the logit is the sum of f(x, y, i) = eq. 5's M, i.e. the mean of Zhou's CAM A = η² M, plus b
    torch.testing.assert_close(out.logits, out.cam.sum(dim=(2, 3)) + bias)
    attended = out.lfm * out.attention if attention else out.lfm
    raw = class_activation_map(attended, fan.classifier.weight, 1, "raw")
    torch.testing.assert_close(out.logits, raw.mean(dim=(2, 3)) + bias)


@pytest.mark.parametrize(("eta", "kappa"), [(14, 2), (28, 4), (28, 7), (56, 8)])
def test_lap_logit_is_kappa_squared_times_the_eq5_cam_sum_plus_bias(eta: int, kappa: int) -> None:
    fan = _fan(eta=eta, kappa=kappa).double().eval()
    out = fan.forward_with_cam(_images(dtype=torch.float64))
    torch.testing.assert_close(out.logits, kappa**2 * out.cam.sum(dim=(2, 3)) + fan.classifier.bias)


def test_cam_cell_map_is_floor_i_over_s_not_floor_i_over_kappa() -> None:
    eta, kappa, s = 12, 3, 4
    assert cell_index(eta, kappa).tolist() == [i // s for i in range(eta)] == [0] * 4 + [1] * 4 + [2] * 4
    generator = torch.Generator().manual_seed(1)
    lfm = torch.randn(2, 5, eta, eta, generator=generator, dtype=torch.float64)
    weight = torch.randn(
        3, 5 * kappa**2, generator=generator, dtype=torch.float64
    )  # a distinct WTFM per cell
    cam = class_activation_map(lfm, weight, kappa, "raw")
    wtfm = weight.view(3, 5, kappa, kappa)
    for i in range(eta):
        for j in range(eta):
            expected = torch.einsum("bc,kc->bk", lfm[:, :, i, j], wtfm[:, :, i // s, j // s])
            torch.testing.assert_close(cam[:, :, i, j], expected)
    torch.testing.assert_close(class_activation_map(lfm, weight, kappa, "eq5"), cam / eta**2)
    # ⌊i/κ⌋ would reach cell 3 of 3 at i = 9: it cannot index a κ × κ WTFM
    assert max(i // kappa for i in range(eta)) >= kappa
    minmax = class_activation_map(lfm, weight, kappa, "minmax")
    assert float(minmax.amin()) == pytest.approx(0.0) and float(minmax.amax()) == pytest.approx(1.0)


def test_upsampling_keeps_each_cam_pixel_centred_on_its_block() -> None:
    eta, size, i0, j0 = 28, 224, 10, 17
    cam = torch.zeros(1, 1, eta, eta)
    cam[0, 0, i0, j0] = 1.0
    nearest = upsample_cam(cam, size, "nearest")
    assert nearest.shape == (1, 1, size, size)
    assert torch.equal(nearest[0, 0].nonzero().amin(0), torch.tensor([i0 * 8, j0 * 8]))
    assert torch.equal(nearest[0, 0].nonzero().amax(0), torch.tensor([i0 * 8 + 7, j0 * 8 + 7]))
    bilinear = upsample_cam(cam, size, "bilinear")[0, 0]
    peak = (bilinear == bilinear.max()).nonzero()
    # LFM pixel i sits at input coordinate (i + 1/2) R - 1/2: between the two middle pixels of its block
    assert peak[:, 0].unique().tolist() == [i0 * 8 + 3, i0 * 8 + 4]
    assert peak[:, 1].unique().tolist() == [j0 * 8 + 3, j0 * 8 + 4]


@pytest.mark.parametrize(
    ("eta", "kappa", "mode"), [(28, 1, "bilinear"), (28, 1, "nearest"), (56, 2, "bilinear")]
)
def test_a_localised_stimulus_peaks_the_cam_at_its_location(eta: int, kappa: int, mode: str) -> None:
    fan = _fan(eta=eta, kappa=kappa, in_channels=1, attention=False, cam_upsample=mode).eval()
    with (
        torch.no_grad()
    ):  # symmetric, positive filters and WTFM: the response is a bump centred on the stimulus
        for module in fan.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.fill_(1.0 / module.weight[0].numel())
        fan.classifier.weight.fill_(1.0)
    r = 224 // eta
    i0, j0 = 9, 19  # the LFM cell of the stimulus
    image = torch.zeros(1, 1, 224, 224)
    image[0, 0, i0 * r : (i0 + 1) * r, j0 * r : (j0 + 1) * r] = 1.0
    with torch.no_grad():
        out = fan.forward_with_cam(image)
    assert divmod(int(out.cam[0, 1].argmax()), eta) == (i0, j0)
    at_input = fan.cam_at_input(out.cam)
    assert at_input.shape == (1, 2, 224, 224)
    y, x = divmod(int(at_input[0, 1].argmax()), 224)
    assert i0 * r <= y < (i0 + 1) * r and j0 * r <= x < (j0 + 1) * r


def test_constant_cam_feedback_only_rescales_the_features() -> None:
    fan = _fan(eta=14, kappa=2, reading="previous_epoch", store_size=4).double().train()
    plain = _twin(fan, attention=False).double()
    images, index, m = _images(dtype=torch.float64), torch.tensor([0, 3]), 0.7
    fan.store.write(index, torch.full((2, 14, 14), m), epoch=0)
    out, ref = fan.forward_with_cam(images, index, epoch=1), plain.forward_with_cam(images)
    gate, bias = torch.sigmoid(torch.tensor(m, dtype=torch.float64)), fan.classifier.bias
    torch.testing.assert_close(out.logits - bias, gate * (ref.logits - bias))
    torch.testing.assert_close(out.cam, gate * ref.cam)


def test_previous_epoch_feedback_applies_only_from_the_second_epoch_and_lags_two_pass() -> None:
    fan = _fan(eta=7, kappa=1, reading="previous_epoch", store_size=6).double().train()
    plain, two_pass = _twin(fan, attention=False).double(), _twin(fan, reading="two_pass").double()
    images, index = _images(dtype=torch.float64), torch.tensor([5, 2])
    with torch.no_grad():
        no_attention, lagged = plain(images), two_pass(images)
        first = fan.forward_with_cam(images, index, epoch=0)
        torch.testing.assert_close(first.logits, no_attention)  # nothing stored yet
        assert torch.equal(first.attention, torch.ones_like(first.attention))
        assert fan.store.written_epoch.tolist() == [-1, -1, 0, -1, -1, 0]
        torch.testing.assert_close(fan(images, index, epoch=0), no_attention)  # same epoch: still its own map
        second = fan.forward_with_cam(images, index, epoch=1)
    assert not torch.allclose(second.logits, no_attention)
    torch.testing.assert_close(second.logits, lagged)  # last epoch's map of the same weights = two_pass
    torch.testing.assert_close(second.attention[:, 0], torch.sigmoid(first.feedback_map))
    assert fan.store.written_epoch.tolist() == [-1, -1, 1, -1, -1, 1]


def test_previous_epoch_reading_in_evaluation_falls_back_and_leaves_the_store_alone() -> None:
    fan = _fan(eta=7, kappa=1, reading="previous_epoch", store_size=3).eval()
    images = _images()
    with torch.no_grad():
        torch.testing.assert_close(fan(images), _twin(fan, reading="two_pass")(images))
        off = _twin(fan, reading="previous_epoch", eval_reading="none", store_size=3)
        torch.testing.assert_close(off(images), _twin(fan, attention=False)(images))
    assert fan.store.written_epoch.tolist() == [-1, -1, -1]
    with pytest.raises(UserError, match="dataset index"):
        fan.train()(images)
    with pytest.raises(UserError, match="outside the feedback store"):
        fan(images, torch.tensor([0, 3]), epoch=0)


def test_two_pass_gates_the_lfm_with_the_sigmoid_of_the_predicted_class_cam() -> None:
    fan = _fan(eta=14, kappa=2).double().eval()
    out = fan.forward_with_cam(_images(dtype=torch.float64))
    predicted = fan.head(out.lfm).argmax(dim=1)
    raw = class_activation_map(out.lfm, fan.classifier.weight, 2, "raw")
    torch.testing.assert_close(out.feedback_map, raw[torch.arange(2), predicted])
    torch.testing.assert_close(out.attention[:, 0], torch.sigmoid(out.feedback_map))
    torch.testing.assert_close(out.logits, fan.head(out.lfm * out.attention))
    fixed = _twin(fan, attention_class=1, attention_relu=True).double().eval()
    fixed_out = fixed.forward_with_cam(_images(dtype=torch.float64))
    torch.testing.assert_close(fixed_out.feedback_map, raw[:, 1].clamp_min(0))


def test_the_printed_eq5_scale_makes_the_attention_a_constant_at_init() -> None:
    """Why ``attention_normalisation`` defaults to Zhou's CAM: with eq. 5's 1/η², sigmoid(M) ≈ 0.5."""
    images = _images(4)
    with torch.no_grad():
        literal = _fan(attention_normalisation="eq5").train().forward_with_cam(images).attention
        raw = _fan(attention_normalisation="raw").train().forward_with_cam(images).attention
    assert float((literal - 0.5).abs().max()) < 1e-3
    assert float(raw.amax() - raw.amin()) > 0.1


@pytest.mark.parametrize(
    "options",
    [
        {"reading": "two_pass"},
        {"reading": "two_pass", "detach_attention": False},
        {"reading": "previous_epoch", "store_size": 4},
    ],
)
def test_gradients_reach_every_parameter(options: dict) -> None:
    fan = _fan(eta=14, kappa=2, in_channels=1, **options).train()
    images, index = _images(c=1), torch.tensor([1, 2])
    if fan.reading == "previous_epoch":
        with torch.no_grad():
            fan(images, index, epoch=0)
    F.cross_entropy(fan(images, index, epoch=1), torch.tensor([0, 1])).backward()
    missing = [name for name, p in fan.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_parameter_count_is_pinned_and_close_to_the_papers() -> None:
    def count(**kwargs) -> int:
        return sum(p.numel() for p in FAN(**kwargs).parameters())

    assert count() == 775_346  # η = 56, κ = 2 (the defaults)
    # moving the pools (η) changes no weight; κ only widens the WTFM (160 κ² weights per class)
    assert {count(eta=eta, kappa=1) for eta in (7, 14, 28, 56, 112)} == {774_386}
    assert count(eta=112, kappa=7) == 774_386 + 2 * 160 * (49 - 1)
    assert count(downsample="late") == 775_346 and count(in_channels=1) == 775_346 - 2 * 16 * 9
    assert abs(count() / PAPER_PARAMETERS - 1) < 0.02


def test_eta_sets_the_number_of_pools_and_the_lfm_size() -> None:
    for downsample in ("early", "late"):
        fan = _fan(eta=28, kappa=2, downsample=downsample).eval()
        pools = [i for i, m in enumerate(fan.features) if isinstance(m, torch.nn.MaxPool2d)]
        assert len(pools) == fan.pools == 3
        with torch.no_grad():
            out = fan.forward_with_cam(_images(1))
        assert out.lfm.shape == (1, 160, 28, 28) and out.cam.shape == (1, 2, 28, 28)
        assert (pools[0] < 10) == (downsample == "early")


def test_bad_settings_are_paragraphs() -> None:
    with pytest.raises(UserError, match="input_size / 2"):
        FAN(eta=50)
    with pytest.raises(UserError, match="divides"):
        FAN(eta=56, kappa=3)
    with pytest.raises(UserError, match="unknown feedback reading"):
        FAN(reading="next_step")
    with pytest.raises(UserError, match="attention_class"):
        FAN(attention_class=2)
    with pytest.raises(UserError, match="expects images"):
        FAN(eta=7, kappa=1)(torch.rand(1, 3, 200, 200))
    with pytest.raises(UserError, match="number of images it is indexed by"):
        CamFeedbackStore(0, 7)
