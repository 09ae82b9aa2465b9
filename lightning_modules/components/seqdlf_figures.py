"""The matched-frames figure of a loop-closure run: what a detector's most confident matches look like."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_modules.components.retrieval_eval import LoopClosureResult


def match_figure(thumbs: Tensor, index: Tensor, result: LoopClosureResult, count: int) -> Any | None:
    """The ``count`` best-scored matches: each query block's last frame beside its match's last frame.

    ``thumbs`` uint8 ``[L, 3, h, w]``; ``index`` the blocks' frames ``[nb, T]``. Titles give the frame numbers
    (of the kept sequence), the score and whether the ground truth calls it a loop. None when nothing matched.
    """
    if count <= 0:
        return None
    found = torch.nonzero((result.match_index >= 0) & torch.isfinite(result.match_score)).flatten()
    if found.numel() == 0:
        return None
    order = found[result.match_score[found].argsort(descending=True)][:count]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.4, 1.9 * len(order)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(order), 2, squeeze=False)
    for row, query in enumerate(order.tolist()):
        match = int(result.match_index[query])
        q_frame, m_frame = int(index[query, -1]), int(index[match, -1])
        verdict = "loop" if bool(result.correct[query]) else "not a loop"
        for ax, frame, label in ((axes[row, 0], q_frame, "query"), (axes[row, 1], m_frame, "match")):
            ax.imshow(thumbs[frame].permute(1, 2, 0).numpy())
            ax.set_title(f"{label} frame {frame}", fontsize=8)
            ax.axis("off")
        axes[row, 1].set_title(
            f"match frame {m_frame}: {float(result.match_score[query]):.3f}, {verdict}", fontsize=8
        )
    figure.tight_layout()
    return figure
