"""A generic layout: `<label>/<video or image folder>`, optional `subjects.csv` (`source,subject`).

Protocol `split`: one subject-disjoint 80/20 split (where there are 5 subjects or more).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vfer.data.layouts import VIDEO_SUFFIXES, Sample, frames_in
from vfer.data.protocols import subject_folds
from vfer.data.registry import ReadOptions, register_dataset
from vfer.errors import InvalidOptionError
from vfer.labels import LABELS


@register_dataset(
    "generic",
    summary="label folders of videos or frame folders, subjects from an optional subjects.csv",
    augmentation=tuple((a, f) for a in (0.0, 5.0, -5.0, 10.0, -10.0) for f in (False, True)),
    protocols={
        "split": lambda clips, seed: [
            subject_folds(clips.subjects, folds=max(2, min(5, len(set(clips.subjects)))), seed=seed)[0]
        ]
    },
)
def read_generic(root: Path, options: ReadOptions) -> Iterator[Sample]:
    subjects: dict[str, str] = {}
    table = root / "subjects.csv"
    if table.is_file():
        with table.open() as f:
            subjects = {row["source"]: row["subject"] for row in csv.DictReader(f)}
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if label_dir.name not in LABELS:
            raise InvalidOptionError(f"{label_dir}: folder names must be labels ({', '.join(LABELS)})")
        for item in sorted(label_dir.iterdir()):
            if item.suffix.lower() in VIDEO_SUFFIXES or (item.is_dir() and frames_in(item)):
                key = f"{label_dir.name}/{item.name}"
                yield Sample(item, label_dir.name, subjects.get(key, key))
