"""FAN's CAM operators (Li et al., ICONIP 2019, §3.1-3.2): Large Average Pooling, eq. 5's CAM, feedback store.

Notation of §3.1: the last feature map (LFM) is ``η × η × c`` with ``η = input_size / R`` (``R = 2^n``, n
down-samplings); Large Average Pooling (LAP) averages it in ``s × s`` cells, ``s = η / κ``, to a
``κ × κ × c`` map; a fully connected layer maps that map (flattened) to the class logits. Its weight, seen
per class as a ``c × κ × κ`` tensor, is the paper's WTFM ("the weight matrix acting on LFM in CAM ... after
the average pooling", ``WTFM ∈ R^{κ×κ×c}``): every cell has its own weights. ``κ = 1`` is GAP + FC, Zhou et
al.'s CAM head.

Eq. 5: ``M_{i,j} = (1/η²) LFM_{i,j} · WTFM_{L(i),L(j)}`` (· = dot product over channels). The paper prints
``L(i) = ⌊i/κ⌋``; the cell of LFM row i is ``⌊i/s⌋`` (the two agree only if κ² = η, and ``⌊i/κ⌋`` indexes
past the κ cells for i ≥ κ²), so ``L(i) = ⌊i/s⌋`` is the reading implemented (``cell_index``). With it

    logit_k = Σ_cells WTFM_k · mean_cell(LFM) + b_k = κ² · Σ_{i,j} M_k,i,j + b_k,

so for κ = 1 the logit is the CAM's sum (eq. 4's ``f(x, y, i)`` summed) plus the bias, i.e. the spatial mean
of the un-normalised CAM ``A = η² M`` (Zhou et al.'s ``w_c · features``) plus the bias.
``class_activation_map`` returns A (``"raw"``), M (``"eq5"``) or A min-max normalised per image and class
(``"minmax"``, as zhoubolei/CAM's ``returnCAM`` does before display).

``upsample_cam`` aligns a CAM with the input: LFM pixel i covers input rows ``[iR, (i+1)R)`` (each
down-sampling halves with 2 × 2 cells), so ``"nearest"`` repeats every value over its R × R block (the
paper's "one pixel of the CAM corresponds to an area covering 32 × 32 pixels", and the grid lines of its
Fig. 4) and ``"bilinear"`` uses half-pixel centres (``align_corners=False``): LFM pixel i sits at input
coordinate ``(i + ½)R − ½``, the centre of its block.

``CamFeedbackStore`` keeps one map per training image, keyed by dataset index, for the "at the next epoch"
reading of §3.2's feedback (see ``fan.FAN``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import UserError, check_choice

CAM_NORMALISATIONS = ("raw", "eq5", "minmax")
UPSAMPLE_MODES = ("bilinear", "nearest")


def pooling_kernel(eta: int, kappa: int) -> int:
    """LAP's cell size ``s = η / κ``; a UserError unless ``1 <= κ <= η`` and κ divides η."""
    eta, kappa = int(eta), int(kappa)
    if eta < 1 or kappa < 1 or kappa > eta or eta % kappa:
        raise UserError(
            f"Large Average Pooling needs a WTFM size kappa that divides the LFM size eta, got eta={eta}, "
            f"kappa={kappa}",
            where="model.net.kappa / model.net.eta",
            fix="use e.g. eta=56 with kappa 1, 2, 4, 7 or 8 (the paper's settings: eta 7-56 with kappa 1, 2; "
            "eta 112 with kappa 7)",
        )
    return eta // kappa


def cell_index(eta: int, kappa: int, device: torch.device | None = None) -> Tensor:
    """``L(i) = ⌊i/s⌋`` for ``i = 0 .. η-1``: the WTFM cell of each LFM row (and column)."""
    return torch.arange(int(eta), device=device) // pooling_kernel(eta, kappa)


class LargeAveragePooling(nn.Module):
    """LAP: ``[B, C, η, η] -> [B, C, κ, κ]``, the mean of each ``s × s`` cell (``κ = 1`` is GAP)."""

    def __init__(self, eta: int, kappa: int) -> None:
        super().__init__()
        self.kernel = pooling_kernel(eta, kappa)
        self.eta, self.kappa = int(eta), int(kappa)

    def forward(self, lfm: Tensor) -> Tensor:
        if tuple(lfm.shape[-2:]) != (self.eta, self.eta):
            raise UserError(
                f"LAP was built for a {self.eta} x {self.eta} last feature map, got {tuple(lfm.shape[-2:])}",
                where="model.net.eta / model.net.input_size",
                fix="feed images of the size the network was built for (eta = input_size / 2^n)",
            )
        return F.avg_pool2d(lfm, kernel_size=self.kernel, stride=self.kernel)

    def extra_repr(self) -> str:
        return f"eta={self.eta}, kappa={self.kappa}, kernel={self.kernel}"


def wtfm(weight: Tensor, channels: int, kappa: int) -> Tensor:
    """The FC weight ``[K, C·κ²]`` (acting on the flattened ``[C, κ, κ]`` map) as ``[K, C, κ, κ]``."""
    return weight.view(weight.shape[0], int(channels), int(kappa), int(kappa))


def class_activation_map(lfm: Tensor, weight: Tensor, kappa: int, normalisation: str = "eq5") -> Tensor:
    """Eq. 5 for every class: ``[B, C, η, η]`` LFM and FC weight ``[K, C·κ²]`` -> ``[B, K, η, η]``.

    ``normalisation``: ``"eq5"`` M with the 1/η² factor; ``"raw"`` A = η² M (Zhou et al.'s CAM);
    ``"minmax"`` A scaled to [0, 1] per image and class (eps 1e-8, as torch-cam).
    """
    check_choice(normalisation, CAM_NORMALISATIONS, "model.net.attention_normalisation", "CAM normalisation")
    eta = lfm.shape[-1]
    cells = cell_index(eta, kappa, lfm.device)  # L(i) = ⌊i/s⌋
    per_pixel = wtfm(weight, lfm.shape[1], kappa)[:, :, cells][
        :, :, :, cells
    ]  # WTFM_{L(i),L(j)}: [K, C, η, η]
    cam = torch.einsum("bchw,kchw->bkhw", lfm, per_pixel)
    if normalisation == "eq5":
        return cam / eta**2
    if normalisation == "minmax":
        low = cam.amin(dim=(-2, -1), keepdim=True)
        high = cam.amax(dim=(-2, -1), keepdim=True)
        return (cam - low) / (high - low + 1e-8)
    return cam


def upsample_cam(cam: Tensor, size: int | tuple[int, int], mode: str = "bilinear") -> Tensor:
    """``[B, K, η, η]`` -> ``[B, K, H, W]`` aligned with the input (see the module docstring)."""
    check_choice(mode, UPSAMPLE_MODES, "model.net.cam_upsample", "CAM upsampling mode")
    height, width = (size, size) if isinstance(size, int) else size
    if mode == "nearest":
        rows, cols = height // cam.shape[-2], width // cam.shape[-1]
        if rows * cam.shape[-2] != height or cols * cam.shape[-1] != width:
            raise UserError(
                f"nearest CAM upsampling needs the input size {height} x {width} to be a multiple of the CAM "
                f"size {tuple(cam.shape[-2:])}",
                where="model.net.cam_upsample",
                fix="use cam_upsample=bilinear, or an input size of eta * 2^n",
            )
        return cam.repeat_interleave(rows, dim=-2).repeat_interleave(cols, dim=-1)
    return F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)


class CamFeedbackStore(nn.Module):
    """One ``η × η`` map per training image (dataset index), and the epoch it was written in.

    A map written in epoch e is read in any later epoch (``0 <= written < epoch``): the previous visit's map,
    never the current one, so the first epoch runs without feedback. Plain tensor buffers: they move with the
    module's device and are saved in checkpoints (``num_items · η² · 4`` bytes in float32, 72 MB for 5 772
    images at η = 56; pass ``dtype=torch.float16`` to halve it), so a resumed fit continues with its maps.
    """

    def __init__(self, num_items: int, eta: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if int(num_items) < 1:
            raise UserError(
                f"the feedback store needs the number of images it is indexed by, got {num_items}",
                where="model.net.store_size",
                fix="set it to the number of images the dataset indices run over (the module can pass it "
                "from the datamodule)",
            )
        self.register_buffer("maps", torch.zeros(int(num_items), int(eta), int(eta), dtype=dtype))
        self.register_buffer("written_epoch", torch.full((int(num_items),), -1, dtype=torch.long))

    def _check(self, index: Tensor) -> Tensor:
        index = index.to(self.written_epoch.device, torch.long).flatten()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.maps.shape[0]):
            raise UserError(
                f"dataset index {int(index.max())} (or {int(index.min())}) is outside the feedback store of "
                f"{self.maps.shape[0]} images",
                where="model.net.store_size / batch index",
                fix="set store_size above every dataset index (the size of the indexed image list) and "
                "pass each image's dataset index",
            )
        return index

    def read(self, index: Tensor, epoch: int) -> tuple[Tensor, Tensor]:
        """``(maps [B, η, η], valid [B])``: the maps of ``index`` written before ``epoch``."""
        index = self._check(index)
        written = self.written_epoch[index]
        return self.maps[index].float(), (written >= 0) & (written < int(epoch))

    def write(self, index: Tensor, maps: Tensor, epoch: int) -> None:
        """Store ``maps [B, η, η]`` (detached) for ``index`` as written in ``epoch``."""
        index = self._check(index)
        self.maps[index] = maps.detach().to(self.maps.dtype)
        self.written_epoch[index] = int(epoch)
