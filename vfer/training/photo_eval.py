"""`vfer evaluate FOLDER`: any model on a folder of labelled photos: recall per class, macro
recall, accuracy, top-label ECE, faces found, and, for a folder with vote columns (FER+), how far
the model's distributions are from the annotators'. The model card's own figures come from
`vfer.training.rule`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vfer.data.photos import FaceMode, photo_folder, photo_stills
from vfer.inference import load_classifier
from vfer.labels import LABELS
from vfer.training.evaluate import quality


def evaluate_folder(
    folder: Path,
    model: str,
    *,
    mode: FaceMode = "pad",
    landmarks: int = 68,
    backend: str = "auto",
    workers: int = 1,
) -> dict[str, Any]:
    """`model` on every photo of `folder` (its `labels.csv`) as a still clip: the face found by
    the service's pipeline ("pad": a tight crop framed first; "detect": as it is), or the photo
    taken as the face ("crop", FER+). Photos without a face count in `n`, not in the figures. A
    folder with vote columns (FER+) is also measured against the annotators' distributions."""
    photos = photo_folder(folder)
    classifier = load_classifier(model, backend=backend)
    stills = photo_stills(photos, classifier.crops, mode=mode, landmarks=landmarks, workers=workers)
    found = len(stills.labels)
    probs = classifier.predict_clips(stills.clips()) if found else np.zeros((0, len(LABELS)), np.float32)
    return quality(model, probs, stills.labels, photos=len(photos), votes=stills.votes)
