"""SiamFC inference (Bertinetto et al. 2016) and the online training of Ma et al. (ICONIP 2019, §2.3-2.5).

``SiamFCTracker.initialise(frame, box)`` then ``track(frame) -> box`` per frame. Boxes here are
``(cx, cy, w, h)`` in 0-based pixels. Online training (``online.enabled``) after each tracked frame:

1. R_c = the response of the exemplar to a search crop centred on the new position (scale 1);
2. JCPP (eq. 8-9) of R_c against the template score map R_t (the first frame's response, eq. 10-11 updates it);
3. if JCPP > T_c: ``iterations`` SGD steps on the thresholded KL(R_t ‖ R_c) (eq. 4-5), gradients reaching both
   branches through the exemplar and the search features (eq. 6-7), then R_t ← (1 − α) R_t + α R_c.
Readings the paper leaves open are options (``OnlineConfig``); the defaults are documented in
``docs/papers/siamfc_online.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.components import siamfc_ops as ops
from lightning_modules.components.siamfc_backbones import SiameseNetwork
from zoo.errors import UserError, check_choice

MAPS = ("response", "upsampled")


@dataclass(frozen=True)
class InferenceConfig:
    """SiamFC's tracking hyper-parameters (siamfc-pytorch's values, the original paper's 3-scale version)."""

    exemplar_size: int = 127
    instance_size: int = 255
    stride: int = 8
    context: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    upsample: int = 16
    window_influence: float = 0.176


@dataclass(frozen=True)
class OnlineConfig:
    """Online training (§2.3-2.5): paper values λ = 0.5, T_l = 1, T_c = 0.7, 4 SGD iterations."""

    enabled: bool = True
    jcpp_weight: float = 0.5
    zero_loss_threshold: float = 1.0
    confidence_threshold: float = 0.7
    iterations: int = 4
    normalisation: str = "softmax"
    score_map: str = "response"
    psr_window: int = 5
    confidence_on: str = "normalised"


class SiamFCTracker(nn.Module):
    """The Siamese tracker around a feature extractor; one instance tracks one sequence at a time."""

    def __init__(
        self,
        network: SiameseNetwork,
        inference: InferenceConfig | None = None,
        online: OnlineConfig | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.cfg = inference or InferenceConfig()
        self.online = online or OnlineConfig()
        check_choice(self.online.score_map, MAPS, "model.online.score_map", "online score map")
        check_choice(
            self.online.confidence_on, ("normalised", "raw"), "model.online.confidence_on", "JCPP input"
        )
        ops.normalise_map(torch.zeros(1, 2, 2), self.online.normalisation)  # validates the name early
        self.optimizer: torch.optim.Optimizer | None = None
        self.scales = ops.scale_factors(self.cfg.scale_num, self.cfg.scale_step)
        self.stats = {"frames": 0, "updates": 0, "steps": 0}

    # -- geometry ---------------------------------------------------------------------------------------
    def _search_side(self, exemplar_side: torch.Tensor) -> torch.Tensor:
        return exemplar_side * self.cfg.instance_size / self.cfg.exemplar_size

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def _response(self, exemplar: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Raw responses ``[S, 1, 17, 17]`` of the exemplar crop to S search crops (features recomputed, so
        gradients reach both branches, eq. 6-7)."""
        return self.network.response(self._features(exemplar), self._features(search))

    def _map(self, response: torch.Tensor) -> torch.Tensor:
        """The score map online training compares: the 17 × 17 response or its ×upsample bicubic version."""
        if self.online.score_map == "response":
            return response
        size = response.shape[-1] * self.cfg.upsample
        return F.interpolate(response, size=(size, size), mode="bicubic", align_corners=False)

    # -- tracking -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def initialise(
        self, frame: torch.Tensor, box: torch.Tensor, optimizer: torch.optim.Optimizer | None = None
    ) -> None:
        """Store the exemplar crop of the first frame and its template score map R_t; ``optimizer`` (fresh per
        sequence, over the parameters online training adapts) is required when online training is on."""
        if self.online.enabled and optimizer is None:
            raise UserError(
                "online training needs an optimiser",
                where="model.optimizer",
                fix="set model.optimizer (the paper: SGD, momentum 0.9) or model.online.enabled=false",
            )
        self.optimizer = optimizer
        self.center, self.size = box[:2].clone().float(), box[2:].clone().float()
        self.exemplar_side = ops.context_size(self.size, self.cfg.context)
        self.min_side, self.max_side = 0.2 * self.exemplar_side, 5.0 * self.exemplar_side
        self.exemplar = ops.crop_and_resize(
            frame, self.center[None], self.exemplar_side[None], self.cfg.exemplar_size
        )
        self.exemplar_features = self._features(self.exemplar)
        response = self._search(frame, self.center, self.exemplar_side[None])
        self.template = self._map(response)  # R_t: the first frame's score map
        response_size = response.shape[-1] * self.cfg.upsample
        self.window = ops.hann_window(response_size).to(frame)

    def _search(
        self, frame: torch.Tensor, center: torch.Tensor, exemplar_sides: torch.Tensor
    ) -> torch.Tensor:
        crops = ops.crop_and_resize(
            frame,
            center.expand(len(exemplar_sides), 2),
            self._search_side(exemplar_sides),
            self.cfg.instance_size,
        )
        return self.network.response(self.exemplar_features, self._features(crops))

    @torch.no_grad()
    def _locate(self, frame: torch.Tensor) -> None:
        """SiamFC's step: 3 scales in one batch, ×16 bicubic upsampling, scale penalty, Hann window."""
        sides = self.exemplar_side * self.scales.to(frame)
        responses = self._search(frame, self.center, sides)  # [S, 1, 17, 17]
        size = responses.shape[-1] * self.cfg.upsample
        up = F.interpolate(responses, size=(size, size), mode="bicubic", align_corners=False)[:, 0]
        penalty = torch.full((len(sides),), self.cfg.scale_penalty, device=frame.device)
        penalty[len(sides) // 2] = 1.0
        best = int((up.flatten(1).amax(dim=1) * penalty).argmax())
        mixed = ops.window_influence_mix(up[best], self.window, self.cfg.window_influence)
        index = int(mixed.argmax())
        peak = torch.tensor([index // size, index % size], device=frame.device)
        shift = ops.displacement_in_frame(
            peak,
            size,
            self.cfg.stride,
            self.cfg.upsample,
            self.cfg.instance_size,
            float(self._search_side(sides[best])),
        )
        self.center = self.center + shift
        scale = (1 - self.cfg.scale_lr) + self.cfg.scale_lr * self.scales[best].item()
        self.exemplar_side = (self.exemplar_side * scale).clamp(self.min_side, self.max_side)
        self.size = self.size * scale

    def track(self, frame: torch.Tensor) -> torch.Tensor:
        """Locate the target in ``frame [3, H, W]`` (values in [0, 1]) -> ``(cx, cy, w, h)``; then, when
        online training is on, adapt the network and the template score map."""
        self._locate(frame)
        self.stats["frames"] += 1
        if self.online.enabled:
            self._online_update(frame)
        return torch.cat([self.center, self.size])

    # -- online training (§2.3-2.5) -------------------------------------------------------------------------
    def _confidence(self, current: torch.Tensor) -> float:
        normalise = self.online.confidence_on == "normalised"
        c = ops.normalise_map(current, self.online.normalisation) if normalise else current
        t = ops.normalise_map(self.template, self.online.normalisation) if normalise else self.template
        return float(ops.jcpp(c[0, 0], t[0, 0], self.online.jcpp_weight, self.online.psr_window))

    def _online_update(self, frame: torch.Tensor) -> None:
        search = ops.crop_and_resize(
            frame, self.center[None], self._search_side(self.exemplar_side)[None], self.cfg.instance_size
        )
        with torch.no_grad():  # R_c: the cached exemplar features are those of the current weights
            current = self._map(self.network.response(self.exemplar_features, self._features(search)))
        confidence = self._confidence(current)
        alpha = ops.update_rate(confidence, self.online.confidence_threshold)
        if alpha <= 0.0:
            return
        target = ops.normalise_map(self.template, self.online.normalisation)
        with torch.enable_grad():
            for _ in range(self.online.iterations):
                predicted = ops.normalise_map(
                    self._map(self._response(self.exemplar, search)), self.online.normalisation
                )
                loss = ops.thresholded_loss(
                    ops.kl_divergence(target, predicted), self.online.zero_loss_threshold
                ).sum()
                if not loss.requires_grad or loss.item() == 0.0:
                    break  # eq. 5: below T_l the loss is zero, nothing to learn
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.stats["steps"] += 1
        with torch.no_grad():
            self.exemplar_features = self._features(self.exemplar)  # the adapted exemplar branch
        self.template = (1 - alpha) * self.template + alpha * current  # eq. 10
        self.stats["updates"] += 1
