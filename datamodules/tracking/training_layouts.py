"""Readers of the two video datasets SiamFC trains on, GOT-10k and ILSVRC2015-VID, as tracks of one object.

Neither dataset is on this machine (both need registration to download); the readers follow the published
layouts and are tested on folders built like them, returning ``text.Track``s (frames, OTB boxes, visibility).

* GOT-10k: ``<root>/train/list.txt`` names the sequence folders; each holds ``00000001.jpg ...``,
  ``groundtruth.txt`` (x, y, w, h, 0-based, one per frame) and ``absence.label`` (1 = object absent).
* ILSVRC2015-VID: ``Data/VID/train/<chunk>/<snippet>/000000.JPEG`` with one PASCAL-VOC XML per frame under
  ``Annotations/VID/train/<chunk>/<snippet>/000000.xml``; every ``trackid`` of a snippet is a track.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from datamodules.tracking.text import (
    Track,
    frame_range,
    numbered_frames,
    numeric_rows,
    read_text,
    visible_frames,
)
from zoo.errors import UserError

GOT10K_FIX = "use GOT-10k's train split as published: train/list.txt and one folder per sequence"
VID_FIX = "use ILSVRC2015's VID layout: Data/VID/train/... images and Annotations/VID/train/... XML files"


def read_got10k(root: str | Path, split: str = "train") -> list[Track]:
    """Every sequence of a GOT-10k split listed in ``<root>/<split>/list.txt``."""
    base = Path(root) / split
    names = [line.strip() for line in read_text(base / "list.txt", "GOT-10k sequence list", GOT10K_FIX)]
    tracks = []
    for name in filter(None, names):
        folder = base / name
        boxes = numeric_rows(folder / "groundtruth.txt", (4,), "GOT-10k ground truth", GOT10K_FIX)
        images = numbered_frames(folder, f"GOT-10k sequence {name}")
        frames = frame_range(images, 1, len(boxes), folder, f"GOT-10k sequence {name}")
        absent_file = folder / "absence.label"
        absent = (
            numeric_rows(absent_file, (1,), "GOT-10k absence labels", GOT10K_FIX)[:, 0].astype(bool)
            if absent_file.is_file()
            else np.zeros(len(boxes), dtype=bool)
        )
        if len(absent) != len(boxes):
            raise UserError(
                f"GOT-10k sequence {name}: {len(absent)} absence labels for {len(boxes)} boxes",
                where=str(absent_file),
                fix=GOT10K_FIX,
            )
        boxes = boxes.copy()
        boxes[:, :2] += 1.0  # GOT-10k's pixel (0, 0) is OTB's (1, 1)
        visible = ~absent & visible_frames(boxes)
        tracks.append(Track(f"got10k/{name}", frames, boxes, visible))
    return tracks


def _vid_objects(path: Path) -> dict[int, tuple[float, float, float, float]]:
    """{trackid: (xmin, ymin, xmax, ymax)} of one VID annotation file."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise UserError(
            f"VID annotation {path.name} is not valid XML ({err})", where=str(path), fix=VID_FIX
        ) from None
    objects = {}
    for obj in root.iter("object"):
        try:
            box = obj.find("bndbox")
            coords = tuple(float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            objects[int(obj.findtext("trackid"))] = coords
        except (AttributeError, TypeError, ValueError):
            raise UserError(
                f"VID annotation {path.name} has an object without a numeric trackid and bndbox",
                where=str(path),
                fix=VID_FIX,
            ) from None
    return objects


def read_vid(root: str | Path, split: str = "train") -> list[Track]:
    """Every object track of an ILSVRC2015-VID split (snippets found under ``Data/VID/<split>``)."""
    data, annotations = Path(root) / "Data" / "VID" / split, Path(root) / "Annotations" / "VID" / split
    if not data.is_dir():
        raise UserError(f"no VID images under {data}", where=str(data), fix=VID_FIX)
    tracks = []
    for snippet in sorted(p for p in data.rglob("*") if p.is_dir() and any(p.glob("*.JPEG"))):
        images = sorted(snippet.glob("*.JPEG"))
        labels = [annotations / snippet.relative_to(data) / f"{image.stem}.xml" for image in images]
        per_frame = [_vid_objects(label) if label.is_file() else {} for label in labels]
        for trackid in sorted({k for objects in per_frame for k in objects}):
            boxes = np.zeros((len(images), 4))
            visible = np.zeros(len(images), dtype=bool)
            for t, objects in enumerate(per_frame):
                if trackid in objects:
                    x0, y0, x1, y1 = objects[trackid]
                    boxes[t] = (
                        x0 + 1,
                        y0 + 1,
                        x1 - x0 + 1,
                        y1 - y0 + 1,
                    )  # VOC corners are inclusive, 0-based
                    visible[t] = True
            tracks.append(Track(f"vid/{snippet.relative_to(data)}/{trackid}", tuple(images), boxes, visible))
    return tracks
