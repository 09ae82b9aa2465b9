"""Evaluation shared by LEARN and every embedding baseline: link prediction, k-means clustering, t-SNE figures.

All functions take the finished embedding ``z [N, d]`` (a tensor or array) and return plain Python floats, so
every method is scored by the same code (LEARN §5.4-5.6):
  * link prediction: AUC and AP of held-out edges against sampled non-edges, either from the method's own pair
    scores (``link_prediction_scores``) or from node2vec's protocol, a logistic regression on edge features
    (``logistic_regression_link_scores``, Grover & Leskovec 2016, §4.4);
  * clustering: k-means on the embedding, NMI and ARI averaged over 10 runs (§5.5: "We run k-means algorithm
    10 times and report the average");
  * visualisation: t-SNE to 2-D, a scatter coloured by class (§5.6, Fig. 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from zoo.errors import UserError, check_choice

EDGE_OPERATORS = ("hadamard", "average", "l1", "l2")


def _numpy(x: Tensor | np.ndarray | Any, dtype: Any = None) -> np.ndarray:
    """Detach tensors to CPU numpy (scikit-learn's input)."""
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        x = x.float() if x.is_floating_point() and x.dtype in (torch.float16, torch.bfloat16) else x
        x = x.numpy()
    return np.asarray(x, dtype=dtype)


def _check_pairs(pairs: Tensor, num_nodes: int, where: str) -> Tensor:
    pairs = torch.as_tensor(pairs)
    if pairs.dim() != 2 or pairs.shape[0] != 2:
        raise UserError(
            f"node pairs must be a [2, P] tensor (edge_index layout), got shape {tuple(pairs.shape)}",
            where=where,
            fix="stack sources and targets as rows: torch.stack([src, dst])",
        )
    if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= num_nodes):
        raise UserError(
            f"node pairs hold ids outside [0, {num_nodes})", where=where, fix="check the edge split"
        )
    return pairs.long()


def link_prediction_scores(
    pos_scores: Tensor | np.ndarray, neg_scores: Tensor | np.ndarray
) -> dict[str, float]:
    """ROC AUC and average precision of positive (held-out edge) vs negative (non-edge) scores.

    Higher score = more likely an edge. Ties count half in the AUC (scikit-learn's convention); scores need not
    be probabilities.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    pos, neg = _numpy(pos_scores, np.float64).ravel(), _numpy(neg_scores, np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        raise UserError(
            f"link prediction needs positive and negative pairs, got {pos.size} and {neg.size}",
            where="link_prediction_scores(...)",
            fix="check that the edge split holds test edges and sampled non-edges",
        )
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise UserError(
            "link-prediction scores contain NaN or infinity",
            where="link_prediction_scores(...)",
            fix="the embedding diverged: lower the learning rate or check the loss",
        )
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    return {"auc": float(roc_auc_score(labels, scores)), "ap": float(average_precision_score(labels, scores))}


def edge_features(z: Tensor | np.ndarray, pairs: Tensor, operator: str = "hadamard") -> Tensor:
    """node2vec's binary operators on the embeddings of node pairs ``[2, P]`` → ``[P, d]`` edge features.

    hadamard: z_u * z_v; average: (z_u + z_v) / 2; l1: |z_u - z_v| ("weighted-L1"); l2: (z_u - z_v)^2.
    All are symmetric, so an undirected edge gets the same feature in both directions.
    """
    check_choice(operator, EDGE_OPERATORS, "edge_features(operator=...)", "edge operator")
    z = torch.as_tensor(z)
    pairs = _check_pairs(pairs, z.shape[0], "edge_features(pairs=...)")
    a, b = z[pairs[0]], z[pairs[1]]
    if operator == "hadamard":
        return a * b
    if operator == "average":
        return (a + b) / 2
    if operator == "l1":
        return (a - b).abs()
    return (a - b) ** 2


def logistic_regression_link_scores(
    z: Tensor | np.ndarray,
    train_pos: Tensor,
    train_neg: Tensor,
    test_pos: Tensor,
    test_neg: Tensor,
    operator: str = "hadamard",
    seed: int = 0,
    standardize: bool = True,
) -> dict[str, float]:
    """node2vec's link-prediction protocol: a logistic regression on edge features, scored on held-out pairs.

    Fits scikit-learn's L2-regularised ``LogisticRegression`` (C = 1, lbfgs) on the features of the training
    edges (label 1) and training non-edges (label 0), then reports AUC / AP of its decision function on the test
    pairs. ``standardize`` z-scores the features with the training statistics first, so that the regulariser
    and the solver's convergence do not depend on each method's embedding scale (skip-gram vs. sigmoid towers).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    z = torch.as_tensor(_numpy(z, np.float64))
    x_train = torch.cat(
        [edge_features(z, train_pos, operator), edge_features(z, train_neg, operator)]
    ).numpy()
    y_train = np.concatenate(
        [np.ones(torch.as_tensor(train_pos).shape[1]), np.zeros(torch.as_tensor(train_neg).shape[1])]
    )
    if np.unique(y_train).size < 2:
        raise UserError(
            "the logistic-regression protocol needs training edges and training non-edges",
            where="logistic_regression_link_scores(train_pos=..., train_neg=...)",
            fix="sample training non-edges with the edge split",
        )
    classifier = LogisticRegression(max_iter=1000, random_state=seed)
    model = make_pipeline(StandardScaler(), classifier) if standardize else classifier
    model.fit(x_train, y_train)
    pos = model.decision_function(edge_features(z, test_pos, operator).numpy())
    neg = model.decision_function(edge_features(z, test_neg, operator).numpy())
    return link_prediction_scores(pos, neg)


NMI_AVERAGES = ("arithmetic", "geometric", "min", "max")


def clustering_scores(
    z: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    num_clusters: int,
    runs: int = 10,
    seed: int = 0,
    nmi_average: str = "arithmetic",
) -> dict[str, float]:
    """k-means on the embedding, NMI / ARI against the class labels, mean and std over ``runs`` runs.

    Run i uses ``KMeans(num_clusters, n_init=1, random_state=seed + i)``: one k-means++ initialisation per run,
    so the spread over runs is the spread the paper averages over (n_init > 1 would hide it). NMI divides the mutual
    information by the ``nmi_average`` of the two entropies: scikit-learn's default, arithmetic, unless asked; the
    paper cites [11] without saying, and Strehl & Ghosh's original NMI is the geometric mean. Nodes with a
    negative label (unlabelled) are left out.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    x, y = _numpy(z, np.float64), _numpy(labels).ravel()
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise UserError(
            f"embedding {x.shape} and labels {y.shape} do not match",
            where="clustering_scores(...)",
            fix="pass z [N, d] and one label per node",
        )
    keep = y >= 0
    x, y = x[keep], y[keep]
    if not 1 <= int(num_clusters) <= x.shape[0] or int(runs) < 1:
        raise UserError(
            f"need 1 <= num_clusters <= labelled nodes ({x.shape[0]}) and runs >= 1, got {num_clusters}, {runs}",
            where="clustering_scores(num_clusters=..., runs=...)",
            fix="use the dataset's number of classes",
        )
    if not np.isfinite(x).all():
        raise UserError("the embedding contains NaN or infinity", where="clustering_scores(z=...)")
    check_choice(nmi_average, NMI_AVERAGES, "model.nmi_average")
    nmi, ari = [], []
    for run in range(int(runs)):
        pred = KMeans(int(num_clusters), n_init=1, random_state=int(seed) + run).fit_predict(x)
        nmi.append(normalized_mutual_info_score(y, pred, average_method=nmi_average))
        ari.append(adjusted_rand_score(y, pred))
    return {
        "nmi": float(np.mean(nmi)),
        "ari": float(np.mean(ari)),
        "nmi_std": float(np.std(nmi)),
        "ari_std": float(np.std(ari)),
    }


def tsne_coordinates(
    z: Tensor | np.ndarray, seed: int = 0, perplexity: float = 30.0, threads: int | None = None
) -> np.ndarray:
    """t-SNE of the embedding to ``[N, 2]`` (PCA initialisation; perplexity clipped below N / 3 for tiny graphs).

    ``threads`` caps the OpenMP threads of the Barnes-Hut gradient; by default 1 below 2,000 points, where
    spinning threads only cost time (on a shared 2-core machine a 45-point fit took 2-20 s with all threads and
    0.1 s with one), and the library default above.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = _numpy(z, np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise UserError(
            f"t-SNE needs an [N >= 3, d] embedding, got {x.shape}", where="tsne_coordinates(z=...)"
        )
    perplexity = float(min(perplexity, max(1.0, (x.shape[0] - 1) / 3)))
    if threads is None and x.shape[0] < 2000:
        threads = 1
    with threadpool_limits(limits=threads, user_api="openmp"):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=int(seed)).fit_transform(
            x
        )


def scatter_figure(coords: np.ndarray, labels: Tensor | np.ndarray, title: str = "") -> Any:
    """Fig. 2-style scatter of 2-D points coloured by class, legend outside the axes.

    Built on ``matplotlib.figure.Figure`` with an Agg canvas (no pyplot state, no display needed).
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    coords, y = np.asarray(coords), _numpy(labels).ravel()
    classes = np.unique(y)
    fig = Figure(figsize=(7.5, 6.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # tab20 + tab20b + tab20c: 60 distinct colours (BlogCatalog has 39 classes, tab10 would repeat)
    palette = [colormaps[name](i) for name in ("tab20", "tab20b", "tab20c") for i in range(20)]
    for i, cls in enumerate(classes):
        mask = y == cls
        ax.scatter(coords[mask, 0], coords[mask, 1], s=6, color=palette[i % 60], label=str(cls), linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        fontsize="small",
        markerscale=2.0,
        ncol=1 + len(classes) // 20,
        title="class",
    )
    fig.tight_layout()
    return fig


def figure_to_array(fig: Any) -> np.ndarray:
    """RGB ``uint8 [H, W, 3]`` rendering of a figure, e.g. for TensorBoard ``add_image(dataformats="HWC")``."""
    canvas = fig.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def tsne_figure(
    z: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    seed: int = 0,
    title: str = "",
    coords: np.ndarray | None = None,
) -> Any:
    """t-SNE of ``z`` (or the given 2-D ``coords``), scatter coloured by class: a matplotlib figure
    (``zoo.loggers.publish_figure`` saves and logs it; ``figure_to_array`` renders it)."""
    xy = tsne_coordinates(z, seed=seed) if coords is None else np.asarray(coords)
    return scatter_figure(xy, labels, title=title)
