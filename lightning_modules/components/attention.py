"""SAGAN-style self-attention block (SAFont eqs. 1-3), with a memory-efficient kernel.

y = β·t(Σ_i α_{j,i} h(x_i)) + x,  α_{j,i} = softmax_i(f(x_i)ᵀ g(x_j)), with f, g, h, t 1×1 convolutions and β
initialised to 0 (the block starts as the identity and learns how much attention to mix in). f and g project to C/8
channels and h to C/2 (SAGAN's official block); eq. 1 has no 1/√d scaling, so none is applied.

``kernel="efficient"`` calls ``F.scaled_dot_product_attention``, which never materialises the N×N matrix (N = H·W:
4,096 positions at the 64×64 level, i.e. 16.8 M weights per image and head in the naive form); ``"naive"`` forms
the softmax matrix explicitly (for tests and the memory benchmark).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import check_choice

KERNELS = ("efficient", "naive")


class SelfAttention(nn.Module):
    def __init__(self, channels: int, kernel: str = "efficient") -> None:
        super().__init__()
        check_choice(kernel, KERNELS, "model.attention_kernel")
        self.kernel = kernel
        inner = max(channels // 8, 1)
        self.f = nn.Conv2d(channels, inner, 1)  # keys (position i)
        self.g = nn.Conv2d(channels, inner, 1)  # queries (position j)
        self.h = nn.Conv2d(channels, max(channels // 2, 1), 1)  # values
        self.t = nn.Conv2d(max(channels // 2, 1), channels, 1)
        self.beta = nn.Parameter(torch.zeros(()))

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """[B, N, C'] queries, keys and values (N = H·W positions)."""
        flat = lambda y: y.flatten(2).transpose(1, 2).contiguous()  # noqa: E731 (fused kernels need stride 1)
        return flat(self.g(x)), flat(self.f(x)), flat(self.h(x))

    def attention_weights(self, x: Tensor) -> Tensor:
        """α [B, N (j), N (i)]: row j is a distribution over the positions i."""
        query, key, _ = self._qkv(x)
        return torch.softmax(query @ key.transpose(1, 2), dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        b, _, height, width = x.shape
        query, key, value = self._qkv(x)
        if self.kernel == "efficient":
            # The CPU flash kernel needs one head width for q, k and v: zero-padding q and k to v's width leaves
            # every qᵀk unchanged (other shapes silently fall back to the math kernel and its N×N matrix).
            pad = value.shape[-1] - query.shape[-1]
            query, key = F.pad(query, (0, pad)), F.pad(key, (0, pad))
            attend = F.scaled_dot_product_attention
            mixed = attend(query[:, None], key[:, None], value[:, None], scale=1.0).squeeze(1)
        else:
            mixed = self.attention_weights(x) @ value
        z = self.t(mixed.transpose(1, 2).reshape(b, -1, height, width))
        return self.beta * z + x
