"""DDTI (Pedraza et al., SPIE 9287, 2015): ``<case>_<n>.a.jpg`` images, ``<case>_<n>.b.jpg`` masks, ``label.txt``.

Labels come from ``DDTI/label.txt``, the upstream file: its 7th field is the TI-RADS grade, mapped as the
MANIFEST does (2, 3 → 0 benign; 4a, 4b, 4c, 5 → 1 malignant; ``None`` → unlabelled, left out with a log line).
``labels.csv`` next to ``DDTI/`` is derived from it; when present, ``check_labels_csv`` refuses a copy that
disagrees (naming its line) instead of silently preferring one. The 2nd field (``bening`` / ``maling`` / ``na``,
upstream spelling) is the folder the LTQ repository took the row from, not a diagnosis: it contradicts the
TI-RADS grade on 54 of its 129 tagged rows, so it is kept as a tag only.

TI-RADS is a radiologist's risk grade, not the biopsy the paper's labels come from: "malignant" here means
"suspicious (4a or above)". A row naming a missing image or mask, a malformed row, an unknown grade or a
repeated id is a ``UserError`` naming ``label.txt`` and the line.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from datamodules.ultrasound.records import UltrasoundImage
from zoo.errors import UserError

log = logging.getLogger(__name__)

TIRADS_LABELS: dict[str, int | None] = {"2": 0, "3": 0, "4a": 1, "4b": 1, "4c": 1, "5": 1, "None": None}
LABEL_FIELDS = (
    "id", "folder", "composition", "echogenicity", "margin", "calcification", "tirads", "sex", "age",
)  # fmt: skip
_ID = re.compile(r"([0-9]+)_([0-9]+)")
_FIX_ROW = (
    "each line of label.txt is 'id,folder,composition,echogenicity,margin,calcification,tirads,sex,age' "
    "with id '<case>_<n>' (an image <case>_<n>.a.jpg next to it) and tirads one of 2, 3, 4a, 4b, 4c, 5, None"
)


def _id_order(key: str) -> tuple[int, int]:
    case, number = _ID.fullmatch(key).groups()  # type: ignore[union-attr]
    return int(case), int(number)


def read_label_rows(path: Path) -> dict[str, tuple[int, list[str]]]:
    """``label.txt`` as {image id: (line number, the 9 fields)}; a malformed line is an error naming it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(
            "DDTI's label file is missing",
            where=str(path),
            fix="put DDTI's label.txt next to its images (see MANIFEST.md), or set data.download=true",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the label file ({err})", where=str(path), fix=_FIX_ROW) from None
    rows: dict[str, tuple[int, list[str]]] = {}
    for number, fields in enumerate(csv.reader(text.splitlines()), start=1):
        if not fields or not "".join(fields).strip():
            continue
        where = f"{path}:{number}"
        fields = [f.strip() for f in fields]
        if len(fields) != len(LABEL_FIELDS):
            raise UserError(
                f"expected {len(LABEL_FIELDS)} comma-separated fields, got {len(fields)}",
                where=where,
                fix=_FIX_ROW,
            )
        key, tirads = fields[0], fields[6]
        if not _ID.fullmatch(key):
            raise UserError(f"image id {key!r} is not '<case>_<n>'", where=where, fix=_FIX_ROW)
        if tirads not in TIRADS_LABELS:
            raise UserError(f"unknown TI-RADS grade {tirads!r} for {key}", where=where, fix=_FIX_ROW)
        if key in rows:
            raise UserError(
                f"image id {key} is listed twice (lines {rows[key][0]} and {number})",
                where=where,
                fix="keep one line per image",
            )
        rows[key] = (number, fields)
    return rows


def read_ddti(root: Path) -> tuple[list[UltrasoundImage], list[str]]:
    """The labelled images of ``root`` (the ``DDTI/`` folder) in id order, and the ids left out unlabelled.

    Every row's image and mask must exist; an image without a row counts as unlabelled.
    """
    label_file = root / "label.txt"
    rows = read_label_rows(label_file)
    on_disk = {
        p.name[: -len(".a.jpg")] for p in root.glob("*.a.jpg") if _ID.fullmatch(p.name[: -len(".a.jpg")])
    }
    images, unlabelled = [], sorted(on_disk - set(rows), key=_id_order)
    if unlabelled:
        log.info(
            "DDTI: %d image(s) without a line in %s, e.g. %s", len(unlabelled), label_file, unlabelled[0]
        )
    for key in sorted(rows, key=_id_order):
        number, fields = rows[key]
        image, mask = root / f"{key}.a.jpg", root / f"{key}.b.jpg"
        for file, what in ((image, "image"), (mask, "mask")):
            if not file.is_file():
                raise UserError(
                    f"the label row of {key} names {what} {file.name}, which is missing",
                    where=f"{label_file}:{number}",
                    fix=f"put {file.name} in {root} (see MANIFEST.md), or delete line {number}",
                )
        label = TIRADS_LABELS[fields[6]]
        if label is None:
            unlabelled.append(key)
            continue
        tags = {"tirads": fields[6], "folder": fields[1]}
        source = f"label.txt line {number}: TI-RADS {fields[6]}"
        images.append(UltrasoundImage(key, image, mask, label, key.split("_")[0], source, tags))
    unlabelled.sort(key=_id_order)
    log.info(
        "DDTI: %d labelled images (%d benign, %d malignant) from %s; %d unlabelled (no TI-RADS grade) left out",
        len(images),
        sum(i.label == 0 for i in images),
        sum(i.label == 1 for i in images),
        label_file,
        len(unlabelled),
    )
    return images, unlabelled


def check_labels_csv(path: Path, images: list[UltrasoundImage], unlabelled: list[str]) -> None:
    """Refuse a derived ``labels.csv`` whose DDTI rows disagree with ``label.txt`` (absent file: nothing to do)."""
    if not path.is_file():
        return
    expected: dict[str, int | None] = {f"DDTI/{i.image.name}": i.label for i in images}
    expected |= {f"DDTI/{key}.a.jpg": None for key in unlabelled}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not {"path", "dataset", "label"} <= set(reader.fieldnames or ()):
            raise UserError(
                "labels.csv lacks the columns path, dataset, label",
                where=f"{path}:1",
                fix="restore the file from the data folder, or delete it (label.txt is the source)",
            )
        for row in reader:
            if row["dataset"] != "DDTI":
                continue
            text = (row["label"] or "").strip()
            if text not in ("", "0", "1"):
                raise UserError(
                    f"label {text!r} of {row['path']} is not 0, 1 or blank",
                    where=f"{path}:{reader.line_num}",
                    fix="label.txt is the source: regenerate labels.csv from it, or delete labels.csv",
                )
            label = int(text) if text else None
            if row["path"] in expected and expected[row["path"]] != label:
                raise UserError(
                    f"labels.csv gives {row['path']} label {label}, label.txt's TI-RADS gives "
                    f"{expected[row['path']]}",
                    where=f"{path}:{reader.line_num}",
                    fix="label.txt is the source: regenerate labels.csv from it, or delete labels.csv",
                )
