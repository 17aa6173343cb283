"""A labelled photo folder: `labels.csv` (file, label; optional person, annotator) beside the
photos, as `../shared/data/faces/expressions` (2,921 photos, real labels for all seven).

Each photo is a peak frame, as the paper treats CK+'s: `vfer prepare` pads the tight crop so the
detector sees a head and makes a still 8-frame clip; training rotates and flips it (CK+'s 14
variants). Protocol `people`: one person-disjoint split fixed by `person_split` (a hash of the
person's id, never a random draw): development people tested, the rest trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vfer.data.cache import ClipSet
from vfer.data.datasets.ckplus import CKPLUS_ROTATIONS
from vfer.data.layouts import Sample
from vfer.data.photos import person_split, photo_folder
from vfer.data.protocols import Split
from vfer.data.registry import ReadOptions, register_dataset


def development_split(clips: ClipSet, seed: int) -> list[Split]:
    """Train on the train and tune people, test on the development people (the seed is unused:
    the split is a rule)."""
    dev = np.array([person_split(subject) == "dev" for subject in clips.subjects])
    return [(np.flatnonzero(~dev).astype(np.int64), np.flatnonzero(dev).astype(np.int64))]


@register_dataset(
    "photos",
    summary="labelled photos: labels.csv (file, label; optional person) beside the images",
    augmentation=CKPLUS_ROTATIONS,
    protocols={"people": development_split},
)
def read_photos(root: Path, options: ReadOptions) -> Iterator[Sample]:
    for photo in photo_folder(root):
        yield Sample(photo.path, photo.label, photo.subject)
