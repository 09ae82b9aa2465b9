"""Embedding evaluators on embeddings whose ideal scores are known: perfect separation, perfect clusters, PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_modules.components.embedding_eval import (
    clustering_scores,
    edge_features,
    figure_to_array,
    link_prediction_scores,
    logistic_regression_link_scores,
    scatter_figure,
    tsne_coordinates,
    tsne_figure,
)
from zoo.errors import UserError
from zoo.loggers import write_figure


def test_auc_and_ap_of_perfect_reversed_and_tied_scores() -> None:
    pos, neg = torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0.1, 0.2, 0.3, 0.4])
    assert link_prediction_scores(pos, neg) == {"auc": 1.0, "ap": 1.0}
    reversed_ = link_prediction_scores(neg, pos)
    assert reversed_["auc"] == 0.0 and reversed_["ap"] < 0.6
    assert link_prediction_scores(torch.ones(5), torch.ones(5))["auc"] == pytest.approx(0.5)
    # one swapped pair out of 3 x 4: AUC 11/12
    assert link_prediction_scores(pos, torch.tensor([0.1, 0.2, 0.3, 0.75]))["auc"] == pytest.approx(11 / 12)


def test_link_prediction_rejects_empty_or_nan_scores() -> None:
    with pytest.raises(UserError, match="positive and negative"):
        link_prediction_scores(torch.ones(3), torch.empty(0))
    with pytest.raises(UserError, match="NaN"):
        link_prediction_scores(torch.tensor([float("nan")]), torch.ones(2))


def test_edge_feature_operators() -> None:
    z = torch.tensor([[1.0, -2.0], [3.0, 4.0], [0.5, 0.5]])
    pairs = torch.tensor([[0, 2], [1, 0]])  # pairs (0, 1) and (2, 0)
    assert edge_features(z, pairs, "hadamard").tolist() == [[3.0, -8.0], [0.5, -1.0]]
    assert edge_features(z, pairs, "average").tolist() == [[2.0, 1.0], [0.75, -0.75]]
    assert edge_features(z, pairs, "l1").tolist() == [[2.0, 6.0], [0.5, 2.5]]
    assert edge_features(z, pairs, "l2").tolist() == [[4.0, 36.0], [0.25, 6.25]]
    with pytest.raises(UserError, match="operator"):
        edge_features(z, pairs, "concat")
    with pytest.raises(UserError, match=r"\[2, P\]"):
        edge_features(z, pairs.T.reshape(1, 4), "hadamard")


def _community_split(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Four disjoint cliques of 15; edges only inside cliques, non-edges across; one-hot community embedding."""
    g = torch.Generator().manual_seed(seed)
    community = torch.arange(60) // 15
    a, b = torch.triu_indices(60, 60, offset=1)
    same = community[a] == community[b]
    edges, non_edges = torch.stack([a[same], b[same]]), torch.stack([a[~same], b[~same]])
    edges = edges[:, torch.randperm(edges.shape[1], generator=g)]
    non_edges = non_edges[:, torch.randperm(non_edges.shape[1], generator=g)[: edges.shape[1]]]
    half = edges.shape[1] // 2
    z = torch.nn.functional.one_hot(community, 4).float() + 0.05 * torch.randn(60, 4, generator=g)
    return z, edges[:, :half], non_edges[:, :half], edges[:, half:], non_edges[:, half:]


@pytest.mark.parametrize("operator", ["hadamard", "l1", "l2"])
def test_logistic_regression_protocol_on_an_embedding_that_encodes_edges(operator: str) -> None:
    z, train_pos, train_neg, test_pos, test_neg = _community_split()
    scores = logistic_regression_link_scores(z, train_pos, train_neg, test_pos, test_neg, operator=operator)
    assert scores["auc"] > 0.99 and scores["ap"] > 0.99
    # a random embedding carries no edge information: close to chance
    noise = torch.randn(60, 4, generator=torch.Generator().manual_seed(1))
    chance = logistic_regression_link_scores(
        noise, train_pos, train_neg, test_pos, test_neg, operator=operator
    )
    assert chance["auc"] < 0.8


def test_logistic_regression_needs_both_classes() -> None:
    z, train_pos, _, test_pos, test_neg = _community_split()
    with pytest.raises(UserError, match="non-edges"):
        logistic_regression_link_scores(z, train_pos, train_pos[:, :0], test_pos, test_neg)


def test_clustering_scores_are_one_for_a_relabelled_perfect_clustering() -> None:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 4
    permuted = torch.tensor([2, 0, 3, 1])[labels]  # class ids need not match cluster ids
    z = torch.nn.functional.one_hot(permuted, 4).float() * 10 + 0.1 * torch.randn(80, 4, generator=g)
    scores = clustering_scores(z, labels, num_clusters=4, runs=5, seed=0)
    assert scores["nmi"] == pytest.approx(1.0) and scores["ari"] == pytest.approx(1.0)
    assert scores["nmi_std"] == pytest.approx(0.0) and scores["ari_std"] == pytest.approx(0.0)
    random = clustering_scores(torch.randn(80, 4, generator=g), labels, num_clusters=4, runs=3)
    assert random["nmi"] < 0.3 and random["ari"] < 0.2


def test_clustering_ignores_unlabelled_nodes_and_checks_shapes() -> None:
    labels = torch.tensor([0, 0, 1, 1, -1, -1])
    z = torch.tensor([[0.0], [0.1], [5.0], [5.1], [100.0], [-100.0]])
    assert clustering_scores(z, labels, 2, runs=2)["ari"] == pytest.approx(1.0)
    with pytest.raises(UserError, match="do not match"):
        clustering_scores(z[:5], labels, 2)


def test_tsne_figure_writes_a_png_and_array(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(45) % 3
    z = torch.nn.functional.one_hot(labels, 3).float() * 5 + torch.randn(45, 3, generator=g)
    path = write_figure(tmp_path / "sub" / "tsne.png", tsne_figure(z, labels, seed=0, title="test t-SNE"))
    assert path == tmp_path / "sub" / "tsne.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary file
    coords = tsne_coordinates(z, seed=0)
    assert coords.shape == (45, 2) and np.isfinite(coords).all()
    again = write_figure(tmp_path / "again.png", tsne_figure(z, labels, coords=coords))
    assert again.stat().st_size > 0
    array = figure_to_array(scatter_figure(coords, labels, title="x"))
    assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
    assert array.min() < 200  # something was drawn on the white canvas


def test_nmi_normalisation_is_a_choice_and_matches_its_definition() -> None:
    from sklearn.metrics import mutual_info_score

    from lightning_modules.components.embedding_eval import clustering_scores

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    z = np.eye(3)[labels] * 3.0 + rng.normal(size=(60, 3)) * 1.5  # imperfect but informative clusters
    arithmetic = clustering_scores(z, labels, 3, runs=1, seed=0)["nmi"]
    geometric = clustering_scores(z, labels, 3, runs=1, seed=0, nmi_average="geometric")["nmi"]
    from sklearn.cluster import KMeans

    pred = KMeans(3, n_init=1, random_state=0).fit_predict(z)
    entropy = lambda y: mutual_info_score(y, y)  # noqa: E731 (H(y) = I(y; y))
    mi = mutual_info_score(labels, pred)
    assert geometric == pytest.approx(mi / np.sqrt(entropy(labels) * entropy(pred)))
    assert arithmetic == pytest.approx(mi / ((entropy(labels) + entropy(pred)) / 2))
    with pytest.raises(UserError, match="model.nmi_average"):
        clustering_scores(z, labels, 3, runs=1, nmi_average="mean")
