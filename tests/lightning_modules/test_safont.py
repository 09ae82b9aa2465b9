from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from datamodules.fonts import GlyphPairs
from lightning_modules.components.base import FitKind
from lightning_modules.safont import (
    ATTENTION,
    FontGan,
    GlyphReference,
    PatchDiscriminator,
    SafontGenerator,
    canny_strength,
    edge_loss,
    paragraph_figure,
)
from zoo.errors import UserError
from zoo.loggers import write_figure


@pytest.mark.parametrize("attention", ATTENTION)
def test_generator_and_discriminator_shapes_for_every_attention_position(attention: str) -> None:
    generator, discriminator = SafontGenerator(attention, res_blocks=1), PatchDiscriminator(attention)
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    y = generator(x)
    assert y.shape == x.shape
    assert discriminator(x, torch.tanh(y)).shape == (2, 1, 8, 8)
    blocks = sum(type(m).__name__ == "SelfAttention" for m in generator.modules())
    assert blocks == (0 if attention == "none" else 2)
    in_d = [m.f.in_channels for m in discriminator.modules() if type(m).__name__ == "SelfAttention"]
    assert in_d == ([] if attention == "none" else [128])  # "in the middle of the discriminator"
    follow = PatchDiscriminator(attention, position="follow")
    widths = [m.f.in_channels for m in follow.modules() if type(m).__name__ == "SelfAttention"]
    assert widths == ([] if attention == "none" else [int(attention[1:])])


def test_spectral_norm_wraps_every_discriminator_conv() -> None:
    plain, normed = PatchDiscriminator(spectral_norm=False), PatchDiscriminator(spectral_norm=True)
    convs = [m for m in normed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in plain.modules())
    x = torch.rand(2, 1, 64, 64)
    assert normed(x, x).shape == (2, 1, 8, 8)


def test_pixel_loss_on_tanh_outputs_is_eq5_on_the_rescaled_image() -> None:
    """BCE-with-logits on 2a equals eq. 5's cross-entropy of (tanh(a) + 1)/2 against the target."""
    a, y = torch.randn(100), torch.rand(100)
    image = (torch.tanh(a) + 1) / 2
    expected = -(y * image.log() + (1 - y) * (1 - image).log()).mean()
    torch.testing.assert_close(F.binary_cross_entropy_with_logits(2 * a, y), expected)


def test_canny_of_a_constant_image_is_empty_and_edge_losses_carry_gradients() -> None:
    assert float(canny_strength(torch.full((1, 1, 32, 32), 0.7)).abs().sum()) == 0.0
    target = torch.ones(1, 1, 32, 32)
    target[..., 8:24, 12:20] = 0.0  # a black stroke
    for mode in ("canny", "canny_strength", "sobel", "target_mask"):
        fake = torch.rand(1, 1, 32, 32, requires_grad=True)
        loss = edge_loss(fake, target, mode)
        loss.backward()
        assert float(loss.detach()) > 0 and float(fake.grad.abs().sum()) > 0, mode
    assert float(edge_loss(torch.rand(1, 1, 8, 8), target[..., :8, :8], "none")) == 0.0


@pytest.mark.parametrize(
    ("mode", "reaches_the_gap"),
    [("canny", True), ("target_mask", True), ("canny_strength", False), ("sobel", False)],
)
def test_a_missing_half_stroke_gets_a_gradient_from_the_default_edge_loss(
    mode: str, reaches_the_gap: bool
) -> None:
    """The output has the upper half of the target's stroke and blank paper below: only readings that compare
    something linear in the image (gradients, pixels) can push ink into the gap (the random-noise test above has
    edges everywhere and cannot see this)."""
    target = torch.ones(1, 1, 32, 32)
    target[..., 6:26, 12:20] = 0.0  # a black stroke
    fake = target.clone()
    fake[..., 16:26, 12:20] = 1.0  # its lower half is missing
    fake.requires_grad_(True)
    edge_loss(fake, target, mode).backward()
    gap = fake.grad[..., 20:24, 10:22].abs().sum()  # well below the remaining half (kernels reach ~3 px)
    assert (float(gap) > 1e-3) == reaches_the_gap, (mode, float(gap))


def small_gan(**kwargs) -> FontGan:
    adam = functools.partial(torch.optim.Adam, lr=1e-3)
    return FontGan(res_blocks=1, optimizer_g=adam, optimizer_d=adam, **kwargs)


@pytest.mark.parametrize("generator", ["safont", "unet"])
def test_one_training_step_updates_both_networks(generator: str) -> None:
    model = small_gan(generator=generator)
    opt_g, opt_d = model.configure_optimizers()
    model.optimizers = lambda: (opt_g, opt_d)  # what Lightning hands a manual-optimisation step
    model.manual_backward = lambda loss: loss.backward()
    model.log = model.log_dict = lambda *args, **kwargs: None
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    batch = {"source": torch.rand(2, 1, 64, 64), "target": torch.rand(2, 1, 64, 64)}
    model.training_step(batch, 0)
    changed = {name.split(".")[0] for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {"generator", "discriminator"}


def test_paragraph_figure_mixes_generated_and_real_glyphs(tmp_path: Path) -> None:
    glyphs = torch.rand(2, 64, 64).mul(255).byte().numpy()
    data = SimpleNamespace(
        train_set=GlyphPairs(glyphs, glyphs, ["天", "街"]), test_set=GlyphPairs(glyphs, glyphs, ["小", "雨"])
    )
    path = write_figure(tmp_path / "paragraph.png", paragraph_figure(small_gan(), data))
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(UserError, match="model.attention"):
        FontGan(attention="f32")
    with pytest.raises(UserError, match="model.edge_loss"):
        FontGan(edge_loss="laplace")


def test_warmup_epochs_train_the_generator_alone_without_the_adversarial_term(monkeypatch) -> None:
    model = small_gan(adversarial_warmup_epochs=1)
    opt_g, opt_d = model.configure_optimizers()
    model.optimizers = lambda: (opt_g, opt_d)
    model.manual_backward = lambda loss: loss.backward()
    logged: dict = {}
    model.log = lambda name, value, **kwargs: logged.__setitem__(name, value)
    model.log_dict = lambda values, **kwargs: logged.update(values)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    batch = {"source": torch.rand(2, 1, 64, 64), "target": torch.rand(2, 1, 64, 64)}
    monkeypatch.setattr(FontGan, "current_epoch", property(lambda self: 0))  # Lightning's counter, no Trainer
    assert model.warming_up
    model.training_step(batch, 0)
    changed = {name.split(".")[0] for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {"generator"}
    assert float(logged["train/g_adv"]) == 0.0 and "train/d_loss" not in logged


def record_log(logged: dict, name: str, value: torch.Tensor, **kwargs) -> None:
    logged[name] = float(value)


def test_glyph_references_score_blank_mean_and_copied_glyphs(monkeypatch) -> None:
    ink = torch.zeros(1, 64, 64)
    ink[:, 16:48, 30:34] = 1.0  # a vertical stroke (background 1 = white paper, ink 0)
    targets = torch.stack([1 - ink, torch.ones(1, 64, 64)])  # one glyph, one blank
    batch = {"source": targets.clone(), "target": targets}
    # a black and a white training glyph: their mean is a uniform 0.5 grey
    train_targets = torch.stack([torch.zeros(1, 64, 64), torch.ones(1, 64, 64)])
    trainer = SimpleNamespace(datamodule=SimpleNamespace(train_set=SimpleNamespace(target=train_targets)))
    monkeypatch.setattr(GlyphReference, "trainer", property(lambda self: trainer))
    scores = {}
    for reference in ("blank", "mean_glyph", "source_copy"):
        model = GlyphReference(reference)
        scores[reference] = logged = {}
        model.log = functools.partial(record_log, logged)
        model.on_test_start()
        model.test_step(batch, 0)
    assert GlyphReference().fit_kind is FitKind.SOLVER
    assert scores["source_copy"]["test/rmse"] == 0.0 and scores["source_copy"]["test/apdr"] == 0.0
    stroke = 32 * 4 / 64**2  # the fraction of ink pixels in the first glyph
    assert scores["blank"]["test/rmse"] == pytest.approx((255 * stroke**0.5 + 0) / 2, rel=1e-5)
    assert scores["blank"]["test/apdr"] == pytest.approx(1.0 / 2)  # all of the first glyph's ink is missing
    assert scores["mean_glyph"]["test/rmse"] == pytest.approx(127.5, rel=1e-5)  # 0.5 off everywhere
    with pytest.raises(UserError, match="model.reference"):
        GlyphReference("noise")
