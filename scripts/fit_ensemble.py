"""Fit the `fer_ensemble` teacher: both frame models, each calibrated by a temperature, averaged.

    python scripts/fit_ensemble.py

Temperatures minimise the negative log-likelihood of the real labels of a calibration half of
the London people (neutral and smiling photos, CC BY 4.0; people with even ids); the other half
and the Canada set are left for measuring (benchmarks/model_quality.py). One temperature per
model only rescales its confidence, so each model alone keeps its own decisions; it sets how
much each one weighs in the average.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vfer.data.photos import ensemble_calibration_person, london_and_canada, photo_window
from vfer.face.tracking import FaceModels
from vfer.inference import calibrate, classify_windows, load_classifier
from vfer.labels import LABELS
from vfer.models.ensemble import EnsembleSpec, Member, save_ensemble

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MEMBERS = ("mini_xception_fer2013", "faceapi_expression")
TEMPERATURES = np.geomspace(0.25, 16, 97)


def _nll(probs: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return float(-np.log(calibrate(probs, temperature)[np.arange(len(y)), y] + 1e-12).mean())


def main() -> None:
    classifiers = [load_classifier(name, backend="onnx") for name in MEMBERS]
    crops = tuple(dict.fromkeys(c for classifier in classifiers for c in classifier.crops))
    models = FaceModels.load()
    windows, labels = [], []
    for photo in london_and_canada(DATA):
        if (
            ensemble_calibration_person(photo.subject)
            and (window := photo_window(photo.path, models, crops)) is not None
        ):
            windows.append(window)
            labels.append(LABELS.index(photo.label))
    y = np.array(labels)
    members, fits = [], {}
    for name, classifier in zip(MEMBERS, classifiers, strict=True):
        probs = classify_windows(classifier, windows)
        nll = [_nll(probs, y, t) for t in TEMPERATURES]
        best = float(TEMPERATURES[int(np.argmin(nll))])
        members.append(Member(name, round(best, 3)))
        fits[name] = {
            "temperature": round(best, 3),
            "nll_at_1": round(_nll(probs, y, 1.0), 4),
            "nll_fitted": round(min(nll), 4),
        }
        print(name, fits[name])
    spec = EnsembleSpec(
        name="fer_ensemble",
        members=tuple(members),
        version="1",
        summary="teacher: FER2013 mini-Xception + face-api.js net, temperature-calibrated, averaged",
        provenance={
            "calibration": "NLL of real labels, London set (CC BY 4.0) people with even ids: "
            f"{len(y)} photos ({int((y == LABELS.index('neutral')).sum())} neutral, "
            f"{int((y == LABELS.index('happy')).sum())} smiling)",
            "fits": fits,
            "script": "scripts/fit_ensemble.py",
        },
    )
    print(f"wrote {save_ensemble(spec)}")


if __name__ == "__main__":
    main()
