"""Image sequences of the loop-closure sets: their public folder layouts, time-ordered frame lists, pixels.

Frame order is time order, so files are sorted by the *number* in their name (``10.jpg`` after ``9.jpg``, a
RAWSEEDS time stamp as a float), never by the raw string. The layouts (folders under ``data.root``):

- ``lip6outdoor``: ``Lip6Outdoor/images/outdoor_kennedylong_000000.jpg`` … ``_001062`` (the shared JPEG copy) or
  the original ``.ppm`` files (Angeli et al. 2008; 1,063 frames at 1 Hz); also ``Lip6Outdoor/`` directly.
- ``lip6indoor``: ``Lip6Indoor/images/<prefix>_<number>.ppm|jpg`` (388 frames; any prefix, trailing number).
- ``newcollege`` / ``citycentre`` (Cummins & Newman 2008, FAB-MAP release): ``NewCollege/Images/0001.jpg`` …
  ``2146.jpg`` and ``CityCentre/Images/0001.jpg`` … ``2474.jpg``, left and right camera interleaved (odd file
  numbers left, even right, i.e. 0-based positions 0, 2, … left). New College's 2146 × 2146 matrix has a row
  per image; City Centre's 1237 × 1237 one per left/right pair.
- ``bovisa_outdoor`` / ``bovisa_mixed`` (RAWSEEDS 2008-10-04 / 2008-10-06): ``<folder>/FRONTAL/FRONTAL_<unix
  time>.png``; their matrices are not in the shared data (give ``ground_truth=`` to the datamodule).
- ``kitti00`` / ``02`` / ``05`` / ``06`` (KITTI odometry): ``KITTI/sequences/NN/image_2/000000.png`` (colour left;
  ``image_0``, grey left, is used when ``image_2`` is absent).
- ``corridor`` (VPR-Bench, Milford 2013): ``VPRBench_corridor/{query,ref}/0000000.jpg`` and ``ground_truth.txt``.

A missing or undecodable image is a ``UserError`` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datamodules import image_files
from zoo.errors import UserError

IMAGE_SUFFIXES = ("jpg", "jpeg", "png", "ppm", "pgm", "bmp")
_ANY = "|".join(IMAGE_SUFFIXES)
GT = "ground_truth/original_mat"


@dataclass(frozen=True)
class Layout:
    """One dataset's files: image folders (first existing wins), frame-name pattern, ground truth, cameras.

    ``pattern``: a regex over the file name whose group ``n`` is the frame number (time order).
    ``cameras``: images per place, interleaved (2 for New College / City Centre). ``matrix_rows``: ``image``
    when the ground truth has a row per image, ``place`` when it has one per place (all cameras share it).
    """

    name: str
    folders: tuple[str, ...]
    pattern: str
    ground_truth: str | None
    variable: str | None = None
    cameras: int = 1
    matrix_rows: str = "image"
    rate_hz: float | None = None
    citation: str = ""


def _kitti(seq: str, gt: str, var: str) -> Layout:
    folders = tuple(f"KITTI/sequences/{seq}/{cam}" for cam in ("image_2", "image_0"))
    return Layout(f"kitti{seq}", folders, r"(?P<n>\d{6})\.png", f"{GT}/{gt}", var, rate_hz=10.0,
                  citation="Geiger et al., CVPR 2012 (KITTI odometry)")  # fmt: skip


LAYOUTS: dict[str, Layout] = {
    "lip6outdoor": Layout(
        "lip6outdoor",
        ("Lip6Outdoor/images", "Lip6Outdoor"),
        rf"outdoor_kennedylong_(?P<n>\d+)\.(?:{_ANY})",
        f"{GT}/Lip6OutdoorGroundTruth.mat",
        "truth",
        rate_hz=1.0,
        citation="Angeli et al., IEEE T-RO 2008",
    ),
    "lip6indoor": Layout(
        "lip6indoor",
        ("Lip6Indoor/images", "Lip6Indoor"),
        rf"(?:.*\D)?(?P<n>\d+)\.(?:{_ANY})",
        f"{GT}/Lip6IndoorGroundTruth.mat",
        "truth",
        rate_hz=1.0,
        citation="Angeli et al., IEEE T-RO 2008",
    ),
    "newcollege": Layout(
        "newcollege",
        ("NewCollege/Images", "NewCollege"),
        r"(?P<n>\d+)\.jpg",
        f"{GT}/NewCollegeGroundTruth.mat",
        "truth",
        cameras=2,
        matrix_rows="image",
        citation="Cummins & Newman, IJRR 2008",
    ),
    "citycentre": Layout(
        "citycentre",
        ("CityCentre/Images", "CityCentre"),
        r"(?P<n>\d+)\.jpg",
        f"{GT}/city_GT_final.mat",
        "GT",
        cameras=2,
        matrix_rows="place",
        citation="Cummins & Newman, IJRR 2008",
    ),
    "bovisa_outdoor": Layout(
        "bovisa_outdoor",
        ("Bovisa_2008-10-04/FRONTAL",),
        r"FRONTAL_(?P<n>\d+(?:\.\d+)?)\.png",
        None,
        rate_hz=30.0,
        citation="Ceriani et al., Autonomous Robots 2009 (RAWSEEDS)",
    ),
    "bovisa_mixed": Layout(
        "bovisa_mixed",
        ("Bovisa_2008-10-06/FRONTAL",),
        r"FRONTAL_(?P<n>\d+(?:\.\d+)?)\.png",
        None,
        rate_hz=30.0,
        citation="Ceriani et al., Autonomous Robots 2009 (RAWSEEDS)",
    ),
    "kitti00": _kitti("00", "groundTruth_KITTI00.mat", "groundTruthMatrixKITTI00_ICRA18"),
    "kitti02": _kitti("02", "kitti02GroundTruth.mat", "truth"),
    "kitti05": _kitti("05", "groundTruth_KITTI_05.mat", "groundTruthMatrixKITTI05_ICRA18"),
    "kitti06": _kitti("06", "kitti06GroundTruth.mat", "truth"),
    # one's own sequence: every image directly in data.root, in the order of the last number in its name
    # (frame_000123.png), scored against data.ground_truth (required)
    "frames": Layout("frames", (".",), rf".*?(?P<n>\d+)\.(?:{_ANY})", None, citation="a user's own sequence"),
    "corridor": Layout(
        "corridor",
        ("VPRBench_corridor",),
        r"(?P<n>\d+)\.jpg",
        "VPRBench_corridor/ground_truth.txt",
        citation="Milford, IJRR 2013; VPR-Bench (Zaffar et al., IJCV 2021)",
    ),
}


def image_folder(root: Path, layout: Layout) -> Path | None:
    """The first of the layout's folders under ``root`` that exists, or None."""
    return next((root / f for f in layout.folders if (root / f).is_dir()), None)


def list_frames(folder: Path, pattern: str) -> list[Path]:
    """The files of ``folder`` whose names match ``pattern``, in time order (by the number ``n``).

    Two files with the same number (``x_000001.jpg`` and ``x_000001.ppm``) are refused: one frame would count
    twice and shift every later frame against the ground truth.
    """
    regex = re.compile(pattern, re.IGNORECASE)
    numbered: dict[float, Path] = {}
    for path in folder.iterdir():
        match = regex.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        key = float(match.group("n"))
        if key in numbered:
            raise UserError(
                f"two files are frame {match.group('n')}: {numbered[key].name} and {path.name}",
                where=str(folder),
                fix="keep one file per frame (e.g. only the .jpg or only the .ppm copies)",
            )
        numbered[key] = path
    return [numbered[k] for k in sorted(numbered)]


def check_count(frames: list[Path], expected: int, where: str, what: str = "ground-truth matrix") -> None:
    """Refuse a sequence whose length differs from the matrix size, naming the first gap in the numbering."""
    if len(frames) == expected:
        return
    detail = ""
    numbers = [int(found[-1]) for found in (re.findall(r"\d+", p.stem) for p in frames) if found]
    numbers = [] if any("." in p.stem for p in frames) else numbers  # time stamps: no gap to name
    if numbers:
        gaps = np.flatnonzero(np.diff(numbers) > 1)
        if gaps.size:
            detail = f"; the numbering jumps from {numbers[gaps[0]]} to {numbers[gaps[0] + 1]}"
    raise UserError(
        f"{len(frames)} frames but the {what} is {expected} × {expected}{detail}",
        where=where,
        fix="the folder must hold every frame of the sequence, one file each (compare with the dataset's "
        "MANIFEST.md / SHA256SUMS), and the matrix must be this sequence's",
    )


def select_camera(frames: list[Path], cameras: int, camera: str, where: str) -> list[Path]:
    """The frames of one camera of an interleaved stream (``left``: positions 0, 2, …), or all (``both``)."""
    if cameras == 1 or camera == "both":
        return frames
    if len(frames) % cameras:
        raise UserError(
            f"{len(frames)} images cannot be {cameras} interleaved cameras (not a multiple of {cameras})",
            where=where,
            fix="the folder must hold every left/right image pair",
        )
    return frames[{"left": 0, "right": 1}[camera] :: cameras]


def read_rgb(path: Path) -> np.ndarray:
    """The image as uint8 ``[H, W, 3]`` (grey is repeated); a UserError naming the file otherwise."""
    return image_files.read_rgb(
        path,
        missing_fix="put the frame back (see the MANIFEST.md)",
        undecodable_fix="replace the file by the published frame (delete it; data.download=true fetches it where "
        "a source is pinned)",
    )


def load_frames(frames: list[Path], size: tuple[int, int] | None) -> np.ndarray:
    """All frames as uint8 ``[N, 3, H, W]``, resized to ``size`` = (H, W) (bilinear, antialiased) when given.

    Without ``size`` every frame must have the first frame's size (a stack needs one shape).
    """
    from PIL import Image

    out: np.ndarray | None = None
    for i, path in enumerate(frames):
        rgb = read_rgb(path)
        if size is not None and rgb.shape[:2] != tuple(size):
            resized = Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BILINEAR)
            rgb = np.asarray(resized, dtype=np.uint8)
        if out is None:
            out = np.empty((len(frames), 3, *rgb.shape[:2]), dtype=np.uint8)
        elif rgb.shape[:2] != out.shape[2:]:
            raise UserError(
                f"frame is {rgb.shape[1]}×{rgb.shape[0]} px but the first frame is {out.shape[3]}×{out.shape[2]}",
                where=str(path),
                fix="set data.image_size to resize every frame to one size",
            )
        out[i] = rgb.transpose(2, 0, 1)
    return np.zeros((0, 3, *(size or (1, 1))), dtype=np.uint8) if out is None else out


@dataclass(frozen=True)
class Corridor:
    """VPR-Bench Corridor: reference and query traversals and ``matches[q, r]`` (query q shows ref r's place)."""

    ref: list[Path]
    query: list[Path]
    matches: np.ndarray

    def as_sequence(self) -> tuple[list[Path], np.ndarray]:
        """One loop-closure sequence: the reference run, then the query run (frame nr + q revisits ref r)."""
        nr, nq = len(self.ref), len(self.query)
        matrix = np.zeros((nr + nq, nr + nq), dtype=bool)
        matrix[nr:, :nr] = self.matches
        return self.ref + self.query, matrix


def read_corridor_matches(path: Path, n_query: int, n_ref: int) -> np.ndarray:
    """``ground_truth.txt`` (``q: r1,r2,…`` per line, 0-based) as bool ``[n_query, n_ref]``.

    The text form is read, not ``ground_truth_new.npy``: that file is a pickled object array, and pickles are
    never loaded here.
    """
    if not path.is_file():
        raise UserError(
            "the Corridor ground truth (ground_truth.txt) is missing",
            where=str(path),
            fix="copy VPRBench_corridor/ground_truth.txt of the shared data, or set data.download=true "
            "(ground_truth_new.npy alone is a pickle, which is not loaded)",
        )
    matches = np.zeros((n_query, n_ref), dtype=bool)
    seen = np.zeros(n_query, dtype=bool)
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+(?:\s*,\s*\d+)*)?\s*", line)
        refs = [] if match is None or match.group(2) is None else [int(r) for r in match.group(2).split(",")]
        if match is None or int(match.group(1)) >= n_query or any(r >= n_ref for r in refs):
            raise UserError(
                f"expected 'query: ref,ref,…' with query < {n_query} and refs < {n_ref}, got {line.strip()!r}",
                where=f"{path} line {number}",
                fix="0-based indices into the query/ and ref/ folders (sorted by name)",
            )
        seen[int(match.group(1))] = True
        matches[int(match.group(1)), refs] = True
    if not seen.all():
        raise UserError(
            f"{int((~seen).sum())} queries have no line, e.g. query {int(np.flatnonzero(~seen)[0])}",
            where=str(path),
            fix="one line per query image",
        )
    return matches


def read_corridor(folder: Path) -> Corridor:
    """``folder/query``, ``folder/ref`` (same number of images) and ``folder/ground_truth.txt``."""
    parts = {}
    for part in ("query", "ref"):
        if not (folder / part).is_dir():
            raise UserError(
                f"no {part}/ folder", where=str(folder / part), fix="copy the VPRBench_corridor folder"
            )
        parts[part] = list_frames(folder / part, LAYOUTS["corridor"].pattern)
        if not parts[part]:
            raise UserError(f"no images in {part}/", where=str(folder / part), fix="copy the folder's images")
    matches = read_corridor_matches(folder / "ground_truth.txt", len(parts["query"]), len(parts["ref"]))
    return Corridor(parts["ref"], parts["query"], matches)
