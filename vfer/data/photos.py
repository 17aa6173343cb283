"""Labelled photos as still clips (a photo 8 times), with the crops any set of models asks for:
the development data that every model, frame or video, is measured on alike."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vfer.config import CLIP_FRAMES, CropSpec, PipelineConfig
from vfer.face.tracking import ColorImage, FaceModels
from vfer.labels import LABELS
from vfer.pipeline import FaceWindow, faces_in_window


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    label: str  # one of LABELS
    subject: str  # "<set>/<id>": the person, for subject-disjoint splits


def london_and_canada(data: Path) -> Iterator[LabelledPhoto]:
    """The Face Research Lab London set (neutral and smiling, CC BY 4.0) and Canada set (neutral, CC BY)."""
    london = data / "faces" / "london"
    with (london / "labels.csv").open() as listing:
        for row in csv.DictReader(listing):
            label = "happy" if row["label"] in ("smiling", "happy") else row["label"]
            assert label in LABELS, row
            yield LabelledPhoto(london / row["file"], label, f"london/{row['subject_id']}")
    for photo in sorted((data / "faces" / "canada").glob("*.jpg")):
        yield LabelledPhoto(photo, "neutral", f"canada/{photo.stem}")


def development_people(data: Path, seed: int = 0) -> set[str]:
    """The subject-disjoint development split of the shipped video models (scripts/train_default.py):
    a quarter of the London people, of the Canada people and of the GRID videos, never trained on."""
    with (data / "faces" / "london" / "labels.csv").open() as listing:
        london = sorted({f"london/{row['subject_id']}" for row in csv.DictReader(listing)})
    canada = sorted(f"canada/{p.stem}" for p in (data / "faces" / "canada").glob("*.jpg"))
    videos = sorted(f"video/{p.stem}" for p in (data / "video" / "grid").glob("*.mpg"))
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for people in (london, canada, videos):
        chosen |= set(rng.permutation(people)[: max(1, len(people) // 4)].tolist())
    return chosen


def ensemble_calibration_person(subject: str) -> bool:
    """The people `fer_ensemble` was calibrated on (scripts/fit_ensemble.py): London, even ids."""
    return subject.startswith("london/") and int(subject.split("/")[1]) % 2 == 0


def clip_window(frames: Sequence[ColorImage], models: FaceModels, config: PipelineConfig) -> FaceWindow | None:
    """The main face (most samples, then the larger box) of 8 BGR frames as one window with each
    crop of `config`; None without a face."""
    grays = [(i / 10, np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), dtype=np.uint8)) for i, f in enumerate(frames)]
    faces = [f for f in faces_in_window(grays, models, config, colors=frames)[0] if f.windows]
    if not faces:
        return None
    return max(faces, key=lambda f: (f.samples, f.box.area)).windows[0]


def photo_window(
    path: Path, models: FaceModels, crops: Sequence[CropSpec], *, landmarks: int = 68
) -> FaceWindow | None:
    """A photo as one still 8-frame window with each crop; `landmarks` must be what `models`
    were loaded with."""
    bgr = np.asarray(cv2.imread(str(path)), dtype=np.uint8)
    return clip_window([bgr] * CLIP_FRAMES, models, PipelineConfig(crops=tuple(crops), landmarks=landmarks))
