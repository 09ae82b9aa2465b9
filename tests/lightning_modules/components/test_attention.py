from __future__ import annotations

import pytest
import torch

from lightning_modules.components.attention import SelfAttention


def test_beta_zero_makes_the_block_the_identity() -> None:
    block = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert float(block.beta.detach()) == 0.0
    torch.testing.assert_close(block(x), x)


def test_attention_rows_are_distributions_over_positions() -> None:
    weights = SelfAttention(16).attention_weights(torch.randn(2, 16, 5, 6))
    assert weights.shape == (2, 30, 30) and bool((weights >= 0).all())
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 30))


@pytest.mark.parametrize("size", [4, 16])
def test_memory_efficient_kernel_equals_the_naive_softmax(size: int) -> None:
    torch.manual_seed(0)
    efficient = SelfAttention(32, kernel="efficient")
    naive = SelfAttention(32, kernel="naive")
    naive.load_state_dict(efficient.state_dict())
    with torch.no_grad():
        efficient.beta.fill_(0.7)
        naive.beta.fill_(0.7)
    x = torch.randn(2, 32, size, size)
    torch.testing.assert_close(efficient(x), naive(x), atol=1e-5, rtol=1e-4)


def test_efficient_kernel_really_runs_fused_flash_attention() -> None:
    """Mismatched head widths or strides make SDPA fall back, silently, to the O(N²)-memory math kernel."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    block = SelfAttention(32, kernel="efficient")
    x = torch.randn(2, 32, 16, 16, requires_grad=True)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # raises "No available kernel" if flash cannot run
        block(x).sum().backward()
    assert x.grad is not None
