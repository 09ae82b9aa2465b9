"""A |V|-wide linear layer applied to vertices' adjacency rows without building them (LEARN's and SDNE's input).

Both papers feed each vertex's adjacency row to a dense layer; as a matmul that costs O(batch · |V|) per batch and a
dense [batch, |V|] tensor. An ``EmbeddingBag`` in sum mode over the neighbours, weighted by the edge weights, gives
the same product in O(edges of the batch).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.pair_keys import csr_rows


def adjacency_bags(
    rowptr: Tensor, col: Tensor, weight: Tensor, nodes: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The adjacency rows of ``nodes`` as ``EmbeddingBag`` input (flat neighbour ids, offsets, weights)."""
    starts, counts = rowptr[nodes], rowptr[nodes + 1] - rowptr[nodes]
    offsets = torch.cumsum(counts, 0) - counts
    flat = torch.repeat_interleave(starts - offsets, counts) + torch.arange(
        int(counts.sum()), device=col.device
    )
    return col[flat], offsets, weight[flat]


class AdjacencyInput(nn.Module):
    """``A[nodes] @ W + b`` for the graph's CSR adjacency A (optionally each row divided by its weighted degree,
    so that hubs do not saturate what follows). The graph travels with the module as non-persistent buffers."""

    def __init__(self, rowptr: Tensor, col: Tensor, weight: Tensor, width: int, mean: bool = False) -> None:
        super().__init__()
        self.register_buffer("rowptr", rowptr, persistent=False)
        self.register_buffer("col", col, persistent=False)
        self.register_buffer("edge_weight", weight.float(), persistent=False)
        degree = torch.zeros(self.num_nodes).index_add_(0, csr_rows(rowptr), self.edge_weight)
        self.register_buffer(
            "row_scale", degree.clamp_min(1.0).reciprocal() if mean else None, persistent=False
        )
        self.bag = nn.EmbeddingBag(self.num_nodes, width, mode="sum")
        self.bias = nn.Parameter(torch.zeros(width))

    @property
    def num_nodes(self) -> int:
        return self.rowptr.numel() - 1

    @property
    def weight(self) -> Tensor:
        """W, ``[|V|, width]`` (``nn.Linear(|V|, width).weight`` transposed)."""
        return self.bag.weight

    def forward(self, nodes: Tensor) -> Tensor:
        ids, offsets, weights = adjacency_bags(self.rowptr, self.col, self.edge_weight, nodes)
        h = self.bag(ids, offsets, per_sample_weights=weights)
        if self.row_scale is not None:
            h = h * self.row_scale[nodes, None]
        return h + self.bias

    def dense_rows(self, nodes: Tensor) -> Tensor:
        """The dense adjacency rows ``[B, |V|]`` of ``nodes`` (for losses that need them, e.g. SDNE's reconstruction)."""
        ids, _, weights = adjacency_bags(self.rowptr, self.col, self.edge_weight, nodes)
        counts = self.rowptr[nodes + 1] - self.rowptr[nodes]
        rows = torch.repeat_interleave(torch.arange(nodes.numel(), device=ids.device), counts)
        return torch.zeros(nodes.numel(), self.num_nodes, device=ids.device).index_put_(
            (rows, ids), weights, accumulate=True
        )
