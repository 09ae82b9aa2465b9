"""Where the public ultrasound sets come from, their pinned checksums, and the download.

The FAN paper's 7,216 hospital images (Tianjin Medical University Cancer Institute and Hospital) are private;
DDTI is the public stand-in and the UD-TN sample (same hospital, 25 images) an evaluation set. Both are fetched
file by file from pinned commits of the GitHub copies the shared data folder was made from, each file checked
against the sha256 in ``ultrasound.sha256`` (the data folder's ``SHA256SUMS``), so a download can never put a
different file where the readers trust it. Offline, a missing folder is a ``UserError`` that says what to put
where.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from zoo.download import download_file
from zoo.errors import UserError

CHECKSUMS = Path(__file__).with_name("ultrasound.sha256")
# folder under data.root -> (upstream, URL of one file given its path inside the folder)
SOURCES = {
    "DDTI": (
        "lissomx/LTQ @ 2bb5446bd5d6d60abd12d6b3a07632afd4489766, Dataset/DDTI/ (a copy of the DDTI database, "
        "Pedraza et al., Proc. SPIE 9287, 2015; open access, cite the paper)",
        "https://raw.githubusercontent.com/lissomx/LTQ/2bb5446bd5d6d60abd12d6b3a07632afd4489766/Dataset/DDTI/{path}",
    ),
    "UD-TN_sample": (
        "18811755633/Sample-of-UD-TN @ 0a700ce0ca8d3554f06484f22a96aa694c0a0b10 (the published sample of UD-TN)",
        "https://raw.githubusercontent.com/18811755633/Sample-of-UD-TN/0a700ce0ca8d3554f06484f22a96aa694c0a0b10/{path}",
    ),
}
LAYOUTS = {
    "DDTI": "DDTI/<case>_<n>.a.jpg (image), DDTI/<case>_<n>.b.jpg (mask) and DDTI/label.txt",
    "UD-TN_sample": "UD-TN_sample/Sample of {Traindata,Testdata,Smalltest}/{Benign,Malignant}/<id>.jpg",
}


def pinned_checksums(folder: str) -> dict[str, str]:
    """path inside ``folder`` → sha256, for every published file of ``folder`` (DDTI or UD-TN_sample)."""
    out = {}
    for line in CHECKSUMS.read_text().splitlines():
        if line.strip():
            digest, path = line.split(maxsplit=1)
            top, _, rest = path.partition("/")
            if top == folder:
                out[rest] = digest
    return out


def missing_data(root: Path, folder: str, problem: str, download: bool) -> UserError:
    """The error for absent data: what is expected where, and every way to get it."""
    upstream, _ = SOURCES[folder]
    return UserError(
        f"{problem}; expected {root}/{LAYOUTS[folder]}",
        where=f"data.root={root}",
        fix=f"copy the {folder} folder of the shared data (or of {upstream}) to {root / folder}, "
        "or point DATA_DIR / data.root at the folder that holds it, or set data.download=true"
        + (" (it is already true: check the network)" if download else ""),
    )


def fetch(root: Path, folder: str) -> int:
    """Download every missing published file of ``folder`` into ``root/folder``; returns how many it fetched."""
    upstream, url = SOURCES[folder]
    fetched = 0
    for path, digest in pinned_checksums(folder).items():
        dest = root / folder / path
        if dest.is_file():
            continue
        download_file(
            url.format(path=quote(path)),
            dest,
            sha256=digest,
            where=f"data.download=true -> {dest}",
            hint=f"source: {upstream}",
        )
        fetched += 1
    return fetched


def verify(root: Path, folder: str, paths: list[Path]) -> None:
    """Refuse a file whose bytes differ from the published one (files of other names are not checked)."""
    pinned = pinned_checksums(folder)
    for path in paths:
        rel = path.relative_to(root / folder).as_posix()
        if rel in pinned and hashlib.sha256(path.read_bytes()).hexdigest() != pinned[rel]:
            raise UserError(
                f"{path.name} differs from the published file ({SOURCES[folder][0]})",
                where=str(path),
                fix="delete it and set data.download=true to fetch the published one, or "
                "data.verify_checksums=false to use your own files",
            )
