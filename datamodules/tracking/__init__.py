"""Single-object tracking data (OTB, VOT) for the SiamFC online-training paper: plain readers, no DataModule yet.

One module per job; this package re-exports their public names:

- ``text``: numeric rows of a text file (comma, TAB or space separated), numbered frame folders, name keys;
- ``otb``: an OTB sequence folder (frames, ground truth, attributes) and the 11 attribute tags;
- ``vot``: a VOT sequence folder, polygons to axis-aligned boxes;
- ``annotations``: ``OTB2015.json`` and the sequence lists (``cvpr13.txt``);
- ``reference``: published OTB scores and raw tracker boxes (jwlim/tracker_benchmark).

Boxes are float64 ``[T, 4]`` x, y, w, h in OTB's 1-based pixels; frames are paths. Bad input is a
``UserError`` naming the file and the line.
"""

from __future__ import annotations

from datamodules.tracking.annotations import (
    AnnotatedSequence,
    read_otb_annotations,
    read_sequence_list,
)
from datamodules.tracking.otb import (
    OTB_ATTRIBUTES,
    OTB_FRAME_RANGES,
    OTBSequence,
    read_attributes,
    read_ground_truth,
    read_otb_sequence,
)
from datamodules.tracking.reference import (
    PublishedScores,
    RawResult,
    aligned_ground_truth,
    raw_result_path,
    read_published_scores,
    read_raw_result,
    reference_trackers,
)
from datamodules.tracking.text import sequence_key
from datamodules.tracking.vot import VOTSequence, polygon_to_box, read_vot_sequence

__all__ = [
    "OTB_ATTRIBUTES",
    "OTB_FRAME_RANGES",
    "AnnotatedSequence",
    "OTBSequence",
    "PublishedScores",
    "RawResult",
    "VOTSequence",
    "aligned_ground_truth",
    "polygon_to_box",
    "raw_result_path",
    "read_attributes",
    "read_ground_truth",
    "read_otb_annotations",
    "read_otb_sequence",
    "read_published_scores",
    "read_raw_result",
    "read_sequence_list",
    "read_vot_sequence",
    "reference_trackers",
    "sequence_key",
]
