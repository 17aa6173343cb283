"""The model card's rule (release 13, written before any of its fits) and the figures it reads.

Who judges: FER+'s valid faces (FER2013 PublicTest, each face its ten annotators' majority
label) together with the development people of the photo sets, who are never trained, tuned or
calibrated on. A judged **unit** of a class is one FER+ face, or one development person: a person's
photos of a class weigh as one, their recall being the share of those photos called right, so the
one actor with dozens of photos of a class is one voice, not dozens.

- A class is **ruled** when it holds at least MIN_UNITS units; the others (disgust and fear, where
  the data hold too few) are reported with their counts.
- **Macro recall**: the mean recall of the ruled classes, units pooled over both sources.
- **The rule**: the default is a 3D-CNN + ConvLSTM model if one is within MAX_MACRO_GAP of the best
  frame model's macro recall and loses no ruled class by more than MAX_CLASS_LOSS against it (of
  those, the highest macro recall); otherwise the best frame model, and the card says what held
  the video models back.
- Every recall comes with a 95 % bootstrap interval that resamples units (people and faces, never
  a person's photos one by one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from vfer.config import CropSpec, PipelineConfig
from vfer.data.photos import (
    Clips,
    FaceMode,
    LabelledPhoto,
    expression_photos,
    grid_videos,
    london_and_canada,
    person_split,
    photo_folder,
    photo_stills,
    still_clips,
)
from vfer.face.tracking import FaceModels
from vfer.inference import ClipClassifier
from vfer.labels import LABELS
from vfer.pipeline import extract_faces
from vfer.training.evaluate import quality

MIN_UNITS = 100  # a class is ruled on when this many faces or people hold it
MAX_MACRO_GAP = 0.02
MAX_CLASS_LOSS = 0.10
BOOTSTRAP = 2000  # resamples for each interval
STUDIO = ("london/", "canada/")  # the photo sets of whole heads: their neutral and happy are reported apart

Float = npt.NDArray[np.float64]


@dataclass
class JudgeSet:
    """Everything a shipped model is measured on, as still clips by crop (GRID as windows)."""

    photos: Clips  # by crop: (N, S, S[, 3]) the development people's photos
    labels: npt.NDArray[np.int64]  # (N,)
    subjects: list[str]  # (N,) "<set>/<person>"
    ferplus: Clips  # by crop: (M, S, S[, 3]) FER+ valid faces with a majority label
    ferplus_labels: npt.NDArray[np.int64]  # (M,)
    ferplus_votes: npt.NDArray[np.float32]  # (M, 7) the ten annotators' distributions
    grid: Clips  # by crop: (W, 8, S, S[, 3]) the development GRID videos' windows


def judge_set(data: Path, crops: Sequence[CropSpec], *, workers: int = 1) -> JudgeSet:
    """The judges from `../shared/data`, each through the service's own pipeline: the development
    people's photos (expression photos padded so the detector sees a head, London and Canada as
    they are), FER+ valid's faces with a majority label (the crop is the face), and the windows of
    the development GRID videos."""
    specs = tuple(dict.fromkeys(crops))
    parts = []
    sources: tuple[tuple[list[LabelledPhoto], FaceMode], ...] = (
        ([p for p in expression_photos(data) if person_split(p.subject) == "dev"], "pad"),
        ([p for p in london_and_canada(data) if person_split(p.subject) == "dev"], "detect"),
    )
    for photos, mode in sources:
        with tqdm(total=len(photos), desc=f"development photos ({mode})", unit="photo") as bar:
            parts.append(photo_stills(photos, specs, mode=mode, workers=workers, progress=bar.update))
    ferplus = photo_stills(photo_folder(data / "faces" / "ferplus" / "valid"), specs, mode="crop")
    assert ferplus.votes is not None, "FER+ valid has vote columns"
    models = FaceModels.load()
    config = PipelineConfig(window_s=2.0, stride_s=0.5, crops=specs)
    windows = [
        window
        for clip in grid_videos(data)
        if person_split(f"video/{clip.stem}") == "dev"
        for face in extract_faces(clip, models, config).faces
        for window in face.windows
    ]
    return JudgeSet(
        photos={spec: np.concatenate([p.stills[spec] for p in parts]) for spec in specs},
        labels=np.concatenate([p.labels for p in parts]),
        subjects=[s for p in parts for s in p.subjects],
        ferplus=ferplus.stills,
        ferplus_labels=ferplus.labels,
        ferplus_votes=ferplus.votes,
        grid={spec: np.stack([w.clips[spec] for w in windows]) for spec in specs},
    )


def unit_scores(correct: npt.NDArray[np.bool_], units: Sequence[str]) -> Float:
    """Each unit's share of right answers: one value per distinct unit."""
    names, inverse = np.unique(np.asarray(units), return_inverse=True)
    right = np.bincount(inverse, weights=correct.astype(np.float64), minlength=len(names))
    return right / np.bincount(inverse, minlength=len(names))


def interval(scores: Float, seed: int = 0) -> list[float] | None:
    """The 95 % bootstrap interval of the mean of `scores` (units resampled with replacement)."""
    if len(scores) == 0:
        return None
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), size=(BOOTSTRAP, len(scores)))].mean(1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def class_scores(
    probs: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], units: Sequence[str]
) -> dict[str, Float]:
    """Per label, the unit scores of the examples of that label (`units` name who each example is)."""
    correct = probs.argmax(1) == labels
    names = np.asarray(units)
    return {label: unit_scores(correct[labels == k], names[labels == k]) for k, label in enumerate(LABELS)}


def recall_table(scores: dict[str, Float]) -> dict[str, Any]:
    """Recall, interval and units per label, from unit scores."""
    return {
        "recall": {label: float(s.mean()) if len(s) else None for label, s in scores.items()},
        "interval": {label: interval(s) for label, s in scores.items()},
        "units": {label: len(s) for label, s in scores.items()},
    }


def judged_figures(name: str, classifier: ClipClassifier, judge: JudgeSet) -> dict[str, Any]:
    """One model's figures: FER+ valid alone, the development people alone (person-balanced), the
    two pooled as the rule reads them, the London/Canada people's neutral and happy, and the share
    of GRID talking-face windows called neutral."""
    fer_probs = classifier.predict_clips({spec: still_clips(judge.ferplus[spec]) for spec in classifier.crops})
    photo_probs = classifier.predict_clips({spec: still_clips(judge.photos[spec]) for spec in classifier.crops})
    fer_names = [f"ferplus/{i}" for i in range(len(judge.ferplus_labels))]
    fer_scores = class_scores(fer_probs, judge.ferplus_labels, fer_names)
    people_scores = class_scores(photo_probs, judge.labels, judge.subjects)
    pooled = recall_table({label: np.concatenate([fer_scores[label], people_scores[label]]) for label in LABELS})
    ruled = [label for label in LABELS if pooled["units"][label] >= MIN_UNITS]
    pooled["ruled"] = ruled
    pooled["macro_recall"] = float(np.mean([pooled["recall"][label] for label in ruled]))

    ferplus = quality(name, fer_probs, judge.ferplus_labels, votes=judge.ferplus_votes)
    ferplus |= {"interval": recall_table(fer_scores)["interval"]}
    del ferplus["reliability"]
    people = quality(name, photo_probs, judge.labels)  # per photo: accuracy, ECE, confusion
    del people["reliability"]
    balanced = recall_table(people_scores)
    people |= {
        "recall_per_photo": people["recall"],
        "recall": balanced["recall"],
        "interval": balanced["interval"],
        "people": balanced["units"],
    }
    people["macro_recall"] = float(np.mean([r for r in balanced["recall"].values() if r is not None]))
    studio = np.array([s.startswith(STUDIO) for s in judge.subjects])
    studio_recall = quality(name, photo_probs[studio], judge.labels[studio])["recall"]
    grid = classifier.predict_clips({spec: judge.grid[spec] for spec in classifier.crops})
    return {
        "pooled": pooled,
        "ferplus": ferplus,
        "people": people,
        "london_canada_recall": {label: studio_recall[label] for label in ("neutral", "happy")},
        "grid_neutral_share": float((grid.argmax(1) == LABELS.index("neutral")).mean()) if len(grid) else None,
        "grid_windows": len(grid),
    }


def apply_rule(candidates: dict[str, dict[str, Any]], frame_models: Sequence[str], video_models: Sequence[str]) -> str:
    """The rule on each candidate's pooled figures; each video model's verdict is written into its
    figures under "rule". Returns the default's name."""
    best_frame = max(frame_models, key=lambda n: candidates[n]["pooled"]["macro_recall"])
    reference = candidates[best_frame]["pooled"]
    for name in video_models:
        pooled = candidates[name]["pooled"]
        losing = {
            label: round(reference["recall"][label] - pooled["recall"][label], 4)
            for label in reference["ruled"]
            if pooled["recall"][label] < reference["recall"][label] - MAX_CLASS_LOSS
        }
        gap = reference["macro_recall"] - pooled["macro_recall"]
        candidates[name]["rule"] = {
            "compared_with": best_frame,
            "macro_recall_behind": round(gap, 4),
            "classes_losing_over_10_points": losing,
            "passes": gap <= MAX_MACRO_GAP and not losing,
        }
    passing = [n for n in video_models if candidates[n]["rule"]["passes"]]
    return max(passing, key=lambda n: candidates[n]["pooled"]["macro_recall"]) if passing else best_frame


RULE = (
    "FER+ valid faces (majority labels) and the development people pooled, each face and each person one unit "
    f"of a class; classes with {MIN_UNITS} units or more are ruled, macro recall is their mean; the default is a "
    f"3D-CNN + ConvLSTM model if one is within {MAX_MACRO_GAP * 100:g} points of the best frame model's macro "
    f"recall and loses no ruled class by more than {MAX_CLASS_LOSS * 100:g} points against it (the best such); "
    "otherwise the best frame model"
)
