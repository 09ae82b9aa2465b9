"""Thyroid ultrasound classification data (benign / malignant) for FAN (ICONIP 2019): DDTI and the UD-TN sample.

The paper's 7,216 images from Tianjin Medical University Cancer Institute and Hospital are private; DDTI (public,
TI-RADS grades, nodule masks) stands in for them and the public UD-TN sample (biopsy labels, the paper's
hospital) is a small evaluation set. One module per job; this package re-exports their public names:

- ``records``: one labelled image (``UltrasoundImage``), the image and mask file readers;
- ``ddti``: DDTI's ``label.txt`` (TI-RADS → label) and files, the ``labels.csv`` consistency check;
- ``udtn``: the UD-TN sample's folders (duplicate file counted once);
- ``folders``: one's own images in ``Benign/`` and ``Malignant/`` folders (masks optional);
- ``crop``: the scan-area crop (text and borders removed), the resize, the per-image layout features;
- ``duplicates``: near-duplicate pictures across case ids (DDTI has about 130), merged or dropped;
- ``splits``: case-grouped, stratified, seeded k-fold train / val / test;
- ``sources``: upstream URLs, pinned checksums, download;
- ``datamodule``: ``UltrasoundDataModule``.

Bad input (an unreadable image, a label row naming a missing file, a mask of another size) is a ``UserError``
naming the file, and the line for label rows.
"""

from __future__ import annotations

from datamodules.ultrasound.crop import (
    LAYOUT_FEATURES,
    CropRule,
    ScanArea,
    crop_and_resize,
    layout_features,
    scan_area,
)
from datamodules.ultrasound.datamodule import UltrasoundDataModule
from datamodules.ultrasound.ddti import TIRADS_LABELS, check_labels_csv, read_ddti, read_label_rows
from datamodules.ultrasound.duplicates import duplicate_pairs, keep_first_copies, split_groups, thumbnails
from datamodules.ultrasound.folders import read_class_folders
from datamodules.ultrasound.records import CLASS_NAMES, UltrasoundImage, read_mask, read_rgb
from datamodules.ultrasound.splits import assign_folds, class_counts, split_indices
from datamodules.ultrasound.udtn import read_udtn

__all__ = [
    "CLASS_NAMES",
    "LAYOUT_FEATURES",
    "TIRADS_LABELS",
    "CropRule",
    "ScanArea",
    "UltrasoundDataModule",
    "UltrasoundImage",
    "assign_folds",
    "check_labels_csv",
    "class_counts",
    "crop_and_resize",
    "duplicate_pairs",
    "keep_first_copies",
    "layout_features",
    "read_class_folders",
    "read_ddti",
    "read_label_rows",
    "read_mask",
    "read_rgb",
    "read_udtn",
    "scan_area",
    "split_groups",
    "split_indices",
    "thumbnails",
]
