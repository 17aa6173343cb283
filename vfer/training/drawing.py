"""How often each training clip is drawn: sources get their share of an epoch, classes within a
source alike, and people within a class alike where the source names them, so that a person
with a hundred photos of one expression is one person, not a hundred (photos of one face teach
that face, not the expression)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vfer.labels import LABELS


class Source(NamedTuple):
    """One source of training clips for `balanced_weights`."""

    labels: np.ndarray
    share: float  # of every epoch
    people: np.ndarray | None = None  # given: within a class each person is drawn alike, their photos sharing
    # Classes of `floor` examples or more get shares in proportion to (count / floor) ** power:
    # 0 draws them alike; 0.5 leans toward the common classes without starving the rare ones.
    power: float = 0.0


def balanced_weights(sources: list[Source], *, floor: int = 100) -> np.ndarray:
    """Sampling weights over concatenated sources: each source gets its share, and within it each
    class alike (or leaning to the common ones by the source's `power`); a class rarer than `floor` is drawn as if it had `floor` (fear's 12 train photos
    are not repeated a hundred times an epoch). Within a class each clip is drawn alike, or, where
    the source names its people, each person alike."""
    weights = []
    for labels, share, people, power in sources:
        counts = np.bincount(labels, minlength=len(LABELS))
        rare = np.minimum(counts[labels], floor) / floor  # a rare class less than a full one
        class_total = rare * np.maximum(counts[labels] / floor, 1.0) ** power
        if people is None:
            within = 1.0 / counts[labels]
        else:
            _, group, photos_of = np.unique(
                np.stack([labels.astype(str), people.astype(str)], 1), axis=0, return_inverse=True, return_counts=True
            )
            group = group.reshape(-1)
            group_label = np.zeros(len(photos_of), dtype=int)
            group_label[group] = labels
            people_in_class = np.bincount(group_label, minlength=len(LABELS))
            within = 1.0 / (people_in_class[labels] * photos_of[group])
        w = class_total * within
        weights.append(share * w / w.sum())
    return np.concatenate(weights)
