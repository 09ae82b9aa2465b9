import torch

from lightning_modules.components.adjacency_input import AdjacencyInput, adjacency_bags


def ring_csr(n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An undirected ring with weights 1..n on the edges (both directions stored)."""
    src = torch.arange(n)
    u = torch.cat([src, (src + 1) % n])
    v = torch.cat([(src + 1) % n, src])
    w = torch.cat([src + 1.0, src + 1.0])
    order = torch.argsort(u * n + v)
    u, v, w = u[order], v[order], w[order]
    rowptr = torch.zeros(n + 1, dtype=torch.long)
    rowptr[1:] = torch.cumsum(torch.bincount(u, minlength=n), 0)
    return rowptr, v, w


def dense_adjacency(rowptr, col, weight) -> torch.Tensor:
    n = rowptr.numel() - 1
    rows = torch.repeat_interleave(torch.arange(n), rowptr[1:] - rowptr[:-1])
    return torch.zeros(n, n).index_put_((rows, col), weight)


def test_adjacency_bags_reproduce_the_rows() -> None:
    rowptr, col, weight = ring_csr()
    nodes = torch.tensor([4, 0, 4])
    ids, offsets, w = adjacency_bags(rowptr, col, weight, nodes)
    bag = torch.nn.EmbeddingBag(6, 6, mode="sum")
    bag.weight.data = torch.eye(6)
    torch.testing.assert_close(
        bag(ids, offsets, per_sample_weights=w), dense_adjacency(rowptr, col, weight)[nodes]
    )


def test_dense_rows_and_the_layer_match_the_dense_matmul_on_a_weighted_graph() -> None:
    rowptr, col, weight = ring_csr()
    layer = AdjacencyInput(rowptr, col, weight, width=3)
    adjacency = dense_adjacency(rowptr, col, weight)
    nodes = torch.tensor([5, 2, 2, 0])
    torch.testing.assert_close(layer.dense_rows(nodes), adjacency[nodes])
    torch.testing.assert_close(layer(nodes), adjacency[nodes] @ layer.weight + layer.bias)
    mean = AdjacencyInput(rowptr, col, weight, width=3, mean=True)
    expected = adjacency[nodes] / adjacency[nodes].sum(1, keepdim=True) @ mean.weight + mean.bias
    torch.testing.assert_close(mean(nodes), expected)
    assert not any(name.endswith(("rowptr", "col", "edge_weight")) for name in layer.state_dict())
