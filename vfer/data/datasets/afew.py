"""AFEW: `Train|Val/<Emotion>/*.avi`.

The paper's protocol: train on Train, test on Val (also 80/20 over 5 runs); SAVEE's augmentation.
AFEW has no subject ids, so each clip is its own subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vfer.data.datasets.savee import SMALL_ROTATIONS, five_80_20_runs
from vfer.data.layouts import VIDEO_SUFFIXES, Sample
from vfer.data.protocols import named_split
from vfer.data.registry import ReadOptions, register_dataset

NAMES = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "neutral": "neutral", "sad": "sad", "surprise": "surprise",
}  # fmt: skip


@register_dataset(
    "afew",
    summary="AFEW Train/Val emotion folders",
    augmentation=SMALL_ROTATIONS,
    protocols={
        "afew": lambda clips, seed: [named_split(clips.splits, "Train", "Val")],
        "afew-80/20": five_80_20_runs,
    },
)
def read_afew(root: Path, options: ReadOptions) -> Iterator[Sample]:
    for split in ("Train", "Val"):
        for emotion_dir in sorted(p for p in (root / split).glob("*") if p.is_dir()):
            label = NAMES.get(emotion_dir.name.lower())
            if label is None:
                continue
            for clip in sorted(emotion_dir.iterdir()):
                if clip.suffix.lower() in VIDEO_SUFFIXES:
                    yield Sample(clip, label, f"{split}/{clip.stem}", split)
