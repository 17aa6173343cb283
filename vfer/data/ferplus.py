"""FER+ (Barsoum et al. 2016, labels MIT): the FER2013 faces, each labelled by ten annotators.

`../shared/data/faces/ferplus/{train,valid}/labels.csv` holds, per 48x48 face, the FER+ majority
label (empty where there is none) and ten vote counts: the seven expressions (under FER+'s names,
`happiness`, `sadness`, ...), then `contempt`, `unknown` and `NF` (not a face).

What this adapter makes of them, for every reader in the project (training, `vfer evaluate`):
- a face's **vote distribution** is its votes for the seven expressions over their sum, in
  `LABELS` order; contempt, unknown and not-a-face votes are dropped (contempt is not one of the
  seven; the other two say nothing about the expression);
- a face is **usable** when it has a majority label or the seven hold more than half of its votes
  (otherwise most annotators saw contempt, could not tell, or saw no face); a usable face without
  a majority label still teaches as a soft target, and is left out of every figure that needs one
  label;
- the **majority label** is FER+'s own (the file's `label` column).

Any `labels.csv` whose columns name all seven expressions has votes in this sense, so a folder of
one's own with vote columns is measured the same way (`vfer evaluate`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vfer.labels import LABELS

FERPLUS_NAMES = {"happiness": "happy", "sadness": "sad"}  # FER+'s column names for two of the seven
OTHER_VOTES = ("contempt", "unknown", "NF")  # counted against a face's usability, not in its distribution


def vote_columns(header: list[str]) -> dict[str, str] | None:
    """The columns holding each of the seven labels' votes (label -> column), or None when the
    header lacks any of them."""
    by_label = {FERPLUS_NAMES.get(column, column): column for column in header}
    if not set(LABELS) <= by_label.keys():
        return None
    return {label: by_label[label] for label in LABELS}


def read_votes(row: dict[str, str], columns: dict[str, str]) -> tuple[npt.NDArray[np.float32], float]:
    """One row's votes for the seven (in LABELS order) and its votes for anything else."""
    counts = np.array([float(row[columns[label]] or 0) for label in LABELS], np.float32)
    return counts, sum(float(row.get(column) or 0) for column in OTHER_VOTES)


@dataclass(frozen=True)
class VotedFaces:
    """The usable faces of a FER+ folder: each face's path, vote distribution and majority label."""

    paths: list[Path]
    votes: npt.NDArray[np.float32]  # (N, 7) over LABELS, each row summing to 1
    labels: npt.NDArray[np.int64]  # (N,) index into LABELS; -1: no majority (a soft target only)
    subjects: list[str]  # "<prefix><file>": each face its own person (FER2013 names no one)
    unusable: int  # faces left out: most votes contempt, unknown or not a face

    def labelled(self) -> npt.NDArray[np.int64]:
        """Indices of the faces with a majority label."""
        return np.flatnonzero(self.labels >= 0)


def voted_faces(folder: Path, *, prefix: str = "") -> VotedFaces:
    """Every usable face of a folder whose `labels.csv` has the seven labels' vote columns."""
    table = folder / "labels.csv"
    with table.open(newline="") as listing:
        reader = csv.DictReader(listing)
        columns = vote_columns(list(reader.fieldnames or ()))
        if columns is None:
            raise ValueError(f"{table} has no vote column for each of {', '.join(LABELS)}")
        rows = list(reader)
    paths, votes, labels, subjects = [], [], [], []
    for row in rows:
        counts, other = read_votes(row, columns)
        label = FERPLUS_NAMES.get(row["label"].strip(), row["label"].strip())
        if not (label or counts.sum() > other) or not counts.sum():
            continue  # most annotators saw contempt, could not tell, or saw no face
        if label and label not in LABELS:
            raise ValueError(f"{table}: unknown label {row['label']!r} for {row['file']}")
        paths.append(folder / row["file"])
        votes.append(counts / counts.sum())
        labels.append(LABELS.index(label) if label else -1)
        subjects.append(prefix + row["file"])
    return VotedFaces(
        paths=paths,
        votes=np.stack(votes) if votes else np.zeros((0, len(LABELS)), np.float32),
        labels=np.array(labels, np.int64),
        subjects=subjects,
        unusable=len(rows) - len(paths),
    )
