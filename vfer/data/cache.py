"""Read the preparation cache back as arrays for training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vfer.errors import InvalidOptionError
from vfer.labels import LABELS


@dataclass
class ClipSet:
    """Prepared clips: crops (N, 8, 64, 64) uint8 and, per clip, label index, subject, source."""

    crops: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    subjects: list[str]
    sources: list[str]
    splits: list[str]
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def load_cache(cache: Path) -> ClipSet:
    files = sorted(Path(cache).glob("[0-9a-f]*.npz"))
    if not files:
        raise InvalidOptionError(f"{cache}: no prepared clips (run `vfer prepare` first)")
    rows = [np.load(f) for f in files]
    names = [str(r["label"]) for r in rows]
    classes = LABELS + tuple(sorted(set(names) - set(LABELS)))  # contempt, when kept, comes last
    return ClipSet(
        crops=np.stack([r["crops"] for r in rows]).astype(np.uint8),
        labels=np.array([classes.index(n) for n in names], dtype=np.int64),
        subjects=[str(r["subject"]) for r in rows],
        sources=[str(r["source"]) for r in rows],
        splits=[str(r["split"]) for r in rows],
        classes=classes,
    )
