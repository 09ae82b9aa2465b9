"""SAFont (ICONIP 2019): Chinese font transfer by a GAN with self-attention blocks and an edge loss.

Style transfer network (§2.1, Fig. 3): a Content Encoder of Conv-InstanceNorm-ReLU layers (64, 128, 256, 512 channels
at 64², 32², 16², 8²), a self-attention block, a Style Transfer Module of six residual blocks, a second
self-attention block, and a Generator of Deconv-InstanceNorm-ReLU layers with content skip connections (U-Net-style
concatenation of the encoder level of the same size) and Tanh last. ``attention`` = f64 | f128 | f256 | f512 | none
places the pair of blocks at that feature width (Table 2): f512 = after the encoder and after the style module (the
8×8 bottleneck); a lower fN = after the encoder layer of width N and after the generator layer of width N. The
discriminator is pix2pix's conditional PatchGAN (input: source and candidate), Conv-InstanceNorm-ReLU, with one
self-attention block after its layer of the same width.

Losses (§2.3): hinge adversarial (eqs. 6-7); pixel cross-entropy (eq. 5) — the generator's output is Tanh(a), so
(Tanh(a) + 1)/2 = σ(2a) and eq. 5 is BCE-with-logits on 2a against the target in [0, 1], exactly and stably; edge
loss (eq. 4) — Canny is not differentiable, so ``edge_loss=canny`` compares the two images' spatial gradients
(x and y components) on the pixels either image's Canny keeps as edges (the selection carries no gradient; the
gradients are linear in the image, so they do, also where G(x) is flat and y has a stroke edge: the case the
loss exists for, "loses parts of strokes"). Alternatives: ``canny_strength`` (L1 of Canny edge-strength maps, each
image's magnitude on its own edges: a missing stroke has no edges and a flat region's magnitude has zero
gradient, so it gets none), ``sobel`` (L1 of Sobel magnitudes everywhere; zero gradient on flat regions too),
``target_mask`` (L1 of pixels on y's Canny edges), ``none`` (the Fig. 5 ablation).
Total G loss (eq. 8): L_GAN + λ1·L_edge + λ2·L_pix (+ λ_L1·L1 for the pix2pix / zi2zi baseline).
``GlyphReference`` scores trivial non-learned outputs (blank page, mean glyph, source copy) with the same metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.functional.image import structural_similarity_index_measure

from lightning_modules.components.attention import SelfAttention
from lightning_modules.components.base import SolverModule, ZooModule
from lightning_modules.components.gan import (
    APDR_BASES,
    apdr,
    bce_d_loss,
    bce_g_loss,
    hinge_d_loss,
    hinge_g_loss,
    rmse_255,
)
from lightning_modules.components.unet import UNetGenerator
from zoo.errors import check_choice, non_negative_int
from zoo.loggers import publish_figure

log = logging.getLogger(__name__)
ATTENTION = ("none", "f64", "f128", "f256", "f512")
WIDTHS = (64, 128, 256, 512)
EDGE_LOSSES = ("canny", "canny_strength", "sobel", "target_mask", "none")
GENERATORS = ("safont", "unet")
ADVERSARIAL = ("hinge", "bce")
REFERENCES = ("blank", "mean_glyph", "source_copy")
# SAFont Fig. 4: the poem the paper renders with a mix of generated and real characters.
POEM = ("天街小雨润如酥", "草色遥看近却无", "最是一年春好处", "绝胜烟柳满皇都")


def conv_block(c_in: int, c_out: int, kernel: int, stride: int, transpose: bool = False) -> nn.Sequential:
    """Conv-InstanceNorm-ReLU (encoder, discriminator) or Deconv-InstanceNorm-ReLU (generator)."""
    padding = (kernel - stride + 1) // 2 if not transpose else 1
    conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(c_in, c_out, kernel, stride, padding)
    return nn.Sequential(conv, nn.InstanceNorm2d(c_out, affine=True), nn.ReLU())


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _attention_or_identity(width: int, attention: str, kernel: str) -> nn.Module:
    return SelfAttention(width, kernel) if attention == f"f{width}" else nn.Identity()


class SafontGenerator(nn.Module):
    """Source glyph [B, 1, 64, 64] in [−1, 1] → the pre-Tanh target glyph (apply ``torch.tanh`` for the image)."""

    def __init__(self, attention: str = "f512", res_blocks: int = 6, kernel: str = "efficient") -> None:
        super().__init__()
        self.encoder = nn.ModuleList(
            [
                conv_block(1, 64, 7, 1),
                conv_block(64, 128, 4, 2),
                conv_block(128, 256, 4, 2),
                conv_block(256, 512, 4, 2),
            ]
        )
        self.encoder_attention = nn.ModuleList(_attention_or_identity(w, attention, kernel) for w in WIDTHS)
        self.style = nn.Sequential(*(ResBlock(512) for _ in range(res_blocks)))
        self.style_attention = _attention_or_identity(512, attention, kernel)
        # 512@8 → 256@16 (+ skip 256) → 128@32 (+ skip 128) → 64@64 (+ skip 64) → 1
        self.decoder = nn.ModuleList(
            [
                conv_block(512, 256, 4, 2, True),
                conv_block(512, 128, 4, 2, True),
                conv_block(256, 64, 4, 2, True),
            ]
        )
        self.decoder_attention = nn.ModuleList(
            _attention_or_identity(w, attention, kernel) for w in (256, 128, 64)
        )
        self.out = nn.Conv2d(128, 1, 7, 1, 3)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for layer, attend in zip(self.encoder, self.encoder_attention, strict=True):
            x = attend(layer(x))
            skips.append(x)
        x = self.style_attention(self.style(x))
        for layer, attend, skip in zip(
            self.decoder, self.decoder_attention, reversed(skips[:-1]), strict=True
        ):
            x = torch.cat([attend(layer(x)), skip], dim=1)
        return self.out(x)


D_ATTENTION = ("middle", "follow")


class PatchDiscriminator(nn.Module):
    """pix2pix's conditional PatchGAN on (source, glyph) pairs → a map of real/fake logits (8×8 for 64² inputs).

    §2.2 puts "an additional self-attention block in the middle of the discriminator": ``position="middle"``
    (default) places it after the second of the four conv layers (width 128) whatever the generator's fN;
    ``"follow"`` places it after the layer of the generator's width N. ``attention="none"`` has none.
    ``spectral_norm`` wraps every conv (SAGAN pairs it with the two-time-scale learning rates the paper takes from
    SAGAN; the paper does not mention it, so it is off by default).
    """

    def __init__(
        self,
        attention: str = "f512",
        kernel: str = "efficient",
        position: str = "middle",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        check_choice(position, D_ATTENTION, "model.discriminator_attention")
        at = "none" if attention == "none" else ("f128" if position == "middle" else attention)
        layers: list[nn.Module] = [nn.Conv2d(2, 64, 4, 2, 1), nn.LeakyReLU(0.2)]  # no norm on the first layer
        layers.append(_attention_or_identity(64, at, kernel))
        for c_in, c_out, stride in ((64, 128, 2), (128, 256, 2), (256, 512, 1)):
            layers += [conv_block(c_in, c_out, 4, stride), _attention_or_identity(c_out, at, kernel)]
        layers.append(nn.Conv2d(512, 1, 4, 1, 1))
        if spectral_norm:
            for module in [m for m in nn.Sequential(*layers).modules() if isinstance(m, nn.Conv2d)]:
                nn.utils.parametrizations.spectral_norm(module)
        self.net = nn.Sequential(*layers)

    def forward(self, source: Tensor, glyph: Tensor) -> Tensor:
        return self.net(torch.cat([source, glyph], dim=1))


def canny_strength(image01: Tensor) -> Tensor:
    """Canny edge-strength map: kornia's gradient magnitude on the pixels its Canny keeps as edges."""
    import kornia

    magnitude, edges = kornia.filters.canny(image01)
    return magnitude * (edges > 0).to(magnitude.dtype)


def edge_loss(fake01: Tensor, real01: Tensor, mode: str) -> Tensor:
    """Eq. 4 in one of its trainable readings (see the module docstring); inputs in [0, 1], [B, 1, H, W]."""
    import kornia

    if mode == "canny":
        on_edges = (kornia.filters.canny(fake01.detach())[1] > 0) | (kornia.filters.canny(real01)[1] > 0)
        mask = on_edges.to(fake01.dtype)[:, :, None]  # [B, 1, 1, H, W] over the (x, y) gradient components
        difference = (
            kornia.filters.spatial_gradient(fake01) - kornia.filters.spatial_gradient(real01).detach()
        )
        return (mask * difference.abs()).sum() / (2.0 * mask.sum()).clamp_min(1.0)
    if mode == "canny_strength":
        return F.l1_loss(canny_strength(fake01), canny_strength(real01).detach())
    if mode == "sobel":
        return F.l1_loss(kornia.filters.sobel(fake01), kornia.filters.sobel(real01))
    if mode == "target_mask":
        mask = (kornia.filters.canny(real01)[1] > 0).to(fake01.dtype)
        return (mask * (fake01 - real01).abs()).sum() / mask.sum().clamp_min(1.0)
    return fake01.new_zeros(())


def log_glyph_scores(
    module: ZooModule, fake: Tensor, target: Tensor, stage: str, threshold: float, relative_to: str
) -> None:
    """Table 1's RMSE (0-255) and APDR plus SSIM, each a mean over the batch's glyphs (Lightning weights batches by
    size, so the epoch value is the mean over all glyphs)."""
    size = target.shape[0]
    module.log(f"{stage}/rmse", rmse_255(fake, target).mean(), batch_size=size)
    module.log(f"{stage}/apdr", apdr(fake, target, threshold, relative_to).mean(), batch_size=size)
    module.log(
        f"{stage}/ssim", structural_similarity_index_measure(fake, target, data_range=1.0), batch_size=size
    )


class FontGan(ZooModule):
    """SAFont (``generator=safont``) or the pix2pix / zi2zi baseline (``generator=unet``) as one GAN module.

    Manual optimisation: each training step updates the discriminator on (real, detached fake), then the generator.
    Validation and test score RMSE (0-255), APDR and SSIM of the generated glyphs; validation saves a
    source | generated | target grid per epoch, and the test stage a Fig. 4-style paragraph.
    """

    def __init__(
        self,
        generator: str = "safont",
        attention: str = "f512",
        attention_kernel: str = "efficient",
        res_blocks: int = 6,
        adversarial: str = "hinge",
        edge_loss: str = "canny",
        lambda_edge: float = 100.0,
        lambda_pixel: float = 100.0,
        lambda_l1: float = 0.0,
        adversarial_warmup_epochs: int = 0,
        apdr_threshold: float = 0.5,
        apdr_relative_to: str = "ink",
        discriminator_attention: str = "middle",
        spectral_norm: bool = False,
        grid_size: int = 16,
        optimizer_g: Callable[..., torch.optim.Optimizer] | None = None,
        optimizer_d: Callable[..., torch.optim.Optimizer] | None = None,
    ) -> None:
        super().__init__(optimizer=optimizer_g)
        check_choice(generator, GENERATORS, "model.generator")
        check_choice(attention, ATTENTION, "model.attention")
        check_choice(adversarial, ADVERSARIAL, "model.adversarial")
        check_choice(edge_loss, EDGE_LOSSES, "model.edge_loss")
        check_choice(apdr_relative_to, APDR_BASES, "model.apdr_relative_to")
        non_negative_int(adversarial_warmup_epochs, "model.adversarial_warmup_epochs")
        self.save_hyperparameters(logger=False, ignore=["optimizer_g", "optimizer_d"])
        self.automatic_optimization = False
        self.optimizer_d_factory = optimizer_d
        self.generator = (
            SafontGenerator(attention, res_blocks, attention_kernel)
            if generator == "safont"
            else UNetGenerator()
        )
        self.discriminator = PatchDiscriminator(
            attention, attention_kernel, discriminator_attention, bool(spectral_norm)
        )
        self.d_loss, self.g_loss = (
            (hinge_d_loss, hinge_g_loss) if adversarial == "hinge" else (bce_d_loss, bce_g_loss)
        )
        self.grid: list[Tensor] = []

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None or self.optimizer_d_factory is None:
            return None
        return [
            self.optimizer_factory(params=self.generator.parameters()),
            self.optimizer_d_factory(params=self.discriminator.parameters()),
        ]

    def generate(self, source01: Tensor) -> tuple[Tensor, Tensor]:
        """(pre-Tanh output, image in [0, 1]) for sources in [0, 1]."""
        logits = self.generator(2.0 * source01 - 1.0)
        return logits, (torch.tanh(logits) + 1.0) / 2.0

    @property
    def warming_up(self) -> bool:
        """True in the reconstruction-only epochs before the adversarial game starts (SRGAN / ESRGAN's
        pixel-loss pre-training; 0 epochs = SAFont's schedule). Short CPU budgets need it: from a random
        generator the discriminator wins within an epoch and its gradients swamp the reconstruction losses."""
        return self.current_epoch < self.hparams.adversarial_warmup_epochs

    def generator_losses(
        self, source01: Tensor, target01: Tensor, logits: Tensor, fake01: Tensor, adversarial: bool = True
    ) -> dict[str, Tensor]:
        hp = self.hparams
        adversarial = (
            self.g_loss(self.discriminator(2 * source01 - 1, 2 * fake01 - 1))
            if adversarial
            else fake01.new_zeros(())
        )
        pixel = F.binary_cross_entropy_with_logits(2.0 * logits, target01)  # eq. 5: σ(2a) = (tanh(a) + 1)/2
        edge = edge_loss(fake01, target01, hp.edge_loss) if hp.lambda_edge else fake01.new_zeros(())
        l1 = F.l1_loss(fake01, target01) if hp.lambda_l1 else fake01.new_zeros(())
        total = adversarial + hp.lambda_edge * edge + hp.lambda_pixel * pixel + hp.lambda_l1 * l1
        return {"g_adv": adversarial, "edge": edge, "pixel": pixel, "l1": l1, "g_total": total}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        source, target = batch["source"], batch["target"]
        logits, fake = self.generate(source)
        adversarial = not self.warming_up
        if adversarial:
            real_score = self.discriminator(2 * source - 1, 2 * target - 1)
            fake_score = self.discriminator(2 * source - 1, 2 * fake.detach() - 1)
            loss_d = self.d_loss(real_score, fake_score)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
            self.log("train/d_loss", loss_d, prog_bar=True)
        losses = self.generator_losses(source, target, logits, fake, adversarial)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(losses["g_total"])
        opt_g.step()
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=False)

    def _score(self, batch: dict[str, Any], stage: str) -> Tensor:
        with torch.no_grad():
            _, fake = self.generate(batch["source"])
        hp = self.hparams
        log_glyph_scores(self, fake, batch["target"], stage, hp.apdr_threshold, hp.apdr_relative_to)
        return fake

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fake = self._score(batch, "val")
        if batch_idx == 0:
            n = self.hparams.grid_size
            self.grid = [batch["source"][:n].cpu(), fake[:n].cpu(), batch["target"][:n].cpu()]

    def on_validation_epoch_end(self) -> None:
        if self.grid and self.trainer.is_global_zero and not self.trainer.sanity_checking:
            publish_figure(
                self, f"grids/epoch{self.current_epoch:03d}.png", glyph_grid(self.grid), key="val/grid"
            )

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._score(batch, "test")

    def on_test_end(self) -> None:
        if self.trainer.is_global_zero:
            image = paragraph_figure(self, self.trainer.datamodule)
            publish_figure(self, "paragraph.png", image, key="test/paragraph")


class GlyphReference(SolverModule):
    """A trivial "generator" scored like the GANs, to give their numbers a scale: ``blank`` (a white page),
    ``mean_glyph`` (the mean training target glyph: the constant image with the least squared error on the training
    glyphs) or ``source_copy`` (the source font's glyph unchanged). Nothing trains: ``run.py`` goes straight to the
    test stage, as for the solver methods.
    """

    solver_budget = "no training (reference)"

    def __init__(
        self, reference: str = "mean_glyph", apdr_threshold: float = 0.5, apdr_relative_to: str = "ink"
    ) -> None:
        super().__init__()
        check_choice(reference, REFERENCES, "model.reference")
        check_choice(apdr_relative_to, APDR_BASES, "model.apdr_relative_to")
        self.save_hyperparameters(logger=False)
        self.mean_glyph: Tensor | None = None

    def on_test_start(self) -> None:
        if self.hparams.reference == "mean_glyph":
            self.mean_glyph = self.trainer.datamodule.train_set.target.mean(0).to(self.device)

    def reference_glyphs(self, source01: Tensor) -> Tensor:
        if self.hparams.reference == "blank":
            return torch.ones_like(source01)
        if self.hparams.reference == "source_copy":
            return source01
        if self.mean_glyph is None:
            raise RuntimeError(
                "mean_glyph is set from the training glyphs when testing starts (on_test_start)"
            )
        return self.mean_glyph.expand_as(source01)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fake = self.reference_glyphs(batch["source"])
        hp = self.hparams
        log_glyph_scores(self, fake, batch["target"], "test", hp.apdr_threshold, hp.apdr_relative_to)

    def on_test_epoch_end(self) -> None:
        """The same reference on the validation characters, so it sits next to the GANs' validation rows too."""
        val = self.trainer.datamodule.val_set
        source, target = val.source.to(self.device), val.target.to(self.device)
        hp = self.hparams
        log_glyph_scores(
            self, self.reference_glyphs(source), target, "val", hp.apdr_threshold, hp.apdr_relative_to
        )


def glyph_grid(rows: list[Tensor]) -> Tensor:
    """Rows of glyphs (source | generated | target), each [N, 1, H, W] in [0, 1], as one [H', W'] image."""
    return torch.cat([torch.cat(list(row[:, 0]), dim=1) for row in rows], dim=0)


def paragraph_figure(module: FontGan, data: Any) -> Tensor:
    """Fig. 4: the poem in the target style, test characters generated (black), training characters real (red
    tint), characters outside the split left blank; the source rendering above for comparison."""
    position = {
        c: (split, i)
        for split in ("train", "test")
        for i, c in enumerate(getattr(data, f"{split}_set").chars)
    }
    size = data.train_set.source.shape[-1]
    lines_source, lines_mixed = [], []
    for line in POEM:
        sources, mixed = [], []
        for char in line:
            split, i = position.get(char, (None, 0))
            if split is None:
                sources.append(torch.ones(3, size, size))
                mixed.append(torch.ones(3, size, size))
                continue
            glyphs = getattr(data, f"{split}_set")
            sources.append(glyphs.source[i].expand(3, -1, -1))
            if split == "test":
                with torch.no_grad():
                    _, fake = module.generate(glyphs.source[i : i + 1].to(module.device))
                mixed.append(fake[0].cpu().expand(3, -1, -1))
            else:  # a real glyph, tinted red as in the paper
                real = glyphs.target[i].expand(3, -1, -1).clone()
                real[0] = 1.0
                mixed.append(real)
        lines_source.append(torch.cat(sources, dim=2))
        lines_mixed.append(torch.cat(mixed, dim=2))
    gap = torch.ones(3, size // 2, lines_source[0].shape[2])
    image = torch.cat([*lines_source, gap, *lines_mixed], dim=1)
    return image.permute(1, 2, 0)
