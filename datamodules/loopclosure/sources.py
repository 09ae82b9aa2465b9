"""Where the public loop-closure data come from, pinned to commits and checksums, and the download.

Pinned (the shared data folder was made from exactly these; see its MANIFEST.md):

- ground-truth matrices: ``KN-Zhang/loop-closure-detection-evaluation-codes`` @ 607baa4, ``GT/*.mat`` — sha256 in
  ``loopclosure.sha256`` (the data folder's ``SHA256SUMS``).
- Lip6 Outdoor: ``nschejtman/deepLoopCloser`` @ 67bb28a, ``datasets/outdoor_kennedylong/*.ppm`` — the original
  PPM frames, checked against the SHA-1 list ``lip6outdoor_ppm.sha1`` (the shared copy is a JPEG re-encoding
  of them, so its sha256 cannot pin a download).
- VPR-Bench Corridor: ``MubarizZaffar/VPR-Bench`` @ 77ad30f, ``datasets/corridor/`` — images sha256-pinned.
  Its ground truth there is a pickle (``ground_truth_new.npy``), which is fetched and pinned but never loaded:
  ``ground_truth.txt`` is written from the published rule (query i matches ref i-2 … i+2, clipped) and must
  hash to the shared copy's pinned sha256, so it is byte-identical to the text made from the pickle.

New College, City Centre, Bovisa and KITTI images have no pinned public copy: ``download=true`` says where to
get them by hand. Every download goes through ``zoo.download.download_file`` (staged, then renamed in place).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from zoo.download import download_file
from zoo.errors import UserError
from zoo.io import atomic_write_text

HERE = Path(__file__).parent
CHECKSUMS = HERE / "loopclosure.sha256"
PPM_SHA1 = HERE / "lip6outdoor_ppm.sha1"
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
GT_REPO = (
    "KN-Zhang/loop-closure-detection-evaluation-codes",
    "607baa477062940a966c1dde7e790a1a4d965af8",
    "GT",
)
LIP6_REPO = (
    "nschejtman/deepLoopCloser",
    "67bb28a4e2db23a46fe655e202b5b73035f14797",
    "datasets/outdoor_kennedylong",
)
VPR_REPO = ("MubarizZaffar/VPR-Bench", "77ad30f3684476717188c67d7f3f66be19f832af", "datasets/corridor")
MANUAL = {
    "lip6indoor": "the Lip6 Indoor frames (Angeli et al. 2008, the authors' Lip6 dataset page)",
    "newcollege": "the New College image set of the FAB-MAP release (Oxford Mobile Robotics Group)",
    "citycentre": "the City Centre image set of the FAB-MAP release (Oxford Mobile Robotics Group)",
    "bovisa_outdoor": "RAWSEEDS Bovisa 2008-10-04 (FRONTAL camera) and its loop-closure matrix",
    "bovisa_mixed": "RAWSEEDS Bovisa 2008-10-06 (FRONTAL camera) and its loop-closure matrix",
    "kitti": "the KITTI odometry colour images (data_odometry_color, registration on the KITTI site)",
}


def pinned_sha256(prefix: str) -> dict[str, str]:
    """path (relative to the data root's ``loopclosure`` layout) → sha256, for paths starting with ``prefix``."""
    out = {}
    for line in CHECKSUMS.read_text().splitlines():
        if line.strip():
            digest, path = line.split(maxsplit=1)
            if path.startswith(prefix):
                out[path] = digest
    return out


def pinned_ppm_sha1() -> dict[str, str]:
    """Lip6 Outdoor PPM file name → SHA-1 of the original frame."""
    pairs = (line.split(maxsplit=1) for line in PPM_SHA1.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def missing(root: Path, dataset: str, problem: str, expected: str, download: bool) -> UserError:
    """The error for absent data: what is expected where, and how to get it."""
    key = "kitti" if dataset.startswith("kitti") else dataset
    if key == "frames":
        how = "put your frames directly in data.root, each file name ending in its frame number (frame_000123.png)"
    elif key in MANUAL:
        how = f"get {MANUAL[key]} by hand (no pinned public copy) and put it at {expected}"
    else:
        how = (
            f"copy the loopclosure folder of the shared data to {root}, or point DATA_DIR / data.root at it, "
            "or set data.download=true" + (" (it is already true: check the network)" if download else "")
        )
    return UserError(f"{problem}; expected {expected}", where=f"data.root={root}", fix=how)


def _fetch(repo: tuple[str, str, str], name: str, dest: Path, sha256: str | None) -> None:
    url = RAW.format(repo=repo[0], commit=repo[1], path=quote(f"{repo[2]}/{name}"))
    download_file(url, dest, sha256=sha256, where=f"data.download=true -> {dest}", hint=f"source: {repo[0]}")


def fetch_ground_truth(root: Path, relative: str) -> bool:
    """Download one pinned ``ground_truth/original_mat/*.mat``; False if it is already there."""
    dest = root / relative
    if dest.is_file():
        return False
    digest = pinned_sha256(relative).get(relative)
    if digest is None:
        raise UserError(f"no pinned source for {relative}", where=str(dest), fix="put the file there by hand")
    _fetch(GT_REPO, Path(relative).name, dest, digest)
    return True


def fetch_lip6outdoor(folder: Path) -> int:
    """The 1,063 original PPM frames into ``folder``, each checked against its SHA-1; returns how many."""
    fetched = 0
    for name, sha1 in pinned_ppm_sha1().items():
        dest = folder / name
        if dest.is_file() or dest.with_suffix(".jpg").is_file():
            continue
        _fetch(LIP6_REPO, name, dest, None)
        if hashlib.sha1(dest.read_bytes()).hexdigest() != sha1:
            dest.unlink()
            raise UserError(
                f"the downloaded {name} is not the published frame (SHA-1 mismatch); it was deleted",
                where=str(dest),
                fix=f"download it by hand from {LIP6_REPO[0]} @ {LIP6_REPO[1][:7]} and check its SHA-1 is {sha1}",
            )
        fetched += 1
    return fetched


def corridor_text(n: int = 111, radius: int = 2) -> str:
    """``ground_truth.txt`` of VPR-Bench Corridor from the published rule (see the module docstring)."""
    lines = ["# query_index: comma-separated matching ref indices (0-based; from ground_truth_new.npy)"]
    for q in range(n):
        lines.append(
            f"{q}: " + ",".join(str(r) for r in range(max(0, q - radius), min(n - 1, q + radius) + 1))
        )
    return "\n".join(lines) + "\n"


def fetch_corridor(root: Path) -> int:
    """Query/ref images and the pinned pickle; then the text ground truth, checked against its pinned sha256."""
    fetched = 0
    for path, digest in pinned_sha256("VPRBench_corridor/").items():
        dest = root / path
        if dest.is_file() or path.endswith("ground_truth.txt"):
            continue
        _fetch(VPR_REPO, path.split("/", 1)[1], dest, digest)
        fetched += 1
    text_path = root / "VPRBench_corridor" / "ground_truth.txt"
    if not text_path.is_file():
        text = corridor_text()
        expected = pinned_sha256("VPRBench_corridor/ground_truth.txt")["VPRBench_corridor/ground_truth.txt"]
        if hashlib.sha256(text.encode()).hexdigest() != expected:  # pragma: no cover - guards the rule
            raise UserError("the Corridor rule no longer gives the pinned text", where=str(text_path))
        atomic_write_text(text_path, text)
    return fetched


def verify(root: Path, paths: list[Path]) -> None:
    """Refuse a file whose bytes differ from the pinned published one (unpinned names are not checked)."""
    pinned = pinned_sha256("")
    sha1 = pinned_ppm_sha1()
    for path in paths:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue
        if rel in pinned:
            ok = hashlib.sha256(path.read_bytes()).hexdigest() == pinned[rel]
        elif path.suffix == ".ppm" and path.name in sha1:
            ok = hashlib.sha1(path.read_bytes()).hexdigest() == sha1[path.name]
        else:
            continue
        if not ok:
            raise UserError(
                f"{path.name} differs from the published file",
                where=str(path),
                fix="restore it from the shared data folder (or delete it and set data.download=true), or set "
                "data.verify_checksums=false to use your own files",
            )
