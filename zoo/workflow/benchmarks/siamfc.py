"""SiamFC tracking speed per backbone, without and with online training, and where the time goes.

``python -m zoo.workflow.benchmarks siamfc``: each backbone tracks a synthetic 480 × 360 sequence (a textured
square drifting over a textured background; speed does not depend on the weights, so they are random) in a fresh
process. Columns: frames/s without online training (no-OT); with online training when JCPP stays below T_c (the
gate is evaluated, which costs one more search-crop forward pass, but no update runs); with online training that
updates on every frame (T_c = T_l = 0: the 4 SGD steps of §2.4 each frame, the worst case). The profile columns
split a no-OT frame: the backbone on the three scaled search crops vs everything else (crops, cross-correlation,
×16 bicubic upsampling, peak search).
"""

from __future__ import annotations

import argparse
import json

import torch

from zoo.provenance import cpu_name
from zoo.workflow.benchmarks.measure import in_subprocess, publish, time_per_call

BACKBONES = ("siamfc_alexnet", "alexnet", "inception_v3", "resnet34", "vgg19", "efficientnet_lite0")
MODES = {"no_ot": None, "ot_gate_closed": 1.01, "ot_every_frame": 0.0}  # T_c (JCPP never exceeds 1)


def synthetic_frames(count: int, height: int = 360, width: int = 480) -> tuple[torch.Tensor, torch.Tensor]:
    """``[count, 3, H, W]`` frames in [0, 1] with a 60 × 80 textured square moving 3 px right per frame, and
    its first box (cx, cy, w, h)."""
    generator = torch.Generator().manual_seed(0)
    background = torch.rand(3, height, width, generator=generator)
    patch = torch.rand(3, 80, 60, generator=generator) * 0.5 + 0.5
    frames = background.repeat(count, 1, 1, 1)
    for t in range(count):  # building the input, not the measured path
        x = 100 + 3 * t
        frames[t, :, 140:220, x : x + 60] = patch
    return frames, torch.tensor([130.0 + 0.0, 180.0, 60.0, 80.0])


def tracking_rate(backbone: str, mode: str, frames: int, device_name: str = "cpu") -> dict[str, float]:
    """Frames/s of ``SiamFCTracker.track`` (and, for no-OT, the backbone's share of a frame)."""
    from lightning_modules.components.siamfc_backbones import build_siamfc_network
    from lightning_modules.components.siamfc_tracker import OnlineConfig, SiamFCTracker

    device = torch.device(device_name)
    torch.manual_seed(0)
    network = build_siamfc_network(backbone, "random").eval().to(device)
    threshold = MODES[mode]
    online = OnlineConfig(enabled=threshold is not None)
    if threshold is not None:
        online = OnlineConfig(enabled=True, confidence_threshold=threshold, zero_loss_threshold=0.0)
    tracker = SiamFCTracker(network, online=online)
    optimizer = torch.optim.SGD(network.parameters(), lr=1e-3, momentum=0.9) if online.enabled else None
    video, box = synthetic_frames(frames + 1)
    video, box = video.to(device), box.to(device)
    tracker.initialise(video[0], box, optimizer)
    step = iter(range(1, frames + 1))
    seconds = time_per_call(lambda: tracker.track(video[next(step)]), device, 2, frames - 2)
    frames_seen = max(tracker.stats["frames"], 1)
    result = {
        "fps": 1.0 / seconds,
        "updates": tracker.stats["updates"] / frames_seen,
        "steps": tracker.stats["steps"] / frames_seen,  # eq. 5 stops early when the KL is exactly zero
    }
    if mode == "no_ot":
        crops = torch.rand(3, 3, 255, 255, device=device)
        with torch.no_grad():
            result["backbone_s"] = time_per_call(lambda: network(crops), device, 1, 5)
        result["frame_s"] = seconds
    return result


def main(frames: int = 20) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = {
        (device, backbone, mode): in_subprocess(
            "zoo.workflow.benchmarks.siamfc",
            *("--backbone", backbone, "--mode", mode, "--frames", str(frames), "--device", device),
        )
        for device in devices
        for backbone in BACKBONES
        for mode in MODES
    }
    lines = [
        f"SiamFC benchmark — {cpu_name()}, {torch.get_num_threads()} threads; median over {frames - 4} tracked "
        "frames of a synthetic 480 × 360 sequence, 3 scales, random weights (speed does not depend on them).",
        "",
        "| device | backbone | no-OT frames/s | OT, gate closed | OT, update every frame (SGD steps per frame) "
        "| backbone share of a no-OT frame |",
        "|---|---|---|---|---|---|",
    ]
    for device in devices:
        for backbone in BACKBONES:
            base, gate, every = (rows[(device, backbone, mode)] for mode in MODES)
            lines.append(
                f"| {device} | {backbone} | {base['fps']:.1f} | {gate['fps']:.1f} | {every['fps']:.1f} ({every['steps']:.1f} steps) "
                f"| {base['backbone_s'] / base['frame_s']:.0%} |"
            )
    table = "\n".join(lines) + "\n"
    publish("siamfc", table, {"|".join(k): v for k, v in rows.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", choices=BACKBONES)
    parser.add_argument("--mode", choices=tuple(MODES), default="no_ot")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.backbone is None:
        main(args.frames)
    else:
        print(json.dumps(tracking_rate(args.backbone, args.mode, args.frames, args.device)))
