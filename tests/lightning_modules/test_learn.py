import pytest
import torch
import torch.nn.functional as F

from lightning_modules.learn import Learn, SiameseTower
from tests.lightning_modules.components.test_adjacency_input import dense_adjacency, ring_csr
from zoo.errors import UserError


@pytest.mark.parametrize("norm", ["mean", "sum"])
def test_first_layer_is_the_adjacency_row_times_w_without_a_dense_matmul(norm: str) -> None:
    rowptr, col, weight = ring_csr()
    tower = SiameseTower(rowptr, col, weight, layers=(5,), adjacency_norm=norm)
    adjacency = dense_adjacency(rowptr, col, weight)
    if norm == "mean":
        adjacency = adjacency / adjacency.sum(1, keepdim=True)
    nodes = torch.arange(6)
    torch.testing.assert_close(tower(nodes), adjacency @ tower.first.weight + tower.first.bias)


def test_tower_shapes_and_input_modes() -> None:
    rowptr, col, weight = ring_csr()
    for mode in ("adjacency", "embedding"):
        tower = SiameseTower(rowptr, col, weight, layers=(16, 8, 4), input_mode=mode)
        assert tower(torch.tensor([0, 3])).shape == (2, 4)
        assert len(tower.weight_matrices()) == 2 and len(tower.weight_matrices(include_first=True)) == 3
    with pytest.raises(UserError, match="input_mode"):
        SiameseTower(rowptr, col, weight, input_mode="dense")


def ring_description() -> dict:
    """What ``GraphDataModule.describe()`` hands a graph method: the training graph's CSR adjacency."""
    rowptr, col, weight = ring_csr()
    return {"rowptr": rowptr, "col": col, "weight": weight, "weighted": False}


def built_learn(loss: str = "bce") -> Learn:
    module = Learn(layers=(16, 8), loss=loss, optimizer=lambda params: torch.optim.Adam(params, lr=1e-2))
    module.configure_for_data(ring_description())  # the explicit data hook the pipeline calls
    return module


def test_eq4_gives_negatives_no_gradient_and_bce_does() -> None:
    v, u, negative = torch.tensor([0]), torch.tensor([3]), torch.tensor([0.0])
    for loss, expect_grad in (("eq4", False), ("bce", True)):
        module = built_learn(loss)
        module._loss((v, u, negative)).backward()
        grad = module.head.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == expect_grad, loss


def test_learn_fits_relations_and_scores_pairs() -> None:
    module = built_learn()
    v, u = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([1, 2, 3, 3, 4, 5])
    relation = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    optimizer = module.configure_optimizers()
    first = F.binary_cross_entropy_with_logits(module.relation_logits(v, u), relation).item()
    for _ in range(100):
        optimizer.zero_grad()
        module._loss((v, u, relation)).backward()
        optimizer.step()
    assert module._loss((v, u, relation)).item() < first / 4
    scores = module.pair_scores(torch.stack([v, u]))
    assert scores[:3].min() > scores[3:].max()
    assert module.embed().shape == (6, 8)


def test_relation_logits_embed_each_distinct_vertex_once_with_the_same_values_and_gradients() -> None:
    module = built_learn()
    v, u = torch.tensor([0, 1, 0, 5, 2]), torch.tensor([1, 0, 3, 5, 2])
    naive = module.head((module.tower(v) - module.tower(u)).abs()).squeeze(-1)
    (naive_grad,) = torch.autograd.grad(naive.sum(), module.tower.hidden[0].weight)
    fast = module.relation_logits(v, u)
    (fast_grad,) = torch.autograd.grad(fast.sum(), module.tower.hidden[0].weight)
    torch.testing.assert_close(fast, naive)
    torch.testing.assert_close(fast_grad, naive_grad)


def test_a_short_fit_is_bit_identical_across_runs_with_two_threads() -> None:
    """Same seed, same pairs, two CPU threads: the weights after a few Adam steps must match bit for bit (the
    gather's backward once summed repeated vertices in a thread-dependent order)."""
    rowptr, col, weight = ring_csr(3000)
    description = {"rowptr": rowptr, "col": col, "weight": weight, "weighted": False}
    pairs = torch.randint(0, 3000, (2, 8192), generator=torch.Generator().manual_seed(0))
    relation = torch.rand(8192, generator=torch.Generator().manual_seed(1))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fitted = []
        for _ in range(2):
            torch.manual_seed(0)
            module = Learn(layers=(64, 256), optimizer=lambda params: torch.optim.Adam(params, lr=1e-2))
            module.configure_for_data(description)
            optimizer = module.configure_optimizers()
            for _ in range(3):
                optimizer.zero_grad()
                module._loss((pairs[0], pairs[1], relation)).backward()
                optimizer.step()
            fitted.append({k: v.clone() for k, v in module.state_dict().items()})
    finally:
        torch.set_num_threads(threads)
    for key, value in fitted[0].items():
        assert torch.equal(value, fitted[1][key]), key


def planted_partition(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Two communities of ``n`` (edge probability 0.15 inside, 0.05 across); weights 5..30 inside, 1 across."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(2 * n) // n
    same = labels[:, None] == labels[None, :]
    upper = torch.triu(torch.rand(2 * n, 2 * n, generator=g) < torch.where(same, 0.15, 0.05), 1)
    strength = torch.triu(torch.randint(5, 31, (2 * n, 2 * n), generator=g).float(), 1)
    weights = torch.where(same, strength + strength.T, 1.0)
    src, dst = (upper | upper.T).nonzero(as_tuple=True)
    rowptr = torch.zeros(2 * n + 1, dtype=torch.long)
    rowptr[1:] = torch.cumsum(torch.bincount(src, minlength=2 * n), 0)
    return rowptr, dst, weights[src, dst], labels


def test_weights_well_above_one_train_to_a_finite_loss_and_help_on_planted_communities() -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from datamodules.graphs.sampling import learn_pairs

    rowptr, col, weight, labels = planted_partition()
    assert float(weight.max()) > 20
    scores, losses = {}, {}
    for weighted in (True, False):
        w = weight if weighted else None
        pairs = learn_pairs(rowptr, col, 10, 4, 0.8, generator=torch.Generator().manual_seed(0), weight=w)
        torch.manual_seed(0)
        module = Learn(layers=(64, 16), optimizer=lambda params: torch.optim.Adam(params, lr=1e-2))
        edge_weight = weight if weighted else torch.ones(col.numel())
        module.configure_for_data({"rowptr": rowptr, "col": col, "weight": edge_weight, "weighted": weighted})
        optimizer = module.configure_optimizers()
        for _ in range(150):
            optimizer.zero_grad()
            loss = module._loss((pairs["v"], pairs["u"], pairs["relation"]))
            loss.backward()
            optimizer.step()
        losses[weighted] = float(loss.detach())
        found = KMeans(2, n_init=10, random_state=0).fit_predict(module.embed().detach().numpy())
        scores[weighted] = adjusted_rand_score(labels.numpy(), found)
    assert all(0.0 <= value < 1.0 for value in losses.values()), losses  # a cross-entropy against R in [0, 1]
    assert scores[True] >= scores[False] and scores[True] > 0.9, scores
