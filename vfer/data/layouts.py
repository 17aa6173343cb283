"""Adapters for the dataset layouts users download; each yields labelled, subject-tagged samples.

- CK+: `cohn-kanade-images/S###/###/*.png` + `Emotion/S###/###/*_emotion.txt` (codes 0-7).
- SAVEE: `<subject>/<code><nn>.<ext>` for subjects DC, JE, JK, KL; codes a d f h n sa su.
- AFEW: `Train|Val/<Emotion>/*.avi`.
- generic: `<label>/<video or image folder>`, optional `subjects.csv` (`source,subject`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vfer.errors import InvalidOptionError
from vfer.labels import LABELS

VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv", ".mpg", ".mpeg", ".webm", ".m4v", ".wmv", ".flv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
LAYOUTS = ("ck+", "savee", "afew", "generic")

CKPLUS_CODES = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sad", 7: "surprise"}
SAVEE_CODES = {"a": "anger", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
AFEW_NAMES = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "neutral": "neutral", "sad": "sad", "surprise": "surprise",
}  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """One labelled clip: a video file, or a folder of frames in name order."""

    source: Path
    label: str
    subject: str
    split: str = ""  # the dataset's own split where it has one (AFEW: Train, Val)

    @property
    def is_sequence(self) -> bool:
        return self.source.is_dir()


def _frames_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_ckplus(root: Path, *, keep_contempt: bool = False) -> Iterator[Sample]:
    """The labelled CK+ sequences (327 in the release); contempt only when asked for."""
    images = root / "cohn-kanade-images"
    for label_file in sorted((root / "Emotion").glob("S*/*/*_emotion.txt")):
        code = int(float(label_file.read_text().split()[0]))
        label = CKPLUS_CODES[code]
        if label == "contempt" and not keep_contempt:
            continue
        subject, sequence = label_file.parent.parent.name, label_file.parent.name
        folder = images / subject / sequence
        if folder.is_dir() and _frames_in(folder):
            yield Sample(folder, label, subject)


def read_savee(root: Path) -> Iterator[Sample]:
    for subject_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for clip in sorted(subject_dir.iterdir()):
            if clip.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            code = clip.stem.rstrip("0123456789").lower()
            if code in SAVEE_CODES:
                yield Sample(clip, SAVEE_CODES[code], subject_dir.name)


def read_afew(root: Path) -> Iterator[Sample]:
    """Train and Val clips; AFEW has no subject ids, so each clip is its own subject."""
    for split in ("Train", "Val"):
        for emotion_dir in sorted(p for p in (root / split).glob("*") if p.is_dir()):
            label = AFEW_NAMES.get(emotion_dir.name.lower())
            if label is None:
                continue
            for clip in sorted(emotion_dir.iterdir()):
                if clip.suffix.lower() in VIDEO_SUFFIXES:
                    yield Sample(clip, label, f"{split}/{clip.stem}", split)


def read_generic(root: Path) -> Iterator[Sample]:
    subjects: dict[str, str] = {}
    table = root / "subjects.csv"
    if table.is_file():
        with table.open() as f:
            subjects = {row["source"]: row["subject"] for row in csv.DictReader(f)}
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if label_dir.name not in LABELS:
            raise InvalidOptionError(f"{label_dir}: folder names must be labels ({', '.join(LABELS)})")
        for item in sorted(label_dir.iterdir()):
            if item.suffix.lower() in VIDEO_SUFFIXES or (item.is_dir() and _frames_in(item)):
                key = f"{label_dir.name}/{item.name}"
                yield Sample(item, label_dir.name, subjects.get(key, key))


def read_layout(layout: str, root: Path, *, keep_contempt: bool = False) -> list[Sample]:
    root = Path(root)
    if not root.is_dir():
        raise InvalidOptionError(f"{root} is not a directory")
    if layout == "ck+":
        return list(read_ckplus(root, keep_contempt=keep_contempt))
    readers = {"savee": read_savee, "afew": read_afew, "generic": read_generic}
    if layout not in readers:
        raise InvalidOptionError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    return list(readers[layout](root))


def sequence_frames(folder: Path) -> list[Path]:
    """The image files of a frame folder, in name order."""
    return _frames_in(folder)
