"""The method protocol: each FitKind runs as declared (tiny modules, real Lightning trainers)."""

from __future__ import annotations

from functools import partial

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_modules.components.base import FitKind, FittedModule, SolverModule, TestTimeModule, ZooModule
from zoo.errors import UserError
from zoo.workflow.pipeline import FITTING_KINDS, fit_kind, trainer_kwargs


class OnlineMean(TestTimeModule):
    """Learns each sequence's mean by SGD inside test_step, from the same start for every sequence."""

    def __init__(self) -> None:
        super().__init__(optimizer=partial(torch.optim.SGD, lr=0.3))
        self.estimate = nn.Parameter(torch.zeros(1))
        self.sequence: int | None = None
        self.final: dict[int, float] = {}

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        sequence, value = int(batch[0][0]), batch[1]
        if sequence != self.sequence:
            self.start_sequence()
            self.sequence = sequence
        with self.test_time_gradients():
            loss = ((self.estimate - value) ** 2).mean()
            self.test_time_optimizer.zero_grad()
            loss.backward()
            self.test_time_optimizer.step()
        self.final[sequence] = float(self.estimate.detach())


def sequences(*means: float, length: int = 8) -> DataLoader:
    ids = torch.cat([torch.full((length,), i) for i in range(len(means))])
    values = torch.cat([torch.full((length,), m) for m in means])
    return DataLoader(TensorDataset(ids, values), batch_size=1)


def make_tester(module: ZooModule) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_kwargs(module),
    )


def test_a_test_time_module_learns_inside_the_test_loop_and_resets_per_sequence() -> None:
    module = OnlineMean()
    assert fit_kind(module) is FitKind.TEST_TIME and fit_kind(module) not in FITTING_KINDS
    assert trainer_kwargs(module) == {"inference_mode": False}
    make_tester(module).test(module, sequences(5.0, -3.0), verbose=False)
    assert 4.0 < module.final[0] < 5.0 and -3.0 < module.final[1] < -2.0  # the weights moved during the test
    alone = OnlineMean()
    make_tester(alone).test(alone, sequences(-3.0), verbose=False)
    assert alone.final[0] == module.final[1], "sequence 2 must start from the same weights as a fresh run"
    assert float(module.estimate) == module.final[1] and module._initial_state["estimate"].item() == 0.0


def test_inference_mode_would_break_test_time_optimisation() -> None:
    """The control for ``trainer_kwargs``: under Lightning's default inference mode no gradient can flow."""
    module = OnlineMean()
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    with pytest.raises(RuntimeError):
        trainer.test(module, sequences(5.0), verbose=False)


class RunningMean(FittedModule):
    """A gradient-free model: the mean of the training values, accumulated in buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("total", torch.zeros(()))
        self.register_buffer("count", torch.zeros(()))
        self.anchor = nn.Parameter(torch.zeros(1))  # a parameter that must stay untouched

    def fit_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        assert not torch.is_grad_enabled()
        self.total += batch[1].sum()
        self.count += batch[1].numel()


def test_a_fitted_module_is_fitted_by_trainer_fit_without_gradients() -> None:
    module = RunningMean()
    assert fit_kind(module) in FITTING_KINDS and trainer_kwargs(module) == {}
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_progress_bar=False, enable_checkpointing=False
    )
    trainer.fit(module, sequences(2.0, 4.0))
    assert float(module.total / module.count) == 3.0 and float(module.anchor) == 0.0


def test_a_solver_refuses_an_optimiser_and_states_its_budget() -> None:
    class Solver(SolverModule):
        solver_budget = "solver: 3 iterations"

    assert Solver().fit_kind is FitKind.SOLVER and fit_kind(Solver()) not in FITTING_KINDS
    with pytest.raises(UserError, match="nothing to train"):
        Solver(optimizer=partial(torch.optim.SGD, lr=0.1))


def test_a_model_that_declares_nothing_is_refused() -> None:
    with pytest.raises(UserError, match="not a ZooModule"):
        fit_kind(pl.LightningModule())
