"""`vfer evaluate FOLDER`: any model on a folder of labelled photos, the figures the model card
states (recall per class, macro recall, accuracy, top-label ECE, faces found). The benchmark
(`benchmarks/model_quality.py`) and the training script call the same code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vfer.data.photos import Clips, FaceMode, photo_folder, photo_stills, still_clips
from vfer.inference import ClipClassifier, load_classifier
from vfer.labels import LABELS
from vfer.training.evaluate import macro_recall, quality

# The model card's rule, written before any figure.
RULE_LEAVES_OUT = ("fear",)  # 17 photos in all: reported, too few to rule
MAX_MACRO_GAP = 0.02
MAX_CLASS_LOSS = 0.10
MIN_FITS = 3  # a recipe is judged by the mean of this many fits or more (release 9's decision)


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


@dataclass
class DevelopmentSet:
    """What every shipped model is measured on: the development people's photos (still frames by
    crop), GRID talking-face windows (neutral speech) and FER2013 PublicTest crops."""

    photos: Clips  # by crop: (N, S, S[, 3]) stills
    labels: npt.NDArray[np.int64]
    subjects: list[str]
    grid: Clips  # by crop: (M, 8, S, S[, 3]) windows
    fer: Clips  # by crop: (K, S, S[, 3]) stills
    fer_labels: npt.NDArray[np.int64]


def development_figures(name: str, classifier: ClipClassifier, dev: DevelopmentSet) -> dict[str, Any]:
    """The model card's figures for one model: `quality` on the photos, macro recall over the six
    expressions besides fear, neutral and happy recall of the London/Canada people, the share of
    GRID windows called neutral, and FER2013 PublicTest accuracy."""
    probs = classifier.predict_clips({spec: still_clips(dev.photos[spec]) for spec in classifier.crops})
    figures = quality(name, probs, dev.labels)
    del figures["confusion"], figures["reliability"]  # the plots' tables, not figures of the card
    figures["macro_recall_6"] = macro_recall(figures["recall"], leave_out=RULE_LEAVES_OUT)
    studio = np.array([s.startswith(("london/", "canada/")) for s in dev.subjects])
    studio_recall = quality(name, probs[studio], dev.labels[studio])["recall"]
    figures["london_canada_recall"] = {label: studio_recall[label] for label in ("neutral", "happy")}
    grid = classifier.predict_clips({spec: dev.grid[spec] for spec in classifier.crops})
    figures["grid_neutral_share"] = float((grid.argmax(1) == LABELS.index("neutral")).mean()) if len(grid) else None
    figures["grid_windows"] = len(grid)
    fer = classifier.predict_clips({spec: still_clips(dev.fer[spec]) for spec in classifier.crops})
    figures["fer2013_publictest_accuracy"] = float((fer.argmax(1) == dev.fer_labels).mean())
    return figures


def recipe_figures(fits: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the rule judges a recipe by (release 9's decision, model card): the mean over at least
    MIN_FITS fits of macro recall (six classes) and of each class's recall, with their range. One
    fit's side of the rule is the seed's draw (four sad photos); the mean is the recipe's."""
    if len(fits) < MIN_FITS:
        raise ValueError(f"a recipe is judged by {MIN_FITS} fits or more, not {len(fits)}")
    recall = {label: _mean_or_none([f["recall"][label] for f in fits]) for label in fits[0]["recall"]}
    macro = [f["macro_recall_6"] for f in fits]
    return {
        "fits": len(fits),
        "macro_recall_6": float(np.mean(macro)),
        "macro_recall_6_range": [min(macro), max(macro)],
        "recall": recall,
    }


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    """A class no photo of which was seen (recall None) in some fit has no mean."""
    return None if any(v is None for v in values) else float(np.mean([v for v in values if v is not None]))


def shipped_fit(fits: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The fit a recipe ships: the best tune macro recall (the first on ties), so the development
    people judge recipes and never pick a fit."""
    return max(fits, key=lambda f: f["tune_macro_recall"])


def apply_rule(candidates: dict[str, dict[str, Any]], frame_models: Sequence[str], video_models: Sequence[str]) -> str:
    """The model card's rule, written before any figure: the default is a 3D-CNN + ConvLSTM model
    if one is within MAX_MACRO_GAP of the best frame model's macro recall (six classes) and loses
    no class by more than MAX_CLASS_LOSS against it (the best such); otherwise the best frame
    model. A video model whose figures list its recipe's `fits` is judged by their mean
    (`recipe_figures`, releases from 10 on); one without, by its own. Each video model's verdict
    is written into its figures under "rule"."""
    best_frame = max(frame_models, key=lambda n: candidates[n]["macro_recall_6"])
    reference = candidates[best_frame]
    judged = {
        name: recipe_figures(candidates[name]["fits"]) if "fits" in candidates[name] else candidates[name]
        for name in video_models
    }
    for name in video_models:
        figures = judged[name]
        losing = {
            label: round(reference["recall"][label] - r, 4)
            for label, r in figures["recall"].items()
            if label not in RULE_LEAVES_OUT and r is not None and r < reference["recall"][label] - MAX_CLASS_LOSS
        }
        gap = reference["macro_recall_6"] - figures["macro_recall_6"]
        candidates[name]["rule"] = {
            "compared_with": best_frame,
            "judged_on": f"the mean of {figures['fits']} fits" if "fits" in candidates[name] else "this fit",
            "macro_recall_6_behind": round(gap, 4),
            "classes_losing_over_10_points": losing,
            "passes": gap <= MAX_MACRO_GAP and not losing,
        }
    passing = [n for n in video_models if candidates[n]["rule"]["passes"]]
    return max(passing, key=lambda n: judged[n]["macro_recall_6"]) if passing else best_frame


def decide_recipe(
    fits: Sequence[dict[str, Any]], frame_models: dict[str, dict[str, Any]], *, beat_macro_recall_6: float
) -> dict[str, Any]:
    """A release judged by several fits of one recipe (release 10's item 3): it replaces the shipped
    recipe only if the mean of its fits passes the rule against the best frame model and its mean
    macro recall (six classes) is above the shipped recipe's mean; the fit it ships is the best on
    the tune people. Everything the verdict rests on is returned, the frame models' figures too,
    so the card can quote it and the decision can be rerun after those models change."""
    candidates: dict[str, dict[str, Any]] = {name: dict(f) for name, f in frame_models.items()}
    candidates["recipe"] = {"kind": "video", "fits": list(fits)}
    rule_default = apply_rule(candidates, list(frame_models), ["recipe"])
    mean = recipe_figures(fits)
    beats = mean["macro_recall_6"] > beat_macro_recall_6
    ships = rule_default == "recipe" and beats
    return {
        "recipe": mean,
        "rule": candidates["recipe"]["rule"],
        "beat_macro_recall_6": beat_macro_recall_6,
        "beats_shipped_recipe": beats,
        "ships": ships,
        "shipped_seed": shipped_fit(fits)["seed"] if ships else None,
        "frame_models": {
            name: {"kind": "frame", "macro_recall_6": f["macro_recall_6"], "recall": f["recall"]}
            for name, f in frame_models.items()
        },
    }


RULE = (
    "on the development people: macro recall over the six expressions besides fear (too few to rule); the "
    f"default is a 3D-CNN + ConvLSTM model if one is within {MAX_MACRO_GAP * 100:g} points of the best frame "
    f"model's macro recall and loses no class by more than {MAX_CLASS_LOSS * 100:g} points against it (the best "
    "such); otherwise the best frame model"
)
