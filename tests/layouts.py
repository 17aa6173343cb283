"""Small datasets in the CK+, SAVEE, AFEW and generic layouts, made from ../shared/data faces."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from tests.media import LONDON, VIDEO, photo_clip
from vfer.video import VideoReader


def london_pairs(count: int) -> list[tuple[str, Path, Path]]:
    """(subject id, neutral photo, smiling photo) for the first `count` London subjects with both."""
    with (LONDON / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_subject: dict[str, dict[str, Path]] = {}
    for row in rows:
        by_subject.setdefault(row["subject_id"], {})[row["label"]] = LONDON / row["file"]
    pairs = [(s, d["neutral"], d["happy"]) for s, d in sorted(by_subject.items()) if {"neutral", "happy"} <= d.keys()]
    return pairs[:count]


def onset_frames(neutral: Path, smiling: Path, frames: int = 10) -> list[np.ndarray]:
    """A neutral-to-smile sequence of one person, like a CK+ onset: a cross-fade of the two photos."""
    a, b = cv2.imread(str(neutral)), cv2.imread(str(smiling))
    b = cv2.resize(b, (a.shape[1], a.shape[0]))
    return [cv2.addWeighted(a, 1 - t, b, t, 0) for t in np.linspace(0, 1, frames)]


def make_ckplus(root: Path, subjects: int = 4) -> Path:
    images, emotion = root / "cohn-kanade-images", root / "Emotion"
    no_face = [f.bgr() for i, f in enumerate(VideoReader(VIDEO / "no_face.mp4").frames()) if i < 10]
    for number, (_, neutral, smiling) in enumerate(london_pairs(subjects), start=1):
        subject = f"S{number:03d}"
        sequences = {"001": (onset_frames(neutral, smiling), 5), "002": (onset_frames(neutral, neutral), 0)}
        if number == 1:
            sequences["003"] = (onset_frames(smiling, smiling), 2)  # contempt, left out by default
            sequences["004"] = (no_face, 7)  # a sequence without a face: must be reported
        for sequence, (frames, code) in sequences.items():
            folder = images / subject / sequence
            folder.mkdir(parents=True)
            for i, frame in enumerate(frames, start=1):
                cv2.imwrite(str(folder / f"{subject}_{sequence}_{i:08d}.png"), frame)
            label_dir = emotion / subject / sequence
            label_dir.mkdir(parents=True)
            (label_dir / f"{subject}_{sequence}_{len(frames):08d}_emotion.txt").write_text(f"   {code:.7e}\n")
    return root


def make_savee(root: Path) -> Path:
    pairs = london_pairs(4)
    for actor, (_, neutral, smiling) in zip(("DC", "JE", "JK", "KL"), pairs, strict=True):
        (root / actor).mkdir(parents=True)
        (root / actor / "h01.avi").write_bytes(photo_clip(smiling))
        (root / actor / "n01.avi").write_bytes(photo_clip(neutral))
        (root / actor / "README.txt").write_text("not a clip")
    return root


def make_afew(root: Path) -> Path:
    for split, pairs in (("Train", london_pairs(3)), ("Val", london_pairs(4)[3:])):
        for emotion in ("Happy", "Neutral"):
            (root / split / emotion).mkdir(parents=True)
        for subject, neutral, smiling in pairs:
            (root / split / "Happy" / f"{subject}.avi").write_bytes(photo_clip(smiling))
            (root / split / "Neutral" / f"{subject}.avi").write_bytes(photo_clip(neutral))
    return root


def make_generic(root: Path) -> Path:
    rows = []
    for subject, neutral, smiling in london_pairs(3):
        for label, photo in (("happy", smiling), ("neutral", neutral)):
            (root / label).mkdir(parents=True, exist_ok=True)
            (root / label / f"{subject}.mp4").write_bytes(photo_clip(photo))
            rows.append((f"{label}/{subject}.mp4", subject))
    with (root / "subjects.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "subject"])
        writer.writerows(rows)
    return root
