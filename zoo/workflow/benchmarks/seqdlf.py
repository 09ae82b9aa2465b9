"""SeqDLF speed: feature extraction and block encoding (frames/s), and the query time against a large database.

``python -m zoo.workflow.benchmarks seqdlf``: each backbone in its own process (clean peak memory) extracts the
records' layer (-2) from batches of 16 random 224 × 224 frames (speed does not depend on the pixels), then VLAD
and ST-VLAD encode blocks of T = 3 frames against a random codebook of q = 512 words (k-means is fitted once per
sequence, so it is not in the per-frame path). The query time is one block's cosine similarity against a
database of 10,000 L2-normalised codes of the records' length (one matrix product, then the best match), in
float32; the database's size in memory is given beside it.
"""

from __future__ import annotations

import argparse
import json

import torch

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import in_subprocess, peak_memory_mib, publish, time_per_call

BACKBONES = {"EfficientNet-Lite0, ImageNet": ("efficientnet_lite0", "imagenet"), "VGG16": ("vgg16", "random")}
BATCH, SIZE, T, WORDS, POSITION_WORDS, DATABASE = 16, 224, 3, 512, 32, 10_000


def rates(label: str, device_name: str, repeats: int, database: int) -> dict[str, float]:
    """Frames/s of extraction and of VLAD / ST-VLAD encoding, query ms against ``database`` codes, peak memory."""
    from lightning_modules.components.deep_local_features import LayerFeatures
    from lightning_modules.components.vlad import (
        block_features,
        blocks,
        feature_positions,
        l2_normalize,
        local_features,
        st_vlad,
        vlad,
    )

    device = torch.device(device_name)
    torch.manual_seed(0)
    extractor = LayerFeatures(*BACKBONES[label], layer=-2).to(device)
    frames = torch.rand(BATCH, 3, SIZE, SIZE, device=device)
    with torch.no_grad():
        extract_s = time_per_call(lambda: extractor(frames), device, 1, repeats)
        maps = extractor(frames)
    _, d, h, w = maps.shape
    features = l2_normalize(local_features(maps))  # [frames, h·w, d]
    index = blocks(BATCH, T, stride=1)  # the records' stride-1 blocks: one block per frame
    block = block_features(features, index)
    centroids = l2_normalize(torch.randn(WORDS, d, device=device))
    positions = feature_positions(h, w, T).to(device)
    position_centroids = torch.rand(POSITION_WORDS, 3, device=device)
    vlad_s = time_per_call(lambda: vlad(block, centroids), device, 1, repeats)
    st_vlad_s = time_per_call(
        lambda: st_vlad(block, centroids, positions, position_centroids), device, 1, repeats
    )
    code = vlad(block[:1], centroids)
    codes = torch.randn(database, code.shape[1], device=device)
    codes /= codes.norm(dim=1, keepdim=True)  # in place: VGG16's 10,000 codes alone fill about 10 GB
    query_s = time_per_call(lambda: (codes @ code[0]).max(), device, 2, repeats)
    return {
        "extract_fps": BATCH / extract_s,
        "vlad_fps": len(index) / vlad_s,
        "st_vlad_fps": len(index) / st_vlad_s,
        "query_ms": 1000 * query_s,
        "code_length": float(code.shape[1]),
        "database_mib": codes.numel() * codes.element_size() / 2**20,
        "grid": float(h * w),
        "dim": float(d),
        "peak_mib": peak_memory_mib(device),
    }


def main(repeats: int = 5, database: int = DATABASE) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = {
        (device, label): in_subprocess(
            "zoo.workflow.benchmarks.seqdlf",
            *(
                "--backbone",
                label,
                "--device",
                device,
                "--repeats",
                str(repeats),
                "--database",
                str(database),
            ),
        )
        for device in devices
        for label in BACKBONES
    }
    lines = [
        f"SeqDLF benchmark — {cpu_name()}, {torch.get_num_threads()} threads; median over {repeats} calls; "
        f"batches of {BATCH} random {SIZE} × {SIZE} frames, layer -2, T = {T}, q = {WORDS} (ST-VLAD q2 = "
        f"{POSITION_WORDS}); query: one block against {database:,} codes.",
        "",
        "| device | backbone (layer -2) | local features per frame | extraction frames/s | VLAD blocks/s "
        "| ST-VLAD blocks/s | VLAD length | query ms (database MiB) | peak memory (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (device, label), row in rows.items():
        lines.append(
            f"| {device} | {label} | {row['grid']:.0f} × {row['dim']:.0f} | {row['extract_fps']:.1f} "
            f"| {row['vlad_fps']:.1f} | {row['st_vlad_fps']:.1f} | {row['code_length']:,.0f} "
            f"| {row['query_ms']:.1f} ({row['database_mib']:,.0f}) | {row['peak_mib']:,.0f} |"
        )
    publish("seqdlf", "\n".join(lines) + "\n", {"|".join(key): row for key, row in rows.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", choices=tuple(BACKBONES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database", type=int, default=DATABASE)
    args = parser.parse_args()
    if args.backbone is None:
        main(args.repeats, args.database)
    else:
        print(json.dumps(rates(args.backbone, args.device, args.repeats, args.database)))
