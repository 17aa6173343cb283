"""The two aligners side by side: dlib's 68-point landmarks (iBUG 300-W, non-commercial terms)
and its 5-point model (no such restriction), on the same photos and models.

python -m benchmarks.aligners

- Eye centres: how far the 5-point ones fall from the 68-point ones, in inter-ocular distances.
- Every model that takes aligned crops, on the development people's London (CC BY 4.0) and
  Canada (CC BY) photos (`vfer.data.photos.person_split`): accuracy and neutral/happy recall.
"""

from __future__ import annotations

import cv2
import numpy as np
from tqdm import tqdm

from benchmarks.machine import describe
from benchmarks.model_quality import DATA
from vfer.config import ALIGNED_GRAY
from vfer.data.photos import london_and_canada, person_split, photo_window
from vfer.face.landmarks import LandmarkPredictor, eye_centres
from vfer.face.tracking import FaceModels
from vfer.inference import classify_windows, load_classifier
from vfer.labels import LABELS
from vfer.models import REGISTERED_MODELS


def main() -> None:
    photos = [p for p in london_and_canada(DATA) if person_split(p.subject) == "dev"]
    full, five = LandmarkPredictor(points=68), LandmarkPredictor(points=5)
    detector = FaceModels.load().detector
    errors = []
    for photo in tqdm(photos, desc="eye centres", unit="photo"):
        gray = np.asarray(cv2.imread(str(photo.path), cv2.IMREAD_GRAYSCALE), np.uint8)
        boxes = detector.detect(gray)
        if boxes:
            reference, other = eye_centres(full(gray, boxes[0])), eye_centres(five(gray, boxes[0]))
            distance = float(np.linalg.norm(reference[1] - reference[0]))
            errors += [float(np.linalg.norm(a - b)) / distance for a, b in zip(reference, other, strict=True)]
    print(f"machine: {describe()}")
    print(
        f"eye centres, 5-point vs 68-point, {len(errors) // 2} photos: mean {np.mean(errors):.1%}, "
        f"max {np.max(errors):.1%} of the inter-ocular distance"
    )
    aligned = [name for name in REGISTERED_MODELS if load_classifier(name, backend="onnx").crops == (ALIGNED_GRAY,)]
    print("| model | landmarks | accuracy | neutral recall | happy recall |")
    print("|---|---|---|---|---|")
    for points in (68, 5):
        models = FaceModels.load(landmarks=points)
        windows, labels = [], []
        for photo in photos:
            if (window := photo_window(photo.path, models, (ALIGNED_GRAY,), landmarks=points)) is not None:
                windows.append(window)
                labels.append(LABELS.index(photo.label))
        y = np.array(labels)
        for name in aligned:
            predicted = classify_windows(load_classifier(name, backend="onnx"), windows).argmax(1)
            neutral, happy = LABELS.index("neutral"), LABELS.index("happy")
            print(
                f"| `{name}` | {points} | {(predicted == y).mean():.1%} | {(predicted[y == neutral] == neutral).mean():.1%} "
                f"| {(predicted[y == happy] == happy).mean():.1%} |"
            )


if __name__ == "__main__":
    main()
