"""The published sample of UD-TN (Tianjin Medical University Cancer Institute and Hospital): 26 files, 25 images.

Layout: ``Sample of {Traindata,Testdata,Smalltest}/{Benign,Malignant}/<id>.jpg`` (upstream folder names, with
spaces). Labels are the folder names (Benign → 0, Malignant → 1), from fine-needle aspiration biopsy (the
data folder's MANIFEST): the kind of label the FAN paper uses, unlike DDTI's TI-RADS grades. UD-TN comes
from the paper's hospital, but this sample is all that is public (the full set has 2,000 images).

The sample is an evaluation set only (25 images train nothing): every image is a test image, whatever its
upstream folder, which is kept as a tag. A file found in two folders with identical bytes (``1000052.jpg``
is in both ``Testdata/Benign`` and ``Smalltest/Benign``) counts once, with both folders named in its tags and
in the log; identical bytes under two labels are an error.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from datamodules.ultrasound.records import UltrasoundImage
from zoo.errors import UserError

log = logging.getLogger(__name__)

SUBSETS = ("Traindata", "Testdata", "Smalltest")
CLASS_FOLDERS = {"Benign": 0, "Malignant": 1}
FILES_IN_SAMPLE = 26


def read_udtn(root: Path) -> tuple[list[UltrasoundImage], list[tuple[str, str]]]:
    """The distinct images under ``root`` (the ``UD-TN_sample/`` folder) sorted by id, and the duplicates dropped.

    Duplicates are (dropped file, kept file) pairs, relative to ``root``.
    """
    files = sorted(
        (path, CLASS_FOLDERS[path.parent.name], subset)
        for subset in SUBSETS
        for path in (root / f"Sample of {subset}").glob("*/*.jpg")
        if path.parent.name in CLASS_FOLDERS
    )
    if not files:
        raise UserError(
            f"no UD-TN images under {root}",
            where=str(root),
            fix="expected 'Sample of {Traindata,Testdata,Smalltest}/{Benign,Malignant}/<id>.jpg' (the "
            "Sample-of-UD-TN repository's layout); copy it there or set data.download=true",
        )
    by_digest: dict[str, UltrasoundImage] = {}
    duplicates: list[tuple[str, str]] = []
    for path, label, subset in sorted(files, key=lambda f: (f[0].name, SUBSETS.index(f[2]))):
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            raise UserError(f"cannot read the image ({err})", where=str(path), fix="re-download it") from None
        kept = by_digest.get(digest)
        if kept is None:
            rel = path.relative_to(root).as_posix()
            tags = {"subsets": subset, "file": rel}
            by_digest[digest] = UltrasoundImage(
                path.stem, path, None, label, path.stem, f"folder {rel}", tags
            )
            continue
        if kept.label != label:
            raise UserError(
                f"{path.relative_to(root)} and {kept.tags['file']} are the same image under different labels",
                where=str(path),
                fix="remove the copy whose folder (Benign / Malignant) is wrong",
            )
        kept.tags["subsets"] += f"+{subset}"
        duplicates.append((path.relative_to(root).as_posix(), kept.tags["file"]))
    images = sorted(by_digest.values(), key=lambda i: i.key)
    for dropped, kept_file in duplicates:
        log.info("UD-TN: %s has the same bytes as %s; counted once", dropped, kept_file)
    log.info(
        "UD-TN sample: %d files, %d distinct images (%d benign, %d malignant) under %s",
        len(files),
        len(images),
        sum(i.label == 0 for i in images),
        sum(i.label == 1 for i in images),
        root,
    )
    if len(files) != FILES_IN_SAMPLE:
        log.warning("UD-TN: found %d files, the published sample has %d", len(files), FILES_IN_SAMPLE)
    return images, duplicates
