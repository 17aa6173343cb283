"""Labelled, subject-tagged samples read from the dataset layouts users download.

Each layout is an adapter in `vfer/data/datasets/` (CK+, SAVEE, AFEW, generic), found by name in
the registry (`vfer.data.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vfer.errors import InvalidOptionError

VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv", ".mpg", ".mpeg", ".webm", ".m4v", ".wmv", ".flv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


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


def frames_in(folder: Path) -> list[Path]:
    """The image files of a frame folder, in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_layout(layout: str, root: Path, *, keep_contempt: bool = False) -> list[Sample]:
    from vfer.data.registry import ReadOptions, dataset_entry

    root = Path(root)
    entry = dataset_entry(layout)
    if not root.is_dir():
        raise InvalidOptionError(f"{root} is not a directory")
    return list(entry.reader(root, ReadOptions(keep_contempt=keep_contempt)))
