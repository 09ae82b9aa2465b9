"""SiamFC's building blocks as plain tensor functions: cross-correlation, crops, labels, windows, and the
online-training quantities of Ma et al. (KL loss eq. 4-5, Peak / PSR, JCPP eq. 8-9, template update eq. 10-11).

Boxes inside the tracker are ``(cx, cy, w, h)`` in 0-based pixel coordinates; conversion from the OTB
convention (1-based ``x, y, w, h``) happens at the tracker's boundary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from zoo.errors import UserError, check_choice

NORMALISATIONS = ("softmax", "shift_sum")


def cross_correlation(z: torch.Tensor, x: torch.Tensor, out_scale: float = 0.001) -> torch.Tensor:
    """eq. 3, ``R = φ(z) ⋆ φ(x)``: each exemplar ``z [B, C, h, w]`` slides over its search map ``x [B·S, C, H, W]``
    (S search maps per exemplar, e.g. 3 scales), one grouped ``conv2d`` for the whole batch -> ``[B·S, 1, ., .]``.
    ``out_scale`` (SiamFC's 0.001) keeps the logits of a 6 × 6 × 256 correlation in the loss's useful range."""
    b, c = z.shape[:2]
    if x.shape[0] % b:
        raise ValueError(f"{x.shape[0]} search maps cannot be split among {b} exemplars")
    per = x.shape[0] // b
    weight = z.repeat_interleave(per, dim=0)  # [B·S, C, h, w]: one kernel per search map
    out = F.conv2d(x.reshape(1, -1, *x.shape[2:]), weight, groups=x.shape[0])
    return out.reshape(x.shape[0], 1, *out.shape[2:]) * out_scale


def crop_and_resize(
    image: torch.Tensor, centers: torch.Tensor, sizes: torch.Tensor, out_size: int
) -> torch.Tensor:
    """Square crops of side ``sizes[i]`` around ``centers[i]`` resized to ``out_size``, all in one ``roi_align``.

    ``image [3, H, W]``; outside the frame SiamFC pads with the image's mean colour: cropping ``image - mean``
    (zero-padded by ``roi_align``) and adding the mean back does exactly that. -> ``[S, 3, out, out]``.
    """
    mean = image.mean(dim=(1, 2), keepdim=True)
    half = sizes.unsqueeze(1) / 2
    # roi_align with aligned=True samples pixel centres at integer coordinates
    # aligned=True puts pixel k's centre at k + 0.5 in box coordinates; ours are 0-based pixel centres
    boxes = torch.cat([torch.zeros_like(half), centers + 0.5 - half, centers + 0.5 + half], dim=1).to(
        image.dtype
    )
    crops = roi_align(
        (image - mean).unsqueeze(0),
        boxes,
        output_size=out_size,
        spatial_scale=1.0,
        sampling_ratio=2,
        aligned=True,
    )
    return crops + mean.unsqueeze(0)


def otb_to_centre(boxes: torch.Tensor) -> torch.Tensor:
    """OTB's 1-based ``x, y, w, h`` -> 0-based ``cx, cy, w, h`` (centre = x + (w − 1) / 2, OTB's convention);
    ``[..., 4]``, so one box or a batch."""
    return torch.cat([boxes[..., :2] - 1 + (boxes[..., 2:] - 1) / 2, boxes[..., 2:]], dim=-1)


def centre_to_otb(boxes: torch.Tensor) -> torch.Tensor:
    return torch.cat([boxes[..., :2] + 1 - (boxes[..., 2:] - 1) / 2, boxes[..., 2:]], dim=-1)


def context_size(wh: torch.Tensor, context: float = 0.5) -> torch.Tensor:
    """SiamFC's exemplar side: ``sqrt((w + p)(h + p))`` with ``p = context·(w + h)`` (context 0.5)."""
    pad = context * wh.sum(dim=-1)
    return torch.sqrt((wh[..., 0] + pad) * (wh[..., 1] + pad))


def diamond_labels(size: int = 17, radius_px: float = 16.0, stride: int = 8) -> torch.Tensor:
    """Training labels: 1 within L1 distance ``radius / stride`` of the centre cell (13 cells for SiamFC's 16 px
    at stride 8), else 0."""
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    dist = r.abs().view(-1, 1) + r.abs().view(1, -1)
    return (dist <= radius_px / stride).float()


def balanced_logistic_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """SiamFC's loss: logistic loss with positives and negatives weighted to equal total mass."""
    pos = labels == 1
    weight = torch.where(pos, 0.5 / pos.sum().clamp(min=1), 0.5 / (~pos).sum().clamp(min=1))
    return (
        F.binary_cross_entropy_with_logits(
            logits, labels.expand_as(logits), weight.expand_as(logits), reduction="sum"
        )
        / logits.shape[0]
    )


def hann_window(size: int) -> torch.Tensor:
    """Cosine window over the upsampled response, normalised to sum 1 (SiamFC's displacement prior)."""
    w = torch.hann_window(size, periodic=False)
    window = torch.outer(w, w)
    return window / window.sum()


def normalise_map(score: torch.Tensor, how: str) -> torch.Tensor:
    """Score maps ``[..., H, W]`` as distributions (§2.3: "normalized to ensure Σ r = 1"): ``softmax`` over all
    cells, or ``shift_sum`` (subtract the minimum, divide by the sum: keeps the map's shape)."""
    check_choice(how, NORMALISATIONS, "model.online.normalisation", "score-map normalisation")
    flat = score.flatten(-2)
    if how == "softmax":
        probs = flat.softmax(dim=-1)
    else:
        shifted = flat - flat.min(dim=-1, keepdim=True).values
        probs = shifted / shifted.sum(dim=-1, keepdim=True).clamp(min=1e-12)
    return probs.view_as(score)


def kl_divergence(template: torch.Tensor, current: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """eq. 4 read as KL(R_t ‖ R_c) = Σ r_t log(r_t / r_c) ≥ 0 over the last two dims (the printed leading minus
    would make it −KL; the text calls it the KL divergence with R_t as the expected distribution)."""
    t, c = template.flatten(-2), current.flatten(-2)
    return (t * (torch.log(t.clamp(min=eps)) - torch.log(c.clamp(min=eps)))).sum(dim=-1)


def thresholded_loss(loss: torch.Tensor, zero_loss_threshold: float) -> torch.Tensor:
    """eq. 5: the loss counts only above the zero-loss threshold T_l (below it, no gradient)."""
    return torch.where(loss > zero_loss_threshold, loss, torch.zeros_like(loss))


def peak_to_sidelobe(score: torch.Tensor, exclude: int = 11) -> torch.Tensor:
    """PSR = (peak − μ_sidelobe) / σ_sidelobe (MOSSE), the sidelobe being the map minus an ``exclude × exclude``
    window around the peak; ``score [..., H, W]`` -> ``[...]``."""
    h, w = score.shape[-2:]
    if exclude >= min(h, w):
        raise UserError(
            f"the PSR exclusion window ({exclude}) leaves no sidelobe in a {h} × {w} score map",
            where="model.online.psr_window",
            fix=f"use a window smaller than {min(h, w)} (MOSSE: 11 on its maps; 5 suits a 17 × 17 map)",
        )
    flat = score.flatten(-2)
    peak, index = flat.max(dim=-1)
    rows = torch.arange(h, device=score.device).view(h, 1)
    cols = torch.arange(w, device=score.device).view(1, w)
    pr, pc = (index // w).unsqueeze(-1).unsqueeze(-1), (index % w).unsqueeze(-1).unsqueeze(-1)
    half = exclude // 2
    side = (((rows - pr).abs() > half) | ((cols - pc).abs() > half)).flatten(-2).to(score.dtype)
    count = side.sum(dim=-1)
    mean = (flat * side).sum(dim=-1) / count
    var = (((flat - mean.unsqueeze(-1)) ** 2) * side).sum(dim=-1) / count
    return (peak - mean) / var.sqrt().clamp(min=1e-12)


def jcpp(
    current: torch.Tensor, template: torch.Tensor, weight: float = 0.5, psr_window: int = 11
) -> torch.Tensor:
    """eq. 8-9: JCPP = λ·min(1, Peak(R_c)/Peak(R_t)) + (1 − λ)·min(1, PSR(R_c)/PSR(R_t))."""
    if not 0.0 <= weight <= 1.0:
        raise UserError(
            f"JCPP weight λ must lie in [0, 1], got {weight}",
            where="model.online.jcpp_weight",
            fix="use the paper's 0.5",
        )
    peak_c, peak_t = current.flatten(-2).amax(-1), template.flatten(-2).amax(-1)
    peak_r = (peak_c / peak_t.clamp(min=1e-12)).clamp(max=1.0)
    psr_c, psr_t = peak_to_sidelobe(current, psr_window), peak_to_sidelobe(template, psr_window)
    psr_r = (psr_c / psr_t.clamp(min=1e-12)).clamp(max=1.0)
    return weight * peak_r + (1 - weight) * psr_r


def update_rate(confidence: torch.Tensor | float, threshold: float) -> float:
    """eq. 11: α = (JCPP − T_c) / (1 − T_c), 0 at or below T_c (no update), 1 at JCPP = 1 (replace)."""
    value = float(confidence)
    if value <= threshold:
        return 0.0
    return min(1.0, (value - threshold) / (1 - threshold)) if threshold < 1 else 0.0


def scale_factors(count: int = 3, step: float = 1.0375) -> torch.Tensor:
    """SiamFC's search scales ``step ** k`` for k centred on 0 (3 scales: 1/1.0375, 1, 1.0375)."""
    return step ** (torch.arange(count, dtype=torch.float32) - (count - 1) / 2)


def displacement_in_frame(
    peak: torch.Tensor,
    upsampled: int,
    response_stride: int,
    factor: int,
    instance_size: int,
    search_side: float,
) -> torch.Tensor:
    """Peak position in the upsampled response (row, col) -> displacement of the target centre in frame pixels
    ``(dx, dy)``: response cells are ``stride`` input pixels apart, the crop is ``instance_size`` input pixels for
    ``search_side`` frame pixels."""
    centre = (upsampled - 1) / 2
    disp_response = peak.flip(-1).to(torch.float32) - centre  # (dx, dy) in upsampled cells
    disp_input = disp_response * response_stride / factor
    return disp_input * search_side / instance_size


def window_influence_mix(response: torch.Tensor, window: torch.Tensor, influence: float) -> torch.Tensor:
    """SiamFC's penalty: the min-subtracted, sum-normalised response blended with the Hann window."""
    r = response - response.min()
    r = r / r.sum().clamp(min=1e-12)
    return (1 - influence) * r + influence * window
