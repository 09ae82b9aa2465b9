"""LEARN on BlogCatalog: vertex-domination sampler pairs/s and training pairs/s (CPU; and GPU when present).

``python -m zoo.workflow.benchmarks learn`` (needs ``DATA_DIR`` with graphs/blogcatalog).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from zoo.errors import UserError
from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import publish, time_per_call


def sampler_rate(
    graph, num_walks: int = 20, walk_length: int = 6
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """The experiment's sampler on the whole graph; returns its rate and the pairs (the training benchmark's input)."""
    from datamodules.graphs.sampling import learn_pairs

    rowptr, col, _ = graph.to_csr()
    start = time.perf_counter()
    pairs = learn_pairs(
        rowptr,
        col,
        num_walks=num_walks,
        walk_length=walk_length,
        alpha=0.6,
        generator=torch.Generator().manual_seed(0),
    )
    seconds = time.perf_counter() - start
    rate = {"pairs": pairs["u"].numel(), "seconds": seconds, "pairs_per_s": pairs["u"].numel() / seconds}
    return rate, pairs


def training_rate(
    graph, pairs: dict[str, torch.Tensor], device_name: str, batch_size: int = 4096, steps: int = 10
) -> float:
    """Pairs/s of LEARN's real training step (``Learn._loss``: distinct vertices embedded once) + Adam."""
    from lightning_modules.learn import Learn, SiameseTower

    device = torch.device(device_name)
    rowptr, col, weight = graph.to_csr()
    torch.manual_seed(0)
    module = Learn()
    module.tower = SiameseTower(rowptr, col, weight)
    module.to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    take = torch.randperm(pairs["u"].numel(), generator=torch.Generator().manual_seed(0))[:batch_size]
    batch = tuple(pairs[key][take].to(device) for key in ("v", "u"))
    batch += (pairs["relation"][take].float().to(device),)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        module._loss(batch).backward()
        optimizer.step()

    return batch_size / time_per_call(step, device, warmup=2, repeats=steps)


def main() -> None:
    from datamodules.graphs import load_graph

    data_root = Path(os.environ.get("DATA_DIR", "data")) / "graphs"
    try:
        graph = load_graph("blogcatalog", data_root, Path(os.environ.get("ZOO_CACHE_DIR", ".cache")))
    except UserError as err:
        print(f"LEARN benchmark skipped: BlogCatalog is not available ({err})")
        return
    sampling, pairs = sampler_rate(graph)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    training = {device: training_rate(graph, pairs, device) for device in devices}
    epoch_pairs = 0.9 * sampling["pairs"]  # one epoch = the 90 % training share of one sampling (§5.3)
    lines = [
        f"LEARN benchmark — BlogCatalog ({graph.num_nodes:,} nodes), {cpu_name()}, {torch.get_num_threads()} threads.",
        "",
        f"Sampler (r=20, l=6, exact k-hop rings): {sampling['pairs']:,} pairs in {sampling['seconds']:.1f} s "
        f"= **{sampling['pairs_per_s']:,.0f} pairs/s** (CPU).",
        "",
        "| device | training pairs/s (batch 4096, tower 1000-512-128, adjacency input) | s per epoch |",
        "|---|---|---|",
        *(f"| {device} | {rate:,.0f} | {epoch_pairs / rate:,.0f} |" for device, rate in training.items()),
    ]
    table = "\n".join(lines) + "\n"
    publish("learn", table, {"sampler": sampling, "training": training})
