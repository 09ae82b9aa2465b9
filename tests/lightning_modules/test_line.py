"""LINE: edge samples, order 1 / 2 / 3 dimensions, the weighted per-edge loss, learning two communities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf

from datamodules.graphs.samplers import LineEdges
from lightning_modules.deepwalk import noise_distribution
from lightning_modules.line import Line
from tests.lightning_modules.test_deepwalk import (
    CONF,
    FakeGraph,
    GraphData,
    attach,
    communities,
    fit_briefly,
    separation,
    two_cliques,
)
from zoo.errors import UserError


def line(order: int = 3, dim: int = 8, graph: FakeGraph | None = None, **kwargs) -> Line:
    return attach(Line(dim=dim, order=order, **kwargs), graph or two_cliques())


def test_line_edges_are_the_directed_training_edges_with_weights() -> None:
    graph = FakeGraph(4, [(0, 1), (1, 2), (2, 3)], weights=[1.0, 2.0, 3.0])
    src, dst, weight = LineEdges()(graph, torch.Generator()).tensors
    got = sorted(zip(src.tolist(), dst.tolist(), weight.tolist(), strict=True))
    assert got == [(0, 1, 1.0), (1, 0, 1.0), (1, 2, 2.0), (2, 1, 2.0), (2, 3, 3.0), (3, 2, 3.0)]
    unweighted = LineEdges()(two_cliques(), torch.Generator()).tensors[2]
    assert unweighted.shape == (62,) and bool((unweighted == 1).all())


@pytest.mark.parametrize(("order", "parts"), [(1, ["first"]), (2, ["second"]), (3, ["first", "second"])])
def test_orders_dimensions_and_normalised_parts(order: int, parts: list[str]) -> None:
    module = line(order=order, dim=8)
    for table in (module.first, module.vertex, module.context):
        if table is not None:
            torch.nn.init.normal_(table.weight)
    z = module.embed()
    assert z.shape == (12, 8)
    halves = z.split(module.part_dim, dim=1)
    assert len(halves) == len(parts)
    for half in halves:
        torch.testing.assert_close(half.norm(dim=1), torch.ones(12))
    batch = tuple(t[:5] for t in LineEdges()(two_cliques(), None).tensors)
    losses = module.edge_losses(batch, torch.Generator())
    assert sorted(losses) == sorted(parts) and all(v.shape == (5,) for v in losses.values())
    assert module.pair_scores(torch.tensor([[0, 1], [2, 3]])).shape == (2,)


def test_odd_dimension_and_unknown_order_are_refused() -> None:
    with pytest.raises(UserError, match="even"):
        Line(dim=7, order=3)
    with pytest.raises(UserError, match="order"):
        Line(order=4)
    assert line(order=1, dim=7).embed().shape == (12, 7)


def test_loss_is_negative_sampling_scaled_by_weight_over_mean_weight() -> None:
    graph = FakeGraph(4, [(0, 1), (1, 2), (2, 3)], weights=[1.0, 2.0, 3.0])
    module = line(order=2, dim=4, graph=graph, negatives=2)
    torch.nn.init.normal_(module.vertex.weight)
    torch.nn.init.normal_(module.context.weight)
    torch.testing.assert_close(module.noise, noise_distribution(*graph.to_csr()[::2]))
    src, dst, weight = torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([1.0, 3.0])
    got = module.edge_losses((src, dst, weight), torch.Generator().manual_seed(5))["second"]
    noise = torch.multinomial(module.noise, 4, replacement=True, generator=torch.Generator().manual_seed(5))
    noise = noise.view(2, 2)
    v, c = module.vertex.weight, module.context.weight
    expected = []
    for e in range(2):
        u = v[src[e]]
        value = -F.logsigmoid(c[dst[e]] @ u) - F.logsigmoid(-(c[noise[e]] @ u)).sum()
        expected.append(value * weight[e] / 2.0)  # mean edge weight of the graph is 2
    torch.testing.assert_close(got, torch.stack(expected))


def test_line_separates_two_cliques_with_sgd() -> None:
    torch.manual_seed(0)
    module = line(order=3, dim=16)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.025)
    batch = LineEdges()(two_cliques(), None).tensors
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        total = sum(module.edge_losses(batch, generator).values())
        total.sum().backward()
        optimizer.step()
        losses.append(total.mean().item())
    assert sum(losses[-5:]) < 0.85 * sum(losses[:5])
    within, across = separation(module.embed().detach(), communities())
    assert within > across + 0.5, (within, across)


def test_fit_with_the_configured_sgd_and_linear_decay() -> None:
    cfg = OmegaConf.load(CONF / "model" / "line.yaml")
    cfg.update({"dim": 8})
    cfg.scheduler.total_iters = 2  # ${trainer.max_epochs} in a run
    torch.manual_seed(0)
    module = instantiate(cfg)
    metrics = fit_briefly(module, GraphData(two_cliques(), LineEdges()), epochs=2)
    assert {"train/loss", "train/first_order_loss", "train/second_order_loss", "val/loss"} <= set(metrics)
    assert module.trainer.optimizers[0].param_groups[0]["lr"] < 0.025
    assert module.embed().shape == (12, 8)
