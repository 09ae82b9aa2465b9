"""The base LightningModules and the method protocol: how each method fits, declared once, read by the pipeline.

Optimiser and schedule come from config as partials, so papers only write steps. Every method declares its
``fit_kind`` (``FitKind``); ``zoo.workflow.pipeline`` branches on it and probes nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch.optim import Optimizer

from zoo.errors import UserError


class FitKind(str, Enum):
    """How a method fits before (or while) it is tested; what ``run.py task=fit`` does with it."""

    GRADIENT = "gradient"  # trainer.fit on the training split with an optimiser, then test
    FITTED = "fitted"  # fitted without gradients in trainer.fit (e.g. a k-means codebook), then test
    SOLVER = "solver"  # nothing to fit: solves each test input inside the test stage (FPCA, RPCA, DANMF)
    TEST_TIME = (
        "test_time"  # optimises with gradients inside test_step, weights reset per sequence (trackers)
    )


class ZooModule(pl.LightningModule):
    """Common optimiser wiring for gradient-trained methods (``FitKind.GRADIENT``, the default).

    GAN-style modules with several optimisers override ``configure_optimizers``. Methods of the other kinds
    derive from ``SolverModule``, ``FittedModule`` or ``TestTimeModule``.
    """

    fit_kind: ClassVar[FitKind] = FitKind.GRADIENT
    #: a method sized by its data (a graph embedding: vertex count, adjacency) declares it; the pipeline then
    #: calls ``configure_for_data(datamodule.describe())`` before fitting or testing
    needs_data: ClassVar[bool] = False

    def __init__(
        self,
        optimizer: Callable[..., Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.data_description: dict[str, Any] | None = None

    def configure_for_data(self, description: Mapping[str, Any]) -> None:
        """The explicit data hook: build what depends on the data (once; a resumed fit keeps the built model).

        The description (plain tensors and numbers) is saved with every checkpoint, so ``load_from_checkpoint``
        rebuilds the model without a datamodule.
        """
        if self.data_description is None:
            self.data_description = dict(description)
            self.build_for_data(self.data_description)

    def build_for_data(self, description: dict[str, Any]) -> None:
        """What a ``needs_data`` method builds from the description (e.g. its |V|-row input layer)."""
        raise NotImplementedError(f"{type(self).__name__} declares needs_data but does not build_for_data")

    def setup(self, stage: str) -> None:
        if self.needs_data and self.data_description is None:
            raise UserError(
                f"{type(self).__name__} is sized by its data and was not configured for it",
                where="model.configure_for_data",
                fix="call module.configure_for_data(datamodule.describe()) before the trainer runs "
                "(run.py does), or load a checkpoint written by this project",
            )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store hyperparameters as plain containers (``torch.load(weights_only=True)`` rejects OmegaConf types)
        and the data description the model was built from."""
        from omegaconf import OmegaConf

        if "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"] = OmegaConf.to_container(
                OmegaConf.create(dict(checkpoint["hyper_parameters"]))
            )
        if self.data_description is not None:
            checkpoint["data_description"] = self.data_description

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Rebuild a data-sized model from its checkpoint alone (Lightning calls this before loading weights)."""
        if checkpoint.get("data_description") is not None:
            self.configure_for_data(checkpoint["data_description"])

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            return None
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval},
        }


class SolverModule(ZooModule):
    """A method with nothing to fit: it solves each test input in the test stage (``FitKind.SOLVER``).

    The one place that refuses an optimiser for such a method, and that asks it for the budget label the results
    tables show instead of epochs.
    """

    fit_kind = FitKind.SOLVER

    def __init__(self, optimizer: None = None, scheduler: None = None, **kwargs: Any) -> None:
        if optimizer is not None or scheduler is not None:
            raise UserError(
                f"{type(self).__name__} solves an optimisation problem per test input; it has nothing to train",
                where="model.optimizer / model.scheduler",
                fix="model.optimizer=null model.scheduler=null (the solver runs in the test stage)",
            )
        super().__init__(optimizer=None, scheduler=None, **kwargs)

    @property
    def solver_budget(self) -> str:
        """What bounds the solver (iterations, grouping): the results tables' budget column."""
        raise NotImplementedError


class FittedModule(ZooModule):
    """A model fitted without gradients inside ``trainer.fit`` (``FitKind.FITTED``), e.g. a k-means codebook.

    ``fit_step`` sees each training batch with gradients off and updates the model's state (buffers), so
    checkpoints, resume and the epoch budget work as for gradient training.
    """

    fit_kind = FitKind.FITTED

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(optimizer=None, scheduler=None, **kwargs)
        self.automatic_optimization = False

    def fit_step(self, batch: Any, batch_idx: int) -> None:
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> None:
        with torch.no_grad():
            self.fit_step(batch, batch_idx)


class TestTimeModule(ZooModule):
    """A method that optimises inside ``test_step`` (``FitKind.TEST_TIME``): an online tracker.

    The pipeline builds its trainer with ``inference_mode=False``; ``test_time_gradients`` turns gradients back on
    inside the test loop, ``start_sequence`` restores the weights the test started from (every sequence starts
    from the same model) and builds a fresh optimiser from ``model.optimizer``.
    """

    fit_kind = FitKind.TEST_TIME

    def __init__(self, optimizer: Callable[..., Optimizer], **kwargs: Any) -> None:
        super().__init__(optimizer=optimizer, **kwargs)
        self._initial_state: dict[str, torch.Tensor] | None = None
        self.test_time_optimizer: Optimizer | None = None

    def on_test_start(self) -> None:
        self._initial_state = copy.deepcopy(self.state_dict())

    def start_sequence(self) -> None:
        """Reset to the weights the test stage started with, and a fresh optimiser state."""
        if self._initial_state is None:
            raise RuntimeError("start_sequence() is called from test_step, after on_test_start")
        self.load_state_dict(self._initial_state)
        self.test_time_optimizer = self.optimizer_factory(params=self.parameters())

    @contextmanager
    def test_time_gradients(self) -> Iterator[None]:
        """Lightning's test loop runs under ``torch.no_grad``; online updates need gradients back."""
        with torch.enable_grad():
            yield

    def configure_optimizers(self) -> None:
        return None  # nothing is fitted before the test stage
