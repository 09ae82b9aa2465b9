"""SeqDLF loop-closure detection (ICONIP 2019, §3-4) and its baselines, one ``SolverModule`` in four modes.

Nothing is trained by SGD. The test loop streams the sequence's frames in time order (its progress bar is the
feature extraction); each ``test_step`` keeps what the mode needs, and ``on_test_epoch_end`` encodes and scores:

* ``vlad`` / ``st_vlad`` (§3): deep local features of one late layer (``components.deep_local_features``), every
  grid cell one feature, L2-normalised (§3.2 "all the ℓ2-normalized local features"); a k-means codebook of
  ``words`` (q = 512, §4) over all features of the sequence, seeded; blocks of T consecutive frames
  (``vlad.blocks``, stride 1 gives the paper's L - T + 1 blocks); VLAD (eq. 1) or ST-VLAD (eq. 2-4, a second
  codebook of ``position_words`` over the (x, y, t) positions), power normalisation alpha = 0.5 then L2 (§4).
  T = 1 is the single-image VLAD / ST-VLAD baseline.
* ``cnn_global`` (§4.2, method [10]): the whole map of the layer, flattened and L2-normalised, one per frame.
* ``seqslam``: SeqSLAM on raw pixels (``components.seqslam``), one frame per "block".

Scoring (``components.retrieval_eval``): cosine similarity of every block with the earlier blocks outside an
exclusion window of ``exclusion_frames`` frames (no shared frame, and that many frames apart; for a reference run
followed by a query run, Corridor, only query-run blocks against reference-run blocks), the best match per query, a threshold sweep → PR curve, recall at 100 % precision (Table 2) and AP. The block ground truth (``rule``)
is scored twice: strict (the dataset's matrix as it is) → ``test/recall_at_100p``, ``test/ap``; and with every
loop dilated by ±``tolerance`` frames → ``test/recall_at_100p_tol``, ``test/ap_tol``. Writes ``pr_curve.png`` and
``matches.png`` (the best-scored matches, query frame next to its match) into the run dir.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.components import retrieval_eval, seqslam
from lightning_modules.components.backbones import describe_weights
from lightning_modules.components.base import SolverModule
from lightning_modules.components.deep_local_features import CAFFE_MEAN_BGR, LayerFeatures
from lightning_modules.components.seqdlf_figures import match_figure
from lightning_modules.components.vlad import (
    block_features,
    blocks,
    feature_positions,
    fit_codebook,
    l2_normalize,
    local_features,
    st_vlad,
    vlad,
)
from zoo.errors import UserError, check_choice, non_negative_int, positive_int
from zoo.loggers import log_image_file, publish_figure

log = logging.getLogger(__name__)

MODES = ("vlad", "st_vlad", "cnn_global", "seqslam")
SEQSLAM_SCORES = ("ratio", "cost")
THUMBNAIL = 96  # the longer side of the frames kept for the match figure


class SeqDLF(SolverModule):
    """Loop-closure detection on one ordered sequence (module docstring); every option from config."""

    def __init__(
        self,
        mode: str = "vlad",
        backbone: dict[str, Any] | None = None,
        T: int = 3,
        stride: int = 1,
        words: int = 512,
        position_words: int = 32,
        alpha: float = 0.5,
        codebook_seed: int = 0,
        kmeans_batch_size: int = 4096,
        kmeans_max_iter: int = 100,
        encode_chunk: int = 64,
        exclusion_frames: int = 20,
        rule: str = "any",
        tolerance: int = 10,
        seqslam_options: dict[str, Any] | None = None,
        seqslam_score: str = "ratio",
        match_figures: int = 6,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.save_hyperparameters(logger=False, ignore=["optimizer", "scheduler"])
        check_choice(mode, MODES, "model.mode", "SeqDLF mode")
        check_choice(rule, retrieval_eval.RULES, "model.rule", "block ground-truth rule")
        check_choice(seqslam_score, SEQSLAM_SCORES, "model.seqslam_score", "SeqSLAM confidence")
        self.T = positive_int(T, "model.T", "model.T=3")
        self.stride = positive_int(stride, "model.stride", "model.stride=1 (the paper's L - T + 1 blocks)")
        positive_int(words, "model.words", "model.words=512")
        positive_int(position_words, "model.position_words", "model.position_words=32")
        positive_int(encode_chunk, "model.encode_chunk", "model.encode_chunk=64")
        self.exclusion = non_negative_int(exclusion_frames, "model.exclusion_frames")
        self.tolerance = non_negative_int(tolerance, "model.tolerance")
        if not 0.0 < float(alpha) <= 1.0:
            raise UserError(
                f"model.alpha must be in (0, 1], got {alpha!r}", where="model.alpha", fix="0.5 (§4)"
            )
        if mode in ("cnn_global", "seqslam") and self.T != 1:
            raise UserError(
                f"model.mode={mode} describes single frames; model.T={self.T} would be ignored",
                where="model.T",
                fix="model.T=1 (use mode=vlad or st_vlad for sequences of T frames)",
            )
        self.seqslam_options = dict(seqslam_options or {})
        spec = dict(backbone or {"name": "efficientnet_lite0", "weights": "imagenet", "layer": -2})
        self.extractor: LayerFeatures | None = None
        self.weights_description = "none (raw pixels)"
        if mode != "seqslam":
            self.extractor = LayerFeatures(
                spec.get("name", "efficientnet_lite0"),
                str(spec.get("weights", "imagenet")),
                spec.get("layer", -2),
                spec.get("caffe_mean_bgr", CAFFE_MEAN_BGR),
            )
            self.weights_description = (
                f"{describe_weights(spec.get('name', 'efficientnet_lite0'), str(spec.get('weights', 'imagenet')))}"
                f", layer {spec.get('layer', -2)} ({self.extractor.layer_name})"
            )
        self.hparams["weights_ran"] = self.weights_description
        self._items: list[Tensor] = []
        self._thumbs: list[Tensor] = []
        self._grid: tuple[int, int] | None = None

    @property
    def solver_budget(self) -> str:
        h = self.hparams
        if h.mode == "seqslam":
            return f"SeqSLAM (ds={self.seqslam_options.get('ds', 10)}), raw pixels"
        if h.mode == "cnn_global":
            return f"CNN global, {self.weights_description}"
        return f"{h.mode} q={h.words}, T={self.T}, {self.weights_description}"

    # ---- the test loop: one pass over the frames -----------------------------------------------------------

    def on_test_epoch_start(self) -> None:
        if self.trainer.world_size > 1:
            raise UserError(
                "loop closure compares every frame with the whole past: the sequence must run on one device",
                where="hardware / trainer.devices",
                fix="hardware=cpu or hardware=gpu (one device)",
            )
        self._items, self._thumbs, self._grid = [], [], None
        log.info("SeqDLF %s: weights that ran: %s", self.hparams.mode, self.weights_description)
        for logger in self.loggers:
            logger.log_hyperparams({"model.weights_ran": self.weights_description})

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        images, index = batch["image"], batch["index"]
        seen = sum(item.shape[0] for item in self._items)
        if int(index[0]) != seen or not bool((index.diff() == 1).all()):
            raise UserError(
                f"frames must arrive in time order, got indices {index[:3].tolist()}… after {seen} frames",
                where="data (the test loader)",
                fix="use datamodules.loopclosure.LoopClosureDataModule (never shuffled)",
            )
        h, w = images.shape[-2:]
        scale = THUMBNAIL / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        self._thumbs.append(F.interpolate(images, size=size, mode="area").mul(255).byte().cpu())
        if self.hparams.mode == "seqslam":
            self._items.append(seqslam.preprocess(images, **self._preprocess_options()).cpu())
            return
        maps = self.extractor(images).float()
        if self.hparams.mode == "cnn_global":
            self._items.append(l2_normalize(maps.flatten(1)).cpu())
        else:
            self._grid = (int(maps.shape[2]), int(maps.shape[3]))
            self._items.append(l2_normalize(local_features(maps)).cpu())  # [B, h·w, d], unit rows

    def _preprocess_options(self) -> dict[str, Any]:
        o = self.seqslam_options
        return {"size": tuple(o.get("size", (32, 64))), "patch": o.get("patch", 8)}

    # ---- encoding and scoring ------------------------------------------------------------------------------

    def on_test_epoch_end(self) -> None:
        if not self._items:
            return
        frames = torch.cat(self._items)
        n = frames.shape[0]
        frame_gt = self._frame_ground_truth(n)
        T = self.T if self.hparams.mode in ("vlad", "st_vlad") else 1
        stride = self.stride if T > 1 else 1
        index = blocks(n, T, stride)  # [nb, T]
        # block j may match query i only when its last frame lies more than `exclusion` frames before i's first:
        # stride·(i - j) > exclusion + T - 1
        valid = retrieval_eval.earlier_mask(index.shape[0], (self.exclusion + T - 1) // stride)
        valid &= self._segment_mask(index, n)
        match, score = self._matches(frames, index, valid)
        self.log("test/num_blocks", float(index.shape[0]))
        results = {}
        for suffix, tolerance in (("", 0), ("_tol", self.tolerance)):
            gt = retrieval_eval.block_ground_truth(
                frame_gt, index, rule=self.hparams.rule, tolerance=tolerance
            )
            positives = int((gt & valid).any(1).sum())
            self.log(f"test/loop_queries{suffix}", float(positives))
            if positives == 0:
                log.warning(
                    "no query block has a true loop outside the exclusion window (%d frames seen, tolerance %d): "
                    "nothing to score", n, tolerance,
                )  # fmt: skip
                continue
            result = retrieval_eval.evaluate_matches(match, score, gt, valid)
            self.log(f"test/recall_at_100p{suffix}", result.recall_at_100)
            self.log(f"test/ap{suffix}", result.average_precision)
            results[f"tolerance ±{tolerance}" if tolerance else "strict"] = result
        if results and self.trainer.is_global_zero:
            self._write_figures(results, index)

    def _frame_ground_truth(self, n: int) -> Tensor:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "ground_truth"):
            raise UserError(
                "loop closure is scored against the datamodule's frame × frame ground truth",
                where="data",
                fix="use data=lip6outdoor or data=corridor (datamodules.loopclosure.LoopClosureDataModule)",
            )
        gt = datamodule.ground_truth()
        if gt.shape[0] < n:
            raise UserError(
                f"{n} frames were read but the ground truth covers {gt.shape[0]}",
                where="data.ground_truth",
                fix="give the matrix of this sequence (after the same subsampling)",
            )
        if gt.shape[0] > n:
            log.warning("only the first %d of %d frames ran (a limited test): scoring those", n, gt.shape[0])
        return gt[:n, :n]

    def _segment_mask(self, index: Tensor, n: int) -> Tensor:
        """Where the sequence is a reference run then a query run (Corridor: ``describe()["segments"]``), only
        query-run blocks query and only reference-run blocks answer (VPR-Bench's protocol: the ground truth marks
        no revisit inside a run); a block across the boundary does neither. Otherwise every pair may match."""
        nb = index.shape[0]
        description = self.trainer.datamodule.describe()
        segments = description.get("segments") or {}
        if not {"ref", "query"} <= segments.keys():
            return torch.ones(nb, nb, dtype=torch.bool)
        # segments are in the source's frame numbers; the kept (subsampled) frames carry theirs
        number = torch.as_tensor(description.get("frame_numbers", range(n)))[:n]
        (r0, r1), (q0, q1) = segments["ref"], segments["query"]
        in_ref, in_query = (number >= r0) & (number < r1), (number >= q0) & (number < q1)
        is_ref, is_query = in_ref[index].all(1), in_query[index].all(1)
        return is_query.unsqueeze(1) & is_ref.unsqueeze(0)

    def _matches(self, frames: Tensor, index: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """Best allowed match per query block and its confidence (higher = surer)."""
        mode = self.hparams.mode
        if mode == "seqslam":
            o = self.seqslam_options
            dd = seqslam.enhance_contrast(seqslam.difference_matrix(frames), o.get("contrast_window", 10))
            cost = seqslam.sequence_costs(
                dd, o.get("ds", 10), o.get("v_min", 0.8), o.get("v_max", 1.2), o.get("v_step", 0.1),
                o.get("align", "center"),
            )  # fmt: skip
            if self.hparams.seqslam_score == "ratio":
                return seqslam.ratio_matches(cost, valid, o.get("r_window", 10))
            return retrieval_eval.best_matches(-cost, valid)
        codes = frames if mode == "cnn_global" else self._encode(frames, index)
        return retrieval_eval.best_matches(retrieval_eval.cosine_similarity(codes), valid)

    def _encode(self, frames: Tensor, index: Tensor) -> Tensor:
        """VLAD / ST-VLAD codes ``[nb, D]`` of the blocks (eq. 1 / eq. 3-4), encoded in chunks of blocks."""
        h = self.hparams
        d = frames.shape[-1]
        codebook = fit_codebook(
            frames.reshape(-1, d), h.words, h.codebook_seed, h.kmeans_batch_size, h.kmeans_max_iter
        )
        chunks = index.split(int(h.encode_chunk))
        if h.mode == "vlad":
            return torch.cat([vlad(block_features(frames, c), codebook, h.alpha) for c in chunks])
        gh, gw = self._grid
        positions = feature_positions(gh, gw, index.shape[1])  # eq. 2
        if positions.shape[0] < h.position_words:
            raise UserError(
                f"a block of {index.shape[1]} frames of {gh}×{gw} maps has {positions.shape[0]} feature positions, "
                f"fewer than the {h.position_words} position words",
                where="model.position_words",
                fix=f"model.position_words<={positions.shape[0]}, or a larger data.image_size / longer model.T",
            )
        position_codebook = fit_codebook(positions, h.position_words, h.codebook_seed)
        return torch.cat(
            [
                st_vlad(block_features(frames, c), codebook, positions, position_codebook, h.alpha)
                for c in chunks
            ]
        )

    def _write_figures(self, results: dict[str, retrieval_eval.LoopClosureResult], index: Tensor) -> None:
        run_dir = Path(self.trainer.default_root_dir)
        title = f"{self.hparams.mode}, T={index.shape[1]}"
        path = retrieval_eval.plot_pr_curves(run_dir / "pr_curve.png", results, title=title)
        log_image_file(self.loggers, "test/pr_curve", path)
        first = next(iter(results.values()))
        figure = match_figure(torch.cat(self._thumbs), index, first, int(self.hparams.match_figures))
        if figure is not None:
            publish_figure(self, "matches.png", figure, key="test/matches")
