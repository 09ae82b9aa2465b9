"""LEARN on BlogCatalog: vertex-domination sampler pairs/s and training pairs/s (CPU; and GPU when present).

``python -m zoo.benchmarks learn`` (needs ``DATA_DIR`` with graphs/blogcatalog).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from zoo.benchmarks.measure import time_per_call
from zoo.io import atomic_write_text
from zoo.provenance import cpu_name

OUTPUT = Path("logs") / "bench" / "learn.md"


def sampler_rate(graph, num_walks: int = 20, walk_length: int = 6) -> dict[str, float]:
    from lightning_modules.components.graph_sampling import learn_pairs

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
    return {"pairs": pairs["u"].numel(), "seconds": seconds, "pairs_per_s": pairs["u"].numel() / seconds}


def training_rate(graph, device_name: str, batch_size: int = 1024, steps: int = 10) -> float:
    from lightning_modules.learn import SiameseTower

    device = torch.device(device_name)
    rowptr, col, weight = (t.to(device) for t in graph.to_csr())
    torch.manual_seed(0)
    tower = SiameseTower(rowptr, col, weight).to(device)
    head = torch.nn.Linear(128, 1).to(device)
    optimizer = torch.optim.Adam([*tower.parameters(), *head.parameters()], lr=1e-3)
    v = torch.randint(graph.num_nodes, (batch_size,), device=device)
    u = torch.randint(graph.num_nodes, (batch_size,), device=device)
    relation = torch.rand(batch_size, device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = head((tower(v) - tower(u)).abs()).squeeze(-1)
        torch.nn.functional.binary_cross_entropy_with_logits(logits, relation).backward()
        optimizer.step()

    return batch_size / time_per_call(step, device, warmup=2, repeats=steps)


def main() -> None:
    from datamodules.graphs import load_graph

    data_root = Path(os.environ.get("DATA_DIR", "data")) / "graphs"
    graph = load_graph("blogcatalog", data_root, Path(os.environ.get("ZOO_CACHE_DIR", ".cache")))
    sampling = sampler_rate(graph)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    training = {device: training_rate(graph, device) for device in devices}
    lines = [
        f"LEARN benchmark — BlogCatalog ({graph.num_nodes:,} nodes), {cpu_name()}, {torch.get_num_threads()} threads.",
        "",
        f"Sampler (r=20, l=6, exact k-hop rings): {sampling['pairs']:,} pairs in {sampling['seconds']:.1f} s "
        f"= **{sampling['pairs_per_s']:,.0f} pairs/s** (CPU).",
        "",
        "| device | training pairs/s (batch 1024, tower 1000-512-128, adjacency input) |",
        "|---|---|",
        *(f"| {device} | {rate:,.0f} |" for device, rate in training.items()),
    ]
    table = "\n".join(lines) + "\n"
    atomic_write_text(OUTPUT, table)
    atomic_write_text(
        OUTPUT.with_suffix(".json"), json.dumps({"sampler": sampling, "training": training}, indent=2)
    )
    print(table)
    print(f"written to {OUTPUT}")
