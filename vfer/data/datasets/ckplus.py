"""CK+: `cohn-kanade-images/S###/###/*.png` + `Emotion/S###/###/*_emotion.txt` (codes 0-7).

The paper's protocol: 10-fold subject-independent cross-validation; augmentation 0, +-5, +-10,
+-15 degrees, each with and without a horizontal flip (14x).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vfer.data.layouts import Sample, frames_in
from vfer.data.protocols import subject_folds
from vfer.data.registry import ReadOptions, register_dataset

CODES = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sad", 7: "surprise"}


CKPLUS_ROTATIONS = tuple((a, f) for a in (0.0, 5.0, -5.0, 10.0, -10.0, 15.0, -15.0) for f in (False, True))
"""The paper's CK+ augmentation: 7 angles, each also flipped (14x)."""


@register_dataset(
    "ck+",
    summary="CK+ image sequences with Emotion codes (contempt left out unless asked for)",
    augmentation=CKPLUS_ROTATIONS,
    protocols={"ck+": lambda clips, seed: subject_folds(clips.subjects, folds=10, seed=seed)},
)
def read_ckplus(root: Path, options: ReadOptions) -> Iterator[Sample]:
    """The labelled CK+ sequences (327 in the release); contempt only when asked for."""
    images = root / "cohn-kanade-images"
    for label_file in sorted((root / "Emotion").glob("S*/*/*_emotion.txt")):
        label = CODES[int(float(label_file.read_text().split()[0]))]
        if label == "contempt" and not options.keep_contempt:
            continue
        subject, sequence = label_file.parent.parent.name, label_file.parent.name
        folder = images / subject / sequence
        if folder.is_dir() and frames_in(folder):
            yield Sample(folder, label, subject)
