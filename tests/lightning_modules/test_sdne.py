"""SDNE: the three loss terms against hand computations on a 4-node graph, the sparse first layer, learning."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from datamodules.graphs.samplers import NodeBatches
from lightning_modules.components.adjacency_input import AdjacencyInput
from lightning_modules.sdne import Sdne
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


def path4(weights: list[float] | None = None) -> FakeGraph:
    """0 - 1 - 2 - 3."""
    return FakeGraph(4, [(0, 1), (1, 2), (2, 3)], weights)


def sdne(graph: FakeGraph, layers=(3, 2), **kwargs) -> Sdne:
    return attach(Sdne(layers=layers, **kwargs), graph)


def test_node_batches_and_shapes() -> None:
    (nodes,) = NodeBatches()(two_cliques(), None).tensors
    assert torch.equal(nodes, torch.arange(12))
    module = sdne(two_cliques(), layers=(16, 8, 4))
    assert isinstance(module.first, AdjacencyInput)  # no dense |V|-wide input matmul
    assert module.embed().shape == (12, 4)
    assert module.decode(module.encode(torch.tensor([0, 5]))).shape == (2, 12)
    assert [m.out_features for m in module.decoder] == [8, 16] and module.output.out_features == 12
    assert OmegaConf.load(CONF / "model" / "sdne.yaml").layers == [1000, 512, 128]


def test_first_layer_reads_the_weighted_adjacency_row() -> None:
    graph = path4([1.0, 2.0, 3.0])
    module = sdne(graph, layers=(5,), activation="sigmoid")
    x = torch.tensor([[0, 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 3], [0, 0, 3, 0]], dtype=torch.float32)
    nodes = torch.tensor([2, 0, 3])
    torch.testing.assert_close(module.first.dense_rows(nodes), x[nodes])
    expected = torch.sigmoid(x[nodes] @ module.first.weight + module.first.bias)
    torch.testing.assert_close(module.encode(nodes), expected)


def test_reconstruction_term_by_hand() -> None:
    """All weights zero: SDNE's sigmoid gives y = x̂ = σ(0) = 0.5, so each entry costs 0.25·b²; tanh gives 0."""
    module = sdne(path4(), layers=(2,), beta=10.0, activation="sigmoid")
    for p in module.parameters():
        torch.nn.init.zeros_(p)
    terms = module.loss_terms(torch.arange(4))
    # 6 non-zero entries (3 edges, both directions): 0.25·10² each; 10 zero entries: 0.25 each
    assert terms["second_order"].item() == pytest.approx(6 * 25.0 + 10 * 0.25)
    assert terms["first_order"].item() == 0.0 and terms["l2"].item() == 0.0
    part = module.loss_terms(torch.tensor([0, 1]))  # rows 0 and 1: 3 non-zeros, 5 zeros
    assert part["second_order"].item() == pytest.approx(3 * 25.0 + 5 * 0.25)
    module.act = torch.tanh  # x̂ = tanh(0) = 0: only the non-zeros cost, 1·10² each
    assert module.loss_terms(torch.arange(4))["second_order"].item() == pytest.approx(6 * 100.0)


def test_first_order_and_l2_terms_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = path4([1.0, 1.0, 2.0])
    module = sdne(graph, layers=(2,), alpha=0.2, nu=0.1)
    y = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    monkeypatch.setattr(module, "encode", lambda nodes: y[nodes])
    terms = module.loss_terms(torch.arange(4))
    # ordered pairs: (0,1),(1,0): 1·1; (1,2),(2,1): 1·1; (2,3),(3,2): 2·1 → 2·(1 + 1 + 2) = 8
    assert terms["first_order"].item() == pytest.approx(8.0)
    # = 2 tr(Yᵀ L Y) with L the Laplacian of the batch's adjacency block
    s = module.first.dense_rows(torch.arange(4))
    laplacian = torch.diag(s.sum(1)) - s
    assert terms["first_order"].item() == pytest.approx(2 * torch.trace(y.T @ laplacian @ y).item())
    # batch {0, 1, 3}: only the edge 0-1 lies inside it → 2·1
    assert module.loss_terms(torch.tensor([0, 1, 3]))["first_order"].item() == pytest.approx(2.0)
    # L2: ν/2 Σ‖W‖² over the weight matrices (first layer, decoder output), biases excluded
    for w in (module.first.weight, module.output.weight):
        torch.nn.init.constant_(w, 0.5)
    assert module.loss_terms(torch.arange(4))["l2"].item() == pytest.approx(0.5 * 0.25 * (4 * 2 + 2 * 4))
    total = module.loss(module.loss_terms(torch.arange(4)))
    terms = module.loss_terms(torch.arange(4))
    expected = terms["second_order"] + 0.2 * terms["first_order"] + 0.1 * terms["l2"]
    torch.testing.assert_close(total, expected)


def test_sdne_separates_two_cliques() -> None:
    torch.manual_seed(0)
    module = sdne(two_cliques(), layers=(16, 4), alpha=0.2, beta=10.0)
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    nodes = torch.arange(12)
    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        loss = module.loss(module.loss_terms(nodes))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    within, across = separation(module.embed().detach() - module.embed().detach().mean(0), communities())
    assert within > across + 0.5, (within, across)


def test_invalid_arguments_and_configured_fit() -> None:
    with pytest.raises(UserError, match="activation"):
        Sdne(activation="gelu")
    with pytest.raises(UserError, match="layers"):
        Sdne(layers=[])
    cfg = OmegaConf.load(CONF / "model" / "sdne.yaml")
    cfg.layers = [8, 4]
    torch.manual_seed(0)
    module = instantiate(cfg)
    metrics = fit_briefly(module, GraphData(two_cliques(), NodeBatches(), batch_size=6))
    assert {"train/loss", "train/second_order_loss", "train/first_order_loss", "val/loss"} <= set(metrics)
    assert module.embed().shape == (12, 4)
