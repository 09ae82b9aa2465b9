"""FAN: Feedback Attention Network (Li et al., ICONIP 2019, §3, Fig. 1): ``[B, C_in, 224, 224]`` -> logits.

The network as built (defaults; Fig. 1 is not in our copy of the paper, so the trunk is derived from the
text):

    5 VGG-style stages, each ``convs_per_stage`` × (3×3 conv, no bias -> BatchNorm -> ReLU), widths
    (16, 32, 64, 128, 128), a 2×2 max-pool after each of the first n stages (n = log2(224 / η))
    -> LFM conv: 3×3 conv 128 -> 160, BatchNorm, ReLU = the LFM, η × η × 160
    -> [feedback attention: LFM ⊙ sigmoid(CAM)] -> LAP (s × s cells, s = η/κ) -> κ × κ × 160
    -> flatten -> Linear(160 κ², num_classes), whose weight per class is the WTFM (eq. 5)

Readings (each a constructor option):
  * Trunk. §3.1 only says the image is "down-sampled ... n" times, halving each time, so η = 224/2^n, and
    Table 2 gives one parameter count (0.77 M) for every η: the down-samplings are parameter-free 2 × 2
    max-pools (n moves pools, not weights). ``downsample="early"`` pools after the first n stages (compute
    stays modest for large η); ``"late"`` after the last n. The stage widths are VGG's halved twice; the
    LFM conv before the pooling is Zhou et al.'s CAM recipe (a conv layer added before GAP). Its width, 160,
    is the one number we fitted, to land on the paper's ≈ 0.77 M. **Our count: 775 346 parameters** at
    η = 56, κ = 2 (774 386 at κ = 1; ``lfm_channels · κ² · num_classes`` of them are the WTFM) vs the
    paper's 0.77 M (Table 2; the text's "68.1 % of DenseNet" = 0.77 / 1.13 agrees). BatchNorm is our
    addition (``batch_norm=False`` drops it; the paper trains with momentum SGD at lr 0.01, batch 10).
  * WTFM: every LAP cell has its own weights (``WTFM ∈ R^{κ×κ×c}``, indexed by L(i), L(j) in eq. 5). A 1×1
    conv shared by all cells is not offered: its logit would equal GAP + FC's exactly, so κ could not
    change the accuracy as Table 2 reports.
  * Eq. 5's cell map is ``L(i) = ⌊i/s⌋`` (printed ⌊i/κ⌋), see ``fan_cam``.
  * Attention (§3.2): "sigmoid ... to nonlinearly map M_{i,j} to get the attention graph AM ∈ R^{η×η}",
    combined with "feature map F" as F ⊙ AM. F is the LFM (the only η × η map §3.1 defines), so the
    attended LFM goes through LAP and the FC, and the returned ``cam`` (eq. 5, all classes) is the attended
    map's: it explains the logits exactly (``logit = κ² Σ cam + b``). The CAM that feeds back is that of
    the un-attended LFM (what the model finds before the feedback; no compounding over epochs), of the
    predicted class (``attention_class="predicted"``, as CAM visualisations do; or a fixed class index).
  * What goes into the sigmoid (``attention_normalisation``): default ``"raw"``, Zhou et al.'s CAM
    ``A = LFM · WTFM`` (= η² M). The printed ``"eq5"`` M carries 1/η²: M averages (logit − b) / (κ² η²),
    about 1e-3 for a logit of 10 at η = 56, κ = 2, so unless the evidence sits on a handful of pixels
    sigmoid(M) ≈ 0.5 everywhere, a constant rescale that cannot "activate the lesion regions" (§4.3,
    Table 3); at initialisation it varies by < 1e-3 (tested). ``"minmax"`` maps A to [0, 1] per image
    first. ``attention_relu`` clips negative evidence (sigmoid >= 0.5).
  * "at the next epoch" (``reading``): ``"previous_epoch"`` is the literal reading: each training image's
    CAM is kept (``CamFeedbackStore``, keyed by its dataset index) and multiplies its LFM when the image
    comes back the next epoch; the first epoch runs without attention. ``"two_pass"`` (the default)
    computes the CAM and applies it in the same step: the trunk runs once (a second trunk pass would return
    the same LFM), the CAM of the current weights gates the LFM, then LAP and FC run on the gated map.
    Why two_pass is the default: it is the only reading that can attend to an image never seen in training,
    which Table 3's test accuracies with attention require; it is the same computation at train and test
    time; and it does not tie a map to a dataset index, so random flips or crops cannot misalign it, nor
    can DDP (each process sees other images each epoch, and keeps its own store). ``previous_epoch`` is
    ``two_pass`` lagged by one epoch (equal logits for the same weights, tested). In evaluation it falls
    back to ``eval_reading``: ``"two_pass"`` (default) or ``"none"`` (no attention at test time).
  * ``detach_attention`` (two_pass): the CAM is a signal, not a path for gradients (default, like a stored
    map); ``False`` lets the loss shape the attention map too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from lightning_modules.components.fan_cam import (
    CAM_NORMALISATIONS,
    UPSAMPLE_MODES,
    CamFeedbackStore,
    LargeAveragePooling,
    class_activation_map,
    pooling_kernel,
    upsample_cam,
    wtfm,
)
from zoo.errors import UserError, check_choice

FEEDBACK_READINGS = ("two_pass", "previous_epoch")
EVAL_READINGS = ("two_pass", "none")
DOWNSAMPLE_POSITIONS = ("early", "late")
PAPER_PARAMETERS = 0.77e6  # Table 2, "#Params" of FAN (one value for every η, κ)


class FANOutput(NamedTuple):
    """One forward's logits, eq. 5's CAM of the map that made them, the LFM and the attention used."""

    logits: Tensor  # [B, K]
    cam: Tensor  # [B, K, η, η], eq. 5 (1/η²) of the (attended) LFM: logits = κ² Σ cam + b
    lfm: Tensor  # [B, C, η, η], before the attention
    attention: Tensor | None  # [B, 1, η, η] sigmoid map applied to the LFM (ones where none applied)
    feedback_map: Tensor | None  # [B, η, η], this step's map before the sigmoid (what the store keeps)


def _conv_block(c_in: int, c_out: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    return [*layers, nn.ReLU(inplace=True)]


def downsamplings(eta: int, input_size: int, max_pools: int) -> int:
    """n with ``η = input_size / 2^n``, ``0 <= n <= max_pools``; a UserError otherwise."""
    ratio = int(input_size) / int(eta)
    n = round(math.log2(ratio)) if ratio >= 1 else -1
    if int(eta) < 1 or not 0 <= n <= max_pools or int(eta) * 2**n != int(input_size):
        sizes = ", ".join(str(int(input_size) // 2**k) for k in range(max_pools + 1))
        raise UserError(
            f"the LFM size eta must be input_size / 2^n with n <= {max_pools} down-samplings, got eta={eta} "
            f"for input_size={input_size}",
            where="model.net.eta",
            fix=f"use one of {sizes}",
        )
    return n


class FAN(nn.Module):
    """Feedback Attention Network; ``forward`` -> logits, ``forward_with_cam`` -> ``FANOutput``.

    ``index`` (dataset indices ``[B]``) and ``epoch`` are needed in training with
    ``reading="previous_epoch"``; build its store with ``store_size`` (one more than the largest index a
    training batch carries: the number of images the indices run over, the whole image list when the
    datamodule indexes it globally, as ``datamodules.ultrasound`` does) or ``build_store`` once it is known.
    """

    def __init__(
        self,
        num_classes: int = 2,
        in_channels: int = 3,
        eta: int = 56,
        kappa: int = 2,
        input_size: int = 224,
        *,
        attention: bool = True,
        reading: str = "two_pass",
        eval_reading: str = "two_pass",
        attention_normalisation: str = "raw",
        attention_relu: bool = False,
        attention_class: str | int = "predicted",
        detach_attention: bool = True,
        store_size: int | None = None,
        stage_channels: Sequence[int] = (16, 32, 64, 128, 128),
        convs_per_stage: int = 2,
        lfm_channels: int = 160,
        downsample: str = "early",
        batch_norm: bool = True,
        cam_upsample: str = "bilinear",
    ) -> None:
        super().__init__()
        check_choice(reading, FEEDBACK_READINGS, "model.net.reading", "feedback reading")
        check_choice(eval_reading, EVAL_READINGS, "model.net.eval_reading", "evaluation reading")
        check_choice(
            attention_normalisation,
            CAM_NORMALISATIONS,
            "model.net.attention_normalisation",
            "CAM normalisation",
        )
        check_choice(downsample, DOWNSAMPLE_POSITIONS, "model.net.downsample", "down-sampling position")
        check_choice(cam_upsample, UPSAMPLE_MODES, "model.net.cam_upsample", "CAM upsampling mode")
        stage_channels = tuple(int(c) for c in stage_channels)
        if int(num_classes) < 2 or int(in_channels) < 1 or not stage_channels or min(stage_channels) < 1:
            raise UserError(
                f"need num_classes >= 2, in_channels >= 1 and positive stage widths, got {num_classes}, "
                f"{in_channels}, {list(stage_channels)}",
                where="model.net.num_classes / in_channels / stage_channels",
                fix="use e.g. num_classes=2 (benign / malignant), in_channels=3",
            )
        if attention_class != "predicted" and not 0 <= int(attention_class) < int(num_classes):
            raise UserError(
                f"attention_class must be 'predicted' or a class index below {num_classes}, got "
                f"{attention_class!r}",
                where="model.net.attention_class",
                fix="use predicted (the CAM of the predicted class) or e.g. 1 (malignant)",
            )
        self.num_classes, self.in_channels = int(num_classes), int(in_channels)
        self.input_size, self.eta, self.kappa = int(input_size), int(eta), int(kappa)
        self.pools = downsamplings(self.eta, self.input_size, len(stage_channels))
        pooling_kernel(self.eta, self.kappa)  # validates κ | η
        self.use_attention, self.reading, self.eval_reading = bool(attention), reading, eval_reading
        self.attention_normalisation, self.attention_relu = attention_normalisation, bool(attention_relu)
        self.attention_class = attention_class if attention_class == "predicted" else int(attention_class)
        self.detach_attention, self.cam_upsample = bool(detach_attention), cam_upsample

        pooled = (
            range(self.pools)
            if downsample == "early"
            else range(len(stage_channels) - self.pools, len(stage_channels))
        )
        layers: list[nn.Module] = []
        c_in = self.in_channels
        for stage, width in enumerate(stage_channels):
            for _ in range(int(convs_per_stage)):
                layers += _conv_block(c_in, width, batch_norm)
                c_in = width
            if stage in pooled:
                layers.append(nn.MaxPool2d(2, 2))
        layers += _conv_block(c_in, int(lfm_channels), batch_norm)  # the LFM conv (Zhou et al.'s CAM layer)
        self.features = nn.Sequential(*layers)
        self.lfm_channels = int(lfm_channels)
        self.lap = LargeAveragePooling(self.eta, self.kappa)
        self.classifier = nn.Linear(self.lfm_channels * self.kappa**2, self.num_classes)
        self.store: CamFeedbackStore | None = None
        if store_size is not None:
            self.build_store(store_size)

    # -- pieces ------------------------------------------------------------------------------------------
    def build_store(self, num_items: int, dtype: torch.dtype = torch.float32) -> None:
        """Create the previous-epoch store for ``num_items`` training images (replaces an existing one)."""
        device = self.classifier.weight.device
        self.store = CamFeedbackStore(num_items, self.eta, dtype).to(device)

    @property
    def wtfm(self) -> Tensor:
        """The WTFM of every class, ``[K, C, κ, κ]``."""
        return wtfm(self.classifier.weight, self.lfm_channels, self.kappa)

    def head(self, lfm: Tensor) -> Tensor:
        """LAP + FC: ``[B, C, η, η]`` -> logits."""
        return self.classifier(self.lap(lfm).flatten(1))

    def cam(self, lfm: Tensor, normalisation: str = "eq5") -> Tensor:
        """Eq. 5 for every class on ``lfm``: ``[B, K, η, η]``."""
        return class_activation_map(lfm, self.classifier.weight, self.kappa, normalisation)

    def cam_at_input(self, cam: Tensor, mode: str | None = None) -> Tensor:
        """A CAM ``[B, K, η, η]`` upsampled to the input, aligned with it (``fan_cam.upsample_cam``)."""
        return upsample_cam(cam, self.input_size, mode or self.cam_upsample)

    def feedback_map(self, lfm: Tensor, logits: Tensor) -> Tensor:
        """The map that feeds back, before the sigmoid: the chosen class's CAM of ``lfm``, ``[B, η, η]``."""
        cams = self.cam(lfm, self.attention_normalisation)
        if self.attention_class == "predicted":
            chosen = logits.argmax(dim=1)
        else:
            chosen = torch.full_like(logits[:, 0], self.attention_class, dtype=torch.long)
        maps = cams[torch.arange(cams.shape[0], device=cams.device), chosen]
        return maps.clamp_min(0) if self.attention_relu else maps

    # -- forward -----------------------------------------------------------------------------------------
    def _attention(
        self, lfm: Tensor, logits: Tensor, index: Tensor | None, epoch: int | None
    ) -> tuple[Tensor | None, Tensor | None]:
        if not self.use_attention:
            return None, None
        fresh = self.feedback_map(lfm, logits)
        reading = self.reading if self.training or self.reading == "two_pass" else self.eval_reading
        if reading == "two_pass":
            signal = fresh.detach() if self.detach_attention else fresh
            return torch.sigmoid(signal).unsqueeze(1), fresh
        if reading == "none":
            return None, fresh
        if self.store is None or index is None or epoch is None:
            raise UserError(
                "the previous-epoch feedback reading needs a store, each image's dataset index and the epoch",
                where="model.net.reading=previous_epoch",
                fix="build the store (store_size = number of images the indices run over) and call "
                "forward(x, index=..., epoch=current_epoch), or use reading=two_pass",
            )
        stored, valid = self.store.read(index, epoch)
        gate = torch.where(
            valid[:, None, None], torch.sigmoid(stored.to(lfm)), torch.ones_like(stored, dtype=lfm.dtype)
        )
        self.store.write(index, fresh, epoch)
        return gate.unsqueeze(1), fresh

    def forward_with_cam(self, x: Tensor, index: Tensor | None = None, epoch: int | None = None) -> FANOutput:
        if x.ndim != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (self.input_size,) * 2:
            raise UserError(
                f"FAN expects images [B, {self.in_channels}, {self.input_size}, {self.input_size}], got "
                f"{tuple(x.shape)}",
                where="model.net.in_channels / model.net.input_size",
                fix="resize the images to input_size (224 in the paper) or set in_channels to the data's",
            )
        lfm = self.features(x)
        plain = self.head(lfm)
        attention, fresh = self._attention(lfm, plain, index, epoch)
        attended = lfm if attention is None else lfm * attention
        logits = plain if attention is None else self.head(attended)
        return FANOutput(logits, self.cam(attended), lfm, attention, fresh)

    def forward(self, x: Tensor, index: Tensor | None = None, epoch: int | None = None) -> Tensor:
        return self.forward_with_cam(x, index, epoch).logits
