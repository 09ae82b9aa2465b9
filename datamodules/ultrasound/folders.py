"""A researcher's own ultrasound images in class folders: ``<root>/Benign/*``, ``<root>/Malignant/*``.

The layout UD-TN and most hospital exports use, so FAN and its baselines train on one's own data with
``data=ultrasound_folders data.root=<root>``. Folder names are matched case-insensitively; any PNG / JPEG /
BMP / TIFF file inside is an image. Optional nodule masks: ``<root>/masks/<image stem>.png`` (white = nodule,
same size as its image), scored by the CAM localisation metrics. The case (patient) id that the folds group by
is the file stem up to the first ``case_separator`` (``_``: ``p017_2.png`` and ``p017_5.png`` are one case), so
images of one patient never sit in both train and test; a stem without the separator is its own case.
"""

from __future__ import annotations

import logging
from pathlib import Path

from datamodules.ultrasound.records import CLASS_NAMES, UltrasoundImage
from zoo.errors import UserError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MASK_FOLDER = "masks"


def read_class_folders(root: Path, case_separator: str = "_") -> list[UltrasoundImage]:
    """The images under ``root``'s class folders, sorted by (label, file name), with their masks and cases."""
    folders = {p.name.lower(): p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    missing = [name for name in CLASS_NAMES if name not in folders]
    if missing:
        raise UserError(
            f"no {' and no '.join(n.capitalize() + '/' for n in missing)} folder under {root}",
            where=str(root),
            fix="put each image in <root>/Benign/ or <root>/Malignant/ (masks, optional, in <root>/masks/ "
            "named like their image, .png)",
        )
    images: list[UltrasoundImage] = []
    for label, name in enumerate(CLASS_NAMES):
        files = sorted(p for p in folders[name].iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UserError(
                f"the {folders[name].name}/ folder holds no image ({', '.join(IMAGE_SUFFIXES)})",
                where=str(folders[name]),
                fix="both classes need images to train and to score",
            )
        for path in files:
            mask = root / MASK_FOLDER / f"{path.stem}.png"
            case = path.stem.split(case_separator, 1)[0] if case_separator else path.stem
            rel = path.relative_to(root).as_posix()
            images.append(
                UltrasoundImage(
                    f"{name}/{path.stem}",
                    path,
                    mask if mask.is_file() else None,
                    label,
                    case,
                    f"folder {rel}",
                )
            )
    keys = [image.key for image in images]
    if len(set(keys)) != len(keys):
        raise UserError(
            "two files in one class folder share a name stem (e.g. x.png and x.jpg)",
            where=str(root),
            fix="rename one: the stem names the image and its mask",
        )
    log.info(
        "own data: %d images (%d benign, %d malignant, %d with masks, %d cases) under %s",
        len(images),
        sum(i.label == 0 for i in images),
        sum(i.label == 1 for i in images),
        sum(i.mask is not None for i in images),
        len({i.case for i in images}),
        root,
    )
    return images
