import pytest
import torch

from lightning_modules.components.base import FitKind
from lightning_modules.components.embedding_eval import clustering_scores
from lightning_modules.danmf import Danmf, DanmfSolver, shallow_nmf
from tests.lightning_modules.test_deepwalk import attach, communities, two_cliques
from zoo.errors import UserError


def sparse_adjacency(graph) -> torch.Tensor:
    rowptr, col, weight = graph.to_csr()
    n = rowptr.numel() - 1
    rows = torch.repeat_interleave(torch.arange(n), rowptr.diff())
    return torch.sparse_coo_tensor(
        torch.stack([rows, col]), weight.float(), (n, n), check_invariants=True
    ).coalesce()


def dense_loss(a: torch.Tensor, us: list[torch.Tensor], v: torch.Tensor, lam: float) -> torch.Tensor:
    """DANMF's objective written out densely (the reference for the solver's trace formulas and updates)."""
    psi = us[0]
    for u in us[1:]:
        psi = psi @ u
    laplacian = torch.diag(a.sum(1)) - a
    return (a - psi @ v).pow(2).sum() + (v - psi.T @ a).pow(2).sum() + lam * torch.trace(v @ laplacian @ v.T)


@pytest.fixture
def solver() -> DanmfSolver:
    torch.manual_seed(0)
    s = DanmfSolver(sparse_adjacency(two_cliques()), layers=[6, 4, 2], graph_lambda=0.5)
    s.pretrain(20, torch.Generator().manual_seed(0))
    return s


def test_shallow_nmf_fits_a_nonnegative_low_rank_matrix() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 3, generator=g) @ torch.rand(3, 20, generator=g)
    u, v = shallow_nmf(x, 3, 500, g, 1e-10)
    assert (u >= 0).all() and (v >= 0).all()
    assert (x - u @ v).norm() / x.norm() < 0.05


def test_loss_terms_match_the_dense_objective(solver: DanmfSolver) -> None:
    a = solver.a.to_dense()
    expected = dense_loss(a, solver.u, solver.v, solver.graph_lambda)
    assert solver.loss()["total"] == pytest.approx(float(expected), rel=1e-4)


def test_update_ratios_are_the_negative_and_positive_parts_of_the_gradient(solver: DanmfSolver) -> None:
    """∂L/∂X = 2 (positive − negative): the multiplicative updates follow the true gradient of L."""
    a = solver.a.to_dense()
    us = [u.clone().requires_grad_(True) for u in solver.u]
    v = solver.v.clone().requires_grad_(True)
    dense_loss(a, us, v, solver.graph_lambda).backward()
    for i, u in enumerate(us):
        negative, positive = solver.u_terms(i)
        torch.testing.assert_close(u.grad, 2 * (positive - negative), rtol=1e-4, atol=1e-4)
    negative, positive = solver.v_terms()
    torch.testing.assert_close(v.grad, 2 * (positive - negative), rtol=1e-4, atol=1e-4)


def test_iterations_keep_factors_nonnegative_and_never_raise_the_objective(solver: DanmfSolver) -> None:
    totals = [solver.loss()["total"]]
    for _ in range(30):
        solver.step()
        totals.append(solver.loss()["total"])
    assert all(later <= earlier * (1 + 1e-6) for earlier, later in zip(totals, totals[1:], strict=False))
    assert totals[-1] < totals[0]
    assert all((u >= 0).all() for u in solver.u) and (solver.v >= 0).all()


def test_danmf_module_recovers_two_cliques() -> None:
    torch.manual_seed(0)
    module = attach(Danmf(layers=[6, 4, 2], pretrain_iterations=50, iterations=100), two_cliques())
    z = module.embed()
    assert z.shape == (12, 2) and module.losses[-1]["total"] < module.losses[0]["total"]
    scores = clustering_scores(z, communities(), 2, runs=3, seed=0)
    assert scores["nmi"] == pytest.approx(1.0)
    assert (
        module.fit_kind is FitKind.SOLVER
        and module.solver_budget == "solver: 50 pre-training + 100 iterations"
    )


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"layers": [4, 8]}, "model.layers"),
        ({"graph_lambda": -1.0}, "model.graph_lambda"),
        ({"iterations": -1}, "model.iterations"),
        ({"optimizer": lambda params: None}, "model.optimizer"),
    ],
)
def test_bad_options_are_user_errors(kwargs: dict, where: str) -> None:
    with pytest.raises(UserError, match=where):
        Danmf(**kwargs)
