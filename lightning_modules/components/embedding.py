"""Base LightningModule of unsupervised node-embedding methods (LEARN and its baselines).

Methods train on whatever samples their datamodule draws (pairs, walks, edges, adjacency rows) and implement
``embed()``; the test stage evaluates the whole embedding at once, so every method is scored by the same code:
k-means NMI / ARI for clustering, AUC / AP on held-out edges for link prediction, and an optional t-SNE figure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from lightning_modules.components.base import ZooModule
from lightning_modules.components.embedding_eval import (
    NMI_AVERAGES,
    clustering_scores,
    link_prediction_scores,
    logistic_regression_link_scores,
    tsne_figure,
)
from zoo.errors import UserError, check_choice
from zoo.loggers import publish_figure

log = logging.getLogger(__name__)
EVALUATIONS = ("clustering", "link_prediction")
LINK_SCORES = ("model", "logistic_regression")


class EmbeddingModule(ZooModule):
    """Subclasses implement ``embed() -> [N, d]`` and, for ``link_score="model"``, ``pair_scores(pairs [2, P])``.

    ``link_score``: "model" scores a held-out pair with the method's own similarity (LEARN's sigmoid head, the
    inner product for skip-gram models); "logistic_regression" is node2vec's protocol (Hadamard edge features of
    training edges and non-edges → logistic regression). ``tsne``: write the Fig. 2-style figure to the run dir.
    Each method is sized by the training graph (``needs_data``): ``build_for_data`` gets its CSR adjacency.
    """

    needs_data = True

    def __init__(
        self,
        evaluation: str = "clustering",
        link_score: str = "model",
        kmeans_runs: int = 10,
        nmi_average: str = "arithmetic",
        tsne: bool = False,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler)
        check_choice(evaluation, EVALUATIONS, "model.evaluation")
        check_choice(link_score, LINK_SCORES, "model.link_score")
        self.evaluation, self.link_score = evaluation, link_score
        check_choice(nmi_average, NMI_AVERAGES, "model.nmi_average")
        self.kmeans_runs, self.nmi_average, self.tsne = kmeans_runs, nmi_average, tsne

    def embed(self) -> Tensor:
        raise NotImplementedError

    def pair_scores(self, pairs: Tensor) -> Tensor:
        """Similarity of node pairs ``[2, P]``; the default is the inner product of the embeddings."""
        z = self.embed()
        return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        data = self.trainer.datamodule
        with torch.no_grad():
            z = self.embed().detach().float().cpu()
        if self.evaluation == "clustering":
            z_labelled, labels = _labelled(z, data)
            scores = clustering_scores(
                z_labelled,
                labels,
                data.num_classes,
                runs=self.kmeans_runs,
                seed=0,
                nmi_average=self.nmi_average,
            )
        else:
            scores = self._link_prediction(z, data.edge_split)
        for name, value in scores.items():
            self.log(f"test/{name}", float(value), on_step=False, on_epoch=True)
        if self.tsne and self.trainer.is_global_zero:
            self._write_tsne(z, data)

    def _link_prediction(self, z: Tensor, split: Any) -> dict[str, float]:
        if split is None:
            raise UserError(
                "link prediction needs a held-out edge split",
                where="data.task",
                fix="set data.task=link_prediction (the datamodule then hides data.hide_fraction of the edges)",
            )
        if self.link_score == "logistic_regression":
            return logistic_regression_link_scores(
                z, split.train_pos, split.train_neg, split.test_pos, split.test_neg
            )
        with torch.no_grad():
            pos = self.pair_scores(split.test_pos.to(self.device)).float().cpu()
            neg = self.pair_scores(split.test_neg.to(self.device)).float().cpu()
        return link_prediction_scores(pos, neg)

    def _write_tsne(self, z: Tensor, data: Any) -> None:
        z, labels = _labelled(z, data)
        figure = tsne_figure(z, labels, seed=0, title=f"{type(self).__name__} t-SNE")
        publish_figure(self, "tsne.png", figure, key="test/tsne")


def _labelled(z: Tensor, data: Any) -> tuple[Tensor, Tensor]:
    """The embedding rows and labels of the nodes that have a single class (CiteSeer has 15 unlabelled ids)."""
    if data.labels is None:
        raise UserError(
            f"{data.graph.name} is multi-label: k-means clustering and t-SNE colouring need one class per node",
            where="model.evaluation=clustering / model.tsne",
            fix="use model.evaluation=link_prediction (as the paper does for BlogCatalog) and model.tsne=false",
        )
    labels = data.labels.cpu()
    mask = data.label_mask
    if mask is None:
        return z, labels
    mask = mask.cpu()
    return z[mask], labels[mask]
