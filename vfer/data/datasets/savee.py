"""SAVEE: `<subject>/<code><nn>.<ext>` for subjects DC, JE, JK, KL; codes a d f h n sa su.

The paper's protocol: 80/20 stratified random splits over 5 runs; augmentation +-5 and +-10
degrees, each with and without a flip (8x).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vfer.data.cache import ClipSet
from vfer.data.layouts import VIDEO_SUFFIXES, Sample
from vfer.data.protocols import Split, random_splits
from vfer.data.registry import ReadOptions, register_dataset

CODES = {"a": "anger", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
SMALL_ROTATIONS = tuple((a, f) for a in (5.0, -5.0, 10.0, -10.0) for f in (False, True))


def five_80_20_runs(clips: ClipSet, seed: int) -> list[Split]:
    """The paper's SAVEE protocol (AFEW's second): stratified 80/20 random splits over 5 runs."""
    return random_splits(clips.labels.tolist(), runs=5, train=0.8, seed=seed)


@register_dataset(
    "savee",
    summary="SAVEE actor folders of code-prefixed clips",
    augmentation=SMALL_ROTATIONS,
    protocols={"savee": five_80_20_runs},
)
def read_savee(root: Path, options: ReadOptions) -> Iterator[Sample]:
    for subject_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for clip in sorted(subject_dir.iterdir()):
            if clip.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            code = clip.stem.rstrip("0123456789").lower()
            if code in CODES:
                yield Sample(clip, CODES[code], subject_dir.name)
